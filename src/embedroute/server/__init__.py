"""HTTP server and web page (FastAPI + uvicorn): ``embedroute serve PATH``.

The ``server`` extra (``pip install "embedroute[server]"``): importing this package without it raises
:class:`~embedroute.errors.ExtraNotInstalledError` with that line, before any module here imports fastapi.
"""

from __future__ import annotations

from ..extras import EXTRAS, require

for _module in EXTRAS["server"]:
    require("server", _module)

from .app import create_app, serve  # noqa: E402  (after the extra's check, which must run first)
from .settings import Settings  # noqa: E402

__all__ = ["Settings", "create_app", "serve"]
