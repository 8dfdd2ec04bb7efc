"""The paper's whole cohort analysis in one call: `analyze_cohort(table) -> CohortAnalysis`.

Per marker (complete cases for that marker): group comparison (paired t over pairs, else Welch), Spearman
with the outcome, ROC AUC with the DeLong CI in the marker's direction, the Youden cut-off, and the
logistic OR adjusted for the covariates; then DeLong's test for every two markers and the Spearman matrix
between markers. A degenerate marker (no values, one class, fewer than 10 patients, constant) gets a
message and nulls while the others are still analysed. `CohortAnalysis.to_dict()` is DESIGN §4's
`analyze` JSON (plus the extra keys `messages`, `settings`, `table1`, `multivariable`).
"""

from __future__ import annotations

import contextlib
import dataclasses
import itertools
import math
import os
import warnings
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Executor, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ovcf_core.constants import ANALYSIS_SEED
from ovcf_core.errors import AnalysisError, InputError
from ovcf_core.schema import (
    AGE,
    BMI,
    COVARIATES,
    INDICATOR_COLUMNS,
    OUTCOME,
    SEX,
    SEX_CATEGORIES,
    Direction,
    Indicator,
)
from ovcf_core.stats import correlation, groups, logistic, roc
from ovcf_core.stats.cutoff_rules import CutoffRule, cutoff_rule_text, parse_cutoff_rule
from ovcf_core.stats.cutoffs import (
    CutoffChoice,
    CutoffResult,
    choose_threshold,
    cutoff_analysis,
    likelihood_ratios,
)
from ovcf_core.stats.marker_comparisons import COMPARISON_METHODS, resampled_comparison
from ovcf_core.stats.nonparametric import EXACT_MAX_GROUP, mann_whitney_p
from ovcf_core.stats.partial_auc import PartialAuc, compare_partial_auc, partial_auc_with_ci
from ovcf_core.stats.partial_auc_delong import delong_partial_auc_test
from ovcf_core.stats.roc_tests import adjust_p
from ovcf_core.threads import Inline

if TYPE_CHECKING:
    from ovcf_core.stats.binormal import BinormalRoc

MIN_PATIENTS = 10
HEAVY_TIE_SHARE = 0.5
PARALLEL_MIN_ROWS = 50_000  # below this the analysis takes well under a second on one thread
BOOTSTRAP_SEED = ANALYSIS_SEED
SMOOTHING = ("none", "binormal")
DEFAULT_RESAMPLES = 2000  # the bootstrap / permutation ROC tests' N when --bootstrap is 0 (pROC's default)
Progress = Callable[[float], None]  # fraction of the whole analysis' resampling done, 0..1


def json_safe(value: Any) -> Any:
    """Plain JSON values: NaN/inf -> None, numpy scalars -> Python numbers, tuples -> lists."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


@dataclass(frozen=True)
class MarkerAnalysis:
    """Everything computed for one marker; parts that could not be computed are None (see `messages`)."""

    marker: str
    n: int
    n_cases: int
    n_controls: int
    groups: groups.GroupComparison | None = None
    spearman: correlation.SpearmanResult | None = None
    auc: roc.AucResult | None = None
    cutoff: roc.ThresholdMetrics | None = None
    odds_ratio: logistic.OddsRatio | None = None
    messages: tuple[str, ...] = ()
    conditional_odds_ratio: logistic.OddsRatio | None = None
    auc_ci_bootstrap: tuple[float, float] | None = None
    n_or: int | None = None  # patients in the marker's logistic model (complete marker and covariates)
    or_note: str | None = None  # why the OR is null or penalised
    paired: bool = False  # the analysis has pairs: `p_wilcoxon` is reported
    conditional: bool = False  # conditional models were asked for: `n_pairs_conditional` is reported
    n_pairs_conditional: int | None = None
    pauc: PartialAuc | None = None
    pauc_asked: bool = False
    cutoff_rule: str = "youden"
    cutoff_bootstrap: CutoffResult | None = None  # with --bootstrap: the cut-off's resampled CIs
    binormal: BinormalRoc | None = None
    smooth_asked: bool = False

    def to_dict(self) -> dict:
        """Return the marker's entry of the `analyze` JSON (DESIGN §4, §4b), n per group, CIs, messages."""
        g, s, a, c, o = self.groups, self.spearman, self.auc, self.cutoff, self.odds_ratio
        lr = (
            likelihood_ratios(c.true_positive, c.false_negative, c.false_positive, c.true_negative)
            if c
            else None
        )
        options: dict[str, object] = {}
        if self.paired:
            options["p_wilcoxon"] = g.p_wilcoxon if g else None
        if self.pauc_asked:
            pa = self.pauc
            options.update(pauc=pa.pauc if pa else None, pauc_corrected=pa.corrected if pa else None)
            if pa is not None and pa.ci is not None and pa.corrected_ci is not None:
                options.update(pauc_ci=list(pa.ci), pauc_corrected_ci=list(pa.corrected_ci))
        if self.conditional:
            options["n_pairs_conditional"] = self.n_pairs_conditional
        if self.cutoff_bootstrap is not None:
            cb = self.cutoff_bootstrap
            options.update(
                cutoff_ci=cb.threshold_ci, sensitivity_ci_bootstrap=cb.sensitivity_ci,
                specificity_ci_bootstrap=cb.specificity_ci,
            )  # fmt: skip
        if self.smooth_asked:
            bn = self.binormal
            options.update(
                binormal_auc=bn.auc if bn else None, binormal_a=bn.a if bn else None,
                binormal_b=bn.b if bn else None,
            )  # fmt: skip
        if self.auc_ci_bootstrap is not None:
            options["auc_ci_bootstrap"] = list(self.auc_ci_bootstrap)
        if self.conditional_odds_ratio is not None:
            k = self.conditional_odds_ratio
            options.update(
                conditional_or_per_unit=k.or_per_unit,
                conditional_or_per_unit_ci=list(k.or_per_unit_ci),
                conditional_or_per_sd=k.or_per_sd,
                conditional_or_per_sd_ci=list(k.or_per_sd_ci),
                conditional_or_p=k.p_value,
            )
        return json_safe(
            {
                "n": self.n,
                "mean_cases": g.cases.mean if g else None,
                "sd_cases": g.cases.sd if g else None,
                "mean_controls": g.controls.mean if g else None,
                "sd_controls": g.controls.sd if g else None,
                "test": str(g.test) if g else None,
                "p_value": g.p_value if g else None,
                "spearman_rho": s.rho if s else None,
                "spearman_p": s.p_value if s else None,
                "auc": a.auc if a else None,
                "auc_ci": list(a.ci) if a else [None, None],
                "direction": str(a.direction) if a else None,
                "cutoff": c.threshold if c else None,
                "sensitivity": c.sensitivity if c else None,
                "specificity": c.specificity if c else None,
                "cutoff_rule": self.cutoff_rule,
                "lr_positive": lr.positive if lr else None,
                "lr_positive_ci": list(lr.positive_ci) if lr else [None, None],
                "lr_negative": lr.negative if lr else None,
                "lr_negative_ci": list(lr.negative_ci) if lr else [None, None],
                "or_per_unit": o.or_per_unit if o else None,
                "or_per_unit_ci": list(o.or_per_unit_ci) if o else [None, None],
                "or_per_sd": o.or_per_sd if o else None,
                "or_per_sd_ci": list(o.or_per_sd_ci) if o else [None, None],
                "or_p": o.p_value if o else None,
                "n_or": self.n_or,
                "or_method": o.method if o else None,
                "or_note": self.or_note,
                "p_mannwhitney": g.p_mannwhitney if g else None,
                "n_cases": self.n_cases,
                "n_controls": self.n_controls,
                "n_pairs": g.n_pairs if g else None,
                "median_cases": g.cases.median if g else None,
                "iqr_cases": [g.cases.q1, g.cases.q3] if g else [None, None],
                "median_controls": g.controls.median if g else None,
                "iqr_controls": [g.controls.q1, g.controls.q3] if g else [None, None],
                "smd": g.smd if g else None,
                "spearman_ci": list(s.ci) if s else [None, None],
                "auc_se": a.se if a else None,
                "sensitivity_ci": list(c.sensitivity_ci) if c else [None, None],
                "specificity_ci": list(c.specificity_ci) if c else [None, None],
                "ppv": c.ppv if c else None,
                "npv": c.npv if c else None,
                "messages": list(self.messages),
                **options,
            }
        )


