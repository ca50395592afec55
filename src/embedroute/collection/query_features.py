"""A collection's query-performance-prediction features: the routing features of
:mod:`embedroute.routing.features`, computed by searching this collection with its cheap experts.

The lexical side is the collection's first expert with term statistics (BM25: its top 100, and the
document frequencies of the query's terms); the dense side is the collection's first dense expert's top 10
(the default routing expert). A live query routed to the dense expert shares its model pass with the
features' search (``Expert.sharing_query_passes``). Training queries,
pseudo-queries and live queries all get their features here, from the collection they are routed in,
so a router never sees features made another way than those it routes by. Hand-written glue over ``search_batch``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Protocol

import numpy as np

from ..errors import InputError
from ..experts.base import Expert
from ..routing.features import FEATURE_NAMES, RankedList, query_features, route_costs
from .results import SearchResult


class Searchable(Protocol):
    """What the features need of a collection (a :class:`~embedroute.collection.Collection` is one):
    its experts and ``search_batch``. Declared here so that this module does not import the collection."""

    @property
    def experts(self) -> list[str]:
        """Names of the collection's experts."""
        ...

    def expert(self, name: str | None = None) -> Expert:
        """The expert called ``name``."""
        ...

    def search_batch(
        self,
        queries: Sequence[str],
        k: int = 10,
        *,
        expert: str | None = None,
        fetch: bool = True,
        filter: dict[str, Any] | None = None,  # noqa: A002
    ) -> list[SearchResult]:
        """Top ``k`` of each query by one expert."""
        ...


#: BM25 list depth (for the reciprocal rank of the dense top document) and the dense list depth
LEXICAL_DEPTH, DENSE_DEPTH = 100, 10


def pick_feature_experts(experts: Mapping[str, Expert]) -> tuple[str, str] | None:
    """The first expert with term statistics (BM25) and the first dense expert of ``experts`` (name ->
    expert, in the collection's order), whose searches make the features; None when either is missing."""
    lexical = next((n for n, e in experts.items() if e.has_term_statistics), None)
    dense = next((n for n, e in experts.items() if e.kind == "dense"), None)
    return (lexical, dense) if lexical and dense else None


def present_feature_experts(col: Searchable) -> tuple[str, str] | None:
    """:func:`pick_feature_experts` of the collection's experts."""
    return pick_feature_experts({n: col.expert(n) for n in col.experts})


def feature_experts(col: Searchable) -> tuple[str, str]:
    """The collection's BM25 expert and dense routing expert, which the features search; an InputError
    naming what to add when it lacks either."""
    found = present_feature_experts(col)
    if found is None:
        lexical = any(col.expert(n).has_term_statistics for n in col.experts)
        missing = "dense expert" if lexical else "bm25 expert"
        raise InputError(
            f"query-performance routing (qpp) reads BM25's and a dense expert's results; the collection has no "
            f"{missing}: add one (add_expert) or use another router",
            field="router",
        )
    return found


def has_feature_experts(col: Searchable) -> bool:
    """Whether ``col`` has the BM25 and dense experts the features search."""
    return present_feature_experts(col) is not None


def collection_route_costs(col: Searchable) -> dict[str, float] | None:
    """Model passes a query routed on features costs per expert of ``col`` (None: no features here)."""
    found = present_feature_experts(col)
    if found is None:
        return None
    passes = {n: float(col.expert(n).query_model_passes) for n in col.experts}
    return route_costs(passes, found[1])


def collection_query_features(col: Searchable, texts: Sequence[str]) -> np.ndarray:
    """``(len(texts), len(FEATURE_NAMES))`` features of each query, searching ``col``."""
    if not texts:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    lexical, dense = feature_experts(col)
    lex = col.search_batch(list(texts), LEXICAL_DEPTH, expert=lexical, fetch=False)
    den = col.search_batch(list(texts), DENSE_DEPTH, expert=dense, fetch=False)
    stats = col.expert(lexical).term_statistics(list(texts))
    rows = [
        query_features(
            t,
            s.words,
            s.document_frequencies,
            s.documents,
            RankedList([h.id for h in a.hits], np.array([h.score for h in a.hits])),
            RankedList([h.id for h in b.hits], np.array([h.score for h in b.hits])),
            s.k1,
        )
        for t, s, a, b in zip(texts, stats, lex, den)
    ]
    return np.vstack(rows)
