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


def test_splade_matrix_is_saved_reopened_without_the_store_and_updated_in_place(tmp_path, sample_dir):
    import json

    path = tmp_path / "c"
    col = Collection.create(path, experts=["splade-tiny"])
    col.add_file(sample_dir)
    queries = ["vitamin D and bone fractures", "stem cell reprogramming", "antibiotic resistance genes"]
    before = [col.search(q, k=10) for q in queries]
    col.close()
    meta = path / "indexes" / "splade-tiny.csr.json"
    assert json.loads(meta.read_text())["count"] == 500
    stamp = meta.stat().st_mtime_ns

    col = Collection.open(path)
    ex = col.expert("splade-tiny")
    col._loader.ensure(ex)
    assert ex._reps is None  # opened from the saved matrix: no stored vector read or unpacked
    for q, b in zip(queries, before):
        r = col.search(q, k=10)
        assert r.ids == b.ids and np.allclose([h.score for h in r.hits], [h.score for h in b.hits])
    col.add([{"id": "new", "text": "Vitamin D receptor signalling in bone fracture healing."}])
    assert "new" in col.search("vitamin D receptor bone fracture", k=3).ids  # updated in place
    gone = before[1].ids[0]
    col.delete([gone])
    assert gone not in col.search(queries[1], k=10).ids
    assert col.check().ok
    col.close()
    assert meta.stat().st_mtime_ns != stamp and json.loads(meta.read_text())["count"] == 500

    (path / "indexes" / "splade-tiny.csr" / "data.npy").write_bytes(b"damaged")
    with Collection.open(path) as col:  # a damaged copy is rebuilt from the store, never trusted
        assert "new" in col.search("vitamin D receptor bone fracture", k=3).ids
        got = [i for i in col.search(queries[0], k=10).ids if i != "new"]
        assert got[:8] == [i for i in before[0].ids if i != gone][:8]
