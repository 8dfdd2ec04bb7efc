"""The DeLong-type test of two correlated partial AUCs, checked against DeLong's AUC test over the full
range, components computed by brute force from their definition, the sampling variance of simulated
cohorts and a large bootstrap."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from ovcf_core.errors import AnalysisError
from ovcf_core.schema import Direction
from ovcf_core.stats import roc
from ovcf_core.stats.partial_auc import partial_auc
from ovcf_core.stats.partial_auc_delong import (
    delong_partial_auc_test,
    partial_auc_components,
    partial_auc_delong_se,
)


def _cohort(seed: int, m: int = 120, n: int = 150, rho: float = 0.6) -> tuple[np.ndarray, ...]:
    """Two correlated binormal markers on the same patients (cases shifted by 1.0 and 0.6 SD)."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(m), np.zeros(n)]
    z1 = rng.normal(size=m + n)
    z2 = rho * z1 + np.sqrt(1 - rho**2) * rng.normal(size=m + n)
    return y, z1 + 1.0 * y, z2 + 0.6 * y


def _roc_brute(cases: np.ndarray, controls: np.ndarray, t: float) -> float:
    """Sensitivity of the empirical curve at FPR t by walking its points one by one."""
    points = [(0.0, 0.0)]
    for v in sorted(set(cases) | set(controls), reverse=True):
        points.append((np.mean(controls >= v), np.mean(cases >= v)))
    on = [tp for fp, tp in points if fp == t]
    if on:
        return (min(on) + max(on)) / 2
    for (f0, t0), (f1, t1) in itertools.pairwise(points):
        if f0 < t < f1:
            return t0 + (t1 - t0) * (t - f0) / (f1 - f0)
    raise AssertionError("t outside the curve")


def _components_brute(cases, controls, a, b):
    """V10 and V01 by their definition, one case-control pair at a time (module docstring)."""
    m, n = len(cases), len(controls)
    w, u = np.empty(n), np.empty(n)
    for j, yj in enumerate(controls):
        above, tied = np.sum(controls > yj), np.sum(controls == yj)
        start, end = above / n, (above + tied) / n
        w[j] = max(0.0, min(end, b) - max(start, a)) * n / tied
        u[j] = (above + tied / 2) / n
    psi = np.array([[1.0 if x > yj else 0.5 if x == yj else 0.0 for yj in controls] for x in cases])
    v10 = np.array([np.sum(psi[i] * w) / n for i in range(m)])
    v01 = np.array([np.sum(psi[:, j]) / m * w[j] for j in range(n)])
    ra, rb = _roc_brute(cases, controls, a), _roc_brute(cases, controls, b)
    v01 += ra * ((1 - a) - (u >= a)) * (a > 0) - rb * ((1 - b) - (u >= b)) * (b < 1)
    return v10, v01


@pytest.mark.parametrize("fpr_range", [(0.0, 0.1), (0.1, 0.3), (0.2, 1.0), (0.0, 1.0)])
@pytest.mark.parametrize("rounding", [None, 0])  # continuous, and heavy ties
def test_components_equal_their_definition_computed_pair_by_pair(fpr_range, rounding):
    rng = np.random.default_rng(4)
    cases, controls = rng.normal(1, 1.5, 37), rng.normal(0, 1.5, 43)
    if rounding is not None:
        cases, controls = np.round(cases, rounding), np.round(controls, rounding)
    pauc, v10, v01 = partial_auc_components(cases, controls, fpr_range)
    want10, want01 = _components_brute(cases, controls, *fpr_range)
    np.testing.assert_allclose(v10, want10, atol=1e-14)
    np.testing.assert_allclose(v01, want01, atol=1e-14)
    assert pauc == pytest.approx(want10.mean(), abs=1e-14)


@pytest.mark.parametrize("fpr_range", [(0.0, 0.1), (0.05, 0.3), (0.0, 1.0)])
def test_the_components_mean_is_the_empirical_partial_area(fpr_range):
    """Without ties the U-statistic with control weights is exactly the area under the empirical curve."""
    y, a, _ = _cohort(1)
    pauc, _, _ = partial_auc_components(a[y == 1], a[y == 0], fpr_range)
    area = partial_auc(y, a, Direction.HIGHER, (1 - fpr_range[1], 1 - fpr_range[0]))[0]
    assert pauc == pytest.approx(area, abs=1e-12)


