"""Raw measurement tables: wide/long forms, templates, cell-by-cell checks, and the cohort made from them."""

from __future__ import annotations

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ovcf_core import paths
from ovcf_core.errors import InputError
from ovcf_core.raw import (
    MEASUREMENT_COLUMNS,
    check_raw,
    cohort_from_raw,
    cohort_template,
    is_long,
    long_template,
    long_to_wide,
    read_raw,
    wide_template,
    wide_to_long,
)
from ovcf_core.schema import Severity, normalize_columns

WIDE = pd.DataFrame(
    {
        "patient_id": ["A", "A", "B"],
        "rater": ["1", "2", "1"],
        "ovcf": ["1", "1", "0"],
        "age": ["70", "70", "71"],
        "sex": ["F", "F", "F"],
        "fractured": ["L1;L3", "L1;L3", ""],
        "hu_L1": ["250", "260", "120"],
        "hu_L2": ["90", "100", "130"],
        "hu_L3": ["240", "250", "140"],
        "hu_L4": ["80", "84", ""],
        "si_L1": ["500", "520", "300"],
        "si_L2": ["440", "460", "310"],
        "si_L3": ["520", "520", "330"],
        "si_L4": ["400", "400", "320"],
        "si_csf_L3": ["", "", "100"],
        "si_csf_L2": ["150", "140", ""],
    },
    index=pd.Index([2, 3, 4], name="row"),
)


def _cohort(table: pd.DataFrame) -> pd.DataFrame:
    cohort, _ = cohort_from_raw(table, "t.csv")
    return cohort.set_index("patient_id")


def test_raters_are_averaged_per_measurement_before_the_indicators():
    cohort = _cohort(WIDE)
    # A: L1 and L3 fractured; HU rater means L2 95, L4 82 -> 88.5
    assert cohort.loc["A", "hu"] == pytest.approx(88.5)
    # A: SI rater means L2 450, L4 400 -> median 425; CSF at L3 blocked -> L2 mean 145 -> 2.931...
    assert cohort.loc["A", "vbq"] == pytest.approx(round(425 / 145, 4))
    # B: one rater, L4 HU missing -> (120 + 130 + 140) / 3; median(300, 310, 320, 330) / 100 = 3.15
    assert cohort.loc["B", "hu"] == pytest.approx(130.0)
    assert cohort.loc["B", "vbq"] == pytest.approx(3.15)
    assert cohort.loc["A", "ovcf"] == 1 and cohort.loc["B", "ovcf"] == 0


def test_a_measurement_one_rater_left_empty_is_the_other_raters_value():
    table = WIDE.copy()
    table.loc[3, "hu_L2"] = ""
    assert _cohort(table).loc["A", "hu"] == pytest.approx((90 + 82) / 2)


def test_only_indicators_whose_columns_are_present_are_computed():
    cohort = _cohort(WIDE)
    assert [c for c in ("t_score", "hu", "vbq", "rcsa", "fi") if c in cohort.columns] == ["hu", "vbq"]


def test_the_long_form_gives_the_same_cohort_as_the_wide_form():
    long = wide_to_long(WIDE)
    assert is_long(long) and not is_long(WIDE)
    assert set(long["quantity"]) == {"hu", "si", "si_csf"}
    pd.testing.assert_frame_equal(_cohort(long), _cohort(WIDE))


def test_long_to_wide_round_trips_the_measurements():
    wide = long_to_wide(wide_to_long(WIDE))
    assert list(wide["patient_id"]) == ["A", "A", "B"]
    assert wide.loc[0, "hu_L1"] == 250.0 and pd.isna(wide.loc[2, "hu_L4"])
    assert wide.loc[1, "si_csf_L2"] == 140.0


def test_templates_have_every_design_column():
    wide = wide_template()
    assert {
        "patient_id",
        "rater",
        "fractured",
        "t_L1",
        "hu_L4",
        "si_csf_L3",
        "si_csf_L2",
        "si_csf_L4",
    } <= set(wide.columns)
    assert "csa_pm_l_L1L2" in wide.columns and "fi_es_r_L4L5" in wide.columns and "disc_L4L5" in wide.columns
    assert len(MEASUREMENT_COLUMNS) == 4 * 3 + 3 + 24 * 2 + 4
    assert {"quantity", "level", "muscle", "side", "value"} <= set(long_template().columns)
    assert list(cohort_template().columns)[-5:] == ["t_score", "hu", "vbq", "rcsa", "fi"]
    assert len(wide) == len(long_template()) == len(cohort_template()) == 0


def test_shipped_templates_match_the_library_templates():
    folder = paths.SAMPLE_DATA / "templates"
    assert list(read_raw_header(folder / "raw_wide_template.csv")) == list(wide_template().columns)
    assert list(read_raw_header(folder / "raw_long_template.csv")) == list(long_template().columns)
    assert list(read_raw_header(folder / "cohort_template.csv")) == list(cohort_template().columns)


