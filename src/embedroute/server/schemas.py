"""Request and response bodies of the HTTP API (pydantic), the source of the OpenAPI spec."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..index.planner import PlanKind
from ..routing.pseudo import MAX_QUERIES

Name = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="letters, digits, '.', '_', '-'")


class Error(BaseModel):
    """Every error answer: a short machine-readable code (``error``) and a sentence saying what was wrong
    (``detail``)."""

    error: str
    detail: str


class Health(BaseModel):
    """Answer of GET /api/health: the server is up, its version and how many collections it serves."""

    status: Literal["ok"]
    version: str
    collections: int


class CollectionSummary(BaseModel):
    """One collection in the list of GET /api/collections: its name, document count, experts and fitted
    routers."""

    name: str
    documents: int
    experts: list[str]
    routers: list[str]


class ExpertSpec(BaseModel):
    """An expert to build: a registered source, an optional name of its own and its (allow-listed) options."""

    model_config = ConfigDict(extra="forbid")
    source: str = Field(description="a registered expert or model name (GET /api/collections/{name} shows them)")
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    options: dict[str, Any] = Field(
        default_factory=dict, description="index, rescore, truncate_dim, prompts, documents_from, ..."
    )


class CreateCollection(BaseModel):
    """Body of POST /api/collections: the new collection's name, its experts and declared attribute types."""

    model_config = ConfigDict(extra="forbid")
    name: str = Name
    experts: list[str | ExpertSpec] = Field(default=["minilm", "bm25"], min_length=1, max_length=16)
    attributes: dict[str, str] = Field(default_factory=dict, description="attribute name -> type")


class AddExpert(BaseModel):
    """Body of POST /api/collections/{name}/experts: the expert to add, by name or spec."""

    model_config = ConfigDict(extra="forbid")
    expert: str | ExpertSpec = Field(description="a registered expert name, or {source, name, options}")


class CollectionInfo(BaseModel):
    """What a collection holds: its document count, creation time, every expert's config, the fitted
    routers and each attribute's type with its frequent values or range."""

    name: str
    documents: int
    created: str
    experts: dict[str, dict[str, Any]]
    routers: list[str]
    attributes: dict[str, dict[str, Any]]


class CheckResult(BaseModel):
    """Answer of POST /api/collections/{name}/check: ``ok`` when ``problems`` is empty, with the counts
    checked."""

    ok: bool
    counts: dict[str, int]
    problems: list[str]


class DocumentIn(BaseModel):
    """One document to store: its id, text, optional title and attributes (the filterable fields)."""

    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=512)
    text: str = Field(max_length=1_000_000)
    title: str | None = Field(default=None, max_length=10_000)
    attributes: dict[str, Any] = Field(default_factory=dict)


class DocumentOut(BaseModel):
    """One stored document, as GET /api/collections/{name}/documents/{doc_id} returns it."""

    id: str
    text: str
    title: str | None
    attributes: dict[str, Any]


class AddDocuments(BaseModel):
    """Body of POST and PUT /api/collections/{name}/documents: one batch of documents, written together."""

    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentIn] = Field(min_length=1)


class DeleteDocuments(BaseModel):
    """Body of POST /api/collections/{name}/documents/delete: the ids of the documents to delete."""

    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(min_length=1)


class WriteResult(BaseModel):
    """What one document write did: documents added, updated and deleted, texts encoded (and how many came
    from the embedding cache), its duration in seconds and the collection's size after it."""

    added: int
    updated: int
    deleted: int
    encoded: int
    cache_hits: int
    seconds: float
    documents: int = Field(description="documents in the collection after the write")


class SearchRequest(BaseModel):
    """Body of POST /api/collections/{name}/search: the query, how many hits, which expert or router
    answers, an optional attribute filter, a rescoring override and whether hits carry texts."""

    model_config = ConfigDict(extra="forbid")
    query: str = Field(min_length=1, max_length=10_000)
    k: int = Field(default=10, ge=1, le=1000)
    expert: str | None = Field(default=None, description="search this expert (default: the first)")
    router: str | None = Field(default=None, description="route with this fitted router instead")
    filter: dict[str, Any] | None = Field(default=None, description="attribute filter (JSON filter language)")
    rescore: int | None = Field(
        default=None, ge=0, le=100, description="override the rescoring multiplier of a compressed index"
    )
    text: bool = Field(default=True, description="include document texts in the hits")


class HitOut(BaseModel):
    """One ranked hit: the document id, score and rank, with its title, text and attributes when asked for."""

    id: str
    score: float
    rank: int
    title: str | None = None
    text: str | None = None
    attributes: dict[str, Any] = Field(default_factory=dict)


