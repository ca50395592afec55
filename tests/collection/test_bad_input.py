"""Bad input and a bad disk: every case is a named error (or a rebuild), and the stored documents are
exactly as they were. Fast experts only (bm25, static64); a few dozen sample documents."""

from __future__ import annotations

import json
import logging
import os

import numpy as np
import pytest

from embedroute import Collection, CollectionError, InputError, StorageError
from embedroute.evaluation import load_beir

from .helpers import fill_disk, read_only_view, small_disk, snapshot

QUERIES = ["vitamin D and bone fractures", "stem cell reprogramming", "antibiotic resistance genes"]


@pytest.fixture
def docs(sample_dir):
    return load_beir(sample_dir).corpus()[:40]


def stored(col: Collection, ids: list[str]) -> dict:
    """What the collection holds for ``ids``, comparable before and after."""
    return {i: (d.title, d.text, d.attributes) for i, d in col.get(ids).items()}


# -- malformed fields in a file ---------------------------------------------------------------------

BAD_LINES = {
    "vectors_not_object": (b'{"id": "n", "text": "t", "vectors": "bad"}', "vectors", "must be an object"),
    "vector_not_numbers": (
        b'{"id": "n", "text": "t", "vectors": {"static64": ["a"]}}',
        "vectors.static64",
        "list of numbers",
    ),
    "vector_zero": (
        b'{"id": "n", "text": "t", "vectors": {"static64": [' + b", ".join([b"0"] * 64) + b"]}}",
        "vectors.static64",
        "zero vector",
    ),
    "vector_nan": (
        b'{"id": "n", "text": "t", "vectors": {"static64": [NaN' + b", 1" * 63 + b"]}}",
        "vectors.static64",
        "NaN",
    ),
    "attributes_not_object": (b'{"id": "n", "text": "t", "attributes": ["x"]}', "attributes", "must be an object"),
    "title_not_string": (b'{"id": "n", "text": "t", "title": {"a": 1}}', "title", "must be a string"),
    "lone_surrogate": (b'{"id": "n", "text": "broken \\ud83d emoji"}', "text", "lone surrogate"),
}


def test_a_malformed_field_names_file_line_and_field_and_changes_nothing(tmp_path, docs):
    col = Collection.create(tmp_path / "c", experts=["static64", "bm25"])
    col.add(docs[:5])
    before = snapshot(tmp_path / "c")
    for case, (bad, field, message) in sorted(BAD_LINES.items()):
        f = tmp_path / f"{case}.jsonl"
        f.write_bytes(b'{"id": "ok", "text": "fine"}\n\n' + bad + b"\n")
        with pytest.raises(InputError) as info:
            col.add_file(f)
        err = info.value
        assert (err.source, err.line, err.field) == (str(f), 3, field) and message in str(err), case
        assert snapshot(tmp_path / "c") == before and len(col) == 5, case
    col.close()


def test_an_existing_id_is_reported_at_its_line_in_the_file(tmp_path, docs):
    col = Collection.create(tmp_path / "c", experts=["bm25"])
    col.add(docs[:3])
    f = tmp_path / "in.jsonl"
    f.write_text('{"id": "new", "text": "fresh"}\n\n\n' + json.dumps({"id": docs[1]["id"], "text": "again"}) + "\n")
    with pytest.raises(InputError, match="already exists") as info:
        col.add_file(f)
    assert (info.value.source, info.value.line, info.value.field) == (str(f), 4, "id")
    assert "line 4" in str(info.value) and len(col) == 3
    with pytest.raises(InputError, match="already exists") as info:  # from Python: the item's position
        col.add([{"id": "new", "text": "fresh"}, {"id": docs[0]["id"], "text": "again"}])
    assert (info.value.source, info.value.line) == ("<input>", 2)
    col.close()


# -- supplied vectors are normalised like encoder output ------------------------------------------------


def test_supplied_vectors_are_stored_unit_length_and_rank_by_direction(tmp_path, docs):
    col = Collection.create(
        tmp_path / "c", experts=["static64", {"source": "static64", "name": "raw", "options": {"normalize": False}}]
    )
    col.add(docs[:10])
    enc = col.expert("static64").encoder
    query = QUERIES[0]
    direction = enc.encode_queries([query])[0]
    # the query's own direction, but 50 times longer: unnormalised it would dwarf every other score
    col.add(
        [
            {
                "id": "long",
                "text": "a supplied vector",
                "vectors": {"static64": (50 * direction).tolist(), "raw": (50 * direction).tolist()},
            }
        ]
    )
    rid = col._store.existing_ids(["long"])["long"]
    rids, blobs = col._store.blobs("static64")
    vec = col.expert("static64").from_blobs(blobs)[list(rids).index(rid)]
    assert abs(float(np.linalg.norm(vec)) - 1.0) < 1e-5
    np.testing.assert_allclose(vec, direction / np.linalg.norm(direction), atol=1e-6)
    hit = col.search(query, k=1, expert="static64").hits[0]
    assert hit.id == "long" and hit.score <= 1.0 + 1e-5  # a cosine, like every encoded document's score
    rids, blobs = col._store.blobs("raw")  # an expert whose encoder does not normalise keeps them as given
    raw = col.expert("raw").from_blobs(blobs)[list(rids).index(rid)]
    np.testing.assert_allclose(raw, 50 * direction, rtol=1e-6)
    assert col.check().ok
    col.close()


