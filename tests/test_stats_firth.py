"""Firth logistic regression (ovcf_core.stats.firth) against an independent implementation written here:
the modified score equations solved by scipy.optimize.root, profile CIs by brentq on a profile maximised
by scipy.optimize.minimize, plus known properties (Haldane's +0.5 in a 2×2 table, finite estimates under
separation, agreement with ML as n grows). logistf's own example data (sex2) is not shipped here, so no
published logistf table is reproduced."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import optimize, stats

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.firth import fit_firth, penalised_loglik


def _pl(beta: np.ndarray, y: np.ndarray, X: np.ndarray) -> float:
    """l(b) + ½ log det(X'WX), written out independently."""
    p = stats.logistic.cdf(X @ beta)
    w = p * (1 - p)
    loglik = np.sum(y * np.log(p) + (1 - y) * np.log1p(-p))
    return float(loglik + 0.5 * np.log(np.linalg.det(X.T @ np.diag(w) @ X)))


def _modified_score(beta: np.ndarray, y: np.ndarray, X: np.ndarray) -> np.ndarray:
    """U*(b) = X'(y − p + h(½ − p)), h the diagonal of W^½ X (X'WX)⁻¹ X' W^½ from a QR factorisation."""
    p = stats.logistic.cdf(X @ beta)
    q, _ = np.linalg.qr(np.sqrt(p * (1 - p))[:, None] * X)
    h = np.sum(q**2, axis=1)
    return X.T @ (y - p + h * (0.5 - p))


def _reference(y: np.ndarray, X: np.ndarray, alpha: float = 0.05):
    """Independent Firth fit: root of U*, profile CIs and PL p-values by generic scipy optimisers."""
    k = X.shape[1]
    beta = optimize.root(_modified_score, np.zeros(k), args=(y, X), method="hybr", tol=1e-13).x
    top = _pl(beta, y, X)

    def profile(j: int, value: float) -> float:
        others = [i for i in range(k) if i != j]

        def negative(free: np.ndarray) -> float:
            b = np.empty(k)
            b[others], b[j] = free, value
            return -_pl(b, y, X)

        best = optimize.minimize(negative, beta[others], method="BFGS", options={"gtol": 1e-9})
        return -best.fun

    q = stats.chi2.ppf(1 - alpha, 1)
    cis, ps = [], []
    for j in range(k):

        def gap(v, j=j):
            return 2 * (top - profile(j, v)) - q

        lo_out, hi_out = beta[j] - 1, beta[j] + 1
        while gap(lo_out) < 0:
            lo_out -= 2 * (beta[j] - lo_out)
        while gap(hi_out) < 0:
            hi_out += 2 * (hi_out - beta[j])
        cis.append((optimize.brentq(gap, lo_out, beta[j]), optimize.brentq(gap, beta[j], hi_out)))
        ps.append(stats.chi2.sf(2 * (top - profile(j, 0.0)), 1))
    return beta, top, cis, ps


def _cohort(n: int, seed: int, separate: bool = False):
    rng = np.random.default_rng(seed)
    x1 = rng.normal(0, 1, n)
    x2 = rng.binomial(1, 0.5, n).astype(float)
    y = (rng.random(n) < stats.logistic.cdf(-0.3 + 1.1 * x1 + 0.6 * x2)).astype(float)
    if separate:
        x1 = np.where(y == 1, np.abs(x1) + 0.2, -np.abs(x1) - 0.2)
    return y, np.column_stack([x1, x2])


@pytest.mark.parametrize(("n", "seed", "separate"), [(40, 1, False), (25, 5, False), (30, 2, True)])
def test_estimates_cis_and_p_values_match_an_independent_implementation(n, seed, separate):
    y, X = _cohort(n, seed, separate)
    fit = fit_firth(y, X, ["x1", "x2"])
    design = np.column_stack([np.ones(n), X])
    beta, top, cis, ps = _reference(y, design)
    assert np.allclose(fit.coef, beta, atol=1e-7)
    assert fit.loglik == pytest.approx(top, abs=1e-8)
    assert fit.loglik == pytest.approx(penalised_loglik(np.array(fit.coef), y, design), abs=1e-12)
    assert np.allclose(fit.ci_lower, [c[0] for c in cis], atol=2e-5)
    assert np.allclose(fit.ci_upper, [c[1] for c in cis], atol=2e-5)
    assert np.allclose(fit.p_value, ps, rtol=1e-4, atol=1e-9)
    assert fit.names == ("(Intercept)", "x1", "x2")
    for lo, b, hi in zip(fit.ci_lower, fit.coef, fit.ci_upper, strict=True):
        assert lo < b < hi


@pytest.mark.parametrize(("cells"), [(7, 3, 2, 8), (10, 0, 4, 6), (5, 5, 0, 9)])
def test_two_by_two_table_gives_haldanes_half_added_odds_ratio(cells):
    # a saturated logistic model on one binary covariate: Firth = ML on the table with 0.5 in each cell
    a, b, c, d = cells  # exposed cases, exposed controls, unexposed cases, unexposed controls
    x = np.r_[np.ones(a + b), np.zeros(c + d)]
    y = np.r_[np.ones(a), np.zeros(b), np.ones(c), np.zeros(d)]
    fit = fit_firth(y, x, ["exposed"])
    assert fit.coef[0] == pytest.approx(math.log((c + 0.5) / (d + 0.5)), abs=1e-8)
    assert fit.coef[1] == pytest.approx(math.log((a + 0.5) * (d + 0.5) / ((b + 0.5) * (c + 0.5))), abs=1e-8)


def test_complete_separation_gives_finite_estimates_and_finite_cis():
    y, X = _cohort(30, 2, separate=True)
    fit = fit_firth(y, X, ["x1", "x2"])
    assert all(math.isfinite(v) for v in (*fit.coef, *fit.ci_lower, *fit.ci_upper, *fit.se))
    assert fit.coef[1] > 0 and fit.ci_lower[1] > 0 and fit.p_value[1] < 0.05
    odds, lo, hi = fit.odds_ratio("x1")
    assert lo < odds < hi


def test_firth_approaches_maximum_likelihood_as_n_grows():
    import statsmodels.api as sm

    gaps = []
    for n in (100, 3000):
        y, X = _cohort(n, 11)
        fit = fit_firth(y, X)
        ml = sm.Logit(y, sm.add_constant(X)).fit(disp=0).params
        gaps.append(np.max(np.abs(np.array(fit.coef) - ml)))
        assert np.all(np.abs(np.array(fit.coef)) <= np.abs(ml) + 1e-12)  # shrunk towards 0 here
    assert gaps[1] < gaps[0] / 10 and gaps[1] < 2e-3


def test_to_dict_and_frame_hold_the_same_numbers():
    y, X = _cohort(40, 1)
    fit = fit_firth(y, X, ["vbq", "hu"])
    out = fit.to_dict()
    assert out["coefficients"]["hu"]["ci"] == [fit.ci_lower[2], fit.ci_upper[2]]
    assert fit.to_frame().loc["vbq", "p_value"] == fit.p_value[1]


@pytest.mark.parametrize(
    ("y", "X", "message"),
    [
        ([0, 1, 2], [[1], [2], [3]], "0 or 1"),
        ([0, 1, 1], [[1], [np.nan], [3]], "missing or infinite"),
        ([0, 1, 1, 0], [[1, 2], [2, 4], [3, 6], [4, 8]], "collinear"),
        ([0, 1, 1], [[1], [2]], "3 outcomes for 2 rows"),
        ([0, 1, 1], [[1], [2], [3]], "names"),
    ],
)
def test_bad_input_is_refused_with_one_line(y, X, message):
    names = ["a", "b"] if message == "names" else None
    with pytest.raises(AnalysisError, match=message):
        fit_firth(np.array(y, float), np.array(X, float), names)
