"""``fusion-adaptive@budget=B``: one expert when the router is sure, reciprocal-rank fusion when it is not.

Fusing every expert is the strongest fixed rule and the dearest; routing to one is cheap but pays for every
wrong call. Soft routing (RCT-MARS / CASR) matched fixed fusion only by fusing where the router is unsure.
Here the base router's margin (its best expert's score minus the runner-up's) measures how sure it is. The
query is sent to the base router's top expert when the margin is at least a threshold, else to its top
``k`` (default 2; ``k=0``: every expert), fused by RRF.

The threshold is set on the routing data, never on test queries: the base router's out-of-fold scores of
the training queries (:func:`~embedroute.routing.cv.out_of_fold_scores`, 5 folds) give the margins and the
routes a router meets on queries it has not seen. When the routing data knows what each expert costs
(``RoutingData.costs``: model passes, routing included) the threshold is the largest margin quantile whose
out-of-fold routes cost at most ``budget`` passes a query on average; fusing BM25 (no model pass) with the
dense routing expert (whose pass the query features paid for) costs no more than routing to one of them.
Otherwise ``budget`` counts experts searched, and the share ``(budget - 1) / (k - 1)`` is fused. The base
router is ``qpp`` when the routing data holds query features, else ``pilot`` (``base=NAME`` to choose).
Hand-written: no library routes this way.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import override

from ..errors import InputError
from .base import ROUTERS, Route, Router, RoutingData, is_sparse


def margins(scores: np.ndarray) -> np.ndarray:
    """Best score minus the runner-up per row (experts a router cannot score, -inf, left out).

    >>> margins(np.array([[0.3, 0.1, 0.2], [1.0, -np.inf, 1.0]])).round(3).tolist()
    [0.1, 0.0]
    """
    s = np.where(np.isfinite(scores), scores, np.nan)
    top2 = -np.sort(-np.nan_to_num(s, nan=-np.inf), axis=1)[:, :2]
    if top2.shape[1] < 2:  # one expert: nothing to be unsure between
        return np.full(len(top2), np.inf)
    out = top2[:, 0] - top2[:, 1]
    return np.where(np.isfinite(out), out, np.inf)


class AdaptiveFusionRouter(Router):
    """Routes to the base router's best expert when its margin clears a threshold set by train CV to meet an
    average-experts ``budget``; otherwise fuses its top ``k`` by RRF."""

    name = "fusion-adaptive"
    fused = True
    accepts = frozenset({"budget", "k", "base", "folds", "seed"})

    @override
    def fit(self, data: RoutingData) -> AdaptiveFusionRouter:
        from .cv import out_of_fold_scores
        from .factory import make_router

        try:
            budget = float(self.params.get("budget", 1.3))
            k = int(self.params.get("k", 2)) or len(data.experts)
            folds = int(self.params.get("folds", 5))
        except (TypeError, ValueError):
            raise InputError(
                f"fusion-adaptive: budget must be a number and k, folds integers, got {self.params}", field="router"
            ) from None
        n_exp = len(data.experts)
        if folds < 2:
            raise InputError(f"fusion-adaptive: folds must be at least 2, got {folds}", field="router")
        if budget < 1 or not 2 <= k <= max(n_exp, 2):
            raise InputError(
                f"fusion-adaptive: budget must be at least 1 and k 2..{n_exp} (0: all), got budget={budget}, "
                f"k={self.params.get('k', 2)}",
                field="router",
            )
        self.k = min(k, n_exp)
        self.base = str(self.params.get("base", "qpp" if data.features is not None else "pilot"))
        self.inner = make_router(self.base).fit(data)
        if self.inner.fused:
            raise InputError(f"fusion-adaptive: base router {self.base!r} fuses already; name a one-expert router")
        self.uses_features = self.inner.uses_features
        self.embeds_queries = self.inner.embeds_queries
        self.experts = self.inner.experts
        self.fuse_share = float(np.clip((budget - 1) / max(self.k - 1, 1), 0.0, 1.0))
        costed = data.costs is not None and all(e in data.costs for e in self.experts)
        if len(data.datasets) < folds or (not costed and self.fuse_share <= 0):
            self.threshold = np.inf if self.fuse_share >= 1 else -np.inf  # too few queries to set it on
            return self
        # the base router refitted per fold with the settings it chose on all the data (qpp: its penalty), so
        # that no fold runs the base's own cross-validation again
        oof = out_of_fold_scores(self.inner.fixed_spec(), data, folds=folds, seed=int(self.params.get("seed", 0)))
        m = margins(oof)
        if not np.isfinite(m).any():  # one expert left: nothing to fuse
            self.threshold, self.fuse_share = -np.inf, 0.0
            return self
        if not costed:
            self.threshold = float(np.quantile(m, self.fuse_share))
            return self
        assert data.costs is not None
        cost = np.array([data.costs[e] for e in self.experts])
        base = cost.min()  # the routing pass every query pays (the features' dense pass)
        order = np.argsort(-oof, axis=1, kind="stable")
        one = cost[order[:, 0]]
        many = base + (cost[order[:, : self.k]] - base).sum(axis=1)
        self.threshold, self.fuse_share = -np.inf, 0.0
        for share in np.linspace(0.0, 1.0, 101):  # the largest fused share within the budget
            t = np.inf if share >= 1 else float(np.quantile(m, share))
            if float(np.where(m < t, many, one).mean()) <= budget + 1e-9:
                self.threshold, self.fuse_share = t, float(share)
        return self

    @override
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        return self.inner.scores(embeddings, features)

    @override
    def route(self, embeddings: Any, features: np.ndarray | None = None) -> list[Route]:
        if self.uses_features and features is None:
            raise ValueError("router 'fusion-adaptive' routes by query features here: pass them")
        s = self.scores(embeddings if is_sparse(embeddings) else np.atleast_2d(embeddings), features)
        out = []
        for i, (row, m) in enumerate(zip(s, margins(s))):
            order = np.argsort(-row, kind="stable")[: 1 if m >= self.threshold else self.k]
            why = self.explain(row, None if features is None else features[i])
            out.append(Route([self.experts[j] for j in order], {e: float(v) for e, v in zip(self.experts, row)}, why))
        return out

    @override
    def explain(self, scores: np.ndarray, features: np.ndarray | None = None) -> dict[str, Any]:
        (m,) = margins(np.atleast_2d(scores))
        fused = bool(m < self.threshold)
        t = f"{self.threshold:.4f}" if np.isfinite(self.threshold) else "none (the budget lets every query fuse)"
        if not fused and not np.isfinite(self.threshold):
            t = "none (the budget lets no query fuse)"
        reason = (
            f"margin {m:.4f} below the threshold {t}: the {self.base} router is unsure, so its top {self.k} are fused"
            if fused
            else f"margin {m:.4f} at or above the threshold {t}: one expert"
        )
        finite = np.isfinite(self.threshold)
        return self.inner.explain(scores, features) | {
            "fused": fused,
            "margin": round(float(m), 4) if np.isfinite(m) else None,
            "threshold": round(self.threshold, 4) if finite else None,
            "reason": reason,
        }

    @override
    def state(self) -> dict[str, Any]:
        return super().state() | {
            "base": self.base,
            "k": self.k,
            "threshold": self.threshold if np.isfinite(self.threshold) else None,
            "fuse_share": self.fuse_share,
        }


ROUTERS.register("fusion-adaptive", AdaptiveFusionRouter)
