"""``auto``: the one-expert router with the best cross-validated nDCG@10 on the training queries.

Written here. Which routing rule wins depends on the experts and the data (on our three BEIR sets the
paper's ``pilot`` lost to ``pilot-nearest`` with general experts and to ``classifier`` and the pilot
variants with domain adapters; BENCHMARKS.md, "Routing"), so ``auto`` measures each candidate with
:func:`~embedroute.routing.cv.cross_validate` on the routing data it is fitted on, never on test
queries, and routes with the winner (the first candidate on a tie); ``qpp`` is a candidate when the
routing data holds query features (without them it cannot be fitted, so is not chosen), and so is
``hybrid`` (BM25 and the dense feature expert fused, at the cost of that dense expert's pass) when the
routing data holds its per-query figures; a routing
encoder fitted on the training queries (``tfidf``) is re-fitted inside each fold there, so no held-out
query shapes the encoding it is scored under. Its state records every candidate's figure, so a user can see why it
chose what it chose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import override

from ..errors import InputError
from .base import ROUTERS, Route, Router, RoutingData

#: the routers ``auto`` compares: the paper's rule first, so that it wins ties; ``hybrid`` (the fusion of the
#: feature experts, at the dense expert's one model pass) last, so that a one-expert rule wins a tie
CANDIDATES = (
    "pilot",
    "pilot-nearest",
    "dataset",
    "classifier",
    "pilot@weight=size",
    "pilot@min_share=0.15",
    "qpp",
    "hybrid",
)


class AutoRouter(Router):
    """Routes with whichever one-expert rule cross-validates best on the routing data it is fitted on; ``choice`` and
    ``train_cv`` say which and why."""

    name = "auto"
    accepts = frozenset({"folds", "seed"})

    @override
    def fit(self, data: RoutingData) -> AutoRouter:
        from .factory import make_router

        folds, seed = int(self.params.get("folds", 5)), int(self.params.get("seed", 0))
        if not 2 <= folds <= len(data.datasets):
            raise InputError(
                f"auto router: folds must be 2..{len(data.datasets)} (the training queries), got {folds}",
                field="router",
            )
        train_cv = {c: _cv_or_none(c, data, folds, seed) for c in CANDIDATES}
        self.train_cv = train_cv
        usable = [c for c in CANDIDATES if train_cv[c] is not None]
        if not usable:
            raise InputError("auto router: no candidate rule can be fitted on this routing data", field="router")
        # max keeps the first of equals
        self.choice = max(usable, key=lambda c: float(train_cv[c] or 0.0))
        self.inner = make_router(self.choice).fit(data)
        self.experts = self.inner.experts
        self.uses_features = self.inner.uses_features
        self.embeds_queries = self.inner.embeds_queries
        self.fused = self.inner.fused
        return self

    @override
    def route(self, embeddings: Any, features: np.ndarray | None = None) -> list[Route]:
        routes = self.inner.route(embeddings, features)
        for r in routes:
            r.why = r.why | {"chosen_rule": self.choice}
        return routes

    @override
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        return self.inner.scores(embeddings, features)

    @override
    def fixed_ndcg(self, data: RoutingData) -> np.ndarray | None:
        return self.inner.fixed_ndcg(data) if self.inner.fused else None

    @override
    def fixed_spec(self) -> str:
        return self.inner.fixed_spec()

    @override
    def explain(self, scores: np.ndarray, features: np.ndarray | None = None) -> dict[str, Any]:
        return self.inner.explain(scores, features) | {"chosen_rule": self.choice}

    @override
    def state(self) -> dict[str, Any]:
        return super().state() | {"choice": self.choice, "train_cv": self.train_cv, "inner": self.inner.state()}


def _cv_or_none(candidate: str, data: RoutingData, folds: int, seed: int) -> float | None:
    """The candidate's train CV, or None when it cannot be fitted on some fold's data (it is then not chosen)."""
    from .cv import cross_validate

    try:
        return cross_validate(candidate, data, folds=folds, seed=seed)
    except InputError:
        return None


ROUTERS.register("auto", AutoRouter)
