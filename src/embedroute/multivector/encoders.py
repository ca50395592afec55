"""Token-level encoders: one L2-normalised vector per token for queries and documents.

``MultiVectorModel`` loads a ColBERT-style model saved by sentence-transformers' ``MultiVectorEncoder``
(for instance the one ``benchmarks/train_colbert.py`` trains); ``RawTokens`` takes the last hidden
states of any sentence-transformers model (optionally through a fixed, seeded random projection).
Token matrices go through the embedding cache as float16 blobs, so nothing is encoded twice.
"""

from __future__ import annotations

import hashlib
import json
from abc import ABC, abstractmethod
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np
from typing_extensions import override

from ..encoders.cache import cache_enabled, default_cache
from ..encoders.fingerprint import memoised
from ..encoders.hashing import weight_hash
from ..encoders.versions import library_versions
from ..errors import ModelNotAvailableError

Role = Literal["query", "document"]


def _normalise(m: np.ndarray) -> np.ndarray:
    return m / np.maximum(np.linalg.norm(m, axis=1, keepdims=True), 1e-12)


class TokenEncoder(ABC):
    """One L2-normalised vector per token for queries and documents, through the embedding cache as float16 blobs."""

    name: str
    dim: int

    @abstractmethod
    def config(self) -> dict[str, Any]:
        """What this encoder is (model, weight hash, dims, lengths, versions): the cache key's source."""

    @abstractmethod
    def _encode(self, texts: list[str], role: Role, show_progress: bool) -> list[np.ndarray]: ...

    def fingerprint(self, role: Role) -> str:
        """A hash of the config fields that change the ``role``'s token vectors: the embedding cache key's model
        half."""

        def compute() -> str:
            ident = {k: v for k, v in self.config().items() if k not in ("versions", "name")} | {"role": role}
            return hashlib.sha256(json.dumps(ident, sort_keys=True).encode()).hexdigest()

        return memoised(self, role, compute)

    def encode(
        self, texts: Sequence[str], role: Role = "document", *, show_progress: bool = False, cache: bool = True
    ) -> list[np.ndarray]:
        """Per text, a float32 ``(n_tokens, dim)`` matrix of unit vectors."""
        texts = list(texts)

        def compute(part: list[str]) -> list[bytes]:
            mats = self._encode(part, role, show_progress)
            return [np.ascontiguousarray(m, dtype=np.float16).tobytes() for m in mats]

        width = 2 * self.dim
        if not cache or not cache_enabled():
            blobs = compute(texts)
        else:
            blobs = default_cache().embed_blobs(
                self.fingerprint(role), texts, compute, valid=lambda b: len(b) > 0 and len(b) % width == 0
            )
        return [np.frombuffer(b, dtype=np.float16).reshape(-1, self.dim).astype(np.float32) for b in blobs]

    def encode_queries(self, texts: Sequence[str], **kw: Any) -> list[np.ndarray]:
        """One token matrix per text, encoded as queries."""
        return self.encode(texts, "query", **kw)

    def encode_documents(self, texts: Sequence[str], **kw: Any) -> list[np.ndarray]:
        """One token matrix per text, encoded as documents."""
        return self.encode(texts, "document", **kw)


class MultiVectorModel(TokenEncoder):
    """A saved ``MultiVectorEncoder`` folder (local files only)."""

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        batch_size: int = 32,
        query_len: int = 32,
        doc_len: int = 256,
    ) -> None:
        self.path = Path(path)
        if not (self.path / "modules.json").exists():
            raise ModelNotAvailableError(f"no multi-vector model at {self.path}")
        from sentence_transformers import MultiVectorEncoder

        self.model = MultiVectorEncoder(str(self.path), device="cpu", local_files_only=True)
        self.model.eval()
        self.name = name or self.path.name
        self.batch_size = batch_size
        self.query_len, self.doc_len = query_len, doc_len
        first: Any = self.model[0]
        first.query_length, first.document_length = query_len, doc_len
        self.dim = _dimension(self.model, self.path)
        meta = self.path / "embedroute.json"
        self.meta = json.loads(meta.read_text()) if meta.exists() else {}

    @override
    def config(self) -> dict[str, Any]:
        return {
            "type": "multivector",
            "name": self.name,
            "model": str(self.path),
            "weight_hash": weight_hash(self.path),
            "dim": self.dim,
            "query_len": self.query_len,
            "doc_len": self.doc_len,
            "training": self.meta.get("training"),
            "versions": library_versions(("torch", "sentence-transformers")),
        }

    def _encode(self, texts: list[str], role: Role, show_progress: bool) -> list[np.ndarray]:
        import torch

        fn = self.model.encode_query if role == "query" else self.model.encode_document
        with torch.inference_mode():
            out = fn(texts, batch_size=self.batch_size, show_progress_bar=show_progress, convert_to_numpy=False)
        return [_normalise(np.asarray(t.float().numpy(), dtype=np.float32)) for t in out]


class RawTokens(TokenEncoder):
    """Last hidden states of a sentence-transformers model, one per (non-padding) token."""

    def __init__(
        self,
        path: str | Path,
        *,
        name: str,
        project_to: int | None = None,
        seed: int = 0,
        max_seq_length: int = 256,
        batch_size: int = 32,
    ) -> None:
        from sentence_transformers import SentenceTransformer

        self.path = Path(path)
        self.model = SentenceTransformer(str(self.path), device="cpu", local_files_only=True)
        self.model.max_seq_length = max_seq_length
        self.name, self.batch_size, self.seed = name, batch_size, seed
        native = _dimension(self.model, self.path)
        self.project_to = project_to
        self.dim = project_to or native
        self._proj = None
        if project_to:
            g = np.random.default_rng(seed).standard_normal((native, project_to)).astype(np.float32)
            self._proj = g / np.sqrt(project_to)

    @override
    def config(self) -> dict[str, Any]:
        return {
            "type": "raw-tokens",
            "name": self.name,
            "model": str(self.path),
            "weight_hash": weight_hash(self.path),
            "dim": self.dim,
            "project_to": self.project_to,
            "seed": self.seed,
            "max_seq_length": self.model.max_seq_length,
            "versions": library_versions(("torch", "sentence-transformers")),
        }

    def _encode(self, texts: list[str], role: Role, show_progress: bool) -> list[np.ndarray]:
        import torch

        with torch.inference_mode():
            out = self.model.encode(
                texts,
                batch_size=self.batch_size,
                output_value="token_embeddings",
                show_progress_bar=show_progress,
                convert_to_numpy=False,
            )
        mats = [np.asarray(t.float().numpy(), dtype=np.float32) for t in out]
        return [_normalise(m @ self._proj if self._proj is not None else m) for m in mats]


def _dimension(model: Any, path: Path) -> int:
    """The embedding dimension a sentence-transformers model declares (a model that declares none is not one
    of ours)."""
    dim = model.get_embedding_dimension()
    if dim is None:
        raise ModelNotAvailableError(f"the model at {path} declares no embedding dimension")
    return int(dim)