@dataclass(frozen=True)
class CohortAnalysis:
    """The cohort analysis: counts, one MarkerAnalysis per marker, DeLong comparisons, the Spearman matrix."""

    n_cases: int
    n_controls: int
    n_pairs: int | None
    markers: tuple[MarkerAnalysis, ...]
    auc_comparisons: tuple[roc.AucComparison, ...]
    correlations: correlation.CorrelationMatrix
    table1: groups.Table1
    multivariable: logistic.LogisticResult | None
    outcome: str = OUTCOME
    adjust: tuple[str, ...] = ()
    pair: str | None = None
    messages: tuple[str, ...] = field(default=())
    p_adjust: str = "none"
    p_adjusted: tuple[float, ...] = ()  # one per AUC comparison, in their order
    firth: bool = False
    pauc_range: tuple[float, float] | None = None
    roc_test: str = "delong"
    test_resamples: int = 0  # bootstrap resamples or permutations of a non-DeLong ROC test
    pauc_p: tuple[float, ...] | None = None  # with --pauc (DeLong-type or bootstrap): one per comparison
    cutoff_rule: str = "youden"
    smooth: str = "none"
    seed: int = BOOTSTRAP_SEED

    def marker(self, name: str) -> MarkerAnalysis:
        """Return the analysis of marker `name` (KeyError when it was not analysed)."""
        for m in self.markers:
            if m.marker == name:
                return m
        raise KeyError(name)

    def to_dict(self) -> dict:
        """DESIGN §4's `analyze` JSON, with extra keys `messages`, `settings`, `table1`, `multivariable`."""
        per_marker = {m.marker: list(m.messages) for m in self.markers if m.messages}
        if self.messages:
            per_marker["cohort"] = list(self.messages)
        return json_safe(
            {
                "n": {"cases": self.n_cases, "controls": self.n_controls, "pairs": self.n_pairs},
                "markers": {m.marker: m.to_dict() for m in self.markers},
                "auc_comparisons": [
                    {**c.to_dict(), "method": self.roc_test, "p_adjusted": p, **extra}
                    for c, p, extra in zip(
                        self.auc_comparisons, self._adjusted(), self._pauc_tests(), strict=True
                    )
                ],
                "marker_correlations": self.correlations.to_dict(),
                "p_adjust": self.p_adjust,
                "messages": per_marker,
                "settings": {
                    "outcome": self.outcome,
                    "adjust": list(self.adjust),
                    "pair": self.pair,
                    "firth": self.firth,
                    "p_adjust": self.p_adjust,
                    "pauc": None if self.pauc_range is None else list(self.pauc_range),
                    "roc_test": self.roc_test,
                    "roc_test_resamples": self.test_resamples or None,
                    "cutoff_rule": self.cutoff_rule,
                    "smooth": self.smooth,
                    "seed": self.seed,
                },
                "table1": self.table1.to_dict(),
                "multivariable": None if self.multivariable is None else self.multivariable.to_dict(),
            }
        )

    def _pauc_tests(self) -> list[dict[str, float]]:
        """Each comparison's `pauc_p` (test of the partial AUCs) when it was computed, else {}."""
        if self.pauc_p is None or len(self.pauc_p) != len(self.auc_comparisons):
            return [{} for _ in self.auc_comparisons]
        return [{"pauc_p": p} for p in self.pauc_p]

    def _adjusted(self) -> tuple[float, ...]:
        """Return the comparisons' adjusted p-values (their own p-values when none were given)."""
        if len(self.p_adjusted) == len(self.auc_comparisons):
            return self.p_adjusted
        return tuple(c.p_value for c in self.auc_comparisons)

    def to_frame(self) -> pd.DataFrame:
        """One row per marker with every number of its JSON entry (CIs split into _low/_high columns)."""
        rows = []
        for m in self.markers:
            row: dict = {"marker": m.marker}
            for key, value in m.to_dict().items():
                if isinstance(value, list) and key != "messages":
                    row[f"{key}_low"], row[f"{key}_high"] = value
                elif key == "messages":
                    row[key] = "; ".join(value)
                else:
                    row[key] = value
            rows.append(row)
        return pd.DataFrame(rows)


