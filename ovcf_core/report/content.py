"""What the report holds, in order: each section's title, table, figure and caption, from one analysis.

The HTML report and the XLSX workbook both read these sections, so they always hold the same tables.
`analysis` is a `CohortAnalysis` (anything with `to_dict()` giving DESIGN §4's `analyze` JSON).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from ovcf_core import formatting
from ovcf_core.report import figures, style, tables
from ovcf_core.schema import OUTCOME


@dataclass(frozen=True)
class Section:
    """One part of the report: a title, and a table and/or a figure with a caption."""

    title: str
    table: pd.DataFrame | None = None
    figure: go.Figure | None = None
    caption: str | None = None
    sheet: str | None = None  # the XLSX sheet name of the table, when it goes in the workbook


def result_dict(analysis: Any) -> dict:
    """The analysis as DESIGN §4's JSON dict (accepts the dict itself)."""
    return analysis if isinstance(analysis, dict) else analysis.to_dict()


def cohort_sentence(analysis: Any) -> str:
    """One sentence: how many cases, controls and pairs were analysed."""
    n = result_dict(analysis).get("n", {})
    pairs = n.get("pairs")
    text = f"{n.get('cases', 0)} OVCF cases and {n.get('controls', 0)} controls"
    return text + (f" in {pairs} matched pairs." if pairs else ".")


def messages(analysis: Any) -> list[str]:
    """Messages about degenerate markers (one class, constant values...), when the analysis has any."""
    result = result_dict(analysis)
    found: list[str] = []
    for key in ("messages", "warnings"):
        value = result.get(key)
        if isinstance(value, dict):
            for marker, text in value.items():
                items = text if isinstance(text, list) else [text]
                found.extend(f"{marker}: {t}" for t in items)
        elif isinstance(value, list):
            found.extend(str(v) for v in value)
    return found


def roc_traces(analysis: Any, table: pd.DataFrame, outcome: str = OUTCOME) -> list[figures.RocTrace]:
    """Each analysed marker's ROC curve (in its analysed direction) with its AUC, CI and Youden point."""
    from ovcf_core.stats.roc import roc_curve

    result = result_dict(analysis)
    traces = []
    for i, (marker, m) in enumerate(result.get("markers", {}).items()):
        if m.get("auc") is None or m.get("direction") is None or marker not in table.columns:
            continue
        curve = roc_curve(table[outcome].to_numpy(float), table[marker].to_numpy(float), m["direction"])
        point = None
        if m.get("sensitivity") is not None and m.get("specificity") is not None:
            point = (1 - m["specificity"], m["sensitivity"])
        traces.append(
            figures.RocTrace(
                style.marker_label(marker, unit=False),
                1 - curve.specificity,
                curve.sensitivity,
                m["auc"],
                tuple(m.get("auc_ci") or (None, None)),
                style.marker_color(marker, i),
                point,
            )
        )
    return traces


def analysed_table(analysis: Any, table: pd.DataFrame | None) -> pd.DataFrame | None:
    """The cohort behind the analysis: the one given, else the analysis' own `table` when it keeps one."""
    if table is not None:
        return table
    kept = getattr(analysis, "table", None)
    return kept if isinstance(kept, pd.DataFrame) else None


def _table2_caption(result: dict) -> str:
    """Table 2's caption: how the odds ratios were estimated, on how many patients, and any notes."""
    settings = result.get("settings") or {}
    adjust = (
        ", ".join(style.COVARIATE_LABELS.get(a, a) for a in settings["adjust"]) or "nothing"
        if "adjust" in settings
        else "the chosen covariates"
    )
    method = (
        "Firth's penalised likelihood with profile-likelihood 95% CI for every model"
        if settings.get("firth")
        else "Wald 95% CI, or Firth's penalised likelihood with profile-likelihood CI where a variable "
        "separates the groups (Method)"
    )
    text = (
        "Spearman ρ of each indicator with the 0/1 outcome; odds ratios from logistic regression adjusted "
        f"for {adjust} on the n patients with every value (complete cases): {method}. Per SD, and per the "
        "unit stated in each cell (the OR per unit raised to it, exactly)."
    )
    notes = tables.odds_notes(result)
    multi = result.get("multivariable")
    if multi is None and len(result.get("markers", {})) > 1:
        notes += [m for m in (result.get("messages") or {}).get("cohort", []) if "multivariable" in m]
    return " ".join([text, *(f"{n}." for n in notes)])


def roc_caption(result: dict) -> str:
    """The ROC table's caption naming the methods the analysis used: the AUC's CI, the cut-off rule (Youden
    only when Youden was used), the partial AUC's range and the binormal smoothing, when asked."""
    settings = result.get("settings") or {}
    rule = settings.get("cutoff_rule") or "youden"
    name = tables.cutoff_rule_label(rule)
    cutoff = (
        "cut-off maximising Youden's J (never one with J below 0)"
        if rule == "youden"
        else f"cut-off chosen by the rule '{name}'"
    )
    text = [f"AUC with DeLong 95% CI; {cutoff}, with its sensitivity and specificity; likelihood ratios "
            "with log-method 95% CIs."]  # fmt: skip
    pauc = settings.get("pauc")
    if pauc:
        low, high = pauc
        text.append(
            f"Partial AUC over specificity {formatting.number(low, 2)}–{formatting.number(high, 2)}, "
            "McClish-corrected (0.5 = chance, 1 = perfect)."
        )
    if settings.get("smooth") == "binormal":
        text.append("Binormal AUC from pROC's binormal smoothing.")
    return " ".join(text)


def comparison_caption(result: dict) -> str:
    """The comparisons' caption: the test used, its resamples, and the p-value adjustment."""
    settings = result.get("settings") or {}
    method = settings.get("roc_test") or "delong"
    test = tables.ROC_TEST_NAMES.get(method, method)
    text = f"{test[0].upper()}{test[1:]} of every two indicators on the patients who have both"
    resamples = settings.get("roc_test_resamples")
    if method != "delong" and resamples:
        text += f" ({resamples} seeded {'permutations' if method == 'venkatraman' else 'resamples'})"
    adjust = result.get("p_adjust") or settings.get("p_adjust") or "none"
    if adjust != "none":
        text += f"; p-values adjusted over all comparisons by {tables.ADJUST_NAMES.get(adjust, adjust)}"
    return text + "."


def report_sections(analysis: Any, table: pd.DataFrame | None = None) -> list[Section]:
    """Every section of the report, in the paper's order (ROC curves when the cohort table is at hand)."""
    result = result_dict(analysis)
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
    if result.get("auc_comparisons"):
        settings = result.get("settings") or {}
        test = tables.ROC_TEST_NAMES.get(settings.get("roc_test") or "delong", "DeLong's test")
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


def workbook_tables(analysis: Any) -> dict[str, pd.DataFrame]:
    """The report's tables, one XLSX sheet each."""
    return {s.sheet: s.table for s in report_sections(analysis) if s.sheet and s.table is not None}
