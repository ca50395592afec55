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
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..collection.query_features import (
    collection_query_features,
    feature_experts,
    has_feature_experts,
    pick_feature_experts,
)
from ..encoders.cache import caching_disabled
from ..errors import InputError
from ..experts.registry import ExpertSpec, make_expert
from ..routing import Route, Router, RoutingData, make_router, rrf
from ..routing.correction import PseudoCorrection
from ..routing.correction import learn as learn_correction
from ..routing.correction import shipped as shipped_correction
from ..routing.cv import cross_validate
from ..routing.features import route_costs
from ..routing.lexical import TfidfRoutingEncoder
from ..routing.models import default_routing_expert, routing_model_from_spec
from ..routing.queries import RoutingQueries
from .beir import BeirDataset, train_and_test
from .metrics import evaluate_run, fused_ndcg
from .pseudo_routing import PseudoSpec, pseudo_queries_for, pseudo_routing_queries, pseudo_source
from .routing_report import RoutingReport, RoutingRow, RowKind, SeedSpread
from .runner import corpus_collection, run_for
from .significance import stratified_paired_randomization


@dataclass
class DatasetRuns:
    """One dataset prepared for routing evaluation (:func:`prepare`): its test and train queries, every
    expert's test runs and per-query nDCG@10 (train too, to fit routers) and uncached query latency."""

    name: str
    test: BeirDataset
    train: BeirDataset | None
    runs: dict[str, dict[str, dict[str, float]]] = field(default_factory=dict)  # expert -> qid -> doc -> s
    ndcg: dict[str, dict[str, float]] = field(default_factory=dict)  # expert -> qid -> nDCG@10
    train_ndcg: dict[str, dict[str, float]] = field(default_factory=dict)
    latency_ms: dict[str, float] = field(default_factory=dict)  # uncached single-query search, per expert
    #: every expert's nDCG@10 on pseudo-queries made from this dataset's corpus (``prepare(pseudo=...)``)
    pseudo: RoutingQueries | None = None
    pseudo_source: dict[str, Any] | None = None
    #: query-performance features of the test and train queries in this corpus (None: no bm25 + dense pair)
    test_features: np.ndarray | None = None
    train_features: np.ndarray | None = None
    #: the (lexical, dense) experts whose searches made those features
    feature_experts: tuple[str, str] | None = None
    #: per train query (in ``train.queries`` order) nDCG@10 of the feature experts fused by RRF (``hybrid``)
    train_pair: np.ndarray | None = None


def _ndcg(ds: BeirDataset, run: dict[str, dict[str, float]]) -> dict[str, float]:
    return {q: v["ndcg@10"] for q, v in evaluate_run(ds.qrels, run, ("ndcg@10",)).items()}


