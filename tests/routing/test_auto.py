from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest

from embedroute import Collection
from embedroute.errors import InputError
from embedroute.evaluation.router_fit import build_routing_data
from embedroute.routing import make_router
from embedroute.routing.auto import CANDIDATES
from embedroute.routing.cv import cross_validate

from .helpers import cv_by_hand, training_data_by_hand

EXPERTS = ["minilm", "bm25", "static64"]


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from embedroute.demo import sample_path

    return build_routing_data(
        [sample_path()], EXPERTS, routing_expert="minilm", workdir=tmp_path_factory.mktemp("auto"), show_progress=False
    )


def test_auto_routes_with_the_candidate_of_best_training_cv(data, minilm):
    auto = make_router("auto").fit(data)
    want = {c: cross_validate(c, data) for c in CANDIDATES}
    assert auto.train_cv == pytest.approx(want)
    assert want["hybrid"] is None  # routing data without the fused pair's labels: hybrid is not a candidate
    best = max(v for v in want.values() if v is not None)
    assert want[auto.choice] == best and auto.choice == next(c for c in CANDIDATES if want[c] == best)
    q = minilm.encode_queries(["vitamin D and bone fractures", "zzqx 9931 qwfp lorem"])
    np.testing.assert_array_equal(auto.scores(q), make_router(auto.choice).fit(data).scores(q))
    assert make_router("auto@folds=3").fit(data).train_cv != auto.train_cv  # the folds are a real setting
    with pytest.raises(InputError, match="folds must be"):
        make_router("auto@folds=1").fit(data)


def test_collection_saves_the_rule_auto_chose(tmp_path, data, sample_dir):
    col = Collection.create(tmp_path / "c", experts=EXPERTS)
    col.add_file(sample_dir, show_progress=False)
    fitted = col.fit_router("auto", data)
    meta = json.loads((tmp_path / "c" / "routers" / "auto.json").read_text())
    assert meta["router"] == fitted.choice and meta["requested"] == "auto"
    assert meta["train_cv"] == pytest.approx(fitted.train_cv)
    col.close()
    again = Collection.open(tmp_path / "c")
    res = again.routed_search("vitamin D and bone fractures", k=3, router="auto")
    assert res.routing.router == "auto" and res.routing.rule == fitted.choice
    assert res.routing.experts[0] in EXPERTS and len(res.hits) == 3
    assert again._routers["auto"][0].train_cv is None  # the saved rule, no new cross-validation
    again.remove_expert("static64")
    res = again.routed_search("vitamin D and bone fractures", k=3, router="auto")
    assert set(res.routing.scores) == {"minilm", "bm25"} and res.routing.rule in CANDIDATES
    assert again._routers["auto"][0].train_cv  # experts changed: auto chose again on the remaining ones
    again.close()


def test_routing_evaluation_names_the_rule_auto_picked(tmp_path, sample_dir, minilm):
    from embedroute.evaluation.routing import evaluate_routing

    shared: dict = {}
    res = evaluate_routing(
        [sample_dir],
        ["minilm", "bm25"],
        ["auto"],
        train_from=[sample_dir],
        workdir=tmp_path,
        show_progress=False,
        prepared=shared,
    ).to_dict()
    row = next(r for r in res["rows"] if r["name"] == "auto")
    by_hand = training_data_by_hand(next(iter(shared.values())), ["minilm", "bm25"], minilm)
    prepared = next(iter(shared.values()))
    want = {c: cv_by_hand(c, by_hand) for c in CANDIDATES if c != "hybrid"}
    want["hybrid"] = float(np.mean(prepared.train_pair))  # a fixed fusion: its CV is its mean label
    assert row["rule"] == next(c for c in CANDIDATES if want[c] == max(want.values()))
    # auto's own figure is nested: each outer fold runs auto's inner cross-validation on its training part
    with_pair = replace(by_hand, pair_scores=prepared.train_pair, feature_experts=prepared.feature_experts)
    assert row["train_cv_ndcg@10"] == pytest.approx(cv_by_hand("auto", with_pair), abs=1e-4)


def test_routing_data_won_by_one_expert_fits_every_candidate_and_auto():
    """Pseudo-queries can all be won by one expert (one pilot): every rule still fits and routes to it."""
    from embedroute.routing import RoutingData
    from embedroute.routing.features import FEATURE_NAMES

    rng = np.random.default_rng(0)
    emb = rng.standard_normal((40, 8)).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    scores = np.zeros((40, 2), dtype=np.float32)
    scores[:, 0] = rng.uniform(0.2, 1.0, 40)  # "a" wins every query
    feats = rng.random((40, len(FEATURE_NAMES))).astype(np.float32)
    one = RoutingData(["a", "b"], emb, ["pseudo:c"] * 40, scores, features=feats)
    for rule in [*(c for c in CANDIDATES if c != "hybrid"), "auto"]:  # hybrid needs feature experts
        router = make_router(rule).fit(one)
        assert [r.experts[0] for r in router.route(emb[:5], feats[:5])] == ["a"] * 5, rule
    assert make_router("auto").fit(one).train_cv["pilot@weight=size"] == pytest.approx(float(scores[:, 0].mean()))
