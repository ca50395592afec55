"""Routing benchmark in RouterRetriever's Table-1 layout (arXiv 2409.02685), plus a cross-domain check.

Every dataset is searched on its own corpus by every expert; routers are fitted on training queries
(the train splits; Climate-FEVER's claims are split 50/50 with seed 0 because it has none) and route
each test query without its dataset label. The cross-domain rows fit pilots on all but one dataset
and evaluate on the one left out.

With ``--self-supervised`` each dataset's routers are fitted on pseudo-queries made from its own corpus
(plus ``--train-from``'s labelled queries, if given; none by default), as a user with no labelled
queries would fit them. With ``--leave-one-out`` each dataset's routers are fitted on the other
datasets' labelled training queries only (plus, with ``--self-supervised``, its own pseudo-queries):
the dataset left out contributes no labelled query. ``--pseudo-correction`` says how pseudo-query labels
are corrected (``embedroute.routing.correction``): the shipped table, a table learned on the other datasets
of ``--data`` only (``loo``: no dataset is corrected with its own labels), or not at all.

    python benchmarks/routing.py [--data D1,D2,...] [--train-from T1,T2,...] [--experts A,B,...]
                                 [--routers R1,R2,...] [--seed-spread N]
                                 [--self-supervised [--generators G1,G2] [--pseudo-queries N]]
                                 [--leave-one-out] [--pseudo-correction shipped|loo|none]
                                 [--out benchmarks/results/routing.json]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

import numpy as np

from embedroute.evaluation.pseudo_routing import PseudoSpec
from embedroute.evaluation.routing import evaluate_routing
from embedroute.extras import require
from embedroute.routing.pseudo import DEFAULT_GENERATORS, MAX_QUERIES

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"
DEFAULT_DATA = "scifact,nfcorpus,climate-fever-sentences"
ROUTERS = "pilot,pilot-nearest,dataset,classifier,fusion,fusion-topk,auto"


def resolve(names: str) -> list[str]:
    return [str(SHARED / n) if not Path(n).exists() else n for n in names.split(",") if n]


def plot(result: dict, path: Path) -> None:
    require("eval", "matplotlib").use("Agg")
    plt = require("eval", "matplotlib.pyplot")

    names = result["datasets"] + ["avg"]
    rows = result["rows"]
    fig, axes = plt.subplots(1, len(names), figsize=(4 * len(names), 4.5), sharey=False)
    colours = {"single": "#7a9cc6", "router": "#e08a3c", "oracle": "#9a9a9a"}
    for ax, name in zip(np.atleast_1d(axes), names):
        vals = [r["ndcg@10"][name] for r in rows]
        ax.barh([r["name"] for r in rows], vals, color=[colours[r["kind"]] for r in rows])
        ax.set_title(name)
        ax.set_xlabel("nDCG@10")
        ax.invert_yaxis()
        lo = min(vals)
        ax.set_xlim(max(0.0, lo - 0.05), max(vals) + 0.02)
    fig.tight_layout()
    fig.savefig(path, dpi=110)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=DEFAULT_DATA)
    ap.add_argument("--train-from", default=None, help="default: the same datasets as --data")
    ap.add_argument("--experts", default="minilm,bm25,splade-tiny,minilm-l3")
    ap.add_argument("--routers", default=ROUTERS)
    ap.add_argument("--routing-expert", default=None)
    ap.add_argument("--no-cross-domain", action="store_true")
    ap.add_argument(
        "--seed-spread",
        type=int,
        default=10,
        help="refit randomised routers (the dataset router's sample) with this many seeds",
    )
    ap.add_argument(
        "--self-supervised", action="store_true", help="fit each dataset's routers on its own pseudo-queries"
    )
    ap.add_argument(
        "--leave-one-out",
        action="store_true",
        help="fit each dataset's routers on the other datasets' labelled queries only",
    )
    ap.add_argument(
        "--pseudo-correction",
        choices=("shipped", "loo", "none"),
        default="shipped",
        help="correct pseudo-query labels with the shipped table, one learned on the other datasets (loo), or not",
    )
    ap.add_argument("--generators", default=",".join(DEFAULT_GENERATORS))
    ap.add_argument("--pseudo-queries", type=int, default=MAX_QUERIES)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "routing.json"))
    args = ap.parse_args()
    data = resolve(args.data)
    if args.leave_one_out:
        if args.train_from:
            ap.error("--leave-one-out trains each dataset on the others of --data; give no --train-from")
        train, args.no_cross_domain = [], True
    elif args.self_supervised:
        train = resolve(args.train_from) if args.train_from else []
        args.no_cross_domain = True  # each dataset already fits on its own corpus alone
    else:
        train = resolve(args.train_from or args.data)
    pseudo = PseudoSpec(tuple(args.generators.split(",")), args.pseudo_queries)
    experts = args.experts.split(",")
    routers = args.routers.split(",")
    prepared: dict = {}  # each dataset indexed, run and timed once, shared by the cross-domain rows
    with tempfile.TemporaryDirectory(prefix="embedroute-routing-bench-") as work:
        report = evaluate_routing(
            data,
            experts,
            routers,
            train_from=train,
            routing_expert=args.routing_expert,
            workdir=work,
            prepared=prepared,
            seed_spread=args.seed_spread,
            self_supervised=args.self_supervised,
            pseudo=pseudo,
            leave_one_out=args.leave_one_out,
            pseudo_correction=args.pseudo_correction,
        )
        print(report, flush=True)
        result = report.to_dict()
        if not args.no_cross_domain and len(data) > 1:
            cross = {}
            for held in data:
                others = [t for t in train if t != held]
                if not others:
                    continue
                res = evaluate_routing(
                    [held],
                    experts,
                    ["pilot"],
                    train_from=others,
                    routing_expert=args.routing_expert,
                    workdir=work,
                    show_progress=False,
                    prepared=prepared,
                ).to_dict()
                rows = {r["name"]: r for r in res["rows"]}
                name = res["datasets"][0]
                cross[name] = {
                    "pilot": rows["pilot"]["ndcg@10"][name],
                    "best_single": rows[res["best_single"]]["ndcg@10"][name],
                    "best_single_name": res["best_single"],
                    "dataset_oracle": rows["dataset-oracle"]["ndcg@10"][name],
                    "trained_on": res["train_from"],
                    "chosen": rows["pilot"].get("chosen", {}),
                }
                print(
                    f"cross-domain {name}: pilot {cross[name]['pilot']:.4f} vs best single "
                    f"{cross[name]['best_single']:.4f} ({cross[name]['best_single_name']})",
                    flush=True,
                )
            result["cross_domain"] = cross
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=1))
    plot(result, out.with_suffix(".png"))
    print(f"wrote {out} and {out.with_suffix('.png')}")


if __name__ == "__main__":
    main()
