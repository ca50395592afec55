"""Routing data from a collection's own documents, for a collection that has no labelled queries.

A sample of the collection's documents is turned into pseudo-queries (:mod:`embedroute.routing.pseudo`),
each with its source document as its one relevant document. Every expert of the collection searches the
collection itself for each pseudo-query, and its nDCG@10 on it (pytrec_eval, through
:func:`~embedroute.evaluation.metrics.evaluate_run`) becomes that query's routing label, exactly as a
labelled training query's is. Only documents are read: no query or qrel of any evaluation split, and the
collection's documents and vectors are never written.

Hand-written: the sampling and the loop over experts; the metric and the searches are the library's.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..collection import Collection
from ..collection.query_features import collection_query_features, feature_experts, has_feature_experts
from ..errors import InputError
from ..routing.pseudo import (
    DEFAULT_GENERATORS,
    MAX_QUERIES,
    PseudoQuery,
    SourceDocument,
    generator_names,
    generator_settings,
    make_pseudo_queries,
)
from ..routing.queries import RoutingQueries
from .metrics import evaluate_run, fused_ndcg

#: fewer documents than this, and a collection cannot teach a router from its own text
MIN_DOCUMENTS = 20
#: documents drawn beyond max_queries / generators, for those that give no query to some generator
SPARE_DOCUMENTS = 50
#: queries searched per call, for the progress bar
CHUNK = 256
#: how deep the feature experts are searched, for the fused pair's label (RRF over their top 100, as a routed
#: search fuses them)
PAIR_DEPTH = 100

Progress = Callable[[str, int, "int | None"], None]


@dataclass(frozen=True)
class PseudoSpec:
    """How pseudo-queries are made for a collection: the generators, at most how many, and the seed of the
    document sample and crops."""

    generators: tuple[str, ...] = field(default=DEFAULT_GENERATORS)
    max_queries: int = MAX_QUERIES
    seed: int = 0

    def __post_init__(self) -> None:
        object.__setattr__(self, "generators", generator_names(self.generators))  # "crop" is ("crop",)


def pseudo_queries_for(
    col: Collection, generators: Sequence[str] = DEFAULT_GENERATORS, *, max_queries: int = MAX_QUERIES, seed: int = 0
) -> list[PseudoQuery]:
    """Up to ``max_queries`` pseudo-queries from a seeded sample of ``col``'s documents (one per document
    and generator); a collection too small, or with too little text, is an InputError saying what to do."""
    generators = generator_names(generators)  # "title" is ("title",), not five one-letter names
    if max_queries < MIN_DOCUMENTS:
        raise InputError(f"max_queries must be at least {MIN_DOCUMENTS}, got {max_queries}", field="max_queries")
    n = len(col)
    if n < MIN_DOCUMENTS:
        raise InputError(
            f"the collection has {n} document{'s' * (n != 1)}; routing from its own documents needs at least "
            f"{MIN_DOCUMENTS}: add documents, or fit the router from labelled queries (train_from)",
            field="train_from",
        )
    # some documents give no query for some generators (no title, no sentence of query length): draw spare
    # ones, and when a whole generator gives none (documents without titles) draw as many more as needed
    want = -(-max_queries // len(generators)) + SPARE_DOCUMENTS
    for _ in range(4):
        docs = col.sample(want, seed=seed)
        queries = make_pseudo_queries([SourceDocument(d.id, d.title, d.text) for d in docs], generators, seed=seed)
        if len(queries) >= max_queries or len(docs) >= n or not queries:
            break
        want = min(n, max(2 * want, math.ceil(max_queries * len(docs) / len(queries)) + SPARE_DOCUMENTS))
    if len(queries) < MIN_DOCUMENTS:
        raise InputError(
            f"the collection's documents gave only {len(queries)} pseudo-queries ({', '.join(generators)}); "
            f"routing from them needs at least {MIN_DOCUMENTS}: its documents have too little text (titles, "
            "sentences of 3 words or more), so fit the router from labelled queries (train_from)",
            field="train_from",
        )
    return queries[:max_queries]


def pseudo_routing_queries(
    col: Collection,
    queries: Sequence[PseudoQuery],
    *,
    experts: Sequence[str] | None = None,
    progress: Progress | None = None,
    show_progress: bool = True,
) -> RoutingQueries:
    """Every expert's nDCG@10 on each pseudo-query, searching ``col`` itself (its source document relevant)."""
    from tqdm.auto import tqdm

    names = list(experts or col.experts)
    qids = [f"{q.generator}:{i}" for i, q in enumerate(queries)]
    qrels = {qid: {q.doc_id: 1} for qid, q in zip(qids, queries)}
    texts = [q.text for q in queries]
    scores = np.zeros((len(queries), len(names)), dtype=np.float32)
    pair = feature_experts(col) if has_feature_experts(col) else None
    pair_runs: dict[str, dict[str, dict[str, float]]] = {}
    bar = tqdm(total=len(names) * len(texts), desc="scoring pseudo-queries", unit="q", disable=not show_progress)
    for j, expert in enumerate(names):
        if progress is not None:
            progress(f"{expert} searching {len(texts)} pseudo-queries", j, len(names))
        run: dict[str, dict[str, float]] = {}
        for start in range(0, len(texts), CHUNK):
            depth = PAIR_DEPTH if pair and expert in pair else 10
            found = col.search_batch(texts[start : start + CHUNK], depth, expert=expert, fetch=False)
            for qid, res in zip(qids[start : start + CHUNK], found):
                run[qid] = {h.id: h.score for h in res.hits}
            bar.update(len(found))
        per_query = evaluate_run(qrels, run, ("ndcg@10",))
        scores[:, j] = [per_query.get(qid, {}).get("ndcg@10", 0.0) for qid in qids]
        if pair and expert in pair:
            pair_runs[expert] = run
    bar.close()
    out = RoutingQueries(names)
    features = collection_query_features(col, texts) if pair else None
    fused = fused_ndcg(qrels, [pair_runs[e] for e in pair], qids) if pair and set(pair) <= set(pair_runs) else None
    out.extend(texts, [pseudo_dataset(col)] * len(texts), scores, qids, features, fused)
    return out


def pseudo_dataset(col: Collection) -> str:
    """The dataset label of a collection's pseudo-queries in routing data."""
    return f"pseudo:{col.path.name}"


def pseudo_source(queries: Sequence[PseudoQuery], generators: Sequence[str], **settings: Any) -> dict[str, Any]:
    """How the pseudo-queries were made, with how many each generator gave (saved with the router)."""
    names = generator_names(generators)
    made = {g: sum(q.generator == g for q in queries) for g in names}
    return generator_settings(names, queries=len(queries), per_generator=made, **settings)
