"""Length-sorted, token-budget batching: the padding-saving part of every encoder loop."""

from __future__ import annotations

import numpy as np


def token_budget_batches(lengths: np.ndarray, token_budget: int = 16384, max_batch: int = 128) -> list[np.ndarray]:
    """Indices grouped longest-first so that ``batch_size * longest_in_batch <= token_budget``.

    >>> [b.tolist() for b in token_budget_batches(np.array([3, 10, 5, 1]), token_budget=12, max_batch=8)]
    [[1], [2, 0], [3]]
    """
    order = np.argsort(-np.asarray(lengths), kind="stable")
    batches, start = [], 0
    while start < len(order):
        longest = max(int(lengths[order[start]]), 1)
        size = max(1, min(max_batch, token_budget // longest))
        batches.append(order[start : start + size])
        start += size
    return batches
