"""The HTTP API against a real server process on loopback, over the SciFact sample."""

from __future__ import annotations

import gzip
import json
import time

import httpx
import pytest

from ..routing.helpers import ndcg10
from .helpers import http

pytestmark = pytest.mark.slow
COL = "/api/collections/scifact-sample"


def sample_files() -> tuple[list[dict], dict[str, dict[str, int]], dict[str, str]]:
    """The SciFact sample's corpus, test qrels and queries, read straight from its files."""
    from embedroute.demo import sample_path

    root = sample_path()
    with gzip.open(root / "corpus.jsonl.gz", "rt") as f:
        corpus = [json.loads(line) for line in f if line.strip()]
    qrels: dict[str, dict[str, int]] = {}
    for line in (root / "qrels" / "test.tsv").read_text().splitlines()[1:]:
        q, d, g = line.split("\t")
        qrels.setdefault(q, {})[d] = int(g)
    queries = {o["_id"]: o["text"] for o in map(json.loads, (root / "queries.jsonl").read_text().splitlines())}
    return corpus, qrels, {q: queries[q] for q in qrels}


def test_health_list_and_info(server):
    assert http.get(server.url + "/api/health").json()["status"] == "ok"
    listed = http.get(server.url + "/api/collections").json()
    assert listed == [
        {
            "name": "scifact-sample",
            "documents": 500,
            "experts": ["minilm", "bm25"],
            "routers": ["auto", "fusion", "fusion-adaptive", "pilot", "pilot-nearest", "qpp"],
        }
    ]
    info = http.get(server.url + COL).json()
    assert info["experts"]["minilm"]["encoder"]["dim"] == 384
    attrs = info["attributes"]
    # by hand from the corpus file: words in each text, short under 150, medium under 250, else long
    words = [len(d["text"].split()) for d in sample_files()[0]]
    buckets = ["short" if w < 150 else "medium" if w < 250 else "long" for w in words]
    assert attrs["length"]["type"] == "str"
    assert {v["value"]: v["count"] for v in attrs["length"]["values"]} == {b: buckets.count(b) for b in set(buckets)}
    assert attrs["words"]["type"] == "int"
    assert (attrs["words"]["min"], attrs["words"]["max"]) == (min(words), max(words))


def test_search_expert_filter_and_router(server, sample_root):
    q = {"query": "vitamin D deficiency and bone fractures", "k": 5}
    plain = http.post(server.url + COL + "/search", json=q | {"expert": "minilm"}).json()
    assert plain["expert"] == "minilm" and len(plain["hits"]) == 5 and plain["routing"] is None
    assert plain["index"]["kind"] == "flat"
    assert [h["rank"] for h in plain["hits"]] == [1, 2, 3, 4, 5]
    assert plain["hits"][0]["score"] >= plain["hits"][-1]["score"]

    filt = {"$and": [{"length": "short"}, {"words": {"$gte": 100}}]}
    filtered = http.post(server.url + COL + "/search", json=q | {"expert": "minilm", "filter": filt}).json()
    assert filtered["plan"]["kind"] in ("exact-allowed", "index-filtered", "post-filter")
    assert filtered["hits"] and all(
        h["attributes"]["length"] == "short" and h["attributes"]["words"] >= 100 for h in filtered["hits"]
    )

    routed = http.post(server.url + COL + "/search", json=q | {"router": "pilot"}).json()
    r = routed["routing"]
    assert r["router"] == "pilot" and set(r["scores"]) == {"minilm", "bm25"}
    assert routed["expert"] == r["experts"][0] == max(r["scores"], key=r["scores"].get)
    fused = http.post(server.url + COL + "/search", json=q | {"router": "fusion", "filter": filt}).json()
    assert fused["expert"] == "minilm+bm25" and all(h["attributes"]["length"] == "short" for h in fused["hits"])
    auto = http.post(server.url + COL + "/search", json=q | {"router": "auto"}).json()["routing"]
    saved = json.loads((sample_root / "scifact-sample" / "routers" / "auto.json").read_text())
    assert auto["router"] == "auto" and auto["rule"] == saved["router"]  # the rule auto chose when fitted
    assert r["rule"] == "pilot"  # a named router's rule is itself


