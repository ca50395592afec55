"""The expert interface: one way of representing and searching the collection's documents.

A dense expert stores one vector per document; a lexical expert (BM25) builds its index from the
stored texts. The collection owns the data; an expert owns only its in-memory search structure.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import Any

import numpy as np


class Expert(ABC):
    name: str
    kind: str  # "dense" | "sparse" | "lexical" | "multivector"
    #: whether the collection must store a vector per document for this expert
    stores_vectors: bool = False
    dim: int = 0

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """What this expert is (model, weight hash, prompts, dims, parameters, versions)."""

    def index_config(self) -> dict[str, Any] | None:
        """The vector index this expert searches (kind, compression, rescoring), if it has one; cheap,
        unlike :meth:`config`, which hashes model weights."""
        index = getattr(self, "_index", None)
        return index.config() if index is not None and hasattr(index, "config") else None

    def spec(self) -> dict[str, Any]:
        """How to recreate this expert with :func:`make_expert` (saved in the manifest)."""
        return {"name": self.name, "source": self.source, "options": dict(self.options)}

    source: str = ""
    options: dict[str, Any] = {}
    #: model passes one query costs this expert (0: no model, as BM25); what routing evaluation counts
    query_model_passes: int = 1

    def embed_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> Any:
        """Document representations to store (``None`` for experts that keep none)."""
        return None

    # -- how stored representations are serialised (experts with ``stores_vectors``) -------------
    def to_blobs(self, reps: Any) -> list[bytes]:
        raise NotImplementedError

    def from_blobs(self, blobs: Sequence[bytes]) -> Any:
        raise NotImplementedError

    def check_blob(self, blob: bytes) -> str | None:
        """A problem with one stored blob (wrong size, NaN, ...), or ``None``."""
        return None

    @abstractmethod
    def load(self, ids: np.ndarray, texts: Sequence[str], reps: Any) -> None:
        """Build the search structure from everything stored (replaces what was there)."""

    @abstractmethod
    def add(self, ids: np.ndarray, texts: Sequence[str], reps: Any) -> None: ...

    @abstractmethod
    def remove(self, ids: np.ndarray) -> None: ...

    @abstractmethod
    def search(self, queries: Sequence[str], k: int, *, allowed: np.ndarray | None = None,
               estimate: float | None = None) -> SearchBatch:
        """Top-``k`` document row ids and scores per query, among the sorted row ids ``allowed`` if given
        (``estimate``: the filter's estimated selectivity, for planning)."""


def encode_then_search(encoder: Any, search: Any, queries: Sequence[str], k: int, *,
                       allowed: np.ndarray | None, estimate: float | None) -> SearchBatch:
    """Encode ``queries`` as queries, then ``search(encoded, k, ...)``; the batch records the encode time."""
    import time

    t0 = time.perf_counter()
    encoded = encoder.encode_queries(queries)
    t1 = time.perf_counter()
    batch = search(encoded, k, allowed=allowed, estimate=estimate)
    batch.encode_ms = (t1 - t0) * 1000
    return batch


class SearchBatch:
    """Per-query ``ids``/``scores`` arrays plus timings in milliseconds (``encode_ms``, ``search_ms``)."""

    __slots__ = ("ids", "scores", "encode_ms", "search_ms", "plan")

    def __init__(self, ids: list[np.ndarray], scores: list[np.ndarray], encode_ms: float, search_ms: float,
                 plan: dict[str, Any] | None = None):
        self.ids = ids
        self.scores = scores
        self.encode_ms = encode_ms
        self.search_ms = search_ms
        self.plan = plan


def top_k_masked(scores: np.ndarray, ids: np.ndarray, k: int, allowed: np.ndarray | None) -> tuple[
        np.ndarray, np.ndarray]:
    """Best ``k`` positive scores of one query over all documents (``ids`` aligned), within ``allowed``."""
    if allowed is not None:
        scores = np.where(np.isin(ids, allowed), scores, 0.0)
    k = min(k, len(scores))
    if k == 0:
        return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.float32)
    top = np.argpartition(-scores, k - 1)[:k] if k < len(scores) else np.arange(len(scores))
    top = top[np.argsort(-scores[top], kind="stable")]
    top = top[scores[top] > 0]
    return ids[top], scores[top].astype(np.float32)
