"""Routing evaluation in RouterRetriever's Table-1 layout (arXiv 2409.02685).

Each dataset is searched on its own corpus by every expert once (runs cached by the embedding cache);
routers are fitted on training queries of the ``train_from`` datasets and route each test query without
its dataset label. Rows: routers, single experts, the dataset and instance oracles; columns: datasets
and their average; each row also carries a paired randomisation p-value against the best single
expert (and, for routers, against the dataset router) and the mean cost per query (encoder passes,
milliseconds). The p-values test the average the table shows, each dataset weighing the same:
:func:`~embedroute.evaluation.significance.stratified_paired_randomization`.
"""

from __future__ import annotations

import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..encoders.cache import caching_disabled
from ..errors import InputError
from ..experts.registry import ExpertSpec, make_expert
from ..routing import Route, Router, RoutingData, make_router, rrf
from ..routing.cv import cross_validate
from ..routing.models import default_routing_expert, routing_model_from_spec
from .beir import BeirDataset, train_and_test
from .metrics import evaluate_run
from .runner import corpus_collection, run_for
from .significance import stratified_paired_randomization


@dataclass
class DatasetRuns:
    name: str
    test: BeirDataset
    train: BeirDataset | None
    runs: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # expert -> qid -> doc -> s
    ndcg: dict[str, dict[str, float]] = field(default_factory=dict)  # expert -> qid -> nDCG@10
    train_ndcg: dict[str, dict[str, float]] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)  # uncached single-query search, per expert


def _ndcg(ds: BeirDataset, run: dict[str, dict[str, float]]) -> dict[str, float]:
    return {q: v["ndcg@10"] for q, v in evaluate_run(ds.qrels, run, ("ndcg@10",)).items()}


def prepare(
    path: str | Path,
    experts: list[ExpertSpec],
    *,
    want_train: bool,
    workdir: Path,
    latency_sample: int = 30,
    show_progress: bool = True,
) -> DatasetRuns:
    """Index one dataset with every expert, run its test (and train) queries, time single queries.

    ``experts`` are names or specs (``{"source", "name", "options"}``, as a collection stores them);
    the runs are keyed by the name each expert takes."""
    # a set without a train split is always evaluated on the same half of its test queries, whether or
    # not it trains routers here, so an expert trained on the other half never sees its own training data
    train, test = train_and_test(path)
    if not want_train:
        train = None
    col, names = corpus_collection(workdir / test.name, experts, test, show_progress=show_progress)
    out = DatasetRuns(test.name, test, train)
    sample = list(test.queries.values())[:latency_sample]
    for e in names:
        out.runs[e] = run_for(col, test, e)
        out.ndcg[e] = _ndcg(test, out.runs[e])
        if train is not None:
            out.train_ndcg[e] = _ndcg(train, run_for(col, train, e))
        with caching_disabled():
            col.search_batch(["warm-up query"], 100, expert=e, fetch=False)  # loads the model
            t0 = time.perf_counter()
            for q in sample:
                col.search_batch([q], 100, expert=e, fetch=False)
            out.latency_ms[e] = (time.perf_counter() - t0) * 1000 / max(len(sample), 1)
    col.close()
    return out


def routing_data(prepared: list[DatasetRuns], experts: list[str], encoder: Any) -> RoutingData:
    """Training queries of ``prepared`` embedded by ``encoder`` with every expert's per-query nDCG@10.

    An encoder that learns from the queries it routes (``fits_on_queries``: ``tfidf``) is fitted here
    on all of them first, and its fitted state travels with the data (cross-validation re-fits it inside
    each fold: :func:`~embedroute.routing.lexical.refit_on_rows`)."""
    texts, sets, scores, qids = [], [], [], []
    for d in prepared:
        if d.train is None:
            continue
        ids = list(d.train.queries)
        texts.extend(d.train.queries[q] for q in ids)
        sets.extend([d.name] * len(ids))
        scores.append(np.array([[d.train_ndcg[e][q] for e in experts] for q in ids], dtype=np.float32))
        qids.extend(ids)
    if not texts:
        raise ValueError("no training queries: give --train-from datasets with a train split or judged queries")
    fitted = None
    if getattr(encoder, "fits_on_queries", False):
        encoder.fit(texts)
        fitted = {"spec": encoder.spec(), "state": encoder.state()}
    return RoutingData(list(experts), encoder.encode_queries(texts), sets, np.vstack(scores), qids, fitted)


