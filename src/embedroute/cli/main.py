"""``embedroute``: create | add | expert | search | route | eval | info | check | calibrate | tune | train |
models | demo | serve."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ..errors import EmbedrouteError
from ..routing.pseudo import DEFAULT_GENERATORS, GENERATORS, MAX_QUERIES
from .experts import register as register_expert_commands


def _experts_arg(value: str) -> list[str]:
    names = [v.strip() for v in value.split(",") if v.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give at least one expert name")
    return names


def _write_json(path: str | None, obj: object) -> None:
    """Write ``obj`` as JSON to ``path`` (if given), creating its folder, and say so."""
    if path:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        Path(path).write_text(json.dumps(obj, indent=1))
        print(f"wrote {path}")


def cmd_create(a: argparse.Namespace) -> int:
    """Run ``embedroute create``: make a collection folder with the given experts and attribute types."""
    from ..collection import Collection

    attrs = json.loads(a.attributes) if a.attributes else None
    col = Collection.create(a.path, experts=a.experts, attributes=attrs)
    print(f"created {a.path} with experts {', '.join(col.experts)}")
    return 0


def cmd_add(a: argparse.Namespace) -> int:
    """Run ``embedroute add``: add (or upsert) documents from JSONL files or BEIR folders, committing in batches."""
    from ..collection import Collection

    col = Collection.open(a.path)

    def ack(n: int, ids: list[str]) -> None:
        print(f"committed {n} documents (last id {ids[-1]})", flush=True)

    total = 0
    for f in a.files:
        rep = col.add_file(
            f, upsert=a.upsert, batch_size=a.batch_size, show_progress=not a.quiet, on_commit=None if a.quiet else ack
        )
        total += rep.added + rep.updated
        print(
            f"{f}: added {rep.added}, updated {rep.updated}, encoded {rep.encoded} texts "
            f"({rep.cache_hits} from cache) in {rep.seconds:.1f}s"
        )
    print(f"collection now holds {len(col)} documents")
    return 0


def cmd_search(a: argparse.Namespace) -> int:
    """Run ``embedroute search``: search one expert, or route the query with a fitted router."""
    from ..collection import Collection

    col = Collection.open(a.path)
    if a.router and a.expert:
        raise EmbedrouteError("give --expert or --router, not both")
    flt = None
    if a.filter:
        try:
            flt = json.loads(a.filter)
        except json.JSONDecodeError as exc:
            raise EmbedrouteError(f"--filter is not valid JSON: {exc.msg} at column {exc.colno}") from None
    res = (
        col.routed_search(a.query, k=a.k, router=a.router, filter=flt)
        if a.router
        else col.search(a.query, k=a.k, expert=a.expert, filter=flt)
    )
    if a.json:
        print(json.dumps(res.to_dict(), indent=2, ensure_ascii=False))
        return 0
    print(f"expert {res.expert}, {res.timings['total_ms']:.1f} ms")
    if res.plan:
        est = res.plan.selectivity_estimate
        print(
            f"plan {res.plan.kind}: {res.plan.allowed} documents allowed "
            f"(estimated selectivity {est:.4f}), {res.plan.candidates} candidates"
            if est is not None
            else f"plan {res.plan.kind}: {res.plan.allowed} documents allowed, {res.plan.candidates} candidates"
        )
    if res.routing:
        scores = ", ".join(f"{e} {s:.3f}" for e, s in sorted(res.routing.scores.items(), key=lambda kv: -kv[1]))
        print(f"router {res.routing.router} chose {'+'.join(res.routing.experts)} ({scores})")
        for line in explanation_lines(res.routing.why):
            print(f"  {line}")
    for h in res.hits:
        text = (f"{h.title}: " if h.title else "") + (h.text or "")
        print(f"{h.rank:>3}. {h.score:8.4f}  {h.id:<12} {text[:100]}")
    return 0


def cmd_eval(a: argparse.Namespace) -> int:
    """Run ``embedroute eval``: evaluate experts on a BEIR dataset, or routers on several (``--router``)."""
    if a.router:
        if a.strict:  # routing reads each folder's test split, and its train split where there is one
            from ..evaluation import load_beir

            for folder in [*a.data.split(","), *(a.train_from or "").split(",")]:
                for split in ("test", "train"):
                    if folder and (split == "test" or (Path(folder) / "qrels" / f"{split}.tsv").exists()):
                        load_beir(folder, split, strict=True)
        return _eval_routing(a)
    from ..evaluation import evaluate

    if "," in a.data:
        raise EmbedrouteError("several --data folders need --router (a routing evaluation)")
    res = evaluate(
        a.data,
        a.experts,
        split=a.split,
        k=a.k,
        collection=a.collection,
        ignore_identical_ids=a.ignore_identical_ids,
        show_progress=not a.quiet,
        strict=a.strict,
    )
    print(res.table())
    s = res.stats
    print(f"encoded {s['texts_encoded']} texts, {s['cache_hits']} from cache, {s['seconds']}s")
    _write_json(a.out, res.to_json())
    return 0


def _eval_routing(a: argparse.Namespace) -> int:
    from ..evaluation.routing import evaluate_routing

    if not a.train_from:
        raise EmbedrouteError("--router needs --train-from (datasets whose training queries fit the routers)")
    res = evaluate_routing(
        a.data.split(","),
        a.experts,
        a.router,
        train_from=a.train_from.split(","),
        routing_expert=a.routing_expert,
        workdir=a.collection,
        show_progress=not a.quiet,
        seed_spread=a.seed_spread,
    )
    print(res)
    _write_json(a.out, res.to_dict())
    return 0


def cmd_route(a: argparse.Namespace) -> int:
    """Run ``embedroute route``: fit routers for a collection from BEIR training queries, from pseudo-queries
    made from its own documents (no ``--train-from``), or from both (``--self-supervised``)."""
    from ..collection import Collection
    from ..evaluation.router_fit import fit_routers

    folders = None
    if a.train_from is not None:
        folders = [p for p in a.train_from.split(",") if p.strip()]  # "a,,b" or "," name no extra folder
    elif a.self_supervised:
        raise EmbedrouteError(
            "--self-supervised adds pseudo-queries to --train-from's labelled ones; give --train-from"
        )
    with Collection.open(a.path) as col:
        fits = fit_routers(
            col,
            a.router,
            folders,
            routing_expert=a.routing_expert,
            self_supervised=a.self_supervised,
            generators=a.generators,
            max_queries=a.pseudo_queries,
            seed=a.seed,
            correct_pseudo=not a.raw_pseudo_labels,
            show_progress=not a.quiet,
        )
    for fit in fits:
        print(fit)
    return 0


def cmd_info(a: argparse.Namespace) -> int:
    """Run ``embedroute info``: print what a collection holds, as JSON."""
    from ..collection import Collection

    print(json.dumps(Collection.open(a.path).info(), indent=2))
    return 0


def cmd_check(a: argparse.Namespace) -> int:
    """Run ``embedroute check``: verify a collection's integrity; exit status 1 when there are problems."""
    from ..collection import Collection

    rep = Collection.open(a.path).check(recall=a.recall)
    for k, v in rep.counts.items():
        print(f"{k}: {v / 1000:.3f}" if k.startswith("recall@") else f"{k}: {v}")
    for p in rep.problems:
        print(f"PROBLEM: {p}")
    print("ok" if rep.ok else f"{len(rep.problems)} problem(s)")
    return 0 if rep.ok else 1


