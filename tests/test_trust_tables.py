"""Table, raw and ICC edges from the trust review: each is read correctly or refused in one line naming the
file and the cell, row, column or sheet; never a silent wrong answer, a traceback or a numpy warning."""

from __future__ import annotations

import time
import tracemalloc
import warnings

import numpy as np
import pandas as pd
import pytest
from conftest import read_csv_without_pyarrow

from ovcf_core.column_mapping import outcome_needs_positive
from ovcf_core.errors import AnalysisError, InputError
from ovcf_core.io import FAST_CSV_CHARS, MAX_COLUMNS, MAX_ROWS, read_cohort, read_table
from ovcf_core.raw import cohort_from_raw, read_raw
from ovcf_core.schema import validate_cohort
from ovcf_core.stats.analysis import analyze_cohort
from ovcf_core.stats.icc import icc_long, icc_wide
from tests.bad_inputs.make_corpus import (
    GOOD_ROWS,
    book_bytes,
    chart_first_xlsx,
    encrypted_workbook,
    far_corner_xlsx,
    good_book,
    good_table,
    lying_dimension_xlsx,
    raw_wide,
    uncached_formula_xlsx,
)

RESAVE = "open the file in Excel and save it again, so the values are computed"
EXTRA_ROWS = ["P98,1,70,F,23,-2.5,95,3.7,0.9,30", "P99,0,72,M,25,-1.5,125,2.9,1.1,20"]


def _problems(report) -> list[tuple[str, int | None, str | None, str]]:
    return [(str(p.severity), p.row, p.column, p.message) for p in report.problems]


def _raw_problems(problems) -> list[tuple[str, int | None, str | None, str]]:
    return [(str(p.severity), p.row, p.column, p.message) for p in problems]


# ---------------------------------------------------------------- 1. formula cells without computed values


def test_uncached_formula_cells_are_errors_naming_cell_and_sheet_and_the_other_rows_stay():
    data = uncached_formula_xlsx({"H26": "=G26/40", "H27": "=G27/40"}, [*GOOD_ROWS, *EXTRA_ROWS])
    table, report = read_cohort(data, "made_by_a_script.xlsx")
    assert _problems(report) == [
        ("error", 26, "vbq", f"cell H26 of sheet 'Data' is a formula (=G26/40) with no computed value: "
                             f"{RESAVE}; this row is skipped"),
        ("error", 27, "vbq", f"cell H27 of sheet 'Data' is a formula (=G27/40) with no computed value: "
                             f"{RESAVE}; this row is skipped"),
    ]  # fmt: skip
    assert list(table["patient_id"]) == [f"P{i:02d}" for i in range(1, 25)]
    assert table["vbq"].notna().all()


def test_a_needed_column_made_only_of_uncached_formulas_is_refused_naming_file_column_sheet_and_cells():
    data = uncached_formula_xlsx({f"H{r}": f"=G{r}/40" for r in range(2, 26)})
    with pytest.raises(InputError) as caught:
        read_cohort(data, "all_formulas.xlsx")
    assert str(caught.value) == (
        "all_formulas.xlsx, column 'vbq': every value (cells H2 to H25 of sheet 'Data') is a formula with "
        f"no computed value: {RESAVE}"
    )


def test_reading_the_table_alone_keeps_an_uncached_formula_as_its_text_never_an_empty_cell():
    data = uncached_formula_xlsx({"H26": "=G26/40"}, [*GOOD_ROWS, EXTRA_ROWS[0]])
    table = read_table(data, "t.xlsx")
    assert table.loc[26, "vbq"] == "=G26/40"
    assert table.attrs["uncached_formulas"] == {(26, "vbq"): ("H26", "=G26/40")}


