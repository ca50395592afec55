"""Vector indexes, looked up by name in ``INDEXES``."""

from __future__ import annotations

from .base import INDEXES, VectorIndex
from .flat import FlatIndex

__all__ = ["INDEXES", "FlatIndex", "VectorIndex"]
