"""Server settings: every flag of ``embedroute serve`` also read from an ``EMBEDROUTE_*`` variable."""

from __future__ import annotations

import ipaddress
import os
from dataclasses import dataclass, field
from pathlib import Path

from ..errors import InputError

#: flag name -> environment variable
ENV = {
    "path": "EMBEDROUTE_SERVE_PATH",
    "host": "EMBEDROUTE_HOST",
    "port": "EMBEDROUTE_PORT",
    "api_key": "EMBEDROUTE_API_KEY",
    "data_roots": "EMBEDROUTE_DATA_ROOTS",
    "results_dir": "EMBEDROUTE_RESULTS_DIR",
    "max_body_bytes": "EMBEDROUTE_MAX_BODY_BYTES",
    "max_batch": "EMBEDROUTE_MAX_BATCH",
}


def is_loopback(host: str) -> bool:
    """True for ``localhost`` and addresses in 127.0.0.0/8 or ``::1``.

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


@dataclass
class Settings:
    """What one server process serves and how it guards it.

    ``root`` holds one collection per sub-folder (or is itself a collection). ``data_roots`` are the
    only folders whose BEIR datasets the evaluation endpoint may read; ``results_dir`` holds stored
    benchmark results shown on the evaluation page.
    """

    root: Path
    host: str = "127.0.0.1"
    port: int = 8000
    api_key: str | None = None
    data_roots: list[Path] = field(default_factory=list)
    results_dir: Path | None = None
    max_body_bytes: int = 16 * 1024 * 1024
    max_batch: int = 1000
    max_k: int = 1000
    #: seconds an idle keep-alive connection stays open; above HTTP clients' usual pool expiry (httpx 5 s),
    #: so that a busy server (its event loop late by seconds) does not close a connection the client is
    #: reusing, which the client sees as a reset (uvicorn's own default is 5 s)
    keep_alive_s: int = 75

    def __post_init__(self) -> None:
        self.root = Path(self.root).resolve()
        self.data_roots = [Path(p).resolve() for p in self.data_roots]
        if self.results_dir is not None:
            self.results_dir = Path(self.results_dir).resolve()
        if self.api_key is not None and len(self.api_key) < 16:
            raise InputError("an API key must be at least 16 characters", field="api_key")
        if not is_loopback(self.host) and not self.api_key:
            raise InputError(
                f"binding to {self.host} (not loopback) needs an API key: pass --api-key or set {ENV['api_key']}",
                field="host",
            )
        if self.max_body_bytes < 1024 or self.max_batch < 1:
            raise InputError("max_body_bytes must be >= 1024 and max_batch >= 1", field="max_body_bytes")

    @classmethod
    def from_env(cls, **given: object) -> Settings:
        """Settings from keyword arguments, falling back to the environment, then to the defaults."""
        values: dict[str, object] = {}
        for key, var in ENV.items():
            value = given.get(key)
            if value is None and os.environ.get(var):
                value = os.environ[var]
            if value is None:
                continue
            if key in ("port", "max_body_bytes", "max_batch"):
                value = int(value)  # type: ignore[call-overload]  # a str from the environment, a number from the file
            elif key == "data_roots" and isinstance(value, str):
                value = [p for p in value.split(os.pathsep) if p]
            values["root" if key == "path" else key] = value
        if "root" not in values:
            raise InputError(f"give the folder to serve (PATH or {ENV['path']})", field="path")
        return cls(**values)  # type: ignore[arg-type]
