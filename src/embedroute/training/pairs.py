"""Training triples from BEIR train splits: (query, judged-relevant passage, BM25 hard negative).

Hard negatives are drawn from BM25's top 30 for the query, skipping every judged document; the
positive is one of the query's relevant documents, chosen with a seeded generator.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..evaluation.beir import load_beir


@dataclass(frozen=True)
class Triple:
    """One training triple: a query, a passage judged relevant to it, a BM25 hard negative, and the dataset it came
    from."""

    query: str
    positive: str
    negative: str
    dataset: str


def mine_triples(
    paths: Sequence[str | Path],
    *,
    split: str = "train",
    per_query: int = 1,
    depth: int = 30,
    seed: int = 0,
    show_progress: bool = False,
) -> list[Triple]:
    """Up to ``per_query`` triples per judged query of each dataset's ``split``."""
    from ..experts.bm25 import BM25Expert

    rng = np.random.default_rng(seed)
    out: list[Triple] = []
    for path in paths:
        ds = load_beir(path, split)
        corpus = ds.corpus()
        texts = [f"{d['title']} {d['text']}" if d["title"] else d["text"] for d in corpus]
        ids = [d["id"] for d in corpus]
        row = {d: i for i, d in enumerate(ids)}
        bm25 = BM25Expert()
        bm25.load(np.arange(len(ids), dtype=np.int64), texts, None)
        qids = [q for q in ds.queries if any(s > 0 and d in row for d, s in ds.qrels[q].items())]
        found = bm25.search([ds.queries[q] for q in qids], depth)
        for qid, cand in zip(qids, found.ids):
            judged = ds.qrels[qid]
            pos = sorted(d for d, s in judged.items() if s > 0 and d in row)
            negs = [int(c) for c in cand if ids[int(c)] not in judged]
            if not negs:
                continue
            for p in rng.choice(pos, size=min(per_query, len(pos)), replace=False):
                out.append(Triple(ds.queries[qid], texts[row[p]], texts[negs[int(rng.integers(len(negs)))]], ds.name))
    order = rng.permutation(len(out))
    return [out[i] for i in order]
