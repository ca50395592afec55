"""Independent references for the routing tests: cross-validation and nDCG@10 written out by hand."""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from embedroute.routing import RoutingData, make_router


def cv_by_hand(router: str, data: RoutingData, *, folds: int = 5, seed: int = 0) -> float:
    """k-fold CV of ``router`` written out loop by loop: the fold of query ``i`` is ``perm[i] % folds``
    (``perm`` a seeded permutation, the documented fold rule); each held-out query scores the nDCG@10 of
    the one expert the router, fitted on the other folds, sends it to; macro mean over datasets."""
    n = len(data.datasets)
    fold = np.random.default_rng(seed).permutation(n) % folds
    got = [0.0] * n
    for f in range(folds):
        train = [i for i in range(n) if fold[i] != f]
        held = [i for i in range(n) if fold[i] == f]
        part = RoutingData(
            list(data.experts),
            data.embeddings[np.array(train)],
            [data.datasets[i] for i in train],
            data.scores[np.array(train)],
            features=None if data.features is None else data.features[np.array(train)],
            feature_experts=data.feature_experts,
            pair_scores=None if data.pair_scores is None else data.pair_scores[np.array(train)],
        )
        fitted = make_router(router).fit(part)
        for i in held:
            feats = None if data.features is None else data.features[np.array([i])]
            experts = fitted.route(data.embeddings[np.array([i])], feats)[0].experts
            if len(experts) == 2 and data.pair_scores is not None and tuple(experts) == data.feature_experts:
                got[i] = float(data.pair_scores[i])  # the fused pair (hybrid): its own label
            else:
                got[i] = float(data.scores[i, data.experts.index(experts[0])])
    by_set: dict[str, list[float]] = {}
    for i, d in enumerate(data.datasets):
        by_set.setdefault(d, []).append(got[i])
    return sum(sum(v) / len(v) for v in by_set.values()) / len(by_set)


def ndcg10(qrels: Mapping[str, int], ranking: Mapping[str, float]) -> float:
    """nDCG@10 with linear gains, trec_eval's way: documents by score, ties by document id descending."""
    order = sorted(ranking.items(), key=lambda kv: (kv[1], kv[0]), reverse=True)[:10]
    dcg = sum(qrels.get(doc, 0) / math.log2(rank + 2) for rank, (doc, _) in enumerate(order))
    ideal = sorted((g for g in qrels.values() if g > 0), reverse=True)[:10]
    idcg = sum(g / math.log2(rank + 2) for rank, g in enumerate(ideal))
    return dcg / idcg if idcg > 0 else 0.0


def rrf_by_hand(rankings: list[Mapping[str, float]], k: int = 60, depth: int = 100) -> dict[str, float]:
    """Reciprocal-rank fusion, sum over lists of ``1 / (k + rank)`` (ranks from 1; ties by document id)."""
    out: dict[str, float] = {}
    for ranking in rankings:
        ordered = sorted(ranking, key=lambda doc: (-ranking[doc], doc))[:depth]
        for rank, doc in enumerate(ordered, start=1):
            out[doc] = out.get(doc, 0.0) + 1 / (k + rank)
    return out


def training_data_by_hand(runs, experts: list[str], encoder) -> RoutingData:
    """Routing data rebuilt from a prepared dataset's training runs: the routing encoder's embeddings of
    the training queries, their query features and each expert's per-query nDCG@10 on them."""
    qids = list(runs.train.queries)
    emb = encoder.encode_queries([runs.train.queries[q] for q in qids])
    scores = np.array([[runs.train_ndcg[e][q] for e in experts] for q in qids])
    return RoutingData(list(experts), emb, [runs.name] * len(qids), scores, features=runs.train_features)
