"""Where the query-side experts trained here (``embedroute train``) live, and the manifest that marks one.

Training writes these folders and the expert registry reads them; both sides name them from here, so the
experts package does not need the training package to find a trained expert.
"""

from __future__ import annotations

from pathlib import Path

from .._paths import cache_dir

#: written beside the adapter; its presence makes a folder a query-side expert
MANIFEST = "query_adapter.json"


def trained_folder(name: str) -> Path:
    """Where the query-side expert ``name`` lives: the cache's ``models/`` folder."""
    return cache_dir() / "models" / name
