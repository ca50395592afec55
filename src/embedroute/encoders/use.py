"""Universal Sentence Encoder multilingual v3 as an int8 ONNX graph with its tokenizer inside
(``use-m``; the graph's string ops come from onnxruntime-extensions)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import override

from .base import DenseEncoder
from .progress import EncodeProgress


class StringGraphEncoder(DenseEncoder):
    """An ONNX graph that takes a 1-D string tensor and returns one vector per string."""

    def __init__(
        self,
        onnx_path: str | Path,
        *,
        dim: int,
        name: str,
        model_id: str,
        prompts: dict[str, str] | None = None,
        normalize: bool = True,
        truncate_dim: int | None = None,
        batch: int = 64,
    ) -> None:
        self.onnx_path = Path(onnx_path)
        self.name = name
        self.model_id = model_id
        self.prompts = dict(prompts or {})
        self.normalize = normalize
        self.truncate_dim = truncate_dim
        self.batch = batch
        self._dim = dim
        self._session: Any = None

    @property
    @override
    def native_dim(self) -> int:
        return self._dim

    @override
    def config(self) -> dict[str, Any]:
        return self._config(
            "onnx-strings",
            model=self.model_id,
            weights=self.onnx_path,
            pooling="graph",
            precision="int8",
            libraries=("onnxruntime", "onnxruntime-extensions"),
        )

    def _encode(self, texts: list[str], *, role: str = "document", show_progress: bool = False) -> np.ndarray:
        if self._session is None:
            import onnxruntime as ort
            from onnxruntime_extensions import get_library_path

            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            opts.register_custom_ops_library(get_library_path())
            self._session = ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
        name = self._session.get_inputs()[0].name
        out = np.empty((len(texts), self.native_dim), dtype=np.float32)
        with EncodeProgress(len(texts), desc=f"encode {self.name}", enabled=show_progress) as bar:
            for i in range(0, len(texts), self.batch):
                part = texts[i : i + self.batch]
                out[i : i + len(part)] = self._session.run(None, {name: np.array(part, dtype=object)})[0]
                bar.update(len(part), 0)
        return out