def _direction(marker: str, y: np.ndarray, x: np.ndarray) -> Direction:
    """Choose the clinical direction for the paper's indicators; pROC's `auto` (medians) for other markers."""
    indicator = Indicator.from_column(marker)
    return indicator.direction if indicator is not None else roc.auto_direction(y, x)


def _tie_message(counts: np.ndarray) -> str | None:
    """Warn when one value holds at least half of the patients (ROC cut-offs become coarse).

    `counts` is how many patients share each distinct value.
    """
    share = counts.max() / counts.sum()
    if share >= HEAVY_TIE_SHARE:
        return (
            f"heavy ties: {share:.0%} of patients share one value; the AUC counts ties as one half "
            "and the cut-off is coarse"
        )
    return None


def analyze_marker(
    table: pd.DataFrame,
    marker: str,
    outcome: str,
    adjust: tuple[str, ...],
    pair: str | None,
    components: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    ranks: dict[str, np.ndarray] | None = None,
    rule: CutoffRule = CutoffRule.YOUDEN,
    target: float | None = None,
) -> MarkerAnalysis:
    """All per-marker statistics on the patients with a value for `marker` (messages for what fails).

    The marker is sorted once (`roc.SortedScores`) for its ties, Spearman, DeLong and Youden. When every
    patient has the marker, its DeLong components and midranks are left in `components` and `ranks`
    (when given) for the pairwise AUC tests and the correlation matrix.
    """
    result = _marker_statistics(table, marker, outcome, pair, components, ranks, rule, target)
    return _with_odds(result, _marker_odds(table, marker, adjust, outcome)) if _odds_due(result) else result


def _marker_rows(
    table: pd.DataFrame, marker: str, outcome: str
) -> tuple[pd.DataFrame, np.ndarray, np.ndarray]:
    """Return (the rows with a value for `marker`, their outcome, their marker values)."""
    x_all = table[marker].to_numpy(float)
    has = np.isfinite(x_all)
    sub = table if has.all() else table.loc[has]
    return sub, sub[outcome].to_numpy(float), x_all[has]


def _fit_due(y: np.ndarray, x: np.ndarray) -> bool:
    """Tell whether `_marker_statistics` gets as far as the odds ratio for these values.

    The same checks: at least MIN_PATIENTS values, `roc.MIN_PER_GROUP` cases and controls, not constant.
    """
    n_cases, n_controls = int((y == 1).sum()), int((y == 0).sum())
    return len(x) >= MIN_PATIENTS and min(n_cases, n_controls) >= roc.MIN_PER_GROUP and x.min() != x.max()


def _odds_due(result: MarkerAnalysis) -> bool:
    """Whether `_marker_statistics` computed everything but the odds ratio (the AUC is there)."""
    return result.auc is not None


@dataclass(frozen=True)
class MarkerOdds:
    """A marker's adjusted odds ratio, the fit's messages, its patient count and why it is null/penalised."""

    odds_ratio: logistic.OddsRatio | None
    messages: tuple[str, ...]
    n: int
    note: str | None


def _marker_odds(
    table: pd.DataFrame,
    marker: str,
    adjust: tuple[str, ...],
    outcome: str,
    firth: logistic.FirthMode = logistic.FirthMode.AUTO,
) -> MarkerOdds:
    """Fit the marker's odds ratio adjusted for `adjust` on its rows; return it with the fit's messages."""
    sub = _marker_rows(table, marker, outcome)[0]
    try:
        fit = logistic.fit_logistic(sub, [marker], adjust, outcome, firth=firth)
    except AnalysisError as exc:
        n = logistic.complete_rows(sub, [marker], adjust, outcome)
        return MarkerOdds(None, (f"odds ratio not computed: {exc}",), n, f"not computed: {exc}")
    return MarkerOdds(fit.term(marker), tuple(fit.warnings), fit.n, fit.note)


def _with_odds(result: MarkerAnalysis, odds: MarkerOdds) -> MarkerAnalysis:
    """Return `result` with its odds ratio, its n and note, the fit's messages after the others."""
    return _with(
        result, odds_ratio=odds.odds_ratio, n_or=odds.n, or_note=odds.note,
        messages=(*result.messages, *odds.messages),
    )  # fmt: skip


