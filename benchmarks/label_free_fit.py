"""How long fitting routers on a collection's own pseudo-queries takes, stage by stage.

A collection over one BEIR corpus (default SciFact, 5,183 documents) with the general experts is built
(document vectors come from the embedding cache when warm, and building is not timed); then
``fit_routers(col, ROUTERS, None)`` makes pseudo-queries from a sample of its documents, every expert
searches the collection for each, and each router is fitted and saved. The time of each stage is
taken from the workflow's own progress callback, so nothing is timed that a user would not wait for.
The embedding cache is off while the routers are fitted: every pseudo-query is encoded by every
expert, as on a user's first fit.

    python benchmarks/label_free_fit.py [--data scifact] [--experts A,B,...] [--routers R1,R2]
                                        [--out benchmarks/results/label-free-fit.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

from embedroute import Collection
from embedroute.encoders.cache import caching_disabled
from embedroute.evaluation.beir import load_beir
from embedroute.evaluation.router_fit import fit_routers
from embedroute.routing.pseudo import DEFAULT_GENERATORS, MAX_QUERIES

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="scifact")
    ap.add_argument("--experts", default="minilm,bm25,splade-tiny,minilm-l3")
    ap.add_argument("--routers", default="pilot,qpp,fusion-adaptive,auto")
    ap.add_argument("--routing-expert", default=None)
    ap.add_argument("--pseudo-queries", type=int, default=MAX_QUERIES)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "label-free-fit.json"))
    args = ap.parse_args()
    path = SHARED / args.data if not Path(args.data).exists() else Path(args.data)
    ds = load_beir(path)
    stages: list[tuple[str, float]] = []

    def progress(stage: str, done: int, total: int | None) -> None:
        stages.append((stage, time.perf_counter()))

    with tempfile.TemporaryDirectory(prefix="embedroute-label-free-") as work:
        col = Collection.create(Path(work) / ds.name, experts=args.experts.split(","))
        col.add(ds.corpus(), batch_size=2048)
        t0 = time.perf_counter()
        with caching_disabled():  # pseudo-queries are new text: a first fit encodes every one
            fits = fit_routers(
                col,
                args.routers.split(","),
                None,
                routing_expert=args.routing_expert,
                max_queries=args.pseudo_queries,
                progress=progress,
            )
        total = time.perf_counter() - t0
        col.close()
    marks = [("making pseudo-queries", t0), *stages, ("end", t0 + total)]
    timed = [{"stage": a[0], "seconds": round(b[1] - a[1], 2)} for a, b in zip(marks, marks[1:])]
    result = {
        "benchmark": "label-free-fit",
        "dataset": ds.name,
        "documents": len(ds.corpus()),
        "experts": args.experts.split(","),
        "routers": [f.to_dict() for f in fits],
        "generators": list(DEFAULT_GENERATORS),
        "pseudo_queries": fits[0].training_queries,
        "seconds": round(total, 1),
        "stages": timed,
    }
    print(json.dumps({k: v for k, v in result.items() if k != "routers"}, indent=1))
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
