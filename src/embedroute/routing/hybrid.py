"""``hybrid``: every query to the collection's BM25 and dense feature experts, fused by RRF.

Query-performance routing (``qpp``) already pays for one dense pass and one BM25 search per query to make
its features. Fusing those two result lists therefore costs no more model passes than sending the query to
the dense expert alone, and lexical-plus-dense fusion is the classic strong hybrid (Cormack et al.,
SIGIR 2009, for RRF; BEIR's hybrid baselines). This rule learns nothing: it is a candidate ``auto`` can
compare with the one-expert routers by cross-validation, because routing data carries every training
query's nDCG@10 of exactly this fusion (:attr:`~embedroute.routing.base.RoutingData.pair_scores`).
Hand-written: a few lines over :func:`~embedroute.routing.fusion.rrf`.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import override

from ..errors import InputError
from .base import ROUTERS, Route, Router, RoutingData, n_rows


class HybridRouter(Router):
    """Routes every query to the feature experts (BM25 and the dense routing expert), fused by RRF."""

    name = "hybrid"
    fused = True
    embeds_queries = False
    score_meaning = "1 for the BM25 and dense experts the query features search (fused), 0 for the others"

    @override
    def fit(self, data: RoutingData) -> HybridRouter:
        if data.feature_experts is None:
            raise InputError(
                "router 'hybrid' fuses the collection's BM25 and dense experts (the pair the query features "
                "search); this routing data names none: fit it through fit_routers on a collection with a bm25 "
                "and a dense expert",
                field="router",
            )
        self.experts = list(data.experts)
        self.pair = [e for e in data.feature_experts if e in self.experts]
        if len(self.pair) != 2:
            raise InputError(f"router 'hybrid': the routing data does not score both of {data.feature_experts}")
        return self

    @override
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        out = np.zeros((n_rows(embeddings), len(self.experts)), dtype=np.float32)
        for e in self.pair:
            out[:, self.experts.index(e)] = 1.0
        return out

    @override
    def route(self, embeddings: Any, features: np.ndarray | None = None) -> list[Route]:
        s = self.scores(embeddings)
        return [
            Route(list(self.pair), {e: float(v) for e, v in zip(self.experts, row)}, self.explain(row)) for row in s
        ]

    @override
    def fixed_ndcg(self, data: RoutingData) -> np.ndarray | None:
        return data.pair_scores if data.feature_experts is not None else None

    @override
    def explain(self, scores: np.ndarray, features: np.ndarray | None = None) -> dict[str, Any]:
        return super().explain(scores, features) | {
            "fused": True,
            "reason": f"{' and '.join(self.pair)} are searched for the query features anyway: fusing them costs "
            "no extra model pass",
        }


ROUTERS.register("hybrid", HybridRouter)
