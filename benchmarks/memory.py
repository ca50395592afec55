"""Resident memory of each index kind over N vectors: built, reopened from its saved copy, and after a write.

Each kind runs in its own subprocess, so one kind's allocations never count towards another's. The
vectors are random unit vectors (memory does not depend on their content); reopening follows what a
collection does on open (``restore`` of the dumped index with the full-precision vectors memory-mapped);
"after a write" adds one vector to the reopened index, which brings the full-precision matrix into RAM.
Resident memory is ``VmRSS`` from ``/proc/self/status`` minus the process's RSS before the vectors exist.

HNSW is measured as ``hnsw-48-40``: the default M (48) with efConstruction 40 instead of 400. FAISS gives
every node its full neighbour lists (2 M slots on level 0, M above) when it is added, whatever
efConstruction, so the memory is the default's while the 1M build takes minutes instead of a quarter hour.

    python benchmarks/memory.py [--n 1000000] [--kinds flat,fp16,int8,binary,pq,mrl-128,hnsw-48-40] [--out ...]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DIM = 384


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    raise RuntimeError("no VmRSS in /proc/self/status")


def measure(kind: str, n: int, folder: Path) -> dict[str, float]:
    """One kind, in this process: RSS growth when built, when reopened from disk, and after one write."""
    import gc

    import numpy as np

    from embedroute.index.factory import make_index

    base = rss_mb()
    rng = np.random.default_rng(0)
    vecs = rng.standard_normal((n, DIM), dtype=np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    ids = np.arange(n, dtype=np.int64)
    np.save(folder / "vectors.npy", vecs)
    index = make_index(kind, DIM)
    index.add(ids, vecs)
    del vecs
    gc.collect()
    built = rss_mb() - base
    if not index.persist:
        return {
            "built_mb": round(built, 1),
            "reopened_mb": None,
            "after_write_mb": None,
            "bytes_per_vector_declared": 4.0 * DIM,
        }
    (folder / "index.bin").write_bytes(index.dump())
    declared = index.bytes_per_vector()
    del index
    gc.collect()
    base2 = rss_mb()
    again = make_index(kind, DIM)
    again.restore((folder / "index.bin").read_bytes(), ids, np.load(folder / "vectors.npy", mmap_mode="r"))
    gc.collect()
    reopened = rss_mb() - base2
    again.add(np.array([n], dtype=np.int64), np.ones((1, DIM), dtype=np.float32) / np.sqrt(DIM))
    after = rss_mb() - base2
    return {
        "built_mb": round(built, 1),
        "reopened_mb": round(reopened, 1),
        "after_write_mb": round(after, 1),
        "bytes_per_vector_declared": declared,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1_000_000)
    ap.add_argument("--kinds", default="flat,fp16,int8,binary,pq,mrl-128")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "memory.json"))
    ap.add_argument("--one", help=argparse.SUPPRESS)  # internal: measure this kind in this process
    args = ap.parse_args()
    if args.one:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(measure(args.one, args.n, Path(tmp))))
        return
    rows = []
    for kind in args.kinds.split(","):
        out = subprocess.run(
            [sys.executable, __file__, "--one", kind, "--n", str(args.n)], check=True, capture_output=True, text=True
        ).stdout
        row = {"kind": kind, **json.loads(out.strip().splitlines()[-1])}
        rows.append(row)
        print(row, flush=True)
    result = {
        "benchmark": "memory",
        "n": args.n,
        "dim": DIM,
        "vectors": "random unit vectors",
        "rows": rows,
        "float32_matrix_mb": round(args.n * DIM * 4 / 2**20, 1),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
