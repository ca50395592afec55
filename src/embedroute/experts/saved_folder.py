"""A built structure saved beside the collection as a folder of files, vouched for by a metadata file.

``NAME/`` holds the files a library writes (bm25s's arrays and vocabularies); ``NAME.json`` records what
they were built from (store generation, count, config) and a CRC32 of every file. The metadata is removed
first and written last, and the folder is written under a temporary name and renamed into place, so a crash
at any point leaves either no metadata (the structure is rebuilt from the store, the source of truth) or a
complete, checked set. Written by hand: the libraries save their files, not a crash-safe set of them.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import zlib
from collections.abc import Callable, Mapping
from contextlib import suppress
from pathlib import Path
from typing import Any

import numpy as np

log = logging.getLogger("embedroute.experts")


def _crc(path: Path) -> int:
    crc = 0
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            crc = zlib.crc32(block, crc)
    return crc


def save_folder(root: Path, name: str, write: Callable[[Path], None], meta: dict[str, Any]) -> bool:
    """``write(tmp_folder)`` the files, then put them in place as ``root/name`` with ``root/name.json``
    (``meta`` plus the files' CRC32s). False (and a warning) when the folder cannot take them."""
    final, meta_path = root / name, root / f"{name}.json"
    tmp = root / f"{name}.{os.getpid()}.tmp"
    try:
        root.mkdir(parents=True, exist_ok=True)
        meta_path.unlink(missing_ok=True)  # until the new set is complete, nothing vouches for the files
        shutil.rmtree(tmp, ignore_errors=True)
        tmp.mkdir()
        write(tmp)
        crcs = {p.name: _crc(p) for p in sorted(tmp.iterdir()) if p.is_file()}
        shutil.rmtree(final, ignore_errors=True)
        os.replace(tmp, final)
        staged = meta_path.with_suffix(f".{os.getpid()}.tmp")
        staged.write_text(json.dumps({**meta, "files": crcs}, indent=2))
        os.replace(staged, meta_path)
    except OSError as exc:
        shutil.rmtree(tmp, ignore_errors=True)
        log.warning("could not save %s (%s); it is rebuilt from the store at the next open", name, exc.strerror or exc)
        return False
    return True


def open_folder(root: Path, name: str, expect: dict[str, Any]) -> Path | None:
    """``root/name`` when its metadata matches every ``expect`` field and each file its CRC32, else None
    (a damaged set is logged, and its metadata removed so that it is rebuilt and saved whole)."""
    final, meta_path = root / name, root / f"{name}.json"
    if not meta_path.exists():
        return None
    try:
        meta = json.loads(meta_path.read_text())
        if not isinstance(meta, dict) or not isinstance(meta.get("files"), dict):
            raise ValueError("metadata is not a JSON object with files")
        if any(meta.get(k) != v for k, v in expect.items()):
            return None  # built at another generation or with another config: stale, not damaged
        for file, crc in meta["files"].items():
            if _crc(final / file) != crc:
                raise ValueError(f"{file} does not match its checksum")
    except (OSError, ValueError) as exc:
        log.warning("saved %s is damaged or unreadable (%s); rebuilding it from the store", name, exc)
        with suppress(OSError):
            meta_path.unlink(missing_ok=True)
        return None
    return final


def built_for(spec: Mapping[str, Any], encoder_config: Mapping[str, Any]) -> dict[str, Any]:
    """What a saved structure's representations were made by: the expert's ``spec`` (JSON round-tripped,
    as read back) and a hash of its encoder's config without library versions (weight hash, pooling,
    prompts, dims). The store's generation does not change when an expert is removed and another model
    added under its name, so a saved copy must say which model it belongs to."""
    model = {k: v for k, v in encoder_config.items() if k not in ("versions", "name")}
    return {
        "spec": json.loads(json.dumps(spec, sort_keys=True)),
        "model": hashlib.sha256(json.dumps(model, sort_keys=True, default=str).encode()).hexdigest(),
    }


def open_current(root: Path, name: str, config: Any, *, generation: int, count: int) -> tuple[Path, np.ndarray] | None:
    """``root/name`` and its saved row ids (``ids.npy``) when it was saved at this store ``generation``
    over ``count`` documents with this ``config`` and is intact (:func:`open_folder`), else None."""
    found = open_folder(root, name, {"generation": generation, "count": count, "config": config})
    if found is None:
        return None
    try:
        ids = np.load(found / "ids.npy")
    except (OSError, ValueError, EOFError) as exc:
        log.warning("saved %s is unreadable (%s); rebuilding it from the store", name, exc)
        return None
    if ids.dtype != np.int64 or ids.shape != (count,):
        log.warning("saved %s holds %s %s ids, not %d; rebuilding it from the store", name, ids.dtype, ids.shape, count)
        return None
    return found, ids
