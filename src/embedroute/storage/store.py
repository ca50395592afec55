"""The collection's transactional store: documents, attributes, per-expert vectors (SQLite, WAL).

Every write is one transaction (``BEGIN IMMEDIATE`` ... ``COMMIT`` with ``synchronous=FULL``): a crash
loses at most the batch in flight, never an acknowledged one, and never leaves half a batch behind.
Vectors live beside their documents (``ON DELETE CASCADE``), each with a CRC32 that ``check`` verifies.
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
import zlib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import InputError, StorageError
from .documents import Document
from .sqlite import connect

#: how much of the store file SQLite reads through a memory map (address space, not memory)
MMAP_BYTES = 1 << 34

SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS docs (
    rid INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    title TEXT,
    text TEXT NOT NULL,
    attrs TEXT NOT NULL,
    checksum TEXT NOT NULL
);
-- a rowid table: its rows hold a vector in the page (a WITHOUT ROWID table spills each one over about 1 KB
-- into overflow pages, three times the vectors' size on disk); collections made before keep their table
CREATE TABLE IF NOT EXISTS vectors (
    expert TEXT NOT NULL,
    rid INTEGER NOT NULL REFERENCES docs(rid) ON DELETE CASCADE,
    vec BLOB NOT NULL,
    crc INTEGER NOT NULL,
    PRIMARY KEY (expert, rid)
);
CREATE INDEX IF NOT EXISTS vectors_rid ON vectors(rid);
CREATE TABLE IF NOT EXISTS attributes (name TEXT PRIMARY KEY, type TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS experts (
    name TEXT PRIMARY KEY, position INTEGER NOT NULL, spec TEXT NOT NULL, config TEXT NOT NULL
);
"""


def doc_checksum(doc_id: str, title: str | None, text: str, attrs_json: str) -> str:
    """A document's checksum over its id, title, text and attributes, stored with it for ``check`` to verify."""
    payload = json.dumps([doc_id, title, text, attrs_json], ensure_ascii=False)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()[:32]


def storage_hint(folder: Path) -> str:
    """Why writing in ``folder`` may have failed, as a short parenthesis ('' when no cause is seen)."""
    try:
        if not os.access(folder, os.W_OK):  # also false for root on a read-only mount
            return " (the collection folder is read-only)"
        st = os.statvfs(folder)
        if st.f_bavail * st.f_frsize < 1 << 20:
            return " (the disk is full)"
    except OSError:
        pass
    return ""