def test_formulas_excel_computed_are_read_as_their_values_and_an_empty_text_result_is_an_empty_cell():
    book = good_book()
    book.active["H2"], book.active["H3"] = "=G2/40", "=G3/40"

    def as_excel_saved_it(xml: bytes) -> bytes:  # cached results: a number, and "" (type str, empty <v>)
        xml = xml.replace(b'<c r="H2"><f>G2/40</f><v /></c>', b'<c r="H2"><f>G2/40</f><v>3.25</v></c>')
        return xml.replace(b'<c r="H3"><f>G3/40</f><v /></c>', b'<c r="H3" t="str"><f>G3/40</f><v></v></c>')

    data = book_bytes(book, {"xl/worksheets/sheet1.xml": as_excel_saved_it})
    table, report = read_cohort(data, "excel.xlsx")
    assert report.ok and _problems(report) == []
    assert table.loc[2, "vbq"] == 3.25
    assert np.isnan(table.loc[3, "vbq"])
    assert len(table) == 24


def test_an_uncached_formula_patient_id_is_an_error_not_an_id():
    data = uncached_formula_xlsx({"A26": '="P"&C26'}, [*GOOD_ROWS, EXTRA_ROWS[0]])
    table, report = read_cohort(data, "ids.xlsx")
    assert _problems(report) == [
        ("error", 26, "patient_id",
         f"cell A26 of sheet 'Data' is a formula (=\"P\"&C26) with no computed value: {RESAVE}; "
         "this row is skipped"),
    ]  # fmt: skip
    assert len(table) == 24 and not table["patient_id"].str.startswith("=").any()


def test_raw_uncached_formulas_a_measurement_is_left_out_a_patient_cell_skips_the_row():
    book = good_book(
        ["R1,1,70,F,22,80,=B2*90,90,95", "R2,0,68,M,24,120,125,130,125", "R3,1,71,F,23,85,86,87,88"],
        header="patient_id,ovcf,age,sex,bmi,hu_L1,hu_L2,hu_L3,hu_L4",
    )
    book.active["C4"] = "=C3+3"
    cohort, problems = cohort_from_raw(read_raw(book_bytes(book), "raw.xlsx"), "raw.xlsx")
    assert _raw_problems(problems) == [
        ("warning", 2, "hu_L2", "cell G2 of sheet 'Data' is a formula (=B2*90) with no computed value: "
                                f"{RESAVE}; this measurement is left out"),
        ("error", 4, "age", "cell C4 of sheet 'Data' is a formula (=C3+3) with no computed value: "
                            f"{RESAVE}; this row is skipped"),
    ]  # fmt: skip
    assert cohort[["patient_id", "hu"]].to_dict("list") == {"patient_id": ["R1", "R2"], "hu": [88.33, 125.0]}


# ---------------------------------------------------------------- 2. missing and unexpected outcomes

MISSING_WORDS = ["NA", "n/a", "N/A", "na", "", ".", "missing"]


def _outcome_table(values: list[str]) -> pd.DataFrame:
    index = pd.Index(range(2, len(values) + 2), name="row")
    return pd.DataFrame(
        {"patient_id": [f"P{i}" for i in range(len(values))], "group": values, "hu": "100"}, index=index
    ).astype("string")


@pytest.mark.parametrize("positive", [None, "ovcf"])
def test_missing_outcome_words_are_missing_errors_by_row_never_controls(positive):
    table, report = validate_cohort(_outcome_table(["ovcf", "control", *MISSING_WORDS]), positive=positive)
    assert _problems(report) == [
        ("error", 4, "group", "missing outcome ('NA')"),
        ("error", 5, "group", "missing outcome ('n/a')"),
        ("error", 6, "group", "missing outcome ('N/A')"),
        ("error", 7, "group", "missing outcome ('na')"),
        ("error", 8, "group", "missing outcome"),
        ("error", 9, "group", "missing outcome ('.')"),
        ("error", 10, "group", "missing outcome ('missing')"),
    ]
    assert table["ovcf"].tolist() == [1.0, 0.0]


