"""Sparse expert: learned sparse vectors (SPLADE) searched by a sparse matrix product (scipy)."""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any

import numpy as np
from typing_extensions import override

from ..encoders.sparse import SparseVec, SpladeEncoder, pack, unpack
from ..index.planner import Plan
from .base import Expert, SearchBatch, top_k_masked


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
        self._reps: list[SparseVec] = []
        self._matrix: Any = None

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

    @override
    def add(self, ids: np.ndarray, texts: Sequence[str], reps: list[SparseVec] | None) -> None:
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])
        self._reps.extend(reps or [])
        self._matrix = None

    @override
    def remove(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self._ids, np.asarray(ids, dtype=np.int64))
        self._ids = self._ids[keep]
        self._reps = [r for r, m in zip(self._reps, keep) if m]
        self._matrix = None

    def __len__(self) -> int:
        return len(self._ids)

    def _csr(self) -> Any:
        if self._matrix is None:
            from scipy import sparse

            indptr = np.zeros(len(self._reps) + 1, dtype=np.int64)
            indptr[1:] = np.cumsum([len(r[0]) for r in self._reps])
            cols = np.concatenate([r[0] for r in self._reps]) if self._reps else np.zeros(0, np.int32)
            vals = np.concatenate([r[1] for r in self._reps]) if self._reps else np.zeros(0, np.float32)
            self._matrix = sparse.csr_matrix((vals, cols, indptr), shape=(len(self._reps), self.dim))
        return self._matrix

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
