"""The main job: build a collection over the built-in SciFact sample, evaluate it, show searches."""

from __future__ import annotations

import tempfile
from importlib import resources
from pathlib import Path

from .collection import Collection
from .evaluation import evaluate, load_beir


def sample_path() -> Path:
    """Folder of the built-in BEIR sample (50 SciFact queries, 500 documents)."""
    return Path(str(resources.files("embedroute") / "data" / "scifact-sample"))


def run_demo(path: str | Path | None = None, *, experts: list[str] | None = None,
             data: str | Path | None = None, n_examples: int = 3) -> None:
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
            for qid in list(ds.queries)[:n_examples]:
                query = ds.queries[qid]
                print(f"\nquery {qid}: {query}")
                for name in experts:
                    res = col.search(query, k=3, expert=name)
                    for h in res.hits:
                        mark = "*" if h.id in ds.qrels.get(qid, {}) else " "
                        title = (h.title or h.text or "")[:80]
                        print(f"  {name:<8}{h.rank}. {mark} {h.score:7.3f}  {title}")
        print("\n(* = judged relevant)")
    finally:
        if tmp is not None:
            tmp.cleanup()
