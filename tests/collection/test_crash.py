"""SIGKILL during ``embedroute add`` of 5,000 documents loses nothing that was acknowledged."""

from __future__ import annotations

import gzip
import json
import os
import signal
import subprocess
import sys

import pytest

from embedroute import Collection

from ..conftest import shared


@pytest.mark.slow
def test_sigkill_mid_add_keeps_every_acknowledged_document(tmp_path):
    corpus = shared("scifact") / "corpus.jsonl.gz"
    src = tmp_path / "docs.jsonl"
    with gzip.open(corpus, "rt", encoding="utf-8") as f, open(src, "w", encoding="utf-8") as out:
        for i, line in enumerate(f):
            if i == 5000:
                break
            d = json.loads(line)
            out.write(json.dumps({"id": d["_id"], "title": d["title"], "text": d["text"]}) + "\n")
    path = tmp_path / "col"
    Collection.create(path, experts=["static64", "bm25"]).close()
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [sys.executable, "-m", "embedroute.cli.main", "add", str(path), str(src), "--batch-size", "50"],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    acked = 0
    for line in proc.stdout:
        if line.startswith("committed "):
            acked = int(line.split()[1])
            if acked >= 1000:
                proc.send_signal(signal.SIGKILL)
                break
    proc.wait(timeout=60)
    assert proc.returncode == -signal.SIGKILL, "the add finished before it could be killed"
    assert 1000 <= acked < 5000

    col = Collection.open(path)
    assert col.check().ok, col.check().problems
    n = len(col)
    assert acked <= n < 5000 and n % 50 == 0  # whole batches only
    ids = [json.loads(line)["id"] for line in src.read_text().splitlines()[:acked]]
    stored = col._store.existing_ids(ids)
    assert len(stored) == acked
    # acknowledged documents are searchable with both experts
    last = json.loads(src.read_text().splitlines()[acked - 1])
    for expert in ("static64", "bm25"):
        assert last["id"] in col.search(last["title"], k=10, expert=expert).ids
    # the interrupted add can be finished with upsert, and the result is whole
    col.add_file(src, upsert=True)
    assert len(col) == 5000 and col.check().ok
