"""The manifest: a JSON file beside the store saying exactly what the collection holds."""

from __future__ import annotations

import json
import os
import warnings
from pathlib import Path
from typing import Any

from ..encoders.versions import library_versions
from ..errors import CollectionError, StorageError
from ..storage.store import storage_hint

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


def write_manifest(path: Path, *, experts: list[dict[str, Any]], attributes: dict[str, str], created: str) -> None:
    """Replace the manifest atomically; a folder that cannot take it (read-only, full) is a StorageError
    and leaves the old manifest (and the store, the source of truth) as they were."""
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
    try:
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
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise StorageError(
            f"could not write {MANIFEST}: {exc.strerror or exc}{storage_hint(path)}; the "
            f"documents in {STORE} are unaffected, and opening the collection writes it again"
        ) from exc


def load_manifest(path: Path) -> dict[str, Any]:
    """The manifest, or ValueError saying how it is damaged or that its format is not this version's."""
    try:
        data = json.loads((path / MANIFEST).read_bytes())
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValueError(f"{MANIFEST} is damaged: {exc}") from None
    if not isinstance(data, dict) or not isinstance(data.get("format"), str):
        raise ValueError(f'{MANIFEST} is damaged: not an object with a "format"')
    if data["format"] != FORMAT:
        raise ValueError(f"unsupported collection format {data['format']!r} (expected {FORMAT})")
    return data


def read_manifest(path: Path) -> dict[str, Any]:
    """The manifest for opening a collection.

    Another format (a newer embedroute's) is a CollectionError. A damaged one (not JSON, truncated, not
    an object) is only a mirror of the store: it gives a warning and ``{}``, and the caller rewrites it
    from the store (``Collection.open`` always does).
    """
    try:
        return load_manifest(path)
    except OSError as exc:
        raise StorageError(f"cannot read {MANIFEST}: {exc.strerror or exc}") from exc
    except ValueError as exc:
        if str(exc).startswith("unsupported"):
            raise CollectionError(str(exc)) from None
        warnings.warn(f"{exc}; rebuilding it from {STORE}, which holds the collection", stacklevel=3)
        return {}