def test_documents_add_get_upsert_delete(server):
    name = "crud"
    resp = http.post(
        server.url + "/api/collections", json={"name": name, "experts": ["bm25"], "attributes": {"year": "int"}}
    )
    assert resp.status_code == 201, resp.text
    docs = [
        {"id": "a", "text": "cats purr softly", "attributes": {"year": 2020}},
        {"id": "b", "text": "dogs bark loudly", "attributes": {"year": 2021}},
    ]
    base = f"{server.url}/api/collections/{name}"
    assert http.post(base + "/documents", json={"documents": docs}).json()["added"] == 2
    dup = http.post(base + "/documents", json={"documents": docs[:1]})
    assert dup.status_code == 400 and "already exists" in dup.json()["detail"]
    assert http.get(base + "/documents/a").json()["text"] == "cats purr softly"
    up = http.put(
        base + "/documents", json={"documents": [{"id": "a", "text": "cats meow", "attributes": {"year": 2022}}]}
    ).json()
    assert up["updated"] == 1 and up["documents"] == 2
    hits = http.post(base + "/search", json={"query": "meow", "k": 2}).json()["hits"]
    assert hits[0]["id"] == "a"
    assert http.post(base + "/documents/delete", json={"ids": ["b"]}).json()["deleted"] == 1
    assert http.get(base + "/documents/b").status_code == 404
    check = http.post(base + "/check").json()
    assert check["ok"] and check["counts"]["documents"] == 1


def test_delete_and_upsert_on_an_hnsw_expert_answer_200_and_the_next_search_reflects_them(server):
    base = f"{server.url}/api/collections/hnsw-http"
    resp = http.post(
        server.url + "/api/collections",
        json={"name": "hnsw-http", "experts": [{"source": "static64", "name": "h", "options": {"index": "hnsw"}}]},
    )
    assert resp.status_code == 201, resp.text
    docs = [
        {"id": f"d{i}", "text": t}
        for i, t in enumerate(
            [
                "vitamin D and bone fractures",
                "sea level rise from melting ice",
                "cats purr when content",
                "statins lower cholesterol",
                "the stock market fell sharply",
            ]
        )
    ]
    assert http.post(base + "/documents", json={"documents": docs}).json()["added"] == 5
    q = {"query": "vitamin D and bone fractures", "k": 5}
    assert http.post(base + "/search", json=q).json()["hits"][0]["id"] == "d0"
    gone = http.post(base + "/documents/delete", json={"ids": ["d0"]})
    assert gone.status_code == 200 and gone.json()["deleted"] == 1, gone.text
    assert "d0" not in [h["id"] for h in http.post(base + "/search", json=q).json()["hits"]]
    up = http.put(base + "/documents", json={"documents": [{"id": "d2", "text": "vitamin D and bone fractures"}]})
    assert up.status_code == 200 and up.json()["updated"] == 1, up.text
    hits = http.post(base + "/search", json=q).json()["hits"]
    assert hits[0]["id"] == "d2" and hits[0]["text"] == "vitamin D and bone fractures" and len(hits) == 4
    assert http.post(base + "/check").json()["ok"]


