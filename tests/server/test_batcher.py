"""Micro-batching: concurrent searches share one batch call and get the answers they would alone."""

from __future__ import annotations

import json
import threading
import time

import pytest

from embedroute.errors import InputError, UnknownNameError
from embedroute.server.batcher import SearchBatcher
from embedroute.server.pool import Pool

NAME = "scifact-sample"


@pytest.fixture(scope="module")
def pool(tmp_path_factory):
    from embedroute.demo import sample_path
    from embedroute.server.sample import ensure_sample

    root = tmp_path_factory.mktemp("batch")
    ensure_sample(root, sample_path(), show_progress=False)
    p = Pool(root)
    yield p
    p.close()


@pytest.fixture(scope="module")
def queries():
    from embedroute.demo import sample_path

    return [json.loads(line)["text"] for line in open(sample_path() / "queries.jsonl")][:8]


def _concurrently(batcher: SearchBatcher, pool: Pool, calls: list[dict]) -> list:
    """Start every call while the collection is held, so that all of them are waiting when it frees."""
    out: list = [None] * len(calls)

    def one(i: int) -> None:
        try:
            out[i] = batcher.search(NAME, **calls[i])
        except Exception as exc:  # noqa: BLE001 - the test inspects it
            out[i] = exc

    with pool.use(NAME):
        threads = [threading.Thread(target=one, args=(i,)) for i in range(len(calls))]
        for t in threads:
            t.start()
        deadline = time.time() + 30
        while sum(len(v) for v in batcher._pending.values()) < len(calls) and time.time() < deadline:
            time.sleep(0.01)
    for t in threads:
        t.join(60)
    return out


def _ids(res) -> list[str]:
    return [h.id for h in res.hits]


@pytest.mark.parametrize("mode", [{"expert": "minilm"}, {"expert": "bm25"}, {"router": "pilot"}])
def test_waiting_searches_form_one_batch_with_the_answers_of_single_searches(pool, queries, mode):
    batcher = SearchBatcher(pool)
    got = _concurrently(batcher, pool, [{"query": q, "k": 5, **mode} for q in queries])
    with pool.use(NAME) as col:
        for q, (res, index) in zip(queries, got):
            alone = (
                col.routed_search(q, 5, router=mode["router"])
                if "router" in mode
                else col.search(q, 5, expert=mode["expert"])
            )
            assert res.query == q and _ids(res) == _ids(alone)
            assert [h.score for h in res.hits] == pytest.approx([h.score for h in alone.hits], abs=1e-5)
            assert res.timings["batched_queries"] == len(queries)  # all of them answered by one call
            if "router" in mode:
                assert res.routing.experts == alone.routing.experts
            else:
                assert index == col.expert(mode["expert"]).index_config()
    assert batcher._pending == {} and batcher._leading == set()


def test_a_full_batch_hands_the_lead_on_until_every_query_is_answered(pool, queries):
    batcher = SearchBatcher(pool, max_batch=3)
    got = _concurrently(batcher, pool, [{"query": q, "k": 5, "expert": "minilm"} for q in queries])
    sizes = sorted(r.timings["batched_queries"] for r, _ in got)
    assert [r.query for r, _ in got] == queries
    assert sizes == [2, 2, 3, 3, 3, 3, 3, 3]  # 8 queries: batches of 3, 3 and 2
    assert batcher._pending == {} and batcher._leading == set()


def test_different_settings_are_not_mixed_and_a_lone_search_is_not_delayed(pool, queries):
    batcher = SearchBatcher(pool)
    calls = [
        {"query": queries[0], "k": 3, "expert": "minilm"},
        {"query": queries[1], "k": 4, "expert": "minilm"},
        {"query": queries[2], "k": 3, "expert": "bm25"},
    ]
    got = _concurrently(batcher, pool, calls)
    assert [len(r.hits) for r, _ in got] == [3, 4, 3]
    assert [r.expert for r, _ in got] == ["minilm", "minilm", "bm25"]
    assert all(r.timings["batched_queries"] == 1 for r, _ in got)
    res, _ = batcher.search(NAME, queries[3], 2, expert="minilm")
    assert len(res.hits) == 2 and res.timings["batched_queries"] == 1


def test_a_bad_query_fails_alone(pool, queries):
    batcher = SearchBatcher(pool)
    calls = [{"query": q, "k": 3, "expert": "minilm"} for q in [queries[0], "   ", queries[1]]]
    got = _concurrently(batcher, pool, calls)
    assert isinstance(got[1], InputError) and "empty query" in str(got[1])
    for (res, _), q in zip([got[0], got[2]], [queries[0], queries[1]]):
        assert res.query == q and len(res.hits) == 3


def test_unknown_collection_leaves_nothing_pending(pool):
    batcher = SearchBatcher(pool)
    with pytest.raises(UnknownNameError):
        batcher.search("no-such-collection", "vitamin D", 3)
    assert batcher._pending == {} and batcher._leading == set()
