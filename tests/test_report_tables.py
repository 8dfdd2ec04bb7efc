"""Paper-style tables and number formatting of ovcf_core.report, from the `analyze` result dataclasses."""

from __future__ import annotations

import dataclasses
import io

import openpyxl
import pandas as pd
import pytest

from ovcf_core import formatting, paths
from ovcf_core.io import read_cohort
from ovcf_core.report import content, style, tables, xlsx
from ovcf_core.stats.analysis import CohortAnalysis, analyze_cohort


@pytest.fixture(scope="module")
def analysis() -> CohortAnalysis:
    """The sample cohort's analysis with the paper's settings (pairs, age/sex/BMI), Holm-adjusted."""
    table, _ = read_cohort(paths.SAMPLE_COHORT)
    return analyze_cohort(table, pair="pair_id", p_adjust="holm")


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0004, "<0.001"), (0.001, "0.001"), (0.04449, "0.044"), (None, "—"), (float("nan"), "—")],
)
def test_p_values_print_as_journals_print_them(p, text):
    assert style.fmt_p(p) == text


def test_numbers_use_a_true_minus_and_no_negative_zero():
    assert style.fmt_number(-1.234, 2) == "−1.23"
    assert style.fmt_number(-0.0001, 2) == "0.00"
    assert style.fmt_estimate_ci(0.8951, 0.8452, 0.9449, 3) == "0.895 [0.845–0.945]"


def test_each_indicator_has_its_own_decimals_everywhere():
    assert style.fmt_value("hu", 82.04) == "82.0"
    assert style.fmt_value("vbq", 3.5012) == "3.50"
    assert style.fmt_value("unknown_marker", 1.23456) == "1.23"


def test_table1_shows_mean_sd_per_group_with_the_test_used(analysis):
    table = tables.table1(analysis)
    case, control = f"OVCF (n={analysis.n_cases})", f"Control (n={analysis.n_controls})"
    assert list(table.columns) == [
        "Characteristic", case, control, "n (OVCF/control)", "p", "Test", "p (Mann–Whitney)", "p (Wilcoxon)"
    ]  # fmt: skip
    rows = table.set_index("Characteristic")
    g = analysis.marker("vbq").groups
    assert rows.loc["VBQ score", case] == f"{g.cases.mean:.2f} ± {g.cases.sd:.2f}"
    assert (
        rows.loc["VBQ score", "p"] == style.fmt_p(g.p_value)
        and rows.loc["VBQ score", "Test"] == "paired t-test"
    )
    hu = analysis.marker("hu").groups
    assert rows.loc["Average HU (HU)", case] == f"{hu.cases.mean:.1f} ± {hu.cases.sd:.1f}"
    assert rows.loc["Women, n (%)", "Test"] == "McNemar's test"
    assert rows.loc["Age (years)", "n (OVCF/control)"] == f"{analysis.n_cases}/{analysis.n_controls}"


def test_table2_gives_spearman_and_adjusted_odds_ratios(analysis):
    table = tables.table2(analysis).set_index("Indicator")
    hu = analysis.marker("hu")
    assert table.loc["Average HU (HU)", "Spearman ρ"] == style.fmt_number(hu.spearman.rho, 3)
    o = hu.odds_ratio
    assert table.loc["Average HU (HU)", "OR per SD [95% CI]"] == formatting.odds_ratio_ci(
        o.or_per_sd, *o.or_per_sd_ci
    )
    assert (
        table.loc["Average HU (HU)", "n (OR)"] == hu.n_or and table.loc["Average HU (HU)", "Method"] == "Wald"
    )


def test_table2_states_odds_ratios_per_sd_first_then_per_a_sensible_unit(analysis):
    table = tables.table2(analysis).set_index("Indicator")
    assert list(table.columns).index("OR per SD [95% CI]") < list(table.columns).index(tables.PER_UNIT_COLUMN)
    o = analysis.marker("vbq").odds_ratio
    low, high = (b**0.1 for b in o.or_per_unit_ci)
    expected = f"{formatting.ratio(o.or_per_unit**0.1)} [{formatting.ratio(low)}–{formatting.ratio(high)}]"
    assert table.loc["VBQ score", tables.PER_UNIT_COLUMN] == f"{expected} per 0.1 VBQ score"
    assert table.loc["Average HU (HU)", tables.PER_UNIT_COLUMN].endswith(" per 10 HU")


