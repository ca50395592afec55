"""A transformer encoder with a LoRA adapter merged into its weights at load time.

RouterRetriever's experts are LoRA adapters over one shared base encoder (Lee et al., AAAI 2025,
arXiv 2409.02685). The adapter is kept as peft saved it; loading applies it to the
base model with ``peft`` and merges it, so encoding costs exactly what the base model costs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..errors import ModelNotAvailableError
from ..extras import require
from .hashing import weight_hash
from .transformer import TransformerEncoder
from .versions import library_versions


class AdapterEncoder(TransformerEncoder):
    """``base`` (a sentence-transformers folder) with the peft LoRA adapter in ``adapter`` merged in."""

    def __init__(self, base: str | Path, adapter: str | Path, **options: Any) -> None:
        self.adapter = Path(adapter)
        if not (self.adapter / "adapter_config.json").exists():
            raise ModelNotAvailableError(f"{self.adapter} is not a LoRA adapter folder (no adapter_config.json)")
        super().__init__(base, **options)

    def config(self) -> dict[str, Any]:
        """The base model's config plus the LoRA adapter's path and weight hash (and the peft version)."""
        cfg = super().config()
        cfg["type"] = "transformer+lora"
        cfg["adapter"] = str(self.adapter)
        cfg["adapter_hash"] = weight_hash(self.adapter)
        cfg["versions"] = cfg["versions"] | library_versions(("peft",))
        return cfg

    def _weights_key(self) -> str:
        return f"{weight_hash(self.path)}+{weight_hash(self.adapter)}"

    def _load(self) -> Any:
        if self._model is None:
            peft = require("train", "peft")
            model = super()._load()
            module = model[0]
            module.model = peft.PeftModel.from_pretrained(module.model, str(self.adapter)).merge_and_unload()
            module.model.eval()
        return self._model
