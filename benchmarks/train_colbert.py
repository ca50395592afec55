"""Train the ColBERT-style expert (all-MiniLM-L6-v2 + 128-d head, MaxSim contrastive, BM25 hard
negatives) on the SciFact and NFCorpus train splits, into the model folder the ``colbert-minilm``
expert loads (``$EMBEDROUTE_CACHE_DIR/models/colbert-minilm``, or ``--out``).

    python benchmarks/train_colbert.py [--per-query 2] [--epochs 1] [--batch-size 32] [--out DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from embedroute.encoders.catalog import _minilm_folder
from embedroute.multivector.models import colbert_folder
from embedroute.training import mine_triples, train_colbert

SHARED = Path(__file__).resolve().parents[2] / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=f"{SHARED / 'scifact'},{SHARED / 'nfcorpus'}")
    ap.add_argument("--per-query", type=int, default=2)
    ap.add_argument("--epochs", type=int, default=1)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--max-steps", type=int, default=None)
    ap.add_argument("--out", default=None)
    args = ap.parse_args()
    triples = mine_triples(args.data.split(","), per_query=args.per_query)
    print(f"{len(triples)} training triples", flush=True)
    out = train_colbert(
        _minilm_folder(),
        triples,
        args.out or colbert_folder(),
        epochs=args.epochs,
        batch_size=args.batch_size,
        max_steps=args.max_steps,
    )
    print(json.dumps(json.loads((out / "embedroute.json").read_text())["training"], indent=1))
    print(f"saved {out}")


if __name__ == "__main__":
    main()
