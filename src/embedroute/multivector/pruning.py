"""Token pruning: post-hoc k-means of each document's token vectors into fewer centroids (the
post-hoc clustering baseline of CRISP, Veneroso et al., arXiv 2505.11471; also "token pooling",
Clavié et al. 2024). k-means comes from scipy; centroids are the clusters' means.
"""

from __future__ import annotations

import math

import numpy as np
from scipy.cluster.vq import kmeans2

from .tokens import TokenVectors


def prune_document(tokens: np.ndarray, factor: float, *, seed: int = 0, iters: int = 10) -> np.ndarray:
    """``ceil(n / factor)`` centroids of ``tokens`` (``(n, d)``); unchanged when that is ``n``.

    >>> x = np.vstack([np.ones((4, 2)), -np.ones((2, 2))])
    >>> prune_document(x, 3).shape
    (2, 2)
    """
    n = len(tokens)
    k = max(1, math.ceil(n / factor))
    if k >= n:
        return np.asarray(tokens, dtype=np.float32)
    data = np.asarray(tokens, dtype=np.float64)
    centroids, labels = kmeans2(data, k, iter=iters, minit="++", seed=np.random.default_rng(seed))
    used = np.unique(labels)  # a cluster can end empty: keep only centroids that own tokens
    return np.stack([data[labels == c].mean(0) for c in used]).astype(np.float32)


def prune(tokens: TokenVectors, factor: float, *, seed: int = 0) -> TokenVectors:
    """Every document pruned to about ``1/factor`` of its vectors."""
    return TokenVectors.from_list(
        [prune_document(tokens.doc(i), factor, seed=seed) for i in range(len(tokens))], tokens.dim
    )
