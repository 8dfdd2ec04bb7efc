"""ROC analysis: curve points, AUC with DeLong's variance, DeLong's test, cut-offs and bootstrap CIs.

The DeLong variance uses the fast algorithm of Sun & Xu (2014); DeLong's test compares two correlated AUCs;
the cut-off is the Youden-optimal one, with metrics at any threshold and prevalence.

Conventions follow pROC: the AUC is computed in the marker's direction (`higher`: larger values indicate a
case; `lower`: smaller values do), ties count one half, the DeLong CI is AUC ± z·SE clipped to [0, 1], and
thresholds are midpoints between consecutive observed values. Everything is O(n log n) and vectorised.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ovcf_core.constants import ANALYSIS_SEED
from ovcf_core.errors import AnalysisError
from ovcf_core.schema import Direction
from ovcf_core.stats.distributions import normal_quantile
from ovcf_core.stats.estimates import (
    CI,
    JsonResult,
    Progress,
    difference_z,
    percentile_ci,
    resamples,
    stratified_resample,
)

MIN_PER_GROUP = 2


def _split(y: np.ndarray, score: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Scores of cases (y == 1) and controls (y == 0) with missing values dropped; checks both exist."""
    y = np.asarray(y, dtype=float)
    score = np.asarray(score, dtype=float)
    if y.shape != score.shape:
        raise ValueError("outcome and marker must have the same length")
    ok = np.isfinite(y) & np.isfinite(score)
    cases, controls = score[ok & (y == 1)], score[ok & (y == 0)]
    if len(cases) < MIN_PER_GROUP or len(controls) < MIN_PER_GROUP:
        raise AnalysisError(
            f"needs at least {MIN_PER_GROUP} cases and {MIN_PER_GROUP} controls with a value "
            f"(has {len(cases)} cases, {len(controls)} controls)"
        )
    return cases, controls


def auto_direction(y: np.ndarray, score: np.ndarray) -> Direction:
    """Choose the direction as pROC's direction="auto": `higher` when the cases' median >= the controls'."""
    cases, controls = _split(y, score)
    return Direction.HIGHER if np.median(cases) >= np.median(controls) else Direction.LOWER


def _oriented(score: np.ndarray, direction: Direction) -> np.ndarray:
    return score if Direction(direction) is Direction.HIGHER else -score


def midranks(values: np.ndarray) -> np.ndarray:
    """1-based average ranks of finite `values`, ties sharing their mean rank (as `scipy.stats.rankdata`)."""
    values = np.asarray(values, dtype=float)
    return SortedScores.of(np.zeros(len(values)), values).midranks()


