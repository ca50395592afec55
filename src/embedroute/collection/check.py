"""Integrity check of a collection: SQLite integrity, manifest vs store, document checksums,
one finite, correctly sized vector with a matching CRC per document and dense expert, typed attributes."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

from ..storage.documents import coerce
from ..storage.store import Store, doc_checksum
from .manifest import load_manifest
from .results import CheckReport


def run_check(path: Path, store: Store, experts: dict[str, Any]) -> CheckReport:
    problems: list[str] = []
    conn = store.conn
    status = conn.execute("PRAGMA integrity_check").fetchone()[0]
    if status != "ok":
        problems.append(f"sqlite integrity_check: {status}")
    try:
        manifest = load_manifest(path)
        entries = manifest.get("experts")
        listed = [e.get("name") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else entries
        if listed != [n for n, _, _ in store.experts()]:
            problems.append(f"manifest lists experts {listed}, store has {[n for n, _, _ in store.experts()]}")
    except (OSError, ValueError) as exc:
        problems.append(f"manifest unreadable: {exc}")
    schema = store.schema()
    n_docs = 0
    for did, title, text, attrs, checksum in conn.execute("SELECT id, title, text, attrs, checksum FROM docs"):
        n_docs += 1
        if doc_checksum(did, title, text, attrs) != checksum:
            problems.append(f"document {did!r}: checksum mismatch")
        for name, value in json.loads(attrs).items():
            if name not in schema:
                problems.append(f"document {did!r}: attribute {name!r} not in the schema")
                continue
            try:
                coerce(value, schema[name])
            except ValueError as exc:
                problems.append(f"document {did!r}: attribute {name!r}: {exc}")
    counts = {"documents": n_docs}
    known = set(experts)
    for (name,) in conn.execute("SELECT DISTINCT expert FROM vectors"):
        if name not in known:
            problems.append(f"vectors stored for unknown expert {name!r}")
    for name, expert in experts.items():
        if not expert.stores_vectors:
            continue
        n_vec = 0
        bad: Counter[str] = Counter()
        for blob, crc in conn.execute("SELECT vec, crc FROM vectors WHERE expert = ?", (name,)):
            n_vec += 1
            if zlib.crc32(blob) != crc:
                bad["CRC mismatch"] += 1
            problem = expert.check_blob(blob)
            if problem:
                bad[problem] += 1
        counts[f"vectors.{name}"] = n_vec
        if n_vec != n_docs:
            problems.append(f"expert {name!r}: {n_vec} vectors for {n_docs} documents")
        for what, n in sorted(bad.items()):
            problems.append(f"expert {name!r}: {n} vectors with {what}")
    return CheckReport(counts, problems)
