"""Smoothed (binormal) ROC curve as pROC's `smooth(method="binormal")`.

A straight line fitted by least squares to the empirical ROC points on the normal-deviate scale, the
smooth curve it implies and its AUC.

pROC's exact procedure (`smooth_roc_binormal`, `auc.roc`): take every empirical ROC point (one per threshold,
including the two ends), map sensitivity and specificity through qnorm, drop the points where either is
infinite (sensitivity or specificity 0 or 1), and fit `lm(qnorm(sp) ~ qnorm(se))` — qnorm(specificity) on
qnorm(sensitivity), not the other way round. The AUC is pnorm(intercept / sqrt(1 + slope^2)). In the usual
binormal form qnorm(se) = a + b qnorm(1 - sp) the same line has b = -1/slope and a = -intercept/slope, and
the AUC is the familiar pnorm(a / sqrt(1 + b^2)). The points come from `ovcf_core.stats.roc`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.special import ndtr, ndtri

from ovcf_core.errors import AnalysisError
from ovcf_core.schema import Direction
from ovcf_core.stats.roc import _roc_points, _split

SMOOTH_POINTS = 512  # pROC's default n


@dataclass(frozen=True)
class BinormalRoc:
    """Hold a binormal fit to a marker's ROC points.

    pROC's coefficients, the usual (a, b), the AUC and the smoothed curve (sensitivity ascending, `n`
    points).
    """

    intercept: float  # pROC: qnorm(sp) = intercept + slope * qnorm(se)
    slope: float
    a: float  # usual form: qnorm(se) = a + b * qnorm(1 - sp)
    b: float
    auc: float
    direction: Direction
    n_points: int  # ROC points in the fit (finite on both axes)
    sensitivity: np.ndarray
    specificity: np.ndarray

    def to_dict(self) -> dict:
        """Plain JSON-ready values (the curve as lists)."""
        return {
            "intercept": self.intercept,
            "slope": self.slope,
            "a": self.a,
            "b": self.b,
            "auc": self.auc,
            "direction": str(self.direction),
            "n_points": self.n_points,
            "sensitivity": self.sensitivity.tolist(),
            "specificity": self.specificity.tolist(),
        }

    def to_frame(self) -> pd.DataFrame:
        """Return the smoothed curve: sensitivity, specificity and 1 - specificity."""
        return pd.DataFrame(
            {"sensitivity": self.sensitivity, "specificity": self.specificity, "fpr": 1 - self.specificity}
        )


def binormal_points(
    y: np.ndarray, score: np.ndarray, direction: Direction | str
) -> tuple[np.ndarray, np.ndarray]:
    """Map the ROC points to (qnorm(sensitivity), qnorm(specificity)), both finite: what pROC fits."""
    _split(y, np.asarray(score, dtype=float))  # AnalysisError with too few cases or controls
    _, sens, spec = _roc_points(y, score, direction)
    z_se, z_sp = ndtri(sens), ndtri(spec)
    keep = np.isfinite(z_se) & np.isfinite(z_sp)
    return z_se[keep], z_sp[keep]


def binormal_roc(
    y: np.ndarray, score: np.ndarray, direction: Direction | str, n: int = SMOOTH_POINTS
) -> BinormalRoc:
    """Smooth the marker's ROC curve in `direction` as pROC's `smooth(method="binormal")`, to `n` points.

    Returns
    -------
    BinormalRoc
        The fitted line, its AUC and the smoothed curve.

    Raises
    ------
    AnalysisError
        If `n` < 2, too few cases or controls have a value, or the ROC points strictly inside (0, 1) are
        fewer than two or all share one sensitivity (no line can be fitted).
    """
    if n < 2:
        raise AnalysisError(f"a smoothed curve needs at least 2 points (got {n})")
    z_se, z_sp = binormal_points(y, score, direction)
    if len(z_se) <= 1 or np.ptp(z_se) == 0:
        raise AnalysisError("ROC curve not smoothable: too few points strictly inside (0, 1)")
    dx = z_se - z_se.mean()
    slope = float(np.dot(dx, z_sp - z_sp.mean()) / np.dot(dx, dx))
    intercept = float(z_sp.mean() - slope * z_se.mean())
    auc = float(ndtr(intercept / np.sqrt(1.0 + slope * slope)))
    a, b = (-intercept / slope, -1.0 / slope) if slope != 0 else (float("nan"), float("nan"))
    sensitivity = np.linspace(0.0, 1.0, n)
    with np.errstate(invalid="ignore"):  # 0 * inf at the ends when the slope is 0
        specificity = ndtr(intercept + slope * ndtri(sensitivity))
    return BinormalRoc(
        intercept, slope, float(a), float(b), auc, Direction(direction), len(z_se), sensitivity, specificity
    )