def test_searches_keep_answering_while_an_expert_is_added(server):
    """The add encodes outside the collection's lock: bm25 searches answer while the job is encoding."""
    import random
    import uuid

    base = f"{server.url}/api/collections/busy-add"
    assert http.post(server.url + "/api/collections", json={"name": "busy-add", "experts": ["bm25"]}).status_code == 201
    words = "vitamin bone fracture ice sea level cells tumour insulin statin heart brain sleep diet".split()
    rng = random.Random(uuid.uuid4().int)  # texts no cache has seen: the encoding really runs
    docs = [
        {"id": f"d{i}", "text": " ".join(rng.choice(words) for _ in range(120)) + f" {uuid.uuid4().hex}"}
        for i in range(400)
    ]
    for start in range(0, len(docs), 200):
        assert http.post(base + "/documents", json={"documents": docs[start : start + 200]}).status_code == 200
    job = http.post(base + "/experts", json={"expert": "minilm"}).json()
    answered_while_encoding = 0
    deadline = time.time() + 600
    while time.time() < deadline:
        hits = http.post(base + "/search", json={"query": "vitamin bone", "k": 3, "expert": "bm25"}).json()["hits"]
        state = http.get(f"{server.url}/api/expert-adds/{job['id']}").json()
        if state["status"] in ("done", "failed"):
            break
        if state["stage"] == "encoding" and len(hits) == 3:
            answered_while_encoding += 1
        time.sleep(0.05)
    assert state["status"] == "done", state
    assert answered_while_encoding > 0
    assert http.post(base + "/search", json={"query": "vitamin bone", "k": 3, "expert": "minilm"}).json()["hits"]


def test_experts_added_and_removed_over_http_leave_the_others_unchanged(server):
    offered = http.get(server.url + "/api/experts").json()
    assert {"minilm", "bm25", "static64", "splade-tiny"} <= set(offered) and offered == sorted(offered)
    base = f"{server.url}/api/collections/experts-http"
    assert (
        http.post(server.url + "/api/collections", json={"name": "experts-http", "experts": ["bm25"]}).status_code
        == 201
    )
    docs = [
        {"id": f"d{i}", "text": t}
        for i, t in enumerate(
            [
                "vitamin D and bone fractures",
                "sea level rise from melting ice",
                "cats purr when content",
                "statins lower cholesterol",
                "the stock market fell sharply",
            ]
        )
    ]
    assert http.post(base + "/documents", json={"documents": docs}).json()["added"] == 5
    q = {"query": "does vitamin D prevent fractures", "k": 3, "expert": "bm25"}
    before = http.post(base + "/search", json=q).json()["hits"]

    resp = http.post(
        base + "/experts", json={"expert": {"source": "static64", "name": "s64", "options": {"index": "int8"}}}
    )
    assert resp.status_code == 202, resp.text  # a job: encoding happens outside the request
    job = _wait(f"{server.url}/api/expert-adds/{resp.json()['id']}")
    assert job["status"] == "done" and job["stage"] == "done", job
    assert job["result"]["expert"] == "s64" and job["result"]["experts"] == ["bm25", "s64"]
    assert job["id"] in [j["id"] for j in http.get(server.url + "/api/expert-adds").json()]
    info = http.get(base).json()
    assert list(info["experts"]) == ["bm25", "s64"] and info["experts"]["s64"]["index"]["kind"] == "int8"
    dense = http.post(base + "/search", json=q | {"expert": "s64"}).json()
    assert dense["expert"] == "s64" and dense["hits"][0]["id"] == "d0"
    assert http.post(base + "/search", json=q).json()["hits"] == before

    for body, status, words in [
        ({"expert": "s64"}, 400, "unknown expert 's64'"),
        ({"expert": {"source": "static64", "name": "s64"}}, 400, "already has an expert"),
        ({"expert": "/etc/passwd"}, 400, "the server offers"),
        ({"expert": {"source": "static64", "name": "y", "options": {"index": "nope"}}}, 400, "nope"),
    ]:  # refused before any job starts
        resp = http.post(base + "/experts", json=body)
        assert resp.status_code == status and words in resp.json()["detail"], resp.text
    assert list(http.get(base).json()["experts"]) == ["bm25", "s64"]  # failed adds changed nothing

    assert list(http.delete(base + "/experts/s64").json()["experts"]) == ["bm25"]
    gone = http.delete(base + "/experts/s64")
    assert gone.status_code == 404 and "no expert 's64'" in gone.json()["detail"]
    last = http.delete(base + "/experts/bm25")
    assert last.status_code == 400 and "only expert" in last.json()["detail"]
    assert http.post(base + "/search", json=q).json()["hits"] == before
    assert http.post(base + "/check").json()["ok"]


