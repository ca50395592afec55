"""``qpp``: route each query to the expert predicted to do best on it, from query-performance features.

A per-expert regressor (scikit-learn's ``GradientBoostingRegressor``) learns, on the routing data, each
expert's per-query nDCG@10 minus the mean over experts (how much better or worse than the others that
expert does on this query, which removes how hard the query is) from the query's features
(:mod:`embedroute.routing.features`: term rarity, BM25's and the dense routing expert's score profiles,
their agreement). The query goes to the highest prediction. The features mean the same thing in every
collection, so a router fitted on one domain's queries (or on a collection's own pseudo-queries) carries
over to another, where pilot embeddings do not (LTRR, arXiv 2506.13743; query-performance prediction,
Carmel and Yom-Tov 2010). Each training query is weighted by one over its dataset's size, so every
dataset counts the same, as in the macro average the router is judged by.

The regressor's settings (``trees=150``, ``depth=3``, ``rate=0.05``, subsample 0.8, at least 20 queries per
leaf) are the usual small-tabular-data choices, fixed before any test query was scored; ``auto`` compares
this router with the others by cross-validation on the routing data only.

Routing costs: the features need the dense routing expert's pass, so a query sent to another model-based
expert costs two passes where one sent to the dense routing expert or to BM25 costs one
(``RoutingData.costs``). ``budget=B`` (default 1.1 passes a query) makes the router pay for that: it routes
by the prediction minus ``penalty`` x the expert's extra passes, with ``penalty`` the smallest value of
:data:`PENALTY_GRID` whose out-of-fold routing of the training queries gives the best nDCG@10 among those
that stay within the budget (the largest value when none does). ``penalty=X`` fixes it. A query for which
BM25 found nothing is never sent to BM25 alone. Hand-written: the glue and the target; scikit-learn does the
learning.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import override

from ..errors import InputError
from .base import ROUTERS, Router, RoutingData, n_rows
from .features import FEATURE_NAMES

#: the penalties per extra model pass ``budget`` chooses among (1 forbids any extra pass: predicted
#: differences of nDCG@10 never reach it)
PENALTY_GRID = (0.0, 0.005, 0.01, 0.02, 0.05, 0.1, 1.0)
#: the default budget: about one model pass a query
BUDGET = 1.1


def dataset_weights(datasets: list[str]) -> np.ndarray:
    """One over each query's dataset size: every dataset weighs the same in total.

    >>> dataset_weights(["a", "a", "b"]).tolist()
    [0.5, 0.5, 1.0]
    """
    sets = np.array(datasets)
    counts = {d: int((sets == d).sum()) for d in set(datasets)}
    return np.array([1.0 / counts[d] for d in datasets])


class QPPRouter(Router):
    """Routes to the expert whose predicted per-query nDCG@10 (a gradient-boosting regressor on
    query-performance features) is highest."""

    name = "qpp"
    uses_features = True
    embeds_queries = False  # the features' dense search embeds the query; no routing-encoder pass
    score_meaning = "predicted nDCG@10 minus the experts' mean, less a penalty per extra model pass"
    accepts = frozenset({"trees", "depth", "rate", "seed", "budget", "penalty"})

    @override
    def fit(self, data: RoutingData) -> QPPRouter:
        from sklearn.ensemble import GradientBoostingRegressor

        if data.features is None:
            raise InputError(
                "router 'qpp' learns from query features, which this routing data does not hold (fit it through "
                "fit_routers on a collection with a bm25 and a dense expert)",
                field="router",
            )
        if data.features.shape[1] != len(FEATURE_NAMES):
            raise InputError(
                f"router 'qpp': routing data has {data.features.shape[1]} features, expected {len(FEATURE_NAMES)}",
                field="router",
            )
        try:
            trees, depth = int(self.params.get("trees", 150)), int(self.params.get("depth", 3))
            rate, budget = float(self.params.get("rate", 0.05)), float(self.params.get("budget", BUDGET))
            float(self.params.get("penalty", 0.0))
        except (TypeError, ValueError):
            raise InputError(
                f"router 'qpp': trees, depth must be integers, rate, budget, penalty numbers, got {self.params}",
                field="router",
            ) from None
        if trees < 1 or depth < 1 or rate <= 0 or budget <= 0:
            raise InputError(
                "router 'qpp': trees and depth must be at least 1, rate and budget above 0", field="router"
            )
        self.experts = list(data.experts)
        lexical = data.feature_experts[0] if data.feature_experts else None
        self.lexical = lexical if lexical in self.experts else None
        target = data.scores - data.scores.mean(axis=1, keepdims=True)
        weights = dataset_weights(data.datasets)
        self.models = []
        for j in range(len(self.experts)):
            model = GradientBoostingRegressor(
                n_estimators=int(self.params.get("trees", 150)),
                max_depth=int(self.params.get("depth", 3)),
                learning_rate=float(self.params.get("rate", 0.05)),
                subsample=0.8,
                min_samples_leaf=20,
                random_state=int(self.params.get("seed", 0)),
            )
            self.models.append(model.fit(data.features, target[:, j], sample_weight=weights))
        self.extra = np.zeros(len(self.experts), dtype=np.float32)
        if data.costs is not None and all(e in data.costs for e in self.experts):
            cost = np.array([data.costs[e] for e in self.experts], dtype=np.float32)
            self.extra = cost - cost.min()
        self.penalty = self._penalty(data) if "penalty" not in self.params else float(self.params["penalty"])
        return self

    def _penalty(self, data: RoutingData) -> float:
        """The penalty per extra pass chosen on out-of-fold routes of the training queries (module docstring)."""
        from .cv import out_of_fold_scores

        if not self.extra.any() or len(data.datasets) < 5:
            return 0.0
        budget = float(self.params.get("budget", BUDGET))
        plain = ";".join(f"{k}={v}" for k, v in self.params.items() if k not in ("budget", "penalty"))
        oof = out_of_fold_scores(f"qpp@{plain + ';' if plain else ''}penalty=0", data)
        cost = self.extra + np.array([data.costs[e] for e in self.experts]).min()  # type: ignore[index]
        sets = np.array(data.datasets)
        best: tuple[float, float] | None = None
        for lam in PENALTY_GRID:
            chosen = (oof - lam * self.extra).argmax(1)
            got = data.scores[np.arange(len(chosen)), chosen]
            ndcg = float(np.mean([got[sets == d].mean() for d in sorted(set(data.datasets))]))
            if float(cost[chosen].mean()) <= budget + 1e-9 and (best is None or ndcg > best[1]):
                best = (lam, ndcg)
        return PENALTY_GRID[-1] if best is None else best[0]

    @override
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        if features is None:
            raise ValueError("router 'qpp' routes by query features: pass them")
        x = np.atleast_2d(np.asarray(features, dtype=np.float32))
        if len(x) != n_rows(embeddings) and n_rows(embeddings):
            raise ValueError(f"{n_rows(embeddings)} queries but {len(x)} feature rows")
        out = np.column_stack([m.predict(x) for m in self.models]).astype(np.float32) - self.penalty * self.extra
        if self.lexical is not None and len(self.experts) > 1:  # BM25 found nothing: it cannot be the answer
            empty = x[:, FEATURE_NAMES.index("lex_empty")] > 0.5
            j = self.experts.index(self.lexical)
            out[empty, j] = out[empty].min(axis=1) - 1.0
        return out

    def weighing_most(self, top: int = 3) -> list[tuple[str, float]]:
        """The features that weigh most in the predictions (mean impurity importance over the experts'
        models), largest first: what an explanation of a qpp route names."""
        imp = np.mean([m.feature_importances_ for m in self.models], axis=0)
        order = np.argsort(-imp)[:top]
        return [(FEATURE_NAMES[i], round(float(imp[i]), 4)) for i in order]

    @override
    def fixed_spec(self) -> str:
        params = {k: v for k, v in self.params.items() if k not in ("budget", "penalty")} | {"penalty": self.penalty}
        return "qpp@" + ";".join(f"{k}={v}" for k, v in params.items())

    @override
    def explain(self, scores: np.ndarray, features: np.ndarray | None = None) -> dict[str, Any]:
        out = super().explain(scores, features)
        if features is not None:  # the query's own values of the features that weigh most
            top = self.weighing_most()
            out["features"] = {n: round(float(features[FEATURE_NAMES.index(n)]), 4) for n, _ in top}
        return out

    @override
    def state(self) -> dict[str, Any]:
        return super().state() | {"weighing_most": self.weighing_most(), "penalty": self.penalty}


ROUTERS.register("qpp", QPPRouter)
