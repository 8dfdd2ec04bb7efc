"""The risk model's variables in one place: term names, labels, units and plausible ranges.

Also the logistic function; shared by the model, its predictions and its file format without an import
cycle.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ovcf_core.errors import InputError
from ovcf_core.schema import COVARIATE_COLUMNS, SEX, Indicator

INTERCEPT = "const"
SEX_TERM = "sex_male"  # sex enters the model as 1 = male, 0 = female


def expit(x: np.ndarray | float) -> np.ndarray:
    """Compute the logistic function 1 / (1 + e^-x) without overflow for any x.

    Numpy only, so predicting needs no scipy; equal to scipy.special.expit (tested).

    Parameters
    ----------
    x
        Log-odds, a number or an array.

    Returns
    -------
    numpy.ndarray
        Probabilities of the same shape (a 0-d array for a number).
    """
    x = np.asarray(x, dtype=float)
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1.0 / (1.0 + e), e / (1.0 + e))


def term_name(variable: str) -> str:
    """Return the model term of a variable: itself, except sex, which enters as the indicator `sex_male`."""
    return SEX_TERM if variable == SEX else variable


def variable_info(variable: str) -> dict[str, Any]:
    """Describe a model variable by its label, unit and plausible range (from `schema`).

    Parameters
    ----------
    variable
        An indicator column, a covariate (age, bmi) or sex.

    Returns
    -------
    dict
        ``name``, ``label``, ``unit`` and ``plausible_range`` ([low, high], None for sex), as the model
        file and the pages show them.

    Raises
    ------
    InputError
        When `variable` is not a model variable.
    """
    indicator = Indicator.from_column(variable)
    if indicator is not None:
        return {
            "name": variable,
            "label": indicator.label,
            "unit": indicator.unit,
            "plausible_range": [indicator.low, indicator.high],
        }
    if variable in COVARIATE_COLUMNS:
        spec = COVARIATE_COLUMNS[variable]
        return {
            "name": variable,
            "label": spec.label,
            "unit": spec.unit,
            "plausible_range": [spec.low, spec.high],
        }
    if variable == SEX:
        return {
            "name": SEX,
            "label": "Sex",
            "unit": "F/M (model term sex_male = 1 for M)",
            "plausible_range": None,
        }
    raise InputError(f"'{variable}' is not a model variable")
