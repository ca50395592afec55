"""Search: one expert, or a fitted router, with filters and rescoring options, explained."""

from __future__ import annotations

from contextlib import nullcontext
from typing import Any

from fastapi import APIRouter, Request

from ..errors import InputError
from .schemas import HitOut, SearchRequest, SearchResponse

router = APIRouter(prefix="/api/collections", tags=["search"])


@router.post("/{name}/search", response_model=SearchResponse, summary="Search a collection")
def search(name: str, body: SearchRequest, request: Request) -> SearchResponse:
    if body.expert and body.router:
        raise InputError("give expert or router, not both", field="router")
    with request.app.state.pool.use(name) as col:
        if body.router:
            res = col.routed_search(body.query, body.k, router=body.router, filter=body.filter)
        else:
            expert = col.expert(body.expert)
            ctx: Any = expert.rescoring(body.rescore) if hasattr(expert, "rescoring") else nullcontext()
            with ctx:
                res = col.search(body.query, body.k, expert=expert.name, filter=body.filter)
        answered = res.expert.split("+")
        index = col.expert(answered[0]).index_config() if len(answered) == 1 else None
    for e in answered:
        request.app.state.metrics.searches.labels(e).inc()
    hits = [HitOut(id=h.id, score=h.score, rank=h.rank, title=h.title if body.text else None,
                   text=h.text if body.text else None, attributes=h.attributes) for h in res.hits]
    return SearchResponse(query=res.query, expert=res.expert, hits=hits, timings=res.timings,
                          routing=res.routing, plan=res.plan, index=index)

