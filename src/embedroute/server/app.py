"""The HTTP app: JSON API, Prometheus metrics and the web page, built with FastAPI.

Errors are JSON ``{"error": ..., "detail": ...}`` with a 4xx status that names the problem, with server
folders in the detail replaced by ``<server path>``; anything unexpected is logged and answered with a bare
500 (never a stack trace).
"""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from importlib import resources
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.staticfiles import StaticFiles
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import FileResponse, JSONResponse, Response

from .. import __version__
from ..errors import (
    CollectionError,
    EmbedrouteError,
    InputError,
    ModelNotAvailableError,
    StorageError,
    UnknownNameError,
)
from . import api_collections, api_eval, api_routers, api_search
from .batcher import SearchBatcher
from .jobs import Jobs
from .metrics import Metrics, MetricsMiddleware
from .pool import Pool
from .schemas import Health
from .security import APIKeyMiddleware, BodyLimitMiddleware, redact, server_folders
from .settings import Settings

log = logging.getLogger("embedroute.server")
STATUS = [
    (InputError, 400, "bad_request"),
    (UnknownNameError, 404, "not_found"),
    (ModelNotAvailableError, 400, "model_not_available"),
    (StorageError, 503, "storage_unavailable"),
    (CollectionError, 409, "conflict"),
    (EmbedrouteError, 400, "bad_request"),
]
#: what FastAPI's own answers (a body that is no JSON, no such route) are called in ``error``
HTTP_NAMES = {400: "bad_request", 404: "not_found", 405: "method_not_allowed"}


def static_dir() -> Path:
    """The folder of the search page's static files, inside the installed package."""
    return Path(str(resources.files("embedroute") / "server" / "static"))


def create_app(settings: Settings) -> FastAPI:
    """A FastAPI app serving the collections under ``settings.root``."""

    @asynccontextmanager
    async def lifespan(app: FastAPI):  # type: ignore[no-untyped-def]
        yield
        app.state.jobs.close()
        app.state.pool.close()

    app = FastAPI(
        title="embedroute",
        version=__version__,
        lifespan=lifespan,
        description="Search one collection through several embedding experts; routing explained.",
    )
    hidden = _set_state(app, settings)
    _add_error_handlers(app, hidden)
    app.include_router(api_collections.router)
    app.include_router(api_collections.offered)
    app.include_router(api_routers.router)
    app.include_router(api_search.router)
    app.include_router(api_eval.router)
    _add_service_routes(app)
    app.mount("/static", StaticFiles(directory=static_dir()), name="static")
    # outermost first: metrics see every answer, the body limit runs before auth reads anything
    if settings.api_key:
        app.add_middleware(APIKeyMiddleware, api_key=settings.api_key)
    app.add_middleware(BodyLimitMiddleware, limit=settings.max_body_bytes)
    app.add_middleware(MetricsMiddleware, metrics=app.state.metrics)
    return app


def _set_state(app: FastAPI, settings: Settings) -> list[str]:
    """The app's shared state (pool, batcher, jobs, metrics); returns the folders no client may see named."""
    app.state.settings = settings
    app.state.pool = Pool(settings.root)
    app.state.batcher = SearchBatcher(app.state.pool)
    hidden = server_folders([settings.root, *settings.data_roots, settings.results_dir])
    app.state.jobs = Jobs(
        settings.root / ".evaluations"
        if not (settings.root / "manifest.json").exists()
        else settings.root / "evaluations",
        hidden,
    )
    app.state.metrics = Metrics()
    return hidden


def _add_error_handlers(app: FastAPI, hidden: list[str]) -> None:
    """Every error answer is ``{"error", "detail"}``; server folders are redacted from the detail."""

    @app.exception_handler(EmbedrouteError)
    async def known_error(request: Request, exc: EmbedrouteError) -> JSONResponse:
        detail = redact(str(exc), hidden)  # e.g. a model folder a loader names: never shown to a client
        for cls, code, name in STATUS:
            if isinstance(exc, cls):
                return JSONResponse({"error": name, "detail": detail}, status_code=code)
        return JSONResponse({"error": "bad_request", "detail": detail}, status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        """FastAPI's own 4xx answers in the same ``{"error", "detail"}`` shape as ours."""
        name = HTTP_NAMES.get(exc.status_code, f"http_{exc.status_code}")
        return JSONResponse(
            {"error": name, "detail": str(exc.detail)},
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error on %s %s", request.method, request.url.path)
        return JSONResponse({"error": "internal", "detail": "internal error; see the server log"}, status_code=500)


def _add_service_routes(app: FastAPI) -> None:
    """Liveness, Prometheus metrics and the search page."""

    @app.get("/api/health", response_model=Health, tags=["service"], summary="Liveness")
    def health() -> dict[str, Any]:
        return {"status": "ok", "version": __version__, "collections": len(app.state.pool.names())}

    @app.get(
        "/metrics", tags=["service"], summary="Prometheus metrics", responses={200: {"content": {"text/plain": {}}}}
    )
    def metrics() -> Response:
        return Response(app.state.metrics.render(), media_type="text/plain; version=0.0.4")

    @app.get("/", include_in_schema=False)
    def page() -> FileResponse:
        return FileResponse(static_dir() / "index.html")


def serve(settings: Settings) -> None:
    """Run the app with uvicorn until interrupted."""
    import uvicorn

    uvicorn.run(
        create_app(settings),
        host=settings.host,
        port=settings.port,
        log_level="info",
        timeout_keep_alive=settings.keep_alive_s,
    )
