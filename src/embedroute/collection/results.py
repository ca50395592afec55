"""Typed results: search hits with their diagnostics, write reports and integrity reports."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from ..index.planner import Plan


@dataclass
class Hit:
    """One ranked document of a search: its id, score and 1-based rank, and its stored title, text and
    attributes when the search fetched them (``None`` and empty when it did not)."""

    id: str
    score: float
    rank: int
    title: str | None = None
    text: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


def ranked_hits(
    rids: Sequence[int],
    scores: Sequence[float],
    docs: Mapping[int, Any] | None = None,
    names: Mapping[int, str] | None = None,
) -> list[Hit]:
    """Hits in rank order for row ids and their scores: with the stored documents' texts when ``docs``
    (row id -> document) is given, else with the ids alone from ``names`` (row id -> document id)."""
    hits = []
    for rank, (rid, score) in enumerate(zip(rids, scores), start=1):
        if docs is not None:
            d = docs[rid]
            hits.append(Hit(d.id, float(score), rank, d.title, d.text, d.attributes))
        elif names is not None:
            hits.append(Hit(names[rid], float(score), rank))
    return hits


@dataclass(frozen=True)
class RoutingInfo:
    """Why a routed search went where it did: the router asked for, the rule it ran (``auto``: the rule
    it chose when fitted), the model that embeds queries for routing (a router on query features, such as
    ``qpp``, reads none: its features search the collection's bm25 and first dense expert), the experts chosen (best
    first; several are fused by RRF) and every expert's routing score (RouterRetriever, arXiv 2409.02685)."""

    router: str
    rule: str
    routing_expert: str
    experts: list[str]
    scores: dict[str, float]
    #: why (:meth:`embedroute.routing.Router.explain`): what the scores are; for qpp the query's values of
    #: the features that weigh most; for adaptive fusion whether it fused, its margin and threshold
    why: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able, for the CLI's and the server's output."""
        return asdict(self)


@dataclass
class SearchResult:
    """Hits for one query, the expert that answered, and where the time went (milliseconds)."""

    query: str
    expert: str
    hits: list[Hit]
    timings: dict[str, float]
    #: for routed searches: the router, the experts it chose (best first) and every expert's score
    routing: RoutingInfo | None = None
    #: for filtered searches: the plan that ran, estimated selectivity, allowed and candidate counts
    plan: Plan | None = None

    @property
    def ids(self) -> list[str]:
        """The hits' document ids, in rank order."""
        return [h.id for h in self.hits]

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the query, the expert, the routing and plan diagnostics, the timings and the hits."""
        return {
            "query": self.query,
            "expert": self.expert,
            "routing": None if self.routing is None else self.routing.to_dict(),
            "plan": None if self.plan is None else self.plan.to_json(),
            "timings": dict(self.timings),
            "hits": [asdict(h) for h in self.hits],
        }

    def __repr__(self) -> str:
        top = ", ".join(f"{h.id}:{h.score:.3f}" for h in self.hits[:3])
        return (
            f"SearchResult(expert={self.expert!r}, hits={len(self.hits)} [{top}...], "
            f"total_ms={self.timings.get('total_ms', 0):.1f})"
        )


@dataclass
class WriteReport:
    """What one ``add``/``upsert``/``delete`` did."""

    added: int = 0
    updated: int = 0
    deleted: int = 0
    encoded: int = 0
    cache_hits: int = 0
    seconds: float = 0.0


@dataclass
class CompactReport:
    """What one ``Collection.compact`` did: the tombstones dropped per expert (0: nothing to rebuild) and
    the collection folder's size before and after."""

    tombstones: dict[str, int]
    bytes_before: int
    bytes_after: int
    seconds: float = 0.0


@dataclass
class CheckReport:
    """Outcome of ``Collection.check``: ``ok`` is true when ``problems`` is empty."""

    counts: dict[str, int]
    problems: list[str]

    @property
    def ok(self) -> bool:
        """True when the check found no problems."""
        return not self.problems
