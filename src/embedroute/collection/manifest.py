"""The manifest: a JSON file beside the store saying exactly what the collection holds."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from ..encoders.versions import library_versions

FORMAT = "embedroute.collection/1"
MANIFEST = "manifest.json"
STORE = "documents.sqlite"


def write_manifest(path: Path, *, experts: list[dict[str, Any]], attributes: dict[str, str],
                   created: str) -> None:
    data = {
        "format": FORMAT,
        "created": created,
        "store": STORE,
        "default_expert": experts[0]["name"] if experts else None,
        "experts": experts,
        "attributes": attributes,
        "versions": library_versions(),
    }
    tmp = path / f".{MANIFEST}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(data, f, indent=2, sort_keys=True)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path / MANIFEST)
    dir_fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def read_manifest(path: Path) -> dict[str, Any]:
    with open(path / MANIFEST) as f:
        data = json.load(f)
    if data.get("format") != FORMAT:
        raise ValueError(f"unsupported collection format {data.get('format')!r} (expected {FORMAT})")
    return data