def _marker_statistics(
    table: pd.DataFrame,
    marker: str,
    outcome: str,
    pair: str | None,
    components: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
    ranks: dict[str, np.ndarray] | None = None,
    rule: CutoffRule = CutoffRule.YOUDEN,
    target: float | None = None,
    codes: groups.PairRows | None = None,
) -> MarkerAnalysis:
    """Run `analyze_marker` without the odds ratio (fitted on its own, see `_odds_ratios`).

    `codes` locate the whole table's pairs (`groups.PairRows`), found once for every marker.
    """
    sub, y, x = _marker_rows(table, marker, outcome)
    n_cases, n_controls = int((y == 1).sum()), int((y == 0).sum())
    result = MarkerAnalysis(marker, len(x), n_cases, n_controls, cutoff_rule=cutoff_rule_text(rule, target))
    if len(x) == 0:
        return _with(result, messages=("no values: the column is empty",))
    if n_cases == 0 or n_controls == 0:
        group = "cases" if n_controls == 0 else "controls"
        return _with(result, messages=(f"only {group} have a value: cases and controls are both needed",))
    if len(x) < MIN_PATIENTS:
        return _with(
            result, messages=(f"only {len(x)} patients have a value; at least {MIN_PATIENTS} needed",)
        )
    comparison = groups.compare_groups(
        sub, marker, outcome, pair, mann_whitney=False, codes=codes if sub is table else None
    )
    if x.min() == x.max():
        return _with(
            result, groups=comparison, messages=(f"constant: every patient has {x[0]:g}; nothing to compare",)
        )
    messages = []
    presorted = roc.SortedScores.of(y, x) if np.isfinite(y).all() else None
    tie_counts = presorted.tie_counts() if presorted is not None else np.unique(x, return_counts=True)[1]
    tie = _tie_message(tie_counts)
    if tie:
        messages.append(tie)
    if min(n_cases, n_controls) < roc.MIN_PER_GROUP:
        messages.append("fewer than 2 cases or controls: ROC and odds ratio not computed")
        return _with(result, groups=comparison, messages=tuple(messages))
    direction = _direction(marker, y, x)
    auc, v10, v01 = roc.delong_auc_components(y, x, direction, presorted=presorted)
    if components is not None and sub is table:
        components[marker] = (v10, v01)
    if ranks is not None and sub is table and presorted is not None:
        ranks[marker] = presorted.midranks()
    auc_higher = auc.auc if auc.direction is Direction.HIGHER else 1.0 - auc.auc
    spearman = correlation.spearman_from_auc(auc_higher, n_cases, n_controls, tie_counts)
    small = min(n_cases, n_controls) <= EXACT_MAX_GROUP  # scipy's exact path needs the values
    comparison = dataclasses.replace(
        comparison,
        p_mannwhitney=mann_whitney_p(
            x[y == 1] if small else None, x[y == 0] if small else None,
            u_cases=auc_higher * n_cases * n_controls, tie_counts=tie_counts,
            n_cases=n_cases, n_controls=n_controls,
        ),
    )  # fmt: skip
    if auc.auc < 0.5:
        messages.append(_against_direction(marker, auc))
    cutoff = _chosen_cutoff(y, x, direction, presorted, rule, target, messages)
    return _with(
        result, groups=comparison, spearman=spearman, auc=auc, cutoff=cutoff, messages=tuple(messages)
    )


def _chosen_cutoff(
    y: np.ndarray, x: np.ndarray, direction: Direction, presorted: roc.SortedScores | None,
    rule: CutoffRule, target: float | None, messages: list[str],
) -> roc.ThresholdMetrics | None:  # fmt: skip
    """Pick the rule's cut-off and its metrics, or None with a message in `messages`.

    None for Youden when J < 0, and for a fixed sensitivity/specificity that no threshold reaches short of
    calling everyone positive.
    """
    if rule is CutoffRule.YOUDEN:  # the default path: the one sort already made, as before
        cutoff = roc.youden_cutoff(y, x, direction, presorted)
        if cutoff.sensitivity + cutoff.specificity - 1 < 0:
            messages.append(
                f"no cut-off reported: in the direction '{direction}' every threshold has Youden's J below 0"
            )
            return None
        return cutoff
    try:
        threshold = choose_threshold(y, x, direction, CutoffChoice(rule, target))
    except AnalysisError as exc:
        messages.append(f"no cut-off reported: {exc}")
        return None
    return roc.metrics_at(y, x, threshold, direction)


def _against_direction(marker: str, auc: roc.AucResult) -> str:
    """Word the flag of a marker whose data run against its (clinical) direction."""
    side = "lower" if auc.direction is Direction.LOWER else "higher"
    basis = "its clinical direction" if Indicator.from_column(marker) else "the direction of the medians"
    return (
        f"against its direction: AUC {auc.auc:.3f} < 0.5 with {side} values meaning OVCF ({basis}); "
        "in these data the marker points the other way"
    )


def _odds_ratios(
    table: pd.DataFrame,
    markers: list[str],
    adjust: tuple[str, ...],
    outcome: str,
    firth: logistic.FirthMode = logistic.FirthMode.AUTO,
) -> tuple[dict[str, MarkerOdds], logistic.LogisticResult | None, tuple[str, ...]]:
    """Fit every logistic model of the analysis, one after the other.

    The multivariable model of the markers with a finite adjusted odds ratio, and each marker's adjusted odds
    ratio (for the markers `_marker_statistics` gets that far with). Returns ({marker: (odds ratio,
    messages)}, the multivariable model, what to say about it: why it was not fitted, or which markers it left
    out).

    The fits hold the analysis' largest arrays: one at a time on one thread, beside the other statistics
    on the other, keeps a large cohort's peak memory down at no cost in time. The multivariable model,
    the largest, goes first (while the other thread holds little), on the markers expected to have an
    odds ratio; in the rare case that one of them has none (or an infinite one), it is fitted again on
    the right markers, so the result is always the model of exactly those.
    """
    due = [m for m in markers if _fit_due(*_marker_rows(table, m, outcome)[1:])]

    # The joint model is refitted by Firth only on request: with many terms on few patients its profile
    # likelihood is multi-modal and slow (tens of seconds), so a separated joint model is reported with
    # null odds ratios naming the separating variables; each marker's own model still gets Firth.
    joint_firth = firth if firth is logistic.FirthMode.ALWAYS else logistic.FirthMode.NEVER

    def multivariable(terms: list[str]) -> tuple[logistic.LogisticResult | None, tuple[str, ...]]:
        if len(terms) < 2:
            return None, ()
        try:
            fit = logistic.fit_logistic(table, terms, adjust, outcome, firth=joint_firth)
        except AnalysisError as exc:
            return None, (f"multivariable model not fitted: {exc}",)
        said = [f"multivariable model ({fit.n} patients): {fit.note}"] if fit.note else []
        return fit, tuple(said)

    multi, said = multivariable(due)
    odds = {m: _marker_odds(table, m, adjust, outcome, firth) for m in due}
    fitted = [m for m in due if (o := odds[m].odds_ratio) is not None and np.isfinite(o.coef)]
    if fitted != due:
        multi, said = multivariable(fitted)
        left = ", ".join(m for m in due if m not in fitted)
        if len(fitted) < 2:
            said = (f"multivariable model not fitted: fewer than two markers have an odds ratio "
                    f"(none for {left})",)  # fmt: skip
        else:
            said = (f"multivariable model without {left}: no odds ratio of its own", *said)
    elif len(due) < 2 and len(markers) >= 2:
        said = ("multivariable model not fitted: fewer than two markers can be modelled",)
    return odds, multi, said


