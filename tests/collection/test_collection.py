from __future__ import annotations

import json
import sqlite3

import numpy as np
import pytest

from embedroute import Collection, CollectionError, InputError
from embedroute.errors import UnknownNameError

from .helpers import snapshot

DOCS = [
    {"id": "d1", "title": "Cats", "text": "Cats purr when they are content.", "attributes": {"year": 2020}},
    {"id": "d2", "title": "Dogs", "text": "Dogs bark at strangers near the house.", "attributes": {"year": 2021}},
    {
        "id": "d3",
        "text": "Stock markets fell sharply after the interest rate decision.",
        "attributes": {"tags": ["finance", "news"]},
    },
]


@pytest.fixture
def col(tmp_path):
    c = Collection.create(tmp_path / "c", experts=["minilm", "bm25"], attributes={"year": "int"})
    c.add(DOCS)
    yield c
    c.close()


def test_add_search_with_each_expert(col):
    res = col.search("why do dogs bark", k=2)
    assert res.expert == "minilm" and res.hits[0].id == "d2"
    assert res.hits[0].title == "Dogs" and res.hits[0].attributes == {"year": 2021}
    assert set(res.timings) >= {"encode_ms", "search_ms", "total_ms"}
    assert col.search("stock markets", k=1, expert="bm25").hits[0].id == "d3"
    assert col.attributes == {"year": "int", "tags": "list[str]"}


def test_reopen_restores_everything(col, tmp_path):
    before = [h.id for h in col.search("pets", k=3).hits]
    col.close()
    again = Collection.open(tmp_path / "c")
    assert len(again) == 3 and again.experts == ["minilm", "bm25"]
    assert [h.id for h in again.search("pets", k=3).hits] == before
    manifest = json.loads((tmp_path / "c" / "manifest.json").read_text())
    enc = manifest["experts"][0]["config"]["encoder"]
    assert enc["model"] == "sentence-transformers/all-MiniLM-L6-v2" and enc["dim"] == 384
    assert len(enc["weight_hash"]) == 64 and "versions" in manifest
    assert again.check().ok


def test_upsert_replaces_and_delete_removes(col):
    rep = col.upsert(
        [
            {"id": "d1", "text": "Quarterly earnings beat expectations."},
            {"id": "d4", "text": "Parrots can imitate human speech."},
        ]
    )
    assert (rep.added, rep.updated) == (1, 1) and len(col) == 4
    assert col.search("company earnings", k=1).hits[0].id == "d1"
    assert col.search("company earnings", k=1, expert="bm25").hits[0].id == "d1"
    col.delete(["d1", "d2"])
    assert len(col) == 2
    for expert in ("minilm", "bm25"):
        assert not {"d1", "d2"} & set(col.search("dogs earnings", k=5, expert=expert).ids)
    assert col.check().ok


def test_precomputed_vectors_are_used(col):
    vec = np.zeros(384, dtype=np.float32)
    vec[0] = 1.0
    col.add([{"id": "v", "text": "a document with its own vector", "vectors": {"minilm": vec.tolist()}}])
    rids, blobs = col._store.blobs("minilm")
    stored = col.expert("minilm").from_blobs(blobs)
    rid = col._store.existing_ids(["v"])["v"]
    np.testing.assert_array_equal(stored[list(rids).index(rid)], vec)
    assert col.check().ok


def test_writes_from_another_process_are_seen(col, tmp_path):
    other = Collection.open(tmp_path / "c")
    col.search("x", k=1)
    other.add([{"id": "late", "text": "Volcanic eruptions emit sulfur dioxide."}])
    assert col.search("volcano gases", k=1).hits[0].id == "late"
    assert col.search("volcanic eruptions", k=1, expert="bm25").hits[0].id == "late"
    other.close()


def test_add_and_remove_expert_leaves_others_unchanged(col):
    queries = ["dogs barking", "finance news", "happy cats"]
    before = {e: [col.search(q, k=3, expert=e).ids for q in queries] for e in col.experts}
    col.add_expert("static64")
    assert col.experts == ["minilm", "bm25", "static64"]
    assert col.search("dogs barking", k=1, expert="static64").hits
    assert col.check().ok
    col.remove_expert("static64")
    after = {e: [col.search(q, k=3, expert=e).ids for q in queries] for e in col.experts}
    assert before == after and col.check().ok


