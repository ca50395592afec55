"""Pilot-embedding routers (RouterRetriever, Lee et al., AAAI 2025, arXiv 2409.02685, Algorithm 1).

Hand-written: no library implements pilot routing. For each training dataset and each expert, the
centroid of the routing embeddings of the queries that expert wins is a pilot vector (at most T x T).
``pilot`` (the paper) scores an expert by the mean similarity of the query to its pilots;
``pilot-nearest`` (the released code) takes the expert owning the single most similar pilot.

Variants (not the paper's, selectable as parameters): ``per_group=K`` k-means pilots per group;
``weight=size`` a size-weighted log-sum-exp whose temperature follows the routing encoder's spread of
similarities (``tau_rel`` x that spread, or an absolute ``tau``); ``min_share=S`` keeps only the pilots
whose group holds at least share ``S`` of its dataset's training queries (each dataset's largest group
is always kept), a noise floor against pilots built from a handful of queries that one expert happened
to win.

When neither ``tau`` nor ``tau_rel`` is given, ``weight=size`` chooses ``tau_rel`` at fit time from the
fixed grid ``TAU_REL_GRID`` by its own cross-validated nDCG@10 on the routing data it is fitted on
(:func:`~embedroute.routing.cv.cross_validate`, the first grid value on a tie), never on test queries.
The router then records the rule it chose as ``choice`` (``pilot@weight=size;tau_rel=X``, which a
collection saves as the router's rule and re-fits on load) and each grid value's figure as ``train_cv``,
as ``auto`` does.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import override

from ..errors import InputError
from .base import ROUTERS, Router, RoutingData, mean_row, n_rows, reduce_by_owner, similarities


def _centroids(group: Any, k: int, seed: int = 0) -> list[np.ndarray]:
    if k <= 1 or n_rows(group) <= k:
        return [mean_row(group)]
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(group)
    return [np.asarray(c, dtype=np.float32) for c in km.cluster_centers_]


def build_pilots(
    data: RoutingData, per_group: int = 1, min_share: float = 0.0
) -> tuple[np.ndarray, list[str], list[str], list[int]]:
    """Pilot vectors with their expert, dataset and group size.

    ``per_group`` > 1 clusters each (dataset, expert) group with k-means into that many pilots (the
    paper found one centroid best, App. C.1). ``min_share`` > 0 drops groups smaller than that share of
    their dataset's training queries, except each dataset's largest group.
    """
    if not 0.0 <= min_share <= 1.0:
        raise InputError(f"pilot router: min_share must be between 0 and 1, got {min_share}", field="router")
    winners = data.winners()
    vecs, owners, sets, sizes = [], [], [], []
    for d in sorted(set(data.datasets)):
        in_d = np.array([x == d for x in data.datasets])
        counts = [int((in_d & (winners == j)).sum()) for j in range(len(data.experts))]
        for j, expert in enumerate(data.experts):
            group = in_d & (winners == j)
            if counts[j] < min_share * int(in_d.sum()) and counts[j] < max(counts):
                continue
            if group.any():
                for c in _centroids(data.embeddings[group], per_group):
                    vecs.append(c / max(np.linalg.norm(c), 1e-12))
                    owners.append(expert)
                    sets.append(d)
                    sizes.append(int(group.sum()))
    dim = data.embeddings.shape[1]
    return (np.array(vecs, dtype=np.float32).reshape(-1, dim), owners, sets, sizes)


class PilotRouter(Router):
    """RouterRetriever's pilot-embedding router (Lee et al., AAAI 2025, Algorithm 1): an expert scores the mean
    similarity of the query to its pilot centroids."""

    name = "pilot"
    score_meaning = "mean similarity to the expert's pilot embeddings"
    accepts = frozenset({"per_group", "weight", "tau", "tau_rel", "min_share"})
    #: the ``tau_rel`` values ``weight=size`` chooses among by cross-validation on its training queries,
    #: from near the nearest pilot's score (small) to near a size-weighted mean (large)
    TAU_REL_GRID = (0.03, 0.1, 0.3, 1.0)
    #: folds of that cross-validation (fewer when there are fewer training queries)
    TAU_FOLDS = 5

    @override
    def fit(self, data: RoutingData) -> PilotRouter:
        if self.params.get("weight", "size") != "size":
            raise InputError(
                f"pilot router: weight must be 'size' (or left out for the paper's mean), "
                f"got {self.params['weight']!r}",
                field="router",
            )
        self.experts = list(data.experts)
        self.pilots, self.owners, self.pilot_datasets, self.sizes = build_pilots(
            data, int(self.params.get("per_group", 1)), float(self.params.get("min_share", 0.0))
        )
        self._owner_idx = np.array([self.experts.index(o) for o in self.owners], dtype=np.int64)
        self.tau = self._temperature(data) if self.params.get("weight") == "size" else None
        return self

    def _temperature(self, data: RoutingData) -> float:
        """``tau`` if given, else ``tau_rel`` x the median over training queries of (most - least similar
        pilot): that spread differs several-fold between routing encoders, so a fixed tau is not portable
        across them. ``tau_rel`` is the given one or the grid value chosen by cross-validation
        (:meth:`_choose_tau_rel`)."""
        if "tau" in self.params:
            tau = float(self.params["tau"])
        else:
            tau_rel = float(self.params["tau_rel"]) if "tau_rel" in self.params else self._choose_tau_rel(data)
            self.tau_rel = tau_rel
            sims = self._similarities(data.embeddings)
            spread = float(np.median(sims.max(1) - sims.min(1))) if sims.size else 0.0
            # one pilot (every training query won by one expert), or pilots all as similar: no temperature
            # changes a route then, so tau_rel itself stands in rather than a temperature of 0
            tau = tau_rel * spread if spread > 0 else tau_rel
        if not tau > 0:
            raise InputError(
                "pilot router: weight=size needs a positive temperature (tau, tau_rel) and pilots "
                "whose similarities differ",
                field="router",
            )
        return tau

    def _choose_tau_rel(self, data: RoutingData) -> float:
        """The ``TAU_REL_GRID`` value of best cross-validated nDCG@10 on ``data`` (the first on a tie); sets
        ``train_cv`` (rule -> figure; ``None`` where a fold's pilots gave no usable temperature) and
        ``choice``, the rule with the chosen value."""
        from .cv import cross_validate

        n = len(data.datasets)
        if n < 2:
            raise InputError(
                "pilot router: weight=size chooses its temperature by cross-validation on the "
                "training queries and needs at least 2 of them (or give tau or tau_rel)",
                field="router",
            )
        fixed = ";".join(f"{k}={v}" for k, v in sorted(self.params.items()))
        rules = {x: f"{self.name}@{fixed};tau_rel={x}" for x in self.TAU_REL_GRID}
        self.train_cv: dict[str, float | None] = {}
        for rule in rules.values():
            try:
                self.train_cv[rule] = cross_validate(rule, data, folds=min(self.TAU_FOLDS, n))
            except InputError:  # a fold whose pilots' similarities do not differ
                self.train_cv[rule] = None
        best = max(
            self.TAU_REL_GRID,
            key=lambda x: _or_minus_inf(self.train_cv[rules[x]]),
        )
        self.choice = rules[best]
        return best

    def _similarities(self, embeddings: Any) -> np.ndarray:
        return similarities(embeddings, self.pilots)

    @override
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        sims = self._similarities(embeddings)
        if self.params.get("weight") == "size":
            return self._size_weighted(sims)
        return reduce_by_owner(sims, self._owner_idx, len(self.experts), "mean")

    def _size_weighted(self, sims: np.ndarray) -> np.ndarray:
        """A variant (not the paper's): log sum over an expert's pilots of group size x exp(sim / tau), so
        the pilots of the query's own domain dominate and, within it, the expert winning most of its
        training queries; ``pilot@weight=size`` (tau from the training spread, ``tau_rel`` chosen by
        cross-validation), ``...;tau_rel=0.1`` or ``...;tau=0.05``."""
        tau = self.tau
        logits = sims / tau + np.log(np.asarray(self.sizes, dtype=np.float64))[None, :]
        top = logits.max(axis=1, keepdims=True)
        out = np.full((len(sims), len(self.experts)), -np.inf)
        for j in range(len(self.experts)):
            cols = self._owner_idx == j
            if cols.any():
                out[:, j] = np.log(np.exp(logits[:, cols] - top).sum(axis=1)) + top[:, 0]
        return out * tau

    @override
    def state(self) -> dict[str, Any]:
        return super().state() | {
            "pilots": self.pilots.tolist(),
            "owners": self.owners,
            "pilot_datasets": self.pilot_datasets,
            "sizes": self.sizes,
            "tau": self.tau,
            "tau_rel": getattr(self, "tau_rel", None),
            "choice": getattr(self, "choice", None),
            "train_cv": getattr(self, "train_cv", None),
        }


class PilotNearestRouter(PilotRouter):
    """The released RouterRetriever code's rule: route to the expert owning the single most similar pilot."""

    name = "pilot-nearest"
    score_meaning = "similarity to the expert's nearest pilot embedding"

    @override
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        return reduce_by_owner(self._similarities(embeddings), self._owner_idx, len(self.experts), "max")


ROUTERS.register("pilot", PilotRouter)
ROUTERS.register("pilot-nearest", PilotNearestRouter)


def _or_minus_inf(x: float | None) -> float:
    """A CV figure to maximise, None (no figure) last."""
    return -np.inf if x is None else float(x)