def _with_conditional(
    table: pd.DataFrame, result: MarkerAnalysis, outcome: str, adjust: tuple[str, ...], pair: str
) -> MarkerAnalysis:
    """Return `result` with its conditional logistic odds ratio over the pairs (or a message why not)."""
    if result.auc is None:
        return result
    try:
        fit = logistic.fit_conditional(table, [result.marker], pair, adjust, outcome)
    except AnalysisError as exc:
        return _with(result, messages=(*result.messages, f"conditional odds ratio not computed: {exc}"))
    notes = tuple(f"conditional logistic: {w}" for w in fit.warnings)
    return _with(
        result, conditional_odds_ratio=fit.term(result.marker), n_pairs_conditional=fit.n // 2,
        messages=(*result.messages, *notes),
    )  # fmt: skip


def _with_pauc(
    table: pd.DataFrame, result: MarkerAnalysis, outcome: str, specificity: tuple[float, float],
    n_boot: int, seed: int, tick: Tick | None = None,
) -> MarkerAnalysis:  # fmt: skip
    """Return `result` with its partial AUC over `specificity` (and a bootstrap CI when `n_boot` > 0)."""
    if result.auc is None:
        return _with(result, pauc_asked=True)
    _, y, x = _marker_rows(table, result.marker, outcome)
    try:
        pa = partial_auc_with_ci(
            y, x, result.auc.direction, specificity, n_boot=n_boot, seed=seed, progress=tick
        )
    except AnalysisError as exc:
        return _with(result, pauc_asked=True, messages=(*result.messages, f"partial AUC not computed: {exc}"))
    return _with(result, pauc=pa, pauc_asked=True)


def _with_bootstrap(
    table: pd.DataFrame, result: MarkerAnalysis, outcome: str, n_boot: int, seed: int,
    tick: Tick | None = None,
) -> MarkerAnalysis:  # fmt: skip
    """Return `result` with a stratified bootstrap percentile CI of its AUC (same direction, seeded)."""
    if result.auc is None:
        return result
    ci = roc.bootstrap_auc_ci(
        table[outcome].to_numpy(float), table[result.marker].to_numpy(float), result.auc.direction,
        n_boot=n_boot, seed=seed, progress=tick,
    )  # fmt: skip
    return _with(result, auc_ci_bootstrap=ci)


def _with_cutoff_ci(
    table: pd.DataFrame, result: MarkerAnalysis, outcome: str, rule: CutoffRule, target: float | None,
    n_boot: int, seed: int, tick: Tick | None = None,
) -> MarkerAnalysis:  # fmt: skip
    """Return `result` with stratified bootstrap CIs of its cut-off and of sensitivity and specificity.

    The cut-off is re-chosen by the rule in every resample (pROC's ci.coords), sensitivity and
    specificity are taken at it (pROC's ci.thresholds).
    """
    if result.auc is None or result.cutoff is None:
        return result
    _, y, x = _marker_rows(table, result.marker, outcome)
    try:
        choice = CutoffChoice(rule, target)
        found = cutoff_analysis(y, x, result.auc.direction, choice, n_boot=n_boot, seed=seed, progress=tick)
    except AnalysisError as exc:
        return _with(result, messages=(*result.messages, f"cut-off CIs not computed: {exc}"))
    return _with(result, cutoff_bootstrap=found)


def _with_binormal(table: pd.DataFrame, result: MarkerAnalysis, outcome: str) -> MarkerAnalysis:
    """Return `result` with pROC's binormal smoothing of its ROC curve (or a message why not)."""
    from ovcf_core.stats.binormal import binormal_roc

    if result.auc is None:
        return _with(result, smooth_asked=True)
    _, y, x = _marker_rows(table, result.marker, outcome)
    try:
        fit = binormal_roc(y, x, result.auc.direction)
    except AnalysisError as exc:
        return _with(result, smooth_asked=True, messages=(*result.messages, f"binormal smoothing: {exc}"))
    return _with(result, binormal=fit, smooth_asked=True)


def _with(result: MarkerAnalysis, **changes: Any) -> MarkerAnalysis:
    from dataclasses import replace

    return replace(result, **changes)


