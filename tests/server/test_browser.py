"""The web page in a real browser: Debian's Chromium driven by Playwright, against the real server.

Searches the SciFact sample through a router, applies a filter built from the collection's attributes,
reads the routing panel, and saves a screenshot to ``artifacts/`` (``EMBEDROUTE_ARTIFACTS`` to move it).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from .helpers import http

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# skipped, with this reason in pytest's -ra summary, only where the browser is missing; decided before the
# server fixture starts, and the same whatever the environment says (CI or not)
pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(
        not Path(CHROMIUM).exists(),
        reason=f"no chromium at {CHROMIUM}: the browser test needs Debian's chromium (scripts/setup.sh installs it "
        "when run as root)",
    ),
]
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ARTIFACTS = Path(os.environ.get("EMBEDROUTE_ARTIFACTS", Path(__file__).resolve().parents[2] / "artifacts"))


@pytest.fixture(scope="module")
def page(server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)  # a fresh profile each launch
        pg = browser.new_page(viewport={"width": 1280, "height": 1000})
        pg.goto(server.url + "/")
        pg.wait_for_selector("body[data-ready='1']", timeout=30_000)
        yield pg
        browser.close()


def test_search_filter_and_routing_panel(page):
    assert "scifact-sample (500 docs)" in page.locator("#collection").inner_text()
    page.select_option("#collection", "scifact-sample")
    page.wait_for_selector("#mode option[value='r:pilot']", state="attached", timeout=30_000)
    page.select_option("#mode", "r:pilot")
    page.select_option("#f-length", "short")
    page.fill("#query", "vitamin D deficiency and bone fractures")
    page.click("#search-btn")
    page.wait_for_selector("#results li.hit", timeout=30_000)
    hits = page.locator("#results li.hit")
    assert hits.count() == 10
    for i in range(hits.count()):  # the filter held: every hit is a short document
        assert "length=short" in hits.nth(i).locator(".hit-id").inner_text()
    chosen = page.locator("#chosen-expert").inner_text()
    assert chosen in ("minilm", "bm25")
    rows = page.locator("#routing-panel .bar-row")
    assert rows.count() == 2  # one bar per expert, with its score
    scores = {
        rows.nth(i).get_attribute("data-expert"): float(rows.nth(i).locator("span").last.inner_text()) for i in range(2)
    }
    assert max(scores, key=scores.get) == chosen  # the panel explains the choice
    assert page.locator("#results mark").count() > 0  # query terms highlighted
    assert "estimated selectivity" in page.locator("#plan-panel").inner_text()
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "search-routing.png"), full_page=True)
    assert (ARTIFACTS / "search-routing.png").stat().st_size > 10_000
    page.select_option("#mode", "r:auto")  # auto names the rule it picked
    page.click("#search-btn")
    page.wait_for_selector("#router-rule", timeout=30_000)
    assert "picked by train CV" in page.locator("#routing-panel").inner_text()
    page.select_option("#mode", "r:fusion-adaptive")  # adaptive fusion says whether it fused, and why
    page.click("#search-btn")
    page.wait_for_selector("#fusion-decision", timeout=30_000)
    decision = page.locator("#fusion-decision")
    fused = decision.get_attribute("data-fused") == "true"
    assert ("Fused" if fused else "One expert") in decision.inner_text() and "threshold" in decision.inner_text()
    assert ("+" in page.locator("#chosen-expert").inner_text()) == fused
    assert page.locator("#routing-features").count() == 1  # its qpp base names the features that weighed most


def test_expert_choice_and_evaluation_view(page):
    page.select_option("#mode", "e:bm25")
    page.click("#clear-filters")
    page.fill("#query", "cancer")
    page.click("#search-btn")
    page.wait_for_function("document.querySelector('#chosen-expert')?.textContent === 'bm25'", timeout=30_000)
    assert "chosen by hand" in page.locator("#routing-panel").inner_text()
    page.click("#tab-eval")
    page.wait_for_selector("#stored-results .routing-table", timeout=30_000)
    assert page.locator("#stored-results svg.plot").count() >= 3  # nDCG bars per dataset
    cv = [t for t in page.locator("#stored-results td.train-cv").all_inner_texts() if t]
    assert cv and all(0.0 < float(t) < 1.0 for t in cv)  # routers' cross-validated nDCG@10 shown
    page.screenshot(path=str(ARTIFACTS / "evaluation.png"), full_page=True)


def test_manage_view_adds_an_expert_fits_a_router_and_removes_the_expert(page, server):

    base = server.url + "/api/collections"
    assert http.post(base, json={"name": "ui-manage", "experts": ["bm25"]}).status_code == 201
    docs = [{"id": "a", "text": "Vitamin D supplements and bone fractures"}, {"id": "b", "text": "Sea ice melt"}]
    assert http.post(base + "/ui-manage/documents", json={"documents": docs}).status_code == 200
    page.reload()
    page.wait_for_selector("body[data-ready='1']", timeout=30_000)
    page.select_option("#collection", "ui-manage")
    page.click("#tab-manage")
    page.wait_for_selector("#expert-table tr.expert-row[data-expert='bm25']", timeout=30_000)
    assert "lexical" in page.locator("#expert-table tr.expert-row[data-expert='bm25']").inner_text()

    page.wait_for_selector("#add-expert option[value='static64']", state="attached", timeout=30_000)
    page.select_option("#add-expert", "static64")
    page.fill("#add-expert-name", "s64")
    page.click("#add-expert-btn")
    page.wait_for_selector("#manage-status .expert-job[data-status='done']", timeout=120_000)  # the job's progress
    assert "Adding s64: done" in page.locator("#manage-status").inner_text()
    page.wait_for_selector("#expert-table tr.expert-row[data-expert='s64']", timeout=60_000)
    assert "dense" in page.locator("#expert-table tr.expert-row[data-expert='s64']").inner_text()
    assert page.locator("#mode option[value='e:s64']").count() == 1  # searchable at once

    page.fill("#fit-router", "pilot")
    page.fill("#fit-train", "scifact-sample")
    page.fill("#fit-routing", "tfidf")  # the lexical routing encoder, fitted on the training queries
    page.click("#fit-btn")
    page.wait_for_selector(".fit-job[data-status='done']", timeout=120_000)
    assert page.locator(".fit-job .fit-rule").inner_text() == "pilot"
    assert page.locator(".fit-job .fit-routing").inner_text() == "tfidf"
    page.wait_for_function("document.querySelector('#mode option[value=\"r:pilot\"]') !== null", timeout=30_000)
    assert "Fitted routers: pilot" in page.locator("#expert-table").inner_text()
    page.screenshot(path=str(ARTIFACTS / "manage.png"), full_page=True)

    page.click(".remove-expert[data-expert='s64']")
    page.wait_for_selector("#expert-table tr.expert-row[data-expert='s64']", state="detached", timeout=30_000)
    assert "Experts now bm25" in page.locator("#manage-status").inner_text()
    assert list(http.get(base + "/ui-manage").json()["experts"]) == ["bm25"]