def prepare(
    path: str | Path,
    experts: Sequence[ExpertSpec],
    *,
    want_train: bool,
    workdir: Path,
    latency_sample: int = 30,
    show_progress: bool = True,
    pseudo: PseudoSpec | None = None,
) -> DatasetRuns:
    """Index one dataset with every expert, run its test (and train) queries, time single queries, and
    with ``pseudo`` score every expert on pseudo-queries made from the corpus (its documents only).

    ``experts`` are names or specs (``{"source", "name", "options"}``, as a collection stores them);
    the runs are keyed by the name each expert takes."""
    # a set without a train split is always evaluated on the same half of its test queries, whether or
    # not it trains routers here, so an expert trained on the other half never sees its own training data
    both: tuple[BeirDataset | None, BeirDataset] = train_and_test(path)
    train, test = both
    if not want_train:
        train = None
    col, names = corpus_collection(workdir / test.name, experts, test, show_progress=show_progress)
    out = DatasetRuns(test.name, test, train)
    sample = list(test.queries.values())[:latency_sample]
    pair = feature_experts(col) if has_feature_experts(col) else None
    train_runs: dict[str, dict[str, dict[str, float]]] = {}
    for e in names:
        out.runs[e] = run_for(col, test, e)
        out.ndcg[e] = _ndcg(test, out.runs[e])
        if train is not None:
            train_runs[e] = run_for(col, train, e)
            out.train_ndcg[e] = _ndcg(train, train_runs[e])
        with caching_disabled():
            col.search_batch(["warm-up query"], 100, expert=e, fetch=False)  # loads the model
            t0 = time.perf_counter()
            for q in sample:
                col.search_batch([q], 100, expert=e, fetch=False)
            out.latency_ms[e] = (time.perf_counter() - t0) * 1000 / max(len(sample), 1)
    if pair is not None:
        out.feature_experts = pair
        out.test_features = collection_query_features(col, list(test.queries.values()))
        if train is not None:
            out.train_features = collection_query_features(col, list(train.queries.values()))
            if set(pair) <= set(train_runs):
                out.train_pair = fused_ndcg(train.qrels, [train_runs[e] for e in pair], list(train.queries))
    if pseudo is not None:
        made = pseudo_queries_for(col, pseudo.generators, max_queries=pseudo.max_queries, seed=pseudo.seed)
        out.pseudo = pseudo_routing_queries(col, made, experts=names, show_progress=show_progress)
        out.pseudo_source = pseudo_source(made, pseudo.generators, seed=pseudo.seed, max_queries=pseudo.max_queries)
    col.close()
    return out


def routing_data(prepared: list[DatasetRuns], experts: list[str], encoder: Any) -> RoutingData:
    """Training queries of ``prepared`` embedded by ``encoder`` with every expert's per-query nDCG@10."""
    queries = labelled_queries(prepared, experts)
    if not queries.texts:
        raise ValueError("no training queries: give --train-from datasets with a train split or judged queries")
    made_by = {d.feature_experts for d in prepared if d.train is not None}
    return queries.embed(
        encoder,
        {"labelled": {"datasets": queries.per_dataset()}, "pseudo": None},
        feature_experts=made_by.pop() if len(made_by) == 1 else None,
    )


