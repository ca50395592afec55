"""Filtered-search planning: pick exact search over the allowed set, filtering inside the index's
traversal, or post-filtering with oversampling, from the estimated selectivity.

Hand-written (FAISS offers the filter hook, not the plan). The plan families follow the filtered-ANN
benchmark of Iff et al. (arXiv 2507.21989) and ACORN (Patel et al., SIGMOD 2024): pre-filter (exact
over the allowed set) wins at low selectivity, in-filter (HNSW with the predicate applied during
traversal, efSearch raised as selectivity falls) in the middle, post-filter with oversampling when
most documents pass. Default thresholds are placeholders to be replaced by measured ones
(``Thresholds.calibrate``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any


@dataclass
class Thresholds:
    #: at most this many allowed documents: exact search over them
    exact_max_allowed: int = 20000
    #: at least this selectivity: post-filter (search k / s x oversample, then drop)
    post_filter_min_selectivity: float = 0.5
    oversample: float = 2.0
    #: efSearch for in-index filtering: max(ef_base, k / selectivity), capped
    ef_base: int = 128
    ef_cap: int = 4096

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    kind: str  # "unfiltered" | "exact-allowed" | "index-filtered" | "post-filter" | "empty"
    selectivity_estimate: float
    allowed: int
    params: dict[str, Any] = field(default_factory=dict)
    candidates: int = 0  # vectors scored (exact) or requested from the index

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def choose(n_total: int, n_allowed: int, estimate: float, k: int, *, index_kind: str,
           thresholds: Thresholds | None = None) -> Plan:
    """The plan for one filtered query.

    >>> choose(1000, 5, 0.005, 10, index_kind="hnsw").kind
    'exact-allowed'
    >>> choose(1_000_000, 300_000, 0.3, 10, index_kind="hnsw").kind
    'index-filtered'
    >>> choose(1_000_000, 900_000, 0.9, 10, index_kind="hnsw").kind
    'post-filter'
    """
    t = thresholds or Thresholds()
    if n_allowed == 0:
        return Plan("empty", estimate, 0)
    if n_allowed == n_total:
        return Plan("unfiltered", estimate, n_allowed, candidates=k)
    if n_allowed <= t.exact_max_allowed or index_kind == "flat":
        return Plan("exact-allowed", estimate, n_allowed, candidates=n_allowed)
    s = max(n_allowed / max(n_total, 1), 1e-9)
    if s >= t.post_filter_min_selectivity:
        depth = min(n_total, int(k / s * t.oversample) + k)
        return Plan("post-filter", estimate, n_allowed, {"depth": depth}, candidates=depth)
    ef = int(min(t.ef_cap, max(t.ef_base, k / s)))
    return Plan("index-filtered", estimate, n_allowed, {"efSearch": ef}, candidates=ef)
