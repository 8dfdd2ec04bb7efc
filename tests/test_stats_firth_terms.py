"""Firth's fit with many terms (the joint model's size: 9 terms on 24 patients): the penalty's second
derivative, now formed as B'(I^-1 kron I^-1)B by matrix products, against finite differences of the
independently written l*, and the estimate against the modified score's root found by scipy."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize
from test_stats_firth import _modified_score, _pl

from ovcf_core.stats import firth


def _design(seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    n = 24
    X = np.column_stack([rng.normal(size=n) for _ in range(8)])
    X[:, 6] = rng.binomial(1, 0.5, n)
    y = np.r_[np.ones(12), np.zeros(12)]
    X[:, 0] += 1.5 * y
    return y, X


@pytest.mark.parametrize("seed", [0, 1])
def test_the_exact_negative_hessian_equals_finite_differences_of_l_star(seed):
    y, X = _design(seed)
    design = np.column_stack([np.ones(len(y)), X])
    beta = np.random.default_rng(seed + 10).normal(0, 0.3, design.shape[1])
    exact = firth._neg_hessian(firth._state(beta, y, design), design)
    k, h = design.shape[1], 1e-4
    numeric = np.empty((k, k))
    for i in range(k):
        for j in range(k):
            ei, ej = np.eye(k)[i] * h, np.eye(k)[j] * h
            numeric[i, j] = (
                _pl(beta + ei + ej, y, design) - _pl(beta + ei - ej, y, design)
                - _pl(beta - ei + ej, y, design) + _pl(beta - ei - ej, y, design)
            ) / (4 * h * h)  # fmt: skip
    np.testing.assert_allclose(exact, -numeric, atol=2e-5 * np.abs(numeric).max())


def test_a_nine_term_fit_is_the_modified_score_root_and_its_bounds_bracket_the_estimate():
    y, X = _design(0)
    fit = firth.fit_firth(y, X)
    design = np.column_stack([np.ones(len(y)), X])
    root = optimize.root(_modified_score, np.zeros(9), args=(y, design), method="hybr", tol=1e-13).x
    np.testing.assert_allclose(fit.coef, root, atol=1e-7)
    assert fit.loglik == pytest.approx(_pl(root, y, design), abs=1e-8)
    for name, lo, b, hi in zip(fit.names, fit.ci_lower, fit.coef, fit.ci_upper, strict=True):
        assert not lo >= b and not b >= hi  # a NaN bound comes with its note
        if np.isnan(lo) or np.isnan(hi):
            assert "not determined" in (fit.note(name) or "")
