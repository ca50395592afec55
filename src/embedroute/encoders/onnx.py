"""ONNX Runtime encoders: a transformer graph plus a Hugging Face tokenizer folder.

Either the graph emits token states (``last_hidden_state``), which we mean-pool with the attention
mask, or it emits the sentence vector itself (``output=...``).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
from typing_extensions import override

from .base import DenseEncoder
from .batching import token_budget_batches
from .progress import EncodeProgress


class OnnxEncoder(DenseEncoder):
    """A dense encoder running an exported ONNX graph with its Hugging Face tokenizer (mean pooling, or a named graph
    output)."""

    def __init__(
        self,
        onnx_path: str | Path,
        tokenizer_dir: str | Path,
        *,
        dim: int,
        name: str | None = None,
        model_id: str | None = None,
        output: str | None = None,
        prompts: dict[str, str] | None = None,
        max_seq_length: int = 256,
        normalize: bool = True,
        truncate_dim: int | None = None,
        token_budget: int = 16384,
        max_batch: int = 128,
    ) -> None:
        self.onnx_path = Path(onnx_path)
        self.tokenizer_dir = Path(tokenizer_dir)
        for p in (self.onnx_path, self.tokenizer_dir):
            if not p.exists():
                raise FileNotFoundError(f"not found: {p}")
        self.name = name or self.onnx_path.stem
        self.model_id = model_id or str(self.onnx_path)
        self.output = output
        self.prompts = dict(prompts or {})
        self.max_seq_length = max_seq_length
        self.normalize = normalize
        self.truncate_dim = truncate_dim
        self._dim = dim
        self.token_budget = token_budget
        self.max_batch = max_batch
        self._session: Any = None
        self._tokenizer: Any = None

    @property
    @override
    def native_dim(self) -> int:
        return self._dim

    @override
    def config(self) -> dict[str, Any]:
        return self._config(
            "onnx",
            model=self.model_id,
            weights=self.onnx_path,
            pooling="graph-output:" + self.output if self.output else "mean",
            precision="onnx-graph",
            libraries=("onnxruntime", "transformers"),
            max_seq_length=self.max_seq_length,
        )

    def _load(self) -> tuple[Any, Any]:
        if self._session is None:
            os.environ.setdefault("HF_HUB_OFFLINE", "1")
            import onnxruntime as ort
            from transformers import AutoTokenizer

            opts = ort.SessionOptions()
            opts.log_severity_level = 3
            self._session = ort.InferenceSession(str(self.onnx_path), opts, providers=["CPUExecutionProvider"])
            self._tokenizer = AutoTokenizer.from_pretrained(str(self.tokenizer_dir), local_files_only=True)
        return self._session, self._tokenizer

    def _encode(self, texts: list[str], *, role: str = "document", show_progress: bool = False) -> np.ndarray:
        session, tok = self._load()
        inputs = {i.name for i in session.get_inputs()}
        ids = tok(texts, truncation=True, max_length=self.max_seq_length)["input_ids"]
        lengths = np.array([len(x) for x in ids])
        out = np.empty((len(texts), self.native_dim), dtype=np.float32)
        with EncodeProgress(len(texts), desc=f"encode {self.name}", enabled=show_progress) as bar:
            for idx in token_budget_batches(lengths, self.token_budget, self.max_batch):
                enc = tok(
                    [texts[i] for i in idx],
                    truncation=True,
                    max_length=self.max_seq_length,
                    padding=True,
                    return_tensors="np",
                )
                feed = {
                    k: enc[k].astype(np.int64)
                    for k in ("input_ids", "attention_mask", "token_type_ids")
                    if k in inputs and k in enc
                }
                if "token_type_ids" in inputs and "token_type_ids" not in feed:
                    feed["token_type_ids"] = np.zeros_like(feed["input_ids"])
                if self.output:
                    vec = session.run([self.output], feed)[0]
                else:
                    states = session.run(None, feed)[0]
                    mask = enc["attention_mask"][..., None].astype(np.float32)
                    vec = (states * mask).sum(1) / np.maximum(mask.sum(1), 1e-9)
                out[idx] = vec
                bar.update(len(idx), int(lengths[idx].sum()))
        return out
