"""Sparse expert: learned sparse vectors (SPLADE) searched by a sparse matrix product (scipy).

The document-by-term matrix (scipy CSR) is built at the write, not at the first query, and saved beside
the collection (``indexes/NAME.csr/``: its three arrays and the row ids, vouched for by ``NAME.csr.json``
through :mod:`~embedroute.experts.saved_folder`), so a reopened collection answers its first query
without reading and unpacking every stored vector. The store stays the source of truth: a stale or
damaged copy is rebuilt from it.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import override

from ..encoders.sparse import SparseVec, SpladeEncoder, pack, unpack
from ..index.planner import Plan
from .base import Expert, SearchBatch, top_k_masked
from .saved_folder import built_for, open_current, save_folder

log = logging.getLogger("embedroute.experts")


class SparseExpert(Expert):
    """Learned sparse vectors (SPLADE, Formal et al., SIGIR 2021) stored per document and searched by sparse dot
    product."""

    kind = "sparse"
    stores_vectors = True

    def __init__(
        self,
        encoder: SpladeEncoder,
        *,
        name: str | None = None,
        source: str | None = None,
        options: dict[str, Any] | None = None,
    ) -> None:
        self.encoder = encoder
        self.name = name or encoder.name
        self.source = source or self.name
        self.options = dict(options or {})
        self.dim = encoder.vocab_size
        self._ids = np.zeros(0, dtype=np.int64)
        self._reps: list[SparseVec] | None = []  # None: opened from the saved matrix, rows read from it
        self._matrix: Any = None
        self._unsaved = False

    @override
    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "encoder": self.encoder.config(), "index": {"kind": "scipy-csr"}}

    @override
    def embed_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> list[SparseVec]:
        return self.encoder.encode(texts, "document", show_progress=show_progress)

    @override
    def to_blobs(self, reps: list[SparseVec]) -> list[bytes]:
        return [pack(r) for r in reps]

    @override
    def from_blobs(self, blobs: Sequence[bytes]) -> list[SparseVec]:
        return [unpack(b) for b in blobs]

    @override
    def check_blob(self, blob: bytes) -> str | None:
        if len(blob) % 8:
            return "truncated sparse vector"
        ids, weights = unpack(blob)
        if len(ids) and (ids.min() < 0 or ids.max() >= self.dim):
            return "term id out of range"
        if not np.isfinite(weights).all():
            return "NaN/inf"
        return None

    @override
    def load(self, ids: np.ndarray, texts: Sequence[str], reps: list[SparseVec] | None) -> None:
        self._ids = np.asarray(ids, dtype=np.int64)
        self._reps = list(reps or [])
        self._matrix = None
        self._unsaved = True

    def _rows(self) -> list[SparseVec]:
        """The documents' sparse vectors, taken from the saved matrix's rows when it was opened from disk."""
        if self._reps is None:
            m = self._matrix
            self._reps = [
                (m.indices[a:b].astype(np.int32), m.data[a:b].astype(np.float32))
                for a, b in zip(m.indptr[:-1].tolist(), m.indptr[1:].tolist())
            ]
        return self._reps

    @override
    def add(self, ids: np.ndarray, texts: Sequence[str], reps: list[SparseVec] | None) -> None:
        rows = self._rows()
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])
        rows.extend(reps or [])
        self._matrix = None
        self._unsaved = True

    @override
    def remove(self, ids: np.ndarray) -> None:
        rows = self._rows()
        keep = ~np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        self._ids = self._ids[keep]
        self._reps = [r for r, m in zip(rows, keep) if m]
        self._matrix = None
        self._unsaved = True

    def __len__(self) -> int:
        return len(self._ids)

    @override
    def prepare(self) -> None:
        self._csr()  # built after the write, so that no query waits for it

    def _csr(self) -> Any:
        if self._matrix is None:
            from scipy import sparse

            rows = self._rows()
            indptr = np.zeros(len(rows) + 1, dtype=np.int64)
            indptr[1:] = np.cumsum([len(r[0]) for r in rows])
            cols = np.concatenate([r[0] for r in rows]) if rows else np.zeros(0, np.int32)
            vals = np.concatenate([r[1] for r in rows]) if rows else np.zeros(0, np.float32)
            self._matrix = sparse.csr_matrix((vals, cols, indptr), shape=(len(rows), self.dim))
        return self._matrix

    # -- the matrix kept beside the collection (``NAME.csr/`` and ``NAME.csr.json``) --------------------
    def _saved_as(self) -> tuple[str, dict[str, Any]]:
        made_by = built_for(self.spec(), self.encoder.config())  # another model is another matrix
        return f"{self.name}.csr", {"kind": "scipy-csr", "dim": self.dim, "expert": made_by}

    @override
    def open_persisted(self, folder: Path, generation: int, count: int) -> bool:
        opened = open_current(folder, *self._saved_as(), generation=generation, count=count)
        if opened is None:
            return False
        found, ids = opened
        from scipy import sparse

        try:
            indptr, indices, data = (np.load(found / f"{a}.npy") for a in ("indptr", "indices", "data"))
            if indptr.shape != (count + 1,):
                raise ValueError(f"the saved matrix holds {len(indptr) - 1} rows for {len(ids)} ids, not {count}")
            if indptr[-1] != len(indices) or len(indices) != len(data) or (len(indices) and indices.max() >= self.dim):
                raise ValueError("the saved matrix's arrays do not agree")
            matrix = sparse.csr_matrix((data, indices, indptr), shape=(count, self.dim))
        except (OSError, ValueError, EOFError) as exc:
            log.warning("saved matrix of expert %r is unreadable (%s); rebuilding it from the store", self.name, exc)
            return False
        self._ids, self._reps, self._matrix, self._unsaved = ids, None, matrix, False
        return True

    @override
    def save_persisted(self, folder: Path, generation: int) -> None:
        if not self._unsaved or not len(self._ids):
            return
        name, config = self._saved_as()
        matrix, ids = self._csr(), self._ids

        def write(tmp: Path) -> None:
            for a, arr in (("indptr", matrix.indptr), ("indices", matrix.indices), ("data", matrix.data), ("ids", ids)):
                np.save(tmp / f"{a}.npy", arr)

        if save_folder(folder, name, write, {"generation": generation, "count": len(ids), "config": config}):
            self._unsaved = False

    @override
    def search(
        self, queries: Sequence[str], k: int, *, allowed: np.ndarray | None = None, estimate: float | None = None
    ) -> SearchBatch:
        from scipy import sparse

        t0 = time.perf_counter()
        qreps = self.encoder.encode(queries, "query")
        t1 = time.perf_counter()
        out_ids, out_scores = [], []
        if len(self._ids):
            matrix = self._csr()
            rows = np.repeat(np.arange(len(qreps)), [len(q[0]) for q in qreps])
            cols = np.concatenate([q[0] for q in qreps]) if qreps else np.zeros(0, np.int32)
            vals = np.concatenate([q[1] for q in qreps]) if qreps else np.zeros(0, np.float32)
            qm = sparse.csr_matrix((vals, (rows, cols)), shape=(len(qreps), self.dim))
            scores = (qm @ matrix.T).toarray()
            for row in scores:
                ids, vals = top_k_masked(row, self._ids, k, allowed)
                out_ids.append(ids)
                out_scores.append(vals)
        else:
            out_ids = [np.zeros(0, dtype=np.int64) for _ in queries]
            out_scores = [np.zeros(0, dtype=np.float32) for _ in queries]
        plan = None if allowed is None else Plan("exact-scan", estimate, len(allowed), candidates=len(self._ids))
        return SearchBatch(out_ids, out_scores, (t1 - t0) * 1000, (time.perf_counter() - t1) * 1000, plan)
