"""Static models distilled here from a local sentence-transformers folder with model2vec (Tulkens & van
Dongen, 2024): a token-embedding table, mean-pooled, thousands of texts per second on a CPU. Made once
into the cache's ``models/`` folder (under a minute for MiniLM on 2 cores), never downloaded."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from .._paths import cache_dir


def distilled_folder(name: str, source: str | Path, *, pca_dims: int = 256) -> Path:
    """``models/NAME`` in the cache, distilled from the model folder ``source`` on first use."""
    folder = cache_dir() / "models" / name
    if (folder / "config.json").exists():
        return folder
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from model2vec.distill import distill

    tmp = folder.with_name(f".{name}.{os.getpid()}.tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    model = distill(model_name=str(source), pca_dims=pca_dims)
    model.save_pretrained(str(tmp))
    try:
        os.replace(tmp, folder)
    except OSError:  # another process finished first
        shutil.rmtree(tmp, ignore_errors=True)
    return folder
