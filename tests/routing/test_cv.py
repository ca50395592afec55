from __future__ import annotations

import numpy as np
import pytest

from embedroute.evaluation.routing import build_routing_data, evaluate_routing, format_table
from embedroute.routing import ROUTERS, Router
from embedroute.routing.cv import cross_validate


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    from embedroute.demo import sample_path

    return build_routing_data([sample_path()], ["minilm", "bm25", "static64"], routing_expert="minilm",
                              workdir=tmp_path_factory.mktemp("cv"), show_progress=False)


def test_single_expert_cv_is_that_experts_mean_on_training_queries(data):
    for j, e in enumerate(data.experts):
        assert cross_validate(f"single:{e}", data) == pytest.approx(float(data.scores[:, j].mean()))


def test_cv_of_routers_lies_between_worst_expert_and_instance_oracle(data):
    oracle = float(data.scores.max(1).mean())
    worst = float(data.scores.mean(0).min())
    for name in ("pilot", "pilot-nearest", "dataset", "classifier", "pilot@min_share=0.1"):
        cv = cross_validate(name, data)
        assert worst - 1e-9 <= cv <= oracle + 1e-9, name
    assert cross_validate("fusion", data) is None and cross_validate("fusion-topk", data) is None
    assert cross_validate("pilot", data, seed=1) == cross_validate("pilot", data, seed=1)
    with pytest.raises(ValueError, match="folds"):
        cross_validate("pilot", data, folds=len(data.datasets) + 1)


def test_evaluation_rows_carry_the_training_cv(tmp_path, sample_dir):
    res = evaluate_routing([sample_dir], ["minilm", "bm25"], ["pilot", "fusion"], train_from=[sample_dir],
                           workdir=tmp_path, show_progress=False)
    rows = {r["name"]: r for r in res["rows"]}
    assert 0.0 <= rows["pilot"]["train_cv_ndcg@10"] <= 1.0 and rows["fusion"]["train_cv_ndcg@10"] is None
    assert not np.isnan(rows["pilot"]["train_cv_ndcg@10"])



class SeedPinnedRouter(Router):
    """A plug-in router for the seed-spread test: every query goes to expert number ``seed`` (mod T)."""

    name = "seed-pinned"
    accepts = frozenset({"seed"})

    def fit(self, data):
        self.experts = list(data.experts)
        return self

    def scores(self, embeddings):
        out = np.zeros((len(embeddings), len(self.experts)))
        out[:, int(self.params.get("seed", 0)) % len(self.experts)] = 1.0
        return out


@pytest.fixture
def seed_pinned():
    ROUTERS.register(SeedPinnedRouter.name, SeedPinnedRouter)
    yield SeedPinnedRouter.name
    ROUTERS.unregister(SeedPinnedRouter.name)


def test_seed_spread_refits_randomised_routers_with_each_seed(tmp_path, sample_dir, seed_pinned):
    res = evaluate_routing([sample_dir], ["minilm", "bm25"], ["pilot", "dataset", seed_pinned, "seed-pinned@seed=1"],
                           train_from=[sample_dir], workdir=tmp_path, show_progress=False, seed_spread=3)
    rows = {r["name"]: r for r in res["rows"]}
    avg = {e: rows[e]["ndcg@10"]["avg"] for e in ("minilm", "bm25")}
    assert avg["minilm"] != avg["bm25"]
    by_hand = [avg["minilm"], avg["bm25"], avg["minilm"]]  # seeds 0, 1, 2
    assert rows[seed_pinned]["seed_spread"] == pytest.approx(
        {"seeds": 3, "mean": np.mean(by_hand), "sd": np.std(by_hand), "min": min(by_hand), "max": max(by_hand)},
        abs=1e-4)
    assert "seed_spread" not in rows["pilot"] and "seed_spread" not in rows["seed-pinned@seed=1"]
    # one training dataset: every sample of the dataset router labels with that dataset's best expert
    assert rows["dataset"]["seed_spread"]["sd"] == 0.0
    assert set(rows["dataset"]["chosen"]) == {res["best_single"]}
    # so the dataset router's per-query scores are the best single expert's, and the p-values agree
    other = "bm25" if res["best_single"] == "minilm" else "minilm"
    pinned_other = seed_pinned if other == "minilm" else "seed-pinned@seed=1"
    assert rows[pinned_other]["p_value_vs_dataset"] == rows[other]["p_value_vs_best_single"]
    assert "p_value_vs_dataset" not in rows["dataset"] and "p_value_vs_dataset" not in rows["minilm"]
    assert f"{seed_pinned} over seeds 0-2" in format_table(res)
