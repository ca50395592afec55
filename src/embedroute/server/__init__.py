"""HTTP server and web page (FastAPI + uvicorn): ``embedroute serve PATH``."""

from __future__ import annotations

from .app import create_app, serve
from .settings import Settings

__all__ = ["Settings", "create_app", "serve"]
