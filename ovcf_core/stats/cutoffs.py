"""Cut-off statistics as pROC and MedCalc report them: a rule's cut-off, bootstrap CIs, likelihood ratios.

The cut-off is chosen by a rule (Youden, closest to the top-left corner, a fixed sensitivity or
specificity), with stratified-bootstrap percentile CIs of sensitivity and
specificity at it (pROC's `ci.thresholds`) and of the rule's threshold re-chosen in every resample (pROC's
`ci.coords(x="best")`), and the likelihood ratios with log-method CIs (Simel et al. 1991, as MedCalc).

Thresholds are the ROC points of `ovcf_core.stats.roc` (midpoints between observed values); a rule only
picks among finite ones, as `roc.youden_cutoff` does, so "call everyone positive" is never a cut-off.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ovcf_core.constants import ANALYSIS_SEED
from ovcf_core.errors import AnalysisError
from ovcf_core.schema import Direction
from ovcf_core.stats.cutoff_rules import CutoffRule
from ovcf_core.stats.distributions import normal_quantile
from ovcf_core.stats.estimates import CI, JsonResult, Progress, percentile_ci, resamples, stratified_resample
from ovcf_core.stats.roc import MIN_PER_GROUP, _roc_points, metrics_at


def _pick(
    thresholds: np.ndarray, sens: np.ndarray, spec: np.ndarray, rule: CutoffRule, target: float | None
) -> int | None:
    """Index of the rule's threshold among the finite ones, or None when no threshold qualifies.

    Criteria are compared after rounding to 12 decimals, so exact ties are not decided by floating-point
    noise; ties go to the higher specificity, then the higher sensitivity (each threshold is a distinct
    point, so that settles every tie).
    """
    finite = np.isfinite(thresholds)
    goal = 0.0 if target is None else float(target)
    if rule is CutoffRule.YOUDEN:
        score = sens + spec - 1
    elif rule is CutoffRule.CLOSEST_TOPLEFT:
        score = -((1 - sens) ** 2 + (1 - spec) ** 2)
    elif rule is CutoffRule.SENSITIVITY:
        finite &= np.round(sens, 12) >= round(goal, 12)
        score = spec
    else:
        finite &= np.round(spec, 12) >= round(goal, 12)
        score = sens
    candidates = np.flatnonzero(finite)
    if len(candidates) == 0:
        return None
    keys = [np.round(v[candidates], 12) for v in (sens, spec, score)]
    return int(candidates[np.lexsort(keys)[-1]])  # np.lexsort sorts by the last key first


def _complete(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Outcome and marker over patients with both; AnalysisError with too few cases or controls."""
    y, score = np.asarray(y, dtype=float), np.asarray(score, dtype=float)
    if y.shape != score.shape:
        raise AnalysisError("cut-off: outcome and marker differ in length")
    ok = np.isfinite(y) & np.isfinite(score) & np.isin(y, (0.0, 1.0))
    y, score = y[ok], score[ok]
    if min(int((y == 1).sum()), int((y == 0).sum())) < MIN_PER_GROUP:
        raise AnalysisError(
            f"cut-off: needs at least {MIN_PER_GROUP} cases and {MIN_PER_GROUP} controls with a value"
        )
    return y, score


@dataclass(frozen=True)
class CutoffChoice:
    """How a cut-off is chosen: a rule and, for a fixed sensitivity or specificity, the target to reach.

    Checked once here, so `choose_threshold` and `cutoff_analysis` take it as one validated value
    (`cutoff_rules.parse_cutoff_rule` gives the pair from text such as 'sensitivity:0.9').

    Parameters
    ----------
    rule : CutoffRule
        Youden, closest to the top-left corner, or a fixed sensitivity / specificity (a str such as
        "youden" is converted).
    target : float, optional
        The sensitivity or specificity to reach, in (0, 1], for the two fixed rules.

    Raises
    ------
    AnalysisError
        If the rule is unknown or a fixed rule lacks a valid target.
    """

    rule: CutoffRule = CutoffRule.YOUDEN
    target: float | None = None

    def __post_init__(self) -> None:
        """Hold the rule as a `CutoffRule`; refuse an unknown rule and a fixed one without a valid target."""
        try:
            rule = CutoffRule(self.rule)
        except ValueError:
            names = ", ".join(r.value for r in CutoffRule)
            raise AnalysisError(f"unknown cut-off rule '{self.rule}' (use one of {names})") from None
        fixed = rule in (CutoffRule.SENSITIVITY, CutoffRule.SPECIFICITY)
        if fixed and (self.target is None or not (0.0 < float(self.target) <= 1.0)):
            raise AnalysisError(f"a fixed {rule.value} needs a target between 0 and 1 (got {self.target})")
        object.__setattr__(self, "rule", rule)


