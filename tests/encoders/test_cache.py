from __future__ import annotations

import multiprocessing as mp

import numpy as np

from embedroute.encoders import TransformerEncoder
from embedroute.encoders.cache import EmbeddingCache

TEXTS = ["alpha beta", "gamma delta", "epsilon zeta", "alpha beta"]


def test_second_encode_is_served_from_cache(fresh_cache, minilm):
    first = minilm.encode(TEXTS)
    assert fresh_cache.stats.misses == 3 and fresh_cache.stats.hits == 0  # duplicate text encoded once
    second = minilm.encode(TEXTS)
    assert fresh_cache.stats.misses == 3 and fresh_cache.stats.hits == 4
    np.testing.assert_array_equal(first, second)


def test_settings_that_change_vectors_miss_the_cache(fresh_cache, minilm):
    minilm.encode(TEXTS)
    short = TransformerEncoder(minilm.path, truncate_dim=64)
    v = short.encode(TEXTS)
    assert v.shape == (4, 64)
    assert fresh_cache.stats.misses == 6
    minilm.encode_queries(TEXTS[:1])  # no prompts: same fingerprint for both roles' identity fields
    assert fresh_cache.count() >= 6


def _writer(path: str, seed: int, out: mp.Queue) -> None:
    cache = EmbeddingCache(path)
    rng = np.random.default_rng(seed)
    try:
        for i in range(20):
            keys = [f"{seed}-{i}-{j}".encode() for j in range(50)] + [b"shared-key"]
            cache.put_many("fp", keys, rng.standard_normal((51, 8)).astype(np.float32))
        out.put("ok")
    except Exception as exc:  # pragma: no cover - reported to the parent
        out.put(repr(exc))


def test_concurrent_processes_share_one_cache(tmp_path):
    path = str(tmp_path / "shared.sqlite")
    EmbeddingCache(path).close()
    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, s, q)) for s in range(3)]
    for p in procs:
        p.start()
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=60)
    assert results == ["ok"] * 3
    cache = EmbeddingCache(path)
    assert cache.count("fp") == 3 * 20 * 50 + 1
    got = cache.get_many("fp", [b"shared-key", b"0-0-0", b"missing"], 8)
    assert set(got) == {b"shared-key", b"0-0-0"}


class _CountingConn:
    """Wraps the cache's SQLite connection and counts the statements it runs."""

    def __init__(self, conn):
        self.conn, self.calls = conn, 0

    def execute(self, *args):
        self.calls += 1
        return self.conn.execute(*args)

    def executemany(self, *args):
        self.calls += 1
        return self.conn.executemany(*args)

    def close(self):
        self.conn.close()


def test_a_repeated_query_is_served_from_memory_and_bulk_lookups_from_disk(fresh_cache, minilm):
    first = minilm.encode_queries(["does vitamin d prevent fractures"])
    spy = fresh_cache._conn = _CountingConn(fresh_cache._conn)
    again = minilm.encode_queries(["does vitamin d prevent fractures"])
    np.testing.assert_array_equal(first, again)
    assert spy.calls == 0 and fresh_cache.stats.hits == 1  # no SQLite statement, still counted as a hit
    docs = [f"document number {i}" for i in range(40)]
    minilm.encode_documents(docs)
    spy.calls = 0
    minilm.encode_documents(docs)
    assert spy.calls == 1  # a bulk lookup reads the disk (and does not fill the in-memory front)
    assert len(fresh_cache._front) == 1
    # a fingerprint of another model never reads the remembered vector
    assert fresh_cache.get_blobs("other-model", [next(iter(fresh_cache._front))[1]]) == {}


def test_the_memory_front_stays_bounded(tmp_path, monkeypatch):
    import embedroute.encoders.cache as cache_mod

    monkeypatch.setattr(cache_mod, "_FRONT_KEYS", 5)
    cache = EmbeddingCache(tmp_path / "c.sqlite")
    for i in range(12):
        cache.put_many("fp", [f"k{i}".encode()], np.ones((1, 4), dtype=np.float32) * i)
    assert [k for _, k in cache._front] == [f"k{i}".encode() for i in range(7, 12)]  # the oldest went first
    got = cache.get_many("fp", [b"k0", b"k11"], 4)  # k0 is read back from disk
    assert got[b"k0"].tolist() == [0.0] * 4 and got[b"k11"].tolist() == [11.0] * 4
    cache.close()


def test_fingerprint_is_remembered_until_a_setting_changes(minilm, monkeypatch):
    import embedroute.encoders.base as base

    calls = []
    real = base.weight_hash
    monkeypatch.setattr(base, "weight_hash", lambda p: calls.append(p) or real(p))
    enc = TransformerEncoder(minilm.path)
    fp = enc.fingerprint("query")
    for _ in range(3):
        assert enc.fingerprint("query") == fp
    assert len(calls) == 1  # the weight folder was hashed once for this instance
    enc.truncate_dim = 64
    assert enc.fingerprint("query") != fp
    enc.prompts["query"] = "query: "  # changed in place
    assert enc.fingerprint("query") != fp
    enc.truncate_dim = None
    del enc.prompts["query"]
    assert enc.fingerprint("query") == fp and enc.fingerprint("document") != ""
