"""The router interface: given a query's routing embedding, score every expert and pick some.

Routers are fitted on :class:`RoutingData` (training queries with each expert's per-query nDCG@10)
and looked up by name in ``ROUTERS``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..registry import Registry


@dataclass
class RoutingData:
    """Training queries for routers.

    ``embeddings[i]`` is query ``i`` under the routing encoder (L2-normalised; a dense array, or a
    scipy sparse matrix from a lexical encoder), ``datasets[i]`` its dataset, and ``scores[i, j]`` the
    per-query nDCG@10 of expert ``experts[j]`` on it. ``routing_encoder`` is ``{"spec": ..., "state":
    ...}`` when the encoder was fitted on these queries (``tfidf``): the embeddings mean nothing without it.
    """

    experts: list[str]
    embeddings: Any
    datasets: list[str]
    scores: np.ndarray
    query_ids: list[str] = field(default_factory=list)
    routing_encoder: dict[str, Any] | None = None
    source: dict[str, Any] | None = None
    #: ``(n_queries, n_features)`` query-performance features (:data:`~embedroute.routing.features.FEATURE_NAMES`)
    #: of each query in the collection it was scored on, or None when they were not computed
    features: np.ndarray | None = None
    #: model passes a query costs in all when routed to each expert by a router on query features
    #: (:func:`~embedroute.routing.features.route_costs`), or None when unknown
    costs: dict[str, float] | None = None
    #: the (lexical, dense) experts whose searches made ``features``: a router on features knows which
    #: expert BM25 is, and a collection sees when its feature experts are no longer these
    feature_experts: tuple[str, str] | None = None
    #: per-query nDCG@10 of the feature experts' results fused by RRF (the ``hybrid`` rule's, which costs the
    #: same model pass as the dense feature expert alone), or None when they were not scored
    pair_scores: np.ndarray | None = None

    def without(self, expert: str) -> RoutingData:
        """The same training data with the expert ``expert`` left out (its score column dropped). Leaving out
        an expert whose searches made the features drops the features too: they cannot be made again."""
        j = self.experts.index(expert)
        keep = [i for i in range(len(self.experts)) if i != j]
        if self.feature_experts is not None and expert in self.feature_experts:
            return replace(self, features=None, costs=None, feature_experts=None, pair_scores=None).without(expert)
        return RoutingData(
            [self.experts[i] for i in keep],
            self.embeddings,
            self.datasets,
            self.scores[:, keep],
            self.query_ids,
            self.routing_encoder,
            self.source,
            self.features,
            None if self.costs is None else {e: c for e, c in self.costs.items() if e != expert},
            self.feature_experts,
            self.pair_scores,
        )

    def subset(self, rows: np.ndarray) -> RoutingData:
        """The training queries at ``rows`` (a boolean mask), same experts and routing encoder."""
        sets = np.array(self.datasets)[rows]
        qids = np.array(self.query_ids)[rows].tolist() if self.query_ids else []
        return RoutingData(
            self.experts,
            self.embeddings[rows],
            sets.tolist(),
            self.scores[rows],
            qids,
            self.routing_encoder,
            self.source,
            None if self.features is None else self.features[rows],
            self.costs,
            self.feature_experts,
            None if self.pair_scores is None else self.pair_scores[rows],
        )

    def dataset_best(self) -> dict[str, str]:
        """Each training dataset's best expert by mean per-query nDCG@10."""
        out = {}
        for d in sorted(set(self.datasets)):
            rows = np.array([x == d for x in self.datasets])
            out[d] = self.experts[int(np.argmax(self.scores[rows].mean(0)))]
        return out

    def winners(self) -> np.ndarray:
        """Winning expert index per query (paper's e_max); -1 where every expert scores 0.

        Ties go to the expert with the higher mean on the query's dataset.
        """
        best = self.dataset_best()
        order = {d: self.experts.index(e) for d, e in best.items()}
        out = np.full(len(self.scores), -1, dtype=np.int64)
        for i, row in enumerate(self.scores):
            if row.max() <= 0:
                continue
            top = np.flatnonzero(row == row.max())
            pref = order[self.datasets[i]]
            out[i] = pref if pref in top else int(top[0])
        return out


@dataclass
class Route:
    """A routing decision: the experts to use (best first), every expert's score, and why
    (:meth:`Router.explain`: what the scores are and, per router, what decided)."""

    experts: list[str]
    scores: dict[str, float]
    why: dict[str, Any] = field(default_factory=dict)


