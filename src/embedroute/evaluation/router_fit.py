"""Fitting a collection's routers from labelled training queries, from the collection's own documents
(pseudo-queries, when it has no labelled queries), or from both: the one workflow the CLI (``embedroute
route``), the server's router-fit job, the server's sample collection and the demo all call.

RouterRetriever (Lee et al., AAAI 2025, arXiv 2409.02685) fits each router from training queries on which
every expert was scored: here every expert of the collection (rebuilt from its stored spec) searches each
BEIR training dataset's own corpus, each training query gets every expert's nDCG@10, and the queries are
embedded by the routing model. The steps are: choose the routing model (:meth:`Collection.routing_expert`:
the named one, or the collection's first dense expert), build that routing data
(:func:`build_routing_data`), then fit and save each router (:meth:`Collection.fit_router`). With no
``train_from``, or with ``self_supervised``, pseudo-queries made from a sample of the collection's own
documents are scored by every expert on the collection itself (:mod:`embedroute.evaluation.pseudo_routing`)
and become routing data too.

It lives in ``evaluation`` rather than on :class:`~embedroute.collection.Collection` because scoring the
training queries builds collections over the training corpora: ``collection`` sits below ``evaluation``
in the package's layers (the import-cycle test keeps it so). Hand-written: nothing here exists in a library.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ..collection import Collection
from ..collection.query_features import collection_route_costs, feature_experts, present_feature_experts
from ..errors import InputError
from ..experts.registry import ExpertSpec
from ..routing import RoutingData, make_router
from ..routing.correction import shipped as shipped_correction
from ..routing.cv import cross_validate
from ..routing.models import routing_model, routing_model_from_spec
from ..routing.pseudo import DEFAULT_GENERATORS, MAX_QUERIES
from ..routing.queries import RoutingQueries
from .pseudo_routing import pseudo_queries_for, pseudo_routing_queries, pseudo_source
from .routing import labelled_queries, prepare
from .runner import spec_name

Progress = Callable[[str, int, "int | None"], None]

#: fewer training queries than this, and a fitted router gets no 5-fold train CV figure
CV_FOLDS = 5


@dataclass(frozen=True)
class RouterFit:
    """One router fitted and saved by :func:`fit_routers`: what was asked, the rule kept (``auto``: the
    rule it chose), the routing model, the experts it routes to, the training queries it saw, and its
    5-fold train-CV nDCG@10 (``None`` for fusion routers or under :data:`CV_FOLDS` queries). ``train_cv``
    is ``auto``'s figure for every candidate rule."""

    router: str
    rule: str
    routing_expert: str
    experts: list[str]
    training_queries: int
    datasets: list[str]
    cv_ndcg: float | None
    train_cv: dict[str, float | None] | None
    #: how the routing data was made (labelled datasets, pseudo-queries and their generators, or both)
    source: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for the CLI's and the server's output."""
        return asdict(self)

    def __str__(self) -> str:
        text = (
            f"fitted router {self.router} on {self.training_queries} training queries "
            f"({', '.join(self.datasets)}), experts {', '.join(self.experts)}"
        )
        pseudo = (self.source or {}).get("pseudo")
        if pseudo:
            made = ", ".join(f"{g} {n}" for g, n in pseudo["per_generator"].items())
            text += f"; {pseudo['queries']} pseudo-queries from the collection's own documents ({made})"
        if self.rule != self.router:
            text += f"; picked {self.rule}"
        if self.cv_ndcg is not None:
            text += f"; train CV nDCG@10 {self.cv_ndcg:.4f} ({CV_FOLDS}-fold)"
        if self.train_cv:
            text += "\n  candidates' train CV: " + ", ".join(
                f"{c} {v:.4f}" if v is not None else f"{c} -" for c, v in self.train_cv.items()
            )
        return text


def build_routing_data(
    train_from: Sequence[str | Path],
    experts: Sequence[ExpertSpec],
    *,
    routing_expert: ExpertSpec,
    workdir: str | Path | None = None,
    show_progress: bool = True,
    progress: Progress | None = None,
) -> RoutingData:
    """Routing training data from BEIR folders: each expert's per-query nDCG@10 on their training queries.

    ``experts`` and ``routing_expert`` are names or specs (a collection's ``expert(n).spec()``, so an
    expert added under another name or with options is rebuilt as it is); ``progress(stage, done,
    total)`` is told after each dataset (the server's jobs show it)."""
    router_model = routing_model_from_spec(routing_expert)  # fails before any scoring
    queries = labelled_routing_queries(
        train_from, experts, workdir=workdir, show_progress=show_progress, progress=progress
    )
    if not queries.texts:
        raise ValueError("no training queries: give --train-from datasets with a train split or judged queries")
    return queries.embed(router_model, source={"labelled": labelled_source(queries), "pseudo": None})


def labelled_routing_queries(
    train_from: Sequence[str | Path],
    experts: Sequence[ExpertSpec],
    *,
    workdir: str | Path | None = None,
    show_progress: bool = True,
    progress: Progress | None = None,
) -> RoutingQueries:
    """The training queries of the BEIR folders ``train_from`` with each expert's nDCG@10, not yet embedded:
    every expert (name or spec) searches each folder's own corpus."""
    tmp = None
    if workdir is None:
        tmp = tempfile.TemporaryDirectory(prefix="embedroute-routing-")
        workdir = tmp.name
    try:
        prepared = []
        for i, p in enumerate(train_from):
            if progress is not None:
                progress(f"scoring training queries of {Path(p).name}", i, len(train_from))
            prepared.append(
                prepare(
                    p,
                    list(experts),
                    want_train=True,
                    workdir=Path(workdir),
                    latency_sample=0,
                    show_progress=show_progress,
                )
            )
    finally:
        if tmp is not None:
            tmp.cleanup()
    return labelled_queries(prepared, [spec_name(e) for e in experts])


def labelled_source(queries: RoutingQueries) -> dict[str, Any]:
    """How many labelled training queries each dataset gave (saved with the router)."""
    return {"datasets": queries.per_dataset()}


def fit_routers(
    col: Collection,
    routers: Sequence[str],
    train_from: Sequence[str | Path] | RoutingData | None = None,
    *,
    routing_expert: str | None = None,
    self_supervised: bool = False,
    generators: Sequence[str] = DEFAULT_GENERATORS,
    max_queries: int = MAX_QUERIES,
    seed: int = 0,
    correct_pseudo: bool = True,
    progress: Progress | None = None,
    show_progress: bool = True,
) -> list[RouterFit]:
    """Fit and save ``routers`` on ``col`` and return what each one became.

    The routing data: the training queries of the BEIR folders ``train_from`` (or routing data already
    built); with ``train_from=None``, pseudo-queries from the collection's own documents (at most
    ``max_queries``, made by ``generators`` from a sample drawn with ``seed``); with ``self_supervised``,
    both. Pseudo-query labels are corrected by the table learned on the dev sets
    (:mod:`embedroute.routing.correction`; ``correct_pseudo=False`` keeps them raw), and the table is saved
    with the routers. Every router spec is checked, and the pseudo-queries made, before anything is scored;
    ``routing_expert`` defaults to the collection's first dense expert (:meth:`Collection.routing_expert`
    says which, or why none)."""
    if isinstance(routers, str):
        routers = [routers]
    for r in routers:
        make_router(r)  # a misspelt router or parameter fails before the training queries are run
    if isinstance(train_from, RoutingData):
        if self_supervised:
            raise InputError("self_supervised adds pseudo-queries to BEIR folders, not to built routing data")
        if routing_expert is None and train_from.routing_encoder:
            routing_expert = str(train_from.routing_encoder["spec"]["name"])  # data made by tfidf: route with it
        return _fit_each(col, routers, train_from, col.routing_expert(routing_expert), progress)
    _check_sources(train_from, self_supervised)
    if any(make_router(r).uses_features for r in routers):
        feature_experts(col)  # qpp needs a bm25 and a dense expert: say so before anything is scored
    routing = col.routing_expert(routing_expert)
    # a collection expert embeds as it is; any other name is a routing-only model, loaded now
    encoder = routing_model(col.expert(routing)) if routing in col.experts else routing_model_from_spec(routing)
    pseudo = None
    if train_from is None or self_supervised:
        pseudo = pseudo_queries_for(col, generators, max_queries=max_queries, seed=seed)  # too small: fails now
    queries = RoutingQueries(list(col.experts))
    source: dict[str, Any] = {"labelled": None, "pseudo": None}
    if train_from:
        labelled = labelled_routing_queries(
            list(train_from),
            [col.expert(n).spec() for n in col.experts],
            show_progress=show_progress,
            progress=progress,
        )
        queries, source["labelled"] = queries.merged(labelled), labelled_source(labelled)
    made_by = present_feature_experts(col)
    if pseudo is not None:
        scored = pseudo_routing_queries(col, pseudo, progress=progress, show_progress=show_progress)
        table = shipped_correction() if correct_pseudo and made_by is not None else None
        queries = queries.merged(scored if table is None else table.apply(scored, made_by))
        source["pseudo"] = pseudo_source(pseudo, generators, seed=seed, max_queries=max_queries)
        source["correction"] = None if table is None else table.to_dict()
    data = _embedded(queries, encoder, source, progress, collection_route_costs(col), made_by)
    return _fit_each(col, routers, data, routing, progress)


def _check_sources(train_from: Sequence[str | Path] | None, self_supervised: bool) -> None:
    """``train_from`` None (pseudo-queries only) or some folders; ``self_supervised`` only with folders."""
    if self_supervised and train_from is None:
        raise InputError(
            "self_supervised adds pseudo-queries to train_from's labelled ones; give train_from (or leave "
            "self_supervised out to fit on pseudo-queries alone)",
            field="self_supervised",
        )
    if train_from is not None and not train_from:
        raise InputError(
            "train_from names no BEIR folder to take training queries from (leave it out to fit on "
            "pseudo-queries from the collection's own documents)",
            field="train_from",
        )


def _embedded(
    queries: RoutingQueries,
    encoder: Any,
    source: dict[str, Any],
    progress: Progress | None,
    costs: dict[str, float] | None = None,
    made_by: tuple[str, str] | None = None,
) -> RoutingData:
    if not queries.texts:
        raise InputError("the BEIR folders in train_from hold no training queries", field="train_from")
    if progress is not None:
        progress("embedding routing queries", 0, None)
    return queries.embed(encoder, source, costs, made_by)


def _fit_each(
    col: Collection, routers: Sequence[str], data: RoutingData, routing: str, progress: Progress | None
) -> list[RouterFit]:
    fits = []
    for i, r in enumerate(routers):
        if progress is not None:
            progress(f"fitting {r}", i, len(routers))
        fitted = col.fit_router(r, data, routing_expert=routing)
        rule = fitted.choice or r
        if fitted.train_cv:
            cv = fitted.train_cv.get(rule)
        else:
            cv = cross_validate(r, data, folds=CV_FOLDS) if len(data.datasets) >= CV_FOLDS else None
        fits.append(
            RouterFit(
                router=r,
                rule=rule,
                routing_expert=routing,
                experts=list(fitted.experts),
                training_queries=len(data.datasets),
                datasets=sorted(set(data.datasets)),
                cv_ndcg=cv,
                train_cv=fitted.train_cv,
                source=data.source,
            )
        )
    return fits
