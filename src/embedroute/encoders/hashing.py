"""Content hashes: texts (cache keys), weight files (model identity) and data files (dataset checksums).

Weight hashes are memoised by (path, size, mtime) in a small JSON file in the cache directory, so a
model's 90-400 MB of weights are hashed once per installation, not on every start.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable
from pathlib import Path

from .._paths import cache_dir

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".onnx", ".pt", ".npy", ".json", ".txt", ".model")


def text_hash(text: str) -> bytes:
    """16-byte BLAKE2b digest of a text (the embedding-cache key).

    >>> text_hash("hello").hex()
    '46fb7408d4f285228f4af516ea25851b'
    """
    return hashlib.blake2b(text.encode("utf-8"), digest_size=16).digest()


def file_sha256(path: str | os.PathLike[str], chunk: int = 1 << 20) -> str:
    """The sha256 hex digest of a file, read in ``chunk``-byte blocks (weights can be large)."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(chunk):
            h.update(block)
    return h.hexdigest()


def files_sha256(paths: Iterable[Path], root: Path | None = None) -> str:
    """One digest over several files: each file's relative name and sha256, in sorted order."""
    h = hashlib.sha256()
    for p in sorted(paths):
        name = str(p.relative_to(root)) if root is not None else p.name
        h.update(name.encode())
        h.update(file_sha256(p).encode())
    return h.hexdigest()


def _memo_path() -> Path:
    return cache_dir() / "weight-hashes.json"


def weight_hash(path: str | os.PathLike[str]) -> str:
    """sha256 over a model's weight and config files (a file, or every relevant file under a folder)."""
    root = Path(path).resolve()
    files = (
        [root]
        if root.is_file()
        else [p for p in root.rglob("*") if p.is_file() and p.suffix in WEIGHT_SUFFIXES and ".cache" not in p.parts]
    )
    stamp = ";".join(f"{p}:{p.stat().st_size}:{p.stat().st_mtime_ns}" for p in sorted(files))
    key = hashlib.sha256(stamp.encode()).hexdigest()
    memo_file = _memo_path()
    try:
        memo = json.loads(memo_file.read_text())
    except (OSError, ValueError):
        memo = {}
    if key in memo:
        return memo[key]
    digest = files_sha256(files, root if root.is_dir() else None)
    memo[key] = digest
    tmp = memo_file.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps(memo))
    os.replace(tmp, memo_file)
    return digest
