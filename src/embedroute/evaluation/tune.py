"""``embedroute tune``: measure every compression x rescoring combination on the user's own qrels and
recommend the smallest one whose nDCG@10 stays within a tolerance of float32 exact search."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..index.factory import make_index

#: (index spec, rescore multiplier); the first is the float32 reference
CONFIGS: tuple[tuple[str, int], ...] = (
    ("flat", 0),
    ("fp16", 0),
    ("int8", 0),
    ("int8", 4),
    ("binary", 0),
    ("binary", 4),
    ("binary", 10),
    ("pq", 0),
    ("pq", 4),
    ("mrl-192", 0),
    ("mrl-192", 4),
    ("mrl-96", 4),
)


@dataclass
class TuneResult:
    """The index settings tried for one expert on one data set, and the smallest within ``tolerance`` of fp32."""

    dataset: str
    expert: str
    tolerance: float
    rows: list[dict[str, Any]] = field(default_factory=list)
    recommended: dict[str, Any] | None = None

    def table(self) -> str:
        """A fixed-width text table of the settings tried, the recommended one marked."""
        head = f"{'index':<9}{'rescore':>8}{'nDCG@10':>10}{'of fp32':>9}{'B/vector':>10}{'QPS':>9}"
        lines = [
            f"{self.dataset} with {self.expert} (tolerance {100 * self.tolerance:.1f}% nDCG@10)",
            head,
            "-" * len(head),
        ]
        for r in self.rows:
            mark = "  <- recommended" if r is self.recommended else ""
            lines.append(
                f"{r['compression']:<9}{r['rescore']:>8}{r['ndcg@10']:>10.4f}{100 * r['ndcg_ratio']:>8.1f}%"
                f"{r['bytes_per_vector']:>10.1f}{r['qps']:>9.0f}{mark}"
            )
        return "\n".join(lines)

    def to_json(self) -> dict[str, Any]:
        """The result as JSON-able dicts."""
        return {
            "dataset": self.dataset,
            "expert": self.expert,
            "tolerance": self.tolerance,
            "rows": self.rows,
            "recommended": self.recommended,
        }


def measure(
    dvec: np.ndarray,
    qvec: np.ndarray,
    doc_ids: Sequence[str],
    qids: Sequence[str],
    qrels: dict[str, dict[str, int]],
    configs: Sequence[tuple[str, int]] = CONFIGS,
    k: int = 100,
) -> list[dict[str, Any]]:
    """nDCG@10, bytes per searched vector and QPS of each configuration (first = the reference)."""
    from .metrics import evaluate_run, mean_metrics

    ids = np.arange(len(dvec), dtype=np.int64)
    rows, base = [], None
    for spec, rescore in configs:
        index = make_index(spec, dvec.shape[1], rescore)
        index.add(ids, dvec)
        index.search(qvec[:1], k)  # warm-up
        t0 = time.perf_counter()
        scores, found = index.search(qvec, k)
        seconds = time.perf_counter() - t0
        run = {q: {doc_ids[i]: float(s) for s, i in zip(scores[n], found[n]) if i >= 0} for n, q in enumerate(qids)}
        ndcg = mean_metrics(evaluate_run(qrels, run, ("ndcg@10",)))["ndcg@10"]
        base = ndcg if base is None else base
        bpv = 4.0 * dvec.shape[1] if spec == "flat" else float(index.bytes_per_vector())
        rows.append(
            {
                "compression": spec,
                "rescore": rescore,
                "ndcg@10": round(ndcg, 4),
                "ndcg_ratio": round(ndcg / base, 4) if base else 0.0,
                "bytes_per_vector": bpv,
                "memory_reduction": round(4.0 * dvec.shape[1] / bpv, 1),
                "qps": round(len(qids) / max(seconds, 1e-9), 1),
                "ms_per_query": round(1000 * seconds / len(qids), 3),
            }
        )
    return rows


def recommend(rows: list[dict[str, Any]], tolerance: float) -> dict[str, Any] | None:
    """The smallest configuration within ``tolerance`` of the reference nDCG@10 (ties: the fastest)."""
    ok = [r for r in rows if r["ndcg_ratio"] >= 1.0 - tolerance]
    return min(ok, key=lambda r: (r["bytes_per_vector"], -r["qps"])) if ok else None


def tune(
    data: str | Path,
    expert: str = "minilm",
    *,
    tolerance: float = 0.01,
    configs: Sequence[tuple[str, int]] = CONFIGS,
    split: str = "test",
    show_progress: bool = True,
) -> TuneResult:
    """Encode ``data``'s corpus and queries with ``expert`` (cached), measure ``configs``, recommend one."""
    from ..encoders import get_encoder
    from .beir import load_beir

    ds = load_beir(data, split)
    enc = get_encoder(expert)
    docs = ds.corpus()
    dvec = enc.encode_documents(
        [f"{d['title']} {d['text']}" if d["title"] else d["text"] for d in docs], show_progress=show_progress
    )
    qids = list(ds.queries)
    qvec = enc.encode_queries([ds.queries[q] for q in qids])
    rows = measure(dvec, qvec, [d["id"] for d in docs], qids, ds.qrels, configs)
    res = TuneResult(ds.name, expert, tolerance, rows)
    res.recommended = recommend(rows, tolerance)
    return res
