"""The paper's tables as DataFrames of formatted text, built from the analysis' result dataclasses.

They read `CohortAnalysis` (and its `MarkerAnalysis`, `GroupComparison`, `OddsRatio`, `AucResult`...)
directly — the objects the CLI's JSON is written from — so the page, the CLI's JSON and the report can
never disagree, and every field is typed. Table 1 compares the groups, Table 2 gives each indicator's
Spearman correlation with OVCF and adjusted odds ratio, Table 3 the correlations between indicators.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ovcf_core import formatting
from ovcf_core.report import style
from ovcf_core.stats.cutoffs import LikelihoodRatios, likelihood_ratios
from ovcf_core.stats.marker_comparisons import ComparisonRow, comparison_rows

if TYPE_CHECKING:
    from ovcf_core.method_agreement import MethodAgreement
    from ovcf_core.ratings import IndicatorIcc
    from ovcf_core.stats.analysis import CohortAnalysis, MarkerAnalysis
    from ovcf_core.stats.cutoffs import CutoffResult
    from ovcf_core.stats.groups import GroupComparison, GroupSummary
    from ovcf_core.stats.icc import IccResult
    from ovcf_core.stats.logistic import LogisticResult, OddsRatio
    from ovcf_core.stats.marker_aucs import BootstrapAuc

TEST_NAMES = {
    "paired_t": "paired t-test",
    "welch_t": "Welch's t-test",
    "chi2": "χ² test",
    "chi_square": "χ² test",
    "mcnemar": "McNemar's test",
}
DIRECTION_TEXT = {"higher": "higher = OVCF", "lower": "lower = OVCF"}
METHOD_TEXT = {"wald": "Wald", "firth": "Firth"}
N_COLUMN = "n (OVCF/control)"
MW_COLUMN = "p (Mann–Whitney)"
WILCOXON_COLUMN = "p (Wilcoxon)"
CI = tuple[float | None, float | None]


def group_headers(analysis: CohortAnalysis) -> tuple[str, str]:
    """Column headers 'OVCF (n=78)' and 'Control (n=78)' from the analysis' counts."""
    return (f"{style.CASE_LABEL} (n={analysis.n_cases})", f"{style.CONTROL_LABEL} (n={analysis.n_controls})")


def _summary_text(summary: GroupSummary | None, digits: int) -> str:
    """'mean ± SD' of a group (Table 1 style)."""
    return style.MISSING if summary is None else formatting.mean_sd(summary.mean, summary.sd, digits)


def _counts(cases: int | None, controls: int | None) -> str:
    """'78/77': patients with a value in each group."""
    return f"{cases if cases is not None else '?'}/{controls if controls is not None else '?'}"


def _test_name(test: object) -> str:
    """Name the group test as a paper writes it."""
    return TEST_NAMES.get(str(test), str(test)) if test is not None else style.MISSING


def _comparison_row(label: str, g: GroupComparison | None, digits: int, case_col: str, control_col: str,
                    n: tuple[int | None, int | None]) -> dict[str, str]:  # fmt: skip
    """One Table 1 row: mean ± SD per group, n per group, the t test and the rank tests."""
    return {
        "Characteristic": label,
        case_col: _summary_text(g.cases if g else None, digits),
        control_col: _summary_text(g.controls if g else None, digits),
        N_COLUMN: _counts(*n),
        "p": formatting.p_value(g.p_value if g else None),
        "Test": _test_name(g.test if g else None),
        MW_COLUMN: formatting.p_value(g.p_mannwhitney if g else None),
        WILCOXON_COLUMN: formatting.p_value(g.p_wilcoxon if g else None),
    }


