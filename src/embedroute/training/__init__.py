"""Training experts: ColBERT-style multi-vector heads (MaxSim contrastive loss with hard negatives)."""

from __future__ import annotations

from .colbert import train_colbert
from .pairs import Triple, mine_triples

__all__ = ["Triple", "mine_triples", "train_colbert"]
