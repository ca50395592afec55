"""The dense-encoder interface: texts in, one L2-normalised float32 vector per text out."""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .cache import EmbeddingCache, cache_enabled, default_cache
from .fingerprint import memoised
from .hashing import weight_hash
from .versions import library_versions

Role = Literal["query", "document"]


def l2_normalise(x: np.ndarray) -> np.ndarray:
    """Rows of ``x`` scaled to unit L2 norm (a zero row stays zero), so that inner product is cosine."""
    norms = np.linalg.norm(x, axis=1, keepdims=True)
    return x / np.maximum(norms, 1e-12)


class DenseEncoder(ABC):
    """A text embedding model.

    Subclasses implement :meth:`_encode` (raw vectors for already-prompted texts) and :meth:`config`.
    This base adds prompts, Matryoshka truncation (``truncate_dim``), L2 normalisation and the shared
    content-hash embedding cache.
    """

    name: str
    prompts: dict[str, str]
    normalize: bool = True
    truncate_dim: int | None = None
    #: the model itself treats queries and documents differently (beyond ``prompts``)
    role_aware: bool = False

    @property
    @abstractmethod
    def native_dim(self) -> int:
        """Width of the model's own output."""

    @property
    def dim(self) -> int:
        """Width of the vectors this encoder returns: ``truncate_dim`` when set, else the model's own."""
        return self.truncate_dim or self.native_dim

    @abstractmethod
    def _encode(self, texts: list[str], *, role: Role = "document", show_progress: bool = False) -> np.ndarray:
        """Raw (un-truncated, un-normalised) vectors for texts that already carry their prompt."""

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """What this encoder is: model, weight hash, pooling, prompts, dims, precision, versions."""

    def _config(
        self,
        kind: str,
        *,
        model: str,
        weights: Path,
        pooling: str,
        precision: str,
        libraries: tuple[str, ...],
        **extra: Any,
    ) -> dict[str, Any]:
        """The fields every dense encoder's config carries, plus ``extra`` (e.g. ``max_seq_length``)."""
        return {
            "type": kind,
            "name": self.name,
            "model": model,
            "weight_hash": weight_hash(weights),
            "pooling": pooling,
            "prompts": self.prompts,
            **extra,
            "dim": self.dim,
            "native_dim": self.native_dim,
            "truncate_dim": self.truncate_dim,
            "normalize": self.normalize,
            "precision": precision,
            "versions": library_versions(libraries),
        }

    def identity(self) -> dict[str, Any]:
        """The config fields that change the vectors (library versions excluded)."""
        cfg = self.config()
        return {k: v for k, v in cfg.items() if k not in ("versions", "name")}

    def fingerprint(self, role: Role) -> str:
        """A hash of everything that changes the ``role``'s vectors: the embedding cache key's model half
        (remembered per role and attribute state, :mod:`embedroute.encoders.fingerprint`)."""
        return memoised(self, role, lambda: self._fingerprint(role))

    def _fingerprint(self, role: Role) -> str:
        ident = self.identity() | {"role_prompt": self.prompts.get(role, "")}
        if self.role_aware:
            ident["role"] = role
        return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()

    def _finish(self, raw: np.ndarray) -> np.ndarray:
        x = np.asarray(raw, dtype=np.float32)
        if self.truncate_dim:
            x = x[:, : self.truncate_dim]
        if self.normalize:
            x = l2_normalise(x)
        return np.ascontiguousarray(x, dtype=np.float32)

    def encode(
        self,
        texts: Sequence[str],
        role: Role = "document",
        *,
        cache: EmbeddingCache | None | Literal[False] = None,
        show_progress: bool = False,
    ) -> np.ndarray:
        """Embed ``texts`` as queries or documents; ``cache=False`` bypasses the embedding cache."""
        prompt = self.prompts.get(role, "")

        def compute(batch: list[str]) -> np.ndarray:
            if not batch:
                return np.zeros((0, self.dim), dtype=np.float32)
            return self._finish(self._encode([prompt + t for t in batch], role=role, show_progress=show_progress))

        if cache is False or not cache_enabled():
            return compute(list(texts))
        store = cache if cache is not None else default_cache()
        return store.embed(self.fingerprint(role), list(texts), self.dim, compute)

    def encode_queries(self, texts: Sequence[str], **kw: Any) -> np.ndarray:
        """Embed ``texts`` as queries (the query prompt, query role)."""
        return self.encode(texts, "query", **kw)

    def encode_documents(self, texts: Sequence[str], **kw: Any) -> np.ndarray:
        """Embed ``texts`` as documents (the document prompt, document role)."""
        return self.encode(texts, "document", **kw)
