"""The scipy.special-based distributions and tests agree with scipy.stats and statsmodels."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from statsmodels.stats.contingency_tables import mcnemar as sm_mcnemar

from ovcf_core.stats import distributions as dist


@pytest.mark.parametrize("q", [1e-12, 0.025, 0.5, 0.8, 0.975, 1 - 1e-9])
def test_normal_quantile_is_norm_ppf(q):
    assert dist.normal_quantile(q) == pytest.approx(stats.norm.ppf(q), rel=1e-13, abs=1e-13)


def test_normal_two_sided_p_is_twice_the_upper_tail_for_scalars_and_arrays():
    z = np.array([-40.0, -3.2, -1e-3, 0.0, 1.96, 8.5, np.inf])
    np.testing.assert_allclose(dist.normal_two_sided_p(z), 2 * stats.norm.sf(np.abs(z)), rtol=1e-13)
    assert isinstance(dist.normal_two_sided_p(1.5), float)


@pytest.mark.parametrize("df", [1, 2.5, 7, 76, 1e6])
@pytest.mark.parametrize("t", [-12.0, -2.0, 0.0, 0.4, 3.3, np.inf])
def test_t_two_sided_p_and_quantile_are_scipys(t, df):
    assert dist.t_two_sided_p(t, df) == pytest.approx(2 * stats.t.sf(abs(t), df), rel=1e-12, abs=1e-300)
    assert dist.t_quantile(0.975, df) == pytest.approx(stats.t.ppf(0.975, df), rel=1e-12)


def test_t_two_sided_p_of_nan_or_no_degrees_of_freedom_is_nan():
    assert np.isnan(dist.t_two_sided_p(float("nan"), 5)) and np.isnan(dist.t_two_sided_p(1.0, 0))


@pytest.mark.parametrize("x,df", [(0.0, 1), (0.3, 1), (3.84, 1), (40.0, 1), (12.0, 5)])
def test_chi2_sf_is_scipys(x, df):
    assert dist.chi2_sf(x, df) == pytest.approx(stats.chi2.sf(x, df), rel=1e-12, abs=1e-300)


@pytest.mark.parametrize("seed", range(6))
def test_paired_and_welch_t_match_scipy(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(3, 300))
    a = rng.normal(100, rng.uniform(1, 30), n)
    b = a * rng.uniform(0.5, 1.5) + rng.normal(rng.uniform(-5, 5), rng.uniform(0.1, 20), n)
    c = rng.normal(90, rng.uniform(1, 30), int(rng.integers(2, 200)))
    ref = stats.ttest_rel(a, b)
    np.testing.assert_allclose(dist.paired_t(a, b), (ref.statistic, ref.pvalue), rtol=1e-10)
    ref = stats.ttest_ind(a, c, equal_var=False)
    np.testing.assert_allclose(dist.welch_t(a, c), (ref.statistic, ref.pvalue), rtol=1e-10)


def test_t_tests_on_constant_differences_follow_scipy():
    a = np.array([1.0, 2.0, 3.0, 4.0])
    t, p = dist.paired_t(a + 2.0, a)  # every difference 2: infinite t, p 0
    assert t == np.inf and p == 0.0
    t, p = dist.paired_t(a, a)  # no difference at all: undefined
    assert np.isnan(t) and np.isnan(p)
    assert all(np.isnan(v) for v in dist.paired_t(a[:1], a[:1]) + dist.welch_t(a[:1], a))


@pytest.mark.parametrize(
    "table",
    [[[10, 20], [30, 5]], [[50, 28], [49, 29]], [[3, 0], [1, 7]], [[1, 1], [1, 1]], [[12, 7], [7, 12]]],
)
def test_chi2_contingency_2x2_is_scipys_with_yates(table):
    chi2, p, _, _ = stats.chi2_contingency(np.array(table))
    np.testing.assert_allclose(dist.chi2_contingency_2x2(np.array(table)), (chi2, p), rtol=1e-12, atol=1e-15)


@pytest.mark.parametrize("b,c", [(0, 0), (0, 4), (3, 9), (12, 7), (40, 22), (25, 25)])
@pytest.mark.parametrize("exact", [True, False])
def test_mcnemar_is_statsmodels(b, c, exact):
    if not exact and b + c == 0:
        assert all(np.isnan(v) for v in dist.mcnemar(b, c, exact=False))
        return
    ref = sm_mcnemar(np.array([[5, b], [c, 9]]), exact=exact, correction=True)
    np.testing.assert_allclose(dist.mcnemar(b, c, exact), (ref.statistic, ref.pvalue), rtol=1e-12)