def _demographic_rows(analysis: CohortAnalysis, case_col: str, control_col: str) -> list[dict]:
    """Age, BMI (mean ± SD) and sex (women, n (%)) rows from the analysis' Table 1."""
    markers = {m.marker for m in analysis.markers}
    rows = [
        _comparison_row(
            style.marker_label(g.variable),
            g,
            formatting.marker_digits(g.variable),
            case_col,
            control_col,
            (g.cases.n, g.controls.n),
        )
        for g in analysis.table1.rows
        if g.variable not in markers
    ]
    sex = analysis.table1.sex
    if sex is not None:

        def women(count: int, total: int) -> str:
            return f"{count} ({formatting.percent(count / total if total else None)})"

        rows.append(
            {
                "Characteristic": "Women, n (%)",
                case_col: women(sex.female_cases, sex.n_cases),
                control_col: women(sex.female_controls, sex.n_controls),
                N_COLUMN: _counts(sex.n_cases, sex.n_controls),
                "p": formatting.p_value(sex.p_value),
                "Test": _test_name(sex.test),
                MW_COLUMN: style.MISSING,
                WILCOXON_COLUMN: style.MISSING,
            }
        )
    return rows


def table1(analysis: CohortAnalysis) -> pd.DataFrame:
    """Build Table 1: age, BMI and sex, then each indicator's mean ± SD in cases and controls.

    Each row has n per group, the t test and p, and the rank tests beside it (Mann–Whitney; the Wilcoxon
    signed-rank column only when some indicator was analysed over matched pairs).
    """
    case_col, control_col = group_headers(analysis)
    rows = _demographic_rows(analysis, case_col, control_col)
    for m in analysis.markers:
        rows.append(
            _comparison_row(
                style.marker_label(m.marker),
                m.groups,
                formatting.marker_digits(m.marker),
                case_col,
                control_col,
                (m.n_cases, m.n_controls),
            )
        )
    columns = ["Characteristic", case_col, control_col, N_COLUMN, "p", "Test", MW_COLUMN]
    paired = any(m.paired for m in analysis.markers)
    return pd.DataFrame(rows, columns=[*columns, WILCOXON_COLUMN] if paired else columns)


PER_UNIT_COLUMN = "OR per stated unit [95% CI]"


def marker_unit(m: MarkerAnalysis) -> float:
    """Return the step an odds ratio of the marker is stated per (`formatting.display_unit`).

    A marker the tool does not know gets the largest power of ten not above the SD of its model's sample
    (1 without one).
    """
    return formatting.display_unit(m.marker, m.odds_ratio.sd if m.odds_ratio is not None else None)


def rescaled_odds(m: MarkerAnalysis) -> tuple[float | None, CI, float]:
    """Rescale the marker's OR and CI to its stated unit (exact: OR per 1 raised to the unit).

    Returns
    -------
    tuple
        The OR, its CI as (low, high), and the unit (`marker_unit`); the OR and CI are None without a
        model.
    """
    return _odds_per_unit(m.marker, m.odds_ratio)


def _odds_per_unit(marker: str, o: OddsRatio | None) -> tuple[float | None, CI, float]:
    """Rescale a marker's OR per 1 and CI to its stated unit (`formatting.display_unit` of its SD)."""
    unit = formatting.display_unit(marker, o.sd if o is not None else None)
    if o is None:
        return None, (None, None), unit
    estimate, ci = formatting.rescale_odds_ratio(o.or_per_unit, o.or_per_unit_ci, unit)
    return estimate, ci, unit


def _per_unit_text(m: MarkerAnalysis) -> str:
    """'2.03 [1.63–2.52] per 0.1 VBQ score'."""
    estimate, ci, unit = rescaled_odds(m)
    text = formatting.odds_ratio_ci(estimate, *ci)
    return text if text == style.MISSING else f"{text} per {formatting.unit_text(m.marker, unit)}"