class Store:
    """One collection's SQLite store; writes go through :meth:`transaction`, reads through ``conn``."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        try:
            self.conn = connect(self.path)
        except sqlite3.Error as exc:
            raise StorageError(
                f"cannot open the store {self.path.name}: {exc}{storage_hint(self.path.parent)}"
            ) from exc
        try:
            # reads of a search's documents come from the memory-mapped file, without a copy into SQLite's
            # page cache per page (writes still go through the WAL as before)
            self.conn.execute(f"PRAGMA mmap_size={MMAP_BYTES}")
            self.conn.executescript(SCHEMA)
        except sqlite3.Error as exc:
            self.conn.close()
            raise StorageError(
                f"cannot open the store {self.path.name}: {exc}{storage_hint(self.path.parent)}"
            ) from exc

    @contextmanager
    def transaction(self, *, documents: bool = True) -> Iterator[Any]:
        """One write: committed whole, or (on any error) rolled back whole. A failure of the disk or the
        folder (read-only, full, I/O error) is a StorageError; the store is then as it was before.

        ``documents=False`` is a write that changes no document (an expert added or removed: only that
        expert's own vectors change), so the generation stays and every other expert's built or saved
        structure stays current."""
        try:
            self.conn.execute("BEGIN IMMEDIATE")
        except sqlite3.OperationalError as exc:
            raise self._write_failed(exc) from exc
        try:
            yield self.conn
            if documents:
                self.conn.execute(
                    "INSERT INTO meta(key, value) VALUES('generation', '1') ON CONFLICT(key) "
                    "DO UPDATE SET value = CAST(value AS INTEGER) + 1"
                )
            self.conn.execute("COMMIT")
        except BaseException as exc:
            if self.conn.in_transaction:  # SQLite may have rolled back already (e.g. on a full disk)
                try:
                    self.conn.execute("ROLLBACK")
                except sqlite3.Error:
                    pass
            if isinstance(exc, sqlite3.OperationalError):
                raise self._write_failed(exc) from exc
            raise

    def _write_failed(self, exc: sqlite3.Error) -> StorageError:
        return StorageError(
            f"could not write to the store {self.path.name}: {exc}{storage_hint(self.path.parent)}; "
            "nothing from this write was kept"
        )

    # -- reads -----------------------------------------------------------------------------------
    def generation(self) -> int:
        """The store's document generation, bumped by every committed write that changes documents: a saved
        index built at another generation is stale."""
        row = self.conn.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        return int(row[0]) if row else 0

    def count(self) -> int:
        """How many documents are stored."""
        return self.conn.execute("SELECT COUNT(*) FROM docs").fetchone()[0]

    def rids(self) -> np.ndarray:
        """Every stored row id, in order."""
        return np.array([r[0] for r in self.conn.execute("SELECT rid FROM docs ORDER BY rid")], dtype=np.int64)

    def existing_ids(self, ids: Sequence[str]) -> dict[str, int]:
        """The row ids of those of ``ids`` that are stored, by id."""
        found: dict[str, int] = {}
        for i in range(0, len(ids), 500):
            part = list(ids[i : i + 500])
            marks = ",".join("?" * len(part))
            found.update(self.conn.execute(f"SELECT id, rid FROM docs WHERE id IN ({marks})", part).fetchall())
        return found

    def schema(self) -> dict[str, str]:
        """Each typed attribute's name and type."""
        return dict(self.conn.execute("SELECT name, type FROM attributes ORDER BY name").fetchall())

    def experts(self) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
        """Each expert's name, spec and config, in the order they were added."""
        rows = self.conn.execute("SELECT name, spec, config FROM experts ORDER BY position").fetchall()
        return [(n, json.loads(s), json.loads(c)) for n, s, c in rows]

    def all_texts(self) -> tuple[np.ndarray, list[str]]:
        """Every row id and embedding text (title and text), in row-id order."""
        rows = self.conn.execute("SELECT rid, title, text FROM docs ORDER BY rid").fetchall()
        rids = np.array([r[0] for r in rows], dtype=np.int64)
        return rids, [Document("", r[2], r[1]).embed_text for r in rows]

    def expert_names(self) -> list[str]:
        """The experts' names, in the order they were added."""
        return [r[0] for r in self.conn.execute("SELECT name FROM experts ORDER BY position")]

    def texts_and_checksums(self) -> tuple[np.ndarray, list[str], list[str]]:
        """Row ids, embedding texts and document checksums, in row-id order."""
        rows = self.conn.execute("SELECT rid, title, text, checksum FROM docs ORDER BY rid").fetchall()
        rids = np.array([r[0] for r in rows], dtype=np.int64)
        return rids, [Document("", r[2], r[1]).embed_text for r in rows], [r[3] for r in rows]

    def blobs(self, expert: str) -> tuple[np.ndarray, list[bytes]]:
        """Row ids and stored representation blobs of one expert, in row-id order."""
        rows = self.conn.execute("SELECT rid, vec FROM vectors WHERE expert = ? ORDER BY rid", (expert,)).fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64), [r[1] for r in rows]

    def all_attributes(self) -> tuple[np.ndarray, list[dict[str, Any]]]:
        """Every row id and attribute dict, in row-id order."""
        rows = self.conn.execute("SELECT rid, attrs FROM docs ORDER BY rid").fetchall()
        return np.array([r[0] for r in rows], dtype=np.int64), [json.loads(r[1]) for r in rows]

    def get(self, rids: Sequence[int]) -> dict[int, Document]:
        """The stored documents with these row ids, by row id (unknown ones are left out)."""
        out: dict[int, Document] = {}
        for i in range(0, len(rids), 500):
            part = [int(r) for r in rids[i : i + 500]]
            marks = ",".join("?" * len(part))
            rows = self.conn.execute(
                f"SELECT rid, id, title, text, attrs FROM docs WHERE rid IN ({marks})", part
            ).fetchall()
            attrs = json.loads("[" + ",".join(r[4] for r in rows) + "]")  # one parse for the batch, not one per row
            for (rid, did, title, text, _), a in zip(rows, attrs):
                out[rid] = Document(did, text, title, a)
        return out

    def id_of(self, rids: Sequence[int]) -> dict[int, str]:
        """The document ids of these row ids, by row id."""
        out: dict[int, str] = {}
        for i in range(0, len(rids), 500):
            part = [int(r) for r in rids[i : i + 500]]
            marks = ",".join("?" * len(part))
            out.update(self.conn.execute(f"SELECT rid, id FROM docs WHERE rid IN ({marks})", part).fetchall())
        return out

    # -- writes (each inside ``transaction()``) --------------------------------------------------
    def write_docs(
        self,
        conn: Any,
        docs: Sequence[Document],
        blobs: Mapping[str, Sequence[bytes]],
        *,
        upsert: bool,
        source: str,
    ) -> np.ndarray:
        """Insert (or, with ``upsert``, replace) docs with each expert's blobs; returns their row ids."""
        existing = self.existing_ids([d.id for d in docs])
        if existing and not upsert:
            first = next(d for d in docs if d.id in existing)
            raise InputError(
                f"id {first.id!r} already exists in the collection; use upsert to replace it",
                source=source,
                line=first.line,
                field="id",
            )
        rids = np.empty(len(docs), dtype=np.int64)
        for i, d in enumerate(docs):
            attrs = json.dumps(d.attributes, ensure_ascii=False, sort_keys=True)
            checksum = doc_checksum(d.id, d.title, d.text, attrs)
            if d.id in existing:
                rid = existing[d.id]
                conn.execute(
                    "UPDATE docs SET title = ?, text = ?, attrs = ?, checksum = ? WHERE rid = ?",
                    (d.title, d.text, attrs, checksum, rid),
                )
                conn.execute("DELETE FROM vectors WHERE rid = ?", (rid,))
            else:
                rid = conn.execute(
                    "INSERT INTO docs(id, title, text, attrs, checksum) VALUES (?, ?, ?, ?, ?)",
                    (d.id, d.title, d.text, attrs, checksum),
                ).lastrowid
            rids[i] = rid
        for expert, expert_blobs in blobs.items():
            self.put_blobs(conn, expert, rids, expert_blobs)
        return rids

    def put_blobs(self, conn: Any, expert: str, rids: np.ndarray, blobs: Sequence[bytes]) -> None:
        """Store one expert's blobs, each with its CRC32, within the transaction ``conn``."""
        rows = [(expert, int(rid), blob, zlib.crc32(blob)) for rid, blob in zip(rids, blobs, strict=True)]
        conn.executemany("INSERT INTO vectors(expert, rid, vec, crc) VALUES (?, ?, ?, ?)", rows)

    def add_attribute_types(self, conn: Any, types: Mapping[str, str]) -> None:
        """Record newly typed attributes within the transaction ``conn``."""
        conn.executemany("INSERT INTO attributes(name, type) VALUES (?, ?)", list(types.items()))

    def delete(self, conn: Any, ids: Sequence[str], *, source: str = "<input>") -> np.ndarray:
        """Delete documents by id (their vectors go with them) within ``conn``; an unknown id is an InputError;
        returns their row ids."""
        found = self.existing_ids(list(ids))
        missing = [i for i in ids if i not in found]
        if missing:
            raise InputError(f"no document with id {missing[0]!r}", source=source, field="id")
        rids = np.array([found[i] for i in ids], dtype=np.int64)
        conn.executemany("DELETE FROM docs WHERE rid = ?", [(int(r),) for r in rids])
        return rids

    def put_expert(self, conn: Any, name: str, spec: dict[str, Any], config: dict[str, Any]) -> None:
        """Record a new expert, last in order, within ``conn``."""
        pos = conn.execute("SELECT COALESCE(MAX(position), -1) + 1 FROM experts").fetchone()[0]
        conn.execute(
            "INSERT INTO experts(name, position, spec, config) VALUES (?, ?, ?, ?)",
            (name, pos, json.dumps(spec), json.dumps(config)),
        )

    def drop_expert(self, conn: Any, name: str) -> None:
        """Remove an expert and all its stored vectors within ``conn``."""
        conn.execute("DELETE FROM vectors WHERE expert = ?", (name,))
        conn.execute("DELETE FROM experts WHERE name = ?", (name,))

    def vacuum(self) -> None:
        """Rewrite the database without its free pages (SQLite ``VACUUM``, one transaction: a crash
        midway leaves the store as it was) and truncate the write-ahead log. A disk without room for the
        copy is a StorageError, and the store is unchanged."""
        try:
            self.conn.execute("VACUUM")
            self.conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        except sqlite3.OperationalError as exc:
            raise self._write_failed(exc) from exc

    def close(self) -> None:
        """Close the store's connection."""
        self.conn.close()
