"""The vector-index interface and its registry, ``INDEXES`` (flat, fp16, int8, binary, pq, hnsw; ``mrl-N``
is built by :func:`~embedroute.index.factory.make_index`)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..registry import Registry


class VectorIndex(ABC):
    """Inner-product search over vectors addressed by int64 ids."""

    kind: str

    def __init__(self, dim: int, **params: Any) -> None:
        self.dim = dim
        self.params = params

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None:
        """Add ``vectors`` (one row each) under these int64 ``ids``."""

    @abstractmethod
    def remove(self, ids: np.ndarray) -> None:
        """Drop the vectors of these ids; ids not in the index are ignored."""

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, ids)`` of shape ``(n_queries, k)``; missing slots have id -1."""

    @abstractmethod
    def __len__(self) -> int: ...

    def config(self) -> dict[str, Any]:
        """What this index is (kind, dimension and its parameters), as saved with the expert's config."""
        return {"kind": self.kind, "dim": self.dim, **self.params}

    #: whether the index keeps full-precision vectors to rescore its compressed candidates (``rescore``)
    rescorable: bool = False
    #: rescore the top ``k x rescore`` candidates with the full-precision vectors (0: no rescoring)
    rescore: int = 0

    @property
    def ef_search(self) -> int | None:
        """A graph index's efSearch (the floor for filtered traversal); None for indexes without one."""
        return None

    def full_vectors(self) -> tuple[np.ndarray, np.ndarray] | None:
        """``(row ids, full-precision vectors)`` kept beside a compressed index (saved with it, memory-mapped
        when reopened); None when the index keeps its vectors only in its own structure."""
        return None

    def bytes_per_vector(self) -> float:
        """Bytes of RAM each vector takes in what a search scans: float32 here; compressed indexes less."""
        return 4.0 * self.dim

    def compact(self) -> int:
        """Rebuild without the deleted entries the index still keeps (tombstones) and return how many
        were dropped; an index that deletes in place keeps none, and returns 0."""
        return 0

    #: whether rebuilding is costly enough to keep a built copy on disk (ANN graphs, trained codebooks)
    persist: bool = False
    #: whether a saved copy keeps the full-precision vectors beside it (:meth:`full_vectors`), memory-mapped
    #: when reopened (so it opens without reading the store); False where :meth:`restore` takes the store's
    vectors_beside: bool = False

    def dump(self) -> bytes:
        """The built structure, serialised (for indexes with ``persist``)."""
        raise NotImplementedError

    def restore(self, blob: bytes, ids: np.ndarray | None, vectors: np.ndarray | None) -> None:
        """Reinstate a dumped structure built over exactly ``ids``/``vectors``: the memory-mapped copy
        beside it (``vectors_beside``) or the store's."""
        raise NotImplementedError

    def recall_at(self, k: int = 10, sample: int = 100, seed: int = 0, noise: float = 1.0) -> float:
        """recall@k of this index against exact search over all its vectors, for ``sample`` queries made
        from stored vectors by :func:`perturbed` (Gaussian noise of expected norm ``noise`` x the
        vector's, then renormalised; the default puts a query at cosine about 0.71 from its source).

        A stored vector used as it is finds itself, whatever the index, and an index that reaches
        only what lies on top of a query would pass; a perturbed copy is near its source and its
        neighbours but is none of them, as a real query is."""
        ids = self._all_ids()
        if len(ids) == 0:
            return 1.0
        rng = np.random.default_rng(seed)
        pick = np.sort(rng.choice(ids, min(sample, len(ids)), replace=False))
        queries = perturbed(self.vectors_of(pick), noise, rng)
        _, truth = self._exact(queries, k, ids)
        _, found = self.search(queries, k)
        return float(np.mean([len(set(f[f >= 0]) & set(t)) / len(t) for f, t in zip(found, truth)]))

    def _all_ids(self) -> np.ndarray:
        raise NotImplementedError

    # -- filtered search (plans from ``planner.choose``) ----------------------------------------
    def vectors_of(self, ids: np.ndarray) -> np.ndarray:
        """Full-precision vectors of the given ids (for exact search over an allowed set)."""
        raise NotImplementedError

    def _search_with_selector(
        self, queries: np.ndarray, k: int, allowed: np.ndarray, params: dict[str, Any]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Filtering during the index's own traversal; indexes without it search exactly."""
        return self._exact(queries, k, allowed)

    def _exact(self, queries: np.ndarray, k: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        vecs = self.vectors_of(allowed)
        scores = np.asarray(queries, dtype=np.float32) @ vecs.T
        k = min(k, len(allowed))
        top = (
            np.argpartition(-scores, k - 1, axis=1)[:, :k]
            if k < len(allowed)
            else np.tile(np.arange(len(allowed)), (len(queries), 1))
        )
        part = np.take_along_axis(scores, top, axis=1)
        order = np.argsort(-part, axis=1, kind="stable")
        top = np.take_along_axis(top, order, axis=1)
        return np.take_along_axis(scores, top, axis=1), allowed[top]

    def search_filtered(
        self, queries: np.ndarray, k: int, allowed: np.ndarray, plan: Any
    ) -> tuple[np.ndarray, np.ndarray]:
        """Top-``k`` among ``allowed`` ids (sorted) following ``plan``; -1 ids pad missing slots."""
        queries = np.ascontiguousarray(queries, dtype=np.float32)
        n = len(queries)
        if plan.kind == "empty" or len(allowed) == 0:
            return np.zeros((n, 0), dtype=np.float32), np.zeros((n, 0), dtype=np.int64)
        if plan.kind == "unfiltered":
            return self.search(queries, k)
        if plan.kind == "exact-allowed":
            return self._exact(queries, k, allowed)
        if plan.kind == "index-filtered":
            return self._search_with_selector(queries, k, allowed, plan.params)
        scores, ids = self.search(queries, plan.params["depth"])  # post-filter
        keep = np.isin(ids, allowed)
        out_s = np.full((n, k), -np.inf, dtype=np.float32)
        out_i = np.full((n, k), -1, dtype=np.int64)
        for q in range(n):
            s, i = scores[q][keep[q]][:k], ids[q][keep[q]][:k]
            if len(i) < min(k, len(allowed)):  # oversampling fell short: exact for this query
                s, i = (a[0] for a in self._exact(queries[q : q + 1], k, allowed))
                plan.params["fallbacks"] = plan.params.get("fallbacks", 0) + 1
            out_s[q, : len(i)], out_i[q, : len(i)] = s, i
        return out_s, out_i


def perturbed(vectors: np.ndarray, noise: float, rng: np.random.Generator) -> np.ndarray:
    """Unit-length copies of ``vectors`` after adding isotropic Gaussian noise whose expected norm is
    ``noise`` x each vector's norm (per coordinate, standard deviation ``noise x |v| / sqrt(dim)``).

    >>> q = perturbed(np.eye(3, dtype=np.float32), 1.0, np.random.default_rng(0))
    >>> bool(np.allclose(np.linalg.norm(q, axis=1), 1.0)), bool((q != np.eye(3)).all())
    (True, True)
    """
    v = np.asarray(vectors, dtype=np.float32)
    scale = np.linalg.norm(v, axis=1, keepdims=True) * (noise / np.sqrt(max(v.shape[1], 1)))
    q = v + rng.standard_normal(v.shape).astype(np.float32) * scale
    return q / np.maximum(np.linalg.norm(q, axis=1, keepdims=True), 1e-12)


INDEXES: Registry[VectorIndex] = Registry("index")
