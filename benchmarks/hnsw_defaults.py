"""How the HNSW defaults are chosen: recall@10 and QPS of (M, efConstruction, efSearch) on tuning queries.

The vector set is ``filtered.py``'s (the same seed grows the same set); the tuning queries are that
script's calibration queries, disjoint from the queries it scores, so choosing here never sees a scored
query. For each (M, efConstruction) in the grid the graph is built once and searched at every efSearch;
the rule is the fastest setting (highest QPS) whose recall@10 reaches ``--target`` on the tuning queries, since
the defaults aim at the quickest search at that recall; the cheapest such setting (smallest M, then
efConstruction, then efSearch: the least memory and build time) is recorded beside it. Both query sets' ids
are written to the JSON.

    python benchmarks/hnsw_defaults.py [--n 100000] [--target 0.99] [--out benchmarks/results/hnsw-defaults.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np
from filtered import base_vectors, grow, recall, split_queries

from embedroute.encoders import get_encoder
from embedroute.index.hnsw import HNSWIndex

ROOT = Path(__file__).resolve().parents[1]
K = 10


RULE = "the highest QPS among the settings reaching the target recall@10 on the tuning queries"


def choose(rows: list[dict], target: float) -> tuple[dict | None, dict | None]:
    """(the fastest, the cheapest) setting whose recall@10 reaches ``target``; None when none does."""
    ok = [r for r in rows if r["recall@10"] >= target]
    if not ok:
        return None, None
    fastest = max(ok, key=lambda r: r["qps"])
    cheapest = min(ok, key=lambda r: (r["m"], r["ef_construction"], r["ef_search"]))
    return fastest, cheapest


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--sigma", type=float, default=0.3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--scored-queries", type=int, default=100, help="filtered.py's scored queries (left out)")
    ap.add_argument("--tuning-queries", type=int, default=50)
    ap.add_argument("--grid", default="16-200,32-200,48-400", help="M-efConstruction pairs")
    ap.add_argument("--ef", default="64,128,256,512,1024,2048")
    ap.add_argument("--target", type=float, default=0.99)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "hnsw-defaults.json"))
    args = ap.parse_args()
    rng = np.random.default_rng(args.seed)
    enc = get_encoder("minilm")
    vecs, _ = grow(base_vectors(enc), args.n, args.sigma, rng)
    ids = np.arange(args.n, dtype=np.int64)
    queries, qids, scored, tuning = split_queries(rng, args.scored_queries, args.tuning_queries)
    qv = enc.encode_queries([queries[i] for i in tuning])
    rows = []
    for pair in args.grid.split(","):
        m, efc = (int(x) for x in pair.split("-"))
        index = HNSWIndex(vecs.shape[1], m=m, ef_construction=efc)
        t0 = time.perf_counter()
        index.add(ids, vecs)
        build_s = time.perf_counter() - t0
        truth = index._exact(qv, K, ids)[1]
        for ef in (int(x) for x in args.ef.split(",")):
            index._ef_search = ef
            t0 = time.perf_counter()
            found = [index.search(qv[i : i + 1], K)[1][0] for i in range(len(qv))]
            qps = len(qv) / (time.perf_counter() - t0)
            rec = float(np.mean([recall(f, t) for f, t in zip(found, truth)]))
            rows.append(
                {
                    "m": m,
                    "ef_construction": efc,
                    "ef_search": ef,
                    "recall@10": round(rec, 4),
                    "qps": round(qps, 1),
                    "build_s": round(build_s, 1),
                }
            )
            print(
                f"M {m:>3} efC {efc:>4} efS {ef:>5}: recall@10 {rec:.4f} {qps:8.0f} QPS (build {build_s:.0f}s)",
                flush=True,
            )
    chosen, cheapest = choose(rows, args.target)
    result = {
        "benchmark": "hnsw-defaults",
        "n": args.n,
        "sigma": args.sigma,
        "seed": args.seed,
        "k": K,
        "target_recall@10": args.target,
        "rule": RULE,
        "chosen": chosen,
        "cheapest": cheapest,
        "rows": rows,
        "tuning_query_ids": [qids[i] for i in tuning],
        "left_out_scored_query_ids": [qids[i] for i in scored],
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"chosen: {chosen}\nwrote {args.out}")


if __name__ == "__main__":
    main()
