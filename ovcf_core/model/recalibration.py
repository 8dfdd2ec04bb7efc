"""Recalibrate a model to a new population (Steyerberg, Clinical Prediction Models, ch. 20).

`intercept`: the intercept moves by the calibration-in-the-large a (logit P = a + offset(lp)); `logistic`:
every coefficient is multiplied by the calibration slope b and the intercept becomes b * b0 + a' (logit P =
a' + b lp). Both GLMs come from `calibration.calibration_glms`, so validating the result on the same cohort
gives calibration intercept 0 (and, for `logistic`, slope 1). The new model predicts at the cohort's case
fraction, so its case/control counts become the cohort's (the prior correction to a prevalence stays right).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from ovcf_core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

    from ovcf_core.model.risk_model import RiskModel

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
    coef, cov = model.coef_.copy(), model.cov_.copy()
    if method == "intercept":
        coef[0] += fit.intercept
        cov[0, 0] += fit.intercept_se**2
    else:
        coef = fit.slope * coef
        coef[0] += fit.slope_model_intercept
        cov = fit.slope**2 * cov
        cov[0, 0] += fit.slope_model_intercept_se**2
    new.coef_, new.cov_ = coef, cov
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
