"""Collections, their experts and documents: list, create, info, check; add an expert (a job) or remove
one; add, upsert, get, delete documents."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import JSONResponse

from ..collection import Collection
from ..errors import CollectionError, InputError, UnknownNameError
from ..names import check_name
from .jobs import Progress, Task
from .pool import Pool
from .schemas import (
    AddDocuments,
    AddExpert,
    CheckResult,
    CollectionInfo,
    CollectionSummary,
    CreateCollection,
    DeleteDocuments,
    DocumentOut,
    ExpertAddJob,
    WriteResult,
)

router = APIRouter(prefix="/api/collections", tags=["collections"])
offered = APIRouter(prefix="/api", tags=["collections"])


def _pool(request: Request) -> Pool:
    return request.app.state.pool


def _info(name: str, col: Any) -> CollectionInfo:
    return CollectionInfo(
        name=name,
        documents=len(col),
        created=col.info()["created"],
        experts={n: col.expert(n).config() for n in col.experts},
        routers=col.routers,
        attributes=col.attribute_summary(),
    )


def only_named(source: Any, field: str = "experts") -> None:
    """Over HTTP, experts come from the registry by name, with allow-listed options: never a model folder,
    hub id or path option, which would let a caller make the server read arbitrary paths or reach the
    network (:mod:`.http_experts`)."""
    from .http_experts import check_offered

    check_offered(source, field=field)


@offered.get(
    "/experts",
    response_model=list[str],
    summary="Expert names this server accepts in POST /api/collections and .../experts",
)
def list_offered_experts() -> list[str]:
    """The expert names a collection may be created with or given over HTTP (anything else is refused)."""
    from ..experts.registry import expert_names

    return expert_names()


@contextmanager
def expert_input_errors(field: str) -> Iterator[None]:
    """An unknown expert or a bad option in a request body is bad input (400), not a missing resource."""
    try:
        yield
    except UnknownNameError as exc:
        raise InputError(str(exc), field=field) from None
    except (TypeError, ValueError, KeyError) as exc:
        if isinstance(exc, InputError):
            raise
        raise InputError(f"bad expert options: {exc}", field=field) from None


@router.get("", response_model=list[CollectionSummary], summary="List collections")
def list_collections(request: Request) -> list[CollectionSummary]:
    """Every collection served, with its size, experts and fitted routers."""
    out = []
    for name in _pool(request).names():
        with _pool(request).use(name) as col:
            out.append(CollectionSummary(name=name, documents=len(col), experts=col.experts, routers=col.routers))
    return out


@router.post("", response_model=CollectionInfo, status_code=201, summary="Create a collection")
def create_collection(body: CreateCollection, request: Request) -> CollectionInfo:
    """Create an empty collection with the given experts and typed attributes; answers what it holds."""
    experts = [e if isinstance(e, str) else e.model_dump(exclude_none=True) for e in body.experts]
    for i, e in enumerate(experts):
        only_named(e, f"experts[{i}]")
    with expert_input_errors("experts"):
        _pool(request).create(body.name, experts, body.attributes or None)
    with _pool(request).use(body.name) as col:
        return _info(body.name, col)


@router.get("/{name}", response_model=CollectionInfo, summary="What a collection holds")
def collection_info(name: str, request: Request) -> CollectionInfo:
    """The collection's size, experts (with their configs), attributes and routers."""
    with _pool(request).use(name) as col:
        return _info(name, col)


@router.post("/{name}/check", response_model=CheckResult, summary="Verify integrity (and index recall)")
def check_collection(name: str, request: Request, recall: bool = False) -> CheckResult:
    """Check the collection's integrity (store, manifest, checksums, vectors); with ``recall``, also each vector
    index's recall against exact search."""
    with _pool(request).use(name) as col:
        rep = col.check(recall=recall)
    return CheckResult(ok=rep.ok, counts=rep.counts, problems=rep.problems)


MAX_EXPERTS = 16  # as many as a collection may be created with


def add_expert_task(pool: Pool, name: str, spec: Any) -> Task:
    """Encode every stored document for ``spec`` through a second handle on the collection, so the
    served one keeps answering searches meanwhile; it takes up the new expert when the job is done."""

    def run(progress: Progress) -> dict[str, Any]:
        path = pool.path_of(name)
        with Collection.open(path) as own, expert_input_errors("expert"):
            added = own.add_expert(spec, progress=progress, max_experts=MAX_EXPERTS)
            config = added.config()
        with pool.use(name) as col:
            col.reload_experts()
            experts = col.experts
        return {"expert": added.name, "config": config, "experts": experts}

    return run


def check_expert_spec(spec: Any) -> None:
    """What can be checked before the model loads: a known name and a well-formed index option. Whether
    the index fits the expert's dimension (``mrl-N``, ``pq-M``) is known once the model loads: the job
    checks it."""
    from ..index.factory import make_index

    only_named(spec, "expert")
    options = spec.get("options", {}) if isinstance(spec, dict) else {}
    if isinstance(options, dict) and isinstance(options.get("index"), str):
        try:
            make_index(options["index"], 64)
        except InputError:  # malformed
            raise
        except ValueError:  # well-formed, but does not fit 64 dimensions: the expert's own may fit it
            pass


