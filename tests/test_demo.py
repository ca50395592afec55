from __future__ import annotations

from embedroute.demo import run_demo


def test_demo_builds_evaluates_and_searches(capsys):
    run_demo(experts=["minilm", "bm25"], n_examples=2)
    out = capsys.readouterr().out
    assert "scifact-sample (test, 50 queries, 500 docs)" in out
    assert out.count("query ") >= 2 and "minilm" in out and "bm25" in out
