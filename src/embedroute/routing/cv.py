"""Choosing a router without touching test queries: k-fold cross-validation on the training queries.

Each fold fits the router on the other folds' routing data and routes the held-out training queries;
a query scores the per-query nDCG@10 its chosen expert got (stored in :class:`RoutingData`). The figure
is the mean over datasets of each dataset's mean, the same macro average as the test table. Routers
that fuse several experts need their rankings, which routing data does not hold, so they get ``None``;
the one exception is ``hybrid``, the fixed fusion of the feature experts, whose per-query figure the
routing data carries (:attr:`~embedroute.routing.base.RoutingData.pair_scores`).

A routing encoder fitted on the training queries themselves (``tfidf``) is re-fitted inside each fold
on that fold's training queries (:func:`~embedroute.routing.lexical.refit_on_rows`), so no held-out
query adds a term to the vocabulary or moves the idf of the fold it is scored in.
"""

from __future__ import annotations

import numpy as np

from .base import RoutingData, is_sparse
from .lexical import refit_on_rows


def cross_validate(router: str, data: RoutingData, *, folds: int = 5, seed: int = 0) -> float | None:
    """Macro-averaged nDCG@10 of ``router`` on held-out training queries, or ``None`` for fusion routers
    (except a fixed fusion whose per-query figures the data holds, :meth:`Router.fixed_ndcg`).

    >>> emb = np.eye(2, dtype=np.float32)[[0, 0, 0, 0, 1, 1, 1, 1]]
    >>> scores = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [0, 1], [0, 1], [0, 1], [0, 1]], dtype=np.float32)
    >>> data = RoutingData(["a", "b"], emb, ["x"] * 4 + ["y"] * 4, scores)
    >>> cross_validate("dataset", data, folds=2), cross_validate("single:a", data, folds=2)
    (1.0, 0.5)
    """
    from .factory import make_router

    made = make_router(router)
    got = made.fixed_ndcg(data) if made.fused else _out_of_fold_got(router, data, folds, seed)
    if got is None:
        return None
    got = np.asarray(got, dtype=np.float64)
    sets = np.array(data.datasets)
    return float(np.mean([got[sets == d].mean() for d in sorted(set(data.datasets))]))


def _out_of_fold_got(router: str, data: RoutingData, folds: int, seed: int) -> np.ndarray | None:
    """Each training query's nDCG@10 under ``router`` fitted on the other folds; a fold on which the router
    became a fixed fusion (``auto`` choosing ``hybrid``) scores that fusion's own labels, or gives None."""
    from .factory import make_router

    n = len(data.datasets)
    if n < folds:
        raise ValueError(f"{n} training queries cannot make {folds} folds")
    fold = np.random.default_rng(seed).permutation(n) % folds
    got = np.zeros(n, dtype=np.float64)
    for f in range(folds):
        held = fold == f
        fold_data = data if data.routing_encoder is None else refit_on_rows(data, ~held)
        r = make_router(router).fit(fold_data.subset(~held))
        if r.fused:
            fixed = r.fixed_ndcg(data.subset(held))
            if fixed is None:
                return None
            got[held] = fixed
            continue
        emb = fold_data.embeddings[held]
        feats = None if data.features is None else data.features[held]
        scored = r.scores(emb if is_sparse(emb) else np.atleast_2d(emb), feats)
        cols = np.array([data.experts.index(e) for e in r.experts])
        got[held] = data.scores[np.flatnonzero(held)[:, None], cols[None, :]][np.arange(held.sum()), scored.argmax(1)]
    return got


def out_of_fold_scores(router: str, data: RoutingData, *, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Every training query's routing scores from ``router`` fitted on the other folds: ``(n, n_experts)``,
    what the router would say of queries it has not seen (adaptive fusion sets its threshold on them)."""
    from .factory import make_router

    n = len(data.datasets)
    if n < folds:
        raise ValueError(f"{n} training queries cannot make {folds} folds")
    fold = np.random.default_rng(seed).permutation(n) % folds
    out = np.full((n, len(data.experts)), -np.inf, dtype=np.float32)
    for f in range(folds):
        held = fold == f
        fold_data = data if data.routing_encoder is None else refit_on_rows(data, ~held)
        r = make_router(router).fit(fold_data.subset(~held))
        emb = fold_data.embeddings[held]
        feats = None if data.features is None else data.features[held]
        scored = r.scores(emb if is_sparse(emb) else np.atleast_2d(emb), feats)
        # a router fitted on a fold may know fewer experts (none won there): place its columns by name
        for j, e in enumerate(r.experts):
            out[held, data.experts.index(e)] = scored[:, j]
    return out