def choose_threshold(
    y: np.ndarray, score: np.ndarray, direction: Direction | str, choice: CutoffChoice = CutoffChoice()
) -> float:
    """Pick the rule's threshold on this data, as pROC's `coords(x = "best", best.method = ...)`.

    A case is `score >= t` (higher) or `score <= t` (lower); only finite thresholds are candidates.

    Parameters
    ----------
    y, score : arrays
        Outcome (1 = case) and marker; patients missing either are left out.
    direction : Direction or str
        Which values indicate a case.
    choice : CutoffChoice
        The rule (Youden by default) and, for a fixed sensitivity or specificity, its target.

    Returns
    -------
    float
        The threshold, a midpoint between observed values.

    Raises
    ------
    AnalysisError
        If outcome and marker differ in length, too few cases or controls have a value, or no threshold
        reaches the target.
    """
    return _threshold(*_complete(y, score), direction, choice)


def _threshold(y: np.ndarray, score: np.ndarray, direction: Direction | str, choice: CutoffChoice) -> float:
    """Pick the choice's threshold on complete data (`choose_threshold` after its checks)."""
    thresholds, sens, spec = _roc_points(y, score, direction)
    pick = _pick(thresholds, sens, spec, choice.rule, choice.target)
    if pick is None:
        raise AnalysisError(
            f"no cut-off short of calling every patient positive reaches {choice.rule.value} {choice.target}"
        )
    return float(thresholds[pick])


@dataclass(frozen=True)
class LikelihoodRatios(JsonResult):
    """Positive and negative likelihood ratios with log-method CIs; NaN where undefined (a zero cell)."""

    positive: float
    positive_ci: CI
    negative: float
    negative_ci: CI


def _log_ratio_ci(hits: int, group_a: int, misses: int, group_b: int, z: float) -> tuple[float, CI]:
    """Compute the ratio (hits/group_a) / (misses/group_b) with its log-method CI.

    The CI is exp(ln LR ± z sqrt(1/hits - 1/group_a + 1/misses - 1/group_b)); an infinite ratio keeps no
    CI, a zero ratio none either (the log is undefined).
    """
    if group_a == 0 or group_b == 0:
        return float("nan"), (float("nan"), float("nan"))
    if misses == 0:
        return (float("inf") if hits > 0 else float("nan")), (float("nan"), float("nan"))
    ratio = (hits / group_a) / (misses / group_b)
    if hits == 0:
        return ratio, (float("nan"), float("nan"))
    se = np.sqrt(1 / hits - 1 / group_a + 1 / misses - 1 / group_b)
    return ratio, (float(ratio * np.exp(-z * se)), float(ratio * np.exp(z * se)))


def likelihood_ratios(tp: int, fn: int, fp: int, tn: int, level: float = 0.95) -> LikelihoodRatios:
    """Compute LR+ = sens / (1 - spec) and LR- = (1 - sens) / spec with log-method CIs, as MedCalc.

    The log method of Simel, Samsa and Matchar (1991): SE(ln LR+) = sqrt(1/TP - 1/(TP+FN) + 1/FP -
    1/(FP+TN)). `tp`, `fn`, `fp`, `tn` are the confusion matrix's cells; `level` the CIs' level.

    Returns
    -------
    LikelihoodRatios
        Both ratios and CIs; NaN where a zero cell leaves them undefined.
    """
    z = normal_quantile(0.5 + level / 2)
    positive, positive_ci = _log_ratio_ci(tp, tp + fn, fp, fp + tn, z)
    negative, negative_ci = _log_ratio_ci(fn, tp + fn, tn, fp + tn, z)
    return LikelihoodRatios(positive, positive_ci, negative, negative_ci)


