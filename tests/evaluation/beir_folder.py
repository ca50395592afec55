"""A tiny BEIR folder written from lines of the shipped SciFact sample, for evaluation tests."""

from __future__ import annotations

import gzip
import json
from pathlib import Path


def tiny_beir(sample: Path, out: Path, *, queries: int = 6, missing: int = 2, extra_docs: int = 20) -> dict:
    """``queries`` judged queries in queries.jsonl and ``missing`` more judged in qrels only; the corpus
    holds every judged document plus ``extra_docs`` others. Returns the qids written and left out."""
    all_queries = [json.loads(x) for x in (sample / "queries.jsonl").read_text().splitlines() if x.strip()]
    rows = [r.split("\t") for r in (sample / "qrels" / "test.tsv").read_text().splitlines()[1:] if r.strip()]
    kept, gone = all_queries[:queries], all_queries[queries : queries + missing]
    judged = {q["_id"] for q in kept + gone}
    qrels = [r for r in rows if r[0] in judged]
    wanted = {r[1] for r in qrels}
    with gzip.open(sample / "corpus.jsonl.gz", "rt") as f:
        corpus = [json.loads(x) for x in f if x.strip()]
    docs = [d for d in corpus if d["_id"] in wanted] + [d for d in corpus if d["_id"] not in wanted][:extra_docs]
    (out / "qrels").mkdir(parents=True)
    (out / "corpus.jsonl").write_text("".join(json.dumps(d) + "\n" for d in docs))
    (out / "queries.jsonl").write_text("".join(json.dumps(q) + "\n" for q in kept))
    lines = ["query-id\tcorpus-id\tscore"] + ["\t".join(r) for r in qrels]
    (out / "qrels" / "test.tsv").write_text("\n".join(lines) + "\n")
    return {"kept": [q["_id"] for q in kept], "missing": [q["_id"] for q in gone], "qrels": qrels}