def read_raw_header(path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines()[0].split(",")


def test_column_names_are_case_insensitive():
    upper = WIDE.rename(columns=str.upper)
    pd.testing.assert_frame_equal(_cohort(upper), _cohort(WIDE))


def test_text_in_a_measurement_cell_is_a_warning_naming_row_and_column_and_the_rest_is_used():
    table = WIDE.copy()
    table.loc[4, "hu_L2"] = "1e"
    cohort, problems = cohort_from_raw(table, "t.csv")
    [problem] = [p for p in problems if p.column == "hu_L2"]
    assert (problem.severity, problem.row) == (Severity.WARNING, 4)
    assert "'1e' is not a number" in problem.message
    assert cohort.set_index("patient_id").loc["B", "hu"] == pytest.approx(130.0)  # (120 + 140) / 2


def test_implausible_measurement_is_flagged_and_left_out():
    table = WIDE.copy()
    table.loc[4, "hu_L1"] = "5000"
    cohort, problems = cohort_from_raw(table, "t.csv")
    assert any(p.column == "hu_L1" and "plausible range" in p.message for p in problems)
    assert cohort.set_index("patient_id").loc["B", "hu"] == pytest.approx(135.0)


def test_unknown_fractured_level_leaves_the_vertebral_indicators_missing_and_says_so():
    table = WIDE.copy()
    table.loc[4, "fractured"] = "L1;X"
    cohort, problems = cohort_from_raw(table, "t.csv")
    row = cohort.set_index("patient_id").loc["B"]
    assert pd.isna(row["hu"]) and pd.isna(row["vbq"])
    messages = [str(p) for p in problems if p.row == 4]
    assert any("column 'fractured': unknown fractured level 'X'" in m for m in messages)


def test_a_bad_sex_skips_only_that_row():
    table = WIDE.copy()
    table.loc[3, "sex"] = "Q"
    cohort, problems = cohort_from_raw(table, "t.csv")
    assert [(p.severity, p.row, p.column) for p in problems if p.severity is Severity.ERROR] == [
        (Severity.ERROR, 3, "sex")
    ]
    # A now has rater 1 only: HU L2 90, L4 80 -> 85
    assert cohort.set_index("patient_id").loc["A", "hu"] == pytest.approx(85.0)


def test_rows_of_one_patient_that_disagree_on_the_outcome_skip_the_patient():
    table = WIDE.copy()
    table.loc[3, "ovcf"] = "0"
    cohort, problems = cohort_from_raw(table, "t.csv")
    assert list(cohort["patient_id"]) == ["B"]
    assert any(
        p.severity is Severity.ERROR and p.column == "ovcf" and "disagree" in p.message for p in problems
    )


def test_missing_patient_id_column_is_an_input_error_naming_file_and_column():
    with pytest.raises(InputError) as info:
        check_raw(WIDE.drop(columns="patient_id"), "mine.csv")
    assert str(info.value).startswith("mine.csv, column 'patient_id'")


def test_all_vertebrae_fractured_gives_a_missing_value_and_a_warning():
    table = WIDE.copy()
    table["fractured"] = "L1;L2;L3;L4"
    cohort, problems = cohort_from_raw(table, "t.csv")
    assert cohort["hu"].isna().all()
    assert any(p.column == "hu" and "every vertebra L1-L4 is fractured" in p.message for p in problems)


def test_reading_the_sample_raw_file_gives_two_rater_rows_per_patient():
    table = read_raw(paths.SAMPLE_RAW)
    counts = table.groupby("patient_id").size()
    assert counts.max() == 2 and (counts == 2).mean() > 0.9


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.permutations([2, 3, 4]),
    columns=st.permutations(list(WIDE.columns)),
)
def test_row_and_column_order_do_not_change_the_cohort(rows, columns):
    shuffled = WIDE.loc[list(rows), list(columns)]
    pd.testing.assert_frame_equal(_cohort(shuffled).sort_index(), _cohort(WIDE).sort_index())


def test_long_table_warns_only_about_a_repeated_measurement_at_its_own_row():
    from ovcf_core.io import read_table, table_to_bytes

    sample = normalize_columns(read_table(paths.SAMPLE_RAW)).iloc[:4]
    long = wide_to_long(sample).reset_index(drop=True)
    long = pd.concat([long, long.iloc[[3]]], ignore_index=True)  # one measurement typed twice
    _, problems = cohort_from_raw(read_raw(table_to_bytes(long), "long.csv"), "long.csv")
    repeated = [p for p in problems if "repeated" in p.message or "rows of the same patient" in p.message]
    assert [(p.row, p.column) for p in repeated] == [(len(long) + 1, "value")]  # header is row 1
