"""Retrieval metrics through pytrec_eval (the trec_eval reference implementation).

``ndcg@10`` = ndcg_cut_10, ``recall@100`` = recall_100, ``map@100`` = map_cut_100, and ``mrr@10`` =
recip_rank over the run cut to its top 10.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ..registry import Registry

Run = Mapping[str, Mapping[str, float]]
Qrels = Mapping[str, Mapping[str, int]]

METRICS: Registry[str] = Registry("metric")
_TREC = {"ndcg@10": "ndcg_cut_10", "recall@100": "recall_100", "map@100": "map_cut_100", "mrr@10": "recip_rank"}
for _name, _measure in _TREC.items():
    METRICS.register(_name, lambda m=_measure: m)
DEFAULT_METRICS = ("ndcg@10", "recall@100", "mrr@10", "map@100")


def _top(run: Run, k: int) -> dict[str, dict[str, float]]:
    out = {}
    for qid, docs in run.items():
        best = sorted(docs.items(), key=lambda kv: (-kv[1], kv[0]))[:k]
        out[qid] = {d: float(s) for d, s in best}
    return out


def evaluate_run(qrels: Qrels, run: Run, metrics: tuple[str, ...] = DEFAULT_METRICS) -> dict[str, dict[str, float]]:
    """Per-query metric values; queries absent from the run score 0.

    >>> q = {"q1": {"d1": 1}, "q2": {"d9": 1}}
    >>> r = {"q1": {"d1": 2.0, "d2": 1.0}, "q2": {"d3": 1.0, "d9": 0.5}}
    >>> per = evaluate_run(q, r, ("ndcg@10", "mrr@10"))
    >>> per["q1"]["mrr@10"], per["q2"]["mrr@10"]
    (1.0, 0.5)
    """
    import pytrec_eval

    for m in metrics:
        METRICS.get(m)
    qrels = {q: {d: int(s) for d, s in docs.items()} for q, docs in qrels.items()}
    full = {q: {d: float(s) for d, s in run.get(q, {}).items()} for q in qrels}
    per: dict[str, dict[str, float]] = {q: {} for q in qrels}
    plain = [m for m in metrics if m != "mrr@10"]
    if plain:
        ev = pytrec_eval.RelevanceEvaluator(qrels, {_TREC[m] for m in plain})
        res = ev.evaluate(full)
        for q in qrels:
            for m in plain:
                per[q][m] = float(res.get(q, {}).get(_TREC[m], 0.0))
    if "mrr@10" in metrics:
        ev = pytrec_eval.RelevanceEvaluator(qrels, {"recip_rank"})
        res = ev.evaluate(_top(full, 10))
        for q in qrels:
            per[q]["mrr@10"] = float(res.get(q, {}).get("recip_rank", 0.0))
    return per


def mean_metrics(per_query: Mapping[str, Mapping[str, float]]) -> dict[str, float]:
    """Each metric's mean over the queries of ``per_query`` (empty in, empty out)."""
    if not per_query:
        return {}
    names = next(iter(per_query.values())).keys()
    return {m: float(np.mean([v[m] for v in per_query.values()])) for m in names}


def fused_ndcg(qrels: Qrels, runs: list[Run], qids: list[str]) -> np.ndarray:
    """nDCG@10 of each query of ``qids`` for ``runs`` fused by reciprocal-rank fusion (what a routed search
    that fuses those experts returns; the ``hybrid`` rule's routing label).

    >>> q = {"q": {"d2": 1}}
    >>> fused_ndcg(q, [{"q": {"d1": 2.0, "d2": 1.0}}, {"q": {"d2": 5.0}}], ["q"]).round(3).tolist()
    [1.0]
    """
    from ..routing.fusion import rrf

    fused = {q: rrf([run.get(q, {}) for run in runs]) for q in qids}
    per = evaluate_run(qrels, fused, ("ndcg@10",))
    return np.array([per.get(q, {}).get("ndcg@10", 0.0) for q in qids], dtype=np.float32)