def cmd_compact(a: argparse.Namespace) -> int:
    """Run ``embedroute compact``: rebuild ANN graphs without deleted documents and vacuum the store."""
    from ..collection import Collection

    def stage(name: str, done: int, total: int | None) -> None:
        if name != "done":
            print(f"{name}...", flush=True)

    with Collection.open(a.path) as col:
        rep = col.compact(progress=stage)
    for name, n in rep.tombstones.items():
        print(f"{name}: {n} deleted documents dropped from its index" if n else f"{name}: nothing to drop")
    print(f"collection folder: {rep.bytes_before / 1e6:.1f} MB -> {rep.bytes_after / 1e6:.1f} MB in {rep.seconds:.1f}s")
    return 0


def cmd_calibrate(a: argparse.Namespace) -> int:
    """Run ``embedroute calibrate``: time the filtered-search plans and save the planner's thresholds."""
    from ..collection import Collection

    with Collection.open(a.path) as col:
        saved = col.calibrate(a.expert, k=a.k, queries=a.queries)
    for name, t in saved.items():
        print(
            f"{name}: exact search up to {t['exact_max_allowed']} allowed documents, post-filter from "
            f"selectivity {t['post_filter_min_selectivity']:.2f} "
            f"({t['documents']} vectors, index {t['index']['kind']})"
        )
    print(f"saved {Path(a.path) / 'planner.json'}")
    return 0


