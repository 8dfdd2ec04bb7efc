"""Paper-style tables and number formatting of ovcf_core.report, from an `analyze` result dict."""

from __future__ import annotations

import io

import openpyxl
import pandas as pd
import pytest

from ovcf_core.report import content, style, tables, xlsx

RESULT = {
    "n": {"cases": 78, "controls": 78, "pairs": 78},
    "markers": {
        "vbq": {
            "n": 156,
            "mean_cases": 3.5012,
            "sd_cases": 0.4049,
            "mean_controls": 3.0149,
            "sd_controls": 0.3551,
            "test": "paired_t",
            "p_value": 2.1e-9,
            "spearman_rho": 0.6012,
            "spearman_p": 1.0e-16,
            "auc": 0.8951,
            "auc_ci": [0.8452, 0.9449],
            "direction": "higher",
            "cutoff": 3.2449,
            "sensitivity": 0.8211,
            "specificity": 0.8333,
            "or_per_unit": 29.81,
            "or_per_unit_ci": [9.1, 97.6],
            "or_per_sd": 2.98,
            "or_per_sd_ci": [1.78, 8.25],
            "or_p": 0.0004,
        },
        "hu": {
            "n": 150,
            "mean_cases": 82.04,
            "sd_cases": 30.55,
            "mean_controls": 121.96,
            "sd_controls": 35.01,
            "test": "paired_t",
            "p_value": 0.0123,
            "spearman_rho": -0.665,
            "spearman_p": 0.0021,
            "auc": 0.8,
            "auc_ci": [0.72, 0.88],
            "direction": "lower",
            "cutoff": 100.05,
            "sensitivity": 0.7,
            "specificity": 0.75,
            "or_per_unit": 0.97,
            "or_per_unit_ci": [0.95, 0.99],
            "or_per_sd": 0.39,
            "or_per_sd_ci": [0.29, 0.77],
            "or_p": None,
        },
    },
    "auc_comparisons": [
        {"a": "vbq", "b": "hu", "auc_a": 0.8951, "auc_b": 0.8, "z": 2.012, "p_value": 0.0442}
    ],
    "marker_correlations": {
        "rho": {"vbq": {"vbq": 1.0, "hu": -0.5}, "hu": {"vbq": -0.5, "hu": 1.0}},
        "p": {"vbq": {"vbq": 0.0, "hu": 0.0004}, "hu": {"vbq": 0.0004, "hu": 0.0}},
    },
}


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


def test_table1_shows_mean_sd_per_group_with_the_test_used():
    table = tables.table1(RESULT)
    assert list(table.columns) == [
        "Characteristic", "OVCF (n=78)", "Control (n=78)", "n (OVCF/control)", "p", "Test", "p (Mann–Whitney)"
    ]  # fmt: skip
    vbq = table.iloc[0]
    assert vbq["Characteristic"] == "VBQ score"
    assert vbq["OVCF (n=78)"] == "3.50 ± 0.40"
    assert vbq["Control (n=78)"] == "3.01 ± 0.36"
    assert vbq["p"] == "<0.001" and vbq["Test"] == "paired t-test"
    assert table.iloc[1]["Characteristic"] == "Average HU (HU)"
    assert table.iloc[1]["OVCF (n=78)"] == "82.0 ± 30.6"


def test_table2_gives_spearman_and_adjusted_odds_ratios_with_missing_values_as_dashes():
    table = tables.table2(RESULT)
    hu = table.set_index("Indicator").loc["Average HU (HU)"]
    assert hu["Spearman ρ"] == "−0.665"
    assert hu["OR per SD [95% CI]"] == "0.39 [0.29–0.77]"
    assert hu["p (OR)"] == "—"


def test_table3_is_a_symmetric_matrix_of_rho_and_p():
    table = tables.table3(RESULT).set_index("Indicator")
    assert table.loc["VBQ score", "Average HU"] == "−0.500 (<0.001)"
    assert table.loc["Average HU", "VBQ score"] == table.loc["VBQ score", "Average HU"]
    assert table.loc["VBQ score", "VBQ score"] == "1"


def test_auc_and_delong_tables_show_cis_cutoffs_and_tests():
    auc = tables.auc_table(RESULT).set_index("Indicator")
    assert auc.loc["VBQ score", "AUC [95% CI]"] == "0.895 [0.845–0.945]"
    assert auc.loc["VBQ score", "Cut-off"] == "3.24"
    assert auc.loc["VBQ score", "Sensitivity"] == "82.1%"
    assert auc.loc["Average HU (HU)", "Direction"] == "lower = OVCF"
    delong = tables.delong_table(RESULT)
    assert delong.iloc[0].tolist()[:5] == ["VBQ score vs Average HU", "0.895", "0.800", "2.01", "0.044"]


def test_forest_rows_are_numeric_per_sd_or_per_unit():
    per_sd = tables.forest_rows(RESULT, "sd").set_index("marker")
    assert per_sd.loc["vbq", ["or", "low", "high"]].tolist() == [2.98, 1.78, 8.25]
    per_unit = tables.forest_rows(RESULT, "unit").set_index("marker")
    assert per_unit.loc["hu", "or"] == pytest.approx(0.97**10)  # per 10 HU, as the label says
    assert per_unit.loc["hu", "label"] == "Average HU (per 10 HU)"
    assert per_unit.loc["vbq", ["low", "high"]].tolist() == pytest.approx([9.1**0.1, 97.6**0.1])


def test_table2_states_odds_ratios_per_sd_first_then_per_a_sensible_unit():
    table = tables.table2(RESULT).set_index("Indicator")
    assert list(table.columns).index("OR per SD [95% CI]") < list(table.columns).index(tables.PER_UNIT_COLUMN)
    assert table.loc["VBQ score", tables.PER_UNIT_COLUMN] == "1.40 [1.25–1.58] per 0.1 VBQ score"
    assert table.loc["Average HU (HU)", tables.PER_UNIT_COLUMN] == "0.74 [0.60–0.90] per 10 HU"


def test_workbook_holds_one_sheet_per_report_table_with_the_same_text():
    book = openpyxl.load_workbook(io.BytesIO(xlsx.report_workbook(RESULT)))
    assert book.sheetnames == ["Table 1", "Table 2", "ROC", "AUC comparisons", "Table 3"]
    sheet = pd.read_excel(io.BytesIO(xlsx.report_workbook(RESULT)), sheet_name="Table 1", dtype=str)
    assert sheet.iloc[0]["OVCF (n=78)"] == "3.50 ± 0.40"


def test_cohort_sentence_and_messages():
    assert content.cohort_sentence(RESULT) == "78 OVCF cases and 78 controls in 78 matched pairs."
    assert content.messages({**RESULT, "messages": {"rcsa": "constant marker"}}) == ["rcsa: constant marker"]
