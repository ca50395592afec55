"""Evaluate experts on a BEIR dataset through the same collection code path users deploy."""

from __future__ import annotations

import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..collection import Collection
from ..encoders.cache import default_cache
from ..encoders.versions import library_versions
from .beir import BeirDataset, load_beir
from .metrics import DEFAULT_METRICS, evaluate_run, mean_metrics


@dataclass
class ExpertEval:
    """One expert's evaluation: mean metrics, the per-query metrics they come from, its config and search time."""

    metrics: dict[str, float]
    per_query: dict[str, dict[str, float]]
    config: dict[str, Any]
    ms_per_query: float = 0.0


@dataclass
class EvalResult:
    """An evaluation of several experts on one data set split, with run statistics."""

    dataset: str
    split: str
    experts: dict[str, ExpertEval]
    stats: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-able dicts (per-query metrics included, for significance tests later)."""
        return {
            "dataset": self.dataset,
            "split": self.split,
            "experts": {
                n: {"metrics": e.metrics, "per_query": e.per_query, "config": e.config, "ms_per_query": e.ms_per_query}
                for n, e in self.experts.items()
            },
            "stats": self.stats,
        }

    def table(self, metrics: tuple[str, ...] = DEFAULT_METRICS) -> str:
        """A fixed-width text table of the chosen metrics and milliseconds per query, one row per expert."""
        head = f"{'expert':<14}" + "".join(f"{m:>12}" for m in metrics) + f"{'ms/query':>10}"
        lines = [
            f"{self.dataset} ({self.split}, {self.stats.get('queries', '?')} queries, "
            f"{self.stats.get('documents', '?')} docs)",
            head,
            "-" * len(head),
        ]
        for name, e in self.experts.items():
            lines.append(
                f"{name:<14}"
                + "".join(f"{e.metrics.get(m, float('nan')):>12.4f}" for m in metrics)
                + f"{e.ms_per_query:>10.1f}"
            )
        return "\n".join(lines)


def spec_name(spec: Any) -> str:
    """The name an expert spec (a name or ``{"source", "name"?, ...}``) gets in a collection."""
    return spec if isinstance(spec, str) else spec.get("name") or spec["source"]


def with_bases(experts: Sequence[Any]) -> list[Any]:
    """``experts`` plus, at the end, each query-side expert's ``documents_from`` base not already there."""
    from ..experts.registry import base_of

    out = list(experts)
    names = {spec_name(e) for e in experts}
    for spec in experts:
        base = base_of(spec)
        if base and base not in names:
            out.append(base)
            names.add(base)
    return out


def corpus_collection(
    path: str | Path, experts: Sequence[Any], ds: BeirDataset, *, show_progress: bool = True, on_commit: Any = None
) -> tuple[Collection, list[str]]:
    """Open (or create) a collection over ``ds``'s corpus holding every expert in ``experts``, plus the
    base expert of any query-side expert among them (its document vectors are searched, it is not run)."""
    col = Collection.create(path, experts=with_bases(experts), exist_ok=True)
    names = [spec_name(e) for e in experts]
    for spec, name in zip(experts, names):
        if name not in col.experts:
            col.add_expert(spec, show_progress=show_progress)
    if len(col) == 0:
        col.add(ds.corpus(), batch_size=2048, show_progress=show_progress, on_commit=on_commit)
    return col, names


def run_for(
    collection: Collection, data: BeirDataset, expert: str, k: int = 100, ignore_identical_ids: bool = False
) -> dict[str, dict[str, float]]:
    """The top-``k`` run of every query of ``data`` with ``expert``, as pytrec_eval wants it (``{query: {doc:
    score}}``)."""
    qids = list(data.queries)
    results = collection.search_batch([data.queries[q] for q in qids], k, expert=expert, fetch=False)
    run: dict[str, dict[str, float]] = {}
    for qid, res in zip(qids, results):
        run[qid] = {h.id: h.score for h in res.hits if not (ignore_identical_ids and h.id == qid)}
    return run


def evaluate(
    data: str | Path,
    experts: Sequence[str | dict[str, Any]] = ("minilm",),
    *,
    split: str = "test",
    k: int = 100,
    collection: str | Path | None = None,
    ignore_identical_ids: bool = False,
    show_progress: bool = True,
    progress: Any = None,
    strict: bool = False,
) -> EvalResult:
    """nDCG@10, Recall@100, MRR@10 and MAP@100 of each expert on a BEIR dataset.

    The corpus is loaded into a collection (a temporary one unless ``collection`` names a folder to
    keep); encodings come from the shared embedding cache, so a second run encodes nothing.
    ``progress(stage, done, total)`` is called as documents are indexed and experts are searched.
    Judged queries missing from ``queries.jsonl`` are left out with a warning (``stats["missing_queries"]``);
    ``strict`` refuses such a dataset (see :func:`load_beir`).
    """
    t0 = time.perf_counter()
    ds = load_beir(data, split, strict=strict)
    cache = default_cache()
    hits0, misses0 = cache.stats.hits, cache.stats.misses
    tmp = None
    if collection is None:
        tmp = tempfile.TemporaryDirectory(prefix="embedroute-eval-")
        collection = Path(tmp.name) / "collection"
    try:
        on_commit = (lambda n, _ids: progress("index", n, None)) if progress else None
        col, names = corpus_collection(collection, list(experts), ds, show_progress=show_progress, on_commit=on_commit)
        out: dict[str, ExpertEval] = {}
        for i, name in enumerate(names):
            if progress:
                progress(f"search {name}", i, len(names))
            ts = time.perf_counter()
            run = run_for(col, ds, name, k, ignore_identical_ids)
            ms = (time.perf_counter() - ts) * 1000 / max(len(ds.queries), 1)
            per_query = evaluate_run(ds.qrels, run)
            cfg = col.expert(name).config()
            config = {**cfg.get("encoder", {}), **{k: v for k, v in cfg.items() if k != "encoder"}} | {
                "dataset": ds.name,
                "dataset_checksum": ds.checksum,
                "split": split,
                "k": k,
                "ignore_identical_ids": ignore_identical_ids,
                "versions": library_versions(("torch", "transformers", "sentence-transformers")),
            }
            out[name] = ExpertEval(mean_metrics(per_query), per_query, config, ms)
        if progress:
            progress("done", len(names), len(names))
        stats = {
            "queries": len(ds.queries),
            "missing_queries": ds.missing_queries,
            "documents": len(col),
            "texts_encoded": cache.stats.misses - misses0,
            "cache_hits": cache.stats.hits - hits0,
            "seconds": round(time.perf_counter() - t0, 2),
        }
        col.close()
        return EvalResult(ds.name, split, out, stats)
    finally:
        if tmp is not None:
            tmp.cleanup()