def _wait(url: str, seconds: float = 240) -> dict:
    deadline = time.time() + seconds
    while time.time() < deadline:
        job = http.get(url).json()
        if job["status"] in ("done", "failed"):
            return job
        time.sleep(0.5)
    return job


def test_router_fitted_over_http_as_a_job_then_routes_searches(server):
    base = f"{server.url}/api/collections/fit-http"
    assert (
        http.post(server.url + "/api/collections", json={"name": "fit-http", "experts": ["minilm", "bm25"]}).status_code
        == 201
    )
    docs = [
        {"id": "d0", "text": "Vitamin D supplementation and the risk of bone fractures in older adults"},
        {"id": "d1", "text": "Sea level rise from melting ice sheets"},
    ]
    assert http.post(base + "/documents", json={"documents": docs}).json()["added"] == 2
    resp = http.post(base + "/routers", json={"router": "pilot@min_share=0.1", "train_from": ["scifact-sample"]})
    assert resp.status_code == 202, resp.text
    job = resp.json()
    assert job["routing_expert"] == "minilm" and job["collection"] == "fit-http"
    job = _wait(f"{server.url}/api/router-fits/{job['id']}")
    assert job["status"] == "done", job
    res = job["result"]
    assert res["rule"] == "pilot@min_share=0.1" and res["training_queries"] == 25
    assert res["experts"] == ["minilm", "bm25"] and res["datasets"] == ["scifact-sample"]
    assert "pilot@min_share=0.1" in http.get(base).json()["routers"]
    routed = http.post(
        base + "/search", json={"query": "vitamin D fractures", "k": 1, "router": "pilot@min_share=0.1"}
    ).json()
    assert routed["hits"][0]["id"] == "d0" and routed["routing"]["experts"][0] in ("minilm", "bm25")
    assert job["id"] in [j["id"] for j in http.get(server.url + "/api/router-fits").json()]
    assert http.get(f"{server.url}/api/evaluations/{job['id']}").status_code == 404  # not an evaluation
    only = http.post(
        base + "/routers",
        json={"router": "pilot-nearest", "train_from": ["scifact-sample"], "routing_expert": "static64"},
    ).json()  # a routing-only model
    assert _wait(f"{server.url}/api/router-fits/{only['id']}")["status"] == "done"
    routed = http.post(base + "/search", json={"query": "vitamin D", "k": 1, "router": "pilot-nearest"}).json()
    assert routed["routing"]["routing_expert"] == "static64" and list(http.get(base).json()["experts"]) == [
        "minilm",
        "bm25",
    ]
    lex = http.post(
        base + "/routers", json={"router": "dataset", "train_from": ["scifact-sample"], "routing_expert": "tfidf"}
    ).json()  # fitted on the training queries
    assert _wait(f"{server.url}/api/router-fits/{lex['id']}")["status"] == "done"
    routed = http.post(base + "/search", json={"query": "vitamin D", "k": 1, "router": "dataset"}).json()
    assert routed["routing"]["routing_expert"] == "tfidf" and routed["hits"]

    for body, status, words in [
        ({"router": "pilot@min_shar=1", "train_from": ["scifact-sample"]}, 400, "no parameter 'min_shar'"),
        ({"router": "pilott", "train_from": ["scifact-sample"]}, 400, "unknown router 'pilott'"),
        ({"router": "pilot", "train_from": ["../../.."]}, 400, "outside"),
        ({"router": "pilot", "train_from": ["nope"]}, 400, "not a folder"),
        ({"router": "pilot", "train_from": ["scifact-sample"], "routing_expert": "bm25"}, 400, "not a dense expert"),
        ({"router": "pilot", "train_from": ["scifact-sample"], "routing_expert": "nope"}, 400, "unknown expert"),
        ({"router": "pilot", "train_from": ["scifact-sample"], "routing_expert": "splade-tiny"}, 400, "not a dense"),
        ({"router": "pilot"}, 400, "has 2 documents; routing from its own documents needs at least 20"),
        ({"router": "pilot", "self_supervised": True}, 400, "give train_from"),
    ]:
        resp = http.post(base + "/routers", json=body)
        assert resp.status_code == status and words in resp.json()["detail"], resp.text
    gone = http.post(server.url + "/api/collections/nope/routers", json={"train_from": ["scifact-sample"]})
    assert gone.status_code == 404
    http.post(server.url + "/api/collections", json={"name": "fit-lexical", "experts": ["bm25"]})
    lexical = http.post(server.url + "/api/collections/fit-lexical/routers", json={"train_from": ["scifact-sample"]})
    assert lexical.status_code == 400 and "no dense expert" in lexical.json()["detail"]


