"""What the report holds, in order: each section's title, table, figure and caption, from one analysis.

The HTML report and the XLSX workbook both read these sections, so they always hold the same tables. Every
function takes the `CohortAnalysis` itself (typed fields, not its JSON dict).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from ovcf_core import formatting
from ovcf_core.report import figures, style, tables
from ovcf_core.schema import OUTCOME

if TYPE_CHECKING:
    from ovcf_core.stats.analysis import CohortAnalysis


@dataclass(frozen=True)
class Section:
    """One part of the report: a title, and a table and/or a figure with a caption."""

    title: str
    table: pd.DataFrame | None = None
    figure: go.Figure | None = None
    caption: str | None = None
    sheet: str | None = None  # the XLSX sheet name of the table, when it goes in the workbook


def cohort_sentence(analysis: CohortAnalysis) -> str:
    """One sentence: how many cases, controls and pairs were analysed."""
    text = f"{analysis.n_cases} OVCF cases and {analysis.n_controls} controls"
    return text + (f" in {analysis.n_pairs} matched pairs." if analysis.n_pairs else ".")


def messages(analysis: CohortAnalysis) -> list[str]:
    """List the analysis' messages, each marker's first, then the cohort's.

    A marker's messages (degenerate values, separation, direction...) are prefixed with its name; the
    cohort's (covariates not in the table, the multivariable model dropped...) follow as they are.
    """
    found = [f"{style.marker_label(m.marker, unit=False)}: {t}" for m in analysis.markers for t in m.messages]
    return found + list(analysis.messages)


def roc_traces(
    analysis: CohortAnalysis, table: pd.DataFrame, outcome: str = OUTCOME
) -> list[figures.RocTrace]:
    """Build each analysed marker's ROC curve (in its analysed direction) with its AUC, CI and cut-off.

    Parameters
    ----------
    analysis : CohortAnalysis
        The analysis: each marker's AUC, direction and cut-off.
    table : pandas.DataFrame
        The analysed cohort, whose values the curves are drawn from.
    outcome : str
        The 0/1 outcome column.

    Returns
    -------
    list of figures.RocTrace
        One per marker with an AUC and a column in `table`, in the analysis' order; markers without
        either are left out rather than drawn from other data.
    """
    from ovcf_core.stats.roc import roc_curve

    traces = []
    for i, m in enumerate(analysis.markers):
        if m.auc is None or m.marker not in table.columns:
            continue
        curve = roc_curve(table[outcome].to_numpy(float), table[m.marker].to_numpy(float), m.auc.direction)
        c = m.cutoff
        point = (1 - c.specificity, c.sensitivity) if c is not None else None
        traces.append(
            figures.RocTrace(
                style.marker_label(m.marker, unit=False), 1 - curve.specificity, curve.sensitivity, m.auc.auc,
                m.auc.ci, style.marker_color(m.marker, i), point,
            )
        )  # fmt: skip
    return traces


def analysed_table(analysis: CohortAnalysis, table: pd.DataFrame | None) -> pd.DataFrame | None:
    """Return the cohort behind the analysis: the one given, else the analysis' own `table`, else None."""
    if table is not None:
        return table
    kept = getattr(analysis, "table", None)
    return kept if isinstance(kept, pd.DataFrame) else None


def _table2_caption(analysis: CohortAnalysis) -> str:
    """Table 2's caption: how the odds ratios were estimated, on how many patients, and any notes."""
    adjust = ", ".join(style.COVARIATE_LABELS.get(a, a) for a in analysis.adjust) or "nothing"
    method = (
        "Firth's penalised likelihood with profile-likelihood 95% CI for every model"
        if analysis.firth
        else "Wald 95% CI, or Firth's penalised likelihood with profile-likelihood CI where a variable "
        "separates the groups (Method)"
    )
    text = (
        "Spearman ρ of each indicator with the 0/1 outcome; odds ratios from logistic regression adjusted "
        f"for {adjust} on the n patients with every value (complete cases): {method}. Per SD, and per the "
        "unit stated in each cell (the OR per unit raised to it, exactly)."
    )
    notes = tables.odds_notes(analysis)
    if analysis.multivariable is None and len(analysis.markers) > 1:
        notes += [m for m in analysis.messages if "multivariable" in m]
    return " ".join([text, *(f"{n}." for n in notes)])


