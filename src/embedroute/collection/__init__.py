"""Collections: durable documents searched through several experts."""

from __future__ import annotations

from .collection import Collection
from .results import CheckReport, CompactReport, Hit, SearchResult, WriteReport

__all__ = ["CheckReport", "CompactReport", "Collection", "Hit", "SearchResult", "WriteReport"]