# -- a read-only collection folder ----------------------------------------------------------------------


def test_a_read_only_collection_folder_is_a_clear_error_and_changes_nothing(tmp_path, docs):
    path = tmp_path / "c"
    col = Collection.create(path, experts=["bm25"])
    col.add(docs[:20])
    ids = [d["id"] for d in docs[:20]]
    before, digest = stored(col, ids), snapshot(path)
    col.close()
    if os.geteuid() != 0:  # chmod binds everyone but root
        view = path
        for p in [path, *path.iterdir()]:
            p.chmod(0o555 if p.is_dir() else 0o444)
        undo = lambda: [p.chmod(0o755 if p.is_dir() else 0o644) for p in [path, *path.iterdir()]]  # noqa: E731
    else:  # root ignores modes: a read-only bind mount of the folder
        view = tmp_path / "ro"
        undo = read_only_view(path, view)
    try:
        with pytest.raises(StorageError) as info:
            Collection.open(view)
        msg = str(info.value)
        assert "documents.sqlite" in msg and "read-only" in msg and str(tmp_path) not in msg
    finally:
        undo()
    again = Collection.open(path)
    assert stored(again, ids) == before and again.check().ok
    again.close()
    assert snapshot(path) == digest


def test_creating_a_collection_under_a_read_only_folder_is_a_storage_error(tmp_path):
    parent = tmp_path / "parent"
    parent.mkdir()
    if os.geteuid() != 0:
        parent.chmod(0o555)
        view, undo = parent, lambda: parent.chmod(0o755)
    else:
        view = tmp_path / "ro"
        undo = read_only_view(parent, view)
    try:
        with pytest.raises(StorageError) as info:
            Collection.create(view / "c", experts=["bm25"])
        assert "'c'" in str(info.value) and str(tmp_path) not in str(info.value)
    finally:
        undo()
    assert list(parent.iterdir()) == []


# -- a full disk ---------------------------------------------------------------------------------------------


def test_a_full_disk_fails_the_write_cleanly_and_the_collection_recovers(tmp_path, docs, caplog):
    disk = tmp_path / "disk"
    unmount = small_disk(disk, "2m")
    try:
        path = disk / "c"
        col = Collection.create(
            path, experts=[{"source": "static64", "name": "ann", "options": {"index": "hnsw"}}, "bm25"]
        )
        col.add(docs[:20])  # the indexes are built and saved at the write
        ids = [d["id"] for d in docs]
        before = stored(col, ids)
        fill_disk(disk)
        results = [col.search(q, k=5, expert="ann").ids for q in QUERIES]
        big = [{"id": f"big{i}", "text": f"document {i} " + "word " * 20000} for i in range(10)]
        with pytest.raises(StorageError, match="disk is full") as info:
            col.add(big)
        assert "nothing from this write was kept" in str(info.value) and str(disk) not in str(info.value)
        assert stored(col, ids) == before and len(col) == 20
        assert [col.search(q, k=5, expert="ann").ids for q in QUERIES] == results  # reads still work
        col.close()  # nothing new to save: closing a full disk's collection is no error
        (disk / "filler").unlink()
        col = Collection.open(path)  # space again: the index is rebuilt, the write goes through
        assert stored(col, ids) == before and col.check().ok
        assert [col.search(q, k=5, expert="ann").ids for q in QUERIES] == results
        assert col.add(big[:2]).added == 2 and len(col) == 22
        col.close()
    finally:
        unmount()


def test_indexes_that_cannot_be_saved_at_the_write_only_warn(tmp_path, docs, caplog):
    path = tmp_path / "c"
    col = Collection.create(path, experts=[{"source": "static64", "name": "ann", "options": {"index": "hnsw"}}, "bm25"])
    (path / "indexes").write_text("not a folder")  # a place that cannot take the saved indexes
    with caplog.at_level(logging.WARNING, logger="embedroute.experts"):
        assert col.add(docs[:20]).added == 20  # committed: the failed saves do not fail the write
    messages = [r.getMessage() for r in caplog.records]
    assert any("could not save the index of expert 'ann'" in m for m in messages), messages
    assert any("could not save bm25.bm25" in m for m in messages), messages
    results = [col.search(q, k=5, expert=e).ids for q in QUERIES for e in ("ann", "bm25")]
    assert all(results[::2]) and col.check().ok
    col.close()  # still cannot be saved: a warning, never an error
    (path / "indexes").unlink()
    col = Collection.open(path)  # rebuilt from the store
    assert [col.search(q, k=5, expert=e).ids for q in QUERIES for e in ("ann", "bm25")] == results
    col.close()
    assert sorted(p.name for p in (path / "indexes").iterdir() if p.suffix == ".json") == ["ann.json", "bm25.bm25.json"]


