"""Static (model2vec) encoders: a token-embedding table, mean-pooled; thousands of texts per second."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import override

from .base import DenseEncoder
from .progress import EncodeProgress


class StaticEncoder(DenseEncoder):
    """A Model2Vec static embedding model: token vectors looked up and mean-pooled, no transformer pass."""

    def __init__(
        self,
        path: str | Path,
        *,
        name: str | None = None,
        model_id: str | None = None,
        prompts: dict[str, str] | None = None,
        normalize: bool = True,
        truncate_dim: int | None = None,
        max_seq_length: int = 512,
    ) -> None:
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
    @override
    def native_dim(self) -> int:
        return int(self._load().dim)

    @override
    def config(self) -> dict[str, Any]:
        return self._config(
            "static",
            model=self.model_id,
            weights=self.path,
            pooling="mean",
            precision="fp32",
            libraries=("model2vec",),
            max_seq_length=self.max_seq_length,
        )

    def _encode(self, texts: list[str], *, role: str = "document", show_progress: bool = False) -> np.ndarray:
        model = self._load()
        with EncodeProgress(len(texts), desc=f"encode {self.name}", enabled=show_progress) as bar:
            vecs = model.encode(texts, max_length=self.max_seq_length, show_progress_bar=False)
            bar.update(len(texts), 0)
        return np.asarray(vecs, dtype=np.float32)