def test_router_fitted_over_http_from_the_collections_own_documents(server):
    base = f"{server.url}/api/collections/fit-pseudo"
    made = http.post(server.url + "/api/collections", json={"name": "fit-pseudo", "experts": ["bm25", "static64"]})
    assert made.status_code == 201, made.text
    corpus, _, _ = sample_files()
    docs = [{"id": d["_id"], "title": d["title"], "text": d["text"]} for d in corpus[:60]]
    assert http.post(base + "/documents", json={"documents": docs}).json()["added"] == 60
    resp = http.post(base + "/routers", json={"router": "pilot", "routing_expert": "static64", "pseudo_queries": 100})
    assert resp.status_code == 202, resp.text
    assert resp.json()["train_from"] == [] and resp.json()["self_supervised"] is False
    job = _wait(f"{server.url}/api/router-fits/{resp.json()['id']}")
    assert job["status"] == "done", job
    res = job["result"]
    assert res["training_queries"] == 100 and res["datasets"] == ["pseudo:fit-pseudo"]
    assert res["source"]["labelled"] is None and res["source"]["pseudo"]["queries"] == 100
    routed = http.post(base + "/search", json={"query": corpus[0]["title"], "k": 3, "router": "pilot"}).json()
    assert routed["routing"]["rule"] == "pilot" and routed["routing"]["experts"][0] in ("bm25", "static64")
    assert http.post(base + "/routers", json={"router": "pilot", "pseudo_queries": 5}).status_code == 422


@pytest.mark.parametrize(
    "method,path,body,status,words",
    [
        ("get", "/api/collections/nope", None, 404, "no collection named"),
        ("post", COL + "/search", {"query": "x", "expert": "nope"}, 404, "no expert"),
        ("post", COL + "/search", {"query": "x", "router": "nope"}, 404, "no fitted router"),
        ("post", COL + "/search", {"query": "x", "filter": {"colour": "red"}}, 400, "colour"),
        ("post", COL + "/search", {"query": "x", "filter": {"words": "many"}}, 400, "words"),
        ("post", COL + "/search", {"query": "x", "expert": "bm25", "router": "pilot"}, 400, "not both"),
        ("post", "/api/collections", {"name": "../evil"}, 422, ""),
        ("post", "/api/collections", {"name": "x1", "experts": ["no-such-model"]}, 400, "no-such-model"),
        ("post", "/api/collections", {"name": "scifact-sample"}, 409, "already exists"),
        ("post", "/api/evaluations", {"data": "../../../etc"}, 400, "outside"),
        ("post", "/api/evaluations", {"data": "/etc"}, 400, "outside"),
        (
            "post",
            COL + "/documents",
            {"documents": [{"id": "z", "text": "t", "attributes": {"words": "x"}}]},
            400,
            "words",
        ),
    ],
)
def test_bad_requests_get_clear_4xx(server, method, path, body, status, words):
    resp = httpx.request(method.upper(), server.url + path, json=body)
    assert resp.status_code == status, resp.text
    assert "Traceback" not in resp.text
    if words:
        assert words in resp.json()["detail"]


