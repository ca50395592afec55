"""Exact inner-product search with FAISS (``IndexIDMap2`` over ``IndexFlatIP``)."""

from __future__ import annotations

import numpy as np
from typing_extensions import override

from .base import INDEXES, VectorIndex


class FlatIndex(VectorIndex):
    """Exact search; ids are the collection's document row ids.

    >>> idx = FlatIndex(2)
    >>> idx.add(np.array([7, 9]), np.array([[1.0, 0.0], [0.0, 1.0]], dtype=np.float32))
    >>> scores, ids = idx.search(np.array([[0.2, 0.9]], dtype=np.float32), 1)
    >>> int(ids[0, 0])
    9
    """

    kind = "flat"

    def __init__(self, dim: int) -> None:
        import faiss

        super().__init__(dim)
        self._index = faiss.IndexIDMap2(faiss.IndexFlatIP(dim))

    @override
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        if len(ids) == 0:
            return
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        if vectors.ndim != 2 or vectors.shape[1] != self.dim:
            raise ValueError(f"vectors have shape {vectors.shape}, expected (n, {self.dim})")
        self._index.add_with_ids(vectors, np.asarray(ids, dtype=np.int64))

    @override
    def remove(self, ids: np.ndarray) -> None:
        import faiss

        if len(ids):
            self._index.remove_ids(faiss.IDSelectorBatch(np.asarray(ids, dtype=np.int64)))

    @override
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        k = max(1, min(k, len(self))) if len(self) else 1
        if len(self) == 0:
            n = len(queries)
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        return self._index.search(queries, k)

    def __len__(self) -> int:
        return int(self._index.ntotal)

    def _all_ids(self) -> np.ndarray:
        import faiss

        return np.sort(faiss.vector_to_array(self._index.id_map).astype(np.int64))

    @override
    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        return self._index.reconstruct_batch(np.asarray(ids, dtype=np.int64))


INDEXES.register("flat", FlatIndex)
