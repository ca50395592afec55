"""A bounded load generator for the HTTP API: N concurrent clients searching for a fixed time, on
loopback only. Used by ``benchmarks/load.py`` and the server tests."""

from __future__ import annotations

import asyncio
import itertools
import time
from dataclasses import asdict, dataclass, field
from typing import Any
from urllib.parse import urlparse

import httpx
import numpy as np

from .settings import is_loopback


@dataclass
class LoadResult:
    """What a load run measured: requests, errors (with samples), throughput and latency percentiles."""

    clients: int
    seconds: float
    requests: int
    errors: int
    throughput_rps: float
    latency_ms: dict[str, float]
    error_samples: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The result as a JSON-able dict."""
        return asdict(self)


async def _run(
    url: str, bodies: list[dict[str, Any]], clients: int, seconds: float, headers: dict[str, str], unique: bool
) -> LoadResult:
    latencies: list[float] = []
    errors: list[str] = []
    stop = time.perf_counter() + seconds
    counter = itertools.count()
    limits = httpx.Limits(max_connections=clients, max_keepalive_connections=clients)
    async with httpx.AsyncClient(timeout=60, limits=limits, headers=headers) as client:

        async def one_client() -> None:
            while time.perf_counter() < stop:
                i = next(counter)
                body = bodies[i % len(bodies)]
                if unique:  # a number no two requests share: no query embedding comes from the cache
                    body = body | {"query": f"{body['query']} {i}"}
                t0 = time.perf_counter()
                try:
                    resp = await client.post(url, json=body)
                    ok = resp.status_code == 200
                    if not ok:
                        errors.append(f"{resp.status_code}: {resp.text[:200]}")
                except httpx.HTTPError as exc:
                    ok = False
                    errors.append(f"{type(exc).__name__}: {exc}")
                if ok:
                    latencies.append((time.perf_counter() - t0) * 1000)

        t_start = time.perf_counter()
        await asyncio.gather(*(one_client() for _ in range(clients)))
        elapsed = time.perf_counter() - t_start
    lat = np.array(latencies) if latencies else np.zeros(1)
    return LoadResult(
        clients,
        round(elapsed, 2),
        len(latencies) + len(errors),
        len(errors),
        round(len(latencies) / elapsed, 2),
        {f"p{p}": round(float(np.percentile(lat, p)), 1) for p in (50, 95, 99)} | {"max": round(float(lat.max()), 1)},
        errors[:5],
    )


def run_load(
    base_url: str,
    collection: str,
    queries: list[str],
    *,
    clients: int = 50,
    seconds: float = 30,
    k: int = 10,
    modes: list[dict[str, Any]] | None = None,
    api_key: str | None = None,
    unique: bool = True,
) -> LoadResult:
    """``clients`` concurrent clients post searches (cycling ``queries`` x ``modes``) for ``seconds``;
    ``unique`` appends the request's number to its query so that every query is encoded afresh."""
    host = urlparse(base_url).hostname or ""
    if not is_loopback(host):
        raise ValueError(f"load tests run against loopback only, not {host!r}")
    if not 1 <= clients <= 500 or not 0 < seconds <= 600:
        raise ValueError("clients must be 1..500 and seconds 0..600")
    modes = modes or [{}]
    bodies = [{"query": q, "k": k, "text": False} | m for q in queries for m in modes]
    url = f"{base_url}/api/collections/{collection}/search"
    headers = {"X-API-Key": api_key} if api_key else {}
    return asyncio.run(_run(url, bodies, clients, seconds, headers, unique))
