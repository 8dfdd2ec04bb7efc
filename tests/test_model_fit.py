"""RiskModel.fit against independent fits (statsmodels, scikit-learn) and its error handling."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from model_cohorts import simulated_cohort
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from ovcf_core.errors import AnalysisError, InputError
from ovcf_core.model import RiskModel
from ovcf_core.model.risk_model import calibration_intercept, calibration_slope


def independent_design(table: pd.DataFrame) -> pd.DataFrame:
    """The adjusted model's design built by hand: intercept, vbq, hu, age, male indicator, bmi."""
    return sm.add_constant(
        pd.DataFrame(
            {
                "vbq": table["vbq"],
                "hu": table["hu"],
                "age": table["age"],
                "sex_male": (table["sex"] == "M").astype(float),
                "bmi": table["bmi"],
            }
        )
    )


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return simulated_cohort(n=160, seed=11)


@pytest.fixture(scope="module")
def fitted(cohort) -> RiskModel:
    return RiskModel(n_bootstrap=200, random_state=5).fit(cohort)


def test_coefficients_and_covariance_equal_statsmodels_logit(cohort, fitted):
    reference = sm.Logit(cohort["ovcf"], independent_design(cohort)).fit(disp=0)
    np.testing.assert_allclose(fitted.coef_, reference.params.to_numpy(), rtol=1e-6)
    np.testing.assert_allclose(fitted.cov_, reference.cov_params().to_numpy(), rtol=1e-5)
    assert fitted.terms_ == ("const", "vbq", "hu", "age", "sex_male", "bmi")


def test_training_counts_auc_and_brier_match_scikit_learn(cohort, fitted):
    y = cohort["ovcf"].to_numpy()
    p = fitted.predict_proba(cohort)
    summary = fitted.summary_
    assert (summary.n_cases, summary.n_controls) == (int(y.sum()), int((1 - y).sum()))
    assert summary.auc == pytest.approx(roc_auc_score(y, p), abs=1e-12)
    assert summary.brier == pytest.approx(brier_score_loss(y, p), abs=1e-12)
    assert summary.auc_ci[0] < summary.auc < summary.auc_ci[1]


def test_apparent_calibration_of_a_maximum_likelihood_fit_is_perfect(fitted):
    assert fitted.summary_.calibration_slope == pytest.approx(1.0, abs=1e-6)
    assert fitted.summary_.calibration_intercept == pytest.approx(0.0, abs=1e-6)
    bins = fitted.summary_.calibration
    assert sum(bins["n"]) == 160 and len(bins["observed"]) == 10


def test_calibration_slope_of_a_doubled_predictor_is_one_half(cohort, fitted):
    y = cohort["ovcf"].to_numpy()
    lp = fitted.linear_predictor(cohort)
    assert calibration_slope(y, 2 * lp) == pytest.approx(0.5, rel=1e-6)
    assert calibration_intercept(y, lp + 0.7) == pytest.approx(-0.7, abs=1e-6)


def test_harrell_optimism_equals_an_independent_bootstrap(cohort, fitted):
    """Same seed, same resamples: refit with scikit-learn (no penalty), score with roc_auc_score."""
    y = cohort["ovcf"].to_numpy()
    X = independent_design(cohort).to_numpy()[:, 1:]
    rng = np.random.default_rng(5)
    auc_gaps, slopes = [], []
    for _ in range(200):
        index = rng.integers(0, len(y), size=len(y))
        clf = LogisticRegression(C=np.inf, solver="newton-cholesky", max_iter=200, tol=1e-10).fit(
            X[index], y[index]
        )
        lp_original = clf.decision_function(X)
        auc_gaps.append(
            roc_auc_score(y[index], clf.decision_function(X[index])) - roc_auc_score(y, lp_original)
        )
        slopes.append(sm.Logit(y, sm.add_constant(lp_original)).fit(disp=0).params[1])
    summary = fitted.summary_
    assert summary.n_bootstrap == 200 and summary.n_bootstrap_failed == 0
    assert summary.auc_optimism == pytest.approx(np.mean(auc_gaps), abs=1e-4)
    assert summary.slope_corrected == pytest.approx(np.mean(slopes), abs=1e-3)
    assert summary.auc_corrected == pytest.approx(summary.auc - np.mean(auc_gaps), abs=1e-4)
    assert summary.auc_corrected < summary.auc and summary.slope_corrected < 1.0


def test_bootstrap_is_seeded_and_reports_progress(cohort):
    calls: list[tuple[int, int]] = []
    first = RiskModel(features=("vbq",), adjust=(), random_state=3).fit(
        cohort, progress=lambda d, t: calls.append((d, t))
    )
    second = RiskModel(features=("vbq",), adjust=(), random_state=3).fit(cohort)
    assert calls[0] == (1, 200) and calls[-1] == (200, 200) and len(calls) == 200
    assert first.summary_.auc_optimism == second.summary_.auc_optimism


def test_rows_missing_a_model_variable_are_excluded_and_counted(cohort):
    holey = cohort.copy()
    holey.loc[holey.index[:7], "hu"] = np.nan
    model = RiskModel(n_bootstrap=0).fit(holey)
    assert model.summary_.n_excluded == 7
    assert model.n_cases_ + model.n_controls_ == len(cohort) - 7


def test_one_class_only_is_refused(cohort):
    with pytest.raises(AnalysisError, match="too few"):
        RiskModel(n_bootstrap=0).fit(cohort.assign(ovcf=1.0))


def test_perfect_separation_is_refused(cohort):
    separated = cohort.assign(vbq=np.where(cohort["ovcf"] == 1, 4.5, 2.5))
    with pytest.raises(AnalysisError, match="separation"):
        RiskModel(features=("vbq",), adjust=(), n_bootstrap=0).fit(separated)


def test_missing_column_and_unknown_variables_name_the_problem(cohort):
    with pytest.raises(InputError, match="'hu'"):
        RiskModel(n_bootstrap=0).fit(cohort.drop(columns="hu"))
    with pytest.raises(InputError, match="not an indicator"):
        RiskModel(features=("height",), n_bootstrap=0).fit(cohort)
    with pytest.raises(InputError, match="cannot be adjusted"):
        RiskModel(adjust=("weight",), n_bootstrap=0).fit(cohort)
    with pytest.raises(InputError, match="at least 200"):
        RiskModel(n_bootstrap=50).fit(cohort)


def test_unfitted_model_cannot_predict():
    with pytest.raises(AnalysisError, match="not fitted"):
        RiskModel().predict({"vbq": 3.0, "hu": 100})


def test_fit_keeps_the_constructor_parameters_as_given_and_clone_works(cohort):
    from sklearn.base import clone

    features = ["VBQ", " hu "]
    model = RiskModel(features=features, adjust=("age",), n_bootstrap=0)
    model.fit(cohort)
    assert model.get_params()["features"] is features, "fit must not rewrite a constructor parameter"
    assert model.features_ == ("vbq", "hu") and model.adjust_ == ("age",)
    copy = clone(model)
    assert copy.get_params() == model.get_params() and not hasattr(copy, "coef_")
    probabilities = model.predict_proba(cohort)
    assert isinstance(probabilities, np.ndarray) and probabilities.shape == (len(cohort),)
    with pytest.raises(ValueError, match="no parameter 'alpha'"):
        model.set_params(alpha=1.0)
