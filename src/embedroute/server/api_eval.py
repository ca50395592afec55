"""Evaluation runs on BEIR folders under the data roots, and stored benchmark results for the page."""

from __future__ import annotations

import re
from typing import Any

from fastapi import APIRouter, Request
from starlette.responses import FileResponse, Response

from ..errors import InputError, UnknownNameError
from ..evaluation.beir import load_beir
from ..names import check_name
from .jobs import evaluation_task
from .schemas import EvalJob, EvalRequest
from .security import confined

router = APIRouter(prefix="/api", tags=["evaluation"])
RESULT_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,127}\.(json|png)$")


@router.post(
    "/evaluations",
    response_model=EvalJob,
    status_code=202,
    summary="Start evaluating experts on a BEIR folder (under a data root)",
)
def start_evaluation(body: EvalRequest, request: Request) -> dict[str, Any]:
    """Start a job that evaluates experts on a BEIR folder under one of the server's data roots; poll the returned
    job for results."""
    from ..experts.registry import make_expert
    from .api_collections import only_named

    path = confined(body.data, request.app.state.settings.data_roots, what="data")
    try:
        if not path.is_dir():
            raise InputError(f"{body.data} is not a folder", field="data")
        load_beir(path, body.split)  # a missing corpus / queries / qrels file is reported now, as a 400
    except OSError as exc:
        raise InputError(f"cannot read {body.data}: {exc.strerror or exc}", field="data") from None
    for i, e in enumerate(body.experts):
        only_named(e, f"experts[{i}]")
        make_expert(e)
    return request.app.state.jobs.start(
        "evaluation",
        {"data": str(path), "experts": body.experts, "split": body.split},
        evaluation_task(path, body.experts, body.split),
    )


@router.get("/evaluations", response_model=list[EvalJob], summary="Evaluation runs, newest first")
def list_evaluations(request: Request) -> list[dict[str, Any]]:
    """Every evaluation job, newest first."""
    return request.app.state.jobs.list("evaluation")


@router.get("/evaluations/{job_id}", response_model=EvalJob, summary="One evaluation run: progress, results")
def get_evaluation(job_id: str, request: Request) -> dict[str, Any]:
    """One evaluation job: its stage, progress and results or error."""
    check_name(job_id, field="job_id")
    return request.app.state.jobs.get(job_id, "evaluation")


@router.get("/results", response_model=list[str], summary="Stored benchmark result files (JSON and plots)")
def list_results(request: Request) -> list[str]:
    """The names of the stored result files (JSON and plots) in the server's results folder."""
    folder = request.app.state.settings.results_dir
    if folder is None or not folder.is_dir():
        return []
    return sorted(p.name for p in folder.iterdir() if p.is_file() and RESULT_FILE.match(p.name))


@router.get(
    "/results/{filename}",
    summary="One stored result file",
    responses={200: {"content": {"application/json": {}, "image/png": {}}}},
)
def get_result(filename: str, request: Request) -> Any:
    """One stored result file, as stored (JSON) or as a PNG image."""
    folder = request.app.state.settings.results_dir
    if not RESULT_FILE.match(filename) or folder is None or not (folder / filename).is_file():
        raise UnknownNameError(f"no stored result {filename!r}")
    path = folder / filename
    if filename.endswith(".json"):
        return Response(path.read_bytes(), media_type="application/json")  # as stored, byte for byte
    return FileResponse(path, media_type="image/png")