def labelled_queries(prepared: list[DatasetRuns], experts: list[str]) -> RoutingQueries:
    """The training queries of ``prepared`` (those with a train part) and every expert's nDCG@10 on each."""
    out = RoutingQueries(list(experts))
    for d in prepared:
        if d.train is None:
            continue
        ids = list(d.train.queries)
        scores = np.array([[d.train_ndcg[e][q] for e in experts] for q in ids], dtype=np.float32)
        out.extend([d.train.queries[q] for q in ids], [d.name] * len(ids), scores, ids, d.train_features, d.train_pair)
    return out


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
    self_supervised: bool = False,
    pseudo: PseudoSpec | None = None,
    leave_one_out: bool = False,
    pseudo_correction: str = "shipped",
) -> RoutingReport:
    """Table-1 style comparison of ``routers`` with each single expert and the oracles, on the test
    queries of ``data``, the routers fitted on the training queries of ``train_from``.

    With ``self_supervised``, as a user without labels would fit them: each dataset's routers are fitted
    on pseudo-queries made from that dataset's own corpus (``pseudo``: how; default
    :class:`~embedroute.evaluation.pseudo_routing.PseudoSpec`), plus ``train_from``'s labelled queries
    when given; no query or qrel of a dataset's test split is read to fit them.
    ``prepared`` (a dict, filled as datasets are prepared) lets several calls over the same datasets
    and experts share each dataset's indexing, runs and timings, as the cross-domain check does.
    ``seed_spread`` = N refits every router that draws at random (takes ``seed``, e.g. the dataset
    router's 100 sampled queries) with seeds 0..N-1 and stores the spread of its average nDCG@10 as
    the row's ``seed_spread``: one draw is one sample of that baseline, not the baseline.
    Router rows also get ``p_value_vs_dataset`` when a ``dataset`` row is in the table.
    With ``leave_one_out`` (and no ``train_from``), each dataset's routers learn from the labelled
    training queries of the other datasets of ``data`` only (plus its own pseudo-queries when
    ``self_supervised``): the dataset left out contributes no labelled query to its own routers.
    ``pseudo_correction`` says how pseudo-query labels are corrected (:mod:`embedroute.routing.correction`):
    ``shipped`` (the table learned on the dev sets, what a user's label-free fit applies), ``loo`` (each
    dataset's table learned from the other datasets of ``data`` only: their labelled training queries and
    pseudo-queries, so a dev set is never corrected by its own labels) or ``none``.
    """
    if pseudo_correction not in CORRECTIONS:
        raise InputError(
            f"pseudo_correction must be one of {', '.join(CORRECTIONS)}, got {pseudo_correction!r}",
            field="pseudo_correction",
        )
    if pseudo_correction == "loo" and self_supervised and len(data) < 2:
        raise InputError("pseudo_correction 'loo' learns from the other datasets: give at least two", field="data")
    _check_arguments(data, train_from, seed_spread, self_supervised, leave_one_out, pseudo_correction)
    for rname in routers:
        make_router(rname)  # a misspelt router or parameter fails now, before any dataset is indexed
    pseudo = (pseudo or PseudoSpec()) if self_supervised else None
    eval_paths = [str(Path(p).resolve()) for p in data]
    train_paths = list(eval_paths) if leave_one_out else [str(Path(p).resolve()) for p in (train_from or [])]
    loo_correction = self_supervised and pseudo_correction == "loo"
    prep_train = list(dict.fromkeys(train_paths + (eval_paths if loo_correction else [])))
    prepared = _prepare_all(eval_paths, prep_train, experts, workdir, prepared, show_progress, pseudo)
    built = {e: make_expert(e) for e in experts}
    routing_name = routing_expert or default_routing_expert({e: built[e].kind for e in experts}) or experts[0]
    encoder = routing_model_from_spec(routing_name)  # a QueryEncoder: a dense expert, or tfidf
    evals = [prepared[p] for p in eval_paths]
    table = _Table([d.name for d in evals])
    if leave_one_out:  # each dataset's routers learn from the other datasets' labelled queries only
        labelled_for = {
            prepared[p].name: labelled_queries([prepared[t] for t in train_paths if t != p], experts)
            for p in eval_paths
        }
    else:
        shared = labelled_queries([prepared[p] for p in train_paths], experts)
        labelled_for = {d.name: shared for d in evals}
    model_passes = {e: float(built[e].query_model_passes) for e in experts}
    features_from = pick_feature_experts(built)
    costs = route_costs(model_passes, features_from[1]) if features_from else None
    corrections = _corrections(evals, experts, pseudo_correction) if self_supervised else {}
    trains, test_emb = _training_data(
        evals, labelled_for, encoder, routing_name, self_supervised, costs, features_from, corrections
    )
    setup = _RouterSetup(
        train=trains,
        evals=evals,
        test_emb=test_emb,
        routing_name=routing_name,
        lexical=isinstance(encoder, TfidfRoutingEncoder),  # tfidf: no model pass, like bm25
        model_passes=model_passes,
        route_encode_ms=_route_encode_ms(encoder, evals),
        test_features={d.name: d.test_features for d in evals},
        feature_experts=features_from,
    )
    for e in experts:
        lat = float(np.mean([d.latency_ms[e] for d in evals]))
        table.add(e, "single", {d.name: d.ndcg[e] for d in evals}, lat, setup.model_passes[e])
    for rname in routers:
        _add_router_row(table, rname, setup, seed_spread)
    _add_oracle_rows(table, evals, experts)
    best_single = table.add_p_values()
    return RoutingReport(
        datasets=table.names,
        experts=experts,
        train_from=[Path(p).name for p in train_paths],
        routing_expert=routing_name,
        route_encode_ms=round(setup.route_encode_ms, 3),
        best_single=best_single,
        training_queries=sum(len(t.datasets) for t in setup.distinct_train()),
        rows=table.rows,
        self_supervised=self_supervised,
        pseudo={d.name: d.pseudo_source for d in evals} if self_supervised else None,
        leave_one_out=leave_one_out,
        pseudo_correction=pseudo_correction if self_supervised else None,
    )


