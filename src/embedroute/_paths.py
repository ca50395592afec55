"""Where embedroute keeps its shared on-disk state (embedding cache, unpacked models)."""

from __future__ import annotations

import os
from pathlib import Path


def cache_dir() -> Path:
    """``$EMBEDROUTE_CACHE_DIR``, else ``$XDG_CACHE_HOME/embedroute``, else ``~/.cache/embedroute``."""
    env = os.environ.get("EMBEDROUTE_CACHE_DIR")
    if env:
        path = Path(env)
    else:
        base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
        path = Path(base) / "embedroute"
    path.mkdir(parents=True, exist_ok=True)
    return path
