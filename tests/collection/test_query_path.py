"""The public search path does no per-call metadata reads or weight hashing (#21 item 1)."""

from __future__ import annotations

import importlib.metadata

import numpy as np

from embedroute import Collection

DOCS = [
    {"id": "a", "text": "Vitamin D supplements lower the risk of fractures."},
    {"id": "b", "text": "Melting ice sheets raise the global sea level."},
    {"id": "c", "text": "Statins reduce cholesterol in adults."},
]


def test_a_cached_query_reads_no_package_metadata_and_hashes_no_weights(tmp_path, fresh_cache, monkeypatch):
    import embedroute.encoders.base as base
    import embedroute.encoders.hashing as hashing

    col = Collection.create(tmp_path / "c", experts=["minilm", "bm25"])
    col.add(DOCS)
    first = col.search("do vitamins prevent broken bones?", k=2)
    col.search("sea level", k=1, expert="bm25")  # each expert's first search may read what it needs once
    counts = {"metadata": 0, "walks": 0}
    real_version, real_hash = importlib.metadata.version, hashing.weight_hash

    def version(name):
        counts["metadata"] += 1
        return real_version(name)

    def weight_hash(path):
        counts["walks"] += 1
        return real_hash(path)

    monkeypatch.setattr(importlib.metadata, "version", version)
    monkeypatch.setattr(base, "weight_hash", weight_hash)
    for _ in range(5):
        again = col.search("do vitamins prevent broken bones?", k=2)
        assert [h.id for h in again.hits] == [h.id for h in first.hits] == ["a", "c"]
        np.testing.assert_allclose([h.score for h in again.hits], [h.score for h in first.hits], rtol=1e-6)
        assert col.search("sea level", k=1, expert="bm25").hits[0].id == "b"
    assert counts == {"metadata": 0, "walks": 0}
    # the saved config still names the versions and the weight hash
    cfg = col.expert("minilm").config()["encoder"]
    assert cfg["versions"]["numpy"] == real_version("numpy") and len(cfg["weight_hash"]) == 64
    col.close()
