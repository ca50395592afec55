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
    """Check the collection at ``path`` end to end; every problem found is reported, none is fixed.

    The problems come in a fixed order: SQLite integrity, the manifest, the documents, then the vectors.
    """
    problems: list[str] = []
    _check_sqlite(store, problems)
    _check_manifest(path, store, problems)
    n_docs = _check_documents(store, problems)
    counts = {"documents": n_docs}
    _check_vector_experts(store, set(experts), problems)
    for name, expert in experts.items():
        if expert.stores_vectors:
            counts[f"vectors.{name}"] = _check_vectors(store, name, expert, n_docs, problems)
    return CheckReport(counts, problems)


def _check_sqlite(store: Store, problems: list[str]) -> None:
    status = store.conn.execute("PRAGMA integrity_check").fetchone()[0]
    if status != "ok":
        problems.append(f"sqlite integrity_check: {status}")


def _check_manifest(path: Path, store: Store, problems: list[str]) -> None:
    """The manifest must be readable and list the store's experts, in the store's order."""
    try:
        manifest = load_manifest(path)
        entries = manifest.get("experts")
        listed = [e.get("name") for e in entries if isinstance(e, dict)] if isinstance(entries, list) else entries
        if listed != [n for n, _, _ in store.experts()]:
            problems.append(f"manifest lists experts {listed}, store has {[n for n, _, _ in store.experts()]}")
    except (OSError, ValueError) as exc:
        problems.append(f"manifest unreadable: {exc}")


def _check_documents(store: Store, problems: list[str]) -> int:
    """Each document's checksum and typed attributes; returns the number of documents."""
    schema = store.schema()
    n_docs = 0
    for did, title, text, attrs, checksum in store.conn.execute("SELECT id, title, text, attrs, checksum FROM docs"):
        n_docs += 1
        if doc_checksum(did, title, text, attrs) != checksum:
            problems.append(f"document {did!r}: checksum mismatch")
        _check_attributes(did, json.loads(attrs), schema, problems)
    return n_docs


def _check_attributes(did: str, attrs: dict[str, Any], schema: dict[str, str], problems: list[str]) -> None:
    for name, value in attrs.items():
        if name not in schema:
            problems.append(f"document {did!r}: attribute {name!r} not in the schema")
            continue
        try:
            coerce(value, schema[name])
        except ValueError as exc:
            problems.append(f"document {did!r}: attribute {name!r}: {exc}")


def _check_vector_experts(store: Store, known: set[str], problems: list[str]) -> None:
    for (name,) in store.conn.execute("SELECT DISTINCT expert FROM vectors"):
        if name not in known:
            problems.append(f"vectors stored for unknown expert {name!r}")


def _check_vectors(store: Store, name: str, expert: Any, n_docs: int, problems: list[str]) -> int:
    """One vector per document for the expert ``name``, each with a matching CRC and a valid blob."""
    n_vec = 0
    bad: Counter[str] = Counter()
    for blob, crc in store.conn.execute("SELECT vec, crc FROM vectors WHERE expert = ?", (name,)):
        n_vec += 1
        if zlib.crc32(blob) != crc:
            bad["CRC mismatch"] += 1
        problem = expert.check_blob(blob)
        if problem:
            bad[problem] += 1
    if n_vec != n_docs:
        problems.append(f"expert {name!r}: {n_vec} vectors for {n_docs} documents")
    for what, n in sorted(bad.items()):
        problems.append(f"expert {name!r}: {n} vectors with {what}")
    return n_vec
