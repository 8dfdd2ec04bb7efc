"""The paper's tables as DataFrames of formatted text, from the `analyze` result (DESIGN §4's JSON).

They read `CohortAnalysis.to_dict()` — the same numbers the CLI writes — so the page, the CLI's JSON and
the report can never disagree. Table 1 compares the groups, Table 2 gives each indicator's Spearman
correlation with OVCF and adjusted odds ratio, Table 3 the correlations between indicators.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

import pandas as pd

from ovcf_core import formatting
from ovcf_core.report import style

if TYPE_CHECKING:
    from ovcf_core.ratings import IndicatorIcc
    from ovcf_core.stats.icc import IccResult

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


def _ci(values: Any) -> tuple[float | None, float | None]:
    """A JSON [lo, hi] pair (or None) as a tuple."""
    if not values:
        return None, None
    return values[0], values[1]


def group_headers(result: Mapping[str, Any]) -> tuple[str, str]:
    """Column headers 'OVCF (n=78)' and 'Control (n=78)' from the result's counts."""
    n = result.get("n", {})
    return (
        f"{style.CASE_LABEL} (n={n.get('cases', '?')})",
        f"{style.CONTROL_LABEL} (n={n.get('controls', '?')})",
    )


def _summary_text(summary: Mapping[str, Any] | None, digits: int) -> str:
    """'mean ± SD' of a group summary dict (Table 1 style)."""
    if not summary:
        return style.MISSING
    return style.fmt_mean_sd(summary.get("mean"), summary.get("sd"), digits)


def _counts(cases: Any, controls: Any) -> str:
    """'78/77': patients with a value in each group."""
    return f"{cases if cases is not None else '?'}/{controls if controls is not None else '?'}"


def _rank_cells(p_mannwhitney: Any, p_wilcoxon: Any) -> dict[str, str]:
    """The rank tests' p-values beside the t tests."""
    return {MW_COLUMN: style.fmt_p(p_mannwhitney), WILCOXON_COLUMN: style.fmt_p(p_wilcoxon)}


def _demographic_rows(result: Mapping[str, Any], case_col: str, control_col: str) -> list[dict]:
    """Age, BMI (mean ± SD) and sex (women, n (%)) rows from the analysis' Table 1, when it has one."""
    t1 = result.get("table1") or {}
    markers = set(result.get("markers", {}))
    rows = []
    for variable, r in (t1.get("rows") or {}).items():
        if variable in markers:
            continue
        digits = style.digits_for(variable)
        rows.append(
            {
                "Characteristic": style.marker_label(variable),
                case_col: _summary_text(r.get("cases"), digits),
                control_col: _summary_text(r.get("controls"), digits),
                N_COLUMN: _counts((r.get("cases") or {}).get("n"), (r.get("controls") or {}).get("n")),
                "p": style.fmt_p(r.get("p_value")),
                "Test": TEST_NAMES.get(r.get("test") or "", r.get("test") or style.MISSING),
                **_rank_cells(r.get("p_mannwhitney"), r.get("p_wilcoxon")),
            }
        )
    sex = t1.get("sex")
    if sex:

        def women(count: int, total: int) -> str:
            return f"{count} ({style.fmt_percent(count / total if total else None)})"

        rows.append(
            {
                "Characteristic": "Women, n (%)",
                case_col: women(sex["female_cases"], sex["n_cases"]),
                control_col: women(sex["female_controls"], sex["n_controls"]),
                N_COLUMN: _counts(sex.get("n_cases"), sex.get("n_controls")),
                "p": style.fmt_p(sex.get("p_value")),
                "Test": TEST_NAMES.get(sex.get("test") or "", sex.get("test") or style.MISSING),
                **_rank_cells(None, None),
            }
        )
    return rows


def table1(result: Mapping[str, Any]) -> pd.DataFrame:
    """Table 1: age, BMI and sex, then each indicator's mean ± SD in cases and controls, with n per group,
    the t test and p, and the rank tests beside it (Mann–Whitney; Wilcoxon signed-rank over pairs)."""
    case_col, control_col = group_headers(result)
    rows = _demographic_rows(result, case_col, control_col)
    for marker, m in result.get("markers", {}).items():
        digits = style.digits_for(marker)
        rows.append(
            {
                "Characteristic": style.marker_label(marker),
                case_col: style.fmt_mean_sd(m.get("mean_cases"), m.get("sd_cases"), digits),
                control_col: style.fmt_mean_sd(m.get("mean_controls"), m.get("sd_controls"), digits),
                N_COLUMN: _counts(m.get("n_cases"), m.get("n_controls")),
                "p": style.fmt_p(m.get("p_value")),
                "Test": TEST_NAMES.get(m.get("test") or "", m.get("test") or style.MISSING),
                **_rank_cells(m.get("p_mannwhitney"), m.get("p_wilcoxon")),
            }
        )
    columns = ["Characteristic", case_col, control_col, N_COLUMN, "p", "Test", MW_COLUMN]
    paired = any("p_wilcoxon" in m for m in result.get("markers", {}).values())
    return pd.DataFrame(rows, columns=[*columns, WILCOXON_COLUMN] if paired else columns)


