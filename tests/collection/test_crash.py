"""SIGKILL during ``embedroute add`` of 5,000 documents loses nothing that was acknowledged."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import pytest

from embedroute import Collection

from ..conftest import scifact_jsonl


@pytest.mark.slow
def test_sigkill_mid_add_keeps_every_acknowledged_document(tmp_path):
    src = scifact_jsonl(tmp_path / "docs.jsonl", 5000)
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
