"""Evaluation runs started over HTTP: one worker thread, progress kept per job, results saved as JSON."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import EmbedrouteError, UnknownNameError


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class EvalJobs:
    """Queue of ``evaluate`` runs; finished jobs are written to ``folder/ID.json`` and listed again
    after a restart."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedroute-eval")
        if folder.exists():
            for p in sorted(folder.glob("*.json")):
                try:
                    job = json.loads(p.read_text())
                    self._jobs[job["id"]] = job
                except (OSError, ValueError, KeyError):
                    continue  # a half-written or foreign file is not a job

    def start(self, data: Path, experts: list[str], split: str) -> dict[str, Any]:
        job = {"id": uuid.uuid4().hex[:12], "status": "queued", "data": str(data), "experts": experts,
               "split": split, "stage": "queued", "done": 0, "total": None, "created": _now(),
               "finished": None, "error": None, "result": None}
        with self._lock:
            self._jobs[job["id"]] = job
        self._pool.submit(self._run, job["id"])
        return dict(job)

    def get(self, job_id: str) -> dict[str, Any]:
        with self._lock:
            if job_id not in self._jobs:
                raise UnknownNameError(f"no evaluation run {job_id!r}")
            return dict(self._jobs[job_id])

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [dict(j) for j in sorted(self._jobs.values(), key=lambda j: j["created"], reverse=True)]

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[job_id].update(changes)

    def _run(self, job_id: str) -> None:
        from ..evaluation import evaluate

        job = self.get(job_id)
        self._update(job_id, status="running", stage="loading")

        def progress(stage: str, done: int, total: int | None) -> None:
            self._update(job_id, stage=stage, done=done, total=total)

        try:
            res = evaluate(job["data"], job["experts"], split=job["split"], show_progress=False,
                           progress=progress)
            out = res.to_json()
            for e in out["experts"].values():
                e.pop("per_query", None)  # keep the stored job small; the CLI writes per-query scores
            self._update(job_id, status="done", stage="done", result=out, finished=_now())
        except EmbedrouteError as exc:
            self._update(job_id, status="failed", stage="failed", error=str(exc), finished=_now())
        except Exception as exc:  # noqa: BLE001 - reported on the job, never as a stack trace
            self._update(job_id, status="failed", stage="failed", error=f"{type(exc).__name__}: {exc}",
                         finished=_now())
        self.folder.mkdir(parents=True, exist_ok=True)
        tmp = self.folder / f".{job_id}.tmp"
        tmp.write_text(json.dumps(self.get(job_id), indent=1))
        tmp.replace(self.folder / f"{job_id}.json")

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