def test_check_finds_tampering(col, tmp_path):
    conn = sqlite3.connect(tmp_path / "c" / "documents.sqlite")
    conn.execute("UPDATE vectors SET vec = zeroblob(1536) WHERE rid = 1")
    conn.execute("UPDATE docs SET text = 'changed' WHERE id = 'd2'")
    conn.commit()
    conn.close()
    rep = col.check()
    assert not rep.ok
    assert any("CRC" in p for p in rep.problems) and any("'d2': checksum" in p for p in rep.problems)


# -- bad input: clear error, collection exactly as it was ---------------------------------------


def _write(path, lines: list[bytes]):
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


GOOD = b'{"id": "n1", "text": "new text"}'
BAD_FILES = {
    "malformed": ([GOOD, b'{"id": "n2", "text": '], 2, None, "malformed JSON"),
    "missing_id": ([GOOD, b'{"text": "no id"}'], 2, "id", "missing document id"),
    "duplicate_in_file": ([GOOD, GOOD], 2, "id", "duplicate id"),
    "existing_id": ([GOOD, b"", b'{"id": "d1", "text": "again"}'], 3, "id", "already exists"),  # the file's line
    "empty_text": ([GOOD, b'{"id": "n2", "text": ""}'], 2, "text", "empty text"),
    "invalid_utf8": ([GOOD, b'{"id": "n2", "text": "caf\xe9"}'], 2, None, "invalid UTF-8"),
    "wrong_dim": (
        [b'{"id": "n2", "text": "t", "vectors": {"minilm": [0.1, 0.2]}}'],
        1,
        "vectors.minilm",
        "expected 384",
    ),
    "unknown_attr_type": (
        [GOOD, b'{"id": "n2", "text": "t", "attributes": {"a": null}}'],
        2,
        "attributes.a",
        "unknown attribute type",
    ),
    "wrong_attr_type": (
        [b'{"id": "n2", "text": "t", "attributes": {"year": "old"}}'],
        1,
        "attributes.year",
        "expected int",
    ),
}


@pytest.mark.parametrize("case", sorted(BAD_FILES))
def test_bad_file_names_file_line_field_and_changes_nothing(col, tmp_path, case):
    lines, line, field, message = BAD_FILES[case]
    f = _write(tmp_path / f"{case}.jsonl", lines)
    before = snapshot(tmp_path / "c")
    with pytest.raises(InputError) as info:
        col.add_file(f)
    err = info.value
    assert err.source == str(f) and err.line == line and err.field == field and message in str(err)
    assert str(f) in str(err)
    assert snapshot(tmp_path / "c") == before
    assert len(col) == 3 and col.check().ok


def test_unknown_expert_errors(col, tmp_path):
    with pytest.raises(UnknownNameError, match="no expert 'nope'"):
        col.search("x", expert="nope")
    with pytest.raises(UnknownNameError, match="unknown expert 'nope'"):
        Collection.create(tmp_path / "other", experts=["minilm", "nope"])
    assert not (tmp_path / "other" / "manifest.json").exists()


def test_unknown_declared_attribute_type(tmp_path):
    with pytest.raises(InputError, match="unknown attribute type 'blob'"):
        Collection.create(tmp_path / "x", experts=["bm25"], attributes={"a": "blob"})


def test_open_refuses_what_is_not_a_collection(tmp_path):
    with pytest.raises(CollectionError, match="not an embedroute collection"):
        Collection.open(tmp_path)
    Collection.create(tmp_path / "c2", experts=["bm25"]).close()
    with pytest.raises(CollectionError, match="already holds a collection"):
        Collection.create(tmp_path / "c2", experts=["bm25"])


def test_empty_query_and_bad_k(col):
    with pytest.raises(InputError, match="empty query"):
        col.search("  ")
    with pytest.raises(InputError, match="k must be at least 1"):
        col.search("x", k=0)
