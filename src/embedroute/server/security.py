"""Request guards: API-key check in constant time, body-size limit, paths confined to roots, server paths
kept out of error messages. Names a client gives are checked by :func:`embedroute.names.check_name`, expert
specs by :mod:`.http_experts`."""

from __future__ import annotations

import hmac
import re
import sys
import sysconfig
import tempfile
from collections.abc import Iterable
from pathlib import Path

from starlette.middleware.base import BaseHTTPMiddleware
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send
from typing_extensions import override

from ..errors import InputError

#: paths anyone may read without a key: the page, its assets, liveness
PUBLIC = ("/", "/static/", "/api/health")


def key_matches(given: str | None, expected: str) -> bool:
    """Compare an offered key with the configured one in time independent of where they differ."""
    return given is not None and hmac.compare_digest(given.encode("utf-8"), expected.encode("utf-8"))


class APIKeyMiddleware(BaseHTTPMiddleware):
    """Every request except the public page and health check carries ``X-API-Key`` (or a Bearer token)."""

    def __init__(self, app: ASGIApp, api_key: str) -> None:
        super().__init__(app)
        self.api_key = api_key

    @override
    async def dispatch(self, request: Request, call_next) -> Response:  # type: ignore[no-untyped-def]
        path = request.url.path
        if path == "/" or path == "/api/health" or path.startswith("/static/"):
            return await call_next(request)
        given = request.headers.get("x-api-key")
        auth = request.headers.get("authorization", "")
        if given is None and auth.lower().startswith("bearer "):
            given = auth[7:]
        if not key_matches(given, self.api_key):
            return JSONResponse(
                {"error": "unauthorized", "detail": "missing or wrong API key (X-API-Key)"},
                status_code=401,
                headers={"WWW-Authenticate": "Bearer"},
            )
        return await call_next(request)


class BodyLimitMiddleware:
    """Refuse request bodies over ``limit`` bytes (by Content-Length, and while streaming) with 413."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on, answering 413 instead when its declared or streamed body exceeds ``limit`` bytes."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        length = dict(scope.get("headers", [])).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > self.limit):
            await self._too_large(scope, receive, send)
            return
        seen = 0

        async def limited() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.limit:
                    raise _TooLarge
            return message

        try:
            await self.app(scope, limited, send)
        except _TooLarge:
            await self._too_large(scope, receive, send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        resp = JSONResponse(
            {"error": "payload_too_large", "detail": f"request body over {self.limit} bytes"}, status_code=413
        )
        await resp(scope, receive, send)


class _TooLarge(Exception):
    pass


def confined(path: str, roots: list[Path], *, what: str = "path") -> Path:
    """Resolve ``path`` (relative paths against the first root) and insist it lies inside a root.

    >>> import tempfile; r = Path(tempfile.mkdtemp())
    >>> confined("../etc", [r])
    Traceback (most recent call last):
    ...
    embedroute.errors.InputError: field "path": is outside the folders this server may read
    """
    if not roots:
        raise InputError("this server has no data roots configured; start it with --data-root", field=what)
    if "\x00" in path:
        raise InputError("path contains a NUL byte", field=what)
    p = Path(path)
    try:
        resolved = (p if p.is_absolute() else roots[0] / p).resolve()
    except (OSError, RuntimeError) as exc:  # too long, a symlink loop, ...
        raise InputError(f"cannot use this path: {exc.__class__.__name__}", field=what) from None
    if not any(resolved == r or resolved.is_relative_to(r) for r in roots):
        raise InputError("is outside the folders this server may read", field=what)  # the path: not repeated
    return resolved


HIDDEN = "<server path>"


def server_folders(extra: Iterable[Path | None] = ()) -> list[str]:
    """Folders whose names a client has no business seeing: ``extra`` (the served root, data roots, ...),
    the cache, the interpreter's prefixes and packages, the temporary folder and home; longest first."""
    from .._paths import cache_dir

    found = {
        *extra,
        cache_dir(),
        Path(sys.prefix),
        Path(sys.base_prefix),
        Path(tempfile.gettempdir()),
        Path.home(),
        Path(__file__).resolve().parents[2],
        *(Path(sysconfig.get_paths()[k]) for k in ("purelib", "platlib", "stdlib")),
    }
    names = {str(v) for p in found if p is not None for v in (p, p.resolve())}
    return sorted((n for n in names if len(Path(n).parts) > 1), key=len, reverse=True)


def redact(text: str, folders: list[str]) -> str:
    """``text`` with every path under one of ``folders`` replaced by ``<server path>``.

    >>> redact("cannot open /srv/models/x/config.json, sorry", ["/srv/models"])
    'cannot open <server path>, sorry'
    >>> redact("see /srv/modelsfoo and GET /api/experts", ["/srv/models"])
    'see /srv/modelsfoo and GET /api/experts'
    """
    for folder in folders:
        if folder in text:
            text = re.sub(re.escape(folder) + r"(?=$|[/\\\s'\",:;)\]])[^\s'\",;)\]]*", HIDDEN, text)
    return text
