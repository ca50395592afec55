"""Paired significance: a two-sided randomisation (sign-flip) test on per-query differences."""

from __future__ import annotations

import numpy as np


def paired_randomization(a: np.ndarray, b: np.ndarray, *, n: int = 10000, seed: int = 0) -> float:
    """p-value that systems ``a`` and ``b`` (per-query scores, same queries) have the same mean.

    >>> x = np.linspace(0, 1, 200)
    >>> paired_randomization(x, x)
    1.0
    >>> paired_randomization(x + 0.2, x) < 0.001
    True
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    if not len(d) or np.allclose(d, 0):
        return 1.0
    observed = abs(d.mean())
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n, len(d)))
    means = np.abs((signs * d).mean(1))
    return float((1 + (means >= observed - 1e-12).sum()) / (n + 1))
