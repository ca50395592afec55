"""Fitting a collection's routers over HTTP, from BEIR training queries under the data roots or from
pseudo-queries made from the collection's own documents: a job, since every expert must first search
every training dataset's corpus (or the collection, for each pseudo-query)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request

from ..errors import InputError, UnknownNameError
from ..evaluation.beir import train_and_test
from ..names import check_name
from ..routing.pseudo import MAX_QUERIES
from .jobs import Progress, Task
from .pool import Pool
from .schemas import FitRouter, RouterFitJob
from .security import confined

router = APIRouter(prefix="/api", tags=["routing"])


def fit_task(
    pool: Pool,
    name: str,
    spec: str,
    train_from: list[Path],
    routing_expert: str,
    *,
    self_supervised: bool = False,
    pseudo_queries: int = MAX_QUERIES,
) -> Task:
    """Fit and save ``spec`` on the collection from the training queries (:func:`fit_routers`), through a
    handle of the job's own so that searches go on meanwhile; the served handle then forgets its fitted
    routers and loads them again from the saved files. An expert removed meanwhile is left out of
    routing when the router is loaded; one added is not routed to until the router is fitted again."""

    def run(progress: Progress) -> dict[str, Any]:
        from ..collection import Collection
        from ..evaluation.router_fit import fit_routers

        with Collection.open(pool.path_of(name)) as own:
            (fit,) = fit_routers(
                own,
                [spec],
                train_from or None,  # no folders: pseudo-queries from the collection's own documents
                routing_expert=routing_expert,
                self_supervised=self_supervised,
                max_queries=pseudo_queries,
                progress=progress,
                show_progress=False,
            )
        with pool.use(name) as col:
            col.reload_routers()
            routers = col.routers
        return fit.to_dict() | {"routers": routers}

    return run


@router.post(
    "/collections/{name}/routers",
    response_model=RouterFitJob,
    status_code=202,
    summary="Start fitting (or re-fitting) a router from BEIR training queries under a data root, or from "
    "pseudo-queries made from the collection's own documents",
)
def start_fit(name: str, body: FitRouter, request: Request) -> dict[str, Any]:
    """Start a job that fits (or re-fits) a router from BEIR training queries under a data root (none given:
    from pseudo-queries made from the collection's own documents); poll the returned job."""
    from ..routing import make_router
    from ..routing.lexical import names_tfidf
    from ..routing.models import check_routing_name
    from .api_collections import only_named

    check_name(body.router, field="router")  # the router's files are named after it
    if body.routing_expert is not None:
        check_name(body.routing_expert, field="routing_expert")
    if body.self_supervised and not body.train_from:
        raise InputError(
            "self_supervised adds pseudo-queries to train_from's labelled ones; give train_from",
            field="self_supervised",
        )
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
        routing_expert = col.routing_expert(body.routing_expert)  # the default, or why it cannot route
        in_collection = routing_expert in col.experts
        if not body.train_from or body.self_supervised:
            from ..evaluation.pseudo_routing import pseudo_queries_for

            pseudo_queries_for(col, max_queries=body.pseudo_queries)  # too small a collection: a 400 now
    if not in_collection and not names_tfidf(routing_expert):  # a routing-only model the server offers
        only_named(routing_expert, "routing_expert")  # checked by name; the job loads it (minutes when cold)
        check_routing_name(routing_expert)
    fields = {
        "collection": name,
        "router": body.router,
        "train_from": [str(p) for p in paths],
        "self_supervised": body.self_supervised,
        "routing_expert": routing_expert,
    }
    task = fit_task(
        pool,
        name,
        body.router,
        paths,
        routing_expert,
        self_supervised=body.self_supervised,
        pseudo_queries=body.pseudo_queries,
    )
    return request.app.state.jobs.start("routing", fields, task)


@router.get("/router-fits", response_model=list[RouterFitJob], summary="Router fits, newest first")
def list_fits(request: Request) -> list[dict[str, Any]]:
    """Every router-fit job, newest first."""
    return request.app.state.jobs.list("routing")


@router.get("/router-fits/{job_id}", response_model=RouterFitJob, summary="One router fit: progress, result")
def get_fit(job_id: str, request: Request) -> dict[str, Any]:
    """One router-fit job: its stage, progress and result or error."""
    check_name(job_id, field="job_id")
    return request.app.state.jobs.get(job_id, "routing")
