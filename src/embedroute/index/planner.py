"""Filtered-search planning: pick exact search over the allowed set, filtering inside the index's
traversal, or post-filtering with oversampling, from the exact number of allowed documents (every plan
needs the allowed set itself; the estimate from posting sizes is only reported with the plan).

Hand-written (FAISS offers the filter hook, not the plan). The plan families follow the filtered-ANN
benchmark of Iff et al. (arXiv 2507.21989) and ACORN (Patel et al., SIGMOD 2024): pre-filter (exact
over the allowed set) wins at low selectivity, in-filter (HNSW with the predicate applied during
traversal, efSearch raised as selectivity falls) in the middle, post-filter with oversampling when
most documents pass. The default :class:`Thresholds` are starting points; :func:`calibrate` measures an
index and returns thresholds that follow the measurements (``Collection.calibrate`` saves them).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal


@dataclass
class Thresholds:
    """Where the planner switches plans: exact search up to ``exact_max_allowed`` allowed documents,
    post-filtering from ``post_filter_min_selectivity``, filtered traversal between."""

    #: at most this many allowed documents (when traversal would run at ``ef_base``; see
    #: :meth:`exact_limit`): exact search over them. The default is what :func:`calibrate` measures on
    #: HNSW indexes of real embeddings with tuning queries (``benchmarks/planner_defaults.py``, its
    #: median over sizes and rounds in ``benchmarks/results/planner-defaults.json``), so an uncalibrated
    #: collection already traverses the graph where that is faster.
    exact_max_allowed: int = 5500
    #: at least this selectivity: post-filter (search k / s x oversample, then drop)
    post_filter_min_selectivity: float = 0.5
    oversample: float = 2.0
    #: efSearch for in-index filtering: max(ef_base, 2 k / selectivity), capped
    ef_base: int = 256
    ef_cap: int = 4096

    def to_json(self) -> dict[str, Any]:
        """JSON-able, as ``planner.json`` stores them."""
        return asdict(self)

    def post_filter_depth(self, n_total: int, k: int, s: float) -> int:
        """How deep post-filtering searches at selectivity ``s``: k / s x oversample, plus k."""
        return min(n_total, int(k / s * self.oversample) + k)

    def exact_limit(self, ef: int) -> int:
        """The most allowed documents searched exactly when filtered traversal would run at ``ef``.

        Exact search costs about one distance per allowed document, traversal about one batch of
        distances per efSearch step: ``exact_max_allowed`` is the break-even at ``ef_base``, and it moves
        with the traversal's efSearch (a low selectivity or a large index's higher efSearch makes traversal
        dearer, so exact search stays the plan for more documents).

        >>> Thresholds(exact_max_allowed=8000).exact_limit(256), Thresholds(exact_max_allowed=8000).exact_limit(2048)
        (8000, 64000)
        """
        return int(self.exact_max_allowed * max(ef, 1) / max(self.ef_base, 1))

    def traversal_ef(self, k: int, s: float, ef_search: int | None = None) -> int:
        """efSearch for filtered traversal: 2 k / s, never below ``ef_base`` or the index's own efSearch
        (it must find k allowed documents among the ones it visits), capped at ``ef_cap``.

        >>> Thresholds().traversal_ef(10, 0.001), Thresholds().traversal_ef(10, 0.5, ef_search=692)
        (4096, 692)
        """
        return int(min(self.ef_cap, max(self.ef_base, ef_search or 0, 2 * k / s)))


#: what ran for a filtered query: exact scoring of the allowed set, the index's own filtered traversal,
#: an oversampled unfiltered search then filtered, nothing (no allowed document), or a full scan (bm25, SPLADE)
PlanKind = Literal["unfiltered", "exact-allowed", "index-filtered", "post-filter", "empty", "exact-scan"]


@dataclass
class Plan:
    """The plan one filtered search ran: its kind, the filter's estimated selectivity, how many documents
    the filter allows, the plan's parameters (efSearch, oversampling) and the vectors it scored or asked for."""

    kind: PlanKind
    selectivity_estimate: float | None
    allowed: int
    params: dict[str, Any] = field(default_factory=dict)
    candidates: int = 0  # vectors scored (exact) or requested from the index

    def to_json(self) -> dict[str, Any]:
        """JSON-able, for the CLI's and the server's output (a search result's diagnostics)."""
        return asdict(self)