PER_UNIT_COLUMN = "OR per stated unit [95% CI]"


def marker_unit(marker: str, m: Mapping[str, Any]) -> float:
    """The step an odds ratio of `marker` is stated per (`formatting.display_unit`); for a marker the tool
    does not know, the SD is recovered from its ORs per SD and per unit (OR_sd = OR_unit^SD)."""
    sd = None
    per_unit, per_sd = m.get("or_per_unit"), m.get("or_per_sd")
    if per_unit and per_sd and per_unit > 0 and per_sd > 0 and abs(math.log(per_unit)) > 1e-12:
        sd = math.log(per_sd) / math.log(per_unit)
    return formatting.display_unit(marker, sd)


def rescaled_odds(
    marker: str, m: Mapping[str, Any]
) -> tuple[float | None, tuple[float | None, float | None], float]:
    """The marker's OR and CI per its stated unit (exact: OR per 1 raised to the unit) and the unit."""
    unit = marker_unit(marker, m)
    estimate, ci = formatting.rescale_odds_ratio(m.get("or_per_unit"), _ci(m.get("or_per_unit_ci")), unit)
    return estimate, ci, unit


def _per_unit_text(marker: str, m: Mapping[str, Any]) -> str:
    """'2.03 [1.63–2.52] per 0.1 VBQ score'."""
    estimate, ci, unit = rescaled_odds(marker, m)
    text = formatting.odds_ratio_ci(estimate, *ci)
    return text if text == style.MISSING else f"{text} per {formatting.unit_text(marker, unit)}"


def table2(result: Mapping[str, Any]) -> pd.DataFrame:
    """Table 2: Spearman correlation of each indicator with OVCF, and the adjusted odds ratios."""
    rows = []
    for marker, m in result.get("markers", {}).items():
        rows.append(
            {
                "Indicator": style.marker_label(marker),
                "Spearman ρ": style.fmt_number(m.get("spearman_rho"), 3),
                "p (ρ)": style.fmt_p(m.get("spearman_p")),
                "OR per SD [95% CI]": formatting.odds_ratio_ci(
                    m.get("or_per_sd"), *_ci(m.get("or_per_sd_ci"))
                ),
                PER_UNIT_COLUMN: _per_unit_text(marker, m),
                "p (OR)": style.fmt_p(m.get("or_p")),
                "n (OR)": m.get("n_or") if m.get("n_or") is not None else style.MISSING,
                "Method": METHOD_TEXT.get(m.get("or_method") or "", style.MISSING),
            }
        )
    return pd.DataFrame(
        rows,
        columns=["Indicator", "Spearman ρ", "p (ρ)", "OR per SD [95% CI]", PER_UNIT_COLUMN, "p (OR)",
                 "n (OR)", "Method"],
    )  # fmt: skip


def odds_notes(result: Mapping[str, Any]) -> list[str]:
    """Why an indicator's odds ratio is null or penalised (the `or_note` of each), one line each."""
    return [
        f"{style.marker_label(marker, unit=False)}: {m['or_note']}"
        for marker, m in result.get("markers", {}).items()
        if m.get("or_note")
    ]


def direction_flags(result: Mapping[str, Any]) -> list[str]:
    """Indicators whose data run against their direction (AUC < 0.5), or that have no usable cut-off."""
    flags = []
    for marker, m in result.get("markers", {}).items():
        auc = m.get("auc")
        if auc is None:
            continue
        label = style.marker_label(marker, unit=False)
        side = DIRECTION_TEXT.get(m.get("direction") or "", "its direction")
        if auc < 0.5:
            flags.append(
                f"{label}: AUC {auc:.3f} < 0.5 with {side}: in these data it runs against its direction"
            )
        if m.get("cutoff") is None:
            flags.append(f"{label}: no cut-off, since every threshold has Youden's J below 0")
    return flags


