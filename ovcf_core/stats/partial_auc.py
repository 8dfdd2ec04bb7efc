"""Partial AUC over a specificity range, with bootstrap CIs and test, as pROC computes them.

As pROC's `auc(partial.auc=c(hi, lo), partial.auc.focus="sp", partial.auc.correct=TRUE)`: the area under
the empirical ROC curve where specificity lies in [lo, hi], McClish's (1989) standardisation of it, a
stratified bootstrap CI, and pROC's bootstrap test of two partial AUCs on the same patients
(`roc.test(method="bootstrap")`).

The curve is the one of `ovcf_core.stats.roc` (ties as diagonal segments); the area is integrated exactly
over its linear pieces clipped to the range, so a range of [0, 1] gives the full AUC.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ovcf_core.constants import ANALYSIS_SEED
from ovcf_core.errors import AnalysisError
from ovcf_core.schema import Direction
from ovcf_core.stats.estimates import (
    CI,
    JsonResult,
    Progress,
    difference_z,
    percentile_ci,
    resamples,
    stratified_resample,
)
from ovcf_core.stats.roc import MIN_PER_GROUP, PairedScores, PairedTest, roc_curve


def parse_specificity_range(text: str) -> tuple[float, float]:
    """Parse a specificity range 'LO:HI' as typed on the command line: '0.9:1' -> (0.9, 1.0).

    Raises
    ------
    ValueError
        If the text is not two numbers separated by ':' with 0 <= LO < HI <= 1 (the message says which).
    """
    parts = text.split(":")
    if len(parts) != 2:
        raise ValueError(f"'{text}' is not a range SP_LO:SP_HI (e.g. 0.9:1)")
    try:
        low, high = (float(p) for p in parts)
    except ValueError:
        raise ValueError(f"'{text}' is not a range of two numbers SP_LO:SP_HI (e.g. 0.9:1)") from None
    if not (0.0 <= low < high <= 1.0):
        raise ValueError(f"'{text}': the specificities must satisfy 0 <= SP_LO < SP_HI <= 1")
    return low, high


def _area(fpr: np.ndarray, tpr: np.ndarray, a: float, b: float) -> float:
    """Integrate the piecewise-linear curve tpr(fpr) over fpr in [a, b] (points sorted along the curve)."""
    x0, x1, y0, y1 = fpr[:-1], fpr[1:], tpr[:-1], tpr[1:]
    width = x1 - x0
    keep = width > 0  # vertical pieces (ties among controls at one threshold) have no area
    x0, x1, y0, y1, width = x0[keep], x1[keep], y0[keep], y1[keep], width[keep]
    left, right = np.maximum(x0, a), np.minimum(x1, b)
    inside = right > left
    x0, x1, y0, y1, width, left, right = (v[inside] for v in (x0, x1, y0, y1, width, left, right))
    slope = (y1 - y0) / width
    y_left = y0 + slope * (left - x0)
    y_right = y0 + slope * (right - x0)
    return float(np.sum((y_left + y_right) / 2 * (right - left)))


def partial_auc(
    y: np.ndarray, score: np.ndarray, direction: Direction | str, specificity: tuple[float, float]
) -> tuple[float, float]:
    """Compute the partial AUC and its McClish correction over specificities [lo, hi], as pROC.

    The area is in the marker's direction; `y` and `score` must be complete (see `partial_auc_with_ci`).

    The corrected value is 1/2 (1 + (pAUC - min) / (max - min)), min being the area under the diagonal and
    max the range's width: 0.5 for a useless marker and 1 for a perfect one, as pROC reports it.
    """
    low, high = specificity
    curve = roc_curve(y, score, direction)
    fpr, tpr = 1.0 - curve.specificity, curve.sensitivity
    a, b = 1.0 - high, 1.0 - low
    pauc = _area(fpr, tpr, a, b)
    smallest = (b * b - a * a) / 2
    largest = b - a
    return pauc, 0.5 * (1.0 + (pauc - smallest) / (largest - smallest))


@dataclass(frozen=True)
class PartialAuc(JsonResult):
    """A marker's partial AUC over a specificity range, McClish-corrected, with stratified bootstrap CIs."""

    pauc: float
    corrected: float
    specificity: tuple[float, float]
    direction: Direction
    ci: CI | None = None
    corrected_ci: CI | None = None
    n_boot: int = 0