def _check_arguments(
    data: list[str | Path],
    train_from: list[str | Path] | None,
    seed_spread: int,
    self_supervised: bool,
    leave_one_out: bool,
    pseudo_correction: str,
) -> None:
    """:func:`evaluate_routing`'s argument checks: each bad combination an InputError naming it."""
    if seed_spread < 0:
        raise InputError(f"seed_spread must be 0 or more, got {seed_spread}", field="seed_spread")
    if leave_one_out and train_from:
        raise InputError(
            "leave_one_out trains each dataset on the others of data; give no train_from", field="train_from"
        )
    if leave_one_out and len(data) < 2:
        raise InputError("leave_one_out needs at least two datasets", field="data")
    if not train_from and not self_supervised and not leave_one_out:
        raise InputError("give train_from (labelled training queries) or self_supervised", field="train_from")


#: how pseudo-query labels may be corrected in an evaluation (``evaluate_routing(pseudo_correction=...)``)
CORRECTIONS = ("shipped", "loo", "none")


def _corrections(evals: list[DatasetRuns], experts: list[str], how: str) -> dict[str, PseudoCorrection | None]:
    """Each evaluated dataset's pseudo-label correction: the shipped table, one learned on the other
    datasets' labelled and pseudo-queries (``loo``), or none."""
    if how == "none":
        return {d.name: None for d in evals}
    if how == "shipped":
        table = shipped_correction()
        return {d.name: table for d in evals}
    out: dict[str, PseudoCorrection | None] = {}
    for d in evals:
        others = [o for o in evals if o.name != d.name and o.pseudo is not None and o.train is not None]
        made_by = {o.feature_experts for o in others} | {d.feature_experts}
        if not others or len(made_by) != 1 or d.feature_experts is None:
            out[d.name] = None
            continue
        sets = [(labelled_queries([o], experts), o.pseudo) for o in others if o.pseudo is not None]
        out[d.name] = learn_correction(sets, d.feature_experts, {"datasets": [o.name for o in others]})
    return out


def _training_data(
    evals: list[DatasetRuns],
    labelled_for: dict[str, RoutingQueries],
    encoder: Any,
    routing_name: str,
    self_supervised: bool,
    costs: dict[str, float] | None = None,
    feature_experts: tuple[str, str] | None = None,
    corrections: dict[str, PseudoCorrection | None] | None = None,
) -> tuple[dict[str, RoutingData], dict[str, Any]]:
    """Each evaluated dataset's routing data and its test queries' routing embeddings: its labelled
    training queries (``labelled_for``: one object shared by all, or under leave-one-out the other
    datasets' own) and, ``self_supervised``, its own pseudo-queries. Data shared by several datasets is
    embedded once; an encoder fitted on the queries it routes (tfidf) is fitted once per distinct data."""
    trains: dict[str, RoutingData] = {}
    emb: dict[str, Any] = {}
    made: dict[Any, tuple[RoutingData, Any]] = {}
    for d in evals:
        labelled = labelled_for[d.name]
        counts = labelled.per_dataset()
        if self_supervised:
            assert d.pseudo is not None  # _prepare_all made them
            key: Any = d.name
            table = (corrections or {}).get(d.name)
            queries = labelled.merged(d.pseudo if table is None else table.apply(d.pseudo, d.feature_experts))
        else:
            key, queries = id(labelled), labelled
        if not queries.texts:
            raise ValueError("no training queries: give --train-from datasets with a train split or judged queries")
        if key not in made:
            # tfidf learns from the queries it routes: a fresh one per distinct data (the first is ``encoder``)
            fresh = bool(made) and isinstance(encoder, TfidfRoutingEncoder)
            enc = routing_model_from_spec(routing_name) if fresh else encoder
            table = (corrections or {}).get(d.name)
            source = {
                "labelled": {"datasets": counts} if counts else None,
                "pseudo": d.pseudo_source,
                "correction": None if table is None else table.to_dict(),
            }
            made[key] = (queries.embed(enc, source, costs, feature_experts), enc)
        trains[d.name], enc = made[key]
        emb[d.name] = enc.encode_queries(list(d.test.queries.values()))
    return trains, emb


