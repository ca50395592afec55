"""Multi-vector expert: per-token document vectors stored with the collection, MUVERA FDEs in one of
the engine's vector indexes for candidates, exact MaxSim to rerank them (arXiv 2405.19504, Section 3).

Options: ``fde`` (FDE parameters), ``candidates`` (how many FDE neighbours are reranked, default 100),
``index`` (any engine index over the FDEs: ``flat``, ``fp16``, ``int8``, ``hnsw``, ...), ``mode``
(``fde-rerank``; ``exact`` = exhaustive MaxSim, the ground truth; ``fde`` = FDE scores alone),
``carve`` (query ball-carving threshold before the rerank, e.g. 0.7) and ``prune`` (k-means token
pruning factor applied to documents as they are loaded).

The document FDEs and their built index are saved beside the collection (``indexes/NAME.fde*``) and
reused while the store generation, document count and the expert's config match, so an open does not
re-encode every document's FDE or rebuild an HNSW graph; the token vectors come from the store.
"""

from __future__ import annotations

import json
import logging
import os
import time
import zlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import override

from ..errors import InputError
from ..index.factory import make_index
from ..index.planner import Plan, choose
from ..multivector.carving import ball_carve
from ..multivector.encoders import TokenEncoder
from ..multivector.fde import FDE, FDEParams
from ..multivector.maxsim import maxsim
from ..multivector.pruning import prune_document
from ..multivector.tokens import TokenVectors
from .base import Expert, SearchBatch, encode_then_search

MODES = ("fde-rerank", "exact", "fde")
log = logging.getLogger("embedroute.experts")


