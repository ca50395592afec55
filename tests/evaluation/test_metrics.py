from __future__ import annotations

import pytest

from embedroute import Collection
from embedroute.evaluation import evaluate_run, load_beir, mean_metrics
from embedroute.evaluation.runner import run_for


@pytest.fixture(scope="module")
def sample_run(tmp_path_factory):
    from embedroute.demo import sample_path

    ds = load_beir(sample_path())
    col = Collection.create(tmp_path_factory.mktemp("m") / "c", experts=["bm25"])
    col.add(ds.corpus())
    return ds, run_for(col, ds, "bm25", k=100)


def test_pytrec_eval_agrees_with_ranx(sample_run):
    from ranx import Qrels, Run, evaluate

    ds, run = sample_run
    ours = mean_metrics(evaluate_run(ds.qrels, run))
    theirs = evaluate(Qrels(ds.qrels), Run(run), ["ndcg@10", "recall@100", "mrr@10", "map@100"])
    for metric in ("ndcg@10", "recall@100", "mrr@10", "map@100"):
        assert ours[metric] == pytest.approx(theirs[metric], abs=1e-6), metric
    assert 0.3 < ours["ndcg@10"] < 1.0


def test_known_values_on_a_hand_built_run():
    qrels = {"q": {"a": 1, "b": 1}}
    run = {"q": {"x": 3.0, "a": 2.0, "y": 1.0}}
    per = evaluate_run(qrels, run)["q"]
    assert per["mrr@10"] == pytest.approx(0.5)
    assert per["recall@100"] == pytest.approx(0.5)
    # DCG = 1/log2(3); IDCG = 1 + 1/log2(3)
    assert per["ndcg@10"] == pytest.approx((1 / 1.5849625) / (1 + 1 / 1.5849625), rel=1e-6)
    assert evaluate_run({"q2": {"a": 1}}, {})["q2"]["ndcg@10"] == 0.0
