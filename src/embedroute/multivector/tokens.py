"""Ragged token-vector sets: one ``(n_i, d)`` matrix per document stored as a flat array plus offsets.

Stored compactly as float16 (or int8 with per-dimension ranges kept beside them) in ``.npy`` files
that are memory-mapped on load, so a large collection's tokens stay on disk until touched.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import InputError


@dataclass
class TokenVectors:
    """``vectors[offsets[i]:offsets[i+1]]`` are document ``i``'s token vectors."""

    vectors: np.ndarray
    offsets: np.ndarray

    @classmethod
    def from_list(cls, mats: Sequence[np.ndarray], dim: int | None = None) -> TokenVectors:
        """From per-document matrices (each ``(n_i, d)``; a document needs at least one token).

        >>> tv = TokenVectors.from_list([np.ones((2, 3)), np.zeros((1, 3))])
        >>> len(tv), tv.offsets.tolist(), tv.doc(1).shape
        (2, [0, 2, 3], (1, 3))
        """
        if not mats:
            return cls(np.zeros((0, dim or 0), dtype=np.float32), np.zeros(1, dtype=np.int64))
        for i, m in enumerate(mats):
            if m.ndim != 2 or len(m) == 0:
                raise InputError(f"document {i} has token matrix of shape {m.shape}; need (n >= 1, d)")
        lengths = np.array([len(m) for m in mats], dtype=np.int64)
        offsets = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        return cls(np.ascontiguousarray(np.vstack(mats)), offsets)

    def __len__(self) -> int:
        return len(self.offsets) - 1

    @property
    def dim(self) -> int:
        """Width of each token vector."""
        return int(self.vectors.shape[1])

    @property
    def lengths(self) -> np.ndarray:
        """Number of tokens of each document."""
        return np.diff(self.offsets)

    def doc(self, i: int) -> np.ndarray:
        """Document ``i``'s token matrix, as float32."""
        return np.asarray(self.vectors[self.offsets[i] : self.offsets[i + 1]], dtype=np.float32)

    def docs(self) -> list[np.ndarray]:
        """Every document's token matrix, as float32."""
        return [self.doc(i) for i in range(len(self))]

    def subset(self, rows: Sequence[int] | np.ndarray) -> TokenVectors:
        """The documents at positions ``rows``, in that order, as new TokenVectors."""
        return TokenVectors.from_list([self.doc(int(i)) for i in rows], self.dim)

    def concat(self, other: TokenVectors) -> TokenVectors:
        """These documents followed by ``other``'s, without splitting either into per-document arrays."""
        if not len(self):
            return other
        return TokenVectors(
            np.vstack([self.vectors, np.asarray(other.vectors, dtype=self.vectors.dtype)]),
            np.concatenate([self.offsets, other.offsets[1:] + self.offsets[-1]]),
        )

    def keep(self, docs: np.ndarray) -> TokenVectors:
        """The documents where the boolean mask ``docs`` is true.

        >>> tv = TokenVectors.from_list([np.ones((2, 1)), np.zeros((1, 1)), np.full((3, 1), 2.0)])
        >>> kept = tv.keep(np.array([True, False, True]))
        >>> kept.offsets.tolist(), kept.vectors[:, 0].tolist()
        ([0, 2, 5], [1.0, 1.0, 2.0, 2.0, 2.0])
        """
        lengths = self.lengths[docs]
        return TokenVectors(
            self.vectors[np.repeat(docs, self.lengths)], np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
        )

    def float32(self) -> TokenVectors:
        """The same tokens with float32 vectors (for computing over them)."""
        return TokenVectors(np.asarray(self.vectors, dtype=np.float32), self.offsets)

    # -- compact storage -------------------------------------------------------------------------
    def save(self, folder: str | Path, *, precision: str = "float16") -> None:
        """Write ``tokens.npy``, ``offsets.npy`` and ``tokens.json`` (precision, ranges) into ``folder``."""
        folder = Path(folder)
        folder.mkdir(parents=True, exist_ok=True)
        meta: dict[str, object] = {
            "precision": precision,
            "dim": self.dim,
            "documents": len(self),
            "tokens": int(self.offsets[-1]),
        }
        if precision == "float16":
            data = self.vectors.astype(np.float16)
        elif precision == "int8":
            lo = self.vectors.min(0).astype(np.float32)
            hi = self.vectors.max(0).astype(np.float32)
            scale = np.where(hi > lo, (hi - lo) / 255.0, 1.0).astype(np.float32)
            data = np.clip(np.round((self.vectors - lo) / scale) - 128, -128, 127).astype(np.int8)
            meta["low"], meta["scale"] = lo.tolist(), scale.tolist()
        elif precision == "float32":
            data = self.vectors.astype(np.float32)
        else:
            raise InputError(f"unknown token precision {precision!r}; use float16, int8 or float32")
        np.save(folder / "tokens.npy", data)
        np.save(folder / "offsets.npy", self.offsets)
        (folder / "tokens.json").write_text(json.dumps(meta))

    @classmethod
    def open(cls, folder: str | Path) -> TokenVectors:
        """Memory-map saved tokens (int8 ones are decoded into RAM)."""
        folder = Path(folder)
        meta = json.loads((folder / "tokens.json").read_text())
        data = np.load(folder / "tokens.npy", mmap_mode="r")
        offsets = np.load(folder / "offsets.npy")
        if meta["precision"] == "int8":
            data = (data.astype(np.float32) + 128) * np.array(meta["scale"], np.float32) + np.array(
                meta["low"], np.float32
            )
        return cls(data, offsets)
