"""Built ANN indexes are kept beside the collection, reused while current, rebuilt when stale."""

from __future__ import annotations

import json

from embedroute import Collection
from embedroute.cli.main import main

QUERIES = ["vitamin D and bone fractures", "stem cell reprogramming", "antibiotic resistance genes"]


def test_hnsw_index_round_trip(tmp_path, sample_dir):
    path = tmp_path / "c"
    spec = {"source": "minilm", "name": "ann", "options": {"index": "hnsw"}}
    col = Collection.create(path, experts=[spec])
    col.add_file(sample_dir)
    before = [col.search(q, k=10).ids for q in QUERIES]
    col.close()
    blob, meta = path / "indexes" / "ann.faiss", path / "indexes" / "ann.json"
    assert blob.exists() and json.loads(meta.read_text())["count"] == 500
    stamp = blob.stat().st_mtime_ns

    col = Collection.open(path)
    assert [col.search(q, k=10).ids for q in QUERIES] == before
    assert blob.stat().st_mtime_ns == stamp  # loaded, not rebuilt
    col.close()
    assert blob.stat().st_mtime_ns == stamp  # nothing changed: not written again
    col = Collection.open(path)
    col.add([{"id": "new", "text": "A new abstract on vitamin D receptor signalling in bone."}])
    assert "new" in col.search("vitamin D receptor in bone", k=5).ids  # updated in memory
    col.close()
    assert json.loads(meta.read_text())["count"] == 501  # saved again at the new generation

    blob.write_bytes(b"not a faiss index")  # a damaged copy is rebuilt, never trusted
    col = Collection.open(path)
    assert [h for h in col.search(QUERIES[0], k=10).ids if h != "new"][:9] == before[0][:9]
    report = col.check(recall=True)
    assert report.ok and report.counts["recall@10.ann"] >= 900
    col.close()


def test_check_recall_cli(tmp_path, sample_dir, capsys):
    path = str(tmp_path / "c")
    Collection.create(path, experts=[{"source": "minilm", "name": "m", "options": {"index": "int8"}}]).close()
    main(["add", path, str(sample_dir), "--quiet"])
    capsys.readouterr()
    assert main(["check", path, "--recall"]) == 0
    out = capsys.readouterr().out
    line = next(x for x in out.splitlines() if x.startswith("recall@10.m"))
    assert float(line.split(":")[1]) >= 0.9


