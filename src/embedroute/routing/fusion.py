"""Reciprocal-rank fusion of ranked lists (Cormack, Clarke, Buettcher, SIGIR 2009), k = 60."""

from __future__ import annotations

from collections.abc import Mapping, Sequence


def rrf(rankings: Sequence[Mapping[str, float]], k: int = 60, depth: int = 100) -> dict[str, float]:
    """Fuse ``{doc: score}`` rankings by ``sum 1 / (k + rank)``.

    >>> sorted(rrf([{"a": 3.0, "b": 2.0}, {"b": 9.0, "c": 1.0}]).items(), key=lambda kv: -kv[1])[0][0]
    'b'
    """
    fused: dict[str, float] = {}
    for ranking in rankings:
        ordered = sorted(ranking.items(), key=lambda kv: (-kv[1], kv[0]))[:depth]
        for rank, (doc, _) in enumerate(ordered, start=1):
            fused[doc] = fused.get(doc, 0.0) + 1.0 / (k + rank)
    return fused
