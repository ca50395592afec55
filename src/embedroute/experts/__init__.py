"""Experts: the ways one collection can be searched (dense encoders, BM25, ...)."""

from __future__ import annotations

from .base import Expert, SearchBatch
from .bm25 import BM25Expert
from .dense import DenseExpert
from .registry import EXPERTS, expert_names, make_expert

__all__ = ["BM25Expert", "DenseExpert", "EXPERTS", "Expert", "SearchBatch", "expert_names", "make_expert"]