def _prepare_all(
    eval_paths: list[str],
    train_paths: list[str],
    experts: list[str],
    workdir: str | Path | None,
    prepared: dict[str, DatasetRuns] | None,
    show_progress: bool,
    pseudo: PseudoSpec | None = None,
) -> dict[str, DatasetRuns]:
    """Every dataset indexed, run and timed once (those in ``prepared`` with these experts are kept), and
    with ``pseudo`` every evaluated dataset's pseudo-queries scored."""
    prepared = {} if prepared is None else prepared
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="embedroute-routing-")
        workdir = tmp.name
    try:
        for p in dict.fromkeys(eval_paths + train_paths):
            have = prepared.get(p)
            wants_pseudo = pseudo is not None and p in eval_paths
            if (
                have is None
                or set(have.runs) != set(experts)
                or (p in train_paths and have.train is None)
                or (wants_pseudo and _made_by(have, pseudo) is None)
            ):
                prepared[p] = prepare(
                    p,
                    list(experts),
                    want_train=p in train_paths,
                    workdir=Path(workdir),
                    show_progress=show_progress,
                    pseudo=pseudo if wants_pseudo else None,
                )
    finally:
        if tmp is not None:
            tmp.cleanup()
    return prepared


def _made_by(have: DatasetRuns, pseudo: PseudoSpec | None) -> dict[str, Any] | None:
    """``have``'s pseudo-query settings if they are ``pseudo``'s (so its pseudo-queries can be reused)."""
    src = have.pseudo_source
    if src is None or pseudo is None:
        return None
    same = (src["generators"], src["max_queries"], src["seed"]) == (
        list(pseudo.generators),
        pseudo.max_queries,
        pseudo.seed,
    )
    return src if same else None


def _route_encode_ms(encoder: Any, evals: list[DatasetRuns]) -> float:
    """Milliseconds to embed one query for routing, uncached, over up to 10 test queries per dataset."""
    with caching_disabled():
        probe = [q for d in evals for q in list(d.test.queries.values())[:10]]
        encoder.encode_queries(["warm-up query"])
        t0 = time.perf_counter()
        for q in probe:
            encoder.encode_queries([q])
        return (time.perf_counter() - t0) * 1000 / max(len(probe), 1)


@dataclass
class _RouterSetup:
    """What every router row is computed from: each test dataset's training data (one object shared by all
    unless each fits on its own pseudo-queries), the test datasets and their routing embeddings, and the
    costs (model passes per expert, the routing encoder's time)."""

    train: dict[str, RoutingData]
    evals: list[DatasetRuns]
    test_emb: dict[str, Any]
    routing_name: str
    lexical: bool
    model_passes: dict[str, float]
    route_encode_ms: float
    test_features: dict[str, np.ndarray | None] = field(default_factory=dict)
    #: the experts whose searches make the query features (bm25, dense), or None
    feature_experts: tuple[str, str] | None = None

    def distinct_train(self) -> list[RoutingData]:
        """The training data objects, each once."""
        return list({id(t): t for t in self.train.values()}.values())

    def fit(self, rname: str) -> dict[str, Router]:
        """``rname`` fitted on each dataset's training data (once per distinct data), by dataset."""
        fitted: dict[int, Router] = {}
        for t in self.distinct_train():
            fitted[id(t)] = make_router(rname).fit(t)
        return {name: fitted[id(t)] for name, t in self.train.items()}


