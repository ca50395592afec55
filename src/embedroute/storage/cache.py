"""On-disk embedding cache shared by every collection and evaluation.

Keyed by (encoder fingerprint, text hash); the fingerprint covers the weight hash, pooling, prompt,
truncate_dim, max length and precision, so a change to any of them misses the cache. Backed by SQLite
in WAL mode, so several processes can read and write it at once.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from .._paths import cache_dir
from ..encoders.hashing import text_hash
from .sqlite import connect

_CHUNK = 500  # SQLite host-parameter budget per lookup


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
            " PRIMARY KEY (fp, th)) WITHOUT ROWID"
        )
        self._lock = threading.Lock()
        self.stats = CacheStats()

    def get_many(self, fingerprint: str, keys: Sequence[bytes], dim: int) -> dict[bytes, np.ndarray]:
        found: dict[bytes, np.ndarray] = {}
        unique = list(dict.fromkeys(keys))
        with self._lock:
            for i in range(0, len(unique), _CHUNK):
                part = unique[i : i + _CHUNK]
                marks = ",".join("?" * len(part))
                rows = self._conn.execute(
                    f"SELECT th, vec FROM emb WHERE fp = ? AND th IN ({marks})", (fingerprint, *part)
                ).fetchall()
                for th, blob in rows:
                    vec = np.frombuffer(blob, dtype=np.float32)
                    if vec.shape[0] == dim:
                        found[bytes(th)] = vec
        return found

    def put_many(self, fingerprint: str, keys: Sequence[bytes], vectors: np.ndarray) -> None:
        vectors = np.ascontiguousarray(vectors, dtype=np.float32)
        rows = [(fingerprint, k, vectors[i].tobytes()) for i, k in enumerate(keys)]
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                self._conn.executemany("INSERT OR REPLACE INTO emb (fp, th, vec) VALUES (?, ?, ?)", rows)
                self._conn.execute("COMMIT")
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise

    def embed(
        self,
        fingerprint: str,
        texts: Sequence[str],
        dim: int,
        compute: Callable[[list[str]], np.ndarray],
        *,
        batch: int = 2048,
    ) -> np.ndarray:
        """Vectors for ``texts``: cached ones read back, the rest computed by ``compute`` and stored.

        Misses are computed and stored in chunks of ``batch`` texts, so an interrupted run keeps what
        it finished.
        """
        keys = [text_hash(t) for t in texts]
        found = self.get_many(fingerprint, keys, dim)
        out = np.empty((len(texts), dim), dtype=np.float32)
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
            vecs = np.asarray(compute([texts[todo[k][0]] for k in part]), dtype=np.float32)
            if vecs.shape != (len(part), dim):
                raise ValueError(f"encoder returned shape {vecs.shape}, expected {(len(part), dim)}")
            self.put_many(fingerprint, part, vecs)
            for j, k in enumerate(part):
                out[todo[k]] = vecs[j]
        return out

    def count(self, fingerprint: str | None = None) -> int:
        with self._lock:
            if fingerprint is None:
                return self._conn.execute("SELECT COUNT(*) FROM emb").fetchone()[0]
            return self._conn.execute("SELECT COUNT(*) FROM emb WHERE fp = ?", (fingerprint,)).fetchone()[0]

    def close(self) -> None:
        self._conn.close()


_default: EmbeddingCache | None = None


def default_cache() -> EmbeddingCache:
    """The process-wide cache at ``cache_dir()/embeddings.sqlite``."""
    global _default
    if _default is None or _default.path != cache_dir() / "embeddings.sqlite":
        _default = EmbeddingCache()
    return _default
