"""Learned sparse encoders (SPLADE): ``max_t log(1 + relu(logits_t))`` over a masked-LM's vocabulary.

Formal, Piwowarski, Clinchant, "SPLADE: Sparse Lexical and Expansion Model for First Stage Ranking"
(SIGIR 2021). We max-pool the masked logits first and apply ``log1p(relu(.))`` once per vocabulary
entry: the same result (both are monotonic) for much less work. Vectors are stored as int32 term ids
plus float32 weights (8 bytes per non-zero term).
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .batching import token_budget_batches
from .cache import EmbeddingCache, cache_enabled, default_cache
from .fingerprint import memoised
from .hashing import weight_hash
from .progress import EncodeProgress
from .versions import library_versions

SparseVec = tuple[np.ndarray, np.ndarray]  # (int32 term ids, float32 weights)


def pack(vec: SparseVec) -> bytes:
    """One sparse vector as bytes: its int32 term ids, then its float32 weights."""
    ids, weights = vec
    return np.asarray(ids, dtype=np.int32).tobytes() + np.asarray(weights, dtype=np.float32).tobytes()


def unpack(blob: bytes) -> SparseVec:
    """Inverse of :func:`pack`.

    >>> unpack(pack((np.array([3, 7]), np.array([0.5, 1.5]))))
    (array([3, 7], dtype=int32), array([0.5, 1.5], dtype=float32))
    """
    n = len(blob) // 8
    return np.frombuffer(blob[: 4 * n], dtype=np.int32), np.frombuffer(blob[4 * n :], dtype=np.float32)


class SpladeEncoder:
    """A masked-LM folder (``AutoModelForMaskedLM``) turned into sparse text vectors."""

    role_aware = False

    def __init__(
        self,
        path: str | Path,
        *,
        name: str = "splade",
        model_id: str | None = None,
        max_seq_length: int = 256,
        token_budget: int = 16384,
        max_batch: int = 64,
    ) -> None:
        self.path = Path(path)
        self.name = name
        self.model_id = model_id or str(self.path)
        self.max_seq_length = max_seq_length
        self.token_budget = token_budget
        self.max_batch = max_batch
        self.vocab_size = int(json.loads((self.path / "config.json").read_text())["vocab_size"])
        self._model: Any = None
        self._tok: Any = None

    @property
    def dim(self) -> int:
        """The vocabulary size: the width of the (sparse) vectors."""
        return self.vocab_size

    def config(self) -> dict[str, Any]:
        """What this encoder is (model, weight hash, pooling, max length, vocabulary, versions), as a dense encoder's
        config."""
        return {
            "type": "splade",
            "name": self.name,
            "model": self.model_id,
            "weight_hash": weight_hash(self.path),
            "pooling": "max log1p(relu)",
            "prompts": {},
            "max_seq_length": self.max_seq_length,
            "dim": self.vocab_size,
            "precision": "fp32",
            "versions": library_versions(("torch", "transformers")),
        }

    def fingerprint(self, role: str) -> str:
        """A hash of the config fields that change the vectors: the embedding cache key's model half."""

        def compute() -> str:
            ident = {k: v for k, v in self.config().items() if k not in ("versions", "name")}
            return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()

        return memoised(self, role, compute)

    def _load(self) -> tuple[Any, Any]:
        if self._model is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import transformers
            from transformers import AutoModelForMaskedLM, AutoTokenizer

            transformers.logging.set_verbosity_error()
            transformers.logging.disable_progress_bar()
            self._tok = AutoTokenizer.from_pretrained(str(self.path), local_files_only=True)
            self._model = AutoModelForMaskedLM.from_pretrained(str(self.path), local_files_only=True).eval()
        return self._model, self._tok

    def _compute(self, texts: list[str], show_progress: bool = False) -> list[bytes]:
        import torch

        model, tok = self._load()
        lengths = np.array([len(x) for x in tok(texts, truncation=True, max_length=self.max_seq_length)["input_ids"]])
        out: list[bytes] = [b""] * len(texts)
        with EncodeProgress(len(texts), desc=f"encode {self.name}", enabled=show_progress) as bar:
            for idx in token_budget_batches(lengths, self.token_budget, self.max_batch):
                enc = tok(
                    [texts[i] for i in idx],
                    truncation=True,
                    max_length=self.max_seq_length,
                    padding=True,
                    return_tensors="pt",
                )
                with torch.inference_mode():
                    logits = model(**enc).logits
                    mask = enc["attention_mask"].unsqueeze(-1).bool()
                    pooled = torch.log1p(torch.relu(logits.masked_fill(~mask, -1e4).amax(dim=1)))
                for row, i in zip(pooled.numpy(), idx):
                    nz = np.flatnonzero(row > 0)
                    out[i] = pack((nz.astype(np.int32), row[nz].astype(np.float32)))
                bar.update(len(idx), int(lengths[idx].sum()))
        return out

    def encode(
        self,
        texts: Sequence[str],
        role: str = "document",
        *,
        cache: EmbeddingCache | None | bool = None,
        show_progress: bool = False,
    ) -> list[SparseVec]:
        """Sparse vectors for ``texts`` (queries and documents alike), through the embedding cache unless
        ``cache=False``."""
        if cache is False or not cache_enabled():
            blobs = self._compute(list(texts), show_progress)
        else:
            store = cache if isinstance(cache, EmbeddingCache) else default_cache()
            blobs = store.embed_blobs(
                self.fingerprint(role),
                list(texts),
                lambda part: self._compute(part, show_progress),
                valid=lambda b: len(b) % 8 == 0,
            )
        return [unpack(b) for b in blobs]