def roc_caption(analysis: CohortAnalysis) -> str:
    """Write the ROC table's caption naming the methods the analysis used.

    It names the AUC's CI, the cut-off rule (Youden only when Youden was used), and the partial AUC's range
    and the binormal smoothing when they were asked for, so the caption never claims a method not run.
    """
    rule = analysis.cutoff_rule or "youden"
    cutoff = (
        "cut-off maximising Youden's J (never one with J below 0)"
        if rule == "youden"
        else f"cut-off chosen by the rule '{tables.cutoff_rule_label(rule)}'"
    )
    text = [f"AUC with DeLong 95% CI; {cutoff}, with its sensitivity and specificity; likelihood ratios "
            "with log-method 95% CIs."]  # fmt: skip
    if analysis.pauc_range:
        low, high = analysis.pauc_range
        text.append(
            f"Partial AUC over specificity {formatting.number(low, 2)}–{formatting.number(high, 2)}, "
            "McClish-corrected (0.5 = chance, 1 = perfect)."
        )
    if analysis.smooth == "binormal":
        text.append("Binormal AUC from pROC's binormal smoothing.")
    return " ".join(text)


def comparison_caption(analysis: CohortAnalysis) -> str:
    """Write the comparisons' caption: the test used, its resamples, and the p-value adjustment."""
    method = analysis.roc_test or "delong"
    test = tables.ROC_TEST_NAMES.get(method, method)
    text = f"{test[0].upper()}{test[1:]} of every two indicators on the patients who have both"
    if method != "delong" and analysis.test_resamples:
        kind = "permutations" if method == "venkatraman" else "resamples"
        text += f" ({analysis.test_resamples} seeded {kind})"
    if analysis.p_adjust != "none":
        adjust = tables.ADJUST_NAMES.get(analysis.p_adjust, analysis.p_adjust)
        text += f"; p-values adjusted over all comparisons by {adjust}"
    return text + "."


def report_sections(analysis: CohortAnalysis, table: pd.DataFrame | None = None) -> list[Section]:
    """List every section of the report, in the paper's order.

    Parameters
    ----------
    analysis : CohortAnalysis
        The analysis to report.
    table : pandas.DataFrame or None
        The analysed cohort (else the analysis' own, `analysed_table`); without one the ROC section has
        its table but no curves.

    Returns
    -------
    list of Section
        Table 1, Table 2, the forest plot (when an odds ratio exists), the ROC analysis, the AUC
        comparisons (when there are any) and Table 3 (when the analysis has a correlation matrix).
    """
    result = analysis  # the paper's order below reads each part of this one result
    table = analysed_table(analysis, table)
    sections = [
        Section(
            "Table 1. Indicators in OVCF patients and controls",
            tables.table1(result),
            caption="Mean ± SD; n with a value per group; p from the paired t-test over matched pairs, else "
            "Welch's t-test; beside it the Mann–Whitney U test (two-sided) and, over pairs, the Wilcoxon "
            "signed-rank test.",
            sheet="Table 1",
        ),
        Section(
            "Table 2. Correlation with OVCF and adjusted odds ratios",
            tables.table2(result),
            caption=_table2_caption(result),
            sheet="Table 2",
        ),
    ]
    forest = tables.forest_rows(result, "sd")
    if forest["or"].notna().any():
        sections.append(
            Section(
                "Adjusted odds ratios per SD",
                figure=figures.forest_plot(forest, title="Adjusted odds ratio per SD of each indicator"),
                caption="Squares: odds ratio per standard deviation; lines: 95% CI; dashed line: no effect.",
            )
        )
    traces = roc_traces(result, table) if table is not None else []
    sections.append(
        Section(
            "ROC analysis",
            tables.auc_table(result),
            figure=figures.roc_figure(traces) if traces else None,
            caption=" ".join([roc_caption(result), *tables.direction_flags(result)]),
            sheet="ROC",
        )
    )
    if result.auc_comparisons:
        test = tables.ROC_TEST_NAMES.get(result.roc_test or "delong", "DeLong's test")
        sections.append(
            Section(
                f"Comparison of AUCs ({test})",
                tables.delong_table(result),
                caption=comparison_caption(result),
                sheet="AUC comparisons",
            )
        )
    rho, p = tables.correlation_frames(result)
    if not rho.empty:
        sections.append(
            Section(
                "Table 3. Correlation between indicators",
                tables.table3(result),
                figure=figures.correlation_heatmap(rho, p),
                caption="Spearman ρ (p).",
                sheet="Table 3",
            )
        )
    return sections


def workbook_tables(analysis: CohortAnalysis) -> dict[str, pd.DataFrame]:
    """Collect the report's tables by sheet name, one XLSX sheet each (the sections that have a sheet)."""
    return {s.sheet: s.table for s in report_sections(analysis) if s.sheet and s.table is not None}