def correlation_frames(result: Mapping[str, Any]) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The inter-marker rho and p matrices as numeric DataFrames (rows and columns in marker order)."""
    corr = result.get("marker_correlations", {})
    rho = pd.DataFrame(corr.get("rho", {})).T.astype(float)
    p = pd.DataFrame(corr.get("p", {})).T.astype(float)
    order = [m for m in result.get("markers", {}) if m in rho.index] or list(rho.index)
    return rho.reindex(index=order, columns=order), p.reindex(index=order, columns=order)


def table3(result: Mapping[str, Any]) -> pd.DataFrame:
    """Table 3: Spearman ρ (p) between every two indicators."""
    rho, p = correlation_frames(result)
    labels = [style.marker_label(m, unit=False) for m in rho.columns]
    cells = [
        [
            "1" if a == b else f"{style.fmt_number(rho.loc[a, b], 3)} ({style.fmt_p(p.loc[a, b])})"
            for b in rho.columns
        ]
        for a in rho.index
    ]
    table = pd.DataFrame(cells, columns=labels)
    table.insert(0, "Indicator", labels)
    return table


def auc_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """Each indicator's AUC with its DeLong 95% CI, direction, Youden cut-off, sensitivity and specificity."""
    rows = []
    for marker, m in result.get("markers", {}).items():
        rows.append(
            {
                "Indicator": style.marker_label(marker),
                "AUC [95% CI]": style.fmt_estimate_ci(m.get("auc"), *_ci(m.get("auc_ci")), digits=3),
                "Direction": DIRECTION_TEXT.get(m.get("direction") or "", style.MISSING),
                "Cut-off": style.fmt_value(marker, m.get("cutoff")),
                "Sensitivity": style.fmt_percent(m.get("sensitivity")),
                "Specificity": style.fmt_percent(m.get("specificity")),
                "n": m.get("n"),
                "pAUC (McClish)": style.fmt_number(m.get("pauc_corrected"), 3),
                "LR+": formatting.odds_ratio_ci(m.get("lr_positive"), *_ci(m.get("lr_positive_ci"))),
                "LR−": formatting.odds_ratio_ci(m.get("lr_negative"), *_ci(m.get("lr_negative_ci"))),
                "Binormal AUC": style.fmt_number(m.get("binormal_auc"), 3),
                "Note": "against its direction (AUC < 0.5)"
                if m.get("auc") is not None and m["auc"] < 0.5
                else "",
            }
        )
    columns = ["Indicator", "AUC [95% CI]", "Direction", "Cut-off", "Sensitivity", "Specificity", "n"]
    markers = result.get("markers", {}).values()
    if any("lr_positive" in m for m in markers):
        columns += ["LR+", "LR−"]
    if any("pauc_corrected" in m for m in markers):
        columns.append("pAUC (McClish)")
    if any("binormal_auc" in m for m in markers):
        columns.append("Binormal AUC")
    if any(r["Note"] for r in rows):
        columns.append("Note")
    return pd.DataFrame(rows, columns=columns)


ROC_TEST_NAMES = {
    "delong": "DeLong's test",
    "bootstrap": "bootstrap test (pROC)",
    "venkatraman": "Venkatraman's permutation test",
}
STATISTIC_NAMES = {"delong": "z", "bootstrap": "D", "venkatraman": "E"}


def delong_table(result: Mapping[str, Any]) -> pd.DataFrame:
    """The test of every pair of indicators (DeLong's, or the comparisons' `method`): both AUCs, the
    statistic (z, bootstrap D or Venkatraman's E), p, n, the adjusted p and the partial AUCs' p if given."""
    rows = []
    comparisons = result.get("auc_comparisons", [])
    method = next((c.get("method") for c in comparisons if c.get("method")), "delong")
    statistic = STATISTIC_NAMES.get(method, "z")
    for c in comparisons:
        rows.append(
            {
                "Comparison": f"{style.marker_label(c['a'], unit=False)} vs "
                f"{style.marker_label(c['b'], unit=False)}",
                "AUC A": style.fmt_number(c.get("auc_a"), 3),
                "AUC B": style.fmt_number(c.get("auc_b"), 3),
                statistic: style.fmt_number(c.get("z"), 2),
                "p": style.fmt_p(c.get("p_value")),
                "n": c.get("n"),
                "p adjusted": style.fmt_p(c.get("p_adjusted")),
                "p (partial AUC)": style.fmt_p(c.get("pauc_p")),
            }
        )
    columns = ["Comparison", "AUC A", "AUC B", statistic, "p", "n"]
    if any("pauc_p" in c for c in comparisons):
        columns.append("p (partial AUC)")
    method = result.get("p_adjust") or "none"
    if method != "none":
        adjusted = f"p ({ADJUST_NAMES.get(method, method)})"
        for row in rows:
            row[adjusted] = row.pop("p adjusted")
        columns.append(adjusted)
    return pd.DataFrame(rows, columns=columns)


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


