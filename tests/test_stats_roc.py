"""ROC and DeLong against independent computations: scikit-learn and a brute-force O(n²) DeLong."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats
from sklearn.metrics import roc_auc_score

from ovcf_core.errors import AnalysisError
from ovcf_core.schema import Direction
from ovcf_core.stats.roc import (
    PairedScores,
    bootstrap_auc_ci,
    delong_auc,
    delong_test,
    metrics_at,
    roc_curve,
    youden_cutoff,
)


def brute_force_delong(cases: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """DeLong et al. (1988) by its definition: placement values psi(x, y) over every case-control pair."""
    cases, controls = np.atleast_2d(cases), np.atleast_2d(controls)
    k, m, n = cases.shape[0], cases.shape[1], controls.shape[1]
    aucs, v10, v01 = np.zeros(k), np.zeros((k, m)), np.zeros((k, n))
    for r in range(k):
        psi = np.zeros((m, n))
        for i in range(m):
            for j in range(n):
                psi[i, j] = (
                    1.0 if cases[r, i] > controls[r, j] else 0.5 if cases[r, i] == controls[r, j] else 0
                )
        aucs[r] = psi.mean()
        v10[r] = psi.mean(axis=1)
        v01[r] = psi.mean(axis=0)
    s10 = np.atleast_2d(np.cov(v10))
    s01 = np.atleast_2d(np.cov(v01))
    return aucs, s10 / m + s01 / n


def sample(n: int = 80, seed: int = 1, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n // 2), np.zeros(n - n // 2)]
    a = rng.normal(y * 1.2, 1.0)
    b = 0.6 * a + rng.normal(y * 0.5, 1.0)
    if ties:
        a, b = np.round(a), np.round(b * 2) / 2
    return y, a, b


@pytest.mark.parametrize("ties", [False, True])
def test_auc_and_se_equal_brute_force_delong_and_sklearn(ties):
    y, a, _ = sample(ties=ties)
    result = delong_auc(y, a, "higher")
    auc, cov = brute_force_delong(a[y == 1], a[y == 0])
    assert result.auc == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert result.auc == pytest.approx(auc[0], abs=1e-12)
    assert result.se == pytest.approx(np.sqrt(cov[0, 0]), rel=1e-10)
    z = stats.norm.ppf(0.975)
    assert result.ci == pytest.approx((auc[0] - z * result.se, min(1, auc[0] + z * result.se)))


def test_lower_direction_is_the_auc_of_the_negated_marker():
    y, a, _ = sample()
    hu_like = -a
    assert delong_auc(y, hu_like, "lower").auc == pytest.approx(roc_auc_score(y, a))
    assert delong_auc(y, hu_like).direction == "lower"


def test_paired_delong_test_equals_brute_force():
    y, a, b = sample(n=60, seed=3, ties=True)
    result = delong_test(PairedScores(y, a, b, "higher", "higher", ("a", "b")))
    auc, cov = brute_force_delong(np.vstack([a[y == 1], b[y == 1]]), np.vstack([a[y == 0], b[y == 0]]))
    z = (auc[0] - auc[1]) / np.sqrt(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    assert result.z == pytest.approx(z, rel=1e-10)
    assert result.p_value == pytest.approx(2 * stats.norm.sf(abs(z)), rel=1e-10)


def test_paired_test_uses_only_patients_with_both_markers():
    y, a, b = sample(n=60, seed=4)
    b = b.copy()
    b[:5] = np.nan
    result = delong_test(PairedScores(y, a, b, "higher", "higher"))
    assert result.n == 55
    assert result.auc_a == pytest.approx(roc_auc_score(y[5:], a[5:]))


def test_paired_scores_are_checked_once_for_every_paired_test():
    y, a, b = sample(n=30, seed=5)
    pair = PairedScores(list(y), list(a), list(b), "lower", Direction.HIGHER)
    assert pair.direction_a is Direction.LOWER and pair.direction_b is Direction.HIGHER
    assert pair.names == ("a", "b") and pair.y.dtype == pair.score_a.dtype == np.float64
    oriented_a, oriented_b = pair.oriented()
    assert np.array_equal(oriented_a, -a) and np.array_equal(oriented_b, b)
    with pytest.raises(AnalysisError, match="vbq vs hu: outcome and markers differ in length"):
        PairedScores(y, a, b[:-1], "higher", "higher", ("vbq", "hu"))
    with pytest.raises(ValueError, match="sideways"):
        PairedScores(y, a, b, "higher", "sideways")


@settings(max_examples=40, deadline=None)
@given(st.integers(min_value=4, max_value=40), st.integers(min_value=0, max_value=10_000))
def test_curve_points_match_sklearn(n, seed):
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n), np.zeros(n)]
    x = np.round(rng.normal(y, 1.0), 1)
    curve = roc_curve(y, x, "higher")
    trapezoid = np.trapezoid(curve.sensitivity, 1 - curve.specificity)
    assert trapezoid == pytest.approx(roc_auc_score(y, x), abs=1e-12)


def test_youden_cutoff_maximises_j_over_every_threshold():
    y, a, _ = sample(n=100, seed=7)
    best = youden_cutoff(y, a, "higher")
    values = np.unique(a)
    j = [((a[y == 1] >= t).mean() + (a[y == 0] < t).mean() - 1) for t in values]
    assert best.sensitivity + best.specificity - 1 == pytest.approx(max(j))


def test_ppv_npv_follow_bayes_at_the_given_prevalence():
    y, a, _ = sample(n=100, seed=8)
    m = metrics_at(y, a, 0.5, "higher", prevalence=0.1)
    sens, spec = (a[y == 1] >= 0.5).mean(), (a[y == 0] < 0.5).mean()
    assert m.ppv == pytest.approx(sens * 0.1 / (sens * 0.1 + (1 - spec) * 0.9))
    assert m.npv == pytest.approx(spec * 0.9 / (spec * 0.9 + (1 - sens) * 0.1))
    assert m.true_positive + m.false_negative == 50


def test_one_class_only_is_a_clear_error():
    with pytest.raises(AnalysisError, match="at least 2 cases"):
        delong_auc(np.ones(10), np.arange(10.0), "higher")


def test_bootstrap_ci_is_seeded_and_brackets_the_auc():
    y, a, _ = sample(n=80, seed=9)
    calls = []
    ci1 = bootstrap_auc_ci(y, a, "higher", n_boot=300, seed=1, progress=lambda i, n: calls.append(i))
    ci2 = bootstrap_auc_ci(y, a, "higher", n_boot=300, seed=1)
    assert ci1 == ci2
    assert ci1[0] < roc_auc_score(y, a) < ci1[1]
    assert calls[-1] == 300


def _tied_marker(seed: int, shift: float) -> tuple[np.ndarray, np.ndarray]:
    """A random 0/1 outcome (both classes present) and a marker rounded to 0-2 decimals (0: heavy ties)."""
    rng = np.random.default_rng(seed)
    n = int(rng.integers(12, 400))
    y = (rng.random(n) < 0.4).astype(float)
    y[:2], y[2:4] = 1.0, 0.0
    return y, np.round(rng.normal(size=n) + shift * y, int(rng.integers(0, 3)))


@pytest.mark.parametrize("seed", range(5))
def test_spearman_with_the_outcome_from_the_auc_equals_scipy_even_with_heavy_ties(seed):
    from scipy.stats import spearmanr

    from ovcf_core.stats.correlation import spearman_from_auc
    from ovcf_core.stats.roc import delong_auc

    y, x = _tied_marker(seed, shift=1.0)
    n = len(y)
    auc = delong_auc(y, x, "higher").auc
    result = spearman_from_auc(auc, int(y.sum()), int(n - y.sum()), np.unique(x, return_counts=True)[1])
    reference = spearmanr(x, y)
    assert result.rho == pytest.approx(reference.statistic, abs=1e-12)
    assert result.p_value == pytest.approx(reference.pvalue, rel=1e-9, abs=1e-300)


@pytest.mark.parametrize("seed", range(6))
def test_one_sort_gives_the_same_ranks_ties_delong_and_youden_as_the_separate_computations(seed):
    from ovcf_core.stats.roc import SortedScores, delong_components, youden_cutoff

    y, x = _tied_marker(seed, shift=0.8)
    sorted_x = SortedScores.of(y, x)
    np.testing.assert_array_equal(sorted_x.midranks(), stats.rankdata(x))
    values, counts = np.unique(x, return_counts=True)
    np.testing.assert_array_equal(sorted_x.distinct(), values)
    np.testing.assert_array_equal(sorted_x.tie_counts(), counts)
    for direction, sign in (("higher", 1.0), ("lower", -1.0)):
        auc, v10, v01 = sorted_x.delong(direction)
        ref_auc, ref_v10, ref_v01 = delong_components(sign * x[y == 1], sign * x[y == 0])
        assert auc == pytest.approx(ref_auc[0], abs=1e-12)
        np.testing.assert_allclose(v10, ref_v10[0], atol=1e-12)
        np.testing.assert_allclose(v01, ref_v01[0], atol=1e-12)
        assert youden_cutoff(y, x, direction, sorted_x) == youden_cutoff(y, x, direction)