class RoutingOut(BaseModel):
    """Why a routed search went where it did (:class:`embedroute.collection.results.RoutingInfo`)."""

    router: str
    rule: str = Field(description="the rule that ran (auto: the one it chose when fitted)")
    routing_expert: str = Field(description="the model that embedded the query for routing")
    experts: list[str] = Field(description="the experts chosen, best first; several are fused by RRF")
    scores: dict[str, float] = Field(description="every expert's routing score")
    why: dict[str, Any] = Field(
        default_factory=dict,
        description="what the scores are; qpp: the query's values of the features that weigh most; "
        "fusion-adaptive: whether it fused, its margin and threshold, and the reason",
    )


class PlanOut(BaseModel):
    """The plan a filtered search ran (:class:`embedroute.index.planner.Plan`)."""

    kind: PlanKind
    selectivity_estimate: float | None
    allowed: int = Field(description="documents the filter allows")
    params: dict[str, Any] = Field(default_factory=dict, description="the plan's parameters (efSearch, oversampling)")
    candidates: int = Field(description="vectors scored, or asked of the index")


class SearchResponse(BaseModel):
    """Answer of a search: the hits, the expert that answered, the timings in milliseconds and, where they
    apply, the routing and filtered-search plan diagnostics."""

    query: str
    expert: str
    hits: list[HitOut]
    timings: dict[str, float]
    routing: RoutingOut | None = None
    plan: PlanOut | None = None
    index: dict[str, Any] | None = Field(default=None, description="the answering expert's index config")


class EvalRequest(BaseModel):
    """Body of POST /api/evaluations: the BEIR folder to evaluate on, the experts and the query split."""

    model_config = ConfigDict(extra="forbid")
    data: str = Field(min_length=1, max_length=4096, description="BEIR folder under one of the data roots")
    experts: list[str] = Field(default=["minilm", "bm25"], min_length=1, max_length=8)
    split: str = Field(default="test", pattern=r"^[A-Za-z0-9_-]{1,32}$")


class Job(BaseModel):
    """What every job started over HTTP reports: status, the stage it is in and how far along."""

    id: str
    status: Literal["queued", "running", "done", "failed"]
    stage: str
    done: int
    total: int | None
    created: str
    finished: str | None = None
    error: str | None = None


class EvalJob(Job):
    """An evaluation run (POST /api/evaluations): what it evaluates and, once done, its results."""

    data: str
    experts: list[str]
    split: str
    result: dict[str, Any] | None = None


class FitRouter(BaseModel):
    """Body of POST /api/collections/{name}/routers: the router to fit, the BEIR folders whose training
    queries fit it (none: pseudo-queries from the collection's own documents; ``self_supervised``: both)
    and the model that embeds queries for routing."""

    model_config = ConfigDict(extra="forbid")
    router: str = Field(
        default="auto",
        min_length=1,
        max_length=200,
        description="router spec: pilot, pilot-nearest, dataset, classifier, qpp, fusion, fusion-topk, "
        "fusion-adaptive, auto, NAME@key=value",
    )
    train_from: list[str] = Field(
        default_factory=list,
        max_length=16,
        description="BEIR folders under the data roots whose training queries fit it; none: fit on "
        "pseudo-queries made from the collection's own documents",
    )
    self_supervised: bool = Field(
        default=False, description="add pseudo-queries from the collection's own documents to train_from's"
    )
    pseudo_queries: int = Field(
        default=MAX_QUERIES, ge=20, le=20_000, description="at most this many pseudo-queries, when they are made"
    )
    routing_expert: str | None = Field(
        default=None,
        description="model that embeds queries for routing: a "
        "dense expert, or tfidf (fitted on the training "
        "queries); default: the collection's first dense "
        "expert",
    )


class RouterFitJob(Job):
    """A router fit (POST /api/collections/{name}/routers): the collection, router, training folders and
    routing model, and once done what was fitted."""

    collection: str
    router: str
    train_from: list[str]
    self_supervised: bool = False
    routing_expert: str
    result: dict[str, Any] | None = Field(
        default=None, description="the rule fitted, its train CV, the experts and training queries it saw"
    )


class ExpertAddJob(Job):
    """An expert add (POST /api/collections/{name}/experts): the collection, the expert being added and,
    once done, the result."""

    collection: str
    expert: str | dict[str, Any] = Field(description="the expert spec being added")
    result: dict[str, Any] | None = Field(
        default=None, description="the added expert's name and config, and the collection's experts after it"
    )
