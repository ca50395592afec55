"""Dense expert: an encoder plus a vector index (``index``: flat, compressed or HNSW) over the stored vectors."""

from __future__ import annotations

import json
import logging
import os
import threading
import time
import zlib
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import override

from ..encoders.base import DenseEncoder
from ..errors import InputError
from ..index.base import VectorIndex
from ..index.factory import make_index
from ..index.planner import Thresholds, calibrate, choose
from .base import Expert, SearchBatch, encode_then_search
from .saved_folder import built_for

log = logging.getLogger("embedroute.experts")


class DenseExpert(Expert):
    """An encoder with its own document vectors, or (``documents_from``) a query-side expert that
    searches another dense expert's document vectors with its own query encoder — the shape of
    RouterRetriever's LoRA experts, which change only the query encoder (arXiv 2409.02685)."""

    kind = "dense"
    stores_vectors = True
    thresholds: Thresholds

    def __init__(
        self,
        encoder: DenseEncoder,
        *,
        name: str | None = None,
        source: str | None = None,
        options: dict[str, Any] | None = None,
        index: str = "flat",
        rescore: int = 0,
        documents_from: str | None = None,
    ) -> None:
        self.encoder = encoder
        self.documents_from = documents_from
        self.stores_vectors = documents_from is None
        self.name = name or encoder.name
        self.source = source or self.name
        self.options = dict(options or {})
        self.dim = encoder.dim
        self.index_kind = index
        self.rescore = rescore
        self.thresholds = Thresholds()
        self._unsaved = True
        self._index: VectorIndex = make_index(index, self.dim, rescore)
        # query vectors by text while some caller shares query passes (sharing_query_passes), else empty
        self._shared: dict[str, np.ndarray] = {}
        self._sharers = 0
        self._sharing_lock = threading.Lock()

    @override
    def config(self) -> dict[str, Any]:
        cfg = {"kind": self.kind, "encoder": self.encoder.config(), "index": self._index.config()}
        if self.documents_from:
            cfg["documents_from"] = self.documents_from
        return cfg

    @override
    def index_config(self) -> dict[str, Any]:
        return self._index.config()

    @property
    @override
    def normalizes_vectors(self) -> bool:
        return self.encoder.normalize

    def encode_queries(self, texts: Sequence[str]) -> np.ndarray:
        """Query vectors from this expert's encoder: a dense expert is a
        :class:`~embedroute.experts.base.QueryEncoder`, which is how routing embeds queries with one. Inside
        :meth:`sharing_query_passes` a text embedded before in the block is not embedded again."""
        if not self._sharers:
            return self.encoder.encode_queries(texts)
        missing = [t for t in dict.fromkeys(texts) if t not in self._shared]
        if missing:
            self._shared.update(zip(missing, np.asarray(self.encoder.encode_queries(missing))))
        return np.vstack([self._shared[t] for t in texts])

    @override
    @contextmanager
    def sharing_query_passes(self) -> Iterator[None]:
        with self._sharing_lock:
            self._sharers += 1
        try:
            yield
        finally:
            with self._sharing_lock:
                self._sharers -= 1
                if not self._sharers:  # the last sharer out forgets the vectors
                    self._shared.clear()

    @override
    def embed_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> np.ndarray:
        return self.encoder.encode_documents(texts, show_progress=show_progress)

    @override
    def to_blobs(self, reps: np.ndarray) -> list[bytes]:
        reps = np.ascontiguousarray(reps, dtype=np.float32)
        return [row.tobytes() for row in reps]

    @override
    def from_blobs(self, blobs: Sequence[bytes]) -> np.ndarray:
        if not blobs:
            return np.zeros((0, self.dim), dtype=np.float32)
        return np.frombuffer(b"".join(blobs), dtype=np.float32).reshape(len(blobs), self.dim)

    @override
    def check_blob(self, blob: bytes) -> str | None:
        if len(blob) != 4 * self.dim:
            return "wrong dimension"
        if not np.isfinite(np.frombuffer(blob, dtype=np.float32)).all():
            return "NaN/inf"
        return None

    @override
    def load(self, ids: np.ndarray, texts: Sequence[str], vectors: np.ndarray | None) -> None:
        self._index = make_index(self.index_kind, self.dim, self.rescore)
        self.add(ids, texts, vectors)

    # -- a built ANN index kept beside the collection ---------------------------------------------
    # ``NAME.json`` records the store generation, count, index config and CRC32s of ``NAME.faiss`` and
    # ``NAME.ids.npy``; it is written last and removed first, so it vouches for a complete, unaltered set.
    # Anything stale, missing, damaged or altered is rebuilt from the store (and saved again on close).
    def _files(self, folder: Path) -> tuple[Path, Path]:
        return folder / f"{self.name}.faiss", folder / f"{self.name}.json"

    def _saved_meta(
        self, meta_path: Path, generation: int, count: int, config: dict[str, Any]
    ) -> dict[str, Any] | None:
        """The saved index's metadata when it matches this generation, count and config, else None."""
        try:
            meta = json.loads(meta_path.read_text())
            if not isinstance(meta, dict):
                raise ValueError("not a JSON object")
        except (OSError, ValueError) as exc:
            log.warning(
                "index metadata %s of expert %r is unreadable (%s); rebuilding the index from the store",
                meta_path.name,
                self.name,
                exc,
            )
            return None
        if not isinstance(meta.get("crc32"), int):
            return None  # saved before checksums were kept: rebuilt once
        if meta.get("generation") != generation or meta.get("count") != count or meta.get("config") != config:
            return None
        if meta.get("expert") != self._saved_spec():
            return None  # built for another expert of this name (removed, then added with another model)
        return meta

    def _saved_spec(self) -> dict[str, Any]:
        """What made this expert's saved index (:func:`~embedroute.experts.saved_folder.built_for`): an
        expert removed and added again under its name with another model, or the same model folder with
        other weights, must not open the old one's index."""
        return built_for(self.spec(), self.encoder.config())

    def _read_checked(self, blob_path: Path, meta: dict[str, Any]) -> bytes:
        blob = blob_path.read_bytes()
        if zlib.crc32(blob) != meta["crc32"]:
            raise ValueError(f"{blob_path.name} does not match its checksum")
        return blob

    def load_persisted(self, ids: np.ndarray, vectors: np.ndarray, folder: Path, generation: int) -> bool:
        """Load a saved index if it was built at this store generation; else build it. True if loaded."""
        blob_path, meta_path = self._files(folder)
        fresh = make_index(self.index_kind, self.dim, self.rescore)
        meta = None
        if fresh.persist and meta_path.exists() and blob_path.exists():
            meta = self._saved_meta(meta_path, generation, len(ids), fresh.config())
        if meta is not None:
            try:
                fresh.restore(self._read_checked(blob_path, meta), ids, vectors)
                self._index = fresh
                self._unsaved = False
                return True
            except (ValueError, RuntimeError, OSError) as exc:
                log.warning("saved index of expert %r is damaged (%s); rebuilding it from the store", self.name, exc)
        self.load(ids, [], vectors)
        return False

    def open_persisted(self, folder: Path, generation: int, count: int) -> bool:
        """Open a saved index and memory-map its full-precision vectors, without reading the store.

        True only for indexes that keep their vectors beside them (``vectors_beside``), when the saved
        copy was built at this store ``generation`` over ``count`` vectors with this expert's index
        config and its index and ids match their checksums; rescoring then reads just the candidate rows
        from disk. An HNSW graph is saved without its vectors: it is restored over the store's
        (:meth:`load_persisted`), so this is False for it.
        """
        blob_path, meta_path = self._files(folder)
        vec_path, ids_path = folder / f"{self.name}.vectors.npy", folder / f"{self.name}.ids.npy"
        fresh = make_index(self.index_kind, self.dim, self.rescore)
        if not (
            fresh.persist
            and fresh.vectors_beside
            and meta_path.exists()
            and blob_path.exists()
            and vec_path.exists()
            and ids_path.exists()
        ):
            return False
        meta = self._saved_meta(meta_path, generation, count, fresh.config())
        if meta is None:
            return False
        try:
            ids = np.load(ids_path)
            if ids.dtype != np.int64 or ids.shape != (count,) or zlib.crc32(ids.tobytes()) != meta.get("ids_crc32"):
                raise ValueError(f"{ids_path.name} does not match its checksum")
            vectors = np.load(vec_path, mmap_mode="r")
            if vectors.shape != (count, self.dim) or vectors.dtype != np.float32:
                raise ValueError(f"{vec_path.name} holds {vectors.dtype} {vectors.shape}, not {count} x {self.dim}")
            fresh.restore(self._read_checked(blob_path, meta), ids, vectors)
        except (ValueError, RuntimeError, OSError, EOFError) as exc:
            log.warning("saved index of expert %r is damaged (%s); rebuilding it from the store", self.name, exc)
            with suppress(OSError):  # the saved set is no longer vouched for: rebuilt and saved whole
                meta_path.unlink(missing_ok=True)
            return False  # the caller rebuilds from the store
        self._index = fresh
        self._unsaved = False
        return True

    def save_persisted(self, folder: Path, generation: int) -> None:
        """Save the built index beside the collection. It is a cache of the store: a folder that cannot
        take it (read-only, full disk) costs a rebuild at the next open, never an error."""
        if not self._index.persist or not self._unsaved:
            return
        blob_path, meta_path = self._files(folder)
        if len(self._index) == 0:  # nothing to keep: a saved copy of an earlier state must not vouch for it
            with suppress(OSError):
                meta_path.unlink(missing_ok=True)
            self._unsaved = False
            return
        tmps: list[Path] = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            meta_path.unlink(missing_ok=True)  # until the new set is complete, nothing vouches for the files
            kept = self._index.full_vectors()
            ids = None
            if kept is None:  # the index holds its vectors: an older set's copies beside it go
                for name in ("vectors", "ids"):
                    (folder / f"{self.name}.{name}.npy").unlink(missing_ok=True)
            else:  # full-precision vectors beside the index, memory-mapped when reopened
                ids, full = np.ascontiguousarray(kept[0], dtype=np.int64), np.asarray(kept[1], dtype=np.float32)
                for name, arr in (("vectors", full), ("ids", ids)):
                    tmps.append(folder / f"{self.name}.{name}.{os.getpid()}.tmp.npy")
                    np.save(tmps[-1], arr)
                    os.replace(tmps[-1], folder / f"{self.name}.{name}.npy")
            blob = self._index.dump()
            tmps.append(blob_path.with_suffix(f".{os.getpid()}.tmp"))
            tmps[-1].write_bytes(blob)
            os.replace(tmps[-1], blob_path)
            meta = {
                "generation": generation,
                "count": len(self._index),
                "config": self._index.config(),
                "expert": self._saved_spec(),
                "crc32": zlib.crc32(blob),
            }
            if ids is not None:
                meta["ids_crc32"] = zlib.crc32(ids.tobytes())
            tmps.append(meta_path.with_suffix(f".{os.getpid()}.tmp"))
            tmps[-1].write_text(json.dumps(meta, indent=2))
            os.replace(tmps[-1], meta_path)
        except OSError as exc:
            for t in tmps:
                t.unlink(missing_ok=True)
            log.warning(
                "could not save the index of expert %r (%s); it is rebuilt from the store at the next open",
                self.name,
                exc.strerror or exc,
            )
            return
        self._unsaved = False

    @override
    def add(self, ids: np.ndarray, texts: Sequence[str], vectors: np.ndarray | None) -> None:
        if vectors is None:
            raise ValueError(f"dense expert {self.name!r} needs vectors")
        self._index.add(ids, vectors)
        self._unsaved = True

    @override
    def remove(self, ids: np.ndarray) -> None:
        self._index.remove(ids)
        self._unsaved = True

    @override
    def compact(self) -> int:
        dropped = self._index.compact()
        if dropped:
            self._unsaved = True
        return dropped

    def __len__(self) -> int:
        return len(self._index)

    @override
    def index_recall(self, k: int = 10, sample: int = 100) -> float:
        return self._index.recall_at(k, sample)

    def calibrate_planner(self, *, k: int = 10, queries: int = 50, seed: int = 0) -> Thresholds:
        """Time the plans on ``queries`` of the loaded index's own vectors (no store read), at allowed-set
        sizes up to the number held, and keep the measured thresholds."""
        if len(self) < 2 * k:
            raise InputError(
                f"expert {self.name!r} holds {len(self)} vectors; calibration needs at least {2 * k}", field="expert"
            )
        ids = self._index._all_ids()
        pick = np.sort(np.random.default_rng(seed).choice(ids, size=min(queries, len(ids)), replace=False))
        qv = self._index.vectors_of(pick)
        sizes = tuple(s for s in (1000, 10000, 50000) if s <= len(self)) or (len(self) // 2,)
        self.thresholds = calibrate(self._index, qv, k=k, sizes=sizes, seed=seed)
        return self.thresholds

    @contextmanager
    def rescoring(self, multiplier: int | None) -> Iterator[None]:
        """Within the block, rescore a compressed index's top ``k x multiplier`` candidates with the
        full-precision vectors (0: no rescoring); ``None`` or an exact index leaves things as they are.
        Not thread-safe: callers serialise searches of one expert (the server holds a lock)."""
        if multiplier is None or not self._index.rescorable:
            yield
            return
        before = self._index.rescore
        self._index.rescore = int(multiplier)
        try:
            yield
        finally:
            self._index.rescore = before

    @override
    def search(
        self, queries: Sequence[str], k: int, *, allowed: np.ndarray | None = None, estimate: float | None = None
    ) -> SearchBatch:
        return encode_then_search(self, self.search_vectors, queries, k, allowed=allowed, estimate=estimate)

    def search_vectors(
        self, query_vectors: np.ndarray, k: int, *, allowed: np.ndarray | None = None, estimate: float | None = None
    ) -> SearchBatch:
        """:meth:`search` for queries already encoded (``query_vectors``, one row per query); with
        ``allowed``, the planner picks how the filtered search runs and the batch carries its plan."""
        t0 = time.perf_counter()
        plan = None
        if allowed is None:
            scores, ids = self._index.search(query_vectors, k)
        else:
            p = choose(
                len(self._index),
                len(allowed),
                estimate if estimate is not None else len(allowed) / max(len(self._index), 1),
                k,
                index_kind=self._index.kind,
                thresholds=self.thresholds,
                ef_search=self._index.ef_search,
            )
            scores, ids = self._index.search_filtered(query_vectors, k, allowed, p)
            plan = p
        ms = (time.perf_counter() - t0) * 1000
        keep = [row >= 0 for row in ids]
        return SearchBatch([i[m] for i, m in zip(ids, keep)], [s[m] for s, m in zip(scores, keep)], 0.0, ms, plan)
