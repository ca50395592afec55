"""The main job: build a collection over the built-in SciFact sample, evaluate its experts, fit routers
on half of its queries and evaluate them on the other half (RouterRetriever, arXiv 2409.02685), fit them
again on pseudo-queries from the sample's own documents alone (no labels) and evaluate them on the same
real test queries, and show searches with the expert each router chose and why."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path
from typing import Any

from .collection import Collection
from .errors import InputError
from .evaluation import evaluate, load_beir
from .evaluation.router_fit import fit_routers
from .evaluation.routing import evaluate_routing


def sample_path() -> Path:
    """Folder of the built-in BEIR sample (50 SciFact queries, 500 documents)."""
    return Path(str(resources.files("embedroute") / "data" / "scifact-sample"))


def _print_hits(label: str, res: Any, relevant: dict[str, int]) -> None:
    for h in res.hits:
        mark = "*" if h.id in relevant else " "
        print(f"  {label:<8}{h.rank}. {mark} {h.score:7.3f}  {(h.title or h.text or '')[:80]}")


def _routing(col: Collection, data: Path, experts: list[str], workdir: Path) -> list[str]:
    """Fit ``auto`` and ``fusion`` on half the dataset's queries (its train split, if it has one), print
    their Table-1 evaluation on the other half and save them on ``col``; returns the routers fitted."""
    try:
        routing = col.routing_expert()  # the first dense expert
    except InputError:
        print("\n(no dense expert to embed queries for routing: routing skipped)")
        return []
    routers = ["auto", "fusion"]
    prepared: dict[str, Any] = {}
    res = evaluate_routing(
        [data],
        experts,
        routers,
        train_from=[data],
        routing_expert=routing,
        workdir=workdir,
        show_progress=False,
        prepared=prepared,
    )
    print(
        f"\nrouting: routers fitted on {res.training_queries} training queries, evaluated on the "
        f"other {len(next(iter(prepared.values())).test.queries)} (routing encoder {routing}; "
        "BENCHMARKS.md has the full-size runs)"
    )
    print(res)
    free = evaluate_routing(
        [data],
        experts,
        routers,
        self_supervised=True,
        routing_expert=routing,
        workdir=workdir,
        show_progress=False,
        prepared=prepared,
    )
    pseudo = (free.pseudo or {}).get(free.datasets[0]) or {}
    made = ", ".join(f"{g} {n}" for g, n in pseudo.get("per_generator", {}).items())
    print(
        f"\nlabel-free routing: the same routers fitted on {pseudo.get('queries', 0)} pseudo-queries made from "
        f"the collection's own documents ({made}), no labelled query read; evaluated on the same real test queries"
    )
    print(free)
    fit_routers(col, routers, [data], routing_expert=routing, show_progress=False)
    return routers


def run_demo(
    path: str | Path | None = None,
    *,
    experts: list[str] | None = None,
    data: str | Path | None = None,
    n_examples: int = 3,
) -> None:
    """Build a collection at ``path`` (default: a temporary folder) over ``data`` (default: the built-in
    sample), print its experts' evaluation and the routers', then ``n_examples`` searches with each."""
    experts = experts or ["minilm", "bm25"]
    data = Path(data) if data else sample_path()
    tmp = None
    if path is None:
        tmp = tempfile.TemporaryDirectory(prefix="embedroute-demo-")
        path = Path(tmp.name) / "collection"
    try:
        print(f"dataset: {data}")
        print(f"collection: {path} (experts: {', '.join(experts)})")
        result = evaluate(data, experts, collection=path)
        print()
        print(result.table())
        print(f"(encoded {result.stats['texts_encoded']} texts, {result.stats['cache_hits']} from the cache)")
        ds = load_beir(data)
        with Collection.open(path) as col:
            with tempfile.TemporaryDirectory(prefix="embedroute-demo-routing-") as work:
                routers = _routing(col, data, experts, Path(work))
            for qid in list(ds.queries)[:n_examples]:
                query = ds.queries[qid]
                print(f"\nquery {qid}: {query}")
                for name in experts:
                    _print_hits(name, col.search(query, k=3, expert=name), ds.qrels.get(qid, {}))
                for router in routers:
                    res = col.routed_search(query, k=3, router=router)
                    r = res.routing
                    if r is None:  # a routed search always says how it was routed
                        raise RuntimeError(f"router {router!r} returned no routing diagnostics")
                    scores = ", ".join(f"{e} {v:.3f}" for e, v in sorted(r.scores.items(), key=lambda kv: -kv[1]))
                    rule = f" (rule {r.rule})" if r.rule != router else ""
                    print(f"  router {router}{rule} chose {'+'.join(r.experts)}; scores: {scores}")
                    _print_hits(router, res, ds.qrels.get(qid, {}))
        print("\n(* = judged relevant)")
    finally:
        if tmp is not None:
            tmp.cleanup()