def _comparisons(
    table: pd.DataFrame,
    analysed: list[MarkerAnalysis],
    outcome: str,
    components: dict[str, tuple[np.ndarray, np.ndarray]] | None = None,
) -> list[roc.AucComparison]:
    """Run the DeLong test for every two markers with an AUC, on the patients with both.

    When no value is missing the markers' components (from `analyze_marker`, else computed here) give one
    covariance matrix.
    """
    good = [m for m in analysed if m.auc is not None]
    directions = [m.auc.direction for m in good if m.auc is not None]  # (the `if` only for the type checker)
    if len(good) < 2:
        return []
    y = table[outcome].to_numpy(float)
    out = []
    # every marker complete: one covariance matrix (each column checked in place, not an n x k copy)
    if all(np.isfinite(table[m.marker].to_numpy(float)).all() for m in good):
        components = components or {}
        if all(m.marker in components for m in good):
            v10 = np.vstack([components[m.marker][0] for m in good])
            v01 = np.vstack([components[m.marker][1] for m in good])
            aucs, cov = v10.mean(axis=1), roc.covariance_from_components(v10, v01)
        else:
            values = table[[m.marker for m in good]].to_numpy(float)
            oriented = np.where([d is Direction.HIGHER for d in directions], values, -values)
            aucs, cov = roc.delong_covariance(oriented[y == 1].T, oriented[y == 0].T)
        return [
            roc.compare_correlated(aucs, cov, i, j, (good[i].marker, good[j].marker), len(y))
            for i, j in itertools.combinations(range(len(good)), 2)
        ]
    values = table[[m.marker for m in good]].to_numpy(float)
    for i, j in itertools.combinations(range(len(good)), 2):
        a, b = good[i], good[j]
        try:
            out.append(
                roc.delong_test(
                    roc.PairedScores(
                        y, values[:, i], values[:, j], directions[i], directions[j], (a.marker, b.marker)
                    )
                )
            )
        except AnalysisError:
            continue
    return out


def _paired_markers(
    table: pd.DataFrame, a: MarkerAnalysis, b: MarkerAnalysis, outcome: str
) -> roc.PairedScores | None:
    """Hold the outcome and two analysed markers, each in its AUC's direction, for a paired ROC test.

    None unless both markers have an AUC.
    """
    if a.auc is None or b.auc is None:
        return None
    return roc.PairedScores(
        table[outcome].to_numpy(float), table[a.marker].to_numpy(float), table[b.marker].to_numpy(float),
        a.auc.direction, b.auc.direction, (a.marker, b.marker),
    )  # fmt: skip


def _resampled_comparison(
    table: pd.DataFrame, a: MarkerAnalysis, b: MarkerAnalysis, outcome: str, method: str, n: int, seed: int,
    tick: Tick | None = None,
) -> roc.AucComparison | None:  # fmt: skip
    """Compare two analysed markers by `marker_comparisons.resampled_comparison` (None without both AUCs)."""
    pair = _paired_markers(table, a, b, outcome)
    return None if pair is None else resampled_comparison(pair, method, n, seed=seed, progress=tick)


def _pauc_comparison(
    table: pd.DataFrame, a: MarkerAnalysis, b: MarkerAnalysis, outcome: str,
    specificity: tuple[float, float], n: int, seed: int, tick: Tick | None = None,
) -> float:  # fmt: skip
    """Run pROC's bootstrap test of two markers' McClish-corrected partial AUCs: its p (NaN if impossible)."""
    pair = _paired_markers(table, a, b, outcome)
    if pair is None:
        return float("nan")
    try:
        return compare_partial_auc(pair, specificity=specificity, n_boot=n, seed=seed, progress=tick).p_value
    except AnalysisError:
        return float("nan")


def _delong_pauc_p(
    table: pd.DataFrame, analysed: list[MarkerAnalysis], comparisons: list[roc.AucComparison],
    outcome: str, specificity: tuple[float, float],
) -> tuple[float, ...]:  # fmt: skip
    """Test each comparison's two partial AUCs by the DeLong-type test of `partial_auc_delong`.

    Returns its p, NaN where it cannot be computed.
    """
    direction = {m.marker: m.auc.direction for m in analysed if m.auc is not None}
    y = table[outcome].to_numpy(float)
    out = []
    for c in comparisons:
        try:
            pair = roc.PairedScores(
                y, table[c.a].to_numpy(float), table[c.b].to_numpy(float), direction[c.a], direction[c.b],
                (c.a, c.b),
            )  # fmt: skip
            test = delong_partial_auc_test(pair, specificity=specificity)
        except (AnalysisError, KeyError):
            out.append(float("nan"))
            continue
        out.append(test.p_value)
    return tuple(out)


Tick = Callable[[int, int], None]  # a library loop's progress: (resamples done, resamples in all)


class _Tracker:
    """Add up the resamples done by every bootstrap/permutation loop of one analysis.

    Threads included; the fraction of all of them is reported to `report`.
    """

    def __init__(self, total: int, report: Progress | None) -> None:
        import threading

        self.total, self.report, self.done, self.lock = total, report, 0, threading.Lock()

    def tick(self) -> Tick | None:
        """Make a progress callback for one loop (None when nobody listens)."""
        if self.report is None or self.total <= 0:
            return None
        last = [0]

        def tick(done: int, _n: int) -> None:
            with self.lock:
                self.done += done - last[0]
                last[0] = done
                fraction = min(1.0, self.done / self.total)
            if self.report is not None:
                self.report(fraction)

        return tick


@contextlib.contextmanager
def _parallel(n_rows: int) -> Iterator[Executor]:
    """Give threads for the independent parts of a large cohort's analysis, else run calls at once.

    numpy's sorts, searches and matrix products release the GIL; for a small cohort the executor runs
    each call at once in this thread.

    The statistics code only ever *ignores* warnings; `warnings.catch_warnings` is not thread-safe, so
    the whole parallel section runs inside one that restores this thread's filters at the end.
    """
    workers = min(4, os.cpu_count() or 1)
    if n_rows < PARALLEL_MIN_ROWS or workers < 2:
        with Inline() as inline:
            yield inline
        return
    with warnings.catch_warnings(), ThreadPoolExecutor(workers, thread_name_prefix="ovcf-analyze") as pool:
        warnings.simplefilter("ignore")
        yield pool