def table2(analysis: CohortAnalysis) -> pd.DataFrame:
    """Build Table 2: each indicator's Spearman correlation with OVCF and its adjusted odds ratios.

    The odds ratios are per SD and per a stated unit (`marker_unit`), with the patients in each model and
    how it was estimated (Wald or Firth).
    """
    rows = []
    for m in analysis.markers:
        s, o = m.spearman, m.odds_ratio
        rows.append(
            {
                "Indicator": style.marker_label(m.marker),
                "Spearman ρ": formatting.number(s.rho if s else None, 3),
                "p (ρ)": formatting.p_value(s.p_value if s else None),
                "OR per SD [95% CI]": formatting.odds_ratio_ci(
                    *((o.or_per_sd, *o.or_per_sd_ci) if o else (None,) * 3)
                ),
                PER_UNIT_COLUMN: _per_unit_text(m),
                "p (OR)": formatting.p_value(o.p_value if o else None),
                "n (OR)": m.n_or if m.n_or is not None else style.MISSING,
                "Method": METHOD_TEXT.get((o.method if o else None) or "", style.MISSING),
            }
        )
    return pd.DataFrame(
        rows,
        columns=["Indicator", "Spearman ρ", "p (ρ)", "OR per SD [95% CI]", PER_UNIT_COLUMN, "p (OR)",
                 "n (OR)", "Method"],
    )  # fmt: skip


def odds_notes(analysis: CohortAnalysis) -> list[str]:
    """Why an indicator's odds ratio is null or penalised (the `or_note` of each), one line each."""
    return [f"{style.marker_label(m.marker, unit=False)}: {m.or_note}" for m in analysis.markers if m.or_note]


def direction_flags(analysis: CohortAnalysis) -> list[str]:
    """Flag indicators whose data run against their direction (AUC < 0.5), or that have no usable cut-off."""
    flags = []
    for m in analysis.markers:
        if m.auc is None or not math.isfinite(m.auc.auc):
            continue
        label = style.marker_label(m.marker, unit=False)
        side = DIRECTION_TEXT.get(str(m.auc.direction), "its direction")
        if m.auc.auc < 0.5:
            flags.append(
                f"{label}: AUC {formatting.auc(m.auc.auc)} < 0.5 with {side}: in these data it runs against "
                "its direction"
            )
        if m.cutoff is None:
            rule = analysis.cutoff_rule or "youden"
            why = (
                "every threshold has Youden's J below 0"
                if rule == "youden"
                else f"no threshold meets the rule '{cutoff_rule_label(rule)}'"
            )
            flags.append(f"{label}: no cut-off, since {why}")
    return flags


def correlation_frames(analysis: CohortAnalysis) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Return the inter-marker rho and p matrices as numeric DataFrames (rows and columns in marker order).

    Both are empty when the analysis correlated no marker (the report then leaves Table 3 out).
    """
    c = analysis.correlations
    markers = list(c.markers)
    return (
        pd.DataFrame(np.asarray(c.rho, float), index=markers, columns=markers),
        pd.DataFrame(np.asarray(c.p, float), index=markers, columns=markers),
    )


def table3(analysis: CohortAnalysis) -> pd.DataFrame:
    """Table 3: Spearman ρ (p) between every two indicators."""
    rho, p = correlation_frames(analysis)
    labels = [style.marker_label(m, unit=False) for m in rho.columns]
    cells = [
        [
            "1" if a == b else f"{formatting.number(rho.loc[a, b], 3)} ({formatting.p_value(p.loc[a, b])})"
            for b in rho.columns
        ]
        for a in rho.index
    ]
    table = pd.DataFrame(cells, columns=labels)
    table.insert(0, "Indicator", labels)
    return table


def marker_likelihood_ratios(m: MarkerAnalysis) -> LikelihoodRatios | None:
    """LR+ and LR− at the marker's cut-off, with log-method CIs (None without a cut-off)."""
    c = m.cutoff
    if c is None:
        return None
    return likelihood_ratios(c.true_positive, c.false_negative, c.false_positive, c.true_negative)


