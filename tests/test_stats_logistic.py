"""Logistic models vs statsmodels fitted here, conditional logit vs its 1:1 identity, VIF, separation."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from stats_cohorts import paired_cohort

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.logistic import fit_conditional, fit_logistic


def test_multivariable_model_matches_statsmodels_and_warns_on_collinearity():
    table = paired_cohort()
    table["t_score"] = (table.hu - 110) / 30 + np.random.default_rng(1).normal(0, 0.2, len(table))
    result = fit_logistic(table, ["hu", "t_score", "vbq"], ["age", "bmi"])
    X = sm.add_constant(table[["hu", "t_score", "vbq", "age", "bmi"]].to_numpy(float))
    ref = sm.Logit(table.ovcf.to_numpy(float), X).fit(disp=0)
    for i, term in enumerate(["hu", "t_score", "vbq", "age", "bmi"], start=1):
        assert result.term(term).coef == pytest.approx(ref.params[i], rel=1e-6, abs=1e-9)
        assert result.term(term).se == pytest.approx(ref.bse[i], rel=1e-6)
    assert any("collinearity" in w and "hu" in w for w in result.warnings)
    assert result.vif["hu"] > 5


def test_conditional_logit_equals_logit_on_pair_differences():
    """For 1:1 pairs the conditional likelihood is a no-intercept logit of 1 on (case - control)."""
    table = paired_cohort(n_pairs=80)
    result = fit_conditional(table, ["vbq", "hu"], pair="pair_id")
    case = table[table.ovcf == 1].set_index("pair_id")[["vbq", "hu"]]
    control = table[table.ovcf == 0].set_index("pair_id")[["vbq", "hu"]].reindex(case.index)
    diff = (case - control).to_numpy(float)
    y = np.ones(len(diff))
    # the same likelihood written with both signs so the no-intercept logit has two classes
    ref = sm.Logit(np.r_[y, 0 * y], np.r_[diff, -diff]).fit(disp=0)
    assert result.conditional and result.n == 160
    assert result.term("vbq").coef == pytest.approx(ref.params[0], rel=1e-5)
    assert result.term("hu").coef == pytest.approx(ref.params[1], rel=1e-5)


def test_separation_gives_no_odds_ratio_and_a_message():
    table = paired_cohort()
    table["split"] = np.where(table.ovcf == 1, 5.0, 1.0) + np.random.default_rng(0).uniform(0, 1, len(table))
    result = fit_logistic(table, ["split"], ["age"], firth="never")
    assert np.isnan(result.term("split").or_per_unit) and result.method is None
    assert any("complete separation by split" in w for w in result.warnings)


def _assert_newton_equals_statsmodels(y: np.ndarray, X: np.ndarray, rtol: float, se_rtol: float) -> None:
    """`newton_logit` converges to statsmodels' Logit maximum, with the same standard errors."""
    import warnings

    from ovcf_core.stats.logistic import newton_logit

    beta, cov, converged = newton_logit(y, X)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = sm.Logit(y, X).fit(disp=0, maxiter=200)
    assert converged
    np.testing.assert_allclose(beta, reference.params, rtol=rtol, atol=rtol * 1e-3)
    np.testing.assert_allclose(np.sqrt(np.diag(cov)), reference.bse, rtol=se_rtol)


@pytest.mark.parametrize("shift", [0.0, 1e4])
def test_large_sample_fit_by_chord_steps_equals_statsmodels(shift):
    from ovcf_core.stats.logistic import LARGE_SAMPLE_ROWS

    rng = np.random.default_rng(5)
    n = LARGE_SAMPLE_ROWS + 1000
    x = rng.normal(size=n)
    y = (rng.random(n) < 1 / (1 + np.exp(-(0.3 + 0.8 * x)))).astype(float)
    X = np.column_stack([np.ones(n), shift + x, rng.normal(24, 3, n)])  # a badly centred column too
    _assert_newton_equals_statsmodels(y, X, rtol=1e-9, se_rtol=1e-6)


@pytest.mark.parametrize("cases", [1, 3, 40])
def test_large_sample_with_rare_cases_is_fitted_whatever_its_warm_start_subsample_holds(cases):
    """The warm start comes from a subsample that may hold no case, or one that separates: the full fit
    still reaches statsmodels' maximum. (With no case at all `fit_logistic` refuses before fitting.)"""
    from ovcf_core.stats.logistic import LARGE_SAMPLE_ROWS

    rng = np.random.default_rng(11)
    n = LARGE_SAMPLE_ROWS + 5000
    x = rng.normal(size=n)
    y = np.zeros(n)
    y[rng.choice(np.flatnonzero(x > 1.0), size=cases, replace=False)] = 1.0  # cases only at high x
    _assert_newton_equals_statsmodels(y, np.column_stack([np.ones(n), x]), rtol=1e-7, se_rtol=1e-5)


def test_the_one_engine_equals_statsmodels_on_badly_scaled_columns_and_with_an_offset():
    """`fit_logit` serves the analysis, the risk model and calibration: same MLE and covariance as
    statsmodels' Logit, with columns on wildly different scales and with a fixed offset."""
    import statsmodels.api as sm

    from ovcf_core.stats.logistic import fit_logit

    rng = np.random.default_rng(11)
    n = 3000
    hu = rng.normal(100_000.0, 40.0, n)  # a badly centred column
    ratio = rng.normal(0.0, 1e-4, n)  # a tiny-scale column
    offset = rng.normal(0.0, 0.5, n)
    eta = -0.5 + 0.02 * (hu - 100_000.0) + 3000.0 * ratio + offset
    y = (rng.random(n) < 1 / (1 + np.exp(-eta))).astype(float)
    X = np.column_stack([np.ones(n), hu, ratio])
    for off in (None, offset):
        coef, cov = fit_logit(y, X, offset=off)
        reference = sm.Logit(y, X, offset=off).fit(disp=0, maxiter=200, method="bfgs", gtol=1e-12)
        reference = sm.Logit(y, X, offset=off).fit(disp=0, start_params=reference.params, method="newton")
        np.testing.assert_allclose(coef, reference.params, rtol=1e-6)
        np.testing.assert_allclose(cov, reference.cov_params(), rtol=1e-5)


def test_the_one_engine_refuses_perfect_separation_and_collinearity():
    from ovcf_core.stats.logistic import fit_logit

    x = np.arange(20.0)
    y = (x >= 10).astype(float)
    with pytest.raises(AnalysisError, match="perfect separation"):
        fit_logit(y, np.column_stack([np.ones(20), x]))
    rng = np.random.default_rng(2)
    y = (rng.random(40) < 0.5).astype(float)
    z = rng.normal(size=40)
    with pytest.raises(AnalysisError, match=r"collinear|did not converge"):
        fit_logit(y, np.column_stack([np.ones(40), z, 2 * z]))
