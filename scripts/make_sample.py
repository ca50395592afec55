"""Rebuild the built-in sample (src/embedroute/data/scifact-sample) from ../shared/data/scifact.

Deterministic: 50 test queries drawn with seed 0, every document they cite, and distractor documents
drawn with seed 0 up to 500 documents in all.
"""

from __future__ import annotations

import gzip
import json
import random
import shutil
import sys
from pathlib import Path

SRC = Path(sys.argv[1] if len(sys.argv) > 1 else "../shared/data/scifact")
DST = Path(__file__).resolve().parents[1] / "src" / "embedroute" / "data" / "scifact-sample"
N_QUERIES, N_DOCS = 50, 500

qrels: dict[str, dict[str, int]] = {}
for line in (SRC / "qrels" / "test.tsv").read_text().splitlines()[1:]:
    q, d, s = line.split("\t")
    qrels.setdefault(q, {})[d] = int(s)
rng = random.Random(0)
qids = sorted(rng.sample(sorted(qrels), N_QUERIES), key=int)
relevant = {d for q in qids for d in qrels[q]}
with gzip.open(SRC / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
    corpus = [json.loads(line) for line in f]
others = [d["_id"] for d in corpus if d["_id"] not in relevant]
keep = relevant | set(rng.sample(others, N_DOCS - len(relevant)))
queries = {}
for line in (SRC / "queries.jsonl").read_text().splitlines():
    obj = json.loads(line)
    if obj["_id"] in qids:
        queries[obj["_id"]] = obj

if DST.exists():
    shutil.rmtree(DST)
(DST / "qrels").mkdir(parents=True)
with gzip.GzipFile(DST / "corpus.jsonl.gz", "wb", mtime=0) as f:
    for d in corpus:
        if d["_id"] in keep:
            f.write((json.dumps(d, ensure_ascii=False) + "\n").encode("utf-8"))
with open(DST / "queries.jsonl", "w", encoding="utf-8") as f:
    for q in qids:
        f.write(json.dumps(queries[q], ensure_ascii=False) + "\n")
with open(DST / "qrels" / "test.tsv", "w") as f:
    f.write("query-id\tcorpus-id\tscore\n")
    for q in qids:
        for d, s in qrels[q].items():
            f.write(f"{q}\t{d}\t{s}\n")
print(f"wrote {DST}: {len(qids)} queries, {len(keep)} documents")