def test_with_positive_the_one_other_value_is_the_control_whatever_its_word():
    table, report = validate_cohort(_outcome_table(["fx", "none", "FX", "None", ""]), positive="fx")
    assert table["ovcf"].tolist() == [1.0, 0.0, 1.0, 0.0]
    assert _problems(report) == [("error", 6, "group", "missing outcome")]


def test_with_positive_a_typo_beside_the_control_value_is_refused_naming_it_and_its_rows():
    values = ["ovcf", "control", "control", "ovfc", "control", "ctrl", "ovcf", "ctrl"]
    with pytest.raises(InputError) as caught:
        validate_cohort(_outcome_table(values), positive="ovcf")
    assert str(caught.value) == (
        "column 'group': with --positive 'ovcf' the outcome may hold one other value, the controls "
        "('control'), but it also holds 'ovfc' (row 5); 'ctrl' (rows 7, 9): correct these cells or leave "
        "them empty"
    )


def test_with_positive_a_typo_in_a_file_is_refused_naming_the_file():
    data = "patient_id,group,hu\nA,ovcf,80\nB,control,150\nC,ovfc,120\n"
    with pytest.raises(InputError, match=r"^groups\.csv, column 'group': .*'ovfc' \(row 4\)"):
        read_cohort(data.encode(), "groups.csv", positive="ovcf")


def test_with_positive_a_value_absent_from_the_column_is_refused():
    with pytest.raises(InputError) as caught:
        validate_cohort(_outcome_table(["1", "0", "1"]), positive="yes")
    assert str(caught.value) == (
        "column 'group': the positive value 'yes' does not occur in the outcome column (its values: '1', '0')"
    )


def test_the_page_asks_for_the_positive_value_ignoring_missing_words():
    assert outcome_needs_positive(pd.Series(["fx", "none", "NA", ".", "fx", ""])) == ["fx", "none"]


# ---------------------------------------------------------------- 3. infinite and huge numbers