def test_table3_is_a_symmetric_matrix_of_rho_and_p(analysis):
    table = tables.table3(analysis).set_index("Indicator")
    c = analysis.correlations
    i, j = c.markers.index("vbq"), c.markers.index("hu")
    assert (
        table.loc["VBQ score", "Average HU"]
        == f"{style.fmt_number(c.rho[i, j], 3)} ({style.fmt_p(c.p[i, j])})"
    )
    assert table.loc["Average HU", "VBQ score"] == table.loc["VBQ score", "Average HU"]
    assert table.loc["VBQ score", "VBQ score"] == "1"


def test_auc_and_comparison_tables_show_cis_cutoffs_and_tests(analysis):
    auc = tables.auc_table(analysis).set_index("Indicator")
    vbq = analysis.marker("vbq")
    assert auc.loc["VBQ score", "AUC [95% CI]"] == style.fmt_estimate_ci(vbq.auc.auc, *vbq.auc.ci, 3)
    assert auc.loc["VBQ score", "Cut-off"] == style.fmt_value("vbq", vbq.cutoff.threshold)
    assert auc.loc["VBQ score", "Sensitivity"] == style.fmt_percent(vbq.cutoff.sensitivity)
    assert auc.loc["Average HU (HU)", "Direction"] == "lower = OVCF"
    comparisons = tables.delong_table(analysis)
    first = analysis.auc_comparisons[0]
    assert comparisons.columns.tolist() == ["Comparison", "AUC A", "AUC B", "z", "p", "n", "p (Holm)"]
    assert comparisons.iloc[0]["z"] == style.fmt_number(first.z, 2)
    assert comparisons.iloc[0]["p (Holm)"] == style.fmt_p(analysis.p_adjusted[0])


def test_forest_rows_are_numeric_per_sd_or_per_stated_unit(analysis):
    per_sd = tables.forest_rows(analysis, "sd").set_index("marker")
    o = analysis.marker("vbq").odds_ratio
    assert per_sd.loc["vbq", ["or", "low", "high"]].tolist() == pytest.approx([o.or_per_sd, *o.or_per_sd_ci])
    per_unit = tables.forest_rows(analysis, "unit").set_index("marker")
    hu = analysis.marker("hu").odds_ratio
    assert per_unit.loc["hu", "or"] == pytest.approx(hu.or_per_unit**10)  # per 10 HU, as the label says
    assert per_unit.loc["hu", "label"] == "Average HU (per 10 HU)"
    assert per_unit.loc["vbq", ["low", "high"]].tolist() == pytest.approx([b**0.1 for b in o.or_per_unit_ci])


def test_workbook_holds_one_sheet_per_report_table_with_the_same_text(analysis):
    book = openpyxl.load_workbook(io.BytesIO(xlsx.report_workbook(analysis)))
    assert book.sheetnames == ["Table 1", "Table 2", "ROC", "AUC comparisons", "Table 3"]
    sheet = pd.read_excel(io.BytesIO(xlsx.report_workbook(analysis)), sheet_name="Table 1", dtype=str)
    assert sheet.iloc[-1].tolist()[:3] == tables.table1(analysis).iloc[-1].tolist()[:3]


def test_cohort_sentence_and_messages(analysis):
    assert content.cohort_sentence(analysis) == "78 OVCF cases and 78 controls in 78 matched pairs."
    marked = dataclasses.replace(analysis, messages=("not adjusted for bmi: not in the table",))
    assert content.messages(marked)[-1] == "not adjusted for bmi: not in the table"


def test_a_marker_without_cutoff_is_flagged_with_the_rule_used(analysis):
    vbq = dataclasses.replace(analysis.marker("vbq"), cutoff=None)
    youden = dataclasses.replace(analysis, markers=(vbq,))
    assert "VBQ score: no cut-off, since every threshold has Youden's J below 0" in tables.direction_flags(
        youden
    )
    fixed = dataclasses.replace(youden, cutoff_rule="sensitivity:0.9")
    assert "VBQ score: no cut-off, since no threshold meets the rule 'fixed sensitivity 90%'" in (
        tables.direction_flags(fixed)
    )
    assert tables.auc_table(fixed).iloc[0]["Cut-off"] == "—"
