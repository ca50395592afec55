"""``recall_at`` (what ``embedroute check --recall`` reports) queries with perturbed copies of stored
vectors, so an index that misses true neighbours scores below 1 and exact search scores 1."""

from __future__ import annotations

import numpy as np
import pytest

from embedroute.index.base import perturbed
from embedroute.index.factory import make_index


@pytest.fixture(scope="module")
def vectors() -> np.ndarray:
    x = np.random.default_rng(0).standard_normal((400, 32)).astype(np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def built(spec: str, vectors: np.ndarray):
    index = make_index(spec, vectors.shape[1])
    index.add(np.arange(len(vectors), dtype=np.int64) * 3 + 5, vectors)  # ids other than row numbers
    return index


def test_exact_search_scores_one_and_a_starved_hnsw_graph_does_not(vectors):
    flat = built("flat", vectors)
    assert flat.recall_at(10) == 1.0 and flat.recall_at(1) == 1.0
    weak = built("hnsw-4-8-2", vectors)  # M 4, efConstruction 8, efSearch 2 (raised to k at search time)
    assert weak.recall_at(10) < 0.9


def test_queries_are_not_the_stored_vectors(vectors):
    # sign bits find a stored vector itself at rank 1 every time, so the self-query check called them perfect
    binary = built("binary", vectors)
    assert binary.recall_at(1, noise=0.0) == 1.0
    assert binary.recall_at(1) < 0.9
    q = perturbed(vectors[:50], 1.0, np.random.default_rng(1))
    np.testing.assert_allclose(np.linalg.norm(q, axis=1), 1.0, rtol=1e-5)
    cos = np.sum(q * vectors[:50], axis=1)
    assert cos.max() < 0.9 and abs(cos.mean() - 2**-0.5) < 0.05  # near the source, not on it