class MultiVectorExpert(Expert):
    """Per-token document vectors searched through MUVERA FDE candidates reranked by exact MaxSim (Dhulipala et al.,
    NeurIPS 2024); the options are in the module docstring."""

    kind = "multivector"
    stores_vectors = True

    def __init__(
        self,
        encoder: TokenEncoder,
        *,
        name: str | None = None,
        source: str | None = None,
        options: dict[str, Any] | None = None,
        fde: dict[str, Any] | None = None,
        candidates: int = 100,
        index: str = "flat",
        mode: str = "fde-rerank",
        carve: float | None = None,
        prune: float | None = None,
    ) -> None:
        if mode not in MODES:
            raise InputError(f"unknown multi-vector mode {mode!r}; use one of {', '.join(MODES)}", field="mode")
        if candidates < 1:
            raise InputError("candidates must be at least 1", field="candidates")
        self.encoder = encoder
        self.name = name or encoder.name
        self.source = source or encoder.name
        self.options = dict(options or {})
        self.dim = encoder.dim
        self.fde = FDE(encoder.dim, FDEParams(**(fde or {})))
        self.candidates, self.index_kind, self.mode = candidates, index, mode
        self.carve, self.prune = carve, prune
        self._reset()

    def _reset(self) -> None:
        self._rids = np.zeros(0, dtype=np.int64)
        self._tokens = TokenVectors.from_list([], self.dim)
        self._index = make_index(self.index_kind, self.fde.params.dim)
        self._order: np.ndarray | None = None
        self._unsaved = True

    @override
    def config(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "encoder": self.encoder.config(),
            "fde": self.fde.config(),
            "candidates": self.candidates,
            "index": self._index.config(),
            "mode": self.mode,
            "carve": self.carve,
            "prune": self.prune,
            "token_storage": "float16",
        }

    @override
    def index_config(self) -> dict[str, Any]:
        return self._index.config()

    # -- stored representation: a float16 (n_tokens, dim) matrix per document ---------------------
    @override
    def embed_documents(self, texts: Sequence[str], *, show_progress: bool = False) -> list[np.ndarray]:
        return self.encoder.encode_documents(texts, show_progress=show_progress)

    @override
    def to_blobs(self, reps: list[np.ndarray]) -> list[bytes]:
        return [np.ascontiguousarray(m, dtype=np.float16).tobytes() for m in reps]

    @override
    def from_blobs(self, blobs: Sequence[bytes]) -> list[np.ndarray]:
        return [np.frombuffer(b, dtype=np.float16).reshape(-1, self.dim) for b in blobs]

    @override
    def check_blob(self, blob: bytes) -> str | None:
        if not blob or len(blob) % (2 * self.dim):
            return f"token blob of {len(blob)} bytes is not a whole number of {self.dim}-d float16 vectors"
        if not np.isfinite(np.frombuffer(blob, dtype=np.float16)).all():
            return "token blob holds NaN or infinity"
        return None

    # -- search structure -------------------------------------------------------------------------
    def _prepared(self, reps: list[np.ndarray]) -> list[np.ndarray]:
        if not self.prune:
            return [np.asarray(m, dtype=np.float16) for m in reps]
        return [prune_document(np.asarray(m, dtype=np.float32), self.prune).astype(np.float16) for m in reps]

    @override
    def load(self, ids: np.ndarray, texts: Sequence[str], reps: list[np.ndarray] | None) -> None:
        self._reset()
        self.add(ids, texts, reps)
        self._unsaved = True

    # -- the FDEs and their index, saved beside the collection ---------------------------------------
    def _paths(self, folder: Path) -> dict[str, Path]:
        return {
            k: folder / f"{self.name}.fde{suffix}"
            for k, suffix in (("vectors", ".npy"), ("ids", "-ids.npy"), ("index", ".faiss"), ("meta", ".json"))
        }

    def load_persisted(self, ids: np.ndarray, reps: list[np.ndarray], folder: Path, generation: int) -> bool:
        """Tokens from the store; FDEs and index from the saved copy when it matches, else built. True if
        the saved copy was used."""
        self._reset()
        paths = self._paths(folder)
        try:
            meta = json.loads(paths["meta"].read_text())
            if not isinstance(meta, dict):
                raise ValueError("metadata is not a JSON object")
            if (
                meta.get("generation") != generation
                or meta.get("count") != len(ids)
                or meta.get("config") != self.config()
            ):
                raise LookupError("stale")
            saved_ids = np.load(paths["ids"])
            if zlib.crc32(saved_ids.tobytes()) != meta["ids_crc32"] or not np.array_equal(
                np.sort(saved_ids), np.asarray(ids, dtype=np.int64)
            ):
                raise ValueError("ids do not match the store")
            fdes = np.load(paths["vectors"], mmap_mode="r")
            if fdes.shape != (len(ids), self.fde.params.dim) or fdes.dtype != np.float32:
                raise ValueError(f"FDE file holds {fdes.dtype} {fdes.shape}")
            index = make_index(self.index_kind, self.fde.params.dim)
            if index.persist:
                blob = paths["index"].read_bytes()
                if zlib.crc32(blob) != meta["index_crc32"]:
                    raise ValueError("index file does not match its checksum")
                index.restore(blob, saved_ids, fdes)
            else:
                index.add(saved_ids, np.asarray(fdes))
        except (OSError, ValueError, KeyError, LookupError, RuntimeError, EOFError) as exc:
            if not isinstance(exc, (FileNotFoundError, LookupError)):
                log.warning("saved FDE index of expert %r is unusable (%s); rebuilding it", self.name, exc)
            self.load(ids, [], reps)
            return False
        self._index = index
        self._tokens = TokenVectors.from_list(self._prepared(list(reps)), self.dim)
        self._rids = np.asarray(ids, dtype=np.int64)
        self._unsaved = False
        return True

    def save_persisted(self, folder: Path, generation: int) -> None:
        """Save the FDEs (and the index, when its kind keeps a built copy); a folder that cannot take them
        costs a rebuild at the next open, never an error. The metadata is written last."""
        if not self._unsaved or len(self) == 0:
            return
        paths = self._paths(folder)
        ids = np.ascontiguousarray(self._index._all_ids(), dtype=np.int64)
        tmps: list[Path] = []
        try:
            folder.mkdir(parents=True, exist_ok=True)
            paths["meta"].unlink(missing_ok=True)
            meta = {
                "generation": generation,
                "count": len(self),
                "config": self.config(),
                "ids_crc32": zlib.crc32(ids.tobytes()),
            }
            for key, arr in (("vectors", np.asarray(self._index.vectors_of(ids), dtype=np.float32)), ("ids", ids)):
                tmps.append(paths[key].with_suffix(f".{os.getpid()}.tmp.npy"))
                np.save(tmps[-1], arr)
                os.replace(tmps[-1], paths[key])
            if self._index.persist:
                blob = self._index.dump()
                meta["index_crc32"] = zlib.crc32(blob)
                tmps.append(paths["index"].with_suffix(f".{os.getpid()}.tmp"))
                tmps[-1].write_bytes(blob)
                os.replace(tmps[-1], paths["index"])
            tmps.append(paths["meta"].with_suffix(f".{os.getpid()}.tmp"))
            tmps[-1].write_text(json.dumps(meta, indent=1))
            os.replace(tmps[-1], paths["meta"])
        except OSError as exc:
            for t in tmps:
                t.unlink(missing_ok=True)
            log.warning("could not save the FDE index of expert %r (%s)", self.name, exc.strerror or exc)
            return
        self._unsaved = False

    @override
    def add(self, ids: np.ndarray, texts: Sequence[str], reps: list[np.ndarray] | None) -> None:
        if reps is None or len(ids) == 0:
            return
        new = TokenVectors.from_list(self._prepared(list(reps)), self.dim)
        self._index.add(np.asarray(ids, dtype=np.int64), self.fde.encode_documents(new.float32()))
        self._tokens = self._tokens.concat(new)
        self._rids = np.concatenate([self._rids, np.asarray(ids, dtype=np.int64)])
        self._order = None
        self._unsaved = True

    @override
    def remove(self, ids: np.ndarray) -> None:
        keep = ~np.isin(self._rids, ids)
        self._index.remove(np.asarray(ids, dtype=np.int64))
        self._tokens = self._tokens.keep(keep)
        self._rids = self._rids[keep]
        self._order = None
        self._unsaved = True

    @override
    def compact(self) -> int:
        """The FDE index without its tombstones (an HNSW graph over the FDEs keeps deleted nodes)."""
        dropped = self._index.compact()
        if dropped:
            self._unsaved = True
        return dropped

    def __len__(self) -> int:
        return len(self._rids)

    def _rows(self, rids: np.ndarray) -> np.ndarray:
        """Positions in the token store of the row ids ``rids`` (one cached argsort between writes)."""
        if self._order is None:
            self._order = np.argsort(self._rids, kind="stable")
        return self._order[np.searchsorted(self._rids, rids, sorter=self._order)]

    # -- search -----------------------------------------------------------------------------------
    @override
    def search(
        self, queries: Sequence[str], k: int, *, allowed: np.ndarray | None = None, estimate: float | None = None
    ) -> SearchBatch:
        return encode_then_search(self.encoder, self.search_tokens, queries, k, allowed=allowed, estimate=estimate)

    def search_tokens(
        self,
        qtoks: list[np.ndarray],
        k: int,
        *,
        allowed: np.ndarray | None = None,
        estimate: float | None = None,
        candidates: int | None = None,
    ) -> SearchBatch:
        """Search with query token matrices already encoded (benchmarks time the parts separately)."""
        t0 = time.perf_counter()
        n_cand = max(k, candidates or self.candidates)
        out_ids, out_scores = [], []
        plan: Plan | None = None
        if len(self) == 0:
            empty = np.zeros(0, dtype=np.int64)
            return SearchBatch([empty for _ in qtoks], [np.zeros(0, np.float32) for _ in qtoks], 0.0, 0.0)
        if self.mode != "exact":
            qf = self.fde.encode_queries(qtoks)
            if allowed is None:
                fscores, fids = self._index.search(qf, n_cand if self.mode == "fde-rerank" else k)
            else:
                p = choose(
                    len(self),
                    len(allowed),
                    estimate if estimate is not None else len(allowed) / len(self),
                    n_cand,
                    index_kind=self._index.kind,
                )
                fscores, fids = self._index.search_filtered(qf, n_cand, allowed, p)
                plan = p
        for qi, q in enumerate(qtoks):
            if self.mode == "fde":
                keep = fids[qi] >= 0
                out_ids.append(fids[qi][keep][:k])
                out_scores.append(fscores[qi][keep][:k].astype(np.float32))
                continue
            if self.mode == "exact":
                rows = np.arange(len(self)) if allowed is None else self._rows(allowed)
            else:
                rows = self._rows(fids[qi][fids[qi] >= 0])
            qq = ball_carve(q, self.carve) if self.carve else q
            scores = maxsim(qq, self._tokens, rows)
            top = np.argsort(-scores, kind="stable")[:k]
            out_ids.append(self._rids[rows[top]])
            out_scores.append(scores[top].astype(np.float32))
        ms = (time.perf_counter() - t0) * 1000
        if plan is None and allowed is not None:
            plan = Plan("exact-allowed", estimate, len(allowed), candidates=len(allowed))
        return SearchBatch(out_ids, out_scores, 0.0, ms, plan)
