"""Installed library versions, pinned into every saved config and evaluation result."""

from __future__ import annotations

from collections.abc import Iterable
from importlib import metadata

CORE = ("embedroute", "numpy", "faiss-cpu", "bm25s", "pytrec-eval-terrier")


def library_versions(names: Iterable[str] = ()) -> dict[str, str]:
    """``{package: version}`` for ``CORE`` plus ``names``; absent packages are reported as ``"absent"``."""
    out = {}
    for name in (*CORE, *names):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "absent"
    return out
