"""A collection's query-performance-prediction features: the routing features of
:mod:`embedroute.routing.features`, computed by searching this collection with its cheap experts.

The lexical side is the collection's BM25 expert (its top 100, and the document frequencies of the
query's terms); the dense side is the routing expert's top 10 (the model that embeds queries for routing
anyway, so when a query is routed to it the pass is shared). Training queries, pseudo-queries and live
queries all get their features here, from the collection they are routed in, so a router never sees
features made another way than those it routes by. Hand-written glue over ``search_batch``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np

from ..errors import InputError
from ..experts.bm25 import BM25Expert
from ..routing.features import FEATURE_NAMES, RankedList, query_features, route_costs

if TYPE_CHECKING:
    from .collection import Collection

#: BM25 list depth (for the reciprocal rank of the dense top document) and the dense list depth
LEXICAL_DEPTH, DENSE_DEPTH = 100, 10


def feature_experts(col: Collection) -> tuple[str, str]:
    """The collection's BM25 expert and dense routing expert, which the features search; an InputError
    naming what to add when it lacks either."""
    lexical = next((n for n in col.experts if isinstance(col.expert(n), BM25Expert)), None)
    dense = next((n for n in col.experts if col.expert(n).kind == "dense"), None)
    if lexical is None or dense is None:
        missing = "a bm25 expert" if lexical is None else "a dense expert"
        raise InputError(
            f"query-performance routing (qpp) reads BM25's and a dense expert's results; the collection has no "
            f"{missing}: add one (add_expert) or use another router",
            field="router",
        )
    return lexical, dense


def has_feature_experts(col: Collection) -> bool:
    """Whether ``col`` has the BM25 and dense experts the features search."""
    try:
        feature_experts(col)
    except InputError:
        return False
    return True


def collection_route_costs(col: Collection) -> dict[str, float] | None:
    """Model passes a query routed on features costs per expert of ``col`` (None: no features here)."""
    if not has_feature_experts(col):
        return None
    passes = {n: float(col.expert(n).query_model_passes) for n in col.experts}
    return route_costs(passes, feature_experts(col)[1])


def collection_query_features(col: Collection, texts: Sequence[str]) -> np.ndarray:
    """``(len(texts), len(FEATURE_NAMES))`` features of each query, searching ``col``."""
    if not texts:
        return np.zeros((0, len(FEATURE_NAMES)), dtype=np.float32)
    lexical, dense = feature_experts(col)
    lex = col.search_batch(list(texts), LEXICAL_DEPTH, expert=lexical, fetch=False)
    den = col.search_batch(list(texts), DENSE_DEPTH, expert=dense, fetch=False)
    bm25 = col.expert(lexical)
    assert isinstance(bm25, BM25Expert)  # feature_experts chose it so
    stats = bm25.term_statistics(list(texts))
    rows = [
        query_features(
            t,
            s.words,
            s.document_frequencies,
            s.documents,
            RankedList([h.id for h in a.hits], np.array([h.score for h in a.hits])),
            RankedList([h.id for h in b.hits], np.array([h.score for h in b.hits])),
            bm25.k1,
        )
        for t, s, a, b in zip(texts, stats, lex, den)
    ]
    return np.vstack(rows)
