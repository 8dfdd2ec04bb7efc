"""Recalibrate a model to a new population (Steyerberg, Clinical Prediction Models, ch. 20).

`intercept`: the intercept moves by the calibration-in-the-large a (logit P = a + offset(lp)); `logistic`:
every coefficient is multiplied by the calibration slope b and the intercept becomes b * b0 + a' (logit P =
a' + b lp). Both GLMs come from `calibration.calibration_glms`, so validating the result on the same cohort
gives calibration intercept 0 (and, for `logistic`, slope 1). The new model predicts at the cohort's case
fraction, so its case/control counts become the cohort's (the prior correction to a prevalence stays right).

The new coefficients' covariance carries both sources of uncertainty, the original fit's and the
recalibration's, which come from different patients (`recalibrated_covariance`, a two-step delta method);
the calculator's CI from a recalibrated model uses it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ovcf_core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from ovcf_core.model.calibration import CalibrationFit
    from ovcf_core.model.risk_model import RiskModel
    from ovcf_core.model.validation import ScoredCohort

METHODS = ("intercept", "logistic")


def recalibrate(
    model: RiskModel, table: pd.DataFrame, method: str = "intercept", *, source: str = "cohort",
    file: str | None = None,
) -> RiskModel:  # fmt: skip
    """Recalibrate a model on a cohort, returning a new model (the original is left as it was).

    Parameters
    ----------
    model
        A fitted or loaded model.
    table
        The cohort, with the outcome and the model's variables.
    method
        ``intercept`` (calibration-in-the-large only) or ``logistic`` (intercept and slope).
    source
        Names the cohort in the new model's provenance.
    file
        The cohort's file name, for error messages.

    Returns
    -------
    RiskModel
        The recalibrated model; its case/control counts are the cohort's, so it predicts at the cohort's
        case fraction.

    Raises
    ------
    InputError
        When the method is unknown, the cohort lacks the outcome or a model variable, or the
        recalibration gives non-finite coefficients.
    AnalysisError
        When a calibration fit fails (separation).
    """
    from ovcf_core.model.calibration import calibration_glms
    from ovcf_core.model.persistence import model_from_dict, model_to_dict
    from ovcf_core.model.validation import score_cohort

    if method not in METHODS:
        raise InputError(f"recalibration method '{method}' is not one of {', '.join(METHODS)}")
    scored = score_cohort(model, table, None, file=file)
    fit = calibration_glms(scored.y, scored.lp)
    new = model_from_dict(model_to_dict(model))  # a deep copy through the file format
    coef = model.coef_.copy()
    if method == "intercept":
        coef[0] += fit.intercept
    else:
        coef = fit.slope * coef
        coef[0] += fit.slope_model_intercept
    new.coef_, new.cov_ = coef, recalibrated_covariance(model, scored, fit, method)
    new.n_cases_ = int((scored.y == 1).sum())
    new.n_controls_ = int((scored.y == 0).sum())
    new.provenance_ = {
        **model.provenance_,
        "recalibration": method,
        "recalibrated_on": str(source)[:200],
        "recalibration_n": len(scored.y),
        "recalibration_intercept": fit.intercept if method == "intercept" else fit.slope_model_intercept,
        "recalibration_slope": 1.0 if method == "intercept" else fit.slope,
        "original_n_cases": model.n_cases_,
        "original_n_controls": model.n_controls_,
    }
    if not np.all(np.isfinite(coef)):
        raise InputError(
            "recalibration gave non-finite coefficients; the cohort cannot recalibrate this model"
        )
    return new


def recalibrated_covariance(
    model: RiskModel, scored: ScoredCohort, fit: CalibrationFit, method: str
) -> np.ndarray:
    """Return the covariance of the recalibrated coefficients g = a e0 + b β (e0: the intercept's unit).

    A two-step estimate (Murphy & Topel, 1985): β from the development patients (covariance Σβ), then
    θ = (a, b) from the cohort's calibration GLM with β held fixed (covariance Σθ, the GLM's Wald
    covariance; b = 1 and θ = a alone for `intercept`). The two samples are independent, so to first order

        Cov g = G Σβ Gᵀ + H Σθ Hᵀ,   H = ∂g/∂θ = [e0, β],   G = dg/dβ = b I + H dθ/dβ,

    where dθ/dβ = Σθ ∂U/∂β follows θ's score equations U = Σ zᵢ (yᵢ - pᵢ) (zᵢ = 1 or [1, lpᵢ], lpᵢ = xᵢ'β)
    as β moves. The re-estimated part of β drops out: G β = 0 for `logistic` (a new slope absorbs β's
    scale) and G e0 = 0 for `intercept` (a new intercept absorbs the old one's error).

    Parameters
    ----------
    model
        The model being recalibrated (β and Σβ).
    scored
        The cohort as `score_cohort` scored it, with its model matrix.
    fit
        The calibration GLMs fitted on it.
    method
        ``intercept`` or ``logistic``.

    Returns
    -------
    numpy.ndarray
        The covariance of the new coefficients, intercept first.
    """
    from ovcf_core.model.variables import expit

    beta, cov_beta = np.asarray(model.coef_, dtype=float), np.asarray(model.cov_, dtype=float)
    x, y, lp = scored.design, scored.y, scored.lp
    e0 = np.zeros_like(beta)
    e0[0] = 1.0
    if method == "intercept":
        slope, sigma_theta = 1.0, np.array([[fit.intercept_se**2]])
        p = expit(fit.intercept + lp)
        du_dbeta = -((p * (1 - p)) @ x)[None, :]  # z = 1 does not move with β; η = a + lp does
        h = e0[:, None]
    else:
        slope = fit.slope
        cov_ab = fit.slope_model_covariance
        sigma_theta = np.array([[fit.slope_model_intercept_se**2, cov_ab], [cov_ab, fit.slope_se**2]])
        p = expit(fit.slope_model_intercept + slope * lp)
        w = p * (1 - p)
        z = np.column_stack([np.ones_like(lp), lp])
        du_dbeta = -slope * (z * w[:, None]).T @ x  # through η = a + b xᵢ'β ...
        du_dbeta[1] += (y - p) @ x  # ... and through z's second element, lpᵢ = xᵢ'β
        h = np.column_stack([e0, beta])
    g = slope * np.eye(len(beta)) + h @ (sigma_theta @ du_dbeta)
    return g @ cov_beta @ g.T + h @ sigma_theta @ h.T
