"""Encoding documents for a collection's experts: the representations a write batch stores, and every
stored document encoded for an expert being added."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from ..encoders.cache import default_cache
from ..experts.base import Expert
from ..storage.documents import Document
from .results import WriteReport

#: ``progress(stage, done, total)``, called as long work goes
Progress = Callable[[str, int, "int | None"], None]


class StageProgress:
    """``progress(stage, done, total)`` for adding an expert: passed on to ``progress`` if given, and the
    ``encoding`` stage drawn as a progress bar when ``show_progress``."""

    def __init__(self, *, show_progress: bool = False, progress: Progress | None = None) -> None:
        self._progress = progress
        self._bar: Any = None
        if show_progress:
            from tqdm.auto import tqdm

            self._bar = tqdm(desc="encode", unit="doc")

    def __call__(self, stage: str, done: int, total: int | None) -> None:
        """Report ``done`` of ``total`` for ``stage``: to the bar (encoding only) and to ``progress``."""
        if self._bar is not None and stage == "encoding":
            self._bar.total = total
            self._bar.n = done
            self._bar.refresh()
        if self._progress is not None:
            self._progress(stage, done, total)

    def close_bar(self) -> None:
        """Close the progress bar, if one is drawn."""
        if self._bar is not None:
            self._bar.close()


def batch_reps(expert: Expert, batch: list[Document], report: WriteReport) -> Any:
    """What ``expert`` stores for each document of ``batch``: a dense expert takes the vectors supplied
    with the documents and encodes only the others; other kinds always encode. ``report.encoded``
    counts the documents the encoder (not the cache) encoded."""
    if expert.kind != "dense":  # sparse and other stored representations: always encoded here
        misses0 = default_cache().stats.misses
        reps = expert.embed_documents([d.embed_text for d in batch])
        report.encoded += default_cache().stats.misses - misses0
        return reps
    out = np.empty((len(batch), expert.dim), dtype=np.float32)
    todo = [i for i, d in enumerate(batch) if expert.name not in d.vectors]
    for i, d in enumerate(batch):
        if expert.name in d.vectors:
            out[i] = d.vectors[expert.name]
    if todo:
        misses0 = default_cache().stats.misses
        out[todo] = expert.embed_documents([batch[i].embed_text for i in todo])
        report.encoded += default_cache().stats.misses - misses0
    return out


def encode_into(
    expert: Expert,
    blobs: dict[int, tuple[str, bytes]],
    rids: np.ndarray,
    texts: list[str],
    sums: list[str],
    *,
    progress: Progress | None = None,
    chunk: int = 1024,
) -> None:
    """Encode ``texts`` in chunks (so progress can be shown) into ``blobs`` by row id, each blob with its
    document's checksum (``sums``)."""
    for start in range(0, len(texts), chunk):
        encoded = expert.to_blobs(expert.embed_documents(texts[start : start + chunk]))
        for r, c, b in zip(rids[start : start + chunk].tolist(), sums[start : start + chunk], encoded):
            blobs[r] = (c, b)
        if progress is not None:
            progress("encoding", min(start + chunk, len(texts)), len(texts))
