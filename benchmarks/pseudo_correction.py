"""Learn the pseudo-to-real label correction that label-free routing applies (``embedroute.routing.correction``).

Each dev set (SciFact, NFCorpus, Climate-FEVER sentences) is indexed with the four general experts; every
expert, and the fusion of BM25 with the dense feature expert, is scored on the set's labelled *training*
queries (never its test split; Climate-FEVER's claims are split 50/50 with seed 0, as in every routing
benchmark) and on 2,000 pseudo-queries made from its corpus. Per generator and expert role the offset is
the labelled mean of relative nDCG@10 minus the pseudo mean, averaged over the sets. The table learned on
all three is written into the package (``src/embedroute/routing/pseudo_correction.json``); the results file
also holds each leave-one-out table (learned without one set), which the routing benchmark's
``--pseudo-correction loo`` learns again on its own.

    python benchmarks/pseudo_correction.py [--data D1,D2,...] [--experts A,B,...]
                                           [--out benchmarks/results/pseudo-correction.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from embedroute.evaluation.pseudo_routing import PseudoSpec
from embedroute.evaluation.routing import labelled_queries, prepare
from embedroute.routing.correction import SHIPPED, learn

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="scifact,nfcorpus,climate-fever-sentences")
    ap.add_argument("--experts", default="minilm,bm25,splade-tiny,minilm-l3")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "pseudo-correction.json"))
    ap.add_argument("--no-ship", action="store_true", help="do not write the table into the package")
    args = ap.parse_args()
    experts = args.experts.split(",")
    spec = PseudoSpec()
    with tempfile.TemporaryDirectory(prefix="embedroute-correction-") as work:
        prepared = [
            prepare(SHARED / n, experts, want_train=True, workdir=Path(work), latency_sample=0, pseudo=spec)
            for n in args.data.split(",")
        ]
    made_by = {d.feature_experts for d in prepared}
    if len(made_by) != 1 or None in made_by:
        raise SystemExit(f"every set needs the same bm25 and dense feature experts, got {made_by}")
    (pair,) = made_by
    assert pair is not None
    sets = {d.name: (labelled_queries([d], experts), d.pseudo) for d in prepared}
    source = {
        "datasets": sorted(sets),
        "experts": experts,
        "feature_experts": list(pair),
        "labelled": {n: len(q.texts) for n, (q, _) in sets.items()},
        "pseudo": prepared[0].pseudo_source and {k: prepared[0].pseudo_source[k] for k in ("generators", "seed")},
        "pseudo_queries": {d.name: len(d.pseudo.texts) for d in prepared if d.pseudo is not None},
        "how": "python benchmarks/pseudo_correction.py (labelled training queries only)",
    }
    table = learn([v for v in sets.values() if v[1] is not None], pair, source)  # type: ignore[misc]
    loo = {
        held: learn([v for n, v in sets.items() if n != held], pair, {"datasets": [n for n in sets if n != held]})
        for held in sets
    }
    result = {"table": table.to_dict(), "leave_one_out": {n: t.to_dict() for n, t in loo.items()}}
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    if not args.no_ship:
        SHIPPED.write_text(json.dumps(table.to_dict(), indent=2) + "\n")
    print(json.dumps(table.offsets, indent=2))


if __name__ == "__main__":
    main()