def cutoff_table(cut: Mapping[str, Any], marker: str) -> pd.DataFrame:
    """A cut-off's statistics (`CutoffResult.to_dict()`): the threshold, sensitivity and specificity with
    their stratified bootstrap CIs (when resampled; the threshold's re-chosen in every resample) and the
    likelihood ratios with log-method CIs."""
    lr = cut.get("likelihood_ratios") or {}
    n_boot = cut.get("n_boot") or 0
    boot = f"bootstrap ({n_boot} resamples)" if n_boot else "—"

    def percent_ci(values: Any) -> str:
        low, high = _ci(values)
        if low is None or high is None or style.fmt_percent(low) == style.MISSING:
            return style.MISSING
        return f"{style.fmt_percent(low)}–{style.fmt_percent(high)}"

    rows = [
        ("Cut-off", style.fmt_value(marker, cut.get("threshold")),
         style.fmt_ci(*_ci(cut.get("threshold_ci")), digits=style.digits_for(marker)),
         f"{boot}, cut-off re-chosen in each" if n_boot else boot),
        ("Sensitivity", style.fmt_percent(cut.get("sensitivity")), percent_ci(cut.get("sensitivity_ci")),
         f"{boot}, at this cut-off" if n_boot else boot),
        ("Specificity", style.fmt_percent(cut.get("specificity")), percent_ci(cut.get("specificity_ci")),
         f"{boot}, at this cut-off" if n_boot else boot),
        ("LR+", formatting.ratio(lr.get("positive")), formatting.interval(*_ci(lr.get("positive_ci"))),
         "log method"),
        ("LR−", formatting.ratio(lr.get("negative")), formatting.interval(*_ci(lr.get("negative_ci"))),
         "log method"),
    ]  # fmt: skip
    return pd.DataFrame(rows, columns=["Quantity", "Estimate", "95% CI", "CI method"])


def forest_rows(result: Mapping[str, Any], scale: str = "sd") -> pd.DataFrame:
    """Per-indicator adjusted ORs as numbers, ready for `figures.forest_plot`: per SD, or (`scale` "unit")
    per each marker's stated unit (`marker_unit`; the label says which)."""
    rows = []
    for marker, m in result.get("markers", {}).items():
        if scale == "sd":
            estimate, (low, high) = m.get("or_per_sd"), _ci(m.get("or_per_sd_ci"))
            label = style.marker_label(marker, unit=False)
        else:
            estimate, (low, high), unit = rescaled_odds(marker, m)
            label = f"{style.marker_label(marker, unit=False)} (per {formatting.unit_text(marker, unit)})"
        rows.append(
            {
                "marker": marker,
                "label": label,
                "or": estimate,
                "low": low,
                "high": high,
                "p": m.get("or_p"),
                "n": m.get("n_or"),
                "method": m.get("or_method"),
            }
        )
    return pd.DataFrame(rows, columns=["marker", "label", "or", "low", "high", "p", "n", "method"]).astype(
        {"or": float, "low": float, "high": float, "p": float}
    )


ICC_FORMS = (("ICC1", "ICC(1,1)"), ("ICC2", "ICC(2,1)"), ("ICC3", "ICC(3,1)"), ("ICC2k", "ICC(2,k)"))


def icc_table(results: Mapping[str, IccResult]) -> pd.DataFrame:
    """One row per indicator: patients, raters and the ICC(1,1), (2,1), (3,1), (2,k) with 95% CIs."""
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
    """Why an indicator has no ICC, then each warning once with the indicators it concerns."""
    messages = [f"{style.marker_label(marker)}: {error}" for marker, error in icc.errors.items()]
    by_warning: dict[str, list[str]] = {}
    for marker, result in icc.results.items():
        for warning in result.warnings:
            by_warning.setdefault(warning, []).append(style.marker_label(marker, unit=False))
    messages.extend(f"{w} ({', '.join(markers)})" for w, markers in by_warning.items())
    return messages


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
    """The full-precision numbers behind Table 1, Table 2 or the ROC table (`kind`), from
    `CohortAnalysis.to_frame()`, for a CSV download (the columns the analysis has)."""
    return frame[[c for c in NUMBER_COLUMNS[kind] if c in frame.columns]]


def correlation_numbers(result: Mapping[str, Any]) -> pd.DataFrame:
    """Table 3's numbers in long form: each pair of indicators once, with Spearman's ρ and p."""
    rho, p = correlation_frames(result)
    rows = [
        {"marker_a": a, "marker_b": b, "spearman_rho": rho.loc[a, b], "spearman_p": p.loc[a, b]}
        for i, a in enumerate(rho.index)
        for b in rho.columns[i + 1 :]
    ]
    return pd.DataFrame(rows, columns=["marker_a", "marker_b", "spearman_rho", "spearman_p"])
