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
