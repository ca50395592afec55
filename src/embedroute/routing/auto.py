"""``auto``: the one-expert router with the best cross-validated nDCG@10 on the training queries.

Written here. Which routing rule wins depends on the experts and the data (on our three BEIR sets the
paper's ``pilot`` lost to ``pilot-nearest`` with general experts and to ``classifier`` and the pilot
variants with domain adapters; BENCHMARKS.md, "Routing"), so ``auto`` measures each candidate with
:func:`~embedroute.routing.cv.cross_validate` on the routing data it is fitted on, never on test
queries, and routes with the winner (the first candidate on a tie); a routing encoder fitted on the
training queries (``tfidf``) is re-fitted inside each fold there, so no held-out query shapes the
encoding it is scored under. Its state records every candidate's figure, so a user can see why it
chose what it chose.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import override

from ..errors import InputError
from .base import ROUTERS, Router, RoutingData

#: the routers ``auto`` compares: the paper's rule first, so that it wins ties
CANDIDATES = ("pilot", "pilot-nearest", "dataset", "classifier", "pilot@weight=size", "pilot@min_share=0.15")


class AutoRouter(Router):
    """Routes with whichever one-expert rule cross-validates best on the routing data it is fitted on; ``choice`` and
    ``train_cv`` say which and why."""

    name = "auto"
    accepts = frozenset({"folds", "seed"})

    @override
    def fit(self, data: RoutingData) -> AutoRouter:
        from .cv import cross_validate
        from .factory import make_router

        folds, seed = int(self.params.get("folds", 5)), int(self.params.get("seed", 0))
        if not 2 <= folds <= len(data.datasets):
            raise InputError(
                f"auto router: folds must be 2..{len(data.datasets)} (the training queries), got {folds}",
                field="router",
            )
        train_cv = {c: cross_validate(c, data, folds=folds, seed=seed) for c in CANDIDATES}
        self.train_cv = train_cv
        # max keeps the first of equals; every candidate picks one expert, so none scores None
        self.choice = max(CANDIDATES, key=lambda c: float(train_cv[c] or 0.0))
        self.inner = make_router(self.choice).fit(data)
        self.experts = self.inner.experts
        return self

    @override
    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        return self.inner.scores(embeddings)

    @override
    def state(self) -> dict[str, Any]:
        return super().state() | {"choice": self.choice, "train_cv": self.train_cv, "inner": self.inner.state()}


ROUTERS.register("auto", AutoRouter)
