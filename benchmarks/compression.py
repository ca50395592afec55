"""Compression: nDCG@10 and memory per vector of each compressed index, with and without rescoring.

For each dataset, the minilm document and query vectors (from the embedding cache) go through every
index kind (the same classes a collection's expert uses with ``index=...``, ``rescore=...``); top-100
results are scored with pytrec_eval and compared with exact float32 search.

    python benchmarks/compression.py [--data scifact,nfcorpus] [--expert minilm] [--quick]
                                     [--out benchmarks/results/compression.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from embedroute.encoders import get_encoder
from embedroute.evaluation import evaluate_run, load_beir, mean_metrics
from embedroute.index.compressed import make_index

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
CONFIGS = [("flat", 0), ("fp16", 0), ("int8", 0), ("int8", 4), ("binary", 0), ("binary", 4), ("binary", 10),
           ("pq", 0), ("pq", 4), ("mrl-192", 0), ("mrl-192", 4), ("mrl-96", 4)]
QUICK = [("flat", 0), ("int8", 0), ("binary", 4), ("pq", 4)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="scifact,nfcorpus")
    ap.add_argument("--expert", default="minilm")
    ap.add_argument("--quick", action="store_true", help="fewer configurations")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "compression.json"))
    args = ap.parse_args()
    enc = get_encoder(args.expert)
    results = []
    for name in args.data.split(","):
        ds = load_beir(SHARED / name if not Path(name).exists() else name)
        docs = ds.corpus()
        ids = np.arange(len(docs), dtype=np.int64)
        doc_ids = [d["id"] for d in docs]
        dvec = enc.encode_documents([f"{d['title']} {d['text']}" if d["title"] else d["text"] for d in docs],
                                    show_progress=True)
        qids = list(ds.queries)
        qvec = enc.encode_queries([ds.queries[q] for q in qids])
        base = None
        for spec, rescore in (QUICK if args.quick else CONFIGS):
            index = make_index(spec, enc.dim, rescore)
            index.add(ids, dvec)
            t0 = time.perf_counter()
            scores, found = index.search(qvec, 100)
            ms = (time.perf_counter() - t0) * 1000 / len(qids)
            run = {q: {doc_ids[i]: float(s) for s, i in zip(scores[n], found[n]) if i >= 0}
                   for n, q in enumerate(qids)}
            ndcg = mean_metrics(evaluate_run(ds.qrels, run, ("ndcg@10",)))["ndcg@10"]
            base = ndcg if base is None else base
            bpv = 4.0 * enc.dim if spec == "flat" else index.bytes_per_vector()
            row = {"dataset": ds.name, "expert": args.expert, "compression": spec, "rescore": rescore,
                   "ndcg@10": round(ndcg, 4), "ndcg_ratio": round(ndcg / base, 4),
                   "bytes_per_vector": bpv, "memory_reduction": round(4.0 * enc.dim / bpv, 1),
                   "ms_per_query": round(ms, 3)}
            results.append(row)
            print(f"{ds.name:<10} {spec:<8} rescore x{rescore:<3} nDCG@10 {ndcg:.4f} ({100 * ndcg / base:5.1f}%)  "
                  f"{bpv:7.1f} B/vector ({row['memory_reduction']}x less)  {ms:.2f} ms/query", flush=True)
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"benchmark": "compression", "results": results}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