@dataclass(frozen=True)
class CutoffResult(JsonResult):
    """A cut-off chosen by a rule, with stratified bootstrap percentile CIs and likelihood ratios.

    `sensitivity_ci`/`specificity_ci` hold the threshold fixed (pROC's ci.thresholds); `threshold_ci` and
    `rechosen_*_ci` re-choose it by the rule in every resample (pROC's ci.coords(x="best")), so they carry
    the uncertainty of choosing the cut-off. `n_undefined` resamples had no qualifying threshold.
    """

    rule: CutoffRule
    target: float | None
    direction: Direction
    threshold: float
    sensitivity: float
    specificity: float
    true_positive: int
    false_negative: int
    false_positive: int
    true_negative: int
    likelihood_ratios: LikelihoodRatios
    sensitivity_ci: CI | None = None
    specificity_ci: CI | None = None
    threshold_ci: CI | None = None
    rechosen_sensitivity_ci: CI | None = None
    rechosen_specificity_ci: CI | None = None
    n_boot: int = 0
    n_undefined: int = 0
    seed: int = ANALYSIS_SEED
    level: float = 0.95

    def to_frame(self) -> pd.DataFrame:
        """One row per quantity: estimate and CI bounds (NaN where not computed or undefined)."""
        lr = self.likelihood_ratios
        rows = [
            ("threshold", self.threshold, self.threshold_ci),
            ("sensitivity", self.sensitivity, self.sensitivity_ci),
            ("specificity", self.specificity, self.specificity_ci),
            ("sensitivity (cut-off re-chosen)", self.sensitivity, self.rechosen_sensitivity_ci),
            ("specificity (cut-off re-chosen)", self.specificity, self.rechosen_specificity_ci),
            ("positive likelihood ratio", lr.positive, lr.positive_ci),
            ("negative likelihood ratio", lr.negative, lr.negative_ci),
        ]
        nan = float("nan")
        return pd.DataFrame(
            [(name, value, *(ci if ci is not None else (nan, nan))) for name, value, ci in rows],
            columns=["quantity", "estimate", "ci_low", "ci_high"],
        )


def _rates_at(
    y: np.ndarray, score: np.ndarray, threshold: float, direction: Direction
) -> tuple[float, float]:
    """(sensitivity, specificity) when `score >= threshold` (higher) or `<= threshold` (lower) is positive."""
    positive = score >= threshold if direction is Direction.HIGHER else score <= threshold
    case = y == 1
    return float(positive[case].mean()), float(1.0 - positive[~case].mean())


def cutoff_analysis(
    y: np.ndarray,
    score: np.ndarray,
    direction: Direction | str,
    choice: CutoffChoice = CutoffChoice(),
    *,
    n_boot: int = 2000,
    seed: int = ANALYSIS_SEED,
    level: float = 0.95,
    progress: Progress | None = None,
) -> CutoffResult:
    """Choose the rule's cut-off and report it with likelihood ratios and bootstrap CIs.

    `y`, `score`, `direction` and `choice` are as in `choose_threshold`. The `n_boot` stratified
    bootstrap resamples (0 = no CIs) resample cases and controls separately; the CIs are percentiles
    (pROC's quantile type 7), with the threshold held fixed (pROC's `ci.thresholds`) and re-chosen in
    every resample (pROC's `ci.coords(x = "best")`); `seed` makes them repeatable, `progress` hears
    (done, total) about every 1%.

    Returns
    -------
    CutoffResult
        The threshold, sensitivity, specificity, confusion matrix, likelihood ratios and CIs.

    Raises
    ------
    AnalysisError
        As `choose_threshold`.
    """
    rule, target = choice.rule, choice.target
    direction = Direction(direction)
    y, score = _complete(y, score)
    threshold = _threshold(y, score, direction, choice)
    m = metrics_at(y, score, threshold, direction)
    lrs = likelihood_ratios(m.true_positive, m.false_negative, m.false_positive, m.true_negative, level)
    counts = (m.true_positive, m.false_negative, m.false_positive, m.true_negative)
    point = (
        rule,
        float(target)
        if target is not None and rule in (CutoffRule.SENSITIVITY, CutoffRule.SPECIFICITY)
        else None,
        direction,
        threshold,
        m.sensitivity,
        m.specificity,
    )
    if n_boot <= 0:
        return CutoffResult(*point, *counts, lrs, seed=seed, level=level)
    rng = np.random.default_rng(seed)
    fixed = np.empty((n_boot, 2))
    rechosen = np.full((n_boot, 3), np.nan)
    for i in resamples(n_boot, progress):
        index = stratified_resample(rng, y)
        yi, si = y[index], score[index]
        fixed[i] = _rates_at(yi, si, threshold, direction)
        thresholds, sens, spec = _roc_points(yi, si, direction)
        pick = _pick(thresholds, sens, spec, rule, target)
        if pick is not None:
            rechosen[i] = thresholds[pick], sens[pick], spec[pick]
    defined = rechosen[np.isfinite(rechosen[:, 0])]
    if len(defined):
        threshold_ci, sens_ci, spec_ci = (percentile_ci(defined[:, k], level) for k in range(3))
    else:
        threshold_ci = sens_ci = spec_ci = (float("nan"), float("nan"))
    return CutoffResult(
        *point,
        *counts,
        lrs,
        sensitivity_ci=percentile_ci(fixed[:, 0], level),
        specificity_ci=percentile_ci(fixed[:, 1], level),
        threshold_ci=threshold_ci,
        rechosen_sensitivity_ci=sens_ci,
        rechosen_specificity_ci=spec_ci,
        n_boot=n_boot,
        n_undefined=int(n_boot - len(defined)),
        seed=seed,
        level=level,
    )
