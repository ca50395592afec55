from __future__ import annotations

import numpy as np
import pytest

from embedroute.evaluation.router_fit import build_routing_data
from embedroute.evaluation.routing import evaluate_routing
from embedroute.routing import ROUTERS, Router, RoutingData
from embedroute.routing.cv import cross_validate

from .helpers import cv_by_hand, training_data_by_hand


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from embedroute.demo import sample_path

    return build_routing_data(
        [sample_path()],
        ["minilm", "bm25", "static64"],
        routing_expert="minilm",
        workdir=tmp_path_factory.mktemp("cv"),
        show_progress=False,
    )


def test_single_expert_cv_is_that_experts_mean_on_training_queries(data):
    for j, e in enumerate(data.experts):
        assert cross_validate(f"single:{e}", data) == pytest.approx(float(data.scores[:, j].mean()))


def test_cv_of_each_router_equals_a_kfold_written_out_by_hand(data):
    for name in ("pilot", "pilot-nearest", "dataset", "classifier", "pilot@min_share=0.1"):
        assert cross_validate(name, data) == pytest.approx(cv_by_hand(name, data), abs=1e-12), name
    assert cross_validate("pilot", data, seed=1) == pytest.approx(cv_by_hand("pilot", data, seed=1), abs=1e-12)
    assert cross_validate("classifier", data, folds=3) == pytest.approx(
        cv_by_hand("classifier", data, folds=3), abs=1e-12
    )
    assert cross_validate("fusion", data) is None and cross_validate("fusion-topk", data) is None
    with pytest.raises(ValueError, match="folds"):
        cross_validate("pilot", data, folds=len(data.datasets) + 1)


class MemorisingRouter(Router):
    """A plug-in that sends a query it was fitted on to the expert that won it and any other query to
    expert 0: perfect on its own training queries, so only held-out scoring gives it expert 0's figure."""

    name = "memorising"

    def fit(self, data):
        self.experts = list(data.experts)
        self.seen = {e.tobytes(): int(np.argmax(s)) for e, s in zip(np.asarray(data.embeddings), data.scores)}
        return self

    def scores(self, embeddings, features=None):
        out = np.zeros((len(embeddings), len(self.experts)))
        for i, e in enumerate(np.asarray(embeddings)):
            out[i, self.seen.get(e.tobytes(), 0)] = 1.0
        return out


@pytest.fixture
def memorising():
    ROUTERS.register(MemorisingRouter.name, MemorisingRouter)
    yield MemorisingRouter.name
    ROUTERS.unregister(MemorisingRouter.name)


def planted() -> RoutingData:
    """10 queries of set x (expert b scores 0.8, a 0.2) and 4 of set y (a 0.6, b 0.1), each set a tight
    cluster of distinct points around its own axis."""
    rng = np.random.default_rng(0)
    x = np.eye(8)[0] + 0.01 * rng.normal(size=(10, 8))
    y = np.eye(8)[1] + 0.01 * rng.normal(size=(4, 8))
    emb = np.vstack([x, y]).astype(np.float32)
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    scores = np.array([[0.2, 0.8]] * 10 + [[0.6, 0.1]] * 4, dtype=np.float32)
    return RoutingData(["a", "b"], emb, ["x"] * 10 + ["y"] * 4, scores)


def test_cv_scores_held_out_queries_and_macro_averages_over_datasets(memorising):
    data = planted()
    # held out, the memorising router always falls back to expert a: x 0.2, y 0.6, macro mean 0.4
    # (in-sample scoring would give 0.7, a mean over all 14 queries 0.314)
    assert cross_validate(memorising, data) == pytest.approx(0.4)
    assert cross_validate("single:b", data) == pytest.approx((0.8 + 0.1) / 2)
    # the dataset router finds each set from its cluster and sends it to that set's best expert
    assert cross_validate("dataset", data) == pytest.approx((0.8 + 0.6) / 2)
    assert cross_validate("classifier", data) == pytest.approx((0.8 + 0.6) / 2)


def test_evaluation_rows_carry_the_training_cv(tmp_path, sample_dir, minilm):
    shared: dict = {}
    res = evaluate_routing(
        [sample_dir],
        ["minilm", "bm25"],
        ["pilot", "fusion"],
        train_from=[sample_dir],
        workdir=tmp_path,
        show_progress=False,
        prepared=shared,
    ).to_dict()
    rows = {r["name"]: r for r in res["rows"]}
    (runs,) = shared.values()
    by_hand = training_data_by_hand(runs, ["minilm", "bm25"], minilm)
    assert rows["pilot"]["train_cv_ndcg@10"] == pytest.approx(cv_by_hand("pilot", by_hand), abs=1e-4)
    assert rows["fusion"]["train_cv_ndcg@10"] is None


class SeedPinnedRouter(Router):
    """A plug-in router for the seed-spread test: every query goes to expert number ``seed`` (mod T)."""

    name = "seed-pinned"
    accepts = frozenset({"seed"})

    def fit(self, data):
        self.experts = list(data.experts)
        return self

    def scores(self, embeddings, features=None):
        out = np.zeros((len(embeddings), len(self.experts)))
        out[:, int(self.params.get("seed", 0)) % len(self.experts)] = 1.0
        return out


@pytest.fixture
def seed_pinned():
    ROUTERS.register(SeedPinnedRouter.name, SeedPinnedRouter)
    yield SeedPinnedRouter.name
    ROUTERS.unregister(SeedPinnedRouter.name)


def test_seed_spread_refits_randomised_routers_with_each_seed(tmp_path, sample_dir, seed_pinned):
    report = evaluate_routing(
        [sample_dir],
        ["minilm", "bm25"],
        ["pilot", "dataset", seed_pinned, "seed-pinned@seed=1"],
        train_from=[sample_dir],
        workdir=tmp_path,
        show_progress=False,
        seed_spread=3,
    )
    res = report.to_dict()
    rows = {r["name"]: r for r in res["rows"]}
    avg = {e: rows[e]["ndcg@10"]["avg"] for e in ("minilm", "bm25")}
    assert avg["minilm"] != avg["bm25"]
    by_hand = [avg["minilm"], avg["bm25"], avg["minilm"]]  # seeds 0, 1, 2
    assert rows[seed_pinned]["seed_spread"] == pytest.approx(
        {"seeds": 3, "mean": np.mean(by_hand), "sd": np.std(by_hand), "min": min(by_hand), "max": max(by_hand)},
        abs=1e-4,
    )
    assert "seed_spread" not in rows["pilot"] and "seed_spread" not in rows["seed-pinned@seed=1"]
    # one training dataset: every sample of the dataset router labels with that dataset's best expert
    assert rows["dataset"]["seed_spread"]["sd"] == 0.0
    assert set(rows["dataset"]["chosen"]) == {res["best_single"]}
    # so the dataset router's per-query scores are the best single expert's, and the p-values agree
    other = "bm25" if res["best_single"] == "minilm" else "minilm"
    pinned_other = seed_pinned if other == "minilm" else "seed-pinned@seed=1"
    assert rows[pinned_other]["p_value_vs_dataset"] == rows[other]["p_value_vs_best_single"]
    assert "p_value_vs_dataset" not in rows["dataset"] and "p_value_vs_dataset" not in rows["minilm"]
    assert f"{seed_pinned} over seeds 0-2" in str(report)
