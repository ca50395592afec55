"""Train one query-side LoRA expert per dataset (RouterRetriever's domain experts, arXiv 2409.02685) and
measure each on every dataset's test queries against the base expert, whose document vectors they share.

Training queries: each dataset's train split, or for Climate-FEVER (no train split) the seed-0 half of
its test claims; the other half is the test set here and in ``benchmarks/routing.py``.

    python benchmarks/train_query_experts.py [--data D1,D2,...] [--base minilm] [--epochs 4]
                                             [--out benchmarks/results/query_experts.json]
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import numpy as np

from embedroute.encoders.catalog import get_encoder
from embedroute.evaluation.beir import train_and_test
from embedroute.evaluation.metrics import evaluate_run
from embedroute.experts.registry import make_expert
from embedroute.experts.trained import trained_folder
from embedroute.training.query_adapter import train_query_expert

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def ndcg(encoder, test, doc_ids: list[str], docs: np.ndarray) -> float:
    qids = list(test.queries)
    scores = encoder.encode_queries([test.queries[q] for q in qids]) @ docs.T
    run = {q: {doc_ids[j]: float(scores[i, j]) for j in np.argsort(-scores[i])[:100]} for i, q in enumerate(qids)}
    return float(np.mean([v["ndcg@10"] for v in evaluate_run(test.qrels, run, ("ndcg@10",)).values()]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="scifact,nfcorpus,climate-fever-sentences")
    ap.add_argument("--base", default="minilm")
    ap.add_argument("--epochs", type=int, default=4)
    ap.add_argument("--retrain", action="store_true", help="train again even if the expert exists")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "query_experts.json"))
    args = ap.parse_args()
    paths = [Path(n) if Path(n).exists() else SHARED / n for n in args.data.split(",")]
    base = get_encoder(args.base)
    experts, trained = {}, []
    for path in paths:
        t0 = time.perf_counter()
        name = f"{args.base}-q-{path.name}"
        folder = trained_folder(name)
        if args.retrain or not (folder / "query_adapter.json").exists():
            folder = train_query_expert(path, base=args.base, name=name, epochs=args.epochs)
        manifest = json.loads((folder / "query_adapter.json").read_text())
        experts[manifest["name"]] = make_expert(manifest["name"])
        trained.append(
            {
                "name": manifest["name"],
                "trained_on": manifest["trained_on"],
                "training": manifest["training"],
                "seconds": round(time.perf_counter() - t0, 1),
            }
        )
        print(f"trained {manifest['name']} in {trained[-1]['seconds']} s: {manifest['training']}", flush=True)
    table = {}
    for path in paths:
        _, test = train_and_test(path)
        corpus = test.corpus()
        docs = base.encode_documents([f"{d['title']} {d['text']}" if d["title"] else d["text"] for d in corpus])
        ids = [d["id"] for d in corpus]
        table[test.name] = {args.base: round(ndcg(base, test, ids, docs), 4)}
        for name, expert in experts.items():
            table[test.name][name] = round(ndcg(expert.encoder, test, ids, docs), 4)
        print(test.name, table[test.name], flush=True)
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"base": args.base, "experts": trained, "ndcg@10": table}, indent=1))
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