def cmd_tune(a: argparse.Namespace) -> int:
    """Run ``embedroute tune``: measure index compressions on a dataset's qrels and recommend one."""
    from ..evaluation.tune import CONFIGS, tune

    if not 0 <= a.tolerance < 1:
        raise EmbedrouteError("--tolerance is a fraction of nDCG@10 between 0 and 1, e.g. 0.01")
    configs = CONFIGS
    if a.configs:
        configs = tuple(
            ("flat", 0) if c == "flat" else (c.split("x")[0], int(c.split("x")[1]) if "x" in c else 0)
            for c in ["flat", *[c for c in a.configs.split(",") if c != "flat"]]
        )
    res = tune(a.data, a.expert, tolerance=a.tolerance, configs=configs, split=a.split, show_progress=not a.quiet)
    print(res.table())
    rec = res.recommended
    if rec:
        opts = {"index": rec["compression"]} | ({"rescore": rec["rescore"]} if rec["rescore"] else {})
        print(
            f"\nrecommended: {json.dumps(opts)}  ({rec['memory_reduction']}x less memory, "
            f"{100 * rec['ndcg_ratio']:.1f}% of float32 nDCG@10)"
        )
        spec = json.dumps({"source": a.expert, "options": opts})
        print(f"use it as an expert spec (Python API, or POST /api/collections): {spec}")
    _write_json(a.out, res.to_json())
    return 0


def cmd_train(a: argparse.Namespace) -> int:
    """Run ``embedroute train``: train a query-side LoRA expert on a BEIR folder's training queries."""
    from ..experts.trained import MANIFEST
    from ..training.query_adapter import train_query_expert

    if not Path(a.data).is_dir():
        raise EmbedrouteError(f"--data {a.data}: not a folder (give a BEIR directory)")
    folder = train_query_expert(
        a.data, base=a.base, name=a.name, out=a.out, epochs=a.epochs, lr=a.lr, rank=a.rank, show_progress=not a.quiet
    )
    manifest = json.loads((folder / MANIFEST).read_text())
    t = manifest["training"]
    print(
        f"trained {manifest['name']} on {manifest['trained_on']['queries']} {manifest['trained_on']['split']} "
        f"queries of {manifest['trained_on']['dataset']}: {t['steps']} steps in {t['seconds']} s, "
        f"loss {t['loss_first']} -> {t['loss_last']}"
    )
    print(
        f"saved {folder}; use it as expert {manifest['name']!r} (it searches {manifest['documents_from']}'s "
        f"document vectors: add it to a collection that has {manifest['documents_from']})"
    )
    return 0


def cmd_models(a: argparse.Namespace) -> int:
    """Run ``embedroute models``: list the named experts (and trained ones) and how to install them."""
    from ..catalog import list_supported_models
    from ..experts.registry import trained_expert_names

    rows = [
        (m["name"], m["kind"], "-" if m["dim"] is None else str(m["dim"]), m["install"])
        for m in list_supported_models()
    ]
    rows += [(name, "dense", "", "(trained here: query-side LoRA expert)") for name in trained_expert_names()]
    widths = [max(len(r[i]) for r in [("name", "kind", "dim", ""), *rows]) for i in range(3)]
    for row in [("name", "kind", "dim", "install"), *rows]:
        print("  ".join([*(cell.ljust(w) for cell, w in zip(row[:3], widths)), row[3]]))
    return 0