@dataclass
class _Table:
    """Rows as they are added, with each row's per-query nDCG@10 and their datasets, for the p-values."""

    names: list[str]
    rows: list[RoutingRow] = field(default_factory=list)
    per_query: dict[str, np.ndarray] = field(default_factory=dict)
    strata: dict[str, np.ndarray] = field(default_factory=dict)

    def add(
        self, name: str, kind: RowKind, by_ds: dict[str, dict[str, float]], ms: float, passes: float, **extra: Any
    ) -> RoutingRow:
        vals = {d: float(np.mean(list(by_ds[d].values()))) for d in self.names}
        vals["avg"] = float(np.mean([vals[d] for d in self.names]))
        self.per_query[name] = np.concatenate([[by_ds[d][q] for q in sorted(by_ds[d])] for d in self.names])
        self.strata[name] = np.concatenate([[d] * len(by_ds[d]) for d in self.names])
        row = RoutingRow(name, kind, vals, round(ms, 3), round(passes, 3), **extra)
        self.rows.append(row)
        return row

    def p_value(self, name: str, other: str) -> float:
        if not np.array_equal(self.strata[name], self.strata[other]):
            raise ValueError(f"rows {name!r} and {other!r} score different queries; no paired test")
        return round(
            stratified_paired_randomization(self.per_query[name], self.per_query[other], list(self.strata[name])), 4
        )

    def add_p_values(self) -> str:
        """Set every row's p-values (against the best single expert, and routers' against ``dataset``);
        returns the best single expert's name."""
        singles = [r for r in self.rows if r.kind == "single"]
        best = max(singles, key=lambda r: r.ndcg["avg"]).name
        for r in self.rows:
            r.p_value_vs_best_single = None if r.name == best else self.p_value(r.name, best)
            if "dataset" in self.per_query and r.kind == "router" and r.name != "dataset":
                r.p_value_vs_dataset = self.p_value(r.name, "dataset")
        return best


def _routed_ndcg(d: DatasetRuns, router: Router, routes: list[Route]) -> dict[str, float]:
    qids = list(d.test.queries)
    if router.fused:
        return _ndcg(d.test, {q: rrf([d.runs[e][q] for e in r.experts]) for q, r in zip(qids, routes)})
    return {q: d.ndcg[r.experts[0]][q] for q, r in zip(qids, routes)}


def _add_router_row(table: _Table, rname: str, setup: _RouterSetup, seed_spread: int) -> None:
    """Fit ``rname``, route every test query and add its row: nDCG@10, the experts it chose, and the cost of
    routing (deciding, plus a routing-encoder pass when the query goes to an expert other than that model)."""
    fitted = setup.fit(rname)
    by_ds: dict[str, dict[str, float]] = {}
    ms_total, route_total, passes_total, n_total = 0.0, 0.0, 0.0, 0
    chosen: dict[str, int] = {}
    for d in setup.evals:
        router = fitted[d.name]
        qids = list(d.test.queries)
        t0 = time.perf_counter()
        routes = _route(router, d.name, setup)
        decide_ms = (time.perf_counter() - t0) * 1000 / max(len(qids), 1)
        by_ds[d.name] = _routed_ndcg(d, router, routes)
        for r in routes:
            for e in r.experts:
                chosen[e] = chosen.get(e, 0) + 1
            route_ms, extra_passes = _routing_cost(router, r, d, setup)
            route_ms += decide_ms
            route_total += route_ms
            ms_total += route_ms + sum(d.latency_ms[e] for e in r.experts)
            passes_total += extra_passes + sum(setup.model_passes[e] for e in r.experts)
        n_total += len(qids)
    cvs = [cross_validate(rname, t) for t in setup.distinct_train()]
    row = table.add(
        rname,
        "router",
        by_ds,
        ms_total / n_total,
        passes_total / n_total,
        train_cv=_rounded(_mean_or_none(cvs)),
        rule=_rules(fitted),
        chosen={e: chosen[e] for e in setup.model_passes if e in chosen},
        routing_ms_per_query=round(route_total / n_total, 3),
        routing_overhead=round(route_total / max(ms_total - route_total, 1e-9), 4),
    )
    router = next(iter(fitted.values()))
    if seed_spread > 0 and "seed" in type(router).accepts and "seed" not in router.params:
        row.seed_spread = _seed_spread(rname, setup, seed_spread)