def choose(
    n_total: int,
    n_allowed: int,
    estimate: float,
    k: int,
    *,
    index_kind: str,
    thresholds: Thresholds | None = None,
    ef_search: int | None = None,
) -> Plan:
    """The plan for one filtered query; ``ef_search`` is the index's unfiltered efSearch, the floor for
    filtered traversal (which must find k allowed documents among the ones it visits).

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
    s = max(n_allowed / max(n_total, 1), 1e-9)
    ef = t.traversal_ef(k, s, ef_search)
    if n_allowed <= t.exact_limit(ef) or index_kind == "flat":
        return Plan("exact-allowed", estimate, n_allowed, candidates=n_allowed)
    if s >= t.post_filter_min_selectivity:
        depth = t.post_filter_depth(n_total, k, s)
        return Plan("post-filter", estimate, n_allowed, {"depth": depth}, candidates=depth)
    return Plan("index-filtered", estimate, n_allowed, {"efSearch": ef}, candidates=ef)


def calibrate(
    index: Any,
    queries: Any,
    *,
    k: int = 10,
    sizes: tuple[int, ...] = (1000, 10000, 50000),
    selectivities: tuple[float, ...] = (0.5, 0.3, 0.2, 0.1, 0.05),
    seed: int = 0,
) -> Thresholds:
    """Measure this index on these queries and return thresholds that follow the measurements.

    Every plan is timed through ``index.search_filtered`` exactly as searches run it.
    ``exact_max_allowed`` is where exact search over the allowed set stops being faster than the
    index's filtered traversal; ``post_filter_min_selectivity`` is the lowest measured selectivity from
    which post-filtering beats filtered traversal at every higher selectivity measured.
    """
    import time

    import numpy as np

    rng = np.random.default_rng(seed)
    ids = np.asarray(index._all_ids(), dtype=np.int64)  # the stored row ids, sorted (not 0..n-1)
    n = len(ids)
    q = np.ascontiguousarray(queries[: min(len(queries), 50)], dtype=np.float32)
    base = Thresholds()

    def per_query(allowed: np.ndarray, plan: Plan) -> float:
        index.search_filtered(q[:1], k, allowed, plan)  # warm-up
        t0 = time.perf_counter()
        for i in range(len(q)):
            index.search_filtered(q[i : i + 1], k, allowed, plan)
        return (time.perf_counter() - t0) / len(q)

    exact_cost = []
    for size in sizes:
        if size <= n:
            allowed = np.sort(rng.choice(ids, size, replace=False))
            exact_cost.append((size, per_query(allowed, Plan("exact-allowed", size / n, size))))
    per_vector = float(np.mean([t / s for s, t in exact_cost])) if exact_cost else 1e-7
    traversal, post = {}, {}
    for s in selectivities:
        allowed = np.sort(rng.choice(ids, max(k, int(s * n)), replace=False))
        ef = base.traversal_ef(k, s, index.ef_search)
        traversal[s] = per_query(allowed, Plan("index-filtered", s, len(allowed), {"efSearch": ef}))
        depth = base.post_filter_depth(n, k, s)
        post[s] = per_query(allowed, Plan("post-filter", s, len(allowed), {"depth": depth}))
    # traversal's cost at ef_base per measured selectivity (its efSearch there scaled back), in exact-vector units
    at_base = [traversal[s] * base.ef_base / base.traversal_ef(k, s, index.ef_search) for s in selectivities]
    exact_max = int(float(np.median(at_base)) / per_vector)
    post_min = 1.01  # the lowest selectivity from which post-filtering wins at every higher one measured
    for s in sorted(selectivities, reverse=True):
        if post[s] > traversal[s]:
            break
        post_min = s
    return Thresholds(exact_max_allowed=max(exact_max, k), post_filter_min_selectivity=post_min)
