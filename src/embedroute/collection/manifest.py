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


#: what must not change between encoding with a model and using its output again
MODEL_KEYS = ("weight_hash", "dim", "pooling", "prompts", "truncate_dim")


def model_change(stored: dict[str, Any], current: dict[str, Any]) -> tuple[str, Any, Any] | None:
    """The first of :data:`MODEL_KEYS` on which two expert configs' encoders differ, as (key, stored,
    current), or ``None`` when the model is the same."""
    s, c = stored.get("encoder", {}), current.get("encoder", {})
    return next(((k, s.get(k), c.get(k)) for k in MODEL_KEYS if s.get(k) != c.get(k)), None)


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
