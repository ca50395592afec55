"""Where multi-vector models live: trained ones in the cache's ``models/`` folder."""

from __future__ import annotations

from pathlib import Path

from .._paths import cache_dir


def colbert_folder(name: str = "colbert-minilm") -> Path:
    """Folder of a ColBERT-style model trained here (``benchmarks/train_colbert.py`` writes it)."""
    return cache_dir() / "models" / name