def _complete(y: np.ndarray, *scores: np.ndarray) -> tuple[np.ndarray, ...]:
    """Keep the outcome and scores of patients with every value; AnalysisError with too few in a group."""
    y = np.asarray(y, dtype=float)
    arrays = [np.asarray(s, dtype=float) for s in scores]
    ok = np.isfinite(y)
    for s in arrays:
        ok &= np.isfinite(s)
    y = y[ok]
    if min(int((y == 1).sum()), int((y == 0).sum())) < MIN_PER_GROUP:
        raise AnalysisError("partial AUC: too few cases or controls with the marker(s)")
    return (y, *(s[ok] for s in arrays))


def partial_auc_with_ci(
    y: np.ndarray,
    score: np.ndarray,
    direction: Direction | str,
    specificity: tuple[float, float],
    n_boot: int = 2000,
    seed: int = ANALYSIS_SEED,
    level: float = 0.95,
    progress: Progress | None = None,
) -> PartialAuc:
    """Estimate the partial AUC with percentile CIs from stratified bootstrap resamples, as pROC's `ci.auc`.

    `y`, `score` and `direction` are as in `roc.delong_auc`.

    Parameters
    ----------
    specificity : (float, float)
        The range (SP_LO, SP_HI), as pROC's `partial.auc = c(SP_HI, SP_LO)`.
    n_boot : int
        Resamples (cases and controls separately); 0 or fewer gives the estimate without CIs.
    seed, level, progress
        Resampling seed, confidence level, and a (done, total) callback about every 1%.

    Returns
    -------
    PartialAuc
        The raw and McClish-corrected partial AUC with their percentile CIs.

    Raises
    ------
    AnalysisError
        If fewer than MIN_PER_GROUP cases or controls have a value.
    """
    y, score = _complete(y, score)
    direction = Direction(direction)
    pauc, corrected = partial_auc(y, score, direction, specificity)
    if n_boot <= 0:
        return PartialAuc(pauc, corrected, specificity, direction)
    rng = np.random.default_rng(seed)
    draws = np.empty((n_boot, 2))
    for i in resamples(n_boot, progress):
        index = stratified_resample(rng, y)
        draws[i] = partial_auc(y[index], score[index], direction, specificity)
    return PartialAuc(
        pauc,
        corrected,
        specificity,
        direction,
        percentile_ci(draws[:, 0], level),
        percentile_ci(draws[:, 1], level),
        n_boot,
    )


@dataclass(frozen=True)
class PartialAucComparison(PairedTest):
    """Hold pROC's bootstrap test of two partial AUCs on the same patients.

    D = difference / SD of the resampled differences, two-sided normal p (on the McClish-corrected values,
    as pROC compares them).
    """

    pauc_a: float
    pauc_b: float
    d: float
    p_value: float
    n: int
    n_boot: int


def compare_partial_auc(
    pair: PairedScores,
    *,
    specificity: tuple[float, float],
    n_boot: int = 2000,
    seed: int = ANALYSIS_SEED,
    progress: Progress | None = None,
) -> PartialAucComparison:
    """Test two correlated partial AUCs by pROC's stratified bootstrap (`roc.test(method="bootstrap")`).

    Patients are resampled in pairs, stratified by outcome, as in `roc_tests.bootstrap_auc_test`, whose
    `n_boot`, `seed` and `progress` these are.

    Parameters
    ----------
    pair : PairedScores
        The outcome, the two markers (a patient missing either is left out), their directions and names.
    specificity : (float, float)
        The range (SP_LO, SP_HI), as in `partial_auc_with_ci`.

    Returns
    -------
    PartialAucComparison
        The McClish-corrected partial AUCs, D and its two-sided normal p.

    Raises
    ------
    AnalysisError
        If fewer than MIN_PER_GROUP cases or controls have both markers.
    """
    y, a, b = _complete(pair.y, pair.score_a, pair.score_b)
    direction_a, direction_b = pair.direction_a, pair.direction_b
    observed = (
        partial_auc(y, a, direction_a, specificity)[1],
        partial_auc(y, b, direction_b, specificity)[1],
    )
    rng = np.random.default_rng(seed)
    differences = np.empty(n_boot)
    for i in resamples(n_boot, progress):
        index = stratified_resample(rng, y)
        yi = y[index]
        differences[i] = (
            partial_auc(yi, a[index], direction_a, specificity)[1]
            - partial_auc(yi, b[index], direction_b, specificity)[1]
        )
    d, p = difference_z(observed[0] - observed[1], float(np.std(differences, ddof=1)))
    return PartialAucComparison(*pair.names, observed[0], observed[1], d, p, len(y), n_boot)