def test_calibrate_stores_thresholds_used_after_reopening(tmp_path, sample_dir, capsys):
    path = tmp_path / "c"
    spec = {"source": "minilm", "name": "ann", "options": {"index": "hnsw"}}
    Collection.create(path, experts=[spec, "bm25"]).close()
    main(["add", str(path), str(sample_dir), "--quiet"])
    capsys.readouterr()
    assert main(["calibrate", str(path), "--queries", "20"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("ann: exact search up to") and "planner.json" in out
    saved = json.loads((path / "planner.json").read_text())
    assert set(saved) == {"ann"} and saved["ann"]["documents"] == 500 and saved["ann"]["index"]["kind"] == "hnsw"
    with Collection.open(path) as col:
        t = col.expert("ann").thresholds
        assert (t.exact_max_allowed, t.post_filter_min_selectivity) == (
            saved["ann"]["exact_max_allowed"],
            saved["ann"]["post_filter_min_selectivity"],
        )
    assert main(["calibrate", str(path), "--expert", "bm25"]) == 2  # not a dense expert: a clear error
    assert "dense" in capsys.readouterr().err


def test_rescoring_vectors_are_memory_mapped_after_reopening(tmp_path, sample_dir):
    import numpy as np

    path = tmp_path / "c"
    spec = {"source": "minilm", "name": "bin", "options": {"index": "binary", "rescore": 4}}
    col = Collection.create(path, experts=[spec])
    col.add_file(sample_dir)
    before = [col.search(q, k=10) for q in QUERIES]
    col.close()
    assert (path / "indexes" / "bin.vectors.npy").exists() and (path / "indexes" / "bin.ids.npy").exists()
    col = Collection.open(path)
    after = [col.search(q, k=10) for q in QUERIES]
    full = col.expert("bin")._index._full
    assert isinstance(full.base, np.memmap) and not full.flags.writeable  # read from disk on demand
    assert [r.ids for r in after] == [r.ids for r in before]
    assert np.allclose([h.score for r in after for h in r.hits], [h.score for r in before for h in r.hits])
    col.add([{"id": "new", "text": "A new abstract on vitamin D receptor signalling in bone."}])
    assert "new" in col.search("vitamin D receptor in bone", k=5).ids  # writes leave the mapping behind
    col.close()
    (path / "indexes" / "bin.vectors.npy").write_bytes(b"damaged")  # never trusted: rebuilt from the store
    with Collection.open(path) as col:
        assert [i for i in col.search(QUERIES[0], k=10).ids if i != "new"][:5] == before[0].ids[:5]
        assert col.check(recall=True).ok


def test_damaged_planner_file_does_not_block_the_collection(tmp_path, sample_dir):
    import pytest

    path = tmp_path / "c"
    Collection.create(path, experts=[{"source": "minilm", "name": "ann", "options": {"index": "hnsw"}}]).close()
    main(["add", str(path), str(sample_dir), "--quiet"])
    (path / "planner.json").write_text("{not json")
    with pytest.warns(UserWarning, match="default planner thresholds"):
        col = Collection.open(path)
    assert len(col) == 500 and col.search(QUERIES[0], k=3).hits  # documents intact and searchable
    col.calibrate(queries=10)  # and calibrate repairs the file
    col.close()
    assert json.loads((path / "planner.json").read_text())["ann"]["documents"] == 500


def test_calibrate_a_flat_expert(tmp_path, sample_dir):
    """Row ids start at 1 in a collection: calibration must time plans over the stored ids."""
    with Collection.create(tmp_path / "c", experts=["minilm"]) as col:
        col.add_file(sample_dir)
        saved = col.calibrate(queries=10)
    assert saved["minilm"]["index"]["kind"] == "flat" and saved["minilm"]["exact_max_allowed"] >= 10


def test_saved_hnsw_graph_holds_no_copy_of_the_stored_vectors(tmp_path, sample_dir):
    """#21: each vector is on disk once, in the store. The saved graph keeps only the vectors of its
    tombstoned nodes (documents the store no longer has); reopening fills the rest from the store and
    answers as the graph did before, including after deletes and upserts."""
    import numpy as np

    path = tmp_path / "c"
    spec = {"source": "minilm", "name": "ann", "options": {"index": "hnsw"}}
    col = Collection.create(path, experts=[spec])
    col.add_file(sample_dir)
    col.close()
    blob = path / "indexes" / "ann.faiss"
    vector_bytes = 500 * 384 * 4
    clean = blob.stat().st_size
    assert clean < 0.5 * vector_bytes  # the graph's links, not the 500 float32 vectors beside them

    col = Collection.open(path)
    ids = col.search(QUERIES[0], k=30).ids
    col.delete(ids[:10])  # tombstones: their vectors leave the store, not the graph
    col.upsert([{"id": ids[10], "text": "Antibiotic resistance genes spread between soil bacteria."}])
    before = [col.search(q, k=10) for q in QUERIES]
    kept = col.expert("ann")._index.vectors_of(np.sort(col.expert("ann")._index._ids))
    col.close()
    grown = blob.stat().st_size - clean - 11 * 384 * 4  # the 11 tombstoned nodes' vectors ...
    assert 0 <= grown < 384 * 4  # ... and the upserted node's links: not its vector, which is the store's
    stamp = blob.stat().st_mtime_ns

    col = Collection.open(path)
    after = [col.search(q, k=10) for q in QUERIES]
    index = col.expert("ann")._index
    assert index.tombstones == 11 and blob.stat().st_mtime_ns == stamp  # restored, not rebuilt
    assert [r.ids for r in after] == [r.ids for r in before]
    assert np.allclose([h.score for r in after for h in r.hits], [h.score for r in before for h in r.hits])
    assert np.array_equal(index.vectors_of(np.sort(index._ids)), kept)
    assert col.check(recall=True).ok
    col.close()


def test_hnsw_file_of_the_older_format_still_opens(tmp_path, sample_dir):
    """Collections saved before the graph dropped its storage (``EHNSW1``: FAISS's whole index inside)
    open without a rebuild and answer as before."""
    import struct

    import faiss
    import numpy as np

    path = tmp_path / "c"
    col = Collection.create(path, experts=[{"source": "minilm", "name": "ann", "options": {"index": "hnsw"}}])
    col.add_file(sample_dir)
    before = [col.search(q, k=10).ids for q in QUERIES]
    index = col.expert("ann")._index
    graph = faiss.serialize_index(index._index).tobytes()  # the older layout, written as that code wrote it
    old = (
        b"EHNSW1\0\0"
        + struct.pack("<QQ", len(graph), len(index._node_ids))
        + graph
        + index._node_ids.astype("<i8").tobytes()
        + index._alive.astype(np.uint8).tobytes()
    )
    col.close()
    import zlib

    meta_path = path / "indexes" / "ann.json"
    meta = json.loads(meta_path.read_text())
    (path / "indexes" / "ann.faiss").write_bytes(old)
    meta_path.write_text(json.dumps(meta | {"crc32": zlib.crc32(old)}))
    with Collection.open(path) as col:
        assert [col.search(q, k=10).ids for q in QUERIES] == before
    assert (path / "indexes" / "ann.faiss").read_bytes() == old  # opened as it is, not rebuilt


def test_an_expert_added_again_with_another_model_never_opens_the_old_ones_index(tmp_path, sample_dir):
    """Removing an expert and adding another model under its name leaves the store's generation as it was;
    the int8 index saved for the old model (codes and the memory-mapped vectors beside them) must not be
    opened for the new one."""
    import numpy as np

    path = tmp_path / "c"
    spec = {"source": "minilm", "name": "x", "options": {"index": "int8"}}
    col = Collection.create(path, experts=["bm25", spec])
    col.add_file(sample_dir)
    col.close()
    assert (path / "indexes" / "x.json").exists()
    col = Collection.open(path)
    col.remove_expert("x")
    col.add_expert({"source": "minilm-l3", "name": "x", "options": {"index": "int8"}})
    for c in (col, Collection.open(path)):  # in the handle that replaced it, and in a new one
        rids, blobs = c._store.blobs("x")
        stored = np.stack([np.frombuffer(b, dtype="<f4") for b in blobs])
        for q in QUERIES:
            top = rids[np.argsort(-(stored @ c.expert("x").encode_queries([q])[0]), kind="stable")[:10]]
            names = c._store.id_of(top.tolist())
            want = {names[int(r)] for r in top}
            assert len(want & set(c.search(q, k=10, expert="x").ids)) >= 8
        c.close()


def test_a_model_folder_whose_weights_changed_never_opens_the_index_of_the_old_weights(tmp_path, sample_dir):
    """Same spec (a local model folder), other weights between removing the expert and adding it again:
    the saved int8 index (codes and vectors of the old weights) is rebuilt from the store's new vectors."""
    import shutil

    import numpy as np
    from safetensors.numpy import load_file, save_file

    from embedroute.encoders.catalog import package_file

    model = tmp_path / "model"
    shutil.copytree(package_file("tokenlearn-static-model", "static_model/model"), model)
    spec = {"source": str(model), "name": "e", "options": {"index": "int8"}}
    path = tmp_path / "c"
    col = Collection.create(path, experts=[spec, "bm25"])
    col.add_file(sample_dir)
    col.close()
    col = Collection.open(path)
    col.remove_expert("e")
    tensors = load_file(model / "model.safetensors")
    first = next(iter(tensors))
    tensors[first] = np.random.default_rng(1).permutation(tensors[first])
    save_file(tensors, model / "model.safetensors")
    col.add_expert(spec)
    col.close()
    with Collection.open(path) as col:
        expert = col.expert("e")
        col._loader.ensure(expert)
        rids, blobs = col._store.blobs("e")
        stored = np.stack([np.frombuffer(b, dtype="<f4") for b in blobs])
        kept = expert._index.full_vectors()
        assert kept is not None
        order = np.argsort(kept[0])
        assert np.array_equal(kept[0][order], rids) and np.allclose(np.asarray(kept[1])[order], stored)


def test_a_short_or_empty_hnsw_file_is_damaged_not_a_crash(tmp_path, caplog):
    import logging

    import numpy as np
    import pytest

    from embedroute.index.factory import make_index

    index = make_index("hnsw", 8)
    for blob in (b"EHNSW2\0\0", b"EHNSW2\0\0" + b"\0" * 12, b"EHNSW1\0\0\1", b""):
        with pytest.raises(ValueError):
            index.restore(blob, np.zeros(0, dtype=np.int64), np.zeros((0, 8), dtype=np.float32))
    # a collection whose every document was deleted saves no graph, and reopens without a warning
    path = tmp_path / "c"
    col = Collection.create(path, experts=[{"source": "static64", "name": "ann", "options": {"index": "hnsw"}}])
    col.add([{"id": "a", "text": "cats purr"}, {"id": "b", "text": "dogs bark"}])
    col.close()
    col = Collection.open(path)
    col.delete(["a", "b"])
    col.close()
    with caplog.at_level(logging.WARNING, logger="embedroute.experts"):
        with Collection.open(path) as col:
            assert col.search("cats", k=3).ids == []
            col.add([{"id": "c", "text": "birds sing"}])
            assert col.search("singing birds", k=1).ids == ["c"]
    assert not [r for r in caplog.records if r.name.startswith("embedroute")]
