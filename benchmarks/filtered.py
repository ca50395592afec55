"""Filtered search: our planner against FAISS HNSW + IDSelector, exact search over the allowed set, and
post-filtering, per selectivity bucket, for filters correlated with the query and not.

Vectors: minilm embeddings of the SciFact, NFCorpus and Climate-FEVER corpora (about 14k), grown to N by
adding Gaussian noise (sigma 0.3 relative to the unit norm) to copies, so the neighbourhood structure stays
realistic. Queries: SciFact and NFCorpus test queries. Ground truth: exact search over the allowed set.
Uncorrelated filters select a uniform random attribute range; correlated ones select the copies of the
base documents nearest to the query's best match, so the allowed set is the query's own neighbourhood.

    python benchmarks/filtered.py [--n 1000000] [--quick] [--queries 200] [--out benchmarks/results/filtered.json]

The planner is calibrated on ``--calibration-queries`` queries disjoint from the ``--queries`` it is scored
on (both drawn from one seeded permutation; their ids are in the JSON). Each timing round runs the methods
in a freshly shuffled order; each method reports its median QPS and the spread over rounds.

The post-filter baseline oversamples 2 k / selectivity + k neighbours, capped at ``--post-filter-max-depth``
(10,000), as a deployed post-filter must be; below 0.1% selectivity it therefore misses matches.
"""

from __future__ import annotations

import argparse
import gzip
import json
import time
from pathlib import Path

import numpy as np

from embedroute.encoders import get_encoder
from embedroute.evaluation import load_beir
from embedroute.extras import require
from embedroute.index.attributes import AttributeIndex
from embedroute.index.filters import parse
from embedroute.index.hnsw import HNSWIndex
from embedroute.index.planner import calibrate, choose

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
SELECTIVITIES = (0.5, 0.1, 0.01, 0.001, 0.0001)
K = 10
R_RANGE = 1_000_000