def test_infinite_and_huge_numbers_are_errors_by_row_and_column_and_analysis_raises_no_warning():
    rows = [
        *GOOD_ROWS,
        "P95,1,1e308,F,23,-2.5,95,3.7,0.9,30",
        "P96,0,70,F,-inf,-2.5,95,3.7,0.9,30",
        "P97,1,70,F,23,-2.5,inf,3.7,0.9,30",
        "P98,0,70,F,23,-2.5,95,1e400,0.9,30",
        "P99,1,70,F,23,-2.5,95,3.7,0.9,NaN",
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table, report = read_cohort(good_table(rows).encode(), "huge.csv")
        analysis = analyze_cohort(table, adjust=["age", "sex", "bmi"])
        analysis.to_dict()
    assert _problems(report) == [
        ("error", 26, "age", "1e+308 is outside the plausible range 18 to 120 years"),
        ("error", 27, "bmi", "'-inf' is not a finite number: outside the plausible range 10 to 70 kg/m²"),
        ("error", 28, "hu", "'inf' is not a finite number: outside the plausible range -300 to 1500 HU"),
        ("error", 29, "vbq", "'1e400' is not a finite number: outside the plausible range 0.5 to 10 ratio"),
    ]
    assert len(table) == 25 and np.isnan(table.loc[30, "fi"])  # 'NaN' is a missing value, as pandas reads it


def test_an_extra_marker_without_a_range_refuses_infinite_and_implausibly_huge_values():
    data = good_table([f"{r},{i}" for i, r in enumerate(GOOD_ROWS)], header="patient_id,ovcf,age,sex,bmi,"
                      "t_score,hu,vbq,rcsa,fi,ctx") + "P98,1,70,F,23,-2.5,95,3.7,0.9,30,1e308\n" \
        "P99,0,70,F,23,-2.5,95,3.7,0.9,30,-inf\n"  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table, report = read_cohort(data.encode(), "ctx.csv", markers=["ctx"])
        analyze_cohort(table, markers=["ctx"], adjust=[]).to_dict()
    assert _problems(report) == [
        ("error", 26, "ctx", "1e+308 is outside the plausible range -1e+12 to 1e+12"),
        ("error", 27, "ctx", "'-inf' is not a finite number"),
    ]


@pytest.mark.parametrize("pyarrow", [True, False])
def test_infinite_numbers_in_a_large_csv_are_errors_quoting_the_text_as_typed(monkeypatch, pyarrow):
    if not pyarrow:
        monkeypatch.setattr(pd, "read_csv", read_csv_without_pyarrow)
    body = "".join(f"P{i},{i % 2},70,F,23.5,-2.1,110,3.1,1.1,20\n" for i in range(60_000))
    text = (
        good_table([]) + body + "X1,1,70,F,23.5,-2.1,inf,3.1,1.1,20\nX2,0,70,F,23.5,-2.1,110,-1e400,1.1,20\n"
    )
    assert len(text) > FAST_CSV_CHARS
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table, report = read_cohort(text.encode(), "big.csv")
    assert _problems(report) == [
        ("error", 60_002, "hu", "'inf' is not a finite number: outside the plausible range -300 to 1500 HU"),
        (
            "error",
            60_003,
            "vbq",
            "'-1e400' is not a finite number: outside the plausible range 0.5 to 10 ratio",
        ),
    ]
    assert len(table) == 60_000


def test_raw_infinite_and_huge_measurements_are_left_out_by_row_and_column_without_warnings():
    data = raw_wide(
        "hu_L1,hu_L2,hu_L3,hu_L4", "R1,1,70,F,22,80,1e400,-inf,95", "R2,0,68,M,24,120,1e308,130,125"
    )
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        cohort, problems = cohort_from_raw(read_raw(data.encode(), "raw.csv"), "raw.csv")
    assert _raw_problems(problems) == [
        ("warning", 2, "hu_L2", "'1e400' is not a finite number; this measurement is left out"),
        ("warning", 2, "hu_L3", "'-inf' is not a finite number; this measurement is left out"),
        ("warning", 3, "hu_L2",
         "1e+308 is outside the plausible range -300 to 1500 HU; this measurement is left out"),
    ]  # fmt: skip
    assert cohort["hu"].tolist() == [87.5, 125.0]


# ---------------------------------------------------------------- 4. sheet size: far cells, lying dimensions


@pytest.mark.parametrize(
    ("ref", "limit"),
    [("XFD1048576", f"below row {MAX_ROWS:,}, the last a table may use"),
     ("A1048576", f"below row {MAX_ROWS:,}, the last a table may use"),
     ("XFD1", f"beyond column {MAX_COLUMNS:,}, the most a table may use")],
)  # fmt: skip
def test_a_value_in_a_far_cell_is_refused_quickly_without_allocating_the_declared_sheet(ref, limit):
    data = far_corner_xlsx(ref)
    tracemalloc.start()
    start = time.process_time()  # CPU seconds: other processes on a shared machine do not count
    try:
        with pytest.raises(InputError) as caught:
            read_table(data, "far.xlsx")
        seconds = time.process_time() - start
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert (
        str(caught.value) == f"far.xlsx: sheet 'Sheet' has a value in cell {ref}, {limit} (delete that cell)"
    )
    assert seconds < 5
    assert peak < 200 * 1024**2


def test_an_empty_formatted_cell_far_away_does_not_refuse_the_table():
    from openpyxl.styles import Font

    book = good_book()
    book.active["XFD30"].font = Font(bold=True)
    book.active["B1048576"].font = Font(bold=True)
    table, report = read_cohort(book_bytes(book), "styled.xlsx")
    assert report.ok and len(table) == 24


def test_a_sheet_whose_dimension_tag_says_a1_b2_is_read_whole():
    table, report = read_cohort(lying_dimension_xlsx("A1:B2"), "lie.xlsx")
    assert report.ok and _problems(report) == []
    assert len(table) == 24
    assert list(table.columns) == [
        "patient_id",
        "ovcf",
        "sex",
        "age",
        "bmi",
        "t_score",
        "hu",
        "vbq",
        "rcsa",
        "fi",
    ]


def test_a_csv_wider_than_the_column_limit_is_refused_naming_the_limit():
    header = "patient_id," + ",".join(f"c{i}" for i in range(MAX_COLUMNS))
    with pytest.raises(InputError) as caught:
        read_table(f"{header}\nP1{',1' * MAX_COLUMNS}\n".encode(), "wide.csv")
    assert (
        str(caught.value)
        == f"wide.csv, row 1: has {MAX_COLUMNS + 1:,} columns; a table may have at most 1,000"
    )


# ---------------------------------------------------------------- 5. chart sheets


@pytest.mark.parametrize("with_chart", [False, True])
def test_a_chart_sheet_first_reads_the_first_worksheet_and_says_which(with_chart):
    table, report = read_cohort(chart_first_xlsx(with_chart), "charted.xlsx")
    assert _problems(report) == [
        ("warning", None, None,
         "read the table from sheet 'Data' (header in row 1): the first sheet, 'Chart1', is a chart"),
    ]  # fmt: skip
    assert len(table) == 24


def test_a_workbook_with_only_a_chart_and_an_empty_sheet_is_refused_naming_the_sheets():
    import openpyxl

    book = openpyxl.Workbook()
    book.create_chartsheet().title = "Chart1"
    with pytest.raises(InputError) as caught:
        read_table(book_bytes(book), "charts.xlsx")
    assert (
        str(caught.value)
        == "charts.xlsx: has no sheet with a table (sheets: 'Sheet' (empty), 'Chart1' (chart))"
    )


def test_asking_for_a_chart_sheet_by_name_is_refused():
    with pytest.raises(InputError) as caught:
        read_table(chart_first_xlsx(), "charted.xlsx", sheet="Chart1")
    assert str(caught.value) == "charted.xlsx: sheet 'Chart1' is a chart, not a table"


def test_an_empty_first_sheet_reads_the_next_sheet_with_data_and_says_so():
    book = good_book(title="Data")
    book.create_sheet("Notes", 0)
    table, report = read_cohort(book_bytes(book), "notes_first.xlsx")
    assert len(table) == 24
    assert _problems(report) == [
        ("warning", None, None,
         "read the table from sheet 'Data' (header in row 1): the first sheet, 'Notes', is empty"),
    ]  # fmt: skip


# ---------------------------------------------------------------- 6. encrypted workbooks


def test_a_password_protected_workbook_is_named_as_such_not_as_an_old_xls():
    with pytest.raises(InputError) as caught:
        read_table(encrypted_workbook(), "locked.xlsx")
    assert str(caught.value) == (
        "locked.xlsx: is a password-protected (encrypted) workbook: open it in Excel, remove the password "
        "(File > Info > Protect Workbook) and save it again"
    )
    with pytest.raises(InputError, match=r"^old\.xls: is an old Excel \.xls file"):
        read_table(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(1024), "old.xls")


# ---------------------------------------------------------------- 7. old Mac line endings


def test_a_csv_with_cr_only_line_endings_reads_every_row():
    table, report = read_cohort(good_table().replace("\n", "\r").encode(), "mac.csv")
    assert report.ok and len(table) == 24
    assert list(table.index) == list(range(2, 26))


@pytest.mark.parametrize("pyarrow", [True, False])
def test_a_large_csv_with_cr_only_line_endings_reads_every_row_through_the_fast_path(monkeypatch, pyarrow):
    if not pyarrow:
        monkeypatch.setattr(pd, "read_csv", read_csv_without_pyarrow)
    body = "".join(f"P{i},{i % 2},70,F,23.5,-2.1,110,3.1,1.1,20\r" for i in range(60_000))
    text = good_table([]).replace("\n", "\r") + body
    assert len(text) > FAST_CSV_CHARS
    table, report = read_cohort(text.encode(), "mac_big.csv")
    assert report.ok and len(table) == 60_000
    assert table.index[-1] == 60_001 and table.loc[60_001, "patient_id"] == "P59999"


def test_a_quoted_cell_with_a_cr_line_break_in_a_crlf_file_keeps_every_row():
    data = 'patient_id,ovcf,hu,note\r\nP1,1,80,"two\rlines"\r\nP2,0,150,ok\r\n'
    table = read_table(data.encode(), "notes.csv")
    assert list(table["patient_id"]) == ["P1", "P2"] and table.loc[2, "note"] == "two\nlines"


# ---------------------------------------------------------------- 8. implausible computed indicators


def test_a_tiny_csf_signal_flags_vbq_naming_the_csf_column_and_leaves_it_missing():
    data = raw_wide(
        "si_L1,si_L2,si_L3,si_L4,si_csf_L3",
        "R1,1,70,F,22,300,310,290,305,0.001",
        "R2,0,68,M,24,300,310,290,305,100",
    )
    cohort, problems = cohort_from_raw(read_raw(data.encode(), "raw.csv"), "raw.csv")
    assert _raw_problems(problems) == [
        ("warning", 2, "vbq",
         "VBQ score 302500 is outside the plausible range 0.5 to 10: median vertebral SI 302.5 "
         "(si_L1, si_L2, si_L3, si_L4) / CSF SI 0.001 (si_csf_L3), check si_csf_L3; it is left missing"),
    ]  # fmt: skip
    assert np.isnan(cohort.loc[0, "vbq"]) and cohort.loc[1, "vbq"] == 3.025


def test_a_huge_csf_signal_and_an_implausible_rcsa_are_flagged_like_vbq():
    csa = ",".join(f"csa_{m}_l_L3L4" for m in ("pm", "mf", "es"))
    data = raw_wide(f"si_L1,si_csf_L2,{csa},disc_L3L4", "R1,1,70,F,22,300,90000,9000,9000,9000,100")
    cohort, problems = cohort_from_raw(read_raw(data.encode(), "raw.csv"), "raw.csv")
    assert _raw_problems(problems) == [
        ("warning", 2, "rcsa", "Average total rCSA 270 is outside the plausible range 0.05 to 15: from "
                               "csa_*_l_L3L4 / disc_L3L4; it is left missing"),
        ("warning", 2, "vbq",
         "VBQ score 0.0033 is outside the plausible range 0.5 to 10: median vertebral SI 300 (si_L1) / "
         "CSF SI 90000 (si_csf_L2), check si_csf_L2; it is left missing"),
    ]  # fmt: skip
    assert cohort[["vbq", "rcsa"]].isna().all(axis=None)


def test_ovcf_indicators_never_writes_an_implausible_vbq(tmp_path):
    from tests.conftest import run_cli

    raw = tmp_path / "raw.csv"
    raw.write_text(
        raw_wide("si_L1,si_L2,si_L3,si_L4,si_csf_L3", "R1,1,70,F,22,300,310,290,305,0.001",
                 "R2,0,68,M,24,300,310,290,305,100")
    )  # fmt: skip
    result = run_cli("indicators", str(raw), "-o", str(tmp_path / "cohort.csv"))
    assert result.returncode == 0, result.stderr
    assert "raw.csv: warning: row 2, column 'vbq': VBQ score 302500 is outside" in result.stderr
    written = pd.read_csv(tmp_path / "cohort.csv")
    assert np.isnan(written.loc[0, "vbq"]) and written.loc[1, "vbq"] == 3.025


# ---------------------------------------------------------------- 9. ICC with huge ratings


def _ratings() -> np.ndarray:
    rng = np.random.default_rng(7)
    truth = rng.normal(100, 15, 30)
    return np.column_stack([truth + rng.normal(0, 5, 30), truth + 4 + rng.normal(0, 5, 30), truth])


@pytest.mark.parametrize("scale", [1e200, 1e306, 1e-200])
def test_icc_of_huge_or_tiny_ratings_equals_the_icc_of_the_rescaled_ratings_without_warnings(scale):
    ratings = _ratings()
    reference = icc_wide(ratings)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        scaled = icc_wide(ratings * scale)
    for expected, got in zip(reference.forms, scaled.forms, strict=True):
        assert got.icc == pytest.approx(expected.icc, rel=1e-9)
        assert got.ci == pytest.approx(expected.ci, rel=1e-9)
        assert got.f == pytest.approx(expected.f, rel=1e-9)
        assert got.p_value == pytest.approx(expected.p_value, rel=1e-6)


def test_icc_of_ratings_near_the_largest_float_gives_the_rescaled_result_without_warnings():
    ratings = _ratings()
    near_max = ratings / ratings.max() * 1e308
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = icc_wide(near_max)
    assert result["ICC2"].icc == pytest.approx(icc_wide(ratings)["ICC2"].icc, rel=1e-9)


def test_icc_refuses_an_infinite_rating_naming_its_row_and_column():
    table = pd.DataFrame(
        {"subject": ["a", "a", "b", "b", "c", "c"], "rater": ["r1", "r2"] * 3,
         "hu": [100.0, 102.0, np.inf, 90.0, 120.0, 118.0]},
        index=pd.Index(range(2, 8), name="row"),
    )  # fmt: skip
    with pytest.raises(AnalysisError) as caught:
        icc_long(table, "subject", "rater", "hu")
    assert str(caught.value) == "row 4, column 'hu': the rating is infinite (e.g. 'inf' or 1e400): correct it"
    with pytest.raises(AnalysisError, match="a rating is infinite"):
        icc_wide(np.array([[1.0, 2.0], [np.inf, 3.0]]))


def test_icc_long_averages_repeated_ratings_near_the_largest_float_without_overflow():
    base = _ratings()[:10]
    ratings = base / base.max() * 1.7e308  # the largest repeated: its sum alone would overflow
    top_subject, top_rater = np.unravel_index(np.argmax(ratings), ratings.shape)
    table = pd.DataFrame(
        [(s, r, ratings[s, r]) for s in range(10) for r in range(3)]
        + [(top_subject, top_rater, ratings[top_subject, top_rater])],
        columns=["subject", "rater", "hu"],
    )
    reference = icc_wide(base)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = icc_long(table, "subject", "rater", "hu")
    assert result.warnings == ("1 repeated rating(s) of the same subject by the same rater were averaged",)
    assert result["ICC3"].icc == pytest.approx(reference["ICC3"].icc, rel=1e-9)


@pytest.mark.parametrize("dtype", ["string", "str", object])
def test_sex_is_read_the_same_from_any_column_type_each_text_by_its_own_rule(dtype):
    from ovcf_core.schema import parse_sex

    texts = ["F", "m", "Male", " female ", "FEMALE", "x", "", None, "M", "mal", "f"]
    expected_sex = ["F", "M", "M", "F", "F", None, None, None, "M", None, "F"]
    expected_bad = [False, False, False, False, False, True, False, False, False, True, False]
    sex, bad = parse_sex(pd.Series(texts * 3, dtype=dtype, index=range(10, 43)))
    assert isinstance(sex.dtype, pd.CategoricalDtype) and list(sex.cat.categories) == ["F", "M"]
    assert [None if pd.isna(s) else s for s in sex] == expected_sex * 3
    assert bad.astype(bool).tolist() == expected_bad * 3
    assert list(sex.index) == list(bad.index) == list(range(10, 43))