@router.post(
    "/{name}/experts",
    response_model=ExpertAddJob,
    status_code=202,
    summary="Start adding an expert: a job that encodes every stored document for it (poll "
    "GET /api/expert-adds/ID); searches keep answering with the other experts meanwhile",
)
def add_expert(name: str, body: AddExpert, request: Request) -> dict[str, Any]:
    """Start a job that adds an expert and encodes every stored document for it; poll the returned job for progress."""
    spec = body.expert if isinstance(body.expert, str) else body.expert.model_dump(exclude_none=True)
    with expert_input_errors("expert"):
        check_expert_spec(spec)
    pool: Pool = request.app.state.pool
    with pool.use(name) as col:
        if len(col.experts) >= MAX_EXPERTS:
            raise CollectionError(f"collection {name!r} already has {MAX_EXPERTS} experts, the most it may have")
        wanted = spec.get("name") or spec["source"] if isinstance(spec, dict) else spec
        if wanted in col.experts:
            raise InputError(f"collection already has an expert named {wanted!r}", field="expert")
    fields = {"collection": name, "expert": spec}
    return request.app.state.jobs.start("expert", fields, add_expert_task(pool, name, spec))


@offered.get("/expert-adds", response_model=list[ExpertAddJob], summary="Expert adds, newest first")
def list_expert_adds(request: Request) -> list[dict[str, Any]]:
    """Every expert-add job, newest first."""
    return request.app.state.jobs.list("expert")


@offered.get("/expert-adds/{job_id}", response_model=ExpertAddJob, summary="One expert add: progress, result")
def get_expert_add(job_id: str, request: Request) -> dict[str, Any]:
    """One expert-add job: its stage, progress and result or error."""
    return request.app.state.jobs.get(job_id, "expert")


@router.delete(
    "/{name}/experts/{expert}",
    response_model=CollectionInfo,
    summary="Remove an expert and its vectors; documents and other experts are untouched",
)
def remove_expert(name: str, expert: str, request: Request) -> CollectionInfo:
    """Remove an expert and its stored vectors; fitted routers route among the remaining experts."""
    check_name(expert, field="expert")
    with _pool(request).use(name) as col:
        if expert not in col.experts:
            raise UnknownNameError(f"collection {name!r} has no expert {expert!r}; it has: {', '.join(col.experts)}")
        col.remove_expert(expert)
        return _info(name, col)


def _write(name: str, body: AddDocuments, request: Request, *, upsert: bool) -> WriteResult | JSONResponse:
    limit = request.app.state.settings.max_batch
    if len(body.documents) > limit:
        return JSONResponse(
            {
                "error": "batch_too_large",
                "detail": f"{len(body.documents)} documents in one request; the limit is {limit}",
            },
            status_code=413,
        )
    docs = [d.model_dump() for d in body.documents]
    with _pool(request).use(name) as col:
        rep = col.upsert(docs) if upsert else col.add(docs)
        n = len(col)
    request.app.state.metrics.documents.inc(rep.added + rep.updated)
    return WriteResult(
        added=rep.added,
        updated=rep.updated,
        deleted=rep.deleted,
        encoded=rep.encoded,
        cache_hits=rep.cache_hits,
        seconds=rep.seconds,
        documents=n,
    )


_WRITE_RESPONSES: dict[int | str, dict[str, Any]] = {413: {"description": "batch or body too large"}}


@router.post(
    "/{name}/documents",
    response_model=WriteResult,
    responses=_WRITE_RESPONSES,
    summary="Add documents (an existing id is an error); answered once they are durable",
)
def add_documents(name: str, body: AddDocuments, request: Request) -> Any:
    """Add documents in one validated batch: an existing id, like any bad document, is an error and nothing is
    written."""
    return _write(name, body, request, upsert=False)


@router.put(
    "/{name}/documents",
    response_model=WriteResult,
    responses=_WRITE_RESPONSES,
    summary="Add or replace documents by id",
)
def upsert_documents(name: str, body: AddDocuments, request: Request) -> Any:
    """Add documents, replacing any already stored under the same id."""
    return _write(name, body, request, upsert=True)


@router.post("/{name}/documents/delete", response_model=WriteResult, summary="Delete documents by id")
def delete_documents(name: str, body: DeleteDocuments, request: Request) -> WriteResult:
    """Delete documents by id; an unknown id is an error and deletes nothing."""
    with _pool(request).use(name) as col:
        rep = col.delete(body.ids)
        n = len(col)
    return WriteResult(
        added=0, updated=0, deleted=rep.deleted, encoded=0, cache_hits=0, seconds=rep.seconds, documents=n
    )


@router.get("/{name}/documents/{doc_id}", response_model=DocumentOut, summary="One document by id")
def get_document(name: str, doc_id: str, request: Request) -> DocumentOut:
    """One stored document: its text, title and attributes."""
    with _pool(request).use(name) as col:
        found = col.get([doc_id])
    if doc_id not in found:
        raise UnknownNameError(f"collection {name!r} has no document {doc_id!r}")
    d = found[doc_id]
    return DocumentOut(id=d.id, text=d.text, title=d.title, attributes=d.attributes)
