"""Installed library versions, pinned into every saved config and evaluation result."""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import metadata

CORE = ("embedroute", "numpy", "faiss-cpu", "bm25s", "pytrec-eval-terrier")


def library_versions(names: Iterable[str] = ()) -> dict[str, str]:
    """``{package: version}`` for ``CORE`` plus ``names``; absent packages are reported as ``"absent"``.

    Read once per process and package: ``importlib.metadata`` parses each package's METADATA file, about a
    millisecond a package, and configs are asked for on hot paths."""
    return {name: _version(name) for name in (*CORE, *names)}


@cache
def _version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "absent"
