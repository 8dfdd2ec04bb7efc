"""The one-sort ROC counts (`SortedScores.below_and_at`): DeLong placements and ROC points in O(n),
checked against brute force over every case-control pair and against scipy's Mann-Whitney U."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import mannwhitneyu

from ovcf_core.schema import Direction
from ovcf_core.stats import roc


def _brute_components(cases: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong's structural components by the definition: psi(case, control) = 1, 1/2 (tie) or 0."""
    psi = (cases[:, None] > controls[None, :]) + 0.5 * (cases[:, None] == controls[None, :])
    return psi.mean(axis=1), psi.mean(axis=0)


@pytest.mark.parametrize("direction", [Direction.HIGHER, Direction.LOWER])
@pytest.mark.parametrize("distinct", [3, 15, 10_000])  # heavy ties, some ties, (almost) none
def test_sorted_delong_equals_the_pairwise_definition_and_scipy_u(direction, distinct):
    rng = np.random.default_rng(distinct)
    y = (rng.random(400) < 0.4).astype(float)
    x = rng.integers(0, distinct, 400) + 0.5 * y * rng.integers(0, 2, 400)
    auc, v10, v01 = roc.SortedScores.of(y, x).delong(direction)
    oriented = x if direction is Direction.HIGHER else -x
    want10, want01 = _brute_components(oriented[y == 1], oriented[y == 0])
    np.testing.assert_allclose(v10, want10, rtol=0, atol=1e-15)
    np.testing.assert_allclose(v01, want01, rtol=0, atol=1e-15)
    u = mannwhitneyu(oriented[y == 1], oriented[y == 0]).statistic
    assert auc == pytest.approx(u / ((y == 1).sum() * (y == 0).sum()), abs=1e-14)


@pytest.mark.parametrize("direction", [Direction.HIGHER, Direction.LOWER])
def test_roc_points_from_counts_equal_counting_at_each_threshold(direction):
    rng = np.random.default_rng(3)
    y = (rng.random(300) < 0.5).astype(float)
    x = np.round(rng.normal(size=300) + y, 1)  # ties
    thresholds, sens, spec = roc._roc_points(y, x, direction, roc.SortedScores.of(y, x))
    for t, se, sp in zip(thresholds, sens, spec, strict=True):
        positive = x >= t if direction is Direction.HIGHER else x <= t
        assert se == pytest.approx(positive[y == 1].mean(), abs=1e-15)
        assert sp == pytest.approx(1 - positive[y == 0].mean(), abs=1e-15)
    unsorted = roc._roc_points(y, x, direction)
    for got, want in zip((thresholds, sens, spec), unsorted, strict=True):
        np.testing.assert_array_equal(got, want)