def base_texts() -> list[str]:
    """The three corpora's documents as embedded (``title text``), in file order."""
    texts = []
    for name in ("scifact", "nfcorpus", "climate-fever-sentences"):
        with gzip.open(SHARED / name / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
            for line in f:
                d = json.loads(line)
                texts.append(f"{d['title']} {d['text']}" if d.get("title") else d["text"])
    return texts


def base_vectors(enc) -> np.ndarray:
    return enc.encode_documents(base_texts(), show_progress=True)


def grow(base: np.ndarray, n: int, sigma: float, rng) -> tuple[np.ndarray, np.ndarray]:
    src = np.concatenate([np.arange(len(base)), rng.integers(0, len(base), n - len(base))])
    out = np.empty((n, base.shape[1]), dtype=np.float32)
    for start in range(0, n, 100_000):
        part = src[start : start + 100_000]
        v = base[part].copy()
        if start + len(part) > len(base):
            noise = rng.standard_normal(v.shape).astype(np.float32) * (sigma / np.sqrt(base.shape[1]))
            first_copy = max(0, len(base) - start)
            v[first_copy:] += noise[first_copy:]
        out[start : start + len(part)] = v / np.linalg.norm(v, axis=1, keepdims=True)
    return out, src


def split_queries(rng, n_scored: int, n_tuning: int) -> tuple[list[str], list[str], np.ndarray, np.ndarray]:
    """SciFact and NFCorpus test queries, their ids, and one seeded permutation cut into the scored
    queries and, after them, the tuning (calibration) queries: the two sets never overlap."""
    queries, qids = [], []
    for name in ("scifact", "nfcorpus"):
        ds = load_beir(SHARED / name)
        queries += list(ds.queries.values())
        qids += [f"{name}:{q}" for q in ds.queries]
    perm = rng.permutation(len(queries))
    return queries, qids, perm[:n_scored], perm[n_scored : n_scored + n_tuning]


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    t = set(truth[truth >= 0].tolist())
    return len(set(found[found >= 0].tolist()) & t) / max(len(t), 1)


def timed(fn, queries):
    outs, t0 = [], time.perf_counter()
    for i in range(len(queries)):
        outs.append(fn(i, queries[i : i + 1]))
    return outs, len(queries) / (time.perf_counter() - t0)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--quick", action="store_true", help="100,000 vectors, 100 queries")
    ap.add_argument("--queries", type=int, default=200)
    ap.add_argument("--sigma", type=float, default=0.3)
    ap.add_argument("--rounds", type=int, default=3, help="timing rounds, methods shuffled in each; median kept")
    ap.add_argument(
        "--calibration-queries",
        type=int,
        default=50,
        help="queries the planner is calibrated on, disjoint from the scored ones",
    )
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument(
        "--post-filter-max-depth",
        type=int,
        default=10_000,
        help="the post-filter baseline asks the index for at most this many neighbours "
        "(2 k / selectivity + k below it); uncapped, one query at 0.01%% selectivity "
        "over 1M vectors asks HNSW for 200,010 neighbours and takes minutes",
    )
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "filtered.json"))
    args = ap.parse_args()
    n, nq = (100_000, 100) if args.quick else (args.n, args.queries)
    rng = np.random.default_rng(args.seed)
    enc = get_encoder("minilm")
    base = base_vectors(enc)
    vecs, src = grow(base, n, args.sigma, rng)
    ids = np.arange(n, dtype=np.int64)
    queries, qids, scored, tuning = split_queries(rng, nq, args.calibration_queries)
    all_qv = enc.encode_queries(queries)
    qv, cal_qv = all_qv[scored], all_qv[tuning]

    attrs = [{"doc": int(d), "r": int(r)} for d, r in zip(src, rng.integers(0, R_RANGE, n))]
    schema = {"doc": "int", "r": "int"}
    t0 = time.perf_counter()
    attr_index = AttributeIndex(ids, attrs, schema)
    attr_s = time.perf_counter() - t0
    del attrs

    index = HNSWIndex(vecs.shape[1])
    t0 = time.perf_counter()
    index.add(ids, vecs)
    build_s = time.perf_counter() - t0
    print(
        f"{n} vectors; HNSW (M={index.m}, efConstruction={index.ef_construction}) built in {build_s:.0f}s; "
        f"attribute index in {attr_s:.1f}s",
        flush=True,
    )
    exact_all = [row for start in range(0, nq, 25) for row in index._exact(qv[start : start + 25], K, ids)[1]]
    plain, plain_qps = timed(lambda i, q: index.search(q, K)[1][0], qv)
    hnsw_recall = float(np.mean([recall(p, t) for p, t in zip(plain, exact_all)]))
    print(f"unfiltered HNSW recall@10 {hnsw_recall:.4f} at efSearch={index.ef_search}, {plain_qps:.0f} QPS", flush=True)
    thresholds = calibrate(index, cal_qv, k=K)  # disjoint from the scored queries
    print(f"calibrated thresholds: {thresholds.to_json()}", flush=True)

    copies = np.bincount(src, minlength=len(base))
    buckets = []
    for s in SELECTIVITIES:
        for correlated in (False, True):
            trees = []
            for i in range(nq):
                if correlated:
                    anchor = base[int(np.argmax(base @ qv[i]))]
                    order = np.argsort(-(base @ anchor))
                    take = int(np.searchsorted(np.cumsum(copies[order]), max(1, s * n))) + 1
                    spec = {"doc": {"$in": [int(x) for x in order[:take]]}}
                else:
                    spec = {"r": {"$lt": max(1, int(s * R_RANGE))}}
                trees.append(parse(spec, schema))
            allowed = [attr_index.allowed(t) for t in trees]
            estimates = [attr_index.estimate(t) for t in trees]
            if correlated:
                truth = [index._exact(qv[i : i + 1], K, allowed[i])[1][0] for i in range(nq)]
            else:  # one allowed set for every query: one batched exact search
                truth = [
                    row for start in range(0, nq, 25) for row in index._exact(qv[start : start + 25], K, allowed[0])[1]
                ]
            plans: dict[str, int] = {}

            def planner(i, q):
                plan = choose(
                    n,
                    len(allowed[i]),
                    estimates[i],
                    K,
                    index_kind="hnsw",
                    thresholds=thresholds,
                    ef_search=index.ef_search,
                )
                plans[plan.kind] = plans.get(plan.kind, 0) + 1
                return index.search_filtered(q, K, allowed[i], plan)[1][0]

            def post(i, q):
                depth = min(n, int(K / s * 2) + K, args.post_filter_max_depth)
                found = index.search(q, depth)[1][0]
                return found[np.isin(found, allowed[i])][:K]

            methods = {
                "planner": planner,
                "faiss-hnsw-idselector": lambda i, q: index._search_with_selector(
                    q, K, allowed[i], {"efSearch": index.ef_search}
                )[1][0],
                "exact-allowed": lambda i, q: index._exact(q, K, allowed[i])[1][0],
                "post-filter": post,
            }
            row = {
                "selectivity": s,
                "correlated": correlated,
                "allowed_mean": float(np.mean([len(a) for a in allowed])),
            }
            for fn in methods.values():  # warm-up: every method once, so none pays a cold start
                fn(0, qv[:1])
            rounds: dict[str, list[float]] = {name: [] for name in methods}
            results: dict[str, list] = {}
            order = list(methods)
            for _ in range(args.rounds):  # each round in a new random order: no method always runs first
                plans.clear()
                rng.shuffle(order)
                for name in order:
                    results[name], qps = timed(methods[name], qv)
                    rounds[name].append(qps)
            for name in methods:
                found, qps = results[name], float(np.median(rounds[name]))
                rec = float(np.mean([recall(f, t) for f, t in zip(found, truth)]))
                entry = {
                    "recall@10": round(rec, 4),
                    "qps": round(qps, 1),
                    "qps_rounds": [round(x, 1) for x in rounds[name]],
                }
                if name == "planner":
                    row["planner"] = entry | {"plans": dict(plans)}
                else:
                    row.setdefault("baselines", {})[name] = entry
            buckets.append(row)
            b = row["baselines"]
            print(
                f"s={s:<7} corr={correlated!s:<5} planner r={row['planner']['recall@10']:.3f} "
                f"{row['planner']['qps']:8.0f} qps {row['planner']['plans']} | "
                + " | ".join(f"{k} r={v['recall@10']:.3f} {v['qps']:.0f}" for k, v in b.items()),
                flush=True,
            )
    result = {
        "benchmark": "filtered",
        "n": n,
        "queries": nq,
        "k": K,
        "sigma": args.sigma,
        "hnsw": {
            "m": index.m,
            "ef_construction": index.ef_construction,
            "ef_search": index.ef_search,
            "build_s": round(build_s, 1),
            "unfiltered_recall@10": round(hnsw_recall, 4),
            "unfiltered_qps": round(plain_qps, 1),
        },
        "post_filter_max_depth": args.post_filter_max_depth,
        "rounds": args.rounds,
        "seed": args.seed,
        "scored_query_ids": [qids[i] for i in scored],
        "calibration_query_ids": [qids[i] for i in tuning],
        "thresholds": thresholds.to_json(),
        "buckets": buckets,
    }
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    plot(result, out.with_suffix(".png"))
    print(f"wrote {out}")


def plot(result: dict, path: Path) -> None:
    require("eval", "matplotlib").use("Agg")
    plt = require("eval", "matplotlib.pyplot")

    fig, axes = plt.subplots(1, 2, figsize=(11, 4.5), sharey=True)
    markers = {"planner": "o", "faiss-hnsw-idselector": "s", "exact-allowed": "^", "post-filter": "x"}
    for ax, corr in zip(axes, (False, True)):
        for name, marker in markers.items():
            pts = [
                (b["planner"] if name == "planner" else b["baselines"][name], b["selectivity"])
                for b in result["buckets"]
                if b["correlated"] == corr
            ]
            ax.plot([p[0]["qps"] for p in pts], [p[0]["recall@10"] for p in pts], marker=marker, label=name)
            if name == "planner":
                for p, s in pts:
                    ax.annotate(f"{s:g}", (p["qps"], p["recall@10"]), fontsize=7)
        ax.set_xscale("log")
        ax.set_xlabel("queries per second (one query at a time)")
        ax.set_title(f"{'correlated' if corr else 'uncorrelated'} filters, n={result['n']:,}")
    axes[0].set_ylabel("recall@10 vs exact filtered search")
    axes[0].legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


if __name__ == "__main__":
    main()
