"""Query-side experts: their own query encoder over another expert's document vectors."""

from __future__ import annotations

import pytest

from embedroute import Collection, InputError

DOCS = [
    {"id": "a", "text": "The database failover took twelve minutes during the outage."},
    {"id": "b", "text": "Vitamin D supplements lower the risk of fractures."},
    {"id": "c", "text": "Kubernetes pods were evicted because the node ran out of memory."},
]


def test_query_side_expert_searches_base_vectors(tmp_path):
    spec = {"source": "sre-minilm", "name": "sre-q", "options": {"documents_from": "minilm"}}
    col = Collection.create(tmp_path / "c", experts=["minilm", spec])
    col.add(DOCS)
    assert col.check().counts == {"documents": 3, "vectors.minilm": 3}  # no vectors of its own
    res = col.search("pods evicted out of memory", k=3, expert="sre-q")
    assert res.hits[0].id == "c" and res.expert == "sre-q"
    base = col.search("pods evicted out of memory", k=3, expert="minilm")
    assert [h.score for h in res.hits] != [h.score for h in base.hits]  # a different query encoder
    col.upsert([{"id": "d", "text": "The SSL certificate expired and clients failed to connect."}])
    assert col.search("expired certificate", k=1, expert="sre-q").hits[0].id == "d"
    with pytest.raises(InputError, match="searches 'minilm'"):
        col.remove_expert("minilm")
    col.close()
    again = Collection.open(tmp_path / "c")
    assert again.info()["experts"]["sre-q"]["documents_from"] == "minilm"
    assert again.search("expired certificate", k=1, expert="sre-q").hits[0].id == "d"
    again.remove_expert("sre-q")
    assert again.check().ok


def test_query_side_expert_needs_a_matching_base(tmp_path):
    with pytest.raises(InputError, match="not a dense expert"):
        Collection.create(
            tmp_path / "x", experts=["bm25", {"source": "minilm", "name": "q", "options": {"documents_from": "bm25"}}]
        )
    col = Collection.create(tmp_path / "y", experts=["minilm"])
    with pytest.raises(InputError, match="384-d document vectors"):
        col.add_expert({"source": "static64", "name": "q", "options": {"documents_from": "minilm"}})
