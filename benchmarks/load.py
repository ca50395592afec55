"""HTTP load: concurrent clients searching the SciFact sample through a real server on loopback.

Starts ``embedroute serve`` over a temporary folder holding the built-in sample (minilm + bm25,
routers fitted), then runs ``--clients`` concurrent clients for ``--seconds`` per mode (one expert,
the other, the pilot router) and reports throughput, p50/p95/p99 latency and errors.

    python benchmarks/load.py [--clients 50] [--seconds 30] [--out benchmarks/results/load.json]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

from embedroute.demo import sample_path
from embedroute.server.loadtest import run_load
from embedroute.server.sample import ensure_sample

ROOT = Path(__file__).resolve().parents[1]
MODES = {"bm25": {"expert": "bm25"}, "minilm": {"expert": "minilm"}, "router:pilot": {"router": "pilot"}}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--clients", type=int, default=50)
    ap.add_argument("--seconds", type=float, default=30)
    ap.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "load.json"))
    args = ap.parse_args()
    queries = [json.loads(line)["text"] for line in open(sample_path() / "queries.jsonl")]
    with tempfile.TemporaryDirectory(prefix="embedroute-load-") as tmp:
        root = Path(tmp) / "root"
        ensure_sample(root, sample_path(), show_progress=False)
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        log = open(Path(tmp) / "server.log", "w")
        proc = subprocess.Popen(
            [sys.executable, "-m", "embedroute.cli.main", "serve", str(root), "--port", str(port)],
            stdout=log,
            stderr=subprocess.STDOUT,
            env=dict(os.environ, PYTHONUNBUFFERED="1"),
        )
        url = f"http://127.0.0.1:{port}"
        try:
            for _ in range(600):
                try:
                    if httpx.get(url + "/api/health", timeout=1).status_code == 200:
                        break
                except httpx.HTTPError:
                    time.sleep(0.2)
            rows = []
            for name, mode in MODES.items():
                run_load(url, "scifact-sample", queries[:5], clients=4, seconds=2, modes=[mode])  # warm-up
                res = run_load(url, "scifact-sample", queries, clients=args.clients, seconds=args.seconds, modes=[mode])
                row = {"mode": name} | res.to_json()
                rows.append(row)
                print(
                    f"{name:<14} {res.requests:>6} requests  {res.throughput_rps:>7.1f} req/s  "
                    f"p50 {res.latency_ms['p50']:>7.1f} ms  p95 {res.latency_ms['p95']:>7.1f} ms  "
                    f"errors {res.errors}",
                    flush=True,
                )
        finally:
            proc.terminate()
            proc.wait(30)
            log.close()
    out = {
        "clients": args.clients,
        "seconds": args.seconds,
        "collection": "scifact-sample (500 docs)",
        "machine": f"{platform.machine()}, {os.cpu_count()} cores",
        "rows": rows,
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(out, indent=1))
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