def _routing_cost(router: Router, route: Route, d: DatasetRuns, setup: _RouterSetup) -> tuple[float, float]:
    """Milliseconds and model passes a query spends on routing beyond the experts it is sent to: the routing
    encoder's pass when it goes elsewhere; for a router on query features, the searches that make them: BM25's
    always (a live route to BM25 searches again), the dense expert's unless the query goes to it (alone or
    fused: the routed search shares the features' model pass, ``Expert.sharing_query_passes``)."""
    if router.uses_features and setup.feature_experts is not None:
        lexical, dense = setup.feature_experts
        ms = d.latency_ms[lexical]  # a live route to BM25 searches it again
        if dense in route.experts:  # the routed search shares the features' pass (its index search is not counted)
            return ms, 0.0
        return ms + d.latency_ms[dense], float(setup.model_passes[dense])
    extra_pass = router.embeds_queries and setup.routing_name not in route.experts
    return (setup.route_encode_ms if extra_pass else 0.0), float(extra_pass and not setup.lexical)


def _mean_or_none(values: list[float | None]) -> float | None:
    """The mean of the values, or None when any is None (a fusion router has no train CV)."""
    known = [v for v in values if v is not None]
    return float(np.mean(known)) if known and len(known) == len(values) else None


def _rules(fitted: dict[str, Router]) -> str | None:
    """The rule ``auto`` picked: one name, or each dataset's when they differ (each fitted on its own data)."""
    picks = {name: r.choice for name, r in fitted.items()}
    if len(set(picks.values())) <= 1:
        return next(iter(picks.values()), None)
    return "; ".join(f"{name}: {rule}" for name, rule in picks.items())


def _route(router: Router, name: str, setup: _RouterSetup) -> list[Route]:
    return router.route(setup.test_emb[name], setup.test_features[name] if router.uses_features else None)


def _seed_spread(rname: str, setup: _RouterSetup, seeds: int) -> SeedSpread:
    avgs = []
    for seed in range(seeds):
        again = setup.fit(rname + (";" if "@" in rname else "@") + f"seed={seed}")
        per_ds = [
            np.mean(list(_routed_ndcg(d, again[d.name], _route(again[d.name], d.name, setup)).values()))
            for d in setup.evals
        ]
        avgs.append(float(np.mean(per_ds)))
    return SeedSpread(
        seeds,
        round(float(np.mean(avgs)), 4),
        round(float(np.std(avgs)), 4),
        round(min(avgs), 4),
        round(max(avgs), 4),
    )


def _add_oracle_rows(table: _Table, evals: list[DatasetRuns], experts: list[str]) -> None:
    """The dataset oracle (each dataset's best expert) and the instance oracle (each query's best)."""
    ds_best = {d.name: _best_expert(d, experts) for d in evals}
    table.add(
        "dataset-oracle",
        "oracle",
        {d.name: d.ndcg[ds_best[d.name]] for d in evals},
        float(np.mean([d.latency_ms[ds_best[d.name]] for d in evals])),
        1.0,
        chosen=ds_best,
    )
    table.add(
        "instance-oracle",
        "oracle",
        {d.name: {q: max(d.ndcg[e][q] for e in experts) for q in d.test.queries} for d in evals},
        0.0,
        1.0,
    )


def _rounded(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def _best_expert(d: DatasetRuns, experts: list[str]) -> str:
    """The expert with the best mean nDCG@10 on ``d``'s test queries (the first of equals)."""
    return max(experts, key=lambda e: float(np.mean(list(d.ndcg[e].values()))))