@dataclass(frozen=True)
class _Options:
    """Hold the analysis' resampling options, checked.

    Bootstrap N and seed, partial AUC range, ROC test and its N, the cut-off rule and target, the
    smoothing.
    """

    bootstrap: int
    seed: int
    pauc: tuple[float, float] | None
    roc_test: str
    test_n: int
    rule: CutoffRule
    target: float | None
    smooth: str

    @classmethod
    def of(
        cls,
        bootstrap: int,
        seed: int,
        pauc: tuple[float, float] | None,
        roc_test: str,
        cutoff: str,
        smooth: str,
    ) -> _Options:
        """Check and build the options, or raise AnalysisError naming the unknown test, smoothing or rule."""
        if roc_test not in COMPARISON_METHODS:
            raise AnalysisError(f"unknown ROC test '{roc_test}' (use one of {', '.join(COMPARISON_METHODS)})")
        if smooth not in SMOOTHING:
            raise AnalysisError(f"unknown smoothing '{smooth}' (use one of {', '.join(SMOOTHING)})")
        try:
            rule, target = parse_cutoff_rule(cutoff)
        except ValueError as exc:
            raise AnalysisError(str(exc)) from None
        test_n = (bootstrap or DEFAULT_RESAMPLES) if roc_test != "delong" else 0
        return cls(bootstrap, seed, pauc, roc_test, test_n, rule, target, smooth)


def _resampling(
    pool: Executor, table: pd.DataFrame, analysed: list[MarkerAnalysis], outcome: str, o: _Options,
    progress: Progress | None,
) -> tuple[list[MarkerAnalysis], list[roc.AucComparison] | None, tuple[float, ...] | None]:  # fmt: skip
    """Compute the options' per-marker additions and, for a non-DeLong test, the comparisons.

    The additions are bootstrap CIs of the AUC, cut-off and partial AUC, and binormal smoothing; for a
    non-DeLong test, the comparisons of every two markers (None for DeLong) and
    their partial AUC tests' p (None unless asked); `progress` hears of every resample.
    """
    good = [m for m in analysed if m.auc is not None]
    pairs = list(itertools.combinations(good, 2))
    boot, seed = o.bootstrap, o.seed
    pauc_test = o.pauc is not None and o.roc_test == "bootstrap"
    tracker = _Tracker(
        boot * (len(good) * (2 if o.pauc is not None else 1) + sum(m.cutoff is not None for m in good))
        + o.test_n * len(pairs) * (2 if pauc_test else 1),
        progress,
    )
    if boot > 0:
        analysed = list(
            pool.map(lambda m: _with_bootstrap(table, m, outcome, boot, seed, tracker.tick()), analysed)
        )
        analysed = list(
            pool.map(
                lambda m: _with_cutoff_ci(table, m, outcome, o.rule, o.target, boot, seed, tracker.tick()),
                analysed,
            )
        )
    if o.pauc is not None:
        span = o.pauc
        analysed = list(
            pool.map(lambda m: _with_pauc(table, m, outcome, span, boot, seed, tracker.tick()), analysed)
        )
    if o.smooth == "binormal":
        analysed = list(pool.map(lambda m: _with_binormal(table, m, outcome), analysed))
    if o.roc_test == "delong":
        return analysed, None, None
    tested = list(
        pool.map(
            lambda ab: _resampled_comparison(
                table, ab[0], ab[1], outcome, o.roc_test, o.test_n, seed, tracker.tick()
            ),
            pairs,
        )
    )
    kept = [(ab, c) for ab, c in zip(pairs, tested, strict=True) if c is not None]
    pauc_p = None
    if pauc_test and o.pauc is not None:
        span = o.pauc
        pauc_p = tuple(
            pool.map(
                lambda item: _pauc_comparison(
                    table, item[0][0], item[0][1], outcome, span, o.test_n, seed, tracker.tick()
                ),
                kept,
            )
        )
    return analysed, [c for _, c in kept], pauc_p


def _coded_pairs(
    table: pd.DataFrame, pair: str | None, y: np.ndarray
) -> tuple[pd.DataFrame, str | None, groups.PairRows | None]:
    """Replace the pair labels by integer codes (missing: NaN), hashed once for every paired test.

    Returns the table, the pair column (None when the table has none or no row has a pair label) and
    where its complete pairs are (`groups.PairRows`; `y` is the outcome).
    """
    if pair is None or pair not in table.columns:
        return table, None, None
    labels = pd.factorize(table[pair])[0]  # a missing label gets -1
    if not (labels >= 0).any():
        return table, None, None
    rows = groups.PairRows.of(groups.complete_pair_codes(labels, y), y)
    return table.assign(**{pair: np.where(labels >= 0, labels, np.nan)}), pair, rows


