"""DeLong-type variance of a partial AUC and the z test of two correlated partial AUCs (same patients).

pROC refuses `roc.test(method="delong")` for partial AUCs, and the plain DeLong components do not
apply: the partial AUC over a specificity range depends on where that range falls among the controls
(estimated quantiles), not only on case-control comparisons. Method, with higher values meaning a case,
cases X (m), controls Y (n), F the controls' distribution, R(t) the ROC curve and the range of false
positive rates [a, b] = [1 - SP_HI, 1 - SP_LO]:

    pAUC = integral_a^b R(t) dt = P(X > Y, F^-1(1 - b) < Y <= F^-1(1 - a))   (ties count one half)

Its empirical value (the exact area under the empirical curve, `partial_auc`) is a two-sample
U-statistic with a control weight w_j (the share of control j's step of 1/n that lies in [a, b])
plus the effect of the two estimated quantiles. By the delta method with the quantiles' Bahadur
representation, its influence on each patient gives DeLong-type structural components:

    V10_i = (1/n) sum_j psi(X_i, Y_j) w_j                                       (case i)
    V01_j = (1/m) sum_i psi(X_i, Y_j) w_j
            + R(a) ((1 - a) - [u_j >= a]) - R(b) ((1 - b) - [u_j >= b])         (control j)

with psi = 1, 1/2, 0 for X > Y, X = Y, X < Y and u_j the control's false positive rate (the share of
controls above it, ties at their middle). Then, as DeLong, DeLong & Clarke-Pearson (1988),
var(pAUC) = var(V10)/m + var(V01)/n and the covariance of two markers' pAUCs is cov(V10_A, V10_B)/m +
cov(V01_A, V01_B)/n. Over the full range (a, b) = (0, 1) the quantile terms vanish and this is exactly
DeLong's AUC variance (tested). It is the asymptotic variance of the empirical partial AUC derived by
Dodd & Pepe (2003, Biometrics 59:614-623) and He & Escobar (2008, Statistics in Medicine 27:5291-5308)
through the same U-statistic and quantile expansion; here it is checked in the tests against the
sampling variance of simulated cohorts, a large bootstrap and the components computed by brute force.

McClish's correction is linear in the partial AUC with the same range for both markers, so the z of
the corrected values equals that of the raw ones; both are reported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ovcf_core.errors import AnalysisError
from ovcf_core.schema import Direction
from ovcf_core.stats.estimates import difference_z
from ovcf_core.stats.partial_auc import _complete, partial_auc
from ovcf_core.stats.roc import PairedScores, PairedTest


def _roc_at(cases: np.ndarray, controls: np.ndarray, fpr: float) -> float:
    """Read the empirical ROC curve's sensitivity at false positive rate `fpr` (higher = case).

    The curve joins the points (share of controls >= v, share of cases >= v) over the observed values v
    by straight lines (ties are diagonal pieces); on a vertical piece at exactly `fpr` it is the middle
    of that piece.
    """
    values = np.unique(np.r_[cases, controls])[::-1]
    fp = np.r_[0, len(controls) - np.searchsorted(np.sort(controls), values, side="left")] / len(controls)
    tp = np.r_[0, len(cases) - np.searchsorted(np.sort(cases), values, side="left")] / len(cases)
    at = fp == fpr
    if at.any():
        return float((tp[at].min() + tp[at].max()) / 2)
    lo, hi = np.flatnonzero(fp < fpr)[-1], np.flatnonzero(fp > fpr)[0]  # the diagonal piece's two ends
    return float(tp[lo] + (tp[hi] - tp[lo]) * (fpr - fp[lo]) / (fp[hi] - fp[lo]))


def partial_auc_components(
    cases: np.ndarray, controls: np.ndarray, fpr_range: tuple[float, float]
) -> tuple[float, np.ndarray, np.ndarray]:
    """Compute a partial AUC's DeLong-type structural components over false positive rates [a, b].

    Scores are oriented so that higher means case (see the module docstring). Returns (partial AUC as the
    components' mean, V10 per case, V01 per control).
    """
    x, yv = np.asarray(cases, dtype=float), np.asarray(controls, dtype=float)
    a, b = fpr_range
    m, n = len(x), len(yv)
    # control steps: each distinct value's controls share its span of false positive rates equally
    values, counts = np.unique(yv, return_counts=True)  # ascending
    above = n - np.cumsum(counts)  # controls above each distinct value
    start, end = above / n, (above + counts) / n
    weight = np.clip(np.minimum(end, b) - np.maximum(start, a), 0.0, None) * n / counts
    middle = (above + counts / 2) / n  # u: a control's false positive rate, ties at their middle
    group = np.searchsorted(values, yv)  # each control's distinct value
    w, u = weight[group], middle[group]
    # psi sums: per control over cases, per case over (weighted) controls
    sorted_x = np.sort(x)
    cases_above = m - np.searchsorted(sorted_x, yv, side="right")
    cases_tied = np.searchsorted(sorted_x, yv, side="right") - np.searchsorted(sorted_x, yv, side="left")
    v01 = (cases_above + 0.5 * cases_tied) / m * w
    cumulative = np.r_[0.0, np.cumsum(weight * counts)]  # weights of the controls below each value
    below = np.searchsorted(values, x, side="left")
    tied = np.searchsorted(values, x, side="right") - below
    v10 = (cumulative[below] + 0.5 * (cumulative[below + tied] - cumulative[below])) / n
    v01 = v01 + _quantile_terms(x, yv, u, a, b)
    return float(v10.mean()), v10, v01


def _quantile_terms(cases: np.ndarray, controls: np.ndarray, u: np.ndarray, a: float, b: float) -> np.ndarray:
    """Compute each control's share of the estimated quantiles' influence.

    That is R(a)((1 - a) - [u >= a]) minus R(b)((1 - b) - [u >= b]); zero at a = 0 and b = 1.
    """
    out = np.zeros(len(controls))
    if a > 0:
        out += _roc_at(cases, controls, a) * ((1.0 - a) - (u >= a))
    if b < 1:
        out -= _roc_at(cases, controls, b) * ((1.0 - b) - (u >= b))
    return out


def _oriented_groups(
    y: np.ndarray, score: np.ndarray, direction: Direction | str
) -> tuple[np.ndarray, np.ndarray]:
    """Split a complete marker into (cases, controls), negated when lower values mean a case."""
    s = score if Direction(direction) is Direction.HIGHER else -score
    return s[y == 1], s[y == 0]


def _fpr_range(specificity: tuple[float, float]) -> tuple[float, float]:
    """Turn a specificity range (SP_LO, SP_HI) into the false positive rates (1 - SP_HI, 1 - SP_LO)."""
    low, high = specificity
    if not 0.0 <= low < high <= 1.0:
        raise AnalysisError(f"specificity range {low:g}:{high:g} must satisfy 0 <= SP_LO < SP_HI <= 1")
    return 1.0 - high, 1.0 - low


def partial_auc_delong_se(
    y: np.ndarray, score: np.ndarray, direction: Direction | str, specificity: tuple[float, float]
) -> tuple[float, float]:
    """Estimate the partial AUC and its DeLong-type standard error over the specificity range.

    Parameters
    ----------
    y, score : arrays
        The outcome (1 case, 0 control) and the marker; patients missing either are left out.
    direction : Direction or str
        `higher` or `lower` values meaning a case.
    specificity : (float, float)
        (SP_LO, SP_HI).

    Returns
    -------
    (float, float)
        The partial AUC (the empirical area, as `partial_auc`) and its standard error (module docstring).

    Raises
    ------
    AnalysisError
        If fewer than two cases or controls have a value, or the range is not valid.
    """
    fpr = _fpr_range(specificity)
    y, score = _complete(y, score)
    cases, controls = _oriented_groups(y, score, direction)
    _, v10, v01 = partial_auc_components(cases, controls, fpr)
    variance = float(np.var(v10, ddof=1) / len(v10) + np.var(v01, ddof=1) / len(v01))
    return partial_auc(y, score, direction, specificity)[0], math.sqrt(max(variance, 0.0))


@dataclass(frozen=True)
class PartialAucDelongTest(PairedTest):
    """Hold the DeLong-type z test of two correlated partial AUCs.

    Both areas (raw and McClish-corrected), the SE of their difference, z and the two-sided normal p.
    """

    pauc_a: float
    pauc_b: float
    corrected_a: float
    corrected_b: float
    se_difference: float
    z: float
    p_value: float
    n: int


def delong_partial_auc_test(pair: PairedScores, *, specificity: tuple[float, float]) -> PartialAucDelongTest:
    """Compare two markers' partial AUCs over one specificity range on the patients having both.

    pROC refuses this test, so it has no pROC reference; its variance is checked against simulation and
    bootstrap in the tests.

    Parameters
    ----------
    pair : PairedScores
        The outcome, the two markers (a patient missing either is left out), their directions and names.
    specificity : (float, float)
        The range (SP_LO, SP_HI), as pROC's `partial.auc = c(SP_HI, SP_LO)`.

    Returns
    -------
    PartialAucDelongTest
        z = (pAUC_a - pAUC_b) / SE, the SE from the joint structural components (module docstring);
        identical curves give z = 0 and p = 1.

    Raises
    ------
    AnalysisError
        If fewer than two cases or controls have both markers, or the range is not valid.
    """
    fpr = _fpr_range(specificity)
    y, a, b = _complete(pair.y, pair.score_a, pair.score_b)
    direction_a, direction_b = pair.direction_a, pair.direction_b
    parts = [
        partial_auc_components(*_oriented_groups(y, s, d), fpr)
        for s, d in ((a, direction_a), (b, direction_b))
    ]
    v10 = np.vstack([p[1] for p in parts])
    v01 = np.vstack([p[2] for p in parts])
    s = np.cov(v10) / v10.shape[1] + np.cov(v01) / v01.shape[1]
    variance = float(s[0, 0] + s[1, 1] - 2 * s[0, 1])
    (pauc_a, corr_a), (pauc_b, corr_b) = (
        partial_auc(y, a, direction_a, specificity),
        partial_auc(y, b, direction_b, specificity),
    )
    se = math.sqrt(max(variance, 0.0))
    z, p = difference_z(pauc_a - pauc_b, se)
    return PartialAucDelongTest(*pair.names, pauc_a, pauc_b, corr_a, corr_b, se, z, p, len(y))
