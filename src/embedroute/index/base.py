"""The vector-index interface and its registry (``flat`` now; ANN kinds register here too)."""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any

import numpy as np

from ..registry import Registry


class VectorIndex(ABC):
    """Inner-product search over vectors addressed by int64 ids."""

    kind: str

    def __init__(self, dim: int, **params: Any) -> None:
        self.dim = dim
        self.params = params

    @abstractmethod
    def add(self, ids: np.ndarray, vectors: np.ndarray) -> None: ...

    @abstractmethod
    def remove(self, ids: np.ndarray) -> None: ...

    @abstractmethod
    def search(self, queries: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
        """``(scores, ids)`` of shape ``(n_queries, k)``; missing slots have id -1."""

    @abstractmethod
    def __len__(self) -> int: ...

    def config(self) -> dict[str, Any]:
        return {"kind": self.kind, "dim": self.dim, **self.params}


INDEXES: Registry[VectorIndex] = Registry("index")
