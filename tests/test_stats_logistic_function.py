"""The large-sample logistic passes' own logistic function against scipy's `expit`."""

from __future__ import annotations

import numpy as np
import statsmodels.api as sm
from scipy import special

from ovcf_core.stats.logistic import _logistic_in_place, newton_logit


def test_logistic_in_place_equals_expit_to_two_ulps_over_the_whole_range() -> None:
    x = np.r_[
        np.linspace(-800.0, 800.0, 200_001),
        np.random.default_rng(0).normal(0.0, 5.0, 100_000),
        [0.0, -0.0, 1e-300, -745.0, -746.0, 709.0, 710.0, 37.0, -37.0],
    ]
    expected = special.expit(x)
    got = _logistic_in_place(x.copy())
    assert np.array_equal(got == 0, expected == 0)  # underflow to 0 exactly where expit gives 0
    np.testing.assert_allclose(got, expected, rtol=5e-16, atol=0)


def test_large_sample_fit_with_it_equals_statsmodels() -> None:
    """A 300,000-row fit (subsample start, then chord passes using the function) as statsmodels' Logit."""
    rng = np.random.default_rng(11)
    n = 300_000
    X = np.column_stack([np.ones(n), rng.normal(110, 30, n), rng.integers(50, 90, n), rng.normal(24, 3, n)])
    eta = 2.0 - 0.02 * X[:, 1] + 0.01 * X[:, 2] - 0.05 * X[:, 3]
    y = (rng.random(n) < special.expit(eta)).astype(float)
    coef, cov, converged = newton_logit(y, X)
    reference = sm.Logit(y, X).fit(disp=0, tol=1e-12, maxiter=100)
    assert converged
    np.testing.assert_allclose(coef, reference.params, rtol=1e-9)
    np.testing.assert_allclose(cov, reference.cov_params(), rtol=1e-7)
