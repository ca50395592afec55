from __future__ import annotations

from embedroute.demo import run_demo


def test_demo_builds_evaluates_and_searches(capsys):
    run_demo(experts=["minilm", "bm25"], n_examples=2)
    out = capsys.readouterr().out
    assert "scifact-sample (test, 50 queries, 500 docs)" in out
    assert out.count("query ") >= 2 and "minilm" in out and "bm25" in out
    # routing: fitted on the sample's training half, evaluated on the other, every routed search explained
    assert "routers fitted on 25 training queries, evaluated on the other 25" in out
    table = out[out.index("routing: routers fitted") : out.index("\nquery ")]
    for row in ("auto ", "fusion ", "dataset-oracle ", "instance-oracle "):
        assert row in table
    assert out.count("router auto (rule ") == 2 and out.count("router fusion chose minilm+bm25") == 2


def test_demo_without_a_dense_expert_skips_routing_and_says_why(capsys):
    run_demo(experts=["bm25"], n_examples=1)
    out = capsys.readouterr().out
    assert "no dense expert to embed queries for routing: routing skipped" in out and "router " not in out
