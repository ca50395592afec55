"""BM25's built index is saved with the collection and opened, not rebuilt, on the next open; writes build
it at the write, never at the first query (#21 item 3)."""

from __future__ import annotations

import logging
import re
import threading

import pytest

from embedroute import Collection
from embedroute.evaluation.beir import load_beir
from embedroute.experts.bm25 import BM25Expert

QUERIES = ["vitamin D and bone fractures", "cancer cells", "sleep and memory", "zzzz qqqq"]


@pytest.fixture(scope="module")
def docs(sample_dir_module):
    return load_beir(sample_dir_module).corpus()[:80]


@pytest.fixture(scope="module")
def sample_dir_module():
    from embedroute.demo import sample_path

    return sample_path()


@pytest.fixture
def builds(monkeypatch):
    """Counts BM25 index builds, in the background or not (the real build still runs)."""
    count = {"n": 0}
    real = BM25Expert._index

    def counted(self, texts):
        count["n"] += 1
        return real(self, texts)

    monkeypatch.setattr(BM25Expert, "_index", counted)
    return count


def _hits(col):
    return [[(h.id, round(h.score, 4)) for h in col.search(q, k=5).hits] for q in QUERIES]


def test_reopened_bm25_answers_from_its_saved_index(tmp_path, docs, builds):
    path = tmp_path / "c"
    col = Collection.create(path, experts=["bm25"])
    col.add(docs[:60])
    col.expert("bm25")._settle()
    assert builds["n"] == 1  # built after the write, in the background
    before = _hits(col)
    assert builds["n"] == 1  # not again at the first query
    stats = col.expert("bm25").term_statistics(QUERIES)
    col.close()
    assert sorted(p.name for p in (path / "indexes").iterdir()) == ["bm25.bm25", "bm25.bm25.json"]
    col = Collection.open(path)
    assert _hits(col) == before and before[-1] == [] and before[0]
    assert builds["n"] == 1  # opened from disk, not tokenised again
    again = col.expert("bm25").term_statistics(QUERIES)
    assert [(t.words, t.document_frequencies.tolist(), t.documents) for t in again] == [
        (t.words, t.document_frequencies.tolist(), t.documents) for t in stats
    ]
    with_bone = sum(1 for d in docs[:60] if re.search(r"\bbones?\b", f"{d['title']} {d['text']}".lower()))
    assert stats[0].documents == 60 and stats[0].document_frequencies.tolist() == [with_bone]  # only 'bone' is known
    # a write to an index opened without its texts rebuilds it from the store, at the write
    col.add(docs[60:])
    col.expert("bm25")._settle()
    assert builds["n"] == 2
    grown = _hits(col)
    assert builds["n"] == 2
    fresh = Collection.create(tmp_path / "fresh", experts=["bm25"])
    fresh.add(docs)
    assert _hits(fresh) == grown  # the same index as one built from all the documents at once
    col.delete([docs[0]["id"]])
    assert docs[0]["id"] not in {h.id for q in QUERIES for h in col.search(q, k=80).hits}
    col.close()
    fresh.close()
    col = Collection.open(path)
    n = builds["n"]
    assert len(col.search("cancer", k=100).hits) and builds["n"] == n  # the state after the delete was saved
    col.close()


def test_a_stale_or_damaged_saved_bm25_is_rebuilt(tmp_path, docs, builds, caplog):
    path = tmp_path / "c"
    col = Collection.create(path, experts=["bm25"])
    col.add(docs)
    before = _hits(col)
    col.close()
    data = path / "indexes" / "bm25.bm25" / "data.csc.index.npy"
    blob = bytearray(data.read_bytes())
    blob[-4:] = bytes(b ^ 0xFF for b in blob[-4:])
    data.write_bytes(bytes(blob))
    n = builds["n"]
    with caplog.at_level(logging.WARNING, logger="embedroute.experts"):
        col = Collection.open(path)
        assert _hits(col) == before
    assert builds["n"] == n + 1 and any("checksum" in r.getMessage() for r in caplog.records)
    col.close()
    # another process's write makes the saved copy stale (generation): rebuilt, never used
    other = Collection.open(path)
    other.add([{"id": "new", "text": "a study of vitamin D and bone fractures in mice"}])
    other.close()
    col = Collection.open(path)
    assert col.search("vitamin D and bone fractures", k=1).hits[0].id == "new"
    col.close()


def test_a_write_during_a_background_build_is_not_lost(tmp_path, docs, monkeypatch):
    col = Collection.create(tmp_path / "c", experts=["bm25"])
    col.add(docs[:40])  # the first write loads the expert from the store and builds it in the foreground
    expert = col.expert("bm25")
    expert._settle()
    started, gate, calls = threading.Event(), threading.Event(), []
    real = BM25Expert._index

    def held(self, texts):
        calls.append(len(texts))
        if len(calls) == 1:
            started.set()
            assert gate.wait(60)
        return real(self, texts)

    monkeypatch.setattr(BM25Expert, "_index", held)
    col.add(docs[40:50])  # returns while its build runs behind it
    assert started.wait(60) and expert._job is not None
    col.add(docs[50:60])  # comes in while the first build is still running
    gate.set()
    got = _hits(col)  # waits for the builds: the second write is in the index too
    assert calls == [50, 60], calls
    fresh = Collection.create(tmp_path / "fresh", experts=["bm25"])
    fresh.add(docs[:60])
    assert got == _hits(fresh) and expert._job is None
    col.close()
    fresh.close()
