"""Where embedroute keeps its shared on-disk state (embedding cache, unpacked models)."""

from __future__ import annotations

import os
from pathlib import Path

# the folder made for each environment: the hot path asks for the cache folder once per query
_made: dict[tuple[str | None, str | None, str | None], Path] = {}


def cache_env() -> tuple[str | None, str | None, str | None]:
    """The environment :func:`cache_dir` follows (its value changes only when this does)."""
    get = os.environ.get
    return get("EMBEDROUTE_CACHE_DIR"), get("XDG_CACHE_HOME"), get("HOME")


def cache_dir() -> Path:
    """``$EMBEDROUTE_CACHE_DIR``, else ``$XDG_CACHE_HOME/embedroute``, else ``~/.cache/embedroute``."""
    key = cache_env()
    env = key[0]
    path = _made.get(key)
    if path is not None and path.is_dir():
        return path
    if env:
        path = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "embedroute"
    path.mkdir(parents=True, exist_ok=True)
    _made[key] = path
    return path
