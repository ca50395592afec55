"""BEIR quality and cache effect: ``embedroute eval`` twice per dataset on a fresh embedding cache.

Prints and saves nDCG@10 / Recall@100 / MRR@10 / MAP@100 per expert and the wall time of the first
(encoding) and second (cached) run of the same command.

    python benchmarks/beir_eval.py [--data scifact,nfcorpus] [--experts minilm,bm25] [--out PATH]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SHARED = ROOT.parent / "shared" / "data"


def run_eval(data: Path, experts: str, out: Path, env: dict[str, str]) -> tuple[float, dict]:
    cmd = [
        sys.executable,
        "-m",
        "embedroute.cli.main",
        "eval",
        "--data",
        str(data),
        "--experts",
        experts,
        "--out",
        str(out),
        "--quiet",
    ]
    t0 = time.perf_counter()
    proc = subprocess.run(cmd, env=env, capture_output=True, text=True, check=True)
    secs = time.perf_counter() - t0
    print(proc.stdout, flush=True)
    return secs, json.loads(out.read_text())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="scifact,nfcorpus")
    ap.add_argument("--experts", default="minilm,bm25")
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "beir.json"))
    args = ap.parse_args()
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, EMBEDROUTE_CACHE_DIR=str(Path(tmp) / "cache"), HF_HUB_OFFLINE="1")
        for name in args.data.split(","):
            first_s, first = run_eval(SHARED / name, args.experts, Path(tmp) / f"{name}-1.json", env)
            second_s, second = run_eval(SHARED / name, args.experts, Path(tmp) / f"{name}-2.json", env)
            row = {
                "dataset": name,
                "command": f"embedroute eval --data ../shared/data/{name} --experts {args.experts}",
                "first_run_s": round(first_s, 2),
                "second_run_s": round(second_s, 2),
                "second_over_first": round(second_s / first_s, 4),
                "texts_encoded": [first["stats"]["texts_encoded"], second["stats"]["texts_encoded"]],
                "metrics": {e: v["metrics"] for e, v in first["experts"].items()},
                "same_metrics_second_run": all(
                    first["experts"][e]["metrics"] == second["experts"][e]["metrics"] for e in first["experts"]
                ),
                "config": {
                    e: {k: v["config"].get(k) for k in ("model", "weight_hash", "precision", "dataset_checksum")}
                    for e, v in first["experts"].items()
                },
            }
            rows.append(row)
            print(
                f"{name}: first {first_s:.1f}s, second {second_s:.1f}s ({100 * second_s / first_s:.1f}%), "
                f"encoded {row['texts_encoded']}",
                flush=True,
            )
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"benchmark": "beir_eval", "rows": rows}, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
