from __future__ import annotations

import numpy as np

from embedroute import Collection
from embedroute.experts import make_expert


def test_splade_vectors_are_sparse_nonnegative_and_cached(fresh_cache):
    expert = make_expert("splade-tiny")
    reps = expert.embed_documents(["Dogs bark at strangers.", "The stock market fell sharply."])
    for ids, weights in reps:
        assert 0 < len(ids) < expert.dim / 10
        assert (weights > 0).all() and ids.max() < expert.dim
    again = expert.embed_documents(["Dogs bark at strangers."])
    np.testing.assert_array_equal(again[0][0], reps[0][0])
    assert fresh_cache.stats.hits == 1


def test_sparse_expert_in_a_collection(tmp_path):
    col = Collection.create(tmp_path / "c", experts=["splade-tiny"])
    col.add(
        [
            {"id": "a", "text": "Cats purr when they are content."},
            {"id": "b", "text": "Dogs bark at strangers near the house."},
            {"id": "c", "text": "Stock markets fell sharply after the rate decision."},
        ]
    )
    assert col.search("barking dogs", k=1).hits[0].id == "b"
    assert col.search("stock market", k=1).hits[0].id == "c"
    col.delete(["b"])
    assert "b" not in col.search("barking dogs", k=3).ids
    assert col.check().ok
    col.close()
    again = Collection.open(tmp_path / "c")
    assert again.search("stock market", k=1).hits[0].id == "c" and again.check().ok
