"""Long work started over HTTP (evaluation runs, router fits, expert adds): one worker thread, progress kept per job,
each finished job saved as JSON and listed again after a restart."""

from __future__ import annotations

import datetime as dt
import json
import threading
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from ..errors import EmbedrouteError, UnknownNameError
from .security import redact

#: ``progress(stage, done, total)``, called by a task as it goes
Progress = Callable[[str, int, "int | None"], None]
Task = Callable[[Progress], dict[str, Any]]
WHAT = {"evaluation": "evaluation run", "routing": "router fit", "expert": "expert add"}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


class Jobs:
    """A queue of tasks of several kinds; finished jobs are written to ``folder/ID.json``. A failed job's
    error is shown to clients, so the ``hidden`` folders are replaced in it as in every error answer."""

    def __init__(self, folder: Path, hidden: Sequence[str] = ()) -> None:
        self.folder = folder
        self._hidden = list(hidden)
        self._jobs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="embedroute-jobs")
        if folder.exists():
            for p in sorted(folder.glob("*.json")):
                try:
                    job = json.loads(p.read_text())
                    job.setdefault("kind", "evaluation")  # saved before jobs had kinds
                    self._jobs[job["id"]] = job
                except (OSError, ValueError, KeyError, AttributeError):
                    continue  # a half-written or foreign file is not a job

    def start(self, kind: str, fields: dict[str, Any], task: Task) -> dict[str, Any]:
        """Queue ``task`` as a new job of ``kind`` (with ``fields`` shown to clients); returns the job as queued."""
        job = {
            "id": uuid.uuid4().hex[:12],
            "kind": kind,
            "status": "queued",
            **fields,
            "stage": "queued",
            "done": 0,
            "total": None,
            "created": _now(),
            "finished": None,
            "error": None,
            "result": None,
        }
        with self._lock:
            self._jobs[job["id"]] = job
        self._pool.submit(self._run, job["id"], task)
        return dict(job)

    def get(self, job_id: str, kind: str) -> dict[str, Any]:
        """A copy of the job ``job_id``; one of another kind, or none, is an UnknownNameError."""
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None or job["kind"] != kind:
                raise UnknownNameError(f"no {WHAT.get(kind, kind)} {job_id!r}")
            return dict(job)

    def list(self, kind: str) -> list[dict[str, Any]]:
        """Copies of every job of ``kind``, newest first."""
        with self._lock:
            mine = [j for j in self._jobs.values() if j["kind"] == kind]
        return [dict(j) for j in sorted(mine, key=lambda j: j["created"], reverse=True)]

    def _update(self, job_id: str, **changes: Any) -> None:
        with self._lock:
            self._jobs[job_id].update(changes)

    def _run(self, job_id: str, task: Task) -> None:
        self._update(job_id, status="running", stage="starting")

        def progress(stage: str, done: int, total: int | None) -> None:
            self._update(job_id, stage=stage, done=done, total=total)

        try:
            self._update(job_id, status="done", stage="done", result=task(progress), finished=_now())
        except EmbedrouteError as exc:
            self._update(job_id, status="failed", stage="failed", error=redact(str(exc), self._hidden), finished=_now())
        except Exception as exc:  # noqa: BLE001 - reported on the job, never as a stack trace
            error = redact(f"{type(exc).__name__}: {exc}", self._hidden)
            self._update(job_id, status="failed", stage="failed", error=error, finished=_now())
        self.folder.mkdir(parents=True, exist_ok=True)
        with self._lock:
            text = json.dumps(self._jobs[job_id], indent=1)
        tmp = self.folder / f".{job_id}.tmp"
        tmp.write_text(text)
        tmp.replace(self.folder / f"{job_id}.json")

    def close(self) -> None:
        """Stop taking jobs: queued ones are cancelled, a running one is not waited for."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def evaluation_task(data: Path, experts: list[str], split: str) -> Task:
    """Evaluate ``experts`` on the BEIR folder ``data`` (per-query scores left out of the stored job)."""

    def run(progress: Progress) -> dict[str, Any]:
        from ..evaluation import evaluate

        res = evaluate(data, experts, split=split, show_progress=False, progress=progress)
        out = res.to_json()
        for e in out["experts"].values():
            e.pop("per_query", None)  # keep the stored job small; the CLI writes per-query scores
        return out

    return run
