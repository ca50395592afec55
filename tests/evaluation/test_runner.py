from __future__ import annotations

import json

import pytest

from embedroute.errors import InputError
from embedroute.evaluation import evaluate, load_beir
from embedroute.evaluation.runner import corpus_collection, run_for, with_bases

from ..conftest import shared


def test_eval_layout_and_second_run_encodes_nothing(sample_dir, fresh_cache):
    first = evaluate(sample_dir, ["minilm", "bm25"], show_progress=False)
    assert first.stats["texts_encoded"] == 550  # 500 documents + 50 queries
    out = first.to_json()
    assert out["dataset"] == "scifact-sample" and out["split"] == "test"
    for name in ("minilm", "bm25"):
        e = out["experts"][name]
        assert set(e["metrics"]) == {"ndcg@10", "recall@100", "mrr@10", "map@100"}
        assert len(e["per_query"]) == 50 and "ndcg@10" in next(iter(e["per_query"].values()))
        assert len(e["config"]["dataset_checksum"]) == 64 and e["config"]["versions"]["faiss-cpu"]
    assert out["experts"]["minilm"]["config"]["weight_hash"]
    assert 0.5 < first.experts["minilm"].metrics["ndcg@10"] <= 1.0
    json.dumps(out)
    second = evaluate(sample_dir, ["minilm", "bm25"], show_progress=False)
    assert second.stats["texts_encoded"] == 0 and second.stats["cache_hits"] == 550
    assert second.experts["minilm"].metrics == first.experts["minilm"].metrics
    assert second.experts["bm25"].metrics == first.experts["bm25"].metrics


def test_bad_split_names_the_available_ones(sample_dir):
    with pytest.raises(InputError, match="no qrels for split 'dev'.*available: test"):
        load_beir(sample_dir, "dev")


@pytest.mark.slow
def test_bm25_on_real_scifact_matches_published_range():
    res = evaluate(shared("scifact"), ["bm25"], show_progress=False)
    assert res.stats["documents"] == 5183 and res.stats["queries"] == 300
    assert res.experts["bm25"].metrics["ndcg@10"] >= 0.66


SRE_Q = {"source": "sre-minilm", "name": "sre-q", "options": {"documents_from": "minilm"}}


def test_with_bases_appends_missing_bases_once():
    assert with_bases([SRE_Q]) == [SRE_Q, "minilm"]
    assert with_bases(["minilm", SRE_Q]) == ["minilm", SRE_Q]
    assert with_bases(["bm25"]) == ["bm25"]


def test_a_query_side_expert_is_evaluated_without_listing_its_base(tmp_path, sample_dir):
    ds = load_beir(sample_dir)
    col, names = corpus_collection(tmp_path / "c", [SRE_Q], ds, show_progress=False)
    assert names == ["sre-q"] and set(col.experts) == {"sre-q", "minilm"}
    run = run_for(col, ds, "sre-q", k=10)
    assert set(run) == set(ds.queries) and all(len(hits) == 10 for hits in run.values())
    col.close()
