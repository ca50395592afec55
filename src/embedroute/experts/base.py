"""The expert interface: one way of representing and searching the collection's documents.

A dense expert stores one vector per document; a lexical expert (BM25) builds its index from the
stored texts. The collection owns the data; an expert owns only its in-memory search structure.

Besides building and searching, an expert declares what else it can do, each with a default for the
kinds that cannot: keep its built index beside the collection (``open_persisted`` / ``load_persisted``
/ ``save_persisted``), search another expert's document vectors (``documents_from``), measure its
index's recall (``index_recall``), and have its filtered-search plans calibrated (``thresholds``,
``calibrate_planner``). The collection calls these and never asks what class an expert is.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, Protocol

import numpy as np

from ..errors import InputError

if TYPE_CHECKING:
    from ..index.planner import Plan, Thresholds

#: what an expert's stored representation and search are: one vector per document (``dense``), BM25
#: over the texts (``lexical``), learned sparse vectors (``sparse``), per-token vectors (``multivector``)
ExpertKind = Literal["dense", "lexical", "sparse", "multivector"]


class QueryEncoder(Protocol):
    """Something that embeds query texts: a dense encoder (an array, one row per query), the ``tfidf``
    routing encoder (a sparse matrix), a token encoder (one matrix per query) or a dense expert (its
    encoder's array). Routing embeds queries with one of these, whatever it is."""

    def encode_queries(self, texts: Sequence[str]) -> Any:
        """Embed query texts, in whatever form this encoder's searches take."""


def unsupported(expert: Expert, what: str) -> InputError:
    """The error for asking ``expert`` to do what its kind cannot (``what``: the sentence saying so)."""
    return InputError(f"expert {expert.name!r} is {expert.kind}; {what}", field="expert")


@dataclass(frozen=True)
class TermStatistics:
    """One query against a lexical index: how many content words it has (stop words removed), the document
    frequency of each that the index knows (unknown words have none), how many documents there are, and the
    index's BM25 ``k1`` (one term's score is at most its idf x (k1 + 1))."""

    words: int
    document_frequencies: np.ndarray
    documents: int
    k1: float


class Expert(ABC):
    """One way of representing and searching the collection's documents (see the module docstring): built from what
    the collection stores, searched by query text."""

    name: str
    kind: ExpertKind
    #: whether the collection must store a vector per document for this expert
    stores_vectors: bool = False
    dim: int = 0
    #: the dense expert whose stored document vectors this one searches with its own query encoder
    #: (a query-side expert, which stores none), or ``None``
    documents_from: str | None = None
    #: the filtered-search planner's thresholds, for experts whose filtered searches are planned
    #: (``None``: this kind's are not, so there is nothing to calibrate or read from ``planner.json``)
    thresholds: Thresholds | None = None

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """What this expert is (model, weight hash, prompts, dims, parameters, versions)."""

    def index_config(self) -> dict[str, Any] | None:
        """The vector index this expert searches (kind, compression, rescoring), if it has one; cheap,
        unlike :meth:`config`, which hashes model weights."""
        return None

    def spec(self) -> dict[str, Any]:
        """How to recreate this expert with :func:`make_expert` (saved in the manifest)."""
        return {"name": self.name, "source": self.source, "options": dict(self.options)}

    source: str = ""
    options: dict[str, Any] = {}
    #: model passes one query costs this expert (0: no model, as BM25); what routing evaluation counts
    query_model_passes: int = 1
    #: whether :meth:`term_statistics` works (a BM25 index): query-performance routing reads them
    has_term_statistics: bool = False

    def term_statistics(self, queries: Sequence[str]) -> list[TermStatistics]:
        """Each query's content words and their document frequencies in this expert's index (experts with
        ``has_term_statistics``): the pre-retrieval side of query-performance prediction."""
        raise unsupported(self, "it keeps no term statistics (a bm25 expert does)")

    def embed_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> Any:
        """Document representations to store (``None`` for experts that keep none)."""
        return None

    @property
    def normalizes_vectors(self) -> bool:
        """Whether document vectors supplied with the documents are L2-normalised before they are stored,
        as the expert's encoder normalises its own (dense experts whose encoder does not store them as given)."""
        return True

    # -- how stored representations are serialised (experts with ``stores_vectors``) -------------
    def to_blobs(self, reps: Any) -> list[bytes]:
        """The stored form of document representations (experts with ``stores_vectors``), one blob per document."""
        raise NotImplementedError

    def from_blobs(self, blobs: Sequence[bytes]) -> Any:
        """The representations back from their stored blobs (the inverse of :meth:`to_blobs`)."""
        raise NotImplementedError

    def check_blob(self, blob: bytes) -> str | None:
        """A problem with one stored blob (wrong size, NaN, ...), or ``None``."""
        return None

    @abstractmethod
    def load(self, ids: np.ndarray, texts: Sequence[str], reps: Any) -> None:
        """Build the search structure from everything stored (replaces what was there)."""

    @abstractmethod
    def add(self, ids: np.ndarray, texts: Sequence[str], reps: Any) -> None:
        """Add the documents with these row ids to the search structure (``reps``: their representations, if stored)."""

    @abstractmethod
    def remove(self, ids: np.ndarray) -> None:
        """Drop the documents with these row ids from the search structure (a delete, or the old half of
        an upsert); every kind can."""

    @abstractmethod
    def __len__(self) -> int:
        """How many documents the search structure holds."""

    @abstractmethod
    def search(
        self, queries: Sequence[str], k: int, *, allowed: np.ndarray | None = None, estimate: float | None = None
    ) -> SearchBatch:
        """Top-``k`` document row ids and scores per query, among the sorted row ids ``allowed`` if given
        (``estimate``: the filter's estimated selectivity, for planning)."""

    def prepare(self) -> None:
        """Build now what the next search would otherwise build (called after each write, so that no query
        waits for an index build); kinds whose updates are applied as they come need nothing."""
        return None

    @property
    def updates_in_place(self) -> bool:
        """Whether a committed write can be applied to the loaded structure (:meth:`add`, :meth:`remove`);
        False (e.g. BM25 opened from disk without its texts): the structure is rebuilt on its next use."""
        return True

    # -- a built index kept beside the collection (``folder``: its ``indexes/``) --------------------
    # Kinds whose structure is cheap to rebuild keep nothing: they open nothing, build from the store
    # and save nothing.
    def open_persisted(self, folder: Path, generation: int, count: int) -> bool:
        """Open the saved copy without reading the store; True only when it was built at this store
        ``generation`` over ``count`` documents and is intact."""
        return False

    def load_persisted(self, ids: np.ndarray, reps: Any, folder: Path, generation: int) -> bool:
        """Build from the stored ``reps``, reusing a saved copy made at this ``generation`` where the kind
        keeps one; True if the saved copy was used (False: built, so worth saving)."""
        self.load(ids, [], reps)
        return False

    def save_persisted(self, folder: Path, generation: int) -> None:
        """Save the built structure for the next open (a folder that cannot take it is never an error)."""
        return None

    def compact(self) -> int:
        """Rebuild the search structure without the deleted documents it still keeps (an ANN graph's
        tombstones) and return how many were dropped; kinds that delete in place return 0."""
        return 0

    # -- checks and tuning of an approximate vector index ---------------------------------------------
    def index_recall(self, k: int = 10, sample: int = 100) -> float:
        """Recall@``k`` of the index against exact search, on ``sample`` queries made from its own vectors
        (:meth:`VectorIndex.recall_at`)."""
        raise unsupported(self, "it has no vector index whose recall could be measured")

    def calibrate_planner(self, *, k: int = 10, queries: int = 50, seed: int = 0) -> Thresholds:
        """Time the filtered-search plans with ``queries`` of the index's own vectors as queries, keep
        the measured :attr:`thresholds` and return them (:func:`embedroute.index.planner.calibrate`)."""
        raise unsupported(self, "calibration is for dense experts")

    @contextmanager
    def rescoring(self, multiplier: int | None) -> Iterator[None]:
        """Within the block, rescore compressed candidates ``multiplier`` x deep with full-precision vectors;
        kinds without a compressed index have nothing to change."""
        yield

    @contextmanager
    def sharing_query_passes(self) -> Iterator[None]:
        """Within the block, a query text this expert embeds again is not embedded again (routing's feature
        search and the routed search of the same query share one model pass); kinds that embed no query, or
        that do not share, have nothing to do."""
        yield


def encode_then_search(
    encoder: QueryEncoder,
    search: Any,
    queries: Sequence[str],
    k: int,
    *,
    allowed: np.ndarray | None,
    estimate: float | None,
) -> SearchBatch:
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

    def __init__(
        self,
        ids: list[np.ndarray],
        scores: list[np.ndarray],
        encode_ms: float,
        search_ms: float,
        plan: Plan | None = None,
    ):
        self.ids = ids
        self.scores = scores
        self.encode_ms = encode_ms
        self.search_ms = search_ms
        self.plan = plan


def top_k_masked(
    scores: np.ndarray, ids: np.ndarray, k: int, allowed: np.ndarray | None
) -> tuple[np.ndarray, np.ndarray]:
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
