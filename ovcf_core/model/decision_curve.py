"""Decision curve analysis (Vickers & Elkin 2006), as the `dcurves` package computes it.

The net benefit of the model, of treating everyone and of treating no one over a range of threshold
probabilities.

A patient is positive when prediction >= threshold t. With pi the prevalence (given for a case-control
sample, as dcurves' `prevalence=`; else the cohort's case fraction):
    net benefit = sens * pi - (1 - spec) * (1 - pi) * t / (1 - t);   treat all = pi - (1 - pi) * t / (1 - t)
Without a given prevalence this equals TP/n - FP/n * t / (1 - t). Vectorised: one sort, one search per group.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ovcf_core.errors import InputError

if TYPE_CHECKING:
    import pandas as pd

DEFAULT_THRESHOLDS = (0.01, 0.99, 0.01)


def threshold_grid(low: float, high: float, step: float) -> np.ndarray:
    """Build the thresholds low, low + step, ..., high (inclusive, rounded to 10 decimals).

    Parameters
    ----------
    low, high
        The first and last threshold probability, each strictly between 0 and 1.
    step
        The spacing, above 0.

    Returns
    -------
    numpy.ndarray
        The grid; rounding keeps 0.1 + 0.2 from showing as 0.30000000000000004 in the JSON.

    Raises
    ------
    InputError
        When a bound is outside (0, 1), HI < LO, STEP <= 0, or the grid would exceed 10,000 thresholds.
    """
    if not (0 < low < 1 and 0 < high < 1):
        raise InputError(f"thresholds must lie strictly between 0 and 1 (got {low:g}:{high:g})")
    if step <= 0 or high < low:
        raise InputError(f"thresholds {low:g}:{high:g}:{step:g}: need LO <= HI and STEP > 0")
    count = int(np.floor((high - low) / step + 1e-9)) + 1
    if count > 10_000:
        raise InputError(f"thresholds {low:g}:{high:g}:{step:g} give {count} thresholds; at most 10000")
    return np.round(low + step * np.arange(count), 10)


def parse_thresholds(text: str) -> np.ndarray:
    """Parse 'LO:HI:STEP' (e.g. 0.01:0.99:0.01) into a threshold grid.

    Parameters
    ----------
    text
        The grid as a user typed it.

    Returns
    -------
    numpy.ndarray
        The thresholds (see `threshold_grid`).

    Raises
    ------
    InputError
        Naming the text, when it is not three finite numbers separated by colons or the grid is refused
        by `threshold_grid`.
    """
    parts = str(text).split(":")
    try:
        low, high, step = (float(p) for p in parts)
    except ValueError:
        raise InputError(f"thresholds '{text}': expected LO:HI:STEP, e.g. 0.01:0.99:0.01") from None
    if not all(np.isfinite([low, high, step])):
        raise InputError(f"thresholds '{text}': LO, HI and STEP must be finite numbers")
    return threshold_grid(low, high, step)


@dataclass(frozen=True)
class DecisionCurve:
    """Net benefit per threshold of the model, of treat-all and of treat-none (0).

    The net reduction in interventions per 100 patients is dcurves' net_intervention_avoided x 100.
    """

    thresholds: np.ndarray
    net_benefit: np.ndarray
    net_benefit_all: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    prevalence: float
    prevalence_given: bool

    @property
    def interventions_avoided_per_100(self) -> np.ndarray:
        """Return (NB_model - NB_all) / (t / (1 - t)) x 100: unnecessary interventions avoided per 100."""
        t = self.thresholds
        return (self.net_benefit - self.net_benefit_all) * (1 - t) / t * 100

    def to_records(self) -> list[dict[str, Any]]:
        """Return the contract's `decision_curve` list plus extra keys (treat none, reduction, sens/spec)."""
        avoided = self.interventions_avoided_per_100
        return [
            {
                "threshold": float(t),
                "net_benefit": float(nb),
                "net_benefit_all": float(nba),
                "net_benefit_none": 0.0,
                "interventions_avoided_per_100": float(a),
                "sensitivity": float(se),
                "specificity": float(sp),
            }
            for t, nb, nba, a, se, sp in zip(
                self.thresholds, self.net_benefit, self.net_benefit_all, avoided,
                self.sensitivity, self.specificity, strict=True,
            )
        ]  # fmt: skip

    def to_dict(self) -> dict[str, Any]:
        """Return the prevalence used, whether it was given, and the points, as JSON-ready values."""
        return {
            "prevalence": self.prevalence,
            "prevalence_given": self.prevalence_given,
            "points": self.to_records(),
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the curve as a table, one row per threshold (the columns of `to_records`)."""
        import pandas as pd

        return pd.DataFrame(self.to_records())


def decision_curve(
    y: np.ndarray,
    prediction: np.ndarray,
    thresholds: np.ndarray | None = None,
    prevalence: float | None = None,
) -> DecisionCurve:
    """Compute the net benefit of `prediction` at each threshold for the 0/1 outcome `y`.

    Parameters
    ----------
    y
        Outcomes, 1 = fracture, 0 = control.
    prediction
        Predicted probabilities; a patient is positive when prediction >= threshold.
    thresholds
        Threshold probabilities (None: 0.01 to 0.99 by 0.01).
    prevalence
        The population's prevalence for a case-control sample (as dcurves' ``prevalence=``); None uses
        the cohort's case fraction.

    Returns
    -------
    DecisionCurve
        Net benefit of the model and of treat-all, with sensitivity and specificity per threshold.

    Raises
    ------
    InputError
        When the outcome has no case or no control.
    """
    y = np.asarray(y, dtype=float)
    prediction = np.asarray(prediction, dtype=float)
    t = threshold_grid(*DEFAULT_THRESHOLDS) if thresholds is None else np.asarray(thresholds, dtype=float)
    cases = np.sort(prediction[y == 1])
    controls = np.sort(prediction[y == 0])
    if len(cases) == 0 or len(controls) == 0:
        raise InputError("a decision curve needs both cases and controls", column="ovcf")
    sens = (len(cases) - np.searchsorted(cases, t, side="left")) / len(cases)  # share >= t
    spec = np.searchsorted(controls, t, side="left") / len(controls)  # share < t
    pi = float(len(cases) / len(y)) if prevalence is None else float(prevalence)
    odds = t / (1 - t)
    net_benefit = sens * pi - (1 - spec) * (1 - pi) * odds
    net_benefit_all = pi - (1 - pi) * odds
    return DecisionCurve(t, net_benefit, net_benefit_all, sens, spec, pi, prevalence is not None)
