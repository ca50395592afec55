"""Paired significance: two-sided randomisation (sign-flip) tests on per-query differences.

The routing table averages nDCG@10 with equal weight per dataset, so its p-values come from
:func:`stratified_paired_randomization`, which tests that average: signs are flipped query by query
(each query's pair of systems is exchangeable under the null) and the statistic is the mean over
datasets of each dataset's mean difference. Pooling every query instead would test a query-weighted
mean that the table does not show, in which the dataset with the most queries dominates.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def paired_randomization(a: np.ndarray, b: np.ndarray, *, n: int = 10000, seed: int = 0) -> float:
    """p-value that systems ``a`` and ``b`` (per-query scores, same queries) have the same mean.

    >>> x = np.linspace(0, 1, 200)
    >>> paired_randomization(x, x)
    1.0
    >>> paired_randomization(x + 0.2, x) < 0.001
    True
    """
    return stratified_paired_randomization(a, b, ["all"] * len(np.asarray(a)), n=n, seed=seed)


def stratified_paired_randomization(
    a: np.ndarray, b: np.ndarray, strata: Sequence[str], *, n: int = 10000, seed: int = 0
) -> float:
    """p-value that the mean over strata of per-stratum mean differences ``a - b`` is zero.

    ``strata[i]`` is query ``i``'s dataset. Each of ``n`` draws flips the sign of every query's
    difference at random (so within its dataset); the p-value is the share of draws, counting the
    observed one, whose statistic is at least as far from zero as observed.

    >>> x, sets = np.linspace(0, 1, 200), ["big"] * 180 + ["small"] * 20
    >>> stratified_paired_randomization(x, x, sets), stratified_paired_randomization(x + 0.2, x, sets) < 0.001
    (1.0, True)
    """
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    labels = np.asarray(list(strata))
    if len(labels) != len(d):
        raise ValueError(f"{len(d)} differences but {len(labels)} strata labels")
    if not len(d) or np.allclose(d, 0):
        return 1.0
    names, which, counts = np.unique(labels, return_inverse=True, return_counts=True)
    weights = 1.0 / (len(names) * counts[which])  # statistic = sum_i weights_i * d_i
    wd = weights * d
    observed = abs(wd.sum())
    rng = np.random.default_rng(seed)
    signs = rng.choice(np.array([-1.0, 1.0]), size=(n, len(d)))
    stats = np.abs(signs @ wd)
    return float((1 + (stats >= observed - 1e-12).sum()) / (n + 1))