class Router(ABC):
    """Scores every expert for a query's routing embedding and picks the best (or the best ``k``, for fusion
    routers); fitted on RoutingData."""

    name: str = ""
    #: how many experts this router sends a query to (fusion routers: several)
    fused: bool = False
    #: whether routing a query needs its routing embedding (not so for fusion of every expert, or a pinned one)
    embeds_queries: bool = True
    #: the parameters ``NAME@key=value`` may set
    accepts: frozenset[str] = frozenset()
    #: whether routing a query needs its query-performance features (:mod:`embedroute.routing.features`),
    #: which the collection computes by searching its cheap experts
    uses_features: bool = False
    #: a router that picks its rule when fitted (``auto``): the rule it picked, else None
    choice: str | None = None
    #: that router's 5-fold train-CV nDCG@10 for each candidate rule (None for fusion rules), else None
    train_cv: dict[str, float | None] | None = None

    def __init__(self, **params: Any) -> None:
        self.params = params
        self.experts: list[str] = []

    @abstractmethod
    def fit(self, data: RoutingData) -> Router:
        """Learn from the training queries in ``data`` (and take its expert list); returns the router itself."""

    @abstractmethod
    def scores(self, embeddings: np.ndarray, features: np.ndarray | None = None) -> np.ndarray:
        """``(n_queries, n_experts)`` routing scores (higher is better) from the queries' routing embeddings
        and, for a router that ``uses_features``, their query-performance features (``RoutingData.features``)."""

    def route(self, embeddings: Any, features: np.ndarray | None = None) -> list[Route]:
        """One Route per query: the best expert (or, for a fusion router, the top ``k``) and every expert's score."""
        if self.uses_features and features is None:
            raise ValueError(f"router {self.name!r} routes by query features: pass them with the embeddings")
        s = self.scores(embeddings if is_sparse(embeddings) else np.atleast_2d(embeddings), features)
        k = int(self.params.get("k", 1)) if self.fused else 1
        out = []
        for i, row in enumerate(s):
            order = np.argsort(-row, kind="stable")[:k]
            why = self.explain(row, None if features is None else features[i])
            out.append(Route([self.experts[j] for j in order], {e: float(v) for e, v in zip(self.experts, row)}, why))
        return out

    def fixed_ndcg(self, data: RoutingData) -> np.ndarray | None:
        """For a fusion rule that learns nothing and whose per-query nDCG@10 the routing data holds
        (``hybrid``: :attr:`RoutingData.pair_scores`), those figures, so that it can be cross-validated
        (folds change nothing for it); None for every other router."""
        return None

    def fixed_spec(self) -> str:
        """The spec that refits this router as fitted, with what it chose on its data fixed (``auto``: its
        rule; ``qpp``: its penalty), so that a refit per fold does not choose again."""
        if self.choice:
            return self.choice
        params = ";".join(f"{k}={v}" for k, v in self.params.items())
        return f"{self.name}@{params}" if params else self.name

    #: what the routing scores are, in a few words (shown with every routed search)
    score_meaning: str = "routing score"

    def explain(self, scores: np.ndarray, features: np.ndarray | None = None) -> dict[str, Any]:
        """Why one query was routed as it was, from its row of :meth:`scores` (and of features): JSON-able.
        Routers that know more (qpp: the features that weighed most; adaptive fusion: whether it fused,
        and why) say more."""
        return {"scores": self.score_meaning}

    def state(self) -> dict[str, Any]:
        """JSON-able fitted state (vectors as lists), for saving beside a collection."""
        return {"name": self.name, "params": self.params, "experts": self.experts}


def is_sparse(x: Any) -> bool:
    """Whether ``x`` is a scipy sparse matrix (what a lexical routing encoder makes)."""
    from scipy import sparse

    return sparse.issparse(x)


def n_rows(x: Any) -> int:
    """Number of query rows in dense or sparse routing embeddings."""
    return int(x.shape[0]) if hasattr(x, "shape") and len(x.shape) == 2 else len(x)


def similarities(x: Any, refs: Any) -> np.ndarray:
    """Dense ``(len(x), len(refs))`` dot products; either side may be sparse.

    >>> similarities(np.eye(2), np.array([[1.0, 0.0]])).tolist()
    [[1.0], [0.0]]
    """
    a = x if is_sparse(x) else np.asarray(x, dtype=np.float32)
    b = refs if is_sparse(refs) else np.asarray(refs, dtype=np.float32)
    out: Any = a @ b.T
    return np.asarray(out.toarray() if is_sparse(out) else out, dtype=np.float32)


def mean_row(x: Any) -> np.ndarray:
    """The mean of the rows of a dense or sparse matrix, as a dense vector."""
    return np.asarray(x.mean(axis=0), dtype=np.float32).ravel()


def reduce_by_owner(sims: np.ndarray, owners: np.ndarray, n_experts: int, how: str = "mean") -> np.ndarray:
    """Per-expert score from similarities to reference vectors owned by experts (-inf: owns none).

    >>> reduce_by_owner(np.array([[0.2, 0.6, 0.9]]), np.array([0, 0, 1]), 3, "max").tolist()
    [[0.6000000238418579, 0.8999999761581421, -inf]]
    """
    out = np.full((len(sims), n_experts), -np.inf, dtype=np.float32)
    fn = np.mean if how == "mean" else np.max
    for j in range(n_experts):
        mine = owners == j
        if mine.any():
            out[:, j] = fn(sims[:, mine], axis=1)
    return out


ROUTERS: Registry[Router] = Registry("router")