def test_batch_and_body_limits(server):
    before = http.get(server.url + COL).json()["documents"]
    many = [{"id": f"d{i}", "text": "x"} for i in range(1001)]
    resp = http.post(server.url + COL + "/documents", json={"documents": many})
    assert resp.status_code == 413 and "limit is 1000" in resp.json()["detail"]
    big = {"documents": [{"id": "huge", "text": "word " * 4_000_000}]}
    resp = http.post(server.url + COL + "/documents", json=big)
    assert resp.status_code == 413
    assert http.get(server.url + COL).json()["documents"] == before  # nothing written


def test_evaluation_run_with_progress_and_results(server):
    resp = http.post(server.url + "/api/evaluations", json={"data": "scifact-sample", "experts": ["bm25"]})
    assert resp.status_code == 202, resp.text
    job_id = resp.json()["id"]
    deadline = time.time() + 240
    while time.time() < deadline:
        job = http.get(f"{server.url}/api/evaluations/{job_id}").json()
        if job["status"] in ("done", "failed"):
            break
        time.sleep(0.5)
    assert job["status"] == "done", job
    got = job["result"]["experts"]["bm25"]
    # by hand: each test query's top 10 from the served bm25 expert, nDCG@10 against the qrels file
    _, qrels, queries = sample_files()
    want = {}
    for qid, text in queries.items():
        hits = http.post(server.url + COL + "/search", json={"query": text, "k": 10, "expert": "bm25"}).json()
        want[qid] = ndcg10(qrels[qid], {h["id"]: h["score"] for h in hits["hits"]})
    assert "per_query" not in got  # left out of the stored job
    assert got["metrics"]["ndcg@10"] == pytest.approx(sum(want.values()) / len(want), abs=1e-9)
    assert job_id in [j["id"] for j in http.get(server.url + "/api/evaluations").json()]


def test_metrics_openapi_and_page(server):
    http.post(server.url + COL + "/search", json={"query": "cancer", "expert": "bm25"})
    text = http.get(server.url + "/metrics").text
    assert 'embedroute_searches_total{expert="bm25"}' in text
    assert 'route="/api/collections/{name}/search"' in text
    spec = http.get(server.url + "/openapi.json").json()
    for path in (
        "/api/collections",
        "/api/collections/{name}/search",
        "/api/collections/{name}/documents",
        "/api/evaluations",
        "/api/health",
    ):
        assert path in spec["paths"]
    page = http.get(server.url + "/")
    assert page.status_code == 200 and 'id="routing-panel"' in page.text
    for asset in ("/", "/static/app.js", "/static/style.css"):  # works offline: nothing from elsewhere
        body = http.get(server.url + asset).text
        assert "http://" not in body and "https://" not in body and "//cdn" not in body


@pytest.mark.slow
def test_idle_keep_alive_connection_outlives_uvicorns_five_seconds(server):
    import http.client
    from urllib.parse import urlparse

    url = urlparse(server.url)
    conn = http.client.HTTPConnection(url.hostname, url.port, timeout=10)
    conn.request("GET", "/api/health")
    first = conn.getresponse()
    assert first.status == 200 and first.read()
    sock = conn.sock
    time.sleep(6.5)  # past uvicorn's default 5 s, which closed idle connections under pooled clients
    conn.request("GET", "/api/health")
    again = conn.getresponse()
    assert again.status == 200 and again.read() and conn.sock is sock  # the same connection was reused
    conn.close()
