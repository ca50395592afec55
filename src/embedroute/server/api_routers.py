"""Fitting a collection's routers over HTTP, from BEIR training queries under the data roots: a job,
since every expert must first search every training dataset's corpus."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from ..errors import InputError, UnknownNameError
from ..evaluation.beir import train_and_test
from ..names import check_name
from .jobs import Progress, Task
from .pool import Pool
from .schemas import FitRouter, RouterFitJob
from .security import confined

router = APIRouter(prefix="/api", tags=["routing"])


def fit_task(pool: Pool, name: str, spec: str, train_from: list[Path], routing_expert: str) -> Task:
    """Score the collection's experts on the training queries, then fit and save ``spec`` on it."""

    def run(progress: Progress) -> dict[str, Any]:
        from ..evaluation.routing import build_routing_data

        with pool.use(name) as col:  # specs, so an expert added under another name or with options is rebuilt
            experts = [col.expert(n).spec() for n in col.experts]
            routing_spec = col.expert(routing_expert).spec() if routing_expert in col.experts else routing_expert
        data = build_routing_data(
            train_from, experts, routing_expert=routing_spec, show_progress=False, progress=progress
        )
        progress("fitting", len(train_from), len(train_from))
        with pool.use(name) as col:  # an expert removed meanwhile is left out; one added is not routed to yet
            fitted = col.fit_router(spec, data, routing_expert=routing_expert)
            routers = col.routers
        choice = getattr(fitted, "choice", None)
        return {
            "router": spec,
            "rule": choice or spec,
            "train_cv": getattr(fitted, "train_cv", None),
            "experts": fitted.experts,
            "training_queries": len(data.datasets),
            "datasets": sorted(set(data.datasets)),
            "routers": routers,
        }

    return run


@router.post(
    "/collections/{name}/routers",
    response_model=RouterFitJob,
    status_code=202,
    summary="Start fitting (or re-fitting) a router from BEIR training queries under a data root",
)
def start_fit(name: str, body: FitRouter, request: Request) -> dict[str, Any]:
    from ..routing import make_router
    from ..routing.lexical import names_tfidf
    from ..routing.models import check_routing_name
    from .api_collections import only_named

    check_name(body.router, field="router")  # the router's files are named after it
    if body.routing_expert is not None:
        check_name(body.routing_expert, field="routing_expert")
    try:
        make_router(body.router)  # a misspelt router or parameter is a 400 now, not a failed job later
    except UnknownNameError as exc:  # a router name in a request body is bad input, not a missing resource
        raise InputError(str(exc), field="router") from None
    roots = request.app.state.settings.data_roots
    paths = [confined(p, roots, what="train_from") for p in body.train_from]
    for given, path in zip(body.train_from, paths):
        try:
            if not path.is_dir():
                raise InputError(f"{given} is not a folder", field="train_from")
            train_and_test(path)  # a missing queries or qrels file is reported now
        except OSError as exc:
            raise InputError(f"cannot read {given}: {exc.strerror or exc}", field="train_from") from None
    pool: Pool = request.app.state.pool
    with pool.use(name) as col:
        dense = [e for e in col.experts if col.expert(e).kind == "dense"]
        in_collection = set(col.experts)
    routing_expert = body.routing_expert or (dense[0] if dense else None)
    if routing_expert is None:
        raise InputError(
            f"collection {name!r} has no dense expert to embed queries for routing; name one as "
            "routing_expert (GET /api/experts)",
            field="routing_expert",
        )
    if routing_expert not in in_collection:  # a routing-only model: tfidf, or a dense name the server offers
        if not names_tfidf(routing_expert):  # checked by name; the job loads it (a cold load can take minutes)
            only_named(routing_expert, "routing_expert")
            check_routing_name(routing_expert)
    elif routing_expert not in dense:
        raise InputError(
            f"{routing_expert!r} is not a dense expert of collection {name!r} (dense: {', '.join(dense) or 'none'})",
            field="routing_expert",
        )
    fields = {
        "collection": name,
        "router": body.router,
        "train_from": [str(p) for p in paths],
        "routing_expert": routing_expert,
    }
    return request.app.state.jobs.start("routing", fields, fit_task(pool, name, body.router, paths, routing_expert))


@router.get("/router-fits", response_model=list[RouterFitJob], summary="Router fits, newest first")
def list_fits(request: Request) -> list[dict[str, Any]]:
    return request.app.state.jobs.list("routing")


@router.get("/router-fits/{job_id}", response_model=RouterFitJob, summary="One router fit: progress, result")
def get_fit(job_id: str, request: Request) -> dict[str, Any]:
    check_name(job_id, field="job_id")
    return request.app.state.jobs.get(job_id, "routing")
