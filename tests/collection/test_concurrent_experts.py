"""Adding an expert while another process writes: no document may be left without the new expert's vector.

Two real processes share the collection folder: this test's, which adds the expert, and a writer started
with ``subprocess`` (a second interpreter, its own SQLite connection).
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
import time
from pathlib import Path

import numpy as np
import pytest

from embedroute import Collection

pytestmark = pytest.mark.slow

TEXTS = [
    "Vitamin D supplements lower the risk of fractures.",
    "Melting ice sheets raise the global sea level.",
    "Statins reduce cholesterol in the blood.",
    "Cats purr when they are content.",
    "The stock market fell sharply on Monday.",
    "Volcanic eruptions emit sulfur dioxide.",
]


def _writer(path: Path, *, wait_for: Path | None = None, ready: Path | None = None) -> str:
    return textwrap.dedent(f"""
        import time
        from pathlib import Path
        from embedroute import Collection
        col = Collection.open({str(path)!r})
        ready, wait_for = {str(ready) if ready else None!r}, {str(wait_for) if wait_for else None!r}
        if ready:
            Path(ready).write_text("open")
        if wait_for:
            deadline = time.time() + 300
            while not Path(wait_for).exists() and time.time() < deadline:
                time.sleep(0.05)
        col.add([{{"id": "late1", "text": "Antibiotic resistance spreads in hospitals."}},
                 {{"id": "late2", "text": "Coral reefs bleach in warm water."}}])
        col.upsert([{{"id": "d0", "text": "Quantum computers factor large numbers."}}])
        col.delete(["d1"])
        col.close()
    """)


def _assert_every_document_has_its_vector(path: Path) -> None:
    from embedroute.encoders import get_encoder

    col = Collection.open(path)
    assert col.check().ok, col.check().problems
    docs = col.get([f"d{i}" for i in range(len(TEXTS))] + ["late1", "late2"])
    assert "d1" not in docs and {"late1", "late2", "d0"} <= set(docs)
    rids, blobs = col._store.blobs("s64")
    stored = dict(zip(rids.tolist(), col.expert("s64").from_blobs(blobs)))
    enc = get_encoder("static64")
    ids = col._store.existing_ids(list(docs))
    assert set(stored) == set(ids.values())  # one vector per live document, none for the deleted one
    for doc_id, doc in docs.items():  # each is the vector of the document's current text
        np.testing.assert_allclose(stored[ids[doc_id]], enc.encode_documents([doc.embed_text])[0], atol=1e-5)
    assert col.search("coral bleaching", k=1, expert="s64").ids == ["late2"]
    col.close()


def test_writes_during_the_encoding_get_the_new_experts_vectors(tmp_path):
    path = tmp_path / "c"
    col = Collection.create(path, experts=["bm25"])
    col.add([{"id": f"d{i}", "text": t} for i, t in enumerate(TEXTS)])
    stages = []

    def progress(stage: str, done: int, total: int | None) -> None:
        stages.append(stage)
        if stage == "encoding" and done == 0:  # the texts are read: another process writes now
            subprocess.run([sys.executable, "-c", _writer(path)], check=True, timeout=600)

    col.add_expert({"source": "static64", "name": "s64"}, progress=progress)
    assert stages[0] == "loading model" and "writing" in stages and stages[-1] == "done"
    col.close()
    _assert_every_document_has_its_vector(path)


def test_a_writer_that_opened_before_the_expert_was_added_still_stores_its_vectors(tmp_path):
    path = tmp_path / "c"
    col = Collection.create(path, experts=["bm25"])
    col.add([{"id": f"d{i}", "text": t} for i, t in enumerate(TEXTS)])
    ready, go = tmp_path / "ready", tmp_path / "go"
    proc = subprocess.Popen([sys.executable, "-c", _writer(path, wait_for=go, ready=ready)])
    try:
        deadline = time.time() + 300
        while not ready.exists() and time.time() < deadline and proc.poll() is None:
            time.sleep(0.05)
        assert ready.exists(), "the writer did not open the collection"
        col.add_expert({"source": "static64", "name": "s64"})  # the writer's open copy knows only bm25
        go.write_text("go")
        assert proc.wait(600) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    col.close()
    _assert_every_document_has_its_vector(path)
