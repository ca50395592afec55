"""Where the filtered-search planner's uncalibrated defaults come from: ``calibrate()`` on HNSW indexes of
real vectors, on tuning queries only, over several rounds and index sizes.

Vectors: the set ``benchmarks/peers.py`` builds (minilm embeddings of the SciFact, NFCorpus and
Climate-FEVER corpora grown with noisy copies, the same seeded draws), indexed by the ``hnsw`` index a
dense expert gets by default. Queries: the tuning queries of ``peers.py``'s split only (disjoint from the
queries it scores), embedded by minilm. For each size and round, ``embedroute.index.planner.calibrate``
measures the break-even points; beside it, each plan's time per query and the traversal's recall@10 (against
exact search over the allowed set) are measured per selectivity, so the JSON shows why the thresholds fall
where they do. The shipped defaults (``Thresholds``) are the median over sizes and rounds, rounded down to
a multiple of 500 for ``exact_max_allowed``.

    python benchmarks/planner_defaults.py [--sizes 20000,100000] [--rounds 3]
        ->  benchmarks/results/planner-defaults.json
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from filtered import base_texts, grow, recall, split_queries  # noqa: E402

from embedroute.encoders import get_encoder  # noqa: E402
from embedroute.index.factory import make_index  # noqa: E402
from embedroute.index.planner import Plan, Thresholds, calibrate  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
K = 10
R_RANGE = 1_000_000  # as peers.py draws its attribute (so the rng sequence, and the vectors, match it)
PLAN_SELECTIVITIES = (0.2, 0.1, 0.05, 0.02)


def _per_query_ms(index: Any, q: np.ndarray, allowed: np.ndarray, plan: Plan) -> tuple[float, np.ndarray]:
    index.search_filtered(q[:1], K, allowed, plan)  # warm-up
    ids = []
    t0 = time.perf_counter()
    for i in range(len(q)):
        ids.append(index.search_filtered(q[i : i + 1], K, allowed, plan)[1][0])
    return (time.perf_counter() - t0) * 1000 / len(q), np.array(ids)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", default="20000,100000")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--sigma", type=float, default=0.3)
    ap.add_argument("--out", type=Path, default=ROOT / "benchmarks" / "results" / "planner-defaults.json")
    args = ap.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    enc = get_encoder("minilm")
    base = enc.encode_documents(base_texts(), show_progress=True)
    out: dict[str, Any] = {"k": K, "rounds": args.rounds, "sizes": [], "index": None}
    medians_exact, medians_post = [], []
    for n in sizes:
        rng = np.random.default_rng(args.seed)  # peers.py's draws, in its order
        vecs, _ = grow(base, n, args.sigma, rng)
        rng.integers(0, R_RANGE, n)
        queries, qids, _, tuning = split_queries(rng, 200, 50)
        qv = np.ascontiguousarray(enc.encode_queries([queries[i] for i in tuning]), dtype=np.float32)
        index = make_index("hnsw", vecs.shape[1])
        ids = np.arange(1, n + 1, dtype=np.int64)  # row ids as a collection numbers them
        t0 = time.perf_counter()
        index.add(ids, vecs)
        build_s = time.perf_counter() - t0
        out["index"] = index.config()
        entry: dict[str, Any] = {"n": n, "build_s": round(build_s, 1), "calibrated": [], "plans": []}
        for rnd in range(args.rounds):
            t = calibrate(index, qv, k=K, seed=rnd)
            entry["calibrated"].append(
                {"exact_max_allowed": t.exact_max_allowed, "post_filter_min_selectivity": t.post_filter_min_selectivity}
            )
            print(f"n {n} round {rnd}: {entry['calibrated'][-1]}", flush=True)
        plan_rng = np.random.default_rng(args.seed + 1)
        base_t = Thresholds()
        for s in PLAN_SELECTIVITIES:
            allowed = np.sort(plan_rng.choice(ids, int(s * n), replace=False))
            sub = vecs[allowed - 1]
            truth = [allowed[np.argsort(-(sub @ q), kind="stable")[:K]] for q in qv]
            ef = base_t.traversal_ef(K, s, index.ef_search)
            exact_ms, traversal_ms = [], []
            for _ in range(args.rounds):
                e_ms, _ = _per_query_ms(index, qv, allowed, Plan("exact-allowed", s, len(allowed)))
                traversal = Plan("index-filtered", s, len(allowed), {"efSearch": ef})
                t_ms, found = _per_query_ms(index, qv, allowed, traversal)
                exact_ms.append(round(e_ms, 4))
                traversal_ms.append(round(t_ms, 4))
            entry["plans"].append(
                {
                    "selectivity": s,
                    "allowed": int(len(allowed)),
                    "efSearch": ef,
                    "exact_ms": exact_ms,
                    "traversal_ms": traversal_ms,
                    "traversal_recall@10": round(float(np.mean([recall(f, t) for f, t in zip(found, truth)])), 4),
                }
            )
            print(f"n {n} s {s}: {entry['plans'][-1]}", flush=True)
        medians_exact += [c["exact_max_allowed"] for c in entry["calibrated"]]
        medians_post += [c["post_filter_min_selectivity"] for c in entry["calibrated"]]
        out["sizes"].append(entry)
    out["tuning_query_ids"] = [qids[i] for i in tuning]
    out["chosen"] = {
        "exact_max_allowed": int(np.median(medians_exact)) // 500 * 500,
        "post_filter_min_selectivity": float(np.median(medians_post)),
        "rule": "median over sizes and rounds of calibrate() on tuning queries; exact_max_allowed rounded down to 500",
    }
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(out, indent=2) + "\n")
    print(json.dumps(out["chosen"], indent=2))


if __name__ == "__main__":
    main()
