"""The routing table's p-values test its dataset-weighted average: a stratified sign-flip test."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from embedroute.evaluation.significance import paired_randomization, stratified_paired_randomization


def exhaustive_p(d: np.ndarray, strata: list[str]) -> float:
    """Exact two-sided p over all 2^n sign flips of the statistic mean over datasets of per-dataset means."""
    names = sorted(set(strata))
    observed = abs(np.mean([d[[s == n for s in strata]].mean() for n in names]))
    hits = 0
    flips = list(itertools.product((-1.0, 1.0), repeat=len(d)))
    for signs in flips:
        x = np.array(signs) * d
        stat = abs(np.mean([x[[s == n for s in strata]].mean() for n in names]))
        hits += stat >= observed - 1e-12
    return hits / len(flips)


# dataset "big" (12 queries): the router gains about 0.1 on each; "small" (3 queries): it loses about 0.12.
# Pooled, the gains dominate (mean +0.057); per dataset, the average of the two means is -0.009.
GAINS = [0.10, 0.12, 0.08, 0.11, 0.09, 0.10, 0.13, 0.07, 0.10, 0.12, 0.09, 0.11]
DIFF = np.array(GAINS + [-0.13, -0.12, -0.11])
STRATA = ["big"] * 12 + ["small"] * 3


def test_stratified_p_matches_exhaustive_enumeration_where_the_pooled_test_disagrees():
    base = np.linspace(0.2, 0.6, len(DIFF))
    a, b = base + DIFF, base
    exact_strat = exhaustive_p(DIFF, STRATA)
    exact_pooled = exhaustive_p(DIFF, ["all"] * len(DIFF))
    assert exact_pooled < 0.05 and exact_strat > 0.5  # the planted disagreement
    assert stratified_paired_randomization(a, b, STRATA) == pytest.approx(exact_strat, abs=0.015)
    assert paired_randomization(a, b) == pytest.approx(exact_pooled, abs=0.01)
    # the order of queries does not matter, only which dataset each belongs to
    perm = np.random.default_rng(3).permutation(len(DIFF))
    assert stratified_paired_randomization(a[perm], b[perm], [STRATA[i] for i in perm], n=20000) == pytest.approx(
        exact_strat, abs=0.015
    )


def test_stratified_test_edge_cases():
    x = np.linspace(0, 1, 10)
    assert stratified_paired_randomization(x, x, ["a"] * 5 + ["b"] * 5) == 1.0
    with pytest.raises(ValueError, match="strata"):
        stratified_paired_randomization(x, x, ["a"] * 9)
