"""On-disk embedding cache shared by every collection and evaluation.

Keyed by (encoder fingerprint, text hash); the fingerprint covers the weight hash, pooling, prompt,
truncate_dim, max length and precision, so a change to any of them misses the cache. Backed by SQLite
in WAL mode, so several processes can read and write it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._paths import cache_dir, cache_env
from ..storage.sqlite import connect
from .hashing import text_hash

_CHUNK = 500  # SQLite host-parameter budget per lookup
# An in-memory front for lookups of a few texts (a query batch): a cached query skips SQLite and its lock.
# Entries are content-addressed, so a remembered blob is never stale. Bulk (document) lookups bypass it.
_FRONT_LOOKUP = 16  # lookups of at most this many keys read and fill the front
_FRONT_KEYS = 4096  # entries it keeps, oldest out first
_FRONT_BLOB = 1 << 16  # larger blobs (token matrices) stay on disk only


@dataclass
class CacheStats:
    """Counts since the cache was opened: ``hits`` served from disk, ``misses`` that had to be encoded."""

    hits: int = 0
    misses: int = 0


class EmbeddingCache:
    """Content-addressed store of embedding vectors (float32)."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = Path(path) if path is not None else cache_dir() / "embeddings.sqlite"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._conn = connect(self.path)
        self._conn.execute(
            "CREATE TABLE IF NOT EXISTS emb (fp TEXT NOT NULL, th BLOB NOT NULL, vec BLOB NOT NULL,"
            " PRIMARY KEY (fp, th))"
        )
        self._lock = threading.Lock()
        self._front: dict[tuple[str, bytes], bytes] = {}
        self.stats = CacheStats()

    def get_blobs(self, fingerprint: str, keys: Sequence[bytes]) -> dict[bytes, bytes]:
        """The stored blobs among ``keys`` for this model ``fingerprint``, by key (misses are left out)."""
        unique = list(dict.fromkeys(keys))
        small = len(unique) <= _FRONT_LOOKUP
        found: dict[bytes, bytes] = {}
        if small:
            front = self._front
            found = {k: b for k in unique if (b := front.get((fingerprint, k))) is not None}
            if len(found) == len(unique):
                return found
            unique = [k for k in unique if k not in found]
        with self._lock:
            for i in range(0, len(unique), _CHUNK):
                part = unique[i : i + _CHUNK]
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT th, vec FROM emb WHERE fp = ? AND th IN ({marks})", (fingerprint, *part)
                ).fetchall()
                found.update((bytes(th), bytes(blob)) for th, blob in rows)
            if small:
                self._remember(fingerprint, found)
        return found

    def _remember(self, fingerprint: str, blobs: dict[bytes, bytes]) -> None:
        """Keep small blobs in the in-memory front (called under the lock)."""
        front = self._front
        for k, b in blobs.items():
            if len(b) <= _FRONT_BLOB:
                front[(fingerprint, k)] = b
        while len(front) > _FRONT_KEYS:
            front.pop(next(iter(front)))

    def put_blobs(self, fingerprint: str, keys: Sequence[bytes], blobs: Sequence[bytes]) -> None:
        """Store one blob per key for this ``fingerprint`` (replacing any), in one transaction."""
        rows = [(fingerprint, k, b) for k, b in zip(keys, blobs, strict=True)]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO emb (fp, th, vec) VALUES (?, ?, ?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            if len(rows) <= _FRONT_LOOKUP:
                self._remember(fingerprint, dict(zip(keys, blobs)))

    def get_many(self, fingerprint: str, keys: Sequence[bytes], dim: int) -> dict[bytes, np.ndarray]:
        """Cached float32 vectors of width ``dim`` (entries of another width are ignored)."""
        return {
            k: np.frombuffer(b, dtype=np.float32)
            for k, b in self.get_blobs(fingerprint, keys).items()
            if len(b) == 4 * dim
        }

    def put_many(self, fingerprint: str, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        """Store one float32 vector per key for this ``fingerprint``."""
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        self.put_blobs(fingerprint, keys, [v.tobytes() for v in vectors])

    def embed_blobs(
        self,
        fingerprint: str,
        texts: Sequence[str],
        compute: Callable[[list[str]], list[bytes]],
        *,
        valid: Callable[[bytes], bool] = lambda b: True,
        batch: int = 2048,
    ) -> list[bytes]:
        """Serialised representations for ``texts``: cached ones read back, the rest computed and stored.

        Misses are computed and stored in chunks of ``batch`` texts, so an interrupted run keeps what
        it finished.
        """
        keys = [text_hash(t) for t in texts]
        found = {k: b for k, b in self.get_blobs(fingerprint, keys).items() if valid(b)}
        out: list[bytes] = [b""] * len(texts)
        todo: dict[bytes, list[int]] = {}
        for i, k in enumerate(keys):
            if k in found:
                out[i] = found[k]
            else:
                todo.setdefault(k, []).append(i)
        self.stats.hits += len(texts) - sum(len(v) for v in todo.values())
        miss_keys = list(todo)
        self.stats.misses += len(miss_keys)
        for start in range(0, len(miss_keys), batch):
            part = miss_keys[start : start + batch]
            blobs = compute([texts[todo[k][0]] for k in part])
            if len(blobs) != len(part) or not all(valid(b) for b in blobs):
                raise ValueError(f"encoder returned {len(blobs)} invalid or missing results for {len(part)} texts")
            self.put_blobs(fingerprint, part, blobs)
            for k, b in zip(part, blobs):
                for i in todo[k]:
                    out[i] = b
        return out

    def embed(
        self,
        fingerprint: str,
        texts: Sequence[str],
        dim: int,
        compute: Callable[[list[str]], np.ndarray],
        *,
        batch: int = 2048,
    ) -> np.ndarray:
        """Float32 vectors of width ``dim`` for ``texts``, through :meth:`embed_blobs`."""

        def compute_blobs(part: list[str]) -> list[bytes]:
            vecs = np.ascontiguousarray(compute(part), dtype=np.float32)
            if vecs.shape != (len(part), dim):
                raise ValueError(f"encoder returned shape {vecs.shape}, expected {(len(part), dim)}")
            return [v.tobytes() for v in vecs]

        blobs = self.embed_blobs(fingerprint, texts, compute_blobs, valid=lambda b: len(b) == 4 * dim, batch=batch)
        if not blobs:
            return np.zeros((0, dim), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), dim).copy()

    def count(self, fingerprint: str | None = None) -> int:
        """How many vectors the cache holds, for one ``fingerprint`` or in all."""
        with self._lock:
            if fingerprint is None:
                return self._conn.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
            return self._conn.execute("SELECT COUNT(*) FROM emb WHERE fp = ?", (fingerprint,)).fetchone()[0]

    def close(self) -> None:
        """Close the cache's database connection."""
        self._conn.close()


_default: EmbeddingCache | None = None
_default_env: tuple[str | None, str | None, str | None] | None = None
_disabled = 0


@contextmanager
def caching_disabled() -> Iterator[None]:
    """Within this block encoders bypass the cache (for honest latency measurements)."""
    global _disabled
    _disabled += 1
    try:
        yield
    finally:
        _disabled -= 1


def cache_enabled() -> bool:
    """Whether the embedding cache is in use (it is off inside a ``cache_disabled()`` block)."""
    return _disabled == 0


def default_cache() -> EmbeddingCache:
    """The process-wide cache at ``cache_dir()/embeddings.sqlite``."""
    global _default, _default_env
    env = cache_env()  # per query: compared without building paths or touching the disk
    if _default is None or _default_env != env:
        _default, _default_env = EmbeddingCache(), env
    return _default
