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
from pathlib import Path

from embedroute.encoders import get_encoder
from embedroute.evaluation import load_beir
from embedroute.evaluation.tune import CONFIGS, measure

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
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
        doc_ids = [d["id"] for d in docs]
        dvec = enc.encode_documents(
            [f"{d['title']} {d['text']}" if d["title"] else d["text"] for d in docs], show_progress=True
        )
        qids = list(ds.queries)
        qvec = enc.encode_queries([ds.queries[q] for q in qids])
        for row in measure(dvec, qvec, doc_ids, qids, ds.qrels, QUICK if args.quick else CONFIGS):
            row = {"dataset": ds.name, "expert": args.expert} | row
            results.append(row)
            print(
                f"{ds.name:<10} {row['compression']:<8} rescore x{row['rescore']:<3} nDCG@10 {row['ndcg@10']:.4f} "
                f"({100 * row['ndcg_ratio']:5.1f}%)  {row['bytes_per_vector']:7.1f} B/vector "
                f"({row['memory_reduction']}x less)  {row['ms_per_query']:.2f} ms/query",
                flush=True,
            )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"benchmark": "compression", "results": results}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