def count_pairs(table: pd.DataFrame, outcome: str, pair: str | None) -> int | None:
    """Count the pairs with exactly one case and one control, or None without a pair column."""
    if pair is None or pair not in table.columns:
        return None
    return int((groups.pair_codes(table, outcome, pair) >= 0).sum() // 2)


def analyze_cohort(
    table: pd.DataFrame,
    markers: Iterable[str] | None = None,
    outcome: str = OUTCOME,
    adjust: Iterable[str] | None = COVARIATES,
    pair: str | None = "pair_id",
    *,
    conditional: bool = False,
    bootstrap: int = 0,
    seed: int = BOOTSTRAP_SEED,
    firth: bool = False,
    pauc: tuple[float, float] | None = None,
    p_adjust: str = "none",
    roc_test: str = "delong",
    cutoff: str = "youden",
    smooth: str = "none",
    progress: Progress | None = None,
) -> CohortAnalysis:
    """Run the paper's analysis of a validated cohort table (`schema.validate_cohort`'s clean table).

    The one analysis behind `ovcf analyze`, the pages and the HTML report, so their numbers agree.

    Parameters
    ----------
    table : DataFrame
        The clean cohort table.
    markers : iterable of str, optional
        The marker columns; by default the indicator columns present.
    outcome : str
        The 0/1 outcome column.
    adjust : iterable of str, optional
        Covariates of the adjusted odds ratios; those missing from the table are skipped with a message.
    pair : str, optional
        The matched-pair column, used (paired tests, McNemar) when the table has it.
    conditional : bool
        Add each marker's conditional logistic odds ratio over the pairs (`conditional_or_*` keys).
    bootstrap : int
        Resamples for stratified, seeded bootstrap percentile CIs of each AUC (`auc_ci_bootstrap`), cut-off
        and partial AUC; 0 = none.
    seed : int
        The seed of every resampling loop.
    firth : bool
        Fit every odds ratio by Firth's penalised likelihood (otherwise only where separation is found).
    pauc : (float, float), optional
        (SP_LO, SP_HI): add each marker's partial AUC; the DeLong and bootstrap tests then also compare
        partial AUCs (`pauc_p`: the DeLong-type test of `partial_auc_delong`, or pROC's bootstrap test).
    p_adjust : str
        Adjustment of the AUC comparisons' p-values: none, holm or fdr_bh (`roc_tests.adjust_p`).
    roc_test : str
        How every two markers are compared: DeLong, pROC's bootstrap test or Venkatraman's permutation
        test (N = `bootstrap`, or 2000 when 0).
    cutoff : str
        The rule of each marker's cut-off (`parse_cutoff_rule`).
    smooth : str
        "binormal" adds pROC's binormal AUC; "none" does not.
    progress : callable, optional
        Told the fraction of all resampling done.

    Returns
    -------
    CohortAnalysis
        Table 1, each marker's statistics, the AUC comparisons, the correlation matrix and the
        multivariable model, with messages for whatever could not be computed.

    Raises
    ------
    InputError
        If the outcome or a marker column is not in the table.
    AnalysisError
        If the cohort cannot be analysed at all (one class only, no marker) or an option is unknown.
    """
    options = _Options.of(bootstrap, seed, pauc, roc_test, cutoff, smooth)
    rule, target = options.rule, options.target
    if outcome not in table.columns:
        raise InputError(f"missing outcome column '{outcome}'", column=outcome)
    y = table[outcome].to_numpy(float)
    n_cases, n_controls = int((y == 1).sum()), int((y == 0).sum())
    if n_cases == 0 or n_controls == 0:
        raise AnalysisError(
            f"the cohort has {n_cases} cases and {n_controls} controls: both groups are needed"
        )
    if markers is None:
        markers = [c for c in INDICATOR_COLUMNS if c in table.columns]
    markers = list(dict.fromkeys(m.strip().lower() for m in markers))
    missing = [m for m in markers if m not in table.columns]
    if missing:
        raise InputError(f"marker column(s) not in the table: {', '.join(missing)}", column=missing[0])
    if not markers:
        raise AnalysisError("no marker to analyse: the table has none of " + ", ".join(INDICATOR_COLUMNS))
    notes = []
    adjust = tuple(a.strip().lower() for a in (adjust or ()) if a.strip())
    absent = [a for a in adjust if a not in table.columns or table[a].isna().all()]
    if absent:
        notes.append(f"not adjusted for {', '.join(absent)}: not in the table")
    adjust = tuple(a for a in adjust if a not in absent)
    if SEX in table.columns and not isinstance(table[SEX].dtype, pd.CategoricalDtype):
        # F/M as a categorical: the models' and tests' comparisons and missing checks on codes, not text
        table = table.assign(**{SEX: pd.Categorical(table[SEX], categories=list(SEX_CATEGORIES))})
    demographics = [c for c in (AGE, BMI) if c in table.columns]
    mode = logistic.FirthMode.ALWAYS if firth else logistic.FirthMode.AUTO
    with _parallel(len(table)) as pool:
        # the longest job first; it needs no pairs, so the pair labels are coded while it runs
        models_job = pool.submit(_odds_ratios, table, markers, adjust, outcome, mode)
        table, pair, codes = _coded_pairs(table, pair, y)  # each row's complete pair, found once
        if conditional and pair is None:
            notes.append("conditional logistic regression needs a pair column: not computed")
        t1_job = pool.submit(groups.table1, table, demographics, outcome, pair, codes)
        components: dict[str, tuple[np.ndarray, np.ndarray]] = {}
        ranks: dict[str, np.ndarray] = {}
        statistics = list(
            pool.map(
                lambda m: _marker_statistics(table, m, outcome, pair, components, ranks, rule, target, codes),
                markers,
            )
        )
        odds, multi, multi_notes = models_job.result()
        if set(odds) != {m.marker for m in statistics if _odds_due(m)}:
            raise AssertionError("odds ratios fitted for other markers than the statistics reached")
        analysed = [_with_odds(m, odds[m.marker]) if m.marker in odds else m for m in statistics]
        analysed = [_with(m, paired=pair is not None) for m in analysed]
        notes.extend(multi_notes)
        if conditional and pair is not None:
            analysed = [_with(m, conditional=True) for m in analysed]
            analysed = list(pool.map(lambda m: _with_conditional(table, m, outcome, adjust, pair), analysed))
        analysed, resampled, pauc_p = _resampling(pool, table, analysed, outcome, options, progress)
        if resampled is None:  # DeLong: the components already computed, beside the correlation matrix
            comparisons_job = pool.submit(_comparisons, table, analysed, outcome, components)
        usable = [m.marker for m in analysed if m.spearman is not None]
        matrix_job = pool.submit(correlation.correlation_matrix, table, usable, ranks)
        comparisons = comparisons_job.result() if resampled is None else resampled
        if resampled is None and pauc is not None:  # DeLong-type tests of the partial AUCs
            pauc_p = _delong_pauc_p(table, analysed, comparisons, outcome, pauc)
        matrix, t1 = matrix_job.result(), t1_job.result()
    adjusted = adjust_p([c.p_value for c in comparisons], p_adjust)
    n_pairs = None if codes is None else len(codes.labels)  # as `count_pairs`
    return CohortAnalysis(
        n_cases, n_controls, n_pairs, tuple(analysed), tuple(comparisons), matrix,
        t1, multi, outcome, adjust, pair, tuple(notes), p_adjust, tuple(adjusted), firth, pauc,
        roc_test, options.test_n, pauc_p, cutoff_rule_text(rule, target), smooth, seed,
    )  # fmt: skip