def auc_table(analysis: CohortAnalysis) -> pd.DataFrame:
    """Build the ROC table: each indicator's AUC with its DeLong 95% CI, direction and cut-off.

    Beside the cut-off (by the analysis' rule) come its sensitivity and specificity and likelihood ratios;
    the partial and binormal AUCs are columns only when they were asked for, and a Note column only when
    an AUC is below 0.5.
    """
    rows = []
    for m in analysis.markers:
        a, c, lr = m.auc, m.cutoff, marker_likelihood_ratios(m)
        rows.append(
            {
                "Indicator": style.marker_label(m.marker),
                "AUC [95% CI]": formatting.estimate_interval(a.auc, *a.ci, 3) if a else style.MISSING,
                "Direction": DIRECTION_TEXT.get(str(a.direction) if a else "", style.MISSING),
                "Cut-off": formatting.marker_value(m.marker, c.threshold if c else None),
                "Sensitivity": formatting.percent(c.sensitivity if c else None),
                "Specificity": formatting.percent(c.specificity if c else None),
                "n": m.n,
                "LR+": formatting.odds_ratio_ci(*((lr.positive, *lr.positive_ci) if lr else (None,) * 3)),
                "LR−": formatting.odds_ratio_ci(*((lr.negative, *lr.negative_ci) if lr else (None,) * 3)),
                "pAUC (McClish)": formatting.auc(m.pauc.corrected if m.pauc else None),
                "Binormal AUC": formatting.auc(m.binormal.auc if m.binormal else None),
                "Note": "against its direction (AUC < 0.5)" if a is not None and a.auc < 0.5 else "",
            }
        )
    columns = ["Indicator", "AUC [95% CI]", "Direction", "Cut-off", "Sensitivity", "Specificity", "n", "LR+",
               "LR−"]  # fmt: skip
    if any(m.pauc_asked for m in analysis.markers):
        columns.append("pAUC (McClish)")
    if any(m.smooth_asked for m in analysis.markers):
        columns.append("Binormal AUC")
    if any(r["Note"] for r in rows):
        columns.append("Note")
    return pd.DataFrame(rows, columns=columns)


def bootstrap_auc_table(rows: Sequence[BootstrapAuc]) -> pd.DataFrame:
    """Build the table of each indicator's AUC with its DeLong and bootstrap 95% CIs side by side.

    Parameters
    ----------
    rows : sequence of BootstrapAuc
        The markers' AUCs and bootstrap CIs (`marker_aucs.bootstrap_aucs`).

    Returns
    -------
    pandas.DataFrame
        Indicator, AUC, DeLong 95% CI, Bootstrap 95% CI (missing where the resampling failed).
    """
    table = []
    for r in rows:
        low, high = r.bootstrap_ci if r.bootstrap_ci is not None else (None, None)
        table.append(
            {
                "Indicator": style.marker_label(r.marker),
                "AUC": formatting.auc(r.auc.auc),
                "DeLong 95% CI": formatting.interval(*r.auc.ci, digits=formatting.AUC_DIGITS),
                "Bootstrap 95% CI": formatting.interval(low, high, digits=formatting.AUC_DIGITS),
            }
        )
    return pd.DataFrame(table, columns=["Indicator", "AUC", "DeLong 95% CI", "Bootstrap 95% CI"])


ROC_TEST_NAMES = {
    "delong": "DeLong's test",
    "bootstrap": "bootstrap test (pROC)",
    "venkatraman": "Venkatraman's permutation test",
}
STATISTIC_NAMES = {"delong": "z", "bootstrap": "D", "venkatraman": "E"}


def delong_table(analysis: CohortAnalysis) -> pd.DataFrame:
    """Build the analysis' table of tests of every pair of indicators (`comparisons_table`)."""
    return comparisons_table(comparison_rows(analysis), analysis.roc_test, analysis.p_adjust)


