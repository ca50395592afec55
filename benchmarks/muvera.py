"""Multi-vector retrieval on SciFact and NFCorpus: exhaustive MaxSim (ground truth), MUVERA FDE +
exact rerank at several (R_reps, k_sim, d_proj) and candidate counts, k-means-pruned documents, and
the single-vector minilm expert. Reports nDCG@10, recall@10 against exhaustive MaxSim, latency per
query (query encoding excluded: it is the same for every method), speedup and bytes per document.

Token vectors are encoded once (embedding cache), saved as float16 and memory-mapped, then held as
float32 in RAM for scoring so every method runs on the same arrays.

    python benchmarks/muvera.py [--expert colbert-minilm|minilm-tokens] [--quick] [--data scifact,nfcorpus]
                                [--out benchmarks/results/muvera.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from embedroute.encoders import get_encoder
from embedroute.evaluation import evaluate_run, load_beir, mean_metrics
from embedroute.experts.registry import make_expert
from embedroute.extras import require
from embedroute.index.factory import make_index
from embedroute.multivector.fde import FDE, FDEParams
from embedroute.multivector.maxsim import exhaustive, maxsim
from embedroute.multivector.pruning import prune
from embedroute.multivector.tokens import TokenVectors

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
#: ((r_reps, k_sim, d_proj), FDE index, candidate counts)
FULL = [
    ((10, 4, 16), "flat", (50, 100, 200)),
    ((20, 4, 16), "flat", (50, 100, 200, 500)),
    ((20, 5, 16), "flat", (50, 100, 200, 500)),
    ((20, 4, 8), "flat", (100, 200, 500)),
    ((20, 3, 8), "flat", (100, 200, 500)),
    ((20, 4, 16), "hnsw", (100, 200, 500)),
    ((20, 5, 16), "hnsw", (100, 200, 500)),
    ((20, 4, 8), "hnsw", (100, 200, 500)),
]
QUICK = [((20, 4, 16), "flat", (100, 200)), ((20, 5, 16), "hnsw", (100, 200))]


def ndcg(ds, run) -> float:
    return mean_metrics(evaluate_run(ds.qrels, run))["ndcg@10"]


def one_dataset(name: str, expert_name: str, configs, prune_factors, out: list, workdir: Path) -> None:
    ds = load_beir(SHARED / name)
    corpus = ds.corpus()
    ids = np.array([d["id"] for d in corpus])
    texts = [f"{d['title']} {d['text']}" if d["title"] else d["text"] for d in corpus]
    qids = list(ds.queries)
    expert = make_expert(expert_name)
    t0 = time.perf_counter()
    mats = expert.encoder.encode_documents(texts, show_progress=True)
    print(f"{name}: {len(mats)} documents encoded/loaded in {time.perf_counter() - t0:.0f}s", flush=True)
    TokenVectors.from_list(mats).save(workdir / name, precision="float16")
    tokens = TokenVectors.open(workdir / name).float32()  # the stored, memory-mapped float16 tokens
    del mats
    qtoks = expert.encoder.encode_queries([ds.queries[q] for q in qids])
    bytes_tokens = 2.0 * tokens.offsets[-1] * tokens.dim / len(tokens)
    print(f"{name}: {int(tokens.offsets[-1])} tokens, {tokens.offsets[-1] / len(tokens):.0f} per document", flush=True)

    def row(method, params, run, ms, bpd, truth=None):
        rec = None if truth is None else float(np.mean([len(set(list(run[q])[:10]) & truth[q]) / 10 for q in qids]))
        r = {
            "dataset": name,
            "method": method,
            "params": params,
            "ndcg@10": round(ndcg(ds, run), 4),
            "recall@10_vs_exact": None if rec is None else round(rec, 4),
            "ms_per_query": round(ms, 2),
            "speedup_vs_exact": None,
            "bytes_per_doc": round(bpd, 1),
        }
        out.append(r)
        print(
            f"  {method:<22} {json.dumps(params):<60} nDCG@10 {r['ndcg@10']:.4f}  "
            f"recall {r['recall@10_vs_exact'] if rec is not None else '-':<6}  {ms:8.2f} ms",
            flush=True,
        )
        return r

    # exhaustive MaxSim: ground truth and quality
    exact_run, truth, elapsed = {}, {}, 0.0
    for q, qt in zip(qids, qtoks):
        t0 = time.perf_counter()
        pos, sc = exhaustive(qt, tokens, 100)
        elapsed += time.perf_counter() - t0
        exact_run[q] = {ids[p]: float(s) for p, s in zip(pos, sc)}
        truth[q] = set(ids[pos[:10]])
    exact_ms = elapsed * 1000 / len(qids)
    base = row("exact-maxsim", {"expert": expert_name}, exact_run, exact_ms, bytes_tokens, truth)
    base["speedup_vs_exact"] = 1.0

    # single-vector dense expert, exact search, for comparison
    enc = get_encoder("minilm")
    dv = enc.encode_documents(texts)
    qv = enc.encode_queries([ds.queries[q] for q in qids])
    found, elapsed = [], 0.0
    for i in range(len(qids)):  # one query at a time, like the other methods
        t0 = time.perf_counter()
        sims = dv @ qv[i]
        top = np.argpartition(-sims, 100)[:100]
        top = top[np.argsort(-sims[top])]
        elapsed += time.perf_counter() - t0
        found.append((top, sims[top]))
    dense_ms = elapsed * 1000 / len(qids)
    dense_run = {q: {ids[p]: float(s) for p, s in zip(*f)} for q, f in zip(qids, found)}
    r = row("single-vector", {"expert": "minilm"}, dense_run, dense_ms, 4.0 * dv.shape[1], truth)
    r["speedup_vs_exact"] = round(exact_ms / dense_ms, 1)

    # FDE candidates (flat inner-product index over the FDEs), exact MaxSim rerank
    for (reps, ksim, dproj), kind, cands in configs:
        params = FDEParams(r_reps=reps, k_sim=ksim, d_proj=dproj)
        fde = FDE(tokens.dim, params)
        t0 = time.perf_counter()
        dmat = fde.encode_documents(tokens)
        # HNSW at the settings these results were first measured with (M 32, efConstruction 200,
        # efSearch 256), not the engine's 1M-scale defaults
        index = make_index("hnsw-32-200-256" if kind == "hnsw" else kind, params.dim)
        index.add(np.arange(len(tokens), dtype=np.int64), dmat)
        build_s = time.perf_counter() - t0
        del dmat
        fde_bytes = 4.0 * params.dim if kind == "flat" else index.bytes_per_vector()
        for c in cands:
            found, elapsed = [], 0.0
            for qt in qtoks:  # timed: query FDE, candidate search, exact rerank
                t0 = time.perf_counter()
                _, cand = index.search(fde.encode_queries([qt]), c)
                rows = cand[0][cand[0] >= 0]
                sc = maxsim(qt, tokens, rows)
                order = np.argsort(-sc)[:100]
                elapsed += time.perf_counter() - t0
                found.append((rows[order], sc[order]))
            run = {q: {ids[r]: float(s) for r, s in zip(*f)} for q, f in zip(qids, found)}
            ms = elapsed * 1000 / len(qids)
            p = {
                "r_reps": reps,
                "k_sim": ksim,
                "d_proj": dproj,
                "fde_dim": params.dim,
                "fde_index": kind,
                "candidates": c,
                "fde_build_s": round(build_s, 1),
            }
            r = row("fde+rerank", p, run, ms, bytes_tokens + fde_bytes, truth)
            r["speedup_vs_exact"] = round(exact_ms / ms, 1)
        # the FDE alone, no rerank
        found, elapsed = [], 0.0
        for qt in qtoks:
            t0 = time.perf_counter()
            found.append(index.search(fde.encode_queries([qt]), 100))
            elapsed += time.perf_counter() - t0
        run = {q: {ids[i]: float(s) for i, s in zip(f[1][0], f[0][0]) if i >= 0} for q, f in zip(qids, found)}
        ms = elapsed * 1000 / len(qids)
        r = row(
            "fde-only",
            {"r_reps": reps, "k_sim": ksim, "d_proj": dproj, "fde_dim": params.dim, "fde_index": kind},
            run,
            ms,
            fde_bytes,
            truth,
        )
        r["speedup_vs_exact"] = round(exact_ms / ms, 1)

    # k-means token pruning: exact MaxSim over the centroids (recall still against unpruned MaxSim)
    for f in prune_factors:
        t0 = time.perf_counter()
        small = prune(tokens, f)
        prune_s = time.perf_counter() - t0
        run, t0 = {}, time.perf_counter()
        for q, qt in zip(qids, qtoks):
            pos, sc = exhaustive(qt, small, 100)
            run[q] = {ids[p]: float(s) for p, s in zip(pos, sc)}
        ms = (time.perf_counter() - t0) * 1000 / len(qids)
        r = row(
            "pruned-exact",
            {
                "factor": f,
                "vectors_per_doc": round(float(small.offsets[-1]) / len(small), 1),
                "prune_s": round(prune_s, 1),
            },
            run,
            ms,
            2.0 * small.offsets[-1] * small.dim / len(small),
            truth,
        )
        r["speedup_vs_exact"] = round(exact_ms / ms, 1)


def plot(results: list[dict], path: Path) -> None:
    require("eval", "matplotlib").use("Agg")
    plt = require("eval", "matplotlib.pyplot")

    sets = sorted({r["dataset"] for r in results})
    fig, axes = plt.subplots(1, len(sets), figsize=(6 * len(sets), 4.5), squeeze=False)
    for ax, name in zip(axes[0], sets):
        rows = [r for r in results if r["dataset"] == name and r["recall@10_vs_exact"] is not None]
        for method, marker in (
            ("fde+rerank", "o"),
            ("fde-only", "x"),
            ("pruned-exact", "s"),
            ("exact-maxsim", "*"),
            ("single-vector", "^"),
        ):
            pts = [(r["ms_per_query"], r["recall@10_vs_exact"]) for r in rows if r["method"] == method]
            if pts:
                ax.scatter(*zip(*pts), marker=marker, label=method, s=50)
        ax.set_xscale("log")
        ax.set_xlabel("ms per query (log)")
        ax.set_ylabel("recall@10 vs exhaustive MaxSim")
        ax.axhline(0.95, color="grey", lw=0.8, ls="--")
        ax.set_title(name)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--expert", default="colbert-minilm")
    ap.add_argument("--data", default=None)
    ap.add_argument("--quick", action="store_true", help="SciFact only, fewer configurations")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "muvera.json"))
    args = ap.parse_args()
    sets = (args.data or ("scifact" if args.quick else "scifact,nfcorpus")).split(",")
    configs = QUICK if args.quick else FULL
    factors = (3,) if args.quick else (2, 3, 10)  # k-means per document: about 2.5 minutes per factor here
    results: list[dict] = []
    t0 = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="embedroute-muvera-") as tmp:
        for name in sets:
            one_dataset(name, args.expert, configs, factors, results, Path(tmp))
    out = {
        "expert": args.expert,
        "quick": args.quick,
        "seconds": round(time.perf_counter() - t0, 1),
        "results": results,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    plot(results, Path(args.out).with_suffix(".png"))
    print(f"wrote {args.out} and {Path(args.out).with_suffix('.png')}")


if __name__ == "__main__":
    main()
