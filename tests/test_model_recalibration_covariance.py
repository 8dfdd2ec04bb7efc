"""The recalibrated model's coefficient covariance, against the sampling distribution it describes.

Recalibration is a two-step estimate: β from development patients, then the calibration GLM's (a, b) on
other patients with β held fixed. Its covariance (`recalibrated_covariance`) is checked against a
simulation of both steps repeated 400 times, with the development fits done by statsmodels, and by the
two exact properties of the two-step form.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from ovcf_core import paths
from ovcf_core.model import load_model
from ovcf_core.model.recalibration import recalibrate
from ovcf_core.stats.logistic import design_matrix
from tests.test_model_validation import TRUE_COEF, simulated, with_coefficients

BASE = load_model(paths.DEFAULT_MODEL)
TRUE_BETA = np.array([TRUE_COEF[t] for t in BASE.terms_]) + np.eye(len(BASE.terms_))[0] * -(
    1.2 * 3.2 - 0.02 * 120 + 0.03 * 70 - 0.3 * 0.5 - 0.05 * 24 + 0.4
)
# three patients for the calculator: [1, vbq, hu, age, male, bmi]
PATIENTS = np.array([[1, 3.6, 80, 75, 0, 22], [1, 2.8, 160, 60, 1, 27], [1, 3.2, 120, 70, 0, 24]], float)


def _patients(rng: np.random.Generator, n: int) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "vbq": np.clip(rng.normal(3.2, 0.5, n), 1, 8),
            "hu": np.clip(rng.normal(120, 35, n), 20, 400),
            "age": rng.uniform(50, 90, n),
            "sex": rng.choice(["F", "M"], n),
            "bmi": np.clip(rng.normal(24, 3, n), 15, 40),
        }
    )


def _two_steps(method: str, reps: int = 400, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Develop on 800 patients (statsmodels), recalibrate on 500 others where the model is off by
    intercept -0.5 and slope 0.8; return the new coefficients of every repetition and the mean of the
    covariances `recalibrate` reported."""
    rng = np.random.default_rng(seed)
    coefs, covs = [], []
    for _ in range(reps):
        development = _patients(rng, 800)
        x = design_matrix(development, BASE.variables)
        y = (rng.random(len(x)) < expit(x @ TRUE_BETA)).astype(float)
        fit = sm.GLM(y, x, family=sm.families.Binomial()).fit()
        model = with_coefficients(BASE, dict(zip(BASE.terms_, fit.params, strict=True)))
        model.cov_ = np.asarray(fit.cov_params())
        cohort = _patients(rng, 500)
        lp = design_matrix(cohort, BASE.variables) @ TRUE_BETA
        cohort["ovcf"] = (rng.random(len(cohort)) < expit(-0.5 + 0.8 * lp)).astype(int)
        new = recalibrate(model, cohort, method)
        coefs.append(new.coef_)
        covs.append(new.cov_)
    return np.array(coefs), np.mean(covs, axis=0)


@pytest.mark.parametrize("method", ["intercept", "logistic"])
def test_the_reported_covariance_matches_the_simulated_sampling_covariance(method):
    coefs, reported = _two_steps(method)
    simulated_cov = np.cov(coefs.T)
    # 400 repetitions: a variance is known to about ±7% (one standard error)
    np.testing.assert_array_less(0.85, np.diag(reported) / np.diag(simulated_cov))
    np.testing.assert_array_less(np.diag(reported) / np.diag(simulated_cov), 1.18)
    lp_variance = np.einsum("ij,jk,ik->i", PATIENTS, reported, PATIENTS)
    lp_variance_simulated = np.einsum("ij,jk,ik->i", PATIENTS, simulated_cov, PATIENTS)
    np.testing.assert_array_less(0.85, lp_variance / lp_variance_simulated)
    np.testing.assert_array_less(lp_variance / lp_variance_simulated, 1.18)


@pytest.fixture(scope="module")
def sim():
    return simulated(n=2000)


def _with_cov(model, cov: np.ndarray):
    copy = with_coefficients(model, dict(zip(model.terms_, model.coef_, strict=True)))
    copy.cov_ = cov
    return copy


def test_a_new_slope_absorbs_all_uncertainty_in_the_scale_of_the_linear_predictor(sim):
    table, model = sim
    cov = np.diag(np.abs(model.coef_) * 0.1 + 1e-4) ** 2
    beta = model.coef_
    plain = recalibrate(_with_cov(model, cov), table, "logistic").cov_
    scaled = recalibrate(_with_cov(model, cov + 0.3 * np.outer(beta, beta)), table, "logistic").cov_
    np.testing.assert_allclose(scaled, plain, rtol=1e-9, atol=1e-12)
    # while uncertainty in any other direction does reach the new coefficients
    other = np.zeros_like(beta)
    other[1] = 1.0
    moved = recalibrate(_with_cov(model, cov + 0.3 * np.outer(other, other)), table, "logistic").cov_
    assert not np.allclose(moved, plain)


def test_a_new_intercept_replaces_the_old_intercepts_uncertainty(sim):
    table, model = sim
    cov = np.diag(np.abs(model.coef_) * 0.1 + 1e-4) ** 2
    plain = recalibrate(_with_cov(model, cov), table, "intercept")
    e0 = np.eye(len(model.coef_))[0]
    wider = recalibrate(_with_cov(model, cov + 5.0 * np.outer(e0, e0)), table, "intercept")
    np.testing.assert_allclose(wider.cov_, plain.cov_, rtol=1e-9, atol=1e-12)
    # the slopes keep exactly their own covariance: only the intercept is re-estimated
    np.testing.assert_allclose(plain.cov_[1:, 1:], cov[1:, 1:], rtol=1e-12)