# -- a damaged manifest ------------------------------------------------------------------------------------

DAMAGE = {
    "truncated": lambda b: b[: len(b) // 2],
    "empty": lambda b: b"",
    "not_utf8": lambda b: b"\xff\xfe" + b[2:],
    "not_an_object": lambda b: b"[1, 2, 3]",
    "no_format": lambda b: b"{}",
}


@pytest.mark.parametrize("case", sorted(DAMAGE))
def test_a_damaged_manifest_is_rebuilt_from_the_store(tmp_path, docs, case):
    path = tmp_path / "c"
    col = Collection.create(path, experts=["bm25"], attributes={"year": "int"})
    col.add(docs[:10])
    ids = [d["id"] for d in docs[:10]]
    before = stored(col, ids)
    good = json.loads((path / "manifest.json").read_text())
    (path / "manifest.json").write_bytes(DAMAGE[case]((path / "manifest.json").read_bytes()))
    report = col.check()
    assert not report.ok and any("manifest unreadable" in p and "damaged" in p for p in report.problems)
    col.close()
    with pytest.warns(UserWarning, match="manifest.json is damaged.*rebuilding it from documents.sqlite"):
        col = Collection.open(path)
    assert json.loads((path / "manifest.json").read_text()) == good
    assert stored(col, ids) == before and col.check().ok
    col.close()


def test_a_manifest_of_another_format_is_refused(tmp_path, docs):
    path = tmp_path / "c"
    Collection.create(path, experts=["bm25"]).close()
    manifest = json.loads((path / "manifest.json").read_text()) | {"format": "embedroute.collection/99"}
    (path / "manifest.json").write_text(json.dumps(manifest))
    digest = snapshot(path)
    with pytest.raises(CollectionError, match="unsupported collection format 'embedroute.collection/99'"):
        Collection.open(path)
    assert snapshot(path) == digest  # not overwritten with this version's format


# -- a damaged saved index ---------------------------------------------------------------------------------


def _rewrite(name: str, change):
    def damage(folder) -> None:
        (folder / name).write_bytes(change((folder / name).read_bytes()))

    return damage


def _flip_graph_bytes(folder) -> None:
    """Same length, but bytes inside the saved graph (its neighbour lists) changed: only the checksum
    tells. The file holds no vectors (they are the store's), so the graph is what a bit flip can hit."""
    blob = bytearray((folder / "ann.faiss").read_bytes())
    at = len(blob) // 3
    blob[at : at + 64] = bytes(x ^ 0xFF for x in blob[at : at + 64])
    (folder / "ann.faiss").write_bytes(bytes(blob))


INDEX_DAMAGE = {
    "faiss_truncated": _rewrite("ann.faiss", lambda b: b[: len(b) // 2]),
    "faiss_graph_changed": _flip_graph_bytes,
    "meta_not_json": _rewrite("ann.json", lambda b: b[:-5]),
    "node_map_changed": _rewrite("ann.faiss", lambda b: b[:-60] + bytes(x ^ 0xFF for x in b[-60:-50]) + b[-50:]),
}


def test_a_damaged_index_file_is_rebuilt_from_the_store(tmp_path, docs, caplog):
    path = tmp_path / "c"
    col = Collection.create(path, experts=[{"source": "static64", "name": "ann", "options": {"index": "hnsw"}}])
    col.add(docs)
    ids = [d["id"] for d in docs]
    before = stored(col, ids)
    results = [col.search(q, k=10).ids for q in QUERIES]
    col.close()
    saved = sorted(p.name for p in (path / "indexes").iterdir())
    assert saved == ["ann.faiss", "ann.json"], saved  # the graph only: its vectors are the store's
    for case in INDEX_DAMAGE:  # each in turn, on the copy saved again after the last
        INDEX_DAMAGE[case](path / "indexes")
        caplog.clear()
        with caplog.at_level(logging.WARNING, logger="embedroute.experts"):
            col = Collection.open(path)
            assert [col.search(q, k=10).ids for q in QUERIES] == results, case
        assert any("rebuilding" in r.getMessage() for r in caplog.records), f"{case}: the damage is reported"
        assert stored(col, ids) == before and col.check().ok, case
        col.close()  # saved again, whole
    caplog.clear()
    with caplog.at_level(logging.WARNING, logger="embedroute.experts"):  # sound again: used as saved
        col = Collection.open(path)
        assert [col.search(q, k=10).ids for q in QUERIES] == results
        assert col.expert("ann")._unsaved is False
    assert not [r for r in caplog.records if r.name.startswith("embedroute")]
    col.close()