def test_full_range_is_delongs_test_of_the_aucs():
    y, a, b = _cohort(2)
    full = delong_partial_auc_test(roc.PairedScores(y, a, b, "higher", "lower"), specificity=(0.0, 1.0))
    reference = roc.delong_test(roc.PairedScores(y, a, b, "higher", "lower"))
    assert full.z == pytest.approx(reference.z, rel=1e-12)
    assert full.p_value == pytest.approx(reference.p_value, rel=1e-10)
    assert full.pauc_a == pytest.approx(reference.auc_a, abs=1e-12)
    assert partial_auc_delong_se(y, a, "higher", (0.0, 1.0))[1] == pytest.approx(
        roc.delong_auc(y, a, "higher").se, rel=1e-12
    )


@pytest.mark.parametrize("specificity", [(0.9, 1.0), (0.8, 0.95)])
def test_variance_of_the_difference_matches_simulated_cohorts(specificity):
    """The estimated SE of pAUC_a - pAUC_b against the spread of that difference over 1500 cohorts
    drawn from the same population (the sampling variance the SE estimates)."""
    differences, variances = [], []
    for seed in range(1500):
        y, a, b = _cohort(1000 + seed)
        t = delong_partial_auc_test(roc.PairedScores(y, a, b, "higher", "higher"), specificity=specificity)
        differences.append(t.pauc_a - t.pauc_b)
        variances.append(t.se_difference**2)
    ratio = np.mean(variances) / np.var(differences, ddof=1)
    assert 0.88 < ratio < 1.12  # 1500 cohorts: the variance of a variance is about 4% here


def test_variance_matches_a_large_bootstrap_and_the_test_is_the_bootstrap_d():
    """On one larger cohort: the DeLong-type SE of the difference against the SD of 3000 stratified
    bootstrap differences (as pROC's bootstrap test resamples)."""
    y, a, b = _cohort(7, m=400, n=500)
    spec = (0.85, 1.0)
    t = delong_partial_auc_test(roc.PairedScores(y, a, b, "higher", "higher"), specificity=spec)
    rng = np.random.default_rng(0)
    cases, controls = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    diffs = []
    for _ in range(3000):
        i = np.r_[rng.choice(cases, len(cases)), rng.choice(controls, len(controls))]
        diffs.append(partial_auc(y[i], a[i], "higher", spec)[0] - partial_auc(y[i], b[i], "higher", spec)[0])
    assert t.se_difference == pytest.approx(np.std(diffs, ddof=1), rel=0.1)


def test_identical_markers_and_bad_input():
    y, a, _ = _cohort(3)
    same = delong_partial_auc_test(roc.PairedScores(y, a, a, "higher", "higher"), specificity=(0.9, 1.0))
    assert same.z == 0.0 and same.p_value == 1.0
    with pytest.raises(AnalysisError):
        delong_partial_auc_test(roc.PairedScores(y, a, a, "higher", "higher"), specificity=(0.9, 0.9))
    with pytest.raises(AnalysisError):
        delong_partial_auc_test(
            roc.PairedScores(np.r_[1.0, np.zeros(20)], a[:21], a[:21], "higher", "higher"),
            specificity=(0.9, 1),
        )


def test_size_under_the_null_is_near_five_percent():
    """Two markers with the same partial AUC (exchangeable, correlated): p < 0.05 in about 5% of 1000
    simulated cohorts (binomial SD 0.7%)."""
    rejections = 0
    for seed in range(1000):
        rng = np.random.default_rng(5000 + seed)
        y = np.r_[np.ones(100), np.zeros(130)]
        common = rng.normal(size=230)
        a = 0.7 * common + 0.71 * rng.normal(size=230) + 0.8 * y
        b = 0.7 * common + 0.71 * rng.normal(size=230) + 0.8 * y
        rejections += (
            delong_partial_auc_test(
                roc.PairedScores(y, a, b, "higher", "higher"), specificity=(0.8, 1.0)
            ).p_value
            < 0.05
        )
    assert 0.03 < rejections / 1000 < 0.075
