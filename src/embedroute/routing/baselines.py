"""Baseline routers from RouterRetriever's Table 1 (arXiv 2409.02685).

``dataset`` (DatasetRouter): the nearest of ``n_per_dataset`` (100) sampled training queries gives a
dataset; route to that dataset's best expert. ``classifier`` (ClassificationHeadRouter): one T-way
logistic-regression head (scikit-learn) on the routing embedding, trained on the pilot labels.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from typing_extensions import override

from ..errors import InputError
from .base import ROUTERS, Router, RoutingData, is_sparse, n_rows, reduce_by_owner, similarities
from .pilot import PilotRouter


class DatasetRouter(Router):
    """RouterRetriever's DatasetRouter (Lee et al., AAAI 2025): the nearest sampled training query names a dataset,
    routed to that dataset's best expert."""

    name = "dataset"
    score_meaning = "similarity to the nearest sampled training query of a dataset this expert is best on"
    accepts = frozenset({"n_per_dataset", "seed"})

    @override
    def fit(self, data: RoutingData) -> DatasetRouter:
        n = int(self.params.get("n_per_dataset", 100))
        rng = np.random.default_rng(int(self.params.get("seed", 0)))
        self.experts = list(data.experts)
        best = data.dataset_best()
        idx, labels = [], []
        for d in sorted(set(data.datasets)):
            rows = np.flatnonzero(np.array([x == d for x in data.datasets]))
            pick = rng.choice(rows, size=min(n, len(rows)), replace=False)
            idx.extend(pick.tolist())
            labels.extend([self.experts.index(best[d])] * len(pick))
        self.samples = data.embeddings[np.array(idx)]
        self.labels = np.array(labels, dtype=np.int64)
        return self

    @override
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        sims = similarities(embeddings, self.samples)
        return reduce_by_owner(sims, self.labels, len(self.experts), "max")

    @override
    def state(self) -> dict[str, Any]:
        samples = self.samples.toarray() if is_sparse(self.samples) else self.samples
        return super().state() | {"samples": samples.tolist(), "labels": self.labels.tolist()}


class ClassifierRouter(Router):
    """RouterRetriever's ClassificationHeadRouter (Lee et al., AAAI 2025): a logistic-regression head on the routing
    embedding, trained on which expert won each query."""

    name = "classifier"
    score_meaning = "probability that this expert wins (logistic regression)"
    accepts = frozenset({"C"})

    @override
    def fit(self, data: RoutingData) -> ClassifierRouter:
        from sklearn.linear_model import LogisticRegression

        self.experts = list(data.experts)
        winners = data.winners()
        keep = winners >= 0
        self.classes = sorted(set(winners[keep].tolist()))
        if len(self.classes) < 2:  # one label: always that expert
            self.model = None
            return self
        self.model = LogisticRegression(max_iter=2000, C=float(self.params.get("C", 1.0)), class_weight="balanced")
        self.model.fit(data.embeddings[keep], winners[keep])
        return self

    @override
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        out = np.full((n_rows(embeddings), len(self.experts)), -np.inf, dtype=np.float32)
        if self.model is None:
            out[:, self.classes[0] if self.classes else 0] = 1.0
            return out
        proba = self.model.predict_proba(
            embeddings if is_sparse(embeddings) else np.asarray(embeddings, dtype=np.float32)
        )
        for col, j in enumerate(self.model.classes_):
            out[:, int(j)] = proba[:, col]
        return out


class SingleRouter(Router):
    """``single:NAME``: always the named expert (the single-expert rows of Table 1)."""

    name = "single"
    score_meaning = "1 for the pinned expert"
    accepts = frozenset({"expert"})
    embeds_queries = False

    @override
    def fit(self, data: RoutingData) -> SingleRouter:
        self.experts = list(data.experts)
        target = self.params.get("expert")
        if target not in self.experts:
            # bad input (``single`` without an expert, or one the data does not score), named as such so that
            # the CLI and the server's router-fit job report it instead of a traceback
            raise InputError(
                f"router 'single' routes to one expert: name one of {', '.join(self.experts)} "
                f"(single:NAME), not {target!r}",
                field="router",
            )
        return self

    @override
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        out = np.zeros((n_rows(embeddings), len(self.experts)), dtype=np.float32)
        out[:, self.experts.index(self.params["expert"])] = 1.0
        return out


class FusionRouter(Router):
    """``fusion``: every expert, fused by reciprocal-rank fusion (Cormack et al., SIGIR 2009)."""

    name = "fusion"
    score_meaning = "every expert is fused"
    accepts = frozenset({"k"})
    fused = True
    embeds_queries = False

    @override
    def fit(self, data: RoutingData) -> FusionRouter:
        self.experts = list(data.experts)
        self.params.setdefault("k", len(self.experts))
        return self

    @override
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        return np.ones((n_rows(embeddings), len(self.experts)), dtype=np.float32)


class FusionTopKRouter(Router):
    """``fusion-topk``: the pilot router's top ``k`` (default 2) experts, fused by RRF."""

    name = "fusion-topk"
    score_meaning = "mean similarity to the expert's pilot embeddings; the top k are fused"
    fused = True
    accepts = frozenset({"k"}) | PilotRouter.accepts

    @override
    def fit(self, data: RoutingData) -> FusionTopKRouter:
        self.params.setdefault("k", 2)
        self.inner = PilotRouter(**{k: v for k, v in self.params.items() if k != "k"}).fit(data)
        self.experts = self.inner.experts
        return self

    @override
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        return self.inner.scores(embeddings, features)


ROUTERS.register("dataset", DatasetRouter)
ROUTERS.register("classifier", ClassifierRouter)
ROUTERS.register("single", SingleRouter)
ROUTERS.register("fusion", FusionRouter)
ROUTERS.register("fusion-topk", FusionTopKRouter)