def cmd_demo(a: argparse.Namespace) -> int:
    """Run ``embedroute demo``: build, evaluate and search a collection over the built-in sample."""
    from ..demo import run_demo

    run_demo(a.path, experts=a.experts, data=a.data)
    return 0


def cmd_serve(a: argparse.Namespace) -> int:
    """Run ``embedroute serve``: serve the HTTP API and web page over a folder of collections."""
    from ..demo import sample_path
    from ..server import Settings, serve
    from ..server.sample import ensure_sample

    settings = Settings.from_env(
        path=a.path,
        host=a.host,
        port=a.port,
        api_key=a.api_key,
        data_roots=a.data_root,
        results_dir=a.results,
        max_body_bytes=a.max_body_bytes,
        max_batch=a.max_batch,
    )
    if a.with_sample is not None:
        data = Path(a.with_sample) if a.with_sample else sample_path()
        name = ensure_sample(settings.root, data)
        print(f"sample collection {name!r} ready in {settings.root}", flush=True)
        if not settings.data_roots:
            settings.data_roots = [data.resolve().parent]
    print(
        f"serving {settings.root} on http://{settings.host}:{settings.port}/ "
        f"(API key {'required' if settings.api_key else 'off: loopback only'})",
        flush=True,
    )
    serve(settings)
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The ``embedroute`` argument parser: one subcommand per ``cmd_*`` function, each set as ``func``."""
    p = argparse.ArgumentParser(prog="embedroute", description=__doc__)
    sub = p.add_subparsers(dest="command", required=True)

    s = sub.add_parser("create", help="create a collection folder")
    s.add_argument("path")
    s.add_argument(
        "--experts",
        type=_experts_arg,
        default=["minilm", "bm25"],
        help="comma-separated expert names, model folders or hub ids (default minilm,bm25)",
    )
    s.add_argument("--attributes", help='declared attribute types as JSON, e.g. \'{"year": "int"}\'')
    s.set_defaults(func=cmd_create)

    s = sub.add_parser("add", help="add documents from JSONL files or BEIR folders")
    s.add_argument("path")
    s.add_argument("files", nargs="+")
    s.add_argument("--upsert", action="store_true", help="replace documents whose id exists")
    s.add_argument("--batch-size", type=int, default=256, help="documents per committed transaction")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_add)

    register_expert_commands(sub)

    s = sub.add_parser("search", help="search a collection")
    s.add_argument("path")
    s.add_argument("query")
    s.add_argument("-k", type=int, default=10)
    s.add_argument("--expert", help="expert to search with (default: the first)")
    s.add_argument("--router", help="route the query with this fitted router instead (see `route`)")
    s.add_argument("--filter", help='attribute filter as JSON, e.g. \'{"year": {"$gte": 2020}}\'')
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_search)

    s = sub.add_parser("eval", help="evaluate experts on a BEIR dataset")
    s.add_argument("--data", required=True, help="BEIR folder (several, comma-separated, with --router)")
    s.add_argument("--experts", type=_experts_arg, default=["minilm"])
    s.add_argument("--split", default="test")
    s.add_argument("-k", type=int, default=100, help="hits retrieved per query")
    s.add_argument("--collection", help="keep the evaluation collection(s) in this folder")
    s.add_argument(
        "--router",
        type=_experts_arg,
        help="routing evaluation with these routers (pilot, pilot-nearest, dataset, classifier, qpp, "
        "fusion, fusion-topk, fusion-adaptive, auto, single:NAME; parameters as NAME@key=value)",
    )
    s.add_argument("--train-from", help="comma-separated BEIR folders whose training queries fit the routers")
    s.add_argument(
        "--routing-expert",
        help="model whose query embeddings route: a dense expert (default: the "
        "first dense one) or tfidf, a lexical encoder fitted on the training queries",
    )
    s.add_argument(
        "--seed-spread",
        type=int,
        default=0,
        metavar="N",
        help="refit randomised routers (the dataset router) with seeds 0..N-1 and report the spread",
    )
    s.add_argument("--ignore-identical-ids", action="store_true", help="drop hits whose id equals the query id")
    s.add_argument(
        "--strict",
        action="store_true",
        help="refuse a dataset whose qrels judge queries missing from queries.jsonl (default: "
        "evaluate the judged queries that exist, with a warning giving the count left out)",
    )
    s.add_argument("--out", help="write the JSON result here")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_eval)

    s = sub.add_parser(
        "route",
        help="fit routers for a collection: from BEIR training queries, or from its own documents",
        description="Fit routers for a collection. With --train-from, from the training queries of BEIR "
        "folders; without it, from pseudo-queries made from a sample of the collection's own documents "
        "(no labelled queries needed); with both --train-from and --self-supervised, from both.",
    )
    s.add_argument("path")
    s.add_argument("--router", type=_experts_arg, default=["pilot"])
    s.add_argument(
        "--train-from",
        help="comma-separated BEIR folders with training queries (default: none, pseudo-queries only)",
    )
    s.add_argument(
        "--self-supervised", action="store_true", help="add pseudo-queries from the collection to --train-from's"
    )
    s.add_argument(
        "--generators",
        type=_experts_arg,
        default=list(DEFAULT_GENERATORS),
        help=f"pseudo-query generators (default {','.join(DEFAULT_GENERATORS)}; known: {', '.join(GENERATORS)})",
    )
    s.add_argument("--pseudo-queries", type=int, default=MAX_QUERIES, help="at most this many pseudo-queries")
    s.add_argument("--seed", type=int, default=0, help="the document sample and crops the pseudo-queries come from")
    s.add_argument(
        "--raw-pseudo-labels",
        action="store_true",
        help="keep pseudo-queries' labels as scored, without the correction learned on the dev sets' labelled "
        "queries (embedroute.routing.correction)",
    )
    s.add_argument(
        "--routing-expert",
        help="model whose query embeddings route (default: the first dense "
        "expert); any dense expert name, also one the collection does not hold, e.g. use-m, or "
        "tfidf, a lexical encoder fitted on the training queries",
    )
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_route)

    s = sub.add_parser("info", help="what a collection holds")
    s.add_argument("path")
    s.set_defaults(func=cmd_info)

    s = sub.add_parser("check", help="verify a collection's integrity (exit 1 on problems)")
    s.add_argument("path")
    s.add_argument(
        "--recall",
        action="store_true",
        help="also measure each dense index's recall@10 against exact search, on 100 queries made "
        "from stored vectors plus Gaussian noise of the vector's norm, renormalised",
    )
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("compact", help="rebuild ANN indexes without deleted documents and vacuum the store")
    s.add_argument("path")
    s.set_defaults(func=cmd_compact)

    s = sub.add_parser("calibrate", help="measure filtered-search plans and store the planner's thresholds")
    s.add_argument("path")
    s.add_argument("--expert", default=None, help="one dense expert (default: every dense expert)")
    s.add_argument("-k", type=int, default=10)
    s.add_argument("--queries", type=int, default=50, help="stored vectors used as timing queries")
    s.set_defaults(func=cmd_calibrate)

    s = sub.add_parser("tune", help="measure compressions on your qrels and recommend the smallest good one")
    s.add_argument("--data", required=True, help="BEIR folder with the qrels to tune on")
    s.add_argument("--expert", default="minilm")
    s.add_argument("--tolerance", type=float, default=0.01, help="nDCG@10 loss allowed, as a fraction (0.01)")
    s.add_argument(
        "--configs",
        default=None,
        help="comma-separated index specs with optional xRESCORE, e.g. int8,binaryx4,pq,mrl-192x4",
    )
    s.add_argument("--split", default="test")
    s.add_argument("--out", default=None)
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_tune)

    s = sub.add_parser("train", help="train a query-side LoRA expert on a BEIR folder's training queries")
    s.add_argument("--data", required=True, help="BEIR folder (train split, or half of test if it has none)")
    s.add_argument(
        "--base", default="minilm", help="the sentence-transformers expert it adapts and shares document vectors with"
    )
    s.add_argument("--name", default=None, help="expert name (default BASE-q-DATASET)")
    s.add_argument("--out", default=None, help="folder (default: the cache's models/NAME)")
    s.add_argument("--epochs", type=int, default=4)
    s.add_argument("--lr", type=float, default=5e-4)
    s.add_argument("--rank", type=int, default=16, help="LoRA rank")
    s.add_argument("--quiet", action="store_true")
    s.set_defaults(func=cmd_train)

    s = sub.add_parser("models", help="list named experts and how to install them")
    s.set_defaults(func=cmd_models)

    s = sub.add_parser("demo", help="build a collection over the built-in sample, evaluate, search")
    s.add_argument("--path", default=None, help="where to keep the demo collection (default: a temp folder)")
    s.add_argument("--experts", type=_experts_arg, default=["minilm", "bm25"])
    s.add_argument("--data", default=None, help="BEIR folder (default: the built-in SciFact sample)")
    s.set_defaults(func=cmd_demo)

    s = sub.add_parser(
        "serve",
        help="HTTP API and web page over a folder of collections",
        description="Every flag can also be set by its environment variable (shown).",
    )
    s.add_argument(
        "path", nargs="?", default=None, help="folder of collections, or one collection folder [EMBEDROUTE_SERVE_PATH]"
    )
    s.add_argument("--host", default=None, help="bind address, default 127.0.0.1 [EMBEDROUTE_HOST]")
    s.add_argument("--port", type=int, default=None, help="default 8000 [EMBEDROUTE_PORT]")
    s.add_argument(
        "--api-key", default=None, help="required on every API call when set; needed off loopback [EMBEDROUTE_API_KEY]"
    )
    s.add_argument(
        "--data-root",
        action="append",
        default=None,
        help="folder whose BEIR datasets evaluation runs may read; repeatable [EMBEDROUTE_DATA_ROOTS]",
    )
    s.add_argument("--results", default=None, help="stored benchmark results to show [EMBEDROUTE_RESULTS_DIR]")
    s.add_argument("--max-body-bytes", type=int, default=None, help="default 16 MiB [EMBEDROUTE_MAX_BODY_BYTES]")
    s.add_argument(
        "--max-batch", type=int, default=None, help="documents per request, default 1000 [EMBEDROUTE_MAX_BATCH]"
    )
    s.add_argument(
        "--with-sample",
        nargs="?",
        const="",
        default=None,
        metavar="BEIR_DIR",
        help="first build a collection over BEIR_DIR (default: the built-in SciFact sample)",
    )
    s.set_defaults(func=cmd_serve)
    return p


def main(argv: list[str] | None = None) -> int:
    """Run the subcommand ``argv`` names and return its exit status; an ``EmbedrouteError`` is printed to stderr
    and returns 2."""
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except EmbedrouteError as exc:
        print(f"embedroute {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())


def explanation_lines(why: dict[str, Any]) -> list[str]:
    """A routed search's explanation (:attr:`RoutingInfo.why`) as lines for the terminal.

    >>> explanation_lines({"scores": "predicted nDCG@10", "features": {"lex_top1": 0.41}, "reason": "one expert"})
    ['scores: predicted nDCG@10', 'features weighing most: lex_top1 0.41', 'one expert']
    """
    lines = [f"scores: {why['scores']}"] if "scores" in why else []
    if why.get("features"):
        lines.append("features weighing most: " + ", ".join(f"{k} {v:g}" for k, v in why["features"].items()))
    if why.get("reason"):
        lines.append(str(why["reason"]))
    return lines
