"""Request and response bodies of the HTTP API (pydantic), the source of the OpenAPI spec."""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ..index.planner import PlanKind

Name = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$", description="letters, digits, '.', '_', '-'")


class Error(BaseModel):
    error: str
    detail: str


class Health(BaseModel):
    status: Literal["ok"]
    version: str
    collections: int


class CollectionSummary(BaseModel):
    name: str
    documents: int
    experts: list[str]
    routers: list[str]


class ExpertSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(description="a registered expert or model name (GET /api/collections/{name} shows them)")
    name: str | None = Field(default=None, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
    options: dict[str, Any] = Field(
        default_factory=dict, description="index, rescore, truncate_dim, prompts, documents_from, ..."
    )


class CreateCollection(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Name
    experts: list[str | ExpertSpec] = Field(default=["minilm", "bm25"], min_length=1, max_length=16)
    attributes: dict[str, str] = Field(default_factory=dict, description="attribute name -> type")


class AddExpert(BaseModel):
    model_config = ConfigDict(extra="forbid")
    expert: str | ExpertSpec = Field(description="a registered expert name, or {source, name, options}")


class CollectionInfo(BaseModel):
    name: str
    documents: int
    created: str
    experts: dict[str, dict[str, Any]]
    routers: list[str]
    attributes: dict[str, dict[str, Any]]


class CheckResult(BaseModel):
    ok: bool
    counts: dict[str, int]
    problems: list[str]


class DocumentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, max_length=512)
    text: str = Field(max_length=1_000_000)
    title: str | None = Field(default=None, max_length=10_000)
    attributes: dict[str, Any] = Field(default_factory=dict)


class DocumentOut(BaseModel):
    id: str
    text: str
    title: str | None
    attributes: dict[str, Any]


class AddDocuments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    documents: list[DocumentIn] = Field(min_length=1)


class DeleteDocuments(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ids: list[str] = Field(min_length=1)


class WriteResult(BaseModel):
    added: int
    updated: int
    deleted: int
    encoded: int
    cache_hits: int
    seconds: float
    documents: int = Field(description="documents in the collection after the write")


class SearchRequest(BaseModel):
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


class PlanOut(BaseModel):
    """The plan a filtered search ran (:class:`embedroute.index.planner.Plan`)."""

    kind: PlanKind
    selectivity_estimate: float | None
    allowed: int = Field(description="documents the filter allows")
    params: dict[str, Any] = Field(default_factory=dict, description="the plan's parameters (efSearch, oversampling)")
    candidates: int = Field(description="vectors scored, or asked of the index")


class SearchResponse(BaseModel):
    query: str
    expert: str
    hits: list[HitOut]
    timings: dict[str, float]
    routing: RoutingOut | None = None
    plan: PlanOut | None = None
    index: dict[str, Any] | None = Field(default=None, description="the answering expert's index config")


class EvalRequest(BaseModel):
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
    data: str
    experts: list[str]
    split: str
    result: dict[str, Any] | None = None


class FitRouter(BaseModel):
    model_config = ConfigDict(extra="forbid")
    router: str = Field(
        default="auto",
        min_length=1,
        max_length=200,
        description="router spec: pilot, pilot-nearest, dataset, classifier, fusion, fusion-topk, auto, NAME@key=value",
    )
    train_from: list[str] = Field(
        min_length=1, max_length=16, description="BEIR folders under the data roots whose training queries fit it"
    )
    routing_expert: str | None = Field(
        default=None,
        description="model that embeds queries for routing: a "
        "dense expert, or tfidf (fitted on the training "
        "queries); default: the collection's first dense "
        "expert",
    )


class RouterFitJob(Job):
    collection: str
    router: str
    train_from: list[str]
    routing_expert: str
    result: dict[str, Any] | None = Field(
        default=None, description="the rule fitted, its train CV, the experts and training queries it saw"
    )


class ExpertAddJob(Job):
    collection: str
    expert: str | dict[str, Any] = Field(description="the expert spec being added")
    result: dict[str, Any] | None = Field(
        default=None, description="the added expert's name and config, and the collection's experts after it"
    )