@dataclass(frozen=True)
class SortedScores:
    """One marker's values (no missing ones) sorted once, with each patient's group.

    The DeLong components, the ROC points, the tie counts and the midranks of a marker all follow from
    this one O(n log n) sort, so a large cohort's marker is sorted once instead of five times.
    """

    order: np.ndarray  # argsort of the values (any order within ties: nothing here depends on it)
    values: np.ndarray  # the values in ascending order
    is_case: np.ndarray  # y == 1, in the same order

    @classmethod
    def of(cls, y: np.ndarray, score: np.ndarray) -> SortedScores:
        """Sort `score` (finite) with its 0/1 outcome `y`."""
        score = np.asarray(score, dtype=float)
        # numpy's default (introsort) argsort is about four times faster than its stable one; every result
        # below is the same for any order within a group of tied values (counts per distinct value)
        order = np.argsort(score)
        return cls(order, score[order], np.asarray(y, dtype=float)[order] == 1)

    def _starts(self) -> np.ndarray:
        v = self.values
        return np.flatnonzero(np.r_[True, v[1:] != v[:-1]])

    def tie_counts(self) -> np.ndarray:
        """How many patients share each distinct value (ascending values)."""
        return np.diff(np.r_[self._starts(), len(self.values)])

    def distinct(self) -> np.ndarray:
        """Return the distinct values, ascending (as `np.unique`)."""
        return self.values[self._starts()]

    def midranks(self) -> np.ndarray:
        """1-based average ranks in the patients' original order (as `scipy.stats.rankdata`)."""
        starts = self._starts()
        counts = np.diff(np.r_[starts, len(self.values)])
        ranks = np.empty(len(self.values))
        ranks[self.order] = np.repeat(starts + (counts + 1) / 2.0, counts)
        return ranks

    def below_and_at(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Count cases and controls at and below each distinct value from the one sort, in O(n).

        Returns
        -------
        tuple of four arrays
            Per distinct value (ascending): cases at or below it, controls at or below it, cases at it,
            controls at it.
        """
        starts = self._starts()
        ends = np.r_[starts[1:], len(self.values)] - 1
        cases_le = np.cumsum(self.is_case)[ends]
        controls_le = ends + 1 - cases_le
        cases_at = np.diff(np.r_[0, cases_le])
        return cases_le, controls_le, cases_at, np.diff(np.r_[0, controls_le])

    def delong(self, direction: Direction | str) -> tuple[float, np.ndarray, np.ndarray]:
        """Compute the AUC in `direction` and its DeLong components, as `delong_components` would.

        The components are v10 per case and v01 per control, each in the patients' original order.

        The placements come from the counts per distinct value (`below_and_at`): a case's V10 is
        (#controls below + #controls at or below) / 2n, a control's V01 is 1 - (#cases below + #cases
        at or below) / 2m — the midrank form of Sun & Xu (2014), in O(n) after the sort.
        """
        cases_le, controls_le, cases_at, controls_at = self.below_and_at()
        m, n = int(cases_le[-1]), int(controls_le[-1])
        counts = cases_at + controls_at
        as_case = (2 * controls_le - controls_at) / (2.0 * n)  # V10 of a case at each distinct value
        as_control = 1.0 - (2 * cases_le - cases_at) / (2.0 * m)  # V01 of a control there
        if Direction(direction) is Direction.LOWER:  # mirrored: every placement becomes its complement
            as_case, as_control = 1.0 - as_case, 1.0 - as_control
        placed = np.repeat(as_control, counts)  # each sorted patient's component, as a control ...
        placed[self.is_case] = np.repeat(as_case, counts)[self.is_case]  # ... or as a case
        component = np.empty(len(self.values))
        component[self.order] = placed  # back in the patients' order
        del placed
        original_case = np.empty(len(self.values), dtype=bool)
        original_case[self.order] = self.is_case
        out10, out01 = component[original_case], component[~original_case]
        return float(out10.mean()), out10, out01


def _placements(sorted_ref: np.ndarray, sorted_queries: np.ndarray) -> np.ndarray:
    """For each query: #reference values below it plus #at or below it (sorted queries search in order)."""
    return np.searchsorted(sorted_ref, sorted_queries, side="left") + np.searchsorted(
        sorted_ref, sorted_queries, side="right"
    )


def delong_components(cases: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """AUCs and DeLong structural components for k markers at once (Sun & Xu 2014).

    `cases` is k x m and `controls` k x n (oriented so that higher means case). Returns (auc[k],
    v10[k, m], v01[k, n]); ties count one half. Sun & Xu's midrank differences are computed as
    placement counts by binary search in the sorted other group: V10 of a case is (#controls below +
    #controls at or below) / 2n, V01 of a control (#cases above + #cases at or above) / 2m; two sorts and
    four searches of sorted queries per marker, O(n log n), with no full ranking of the combined sample.
    """
    cases = np.atleast_2d(np.asarray(cases, dtype=float))
    controls = np.atleast_2d(np.asarray(controls, dtype=float))
    k, m, n = cases.shape[0], cases.shape[1], controls.shape[1]
    v10 = np.empty((k, m))
    v01 = np.empty((k, n))
    for r in range(k):
        case_order = np.argsort(cases[r])
        control_order = np.argsort(controls[r])
        sorted_cases, sorted_controls = cases[r][case_order], controls[r][control_order]
        # sorted queries make the binary searches sequential in memory; results go back in patient order
        v10[r, case_order] = _placements(sorted_controls, sorted_cases) / (2.0 * n)
        v01[r, control_order] = 1.0 - _placements(sorted_cases, sorted_controls) / (2.0 * m)
    auc = v10.mean(axis=1)
    return auc, v10, v01


def delong_covariance(cases: np.ndarray, controls: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """AUCs and their DeLong covariance matrix for k markers measured on the same patients."""
    auc, v10, v01 = delong_components(cases, controls)
    return auc, covariance_from_components(v10, v01)


def covariance_from_components(v10: np.ndarray, v01: np.ndarray) -> np.ndarray:
    """DeLong covariance of k AUCs from their components (k x m over cases, k x n over controls)."""
    v10, v01 = np.atleast_2d(v10), np.atleast_2d(v01)
    m, n = v10.shape[1], v01.shape[1]
    return np.atleast_2d(np.cov(v10)) / m + np.atleast_2d(np.cov(v01)) / n


@dataclass(frozen=True)
class AucResult(JsonResult):
    """AUC in a stated direction with its DeLong standard error and 95% CI."""

    auc: float
    se: float
    ci: CI
    direction: Direction
    n_cases: int
    n_controls: int


def delong_auc(
    y: np.ndarray, score: np.ndarray, direction: Direction | str | None = None, level: float = 0.95
) -> AucResult:
    """Estimate the AUC with its DeLong CI, matching pROC's `auc` and `ci.auc(method="delong")`.

    Parameters
    ----------
    y : array of 0/1
        The outcome (1 = case); patients missing the outcome or the score are left out.
    score : array of float
        The marker's values, one per patient.
    direction : Direction, str or None
        Which values indicate a case; None chooses it as pROC's direction="auto" (`auto_direction`).
    level : float
        Confidence level of the interval AUC ± z·SE, clipped to [0, 1].

    Returns
    -------
    AucResult
        The AUC, its DeLong standard error and CI, the direction and the group sizes used.

    Raises
    ------
    ValueError
        If `y` and `score` differ in length.
    AnalysisError
        If fewer than MIN_PER_GROUP cases or controls have a value.
    """
    return delong_auc_components(y, score, direction, level)[0]


def delong_auc_components(
    y: np.ndarray,
    score: np.ndarray,
    direction: Direction | str | None = None,
    level: float = 0.95,
    presorted: SortedScores | None = None,
) -> tuple[AucResult, np.ndarray, np.ndarray]:
    """Return `delong_auc` and the marker's structural components (v10 over cases, v01 over controls).

    `covariance_from_components` combines the components with other markers' for DeLong tests without
    sorting again. `presorted` (of these same complete `y`, `score`) saves the sorting.
    """
    score = np.asarray(score, dtype=float)
    direction = auto_direction(y, score) if direction is None else Direction(direction)
    if presorted is not None:  # the groups' sizes from the sort: no copies of the values
        m = int(np.count_nonzero(presorted.is_case))
        n_controls = len(presorted.is_case) - m
        if m < MIN_PER_GROUP or n_controls < MIN_PER_GROUP:
            raise AnalysisError(
                f"needs at least {MIN_PER_GROUP} cases and {MIN_PER_GROUP} controls with a value "
                f"(has {m} cases, {n_controls} controls)"
            )
        auc_value, v10, v01 = presorted.delong(direction)
        auc, v10, v01 = np.array([auc_value]), v10[None, :], v01[None, :]
    else:
        cases, controls = _split(y, _oriented(score, direction))
        auc, v10, v01 = delong_components(cases, controls)
    cov = covariance_from_components(v10, v01)
    se = float(np.sqrt(max(cov[0, 0], 0.0)))
    z = normal_quantile(0.5 + level / 2)
    a = float(auc[0])
    ci = (max(0.0, a - z * se), min(1.0, a + z * se))
    return AucResult(a, se, ci, direction, v10.shape[1], v01.shape[1]), v10[0], v01[0]


@dataclass(frozen=True)
class PairedTest(JsonResult):
    """The two markers a test of two ROC curves on the same patients compared (the fields come first)."""

    a: str
    b: str


@dataclass(frozen=True)
class AucComparison(PairedTest):
    """DeLong's test for two correlated ROC curves (same patients): pROC's `roc.test(method="delong")`."""

    auc_a: float
    auc_b: float
    z: float
    p_value: float
    n: int


@dataclass(frozen=True)
class PairedScores:
    """Two markers measured on the same patients, each with its direction: what a paired ROC test compares.

    As pROC's `roc.test(roc1, roc2)` takes two curves, every test of two correlated markers
    (`delong_test`, `roc_tests.bootstrap_auc_test`, `roc_tests.venkatraman_test`,
    `partial_auc.compare_partial_auc`, `partial_auc_delong.delong_partial_auc_test`) takes one of these,
    checked once here; each test then keeps the patients with the outcome and both markers.

    Parameters
    ----------
    y : array of 0/1
        The outcome (1 = case).
    score_a, score_b : array of float
        The two markers, one value per patient (NaN where missing).
    direction_a, direction_b : Direction
        Each marker's direction (a str such as "higher" is converted); each AUC is computed in its own.
    names : (str, str)
        The markers' names, carried into the tests' results and refusals.

    Raises
    ------
    AnalysisError
        If the outcome and the two markers differ in length.
    ValueError
        If a direction is neither `higher` nor `lower`.
    """

    y: np.ndarray
    score_a: np.ndarray
    score_b: np.ndarray
    direction_a: Direction
    direction_b: Direction
    names: tuple[str, str] = ("a", "b")

    def __post_init__(self) -> None:
        """Hold the values as float arrays and the directions as `Direction`; refuse unequal lengths."""
        y, a, b = (np.asarray(v, dtype=float) for v in (self.y, self.score_a, self.score_b))
        if not y.shape == a.shape == b.shape:
            raise AnalysisError(f"{self.names[0]} vs {self.names[1]}: outcome and markers differ in length")
        for field, value in (("y", y), ("score_a", a), ("score_b", b)):
            object.__setattr__(self, field, value)
        object.__setattr__(self, "direction_a", Direction(self.direction_a))
        object.__setattr__(self, "direction_b", Direction(self.direction_b))

    def oriented(self) -> tuple[np.ndarray, np.ndarray]:
        """Both markers turned so that higher values indicate a case (a `lower` marker negated)."""
        return _oriented(self.score_a, self.direction_a), _oriented(self.score_b, self.direction_b)


def delong_test(pair: PairedScores) -> AucComparison:
    """Compare two AUCs on the patients that have both markers: pROC's paired `roc.test(method="delong")`.

    Parameters
    ----------
    pair : PairedScores
        The outcome, the two markers (a patient missing either is left out), their directions and names.

    Returns
    -------
    AucComparison
        Both AUCs, the z statistic and its two-sided normal p (see `compare_correlated`).

    Raises
    ------
    AnalysisError
        If fewer than MIN_PER_GROUP cases or controls have both markers.
    """
    y = pair.y
    a, b = pair.oriented()
    both = np.isfinite(a) & np.isfinite(b) & np.isfinite(y)
    y, a, b = y[both], a[both], b[both]
    if min((y == 1).sum(), (y == 0).sum()) < MIN_PER_GROUP:
        raise AnalysisError(f"{pair.names[0]} vs {pair.names[1]}: too few patients with both markers")
    cases = np.vstack([a[y == 1], b[y == 1]])
    controls = np.vstack([a[y == 0], b[y == 0]])
    auc, cov = delong_covariance(cases, controls)
    return compare_correlated(auc, cov, 0, 1, pair.names, int(both.sum()))


def compare_correlated(
    aucs: np.ndarray, cov: np.ndarray, i: int, j: int, names: tuple[str, str], n: int
) -> AucComparison:
    """DeLong's z test of AUCs i and j from the joint DeLong covariance of several markers' AUCs.

    z = (AUC_i - AUC_j) / sqrt(var_i + var_j - 2 cov_ij), two-sided normal p; identical curves give
    z = 0, p = 1, and a difference with no variance an infinite z and p = 0.
    """
    var = cov[i, i] + cov[j, j] - 2 * cov[i, j]
    z, p = difference_z(aucs[i] - aucs[j], float(np.sqrt(max(var, 0.0))))
    return AucComparison(names[0], names[1], float(aucs[i]), float(aucs[j]), z, p, n)


@dataclass(frozen=True)
class RocCurve:
    """ROC curve points in a direction: one row per threshold (midpoints between observed values)."""

    thresholds: np.ndarray
    sensitivity: np.ndarray
    specificity: np.ndarray
    direction: Direction

    def to_frame(self) -> pd.DataFrame:
        """Return one row per threshold: sensitivity, specificity and the false positive rate."""
        return pd.DataFrame(
            {
                "threshold": self.thresholds,
                "sensitivity": self.sensitivity,
                "specificity": self.specificity,
                "fpr": 1 - self.specificity,
            }
        )


def roc_curve(y: np.ndarray, score: np.ndarray, direction: Direction | str) -> RocCurve:
    """All ROC points, from (0, 0) to (1, 1); a case is `score >= t` (higher) or `score <= t` (lower)."""
    thresholds, sens, spec = _roc_points(y, score, direction)
    order = np.lexsort((sens, 1 - spec))
    return RocCurve(thresholds[order], sens[order], spec[order], Direction(direction))


def _roc_points(
    y: np.ndarray, score: np.ndarray, direction: Direction | str, presorted: SortedScores | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(thresholds ascending, sensitivity, specificity) at every midpoint between observed values."""
    direction = Direction(direction)
    if presorted is None:
        cases, controls = _split(y, np.asarray(score, dtype=float))
        cases, controls = np.sort(cases), np.sort(controls)
        values = np.unique(np.concatenate([cases, controls]))
    else:  # counts per distinct value from the one sort: no searching
        values = presorted.distinct()
        cases_le, controls_le, _, _ = presorted.below_and_at()
        m, n = int(cases_le[-1]), int(controls_le[-1])
        tp, fp = np.r_[0, cases_le], np.r_[0, controls_le]  # at or below each threshold
        if direction is Direction.HIGHER:
            tp, fp = m - tp, n - fp
        mids = (values[:-1] + values[1:]) / 2
        return np.concatenate([[-np.inf], mids, [np.inf]]), tp / m, 1 - fp / n
    mids = (values[:-1] + values[1:]) / 2
    thresholds = np.concatenate([[-np.inf], mids, [np.inf]])
    if direction is Direction.HIGHER:
        tp = len(cases) - np.searchsorted(cases, thresholds, side="left")
        fp = len(controls) - np.searchsorted(controls, thresholds, side="left")
    else:
        tp = np.searchsorted(cases, thresholds, side="right")
        fp = np.searchsorted(controls, thresholds, side="right")
    return thresholds, tp / len(cases), 1 - fp / len(controls)


def wilson_ci(successes: int, total: int, level: float = 0.95) -> CI:
    """Wilson score interval for a proportion (used for sensitivity and specificity)."""
    if total == 0:
        return (float("nan"), float("nan"))
    z = normal_quantile(0.5 + level / 2)
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * np.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


@dataclass(frozen=True)
class ThresholdMetrics(JsonResult):
    """Sensitivity, specificity, PPV and NPV at one threshold, with the confusion matrix."""

    threshold: float
    direction: Direction
    sensitivity: float
    sensitivity_ci: CI
    specificity: float
    specificity_ci: CI
    prevalence: float
    ppv: float
    npv: float
    true_positive: int
    false_negative: int
    false_positive: int
    true_negative: int

    def confusion_frame(self) -> pd.DataFrame:
        """2 x 2 table: rows the true group, columns the test result."""
        return pd.DataFrame(
            [[self.true_positive, self.false_negative], [self.false_positive, self.true_negative]],
            index=["OVCF", "control"],
            columns=["test positive", "test negative"],
        )


def metrics_at(
    y: np.ndarray,
    score: np.ndarray,
    threshold: float,
    direction: Direction | str,
    prevalence: float | None = None,
) -> ThresholdMetrics:
    """Compute the metrics when `score >= threshold` (higher) or `<= threshold` (lower) is called positive.

    Parameters
    ----------
    y, score : arrays
        Outcome (1 = case) and marker, as in `delong_auc`.
    threshold : float
        The cut-off; a value equal to it counts as positive.
    direction : Direction or str
        Whether values at or above (`higher`) or at or below (`lower`) the threshold are positive.
    prevalence : float, optional
        The prevalence for PPV and NPV by Bayes' rule (a screened population's, say); by default the
        sample's own case fraction, which a case-control sample would overstate.

    Returns
    -------
    ThresholdMetrics
        Sensitivity and specificity with Wilson CIs, PPV, NPV and the confusion matrix.

    Raises
    ------
    AnalysisError
        If too few cases or controls have a value, or `prevalence` is not strictly between 0 and 1.
    """
    direction = Direction(direction)
    cases, controls = _split(y, np.asarray(score, dtype=float))
    if direction is Direction.HIGHER:
        tp, fp = int((cases >= threshold).sum()), int((controls >= threshold).sum())
    else:
        tp, fp = int((cases <= threshold).sum()), int((controls <= threshold).sum())
    fn, tn = len(cases) - tp, len(controls) - fp
    sens, spec = tp / len(cases), tn / len(controls)
    prev = len(cases) / (len(cases) + len(controls)) if prevalence is None else float(prevalence)
    if not 0 < prev < 1:
        raise AnalysisError(f"prevalence must be between 0 and 1 (got {prev:g})")
    pos = sens * prev + (1 - spec) * (1 - prev)
    neg = (1 - sens) * prev + spec * (1 - prev)
    ppv = sens * prev / pos if pos > 0 else float("nan")
    npv = spec * (1 - prev) / neg if neg > 0 else float("nan")
    return ThresholdMetrics(
        float(threshold),
        direction,
        sens,
        wilson_ci(tp, len(cases)),
        spec,
        wilson_ci(tn, len(controls)),
        prev,
        ppv,
        npv,
        tp,
        fn,
        fp,
        tn,
    )


def youden_cutoff(
    y: np.ndarray, score: np.ndarray, direction: Direction | str, presorted: SortedScores | None = None
) -> ThresholdMetrics:
    """Find the threshold maximising sensitivity + specificity - 1 (pROC's coords(best.method="youden")).

    Ties between equally good thresholds go to the one with the higher specificity (then the lower
    threshold). `presorted` (of these same complete `y`, `score`) saves the sorting.

    Returns
    -------
    ThresholdMetrics
        `metrics_at` the chosen threshold, at the sample's own prevalence.
    """
    thresholds, sens, spec = _roc_points(y, score, direction, presorted)
    j = np.where(np.isfinite(thresholds), sens + spec - 1, -np.inf)
    best = np.flatnonzero(j == j.max())
    pick = best[np.argmax(spec[best])]
    return metrics_at(y, score, float(thresholds[pick]), direction)


def bootstrap_auc_ci(
    y: np.ndarray,
    score: np.ndarray,
    direction: Direction | str,
    n_boot: int = 2000,
    seed: int = ANALYSIS_SEED,
    level: float = 0.95,
    progress: Progress | None = None,
) -> CI:
    """Percentile CI of the AUC from a stratified bootstrap (cases and controls resampled separately)."""
    cases, controls = _split(y, _oriented(np.asarray(score, dtype=float), Direction(direction)))
    scores = np.concatenate([cases, controls])
    is_case = (np.arange(len(scores)) < len(cases)).astype(float)
    rng = np.random.default_rng(seed)
    aucs = np.empty(n_boot)
    for b in resamples(n_boot, progress):
        resampled = scores[stratified_resample(rng, is_case)]  # its cases first
        aucs[b] = delong_components(resampled[: len(cases)], resampled[len(cases) :])[0][0]
    return percentile_ci(aucs, level)
