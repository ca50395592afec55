"""Static (model2vec) encoders: a token-embedding table, mean-pooled; thousands of texts per second."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import override

from .base import DenseEncoder
from .progress import EncodeProgress


def _table_width(path: Path) -> int | None:
    """The second dimension of the ``embeddings`` tensor in a safetensors file (8-byte little-endian header
    length, then a JSON header), or None when the file or the tensor is not there."""
    try:
        with open(path, "rb") as f:
            size = int.from_bytes(f.read(8), "little")
            if not 0 < size < 1 << 26:
                return None
            header = json.loads(f.read(size))
        shape = header["embeddings"]["shape"]
    except (OSError, ValueError, KeyError, TypeError):
        return None
    return int(shape[1]) if isinstance(shape, list) and len(shape) == 2 else None


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
        """The embedding table's width, read from the safetensors header when it has one: opening a
        collection asks every expert its width, and loading the table takes seconds."""
        if self._model is None and (dim := _table_width(self.path / "model.safetensors")) is not None:
            return dim
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
