"""Do pseudo-queries teach the routing that real queries need? Each generator measured against labelled queries.

For every dataset, every expert searches its corpus for (a) the dataset's labelled training queries (its
train split, or the seed-0 half of test where it has none: never the scored half) and (b) the
pseudo-queries each generator makes from a seeded sample of the corpus (``embedroute.routing.pseudo``).
For each query set: each expert's mean nDCG@10, and the share of queries each expert wins outright
(strictly the best nDCG@10; ties left out). A generator teaches the right routing when its win shares
look like the labelled queries'; ``l1_to_labelled`` is the distance between the two share vectors.

    python benchmarks/pseudo_queries.py [--data D1,D2,...] [--experts A,B,...] [--per-generator 500]
                                        [--out benchmarks/results/pseudo-queries.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from embedroute import Collection
from embedroute.evaluation.pseudo_routing import pseudo_queries_for, pseudo_routing_queries
from embedroute.evaluation.routing import prepare
from embedroute.routing.pseudo import DEFAULT_GENERATORS

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def summary(scores: np.ndarray, experts: list[str]) -> dict:
    """Mean nDCG@10 per expert and each expert's share of the queries it wins outright."""
    best = scores.max(axis=1, keepdims=True)
    unique = (scores == best).sum(axis=1) == 1
    wins = {e: int(((scores[:, j] == best[:, 0]) & unique).sum()) for j, e in enumerate(experts)}
    decided = max(int(unique.sum()), 1)
    return {
        "queries": int(len(scores)),
        "mean_ndcg@10": {e: round(float(scores[:, j].mean()), 4) for j, e in enumerate(experts)},
        "decided": int(unique.sum()),
        "wins": wins,
        "win_share": {e: round(wins[e] / decided, 4) for e in experts},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="scifact,nfcorpus,climate-fever-sentences")
    ap.add_argument("--experts", default="minilm,bm25,splade-tiny,minilm-l3")
    ap.add_argument("--generators", default=",".join(DEFAULT_GENERATORS))
    ap.add_argument("--per-generator", type=int, default=500, help="pseudo-queries per generator and dataset")
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pseudo-queries.json"))
    args = ap.parse_args()
    experts = args.experts.split(",")
    generators = args.generators.split(",")
    out: dict = {
        "benchmark": "pseudo-queries",
        "experts": experts,
        "generators": generators,
        "per_generator": args.per_generator,
        "seed": args.seed,
        "datasets": {},
    }
    with tempfile.TemporaryDirectory(prefix="embedroute-pseudo-bench-") as work:
        for name in args.data.split(","):
            path = SHARED / name if not Path(name).exists() else Path(name)
            runs = prepare(path, experts, want_train=True, workdir=Path(work), latency_sample=0)
            assert runs.train is not None
            ids = list(runs.train.queries)
            labelled = np.array([[runs.train_ndcg[e][q] for e in experts] for q in ids], dtype=np.float32)
            row = {"labelled": summary(labelled, experts) | {"split": runs.train.split}, "generators": {}}
            with Collection.open(Path(work) / runs.test.name) as col:
                for g in generators:
                    made = pseudo_queries_for(col, [g], max_queries=args.per_generator, seed=args.seed)
                    scored = pseudo_routing_queries(col, made, experts=experts)
                    s = summary(np.vstack(scored.scores), experts)
                    s["l1_to_labelled"] = round(
                        sum(abs(s["win_share"][e] - row["labelled"]["win_share"][e]) for e in experts), 4
                    )
                    s["examples"] = [q.text for q in made[:3]]
                    row["generators"][g] = s
                    print(f"{runs.test.name} {g}: wins {s['win_share']} (labelled {row['labelled']['win_share']})")
            out["datasets"][runs.test.name] = row
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