def evaluate_routing(
    data: list[str | Path],
    experts: list[str],
    routers: list[str],
    *,
    train_from: list[str | Path] | None = None,
    routing_expert: str | None = None,
    workdir: str | Path | None = None,
    show_progress: bool = True,
    prepared: dict[str, DatasetRuns] | None = None,
    seed_spread: int = 0,
) -> dict[str, Any]:
    """Table-1 style comparison; returns ``{"datasets": [...], "rows": [...], ...}`` (JSON-able).

    ``prepared`` (a dict, filled as datasets are prepared) lets several calls over the same datasets
    and experts share each dataset's indexing, runs and timings, as the cross-domain check does.
    ``seed_spread`` = N refits every router that draws at random (takes ``seed``, e.g. the dataset
    router's 100 sampled queries) with seeds 0..N-1 and stores the spread of its average nDCG@10 as
    the row's ``seed_spread``: one draw is one sample of that baseline, not the baseline.
    Router rows also get ``p_value_vs_dataset`` when a ``dataset`` row is in the table.
    """
    if seed_spread < 0:
        raise InputError(f"seed_spread must be 0 or more, got {seed_spread}", field="seed_spread")
    for rname in routers:
        make_router(rname)  # a misspelt router or parameter fails now, before any dataset is indexed
    train_from = [str(Path(p).resolve()) for p in (train_from or [])]
    eval_paths = [str(Path(p).resolve()) for p in data]
    all_paths = list(dict.fromkeys(eval_paths + train_from))
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="embedroute-routing-")
        workdir = tmp.name
    prepared = {} if prepared is None else prepared
    try:
        for p in all_paths:
            have = prepared.get(p)
            if have is None or set(have.runs) != set(experts) or (p in train_from and have.train is None):
                prepared[p] = prepare(
                    p, experts, want_train=p in train_from, workdir=Path(workdir), show_progress=show_progress
                )
    finally:
        if tmp is not None:
            tmp.cleanup()
    built = {e: make_expert(e) for e in experts}
    model_passes = {e: float(built[e].query_model_passes) for e in experts}
    routing_name = routing_expert or default_routing_expert({e: built[e].kind for e in experts}) or experts[0]
    encoder = routing_model_from_spec(routing_name)  # a QueryEncoder: a dense expert, or tfidf
    lexical = getattr(encoder, "kind", None) == "lexical"  # tfidf: no model pass, like bm25
    train = routing_data([prepared[p] for p in train_from], experts, encoder)
    evals = [prepared[p] for p in eval_paths]
    names = [d.name for d in evals]
    test_emb = {d.name: encoder.encode_queries(list(d.test.queries.values())) for d in evals}
    with caching_disabled():
        probe = [q for d in evals for q in list(d.test.queries.values())[:10]]
        encoder.encode_queries(["warm-up query"])
        t0 = time.perf_counter()
        for q in probe:
            encoder.encode_queries([q])
        route_encode_ms = (time.perf_counter() - t0) * 1000 / max(len(probe), 1)

    rows: list[dict[str, Any]] = []
    per_query: dict[str, np.ndarray] = {}
    strata: dict[str, np.ndarray] = {}  # each per-query value's dataset, for the stratified p-values

    def add_row(
        name: str,
        kind: str,
        by_ds: dict[str, dict[str, float]],
        ms: float,
        passes: float,
        extra: dict[str, Any] | None = None,
    ) -> None:
        vals = {d: float(np.mean(list(by_ds[d].values()))) for d in names}
        vals["avg"] = float(np.mean([vals[d] for d in names]))
        per_query[name] = np.concatenate([[by_ds[d][q] for q in sorted(by_ds[d])] for d in names])
        strata[name] = np.concatenate([[d] * len(by_ds[d]) for d in names])
        rows.append(
            {
                "name": name,
                "kind": kind,
                "ndcg@10": vals,
                "ms_per_query": round(ms, 3),
                "encoder_passes": round(passes, 3),
                **(extra or {}),
            }
        )

    for e in experts:
        lat = float(np.mean([d.latency_ms[e] for d in evals]))
        add_row(e, "single", {d.name: d.ndcg[e] for d in evals}, lat, model_passes[e])

    def routed_ndcg(d: DatasetRuns, router: Router, routes: list[Route]) -> dict[str, float]:
        qids = list(d.test.queries)
        if router.fused:
            return _ndcg(d.test, {q: rrf([d.runs[e][q] for e in r.experts]) for q, r in zip(qids, routes)})
        return {q: d.ndcg[r.experts[0]][q] for q, r in zip(qids, routes)}

    for rname in routers:
        router = make_router(rname).fit(train)
        by_ds: dict[str, dict[str, float]] = {}
        ms_total, route_total, passes_total, n_total = 0.0, 0.0, 0.0, 0
        chosen = {e: 0 for e in experts}
        for d in evals:
            qids = list(d.test.queries)
            t0 = time.perf_counter()
            routes = router.route(test_emb[d.name])
            decide_ms = (time.perf_counter() - t0) * 1000 / max(len(qids), 1)
            by_ds[d.name] = routed_ndcg(d, router, routes)
            for r in routes:
                for e in r.experts:
                    chosen[e] += 1
                extra_pass = router.embeds_queries and routing_name not in r.experts
                route_ms = decide_ms + (route_encode_ms if extra_pass else 0.0)
                route_total += route_ms
                ms_total += route_ms + sum(d.latency_ms[e] for e in r.experts)
                passes_total += float(extra_pass and not lexical) + sum(model_passes[e] for e in r.experts)
            n_total += len(qids)
        add_row(
            rname,
            "router",
            by_ds,
            ms_total / n_total,
            passes_total / n_total,
            {
                "train_cv_ndcg@10": _rounded(cross_validate(rname, train)),
                **({"rule": router.choice} if hasattr(router, "choice") else {}),
                "chosen": {e: c for e, c in chosen.items() if c},
                "routing_ms_per_query": round(route_total / n_total, 3),
                "routing_overhead": round(route_total / max(ms_total - route_total, 1e-9), 4),
            },
        )
        if seed_spread > 0 and "seed" in type(router).accepts and "seed" not in router.params:
            avgs = []
            for seed in range(seed_spread):
                again = make_router(rname + (";" if "@" in rname else "@") + f"seed={seed}").fit(train)
                avgs.append(
                    float(
                        np.mean(
                            [
                                np.mean(list(routed_ndcg(d, again, again.route(test_emb[d.name])).values()))
                                for d in evals
                            ]
                        )
                    )
                )
            rows[-1]["seed_spread"] = {
                "seeds": seed_spread,
                "mean": round(float(np.mean(avgs)), 4),
                "sd": round(float(np.std(avgs)), 4),
                "min": round(min(avgs), 4),
                "max": round(max(avgs), 4),
            }

    ds_best = {d.name: max(experts, key=lambda e, d=d: np.mean(list(d.ndcg[e].values()))) for d in evals}
    add_row(
        "dataset-oracle",
        "oracle",
        {d.name: d.ndcg[ds_best[d.name]] for d in evals},
        float(np.mean([d.latency_ms[ds_best[d.name]] for d in evals])),
        1.0,
        {"chosen": ds_best},
    )
    add_row(
        "instance-oracle",
        "oracle",
        {d.name: {q: max(d.ndcg[e][q] for e in experts) for q in d.test.queries} for d in evals},
        0.0,
        1.0,
    )

    singles = [r for r in rows if r["kind"] == "single"]
    best_single = max(singles, key=lambda r: r["ndcg@10"]["avg"])["name"]

    def p_value(name: str, other: str) -> float:
        if not np.array_equal(strata[name], strata[other]):
            raise ValueError(f"rows {name!r} and {other!r} score different queries; no paired test")
        return round(stratified_paired_randomization(per_query[name], per_query[other], strata[name]), 4)

    for r in rows:
        r["p_value_vs_best_single"] = None if r["name"] == best_single else p_value(r["name"], best_single)
        if "dataset" in per_query and r["kind"] == "router" and r["name"] != "dataset":
            r["p_value_vs_dataset"] = p_value(r["name"], "dataset")
    return {
        "datasets": names,
        "experts": experts,
        "train_from": [Path(p).name for p in train_from],
        "routing_expert": routing_name,
        "route_encode_ms": round(route_encode_ms, 3),
        "best_single": best_single,
        "training_queries": len(train.datasets),
        "rows": rows,
    }


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def format_table(result: dict[str, Any]) -> str:
    """The Table-1 layout as text; ``train CV`` is a router's cross-validated nDCG@10 on training queries;
    ``p vs best`` and, when the table has a ``dataset`` row, ``p vs dataset`` are the stratified paired
    p-values of each row's average against the best single expert's and each router's against the dataset
    router's."""
    names = result["datasets"]
    vs_dataset = any("p_value_vs_dataset" in r for r in result["rows"])
    w = max([18] + [len(r["name"]) + 2 for r in result["rows"]])
    head = (
        f"{'row':<{w}}{'kind':<8}"
        + "".join(f"{n[:12]:>13}" for n in names)
        + f"{'avg':>8}{'p vs best':>11}"
        + (f"{'p vs dataset':>14}" if vs_dataset else "")
        + f"{'passes':>8}{'ms/q':>8}{'train CV':>10}"
    )
    lines = [head, "-" * len(head)]
    for r in result["rows"]:
        p, cv = r["p_value_vs_best_single"], r.get("train_cv_ndcg@10")
        pd = r.get("p_value_vs_dataset")
        pd_text = f"{pd:>14.4f}" if pd is not None else f"{'(dataset)' if r['name'] == 'dataset' else '–':>14}"
        lines.append(
            f"{r['name']:<{w}}{r['kind']:<8}"
            + "".join(f"{r['ndcg@10'][n]:>13.4f}" for n in names)
            + f"{r['ndcg@10']['avg']:>8.4f}"
            + (f"{p:>11.4f}" if p is not None else f"{'(best)':>11}")
            + (pd_text if vs_dataset else "")
            + f"{r['encoder_passes']:>8.2f}{r['ms_per_query']:>8.1f}"
            + (f"{cv:>10.4f}" if cv is not None else f"{'–':>10}")
        )
    for r in result["rows"]:
        if "seed_spread" in r:
            s = r["seed_spread"]
            lines.append(
                f"{r['name']} over seeds 0-{s['seeds'] - 1}: avg {s['mean']:.4f} ± {s['sd']:.4f} "
                f"(min {s['min']:.4f}, max {s['max']:.4f})"
            )
    return "\n".join(lines)