def comparisons_table(
    rows: Sequence[ComparisonRow], method: str = "delong", p_adjust: str = "none"
) -> pd.DataFrame:
    """Build the table of tests of pairs of indicators.

    Parameters
    ----------
    rows : sequence of ComparisonRow
        The tests, one row each, in order.
    method : str
        The test used ("delong", "bootstrap" or "venkatraman"): names the statistic's column (z,
        bootstrap D or Venkatraman's E).
    p_adjust : str
        The p-value adjustment ("none", "holm" or "fdr_bh"); any other than "none" adds the adjusted p's
        column, headed with its name.

    Returns
    -------
    pandas.DataFrame
        Both AUCs, the statistic, p and n per test, the partial AUCs' p when any row has one, and the
        adjusted p.
    """
    statistic = STATISTIC_NAMES.get(method, "z")
    adjusted = f"p ({ADJUST_NAMES.get(p_adjust, p_adjust)})"
    table = []
    for r in rows:
        row = {
            "Comparison": f"{style.marker_label(r.a, unit=False)} vs {style.marker_label(r.b, unit=False)}",
            "AUC A": formatting.auc(r.auc_a),
            "AUC B": formatting.auc(r.auc_b),
            statistic: formatting.number(r.statistic, 2),
            "p": formatting.p_value(r.p_value),
            "n": r.n if r.n is not None else style.MISSING,
            "p (partial AUC)": formatting.p_value(r.pauc_p),
            adjusted: formatting.p_value(r.p_adjusted),
        }
        table.append(row)
    columns = ["Comparison", "AUC A", "AUC B", statistic, "p", "n"]
    if any(r.pauc_p is not None for r in rows):
        columns.append("p (partial AUC)")
    if p_adjust != "none":
        columns.append(adjusted)
    return pd.DataFrame(table, columns=columns)


ADJUST_NAMES = {"holm": "Holm", "fdr_bh": "Benjamini–Hochberg"}
CUTOFF_RULE_NAMES = {
    "youden": "Youden's J",
    "closest_topleft": "closest to (0, 1)",
    "sensitivity": "fixed sensitivity",
    "specificity": "fixed specificity",
}


def cutoff_rule_label(rule: str) -> str:
    """'sensitivity:0.9' -> 'fixed sensitivity 90%', 'youden' -> "Youden's J" (for captions and legends)."""
    name, _, target = rule.partition(":")
    label = CUTOFF_RULE_NAMES.get(name, name)
    return f"{label} {style.fmt_percent(float(target), 0)}" if target else label


