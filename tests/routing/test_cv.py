from __future__ import annotations

import numpy as np
import pytest

from embedroute.evaluation.routing import build_routing_data, evaluate_routing
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
