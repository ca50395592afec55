"""A bounded load test on loopback: 50 concurrent clients, zero errors (figures: benchmarks/load.py)."""

from __future__ import annotations

import json

import httpx
import pytest

from embedroute.server.loadtest import run_load

pytestmark = pytest.mark.slow


def _searches(server) -> float:
    total = 0.0
    for line in httpx.get(server.url + "/metrics").text.splitlines():
        if line.startswith("embedroute_searches_total{"):
            total += float(line.split()[-1])
    return total


def test_fifty_clients_without_errors(server):
    from embedroute.demo import sample_path

    queries = [json.loads(line)["text"] for line in open(sample_path() / "queries.jsonl")][:40]
    before = _searches(server)
    res = run_load(
        server.url,
        "scifact-sample",
        queries,
        clients=50,
        seconds=8,
        modes=[{"expert": "bm25"}, {"expert": "minilm"}, {"router": "pilot"}],
    )
    assert res.errors == 0, res.error_samples
    assert res.requests >= 50  # every client got answers
    assert _searches(server) - before == res.requests  # every answered search was counted once


def test_load_generator_refuses_other_hosts():
    with pytest.raises(ValueError, match="loopback"):
        run_load("http://10.0.0.1:8000", "x", ["q"], seconds=1)
