"""The store keeps each vector in its row's page, not in overflow pages (#21 item 2)."""

from __future__ import annotations

import numpy as np

from embedroute import Collection


def test_stored_vectors_take_little_more_than_their_bytes(tmp_path):
    n, dim = 3000, 384
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((n, dim)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    col = Collection.create(tmp_path / "c", experts=["minilm"])
    docs = [{"id": f"d{i}", "text": f"document {i}", "vectors": {"minilm": vecs[i]}} for i in range(n)]
    col.add(docs, batch_size=1000)
    np.testing.assert_allclose(col.expert("minilm")._index.vectors_of(np.arange(1, n + 1))[:3], vecs[:3], rtol=1e-6)
    col.close()
    store = tmp_path / "c" / "documents.sqlite"
    assert (
        not (tmp_path / "c" / "documents.sqlite-wal").exists()
        or (tmp_path / "c" / "documents.sqlite-wal").stat().st_size == 0
    )
    raw = n * dim * 4
    # a WITHOUT ROWID table on 4 KiB pages took about 3x; rows in 8 KiB pages take about 1.1x, plus the texts
    assert store.stat().st_size <= 1.25 * raw, store.stat().st_size / raw
    again = Collection.open(tmp_path / "c")
    assert again.search("document 7", k=1).hits  # the store reads back
    rids, blobs = again._store.blobs("minilm")
    np.testing.assert_allclose(np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(n, dim), vecs, atol=1e-6)
    again.close()
