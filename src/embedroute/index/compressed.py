"""Compressed indexes (FAISS) with optional exact rescoring from full-precision vectors.

``fp16`` and ``int8`` are FAISS scalar quantisers (int8 ranges are trained once, on the first vectors
the index sees, and kept with it: never re-fitted per batch); ``binary`` keeps sign bits and searches
by Hamming distance (``IndexBinaryFlat``); ``pq`` is product quantisation (``IndexPQ``, ``m``
sub-vectors of 8 bits); ``mrl-N`` keeps the first N dimensions, re-normalised (Matryoshka truncation,
Kusupati et al., NeurIPS 2022). With ``rescore=R`` the top ``k x R`` candidates are re-ranked by exact
inner product with the full-precision vectors, as in the binary-then-rescore recipe of
sentence-transformers' quantisation guide.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import override

from .base import INDEXES, VectorIndex


def _as_f32(x: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(x, dtype=np.float32)


class CompressedIndex(VectorIndex):
    """Base: keeps the full vectors (for rescoring and re-training) and a compressed FAISS index."""

    kind = "compressed"

    rescorable = True

    def __init__(self, dim: int, *, rescore: int = 0, **params: Any) -> None:
        super().__init__(dim, rescore=rescore, **params)
        self.rescore = int(rescore)
        self._ids = np.zeros(0, dtype=np.int64)
        self._full = np.zeros((0, dim), dtype=np.float32)
        self._index: Any = None
        self._order: tuple[np.ndarray, np.ndarray] | None = None  # argsort of _ids + sorted ids; reset on change

    # subclasses -------------------------------------------------------------------------------
    def _make(self, train: np.ndarray) -> Any:
        raise NotImplementedError

    def bytes_per_vector(self) -> float:
        """Memory one vector's compressed code takes, in bytes (full vectors for rescoring not counted)."""
        raise NotImplementedError

    # VectorIndex ------------------------------------------------------------------------------
    @override
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = _as_f32(vectors)
        if self._index is None:
            self._index = self._make(vectors)
        self._add_codes(np.asarray(ids, dtype=np.int64), vectors)
        self._ids = np.concatenate([self._ids, np.asarray(ids, dtype=np.int64)])
        self._full = np.vstack([self._full, vectors])
        self._order = None

    def _add_codes(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        self._index.add_with_ids(self._prepare(vectors), ids)

    def _prepare(self, vectors: np.ndarray) -> np.ndarray:
        return vectors

    @override
    def remove(self, ids: np.ndarray) -> None:
        import faiss

        if len(ids) == 0 or self._index is None:
            return
        ids = np.asarray(ids, dtype=np.int64)
        self._index.remove_ids(faiss.IDSelectorBatch(ids))
        keep = ~np.isin(self._ids, ids)
        self._ids, self._full = self._ids[keep], self._full[keep]
        self._order = None

    def __len__(self) -> int:
        return len(self._ids)

    persist = True
    vectors_beside = True

    def _all_ids(self) -> np.ndarray:
        return np.sort(self._ids)

    @override
    def full_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        return self._ids, self._full

    @override
    def dump(self) -> bytes:
        import faiss

        if self._index is None:
            return b""
        if isinstance(self, BinaryIndex):
            return faiss.serialize_index_binary(self._index).tobytes()
        return faiss.serialize_index(self._index).tobytes()

    @override
    def restore(self, blob: bytes, ids: np.ndarray | None, vectors: np.ndarray | None) -> None:
        import faiss

        if ids is None or vectors is None:
            raise ValueError(f"a saved {self.kind} index is restored with its row ids and full vectors")
        arr = np.frombuffer(blob, dtype=np.uint8)
        self._index = (
            faiss.deserialize_index_binary(arr) if isinstance(self, BinaryIndex) else faiss.deserialize_index(arr)
        )
        self._ids = np.asarray(ids, dtype=np.int64)
        self._full = np.ascontiguousarray(vectors, dtype=np.float32)
        self._order = None
        if self._index.ntotal != len(self._ids):
            raise ValueError(f"stored index holds {self._index.ntotal} vectors, the store {len(self._ids)}")

    def _positions(self, ids: np.ndarray) -> np.ndarray:
        """Rows of ``_full`` holding ``ids`` (one cached argsort, not a lookup table per query)."""
        if self._order is None:
            order = np.argsort(self._ids, kind="stable")
            self._order = (order, self._ids[order])  # the sorted copy too, not rebuilt per query
        order, sorted_ids = self._order
        return order[np.searchsorted(sorted_ids, np.asarray(ids, dtype=np.int64))]

    @override
    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        return self._full[self._positions(ids)]

    def _raw_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        return self._index.search(self._prepare(queries), k)

    @override
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = _as_f32(queries)
        n = len(queries)
        if len(self) == 0:
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        k = min(k, len(self))
        depth = min(len(self), k * self.rescore) if self.rescore else k
        scores, ids = self._raw_search(queries, depth)
        if not self.rescore:
            return scores.astype(np.float32), ids
        out_s = np.full((n, k), -np.inf, dtype=np.float32)
        out_i = np.full((n, k), -1, dtype=np.int64)
        for qi in range(n):
            cand = ids[qi][ids[qi] >= 0]
            exact = self.vectors_of(cand) @ queries[qi]
            order = np.argsort(-exact, kind="stable")[:k]
            out_s[qi, : len(order)] = exact[order]
            out_i[qi, : len(order)] = cand[order]
        return out_s, out_i


class Float16Index(CompressedIndex):
    """Vectors stored as float16 (FAISS scalar quantiser), half of float32's memory."""

    kind = "fp16"

    def _make(self, train: np.ndarray) -> Any:
        import faiss

        return faiss.IndexIDMap2(
            faiss.IndexScalarQuantizer(self.dim, faiss.ScalarQuantizer.QT_fp16, faiss.METRIC_INNER_PRODUCT)
        )

    @override
    def bytes_per_vector(self) -> float:
        return 2.0 * self.dim


class Int8Index(CompressedIndex):
    """Vectors stored as 8-bit codes, per-dimension ranges trained once on the first vectors seen."""

    kind = "int8"

    def _make(self, train: np.ndarray) -> Any:
        import faiss

        sq = faiss.IndexScalarQuantizer(self.dim, faiss.ScalarQuantizer.QT_8bit, faiss.METRIC_INNER_PRODUCT)
        sq.train(train)  # per-dimension ranges, fitted once and kept
        return faiss.IndexIDMap2(sq)

    @override
    def bytes_per_vector(self) -> float:
        return 1.0 * self.dim


class BinaryIndex(CompressedIndex):
    """Sign bits only, searched by Hamming distance; pair with ``rescore`` to rank candidates by full vectors."""

    kind = "binary"

    def _make(self, train: np.ndarray) -> Any:
        import faiss

        return faiss.IndexBinaryIDMap2(faiss.IndexBinaryFlat(self.dim))

    def _prepare(self, vectors: np.ndarray) -> np.ndarray:
        return np.packbits(vectors > 0, axis=1)

    def _raw_search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        dist, ids = self._index.search(self._prepare(queries), k)
        return -dist.astype(np.float32), ids  # fewer differing bits = more similar

    @override
    def bytes_per_vector(self) -> float:
        return self.dim / 8.0


class PQIndex(CompressedIndex):
    """Product quantisation (Jégou, Douze, Schmid, TPAMI 2011): ``m`` sub-vectors of 8-bit codes; needs 256 vectors
    to train."""

    kind = "pq"

    def __init__(self, dim: int, *, m: int | None = None, rescore: int = 0) -> None:
        m = int(m or max(1, dim // 8))
        if dim % m:
            raise ValueError(f"pq: m={m} must divide the dimension {dim}")
        super().__init__(dim, rescore=rescore, m=m)
        self.m = m

    def _make(self, train: np.ndarray) -> Any:
        import faiss

        if len(train) < 256:
            raise ValueError(f"pq needs at least 256 vectors to train its codebooks, got {len(train)}")
        pq = faiss.IndexPQ(self.dim, self.m, 8, faiss.METRIC_INNER_PRODUCT)
        pq.train(train)
        return faiss.IndexIDMap2(pq)

    @override
    def bytes_per_vector(self) -> float:
        return float(self.m)


class MatryoshkaIndex(CompressedIndex):
    """The first ``keep`` dimensions, re-normalised (Matryoshka truncation, Kusupati et al., NeurIPS 2022)."""

    kind = "mrl"

    def __init__(self, dim: int, *, keep: int, rescore: int = 0) -> None:
        if not 0 < keep <= dim:
            raise ValueError(f"mrl: keep={keep} outside 1..{dim}")
        super().__init__(dim, rescore=rescore, keep=keep)
        self.keep = keep

    def _make(self, train: np.ndarray) -> Any:
        import faiss

        return faiss.IndexIDMap2(faiss.IndexFlatIP(self.keep))

    def _prepare(self, vectors: np.ndarray) -> np.ndarray:
        head = vectors[:, : self.keep]
        return _as_f32(head / np.maximum(np.linalg.norm(head, axis=1, keepdims=True), 1e-12))

    @override
    def bytes_per_vector(self) -> float:
        return 4.0 * self.keep


for _cls in (Float16Index, Int8Index, BinaryIndex):
    INDEXES.register(_cls.kind, _cls)
INDEXES.register("pq", PQIndex)
