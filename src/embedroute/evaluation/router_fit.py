"""Fitting a collection's routers from labelled training queries: the one workflow the CLI (``embedroute
route``), the server's router-fit job, the server's sample collection and the demo all call.

RouterRetriever (Lee et al., AAAI 2025, arXiv 2409.02685) fits each router from training queries on which
every expert was scored: here every expert of the collection (rebuilt from its stored spec) searches each
BEIR training dataset's own corpus, each training query gets every expert's nDCG@10, and the queries are
embedded by the routing model. The steps are: choose the routing model (:meth:`Collection.routing_expert`:
the named one, or the collection's first dense expert), build that routing data
(:func:`build_routing_data`), then fit and save each router (:meth:`Collection.fit_router`).

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
from ..errors import InputError
from ..experts.registry import ExpertSpec
from ..routing import RoutingData, make_router
from ..routing.cv import cross_validate
from ..routing.models import routing_model_from_spec
from .routing import prepare, routing_data
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

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for the CLI's and the server's output."""
        return asdict(self)

    def __str__(self) -> str:
        text = (
            f"fitted router {self.router} on {self.training_queries} training queries "
            f"({', '.join(self.datasets)}), experts {', '.join(self.experts)}"
        )
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
        if progress is not None:
            progress("embedding training queries", len(train_from), len(train_from))
    finally:
        if tmp is not None:
            tmp.cleanup()
    names = [spec_name(e) for e in experts]
    return routing_data(prepared, names, router_model)


def fit_routers(
    col: Collection,
    routers: Sequence[str],
    train_from: Sequence[str | Path] | RoutingData,
    *,
    routing_expert: str | None = None,
    progress: Progress | None = None,
    show_progress: bool = True,
) -> list[RouterFit]:
    """Fit and save ``routers`` on ``col`` from the training queries of the BEIR folders ``train_from``
    (or from routing data already built), and return what each one became.

    Every router spec is checked before anything is scored; ``routing_expert`` defaults to the
    collection's first dense expert (:meth:`Collection.routing_expert` says which, or why none)."""
    if isinstance(routers, str):
        routers = [routers]
    for r in routers:
        make_router(r)  # a misspelt router or parameter fails before the training queries are run
    if isinstance(train_from, RoutingData) and routing_expert is None and train_from.routing_encoder:
        routing_expert = str(train_from.routing_encoder["spec"]["name"])  # data made by tfidf: route with it
    routing = col.routing_expert(routing_expert)
    if isinstance(train_from, RoutingData):
        data = train_from
    elif not train_from:
        raise InputError("train_from names no BEIR folder to take training queries from", field="train_from")
    else:
        # a collection expert is rebuilt from its stored spec; any other name is a routing-only model
        spec: ExpertSpec = col.expert(routing).spec() if routing in col.experts else routing
        data = build_routing_data(
            list(train_from),
            [col.expert(n).spec() for n in col.experts],
            routing_expert=spec,
            show_progress=show_progress,
            progress=progress,
        )
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
            )
        )
    return fits
