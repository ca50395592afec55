from __future__ import annotations

import hashlib
import sqlite3
from pathlib import Path


def snapshot(path: Path) -> str:
    """Digest of everything a collection stores (documents, vectors, schema, experts, manifest)."""
    h = hashlib.sha256()
    conn = sqlite3.connect(path / "documents.sqlite")
    for table, order in (("docs", "rid"), ("vectors", "expert, rid"), ("attributes", "name"),
                         ("experts", "name")):
        for row in conn.execute(f"SELECT * FROM {table} ORDER BY {order}"):
            h.update(repr(row).encode())
    conn.close()
    h.update((path / "manifest.json").read_bytes())
    return h.hexdigest()