def cutoff_table(cut: CutoffResult, marker: str) -> pd.DataFrame:
    """Build a cut-off's statistics table, one quantity a row with its 95% CI and how that was computed.

    Parameters
    ----------
    cut : CutoffResult
        The cut-off with its statistics (and bootstrap CIs when `cut.n_boot` resamples were drawn).
    marker : str
        The indicator, whose decimals write the threshold and its CI.

    Returns
    -------
    pandas.DataFrame
        Rows Cut-off, Sensitivity, Specificity, LR+, LR−; columns Quantity, Estimate, 95% CI, CI method.

    The threshold (in `marker`'s decimals), sensitivity and specificity have stratified bootstrap CIs when
    the cut-off was resampled (the threshold re-chosen in every resample); the likelihood ratios have
    log-method CIs.
    """
    lr = cut.likelihood_ratios
    boot = f"bootstrap ({cut.n_boot} resamples)" if cut.n_boot else style.MISSING
    digits = formatting.marker_digits(marker)

    def bounds(values: tuple[float, float] | None) -> CI:
        """Unpack a CI, or (None, None) without one."""
        return (values[0], values[1]) if values is not None else (None, None)

    def percent_ci(values: tuple[float, float] | None) -> str:
        """Write a CI of proportions as 'low–high' percentages, or the missing mark."""
        low, high = bounds(values)
        if formatting.percent(low) == style.MISSING or formatting.percent(high) == style.MISSING:
            return style.MISSING
        return f"{formatting.percent(low)}–{formatting.percent(high)}"

    rows = [
        ("Cut-off", formatting.marker_value(marker, cut.threshold),
         formatting.interval(*bounds(cut.threshold_ci), digits=digits),
         f"{boot}, cut-off re-chosen in each" if cut.n_boot else boot),
        ("Sensitivity", formatting.percent(cut.sensitivity), percent_ci(cut.sensitivity_ci),
         f"{boot}, at this cut-off" if cut.n_boot else boot),
        ("Specificity", formatting.percent(cut.specificity), percent_ci(cut.specificity_ci),
         f"{boot}, at this cut-off" if cut.n_boot else boot),
        ("LR+", formatting.ratio(lr.positive), formatting.interval(*lr.positive_ci), "log method"),
        ("LR−", formatting.ratio(lr.negative), formatting.interval(*lr.negative_ci), "log method"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["Quantity", "Estimate", "95% CI", "CI method"])


FOREST_COLUMNS = ["marker", "label", "or", "low", "high", "p", "n", "method"]


def _forest_row(marker: str, o: OddsRatio | None, n: int | None, scale: str) -> dict[str, object]:
    """One forest row of a marker's OddsRatio: per SD (`scale` "sd") or per its stated unit, then named."""
    label = style.marker_label(marker, unit=False)
    if scale == "sd":
        estimate, (low, high) = (o.or_per_sd, o.or_per_sd_ci) if o else (None, (None, None))
    else:
        estimate, (low, high), unit = _odds_per_unit(marker, o)
        label = f"{label} (per {formatting.unit_text(marker, unit)})"
    return {"marker": marker, "label": label, "or": estimate, "low": low, "high": high,
            "p": o.p_value if o else None, "n": n, "method": o.method if o else None}  # fmt: skip


def _forest_frame(rows: Sequence[dict[str, object]]) -> pd.DataFrame:
    """Make forest rows a frame with numeric odds ratios, CIs and p-values (NaN where missing)."""
    return pd.DataFrame(rows, columns=FOREST_COLUMNS).astype(
        {"or": float, "low": float, "high": float, "p": float}
    )


def forest_rows(analysis: CohortAnalysis, scale: str = "sd") -> pd.DataFrame:
    """Collect each indicator's adjusted OR and CI as numbers, ready for `figures.forest_plot`.

    `scale` "sd" gives them per SD; any other value per each marker's stated unit (`marker_unit`), which
    the row's label then names.

    Returns
    -------
    pandas.DataFrame
        One row per marker, in the analysis' order: marker, label, or, low, high, p, n, method; the numbers
        are floats, NaN where the marker has no odds ratio.
    """
    return _forest_frame([_forest_row(m.marker, m.odds_ratio, m.n_or, scale) for m in analysis.markers])


def forest_from_fits(fits: Sequence[tuple[Sequence[str], LogisticResult]], scale: str = "sd") -> pd.DataFrame:
    """Collect the markers' odds ratios from fitted models as forest rows, as `forest_rows` does.

    Parameters
    ----------
    fits : sequence of (markers, LogisticResult)
        Each model with the markers whose terms to show (one model of all markers, or one per marker).
    scale : str
        "sd" for ORs per SD; any other value per each marker's stated unit (named in the label).

    Returns
    -------
    pandas.DataFrame
        Columns marker, label, or, low, high, p, n (the model's patients), method; one row per marker that
        is a term of its model, in the order given.
    """
    return _forest_frame(
        [
            _forest_row(marker, fit.term(marker), fit.n, scale)
            for markers, fit in fits
            for marker in markers
            if fit.term(marker) is not None
        ]
    )


def forest_table(forest: pd.DataFrame, scale: str = "sd") -> pd.DataFrame:
    """Format forest rows (`forest_rows`, `forest_from_fits`) as a table of text.

    Parameters
    ----------
    forest : pandas.DataFrame
        The rows: label, or, low, high, p, n, method.
    scale : str
        "sd" (the OR column is headed per SD) or another value (per stated unit).

    Returns
    -------
    pandas.DataFrame
        Indicator, the OR with its 95% CI, p, the model's patients and how it was estimated (Wald/Firth).
    """
    column = "OR per SD [95% CI]" if scale == "sd" else PER_UNIT_COLUMN
    return pd.DataFrame(
        {
            "Indicator": forest["label"],
            column: [
                formatting.odds_ratio_ci(e, lo, hi)
                for e, lo, hi in zip(forest["or"], forest["low"], forest["high"], strict=True)
            ],
            "p": [formatting.p_value(p) for p in forest["p"]],
            "n": [style.MISSING if n is None or pd.isna(n) else int(n) for n in forest["n"]],
            "Method": [METHOD_TEXT.get(m or "", style.MISSING) for m in forest["method"]],
        }
    )


BALANCE_LABELS: dict[str, str] = {"female": "Women (proportion)"}
"""Names of the matching balance's variables beyond `style.marker_label`'s (which names age and BMI)."""


def balance_table(balance: pd.DataFrame) -> pd.DataFrame:
    """Format a matching's covariate balance (`MatchResult.balance_frame`) as a table of text.

    Parameters
    ----------
    balance : pandas.DataFrame
        Columns variable, smd_before, smd_after.

    Returns
    -------
    pandas.DataFrame
        Variable (named as in every table), SMD before and SMD after matching, three decimals.
    """
    return pd.DataFrame(
        {
            "Variable": [BALANCE_LABELS.get(v, style.marker_label(v)) for v in balance["variable"]],
            "SMD before": [formatting.number(v, 3) for v in balance["smd_before"]],
            "SMD after": [formatting.number(v, 3) for v in balance["smd_after"]],
        }
    )


ICC_FORMS = (("ICC1", "ICC(1,1)"), ("ICC2", "ICC(2,1)"), ("ICC3", "ICC(3,1)"), ("ICC2k", "ICC(2,k)"))


def icc_table(results: Mapping[str, IccResult]) -> pd.DataFrame:
    """Build the reliability table: one row per indicator of `results` (marker -> its ICCs).

    Each row gives the patients and raters, and the ICC(1,1), (2,1), (3,1) and (2,k) with 95% CIs.
    """
    rows = []
    for marker, result in results.items():
        row: dict[str, object] = {
            "Indicator": style.marker_label(marker),
            "Patients": result.n_subjects,
            "Raters": result.n_raters,
        }
        for form, label in ICC_FORMS:
            f = result[form]
            row[label] = style.fmt_estimate_ci(f.icc, *f.ci, digits=3)
        rows.append(row)
    return pd.DataFrame(rows, columns=["Indicator", "Patients", "Raters", *(label for _, label in ICC_FORMS)])


def icc_messages(icc: IndicatorIcc) -> list[str]:
    """List why each indicator has no ICC, then each warning once with the indicators it concerns."""
    messages = [f"{style.marker_label(marker)}: {error}" for marker, error in icc.errors.items()]
    by_warning: dict[str, list[str]] = {}
    for marker, result in icc.results.items():
        for warning in result.warnings:
            by_warning.setdefault(warning, []).append(style.marker_label(marker, unit=False))
    messages.extend(f"{w} ({', '.join(markers)})" for w, markers in by_warning.items())
    return messages


def _with_ci(value: float, ci: tuple[float, float], digits: int) -> str:
    """Write a method-agreement estimate with its CI as its figure's labels do ('−9.6 [−13.9, −5.3]')."""
    from ovcf_core.report.agreement_figures import with_ci  # imported when used: it loads plotly

    return with_ci(value, ci, digits)


def agreement_summary_table(result: MethodAgreement, digits: int) -> pd.DataFrame:
    """Build the method-agreement statistics table: each estimate with its 95% CI.

    Parameters
    ----------
    result : MethodAgreement
        The agreement of two methods (its `summary_frame`).
    digits : int
        Decimals of the indicator's values (`formatting.agreement_digits`): the bias, SD and limits are
        written with them; ICCs and the proportional bias's slope, being dimensionless, with
        `formatting.COEFFICIENT_DIGITS`; the number of pairs as a count.

    Returns
    -------
    pandas.DataFrame
        Columns statistic and "estimate [95% CI]".
    """
    summary = result.summary_frame()
    shown = []
    for statistic, estimate, low, high in summary.itertuples(index=False):
        if statistic == "pairs":
            shown.append(formatting.count_text(estimate))
            continue
        coefficient = statistic.startswith("ICC") or "slope" in statistic
        shown.append(
            _with_ci(estimate, (low, high), formatting.COEFFICIENT_DIGITS if coefficient else digits)
        )
    return pd.DataFrame({"statistic": summary["statistic"], "estimate [95% CI]": shown})


def agreement_cutoff_table(result: MethodAgreement, digits: int) -> pd.DataFrame:
    """Build the table of published cut-offs found with method A as method B would read them.

    Parameters
    ----------
    result : MethodAgreement
        The agreement of two methods with its translated cut-offs (`cutoff_frame`).
    digits : int
        Decimals of the indicator's values (`formatting.agreement_digits`).

    Returns
    -------
    pandas.DataFrame
        Columns cut-off, "by A", "by B [95% CI]" (cut-off + bias, with the bias's CI) and "by B
        (regression)" (allowing for a proportional bias), A and B the methods' names.
    """
    cutoffs = result.cutoff_frame()
    by_a, by_b = f"by {result.pairs.method_a}", f"by {result.pairs.method_b}"
    regression = f"{by_b} (regression)"
    return pd.DataFrame(
        {
            "cut-off": cutoffs["cut-off"],
            by_a: [formatting.number(v, digits) for v in cutoffs[by_a]],
            f"{by_b} [95% CI]": [
                _with_ci(v, (lo, hi), digits)
                for v, lo, hi in zip(cutoffs[by_b], cutoffs["ci_low"], cutoffs["ci_high"], strict=True)
            ],
            regression: [formatting.number(v, digits) for v in cutoffs[regression]],
        }
    )


NUMBER_COLUMNS: dict[str, tuple[str, ...]] = {
    "table1": ("marker", "n_cases", "n_controls", "mean_cases", "sd_cases", "mean_controls", "sd_controls",
               "median_cases", "median_controls", "smd", "test", "p_value", "p_mannwhitney", "p_wilcoxon"),
    "table2": ("marker", "spearman_rho", "spearman_ci_low", "spearman_ci_high", "spearman_p", "or_per_sd",
               "or_per_sd_ci_low", "or_per_sd_ci_high", "or_per_unit", "or_per_unit_ci_low",
               "or_per_unit_ci_high", "or_p", "n_or", "or_method", "or_note"),
    "roc": ("marker", "n", "auc", "auc_ci_low", "auc_ci_high", "auc_se", "direction", "cutoff_rule", "cutoff",
            "sensitivity", "specificity", "lr_positive", "lr_positive_ci_low", "lr_positive_ci_high",
            "lr_negative", "lr_negative_ci_low", "lr_negative_ci_high", "pauc", "pauc_corrected",
            "binormal_auc"),
}  # fmt: skip
"""The numbers behind each table, as `CohortAnalysis.to_frame()` names them (DESIGN §4's JSON keys)."""


def numbers(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """Select the full-precision numbers behind Table 1, Table 2 or the ROC table, for a CSV download.

    Parameters
    ----------
    frame : pandas.DataFrame
        `CohortAnalysis.to_frame()`.
    kind : str
        "table1", "table2" or "roc" (`NUMBER_COLUMNS`).

    Returns
    -------
    pandas.DataFrame
        The table's columns that `frame` has, in `NUMBER_COLUMNS` order.

    Raises
    ------
    KeyError
        For a `kind` not in `NUMBER_COLUMNS`.
    """
    return frame[[c for c in NUMBER_COLUMNS[kind] if c in frame.columns]]


def correlation_numbers(analysis: CohortAnalysis) -> pd.DataFrame:
    """Table 3's numbers in long form: each pair of indicators once, with Spearman's ρ, p and n."""
    return analysis.correlations.to_frame()
