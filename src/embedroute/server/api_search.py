"""Search: one expert, or a fitted router, with filters and rescoring options, explained.

Concurrent searches on one collection are answered in micro-batches (see :mod:`.batcher`).
"""

from __future__ import annotations

from fastapi import APIRouter, Request

from ..errors import InputError
from ..names import check_name
from .schemas import HitOut, SearchRequest, SearchResponse

router = APIRouter(prefix="/api/collections", tags=["search"])


@router.post("/{name}/search", response_model=SearchResponse, summary="Search a collection")
def search(name: str, body: SearchRequest, request: Request) -> SearchResponse:
    """Search the collection with one expert or a fitted router, optionally filtered on attributes; the answer names
    the experts that answered."""
    for field in ("expert", "router"):  # looked up by name, a router's on disk: never a path
        if getattr(body, field) is not None:
            check_name(getattr(body, field), field=field)
    if body.expert and body.router:
        raise InputError("give expert or router, not both", field="router")
    if not body.query.strip():
        raise InputError("empty query", field="query")
    res, index = request.app.state.batcher.search(
        name, body.query, body.k, expert=body.expert, router=body.router, filter=body.filter, rescore=body.rescore
    )
    for e in res.expert.split("+"):
        request.app.state.metrics.searches.labels(e).inc()
    hits = [
        HitOut(
            id=h.id,
            score=h.score,
            rank=h.rank,
            title=h.title if body.text else None,
            text=h.text if body.text else None,
            attributes=h.attributes,
        )
        for h in res.hits
    ]
    return SearchResponse(
        query=res.query,
        expert=res.expert,
        hits=hits,
        timings=res.timings,
        routing=None if res.routing is None else res.routing.to_dict(),
        plan=None if res.plan is None else res.plan.to_json(),
        index=index,
    )
