"""Profile of the public search path: where a ``Collection.search`` call spends its time beyond the index.

Builds a collection over the built-in SciFact sample with ``minilm`` (flat and HNSW) and ``bm25``, warms
the query-vector cache, then times each expert's public ``Collection.search`` against its index's own
search on the same query vectors, one query at a time, best of ``--rounds`` rounds, and writes
``benchmarks/results/query-path.json``. ``--profile`` also prints the cProfile of the public path's hot
functions (``--profile-out`` keeps the pstats file), which is how the per-call costs were found (#21).

    python benchmarks/query_path.py [--rounds 3] [--profile]
"""

from __future__ import annotations

import argparse
import cProfile
import json
import os
import pstats
import tempfile
import time
from pathlib import Path
from typing import Any

from embedroute import Collection
from embedroute.demo import sample_path
from embedroute.evaluation.beir import load_beir
from embedroute.experts.dense import DenseExpert

OUT = Path(__file__).parent / "results" / "query-path.json"


def _best_ms(fn: Any, queries: list[Any], rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.perf_counter()
        for q in queries:
            fn(q)
        best = min(best, (time.perf_counter() - t0) * 1000 / len(queries))
    return best


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--profile-out", type=Path, default=None)
    ap.add_argument("--out", type=Path, default=OUT)
    args = ap.parse_args()
    data = load_beir(sample_path())
    queries = list(data.queries.values())
    docs = data.corpus()
    rows: dict[str, dict[str, float]] = {}
    with tempfile.TemporaryDirectory() as tmp:
        col = Collection.create(
            os.path.join(tmp, "c"),
            experts=["minilm", "bm25", {"source": "minilm", "name": "hnsw", "options": {"index": "hnsw"}}],
        )
        col.add(docs)
        for q in queries:  # warm: every query vector cached, every index built
            for e in col.experts:
                col.search(q, expert=e)
        for name in col.experts:
            ex = col.expert(name)
            public = _best_ms(lambda q, n=name: col.search(q, expert=n), queries, args.rounds)  # noqa: B023
            row = {"public_ms": round(public, 4)}
            if isinstance(ex, DenseExpert):
                vecs = ex.encoder.encode_queries(queries)  # cached: the index alone, vectors in
                index = ex._index  # noqa: SLF001 - the index's own search is what we compare against
                idx_ms = _best_ms(lambda v, i=index: i.search(v[None, :], 10), list(vecs), args.rounds)
                row |= {"index_ms": round(idx_ms, 4), "overhead_ms": round(public - idx_ms, 4)}
            rows[name] = row
        if args.profile:
            prof = cProfile.Profile()
            prof.enable()
            for _ in range(5):
                for q in queries:
                    col.search(q)
            prof.disable()
            stats = pstats.Stats(prof).sort_stats("cumulative")
            stats.print_stats(25)
            if args.profile_out:
                stats.dump_stats(str(args.profile_out))
        col.close()
    out = {
        "dataset": "scifact-sample",
        "queries": len(queries),
        "docs": len(docs),
        "rounds": args.rounds,
        "experts": rows,
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(rows, indent=2))


if __name__ == "__main__":
    main()
