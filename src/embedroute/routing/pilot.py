"""Pilot-embedding routers (RouterRetriever, Lee et al., AAAI 2025, arXiv 2409.02685, Algorithm 1).

Hand-written: no library implements pilot routing. For each training dataset and each expert, the
centroid of the routing embeddings of the queries that expert wins is a pilot vector (at most T x T).
``pilot`` (the paper) scores an expert by the mean similarity of the query to its pilots;
``pilot-nearest`` (the released code) takes the expert owning the single most similar pilot.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from .base import ROUTERS, Router, RoutingData, reduce_by_owner


def _centroids(group: np.ndarray, k: int, seed: int = 0) -> list[np.ndarray]:
    if k <= 1 or len(group) <= k:
        return [group.mean(0)]
    from sklearn.cluster import KMeans

    km = KMeans(n_clusters=k, n_init=4, random_state=seed).fit(group)
    return list(km.cluster_centers_)


def build_pilots(data: RoutingData, per_group: int = 1) -> tuple[np.ndarray, list[str], list[str], list[int]]:
    """Pilot vectors with their expert, dataset and group size.

    ``per_group`` > 1 clusters each (dataset, expert) group with k-means into that many pilots (the
    paper found one centroid best, App. C.1).
    """
    winners = data.winners()
    vecs, owners, sets, sizes = [], [], [], []
    for d in sorted(set(data.datasets)):
        in_d = np.array([x == d for x in data.datasets])
        for j, expert in enumerate(data.experts):
            group = in_d & (winners == j)
            if group.any():
                for c in _centroids(data.embeddings[group], per_group):
                    vecs.append(c / max(np.linalg.norm(c), 1e-12))
                    owners.append(expert)
                    sets.append(d)
                    sizes.append(int(group.sum()))
    dim = data.embeddings.shape[1]
    return (np.array(vecs, dtype=np.float32).reshape(-1, dim), owners, sets, sizes)


class PilotRouter(Router):
    name = "pilot"

    def fit(self, data: RoutingData) -> PilotRouter:
        self.experts = list(data.experts)
        self.pilots, self.owners, self.pilot_datasets, self.sizes = build_pilots(
            data, int(self.params.get("per_group", 1)))
        self._owner_idx = np.array([self.experts.index(o) for o in self.owners], dtype=np.int64)
        return self

    def _similarities(self, embeddings: np.ndarray) -> np.ndarray:
        return np.asarray(embeddings, dtype=np.float32) @ self.pilots.T

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        sims = self._similarities(embeddings)
        if self.params.get("weight") == "size":
            return self._size_weighted(sims)
        return reduce_by_owner(sims, self._owner_idx, len(self.experts), "mean")

    def _size_weighted(self, sims: np.ndarray) -> np.ndarray:
        """A variant (not the paper's): log sum over an expert's pilots of group size x exp(sim / tau), so
        the pilots of the query's own domain dominate and, within it, the expert winning most of its
        training queries; ``pilot@weight=size;tau=0.05``."""
        tau = float(self.params.get("tau", 0.05))
        logits = sims / tau + np.log(np.asarray(self.sizes, dtype=np.float64))[None, :]
        top = logits.max(axis=1, keepdims=True)
        out = np.full((len(sims), len(self.experts)), -np.inf)
        for j in range(len(self.experts)):
            cols = self._owner_idx == j
            if cols.any():
                out[:, j] = np.log(np.exp(logits[:, cols] - top).sum(axis=1)) + top[:, 0]
        return out * tau

    def state(self) -> dict[str, Any]:
        return super().state() | {"pilots": self.pilots.tolist(), "owners": self.owners,
                                  "pilot_datasets": self.pilot_datasets, "sizes": self.sizes}


class PilotNearestRouter(PilotRouter):
    name = "pilot-nearest"

    def scores(self, embeddings: np.ndarray) -> np.ndarray:
        return reduce_by_owner(self._similarities(embeddings), self._owner_idx, len(self.experts), "max")


ROUTERS.register("pilot", PilotRouter)
ROUTERS.register("pilot-nearest", PilotNearestRouter)
