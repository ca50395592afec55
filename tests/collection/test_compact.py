"""``Collection.compact`` drops the deleted documents an HNSW graph still holds and vacuums the store;
SIGKILL at any of its stages loses nothing."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import numpy as np
import pytest

from embedroute import Collection
from embedroute.cli.main import main

from ..conftest import scifact_jsonl

QUERIES = ["vitamin D and bone fractures", "stem cell reprogramming", "antibiotic resistance genes", "obesity"]
ANN = {"source": "static64", "name": "ann", "options": {"index": "hnsw"}}


def _brute_force_top(col: Collection, query: str, k: int) -> list[str]:
    """Top-k ids by numpy inner product over the stored vectors (not through any index)."""
    rids, blobs = col._store.blobs("ann")
    vectors = np.stack([np.frombuffer(b, dtype="<f4") for b in blobs])
    q = col.expert("ann").encode_queries([query])[0]
    top = rids[np.argsort(-(vectors @ q), kind="stable")[:k]]
    names = col._store.id_of(top.tolist())
    return [names[int(r)] for r in top]


def test_compact_drops_tombstones_keeps_documents_and_saves_the_smaller_graph(tmp_path, sample_dir, capsys):
    path = tmp_path / "c"
    col = Collection.create(path, experts=[ANN, "bm25"])
    col.add_file(sample_dir)
    ids = sorted(col._store.id_of(col._store.rids().tolist()).values())
    gone = ids[::10]  # 50 of 500: under the share that rebuilds the graph by itself
    col.delete(gone)
    col.close()
    graph = path / "indexes" / "ann.faiss"
    size_with_tombstones = graph.stat().st_size

    col = Collection.open(path)
    rep = col.compact()
    assert rep.tombstones == {"ann": len(gone), "bm25": 0}
    assert rep.bytes_after < rep.bytes_before
    # the saved graph lost the deleted nodes and the vectors kept for them
    assert graph.stat().st_size < size_with_tombstones - len(gone) * 64 * 4
    assert json.loads((path / "indexes" / "ann.json").read_text())["count"] == len(ids) - len(gone)
    for q in QUERIES:
        found = col.search(q, k=10, expert="ann").ids
        assert not set(found) & set(gone)
        assert len(set(found) & set(_brute_force_top(col, q, 10))) >= 9
    assert len(col) == len(ids) - len(gone)
    assert col.get(gone) == {}
    col.close()

    stamp = graph.stat().st_mtime_ns
    col = Collection.open(path)  # the compacted graph is opened as saved, not rebuilt
    assert col.search(QUERIES[0], k=10, expert="ann").ids
    assert graph.stat().st_mtime_ns == stamp
    assert col.compact().tombstones == {"ann": 0, "bm25": 0}  # nothing left to drop
    report = col.check(recall=True)
    assert report.ok and report.counts["recall@10.ann"] >= 900, report
    col.close()

    capsys.readouterr()
    assert main(["compact", str(path)]) == 0
    out = capsys.readouterr().out
    assert "vacuuming..." in out and "ann: nothing to drop" in out


@pytest.mark.slow
@pytest.mark.parametrize("stage", ["rebuilding ann", "saving ann", "vacuuming"])
def test_sigkill_mid_compaction_loses_no_document(tmp_path, stage):
    src = scifact_jsonl(tmp_path / "docs.jsonl", 5000)
    docs = [json.loads(line) for line in src.read_text().splitlines()]
    path = tmp_path / "col"
    col = Collection.create(path, experts=[ANN, "bm25"])
    col.add_file(src)
    gone = [d["id"] for d in docs[::5]]  # 1,000 of 5,000: tombstones in the graph
    col.delete(gone)
    col.close()

    proc = subprocess.Popen(
        [sys.executable, "-m", "embedroute.cli.main", "compact", str(path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=dict(os.environ, PYTHONUNBUFFERED="1"),
    )
    seen = []
    for line in proc.stdout:
        seen.append(line.strip())
        if line.strip() == f"{stage}...":
            proc.send_signal(signal.SIGKILL)
            break
    proc.wait(timeout=120)
    assert seen[-1] == f"{stage}...", seen
    assert proc.returncode == -signal.SIGKILL, "the compaction finished before it could be killed"

    col = Collection.open(path)
    kept = [d for d in docs if d["id"] not in set(gone)]
    assert len(col) == len(kept)
    assert set(col.get([d["id"] for d in kept])) == {d["id"] for d in kept}
    assert col.get(gone) == {}
    report = col.check(recall=True)
    assert report.ok and report.counts["recall@10.ann"] >= 900, report
    for d in kept[:: len(kept) // 5]:  # searchable with both experts, deleted ones never returned
        assert d["id"] in col.search(d["title"], k=10, expert="bm25").ids
        found = col.search(d["title"], k=10, expert="ann").ids
        assert not set(found) & set(gone)
        assert len(set(found) & set(_brute_force_top(col, d["title"], 10))) >= 8
    rep = col.compact()  # the interrupted compaction can be run again, and finishes
    assert rep.tombstones["ann"] in (0, len(gone))
    assert col.compact().tombstones == {"ann": 0, "bm25": 0}
    col.close()


def test_compact_drops_the_tombstones_of_a_multi_vector_experts_fde_graph(tmp_path):
    docs = {
        "a": "Cats purr when they are content and warm.",
        "b": "Dogs bark at strangers near the house.",
        "c": "Stock markets fell sharply after the rate decision.",
        "d": "Vitamin D deficiency is linked to bone fractures.",
    }
    col = Collection.create(
        tmp_path / "c", experts=[{"source": "minilm-tokens", "name": "mv", "options": {"index": "hnsw"}}]
    )
    col.add([{"id": i, "text": t} for i, t in docs.items()])
    col.delete(["b"])
    assert col.compact().tombstones == {"mv": 1}
    assert col.compact().tombstones == {"mv": 0}
    assert col.search("falling stock prices", k=1).ids == ["c"]
    assert "b" not in col.search("barking dogs", k=3).ids
    col.close()
    with Collection.open(tmp_path / "c") as again:
        assert again.search("bone fractures and vitamin D", k=1).ids == ["d"] and again.check().ok
