"""Static (model2vec) encoders: a token-embedding table, mean-pooled; thousands of texts per second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from .base import DenseEncoder
from .hashing import weight_hash
from .progress import EncodeProgress
from .versions import library_versions


class StaticEncoder(DenseEncoder):
    def __init__(self, path: str | Path, *, name: str | None = None, model_id: str | None = None,
                 prompts: dict[str, str] | None = None, normalize: bool = True,
                 truncate_dim: int | None = None, max_seq_length: int = 512) -> None:
        self.path = Path(path)
        if not self.path.is_dir():
            raise FileNotFoundError(f"model folder not found: {self.path}")
        self.name = name or self.path.name
        self.model_id = model_id or str(self.path)
        self.prompts = dict(prompts or {})
        self.normalize = normalize
        self.truncate_dim = truncate_dim
        self.max_seq_length = max_seq_length
        self._model: Any = None

    def _load(self) -> Any:
        if self._model is None:
            from model2vec import StaticModel

            self._model = StaticModel.from_pretrained(str(self.path))
        return self._model

    @property
    def native_dim(self) -> int:
        return int(self._load().dim)

    def config(self) -> dict[str, Any]:
        return {
            "type": "static",
            "name": self.name,
            "model": self.model_id,
            "weight_hash": weight_hash(self.path),
            "pooling": "mean",
            "prompts": self.prompts,
            "max_seq_length": self.max_seq_length,
            "dim": self.dim,
            "native_dim": self.native_dim,
            "truncate_dim": self.truncate_dim,
            "normalize": self.normalize,
            "precision": "fp32",
            "versions": library_versions(("model2vec",)),
        }

    def _encode(self, texts: list[str], *, role: str = "document", show_progress: bool = False) -> np.ndarray:
        model = self._load()
        with EncodeProgress(len(texts), desc=f"encode {self.name}", enabled=show_progress) as bar:
            vecs = model.encode(texts, max_length=self.max_seq_length, show_progress_bar=False)
            bar.update(len(texts), 0)
        return np.asarray(vecs, dtype=np.float32)
