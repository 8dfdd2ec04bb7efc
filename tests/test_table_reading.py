"""Reading tables as users' spreadsheets write them, and validating cohort tables cell by cell."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from conftest import read_csv_without_pyarrow

from ovcf_core.errors import InputError
from ovcf_core.io import escape_formulas, read_cohort, read_table, table_to_bytes
from ovcf_core.schema import Indicator, Severity, validate_cohort

COHORT_CSV = "patient_id,ovcf,age,sex,bmi,hu,vbq\nP1,1,70,F,22.5,80,3.6\nP2,0,71,F,23.0,140,2.8\n"


def test_semicolon_csv_with_decimal_comma_and_bom_reads_as_excel_wrote_it():
    data = "\ufeffpatient_id;ovcf;age;sex;bmi;hu;vbq\nP1;1;70;F;22,5;80;3,6\nP2;0;71;f;23;140;2,8\n"
    table, report = read_cohort(data.encode("utf-8"), "excel.csv")
    assert report.ok
    assert table["bmi"].tolist() == [22.5, 23.0]
    assert table["vbq"].tolist() == [3.6, 2.8]
    assert table["sex"].tolist() == ["F", "F"]


def test_column_names_are_case_insensitive_and_group_words_give_the_outcome():
    data = "Patient_ID,GROUP,Age,Sex,HU\nA,ovcf,70,female,80\nB,control,70,Male,150\n"
    table, report = read_cohort(data.encode(), "x.csv")
    assert report.ok
    assert table["ovcf"].tolist() == [1.0, 0.0]
    assert table["sex"].tolist() == ["F", "M"]


def test_text_in_a_numeric_cell_blocks_only_its_row_and_names_row_and_column():
    data = COHORT_CSV + "P3,1,72,M,24,abc,3.9\n"
    table, report = read_cohort(data.encode(), "c.csv")
    assert list(table["patient_id"]) == ["P1", "P2"]
    [problem] = report.errors
    assert (problem.row, problem.column) == (4, "hu")
    assert "'abc' is not a number" in problem.message


def test_implausible_hu_is_flagged_not_used():
    data = COHORT_CSV + "P3,1,72,M,24,5000,3.9\n"
    table, report = read_cohort(data.encode(), "c.csv")
    assert "P3" not in set(table["patient_id"])
    assert report.errors[0].column == Indicator.HU.column
    assert "outside the plausible range" in report.errors[0].message


def test_duplicated_patient_id_is_an_error_on_the_second_row():
    data = COHORT_CSV + "P1,0,72,M,24,150,2.9\n"
    _, report = read_cohort(data.encode(), "c.csv")
    assert [(p.row, p.column) for p in report.errors] == [(4, "patient_id")]


def test_missing_outcome_column_names_the_column():
    with pytest.raises(InputError, match="missing outcome column"):
        read_cohort(b"patient_id,hu\nP1,80\n", "c.csv")


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02\x03binary", "binary"),
        (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 100, ".xls"),
        (b"patient_id,ovcf\n", "no data rows"),
    ],
)
def test_unreadable_files_give_one_clear_message(data, message):
    with pytest.raises(InputError, match=message) as info:
        read_table(data, "bad.csv")
    assert "bad.csv" in str(info.value)


def test_title_rows_above_the_header_are_skipped():
    data = "OVCF study export,,\n,,\npatient_id,ovcf,hu\nP1,1,80\n"
    table = read_table(data.encode(), "t.csv")
    assert list(table.columns) == ["patient_id", "ovcf", "hu"]
    assert table.index.tolist() == [4]


def test_xlsx_round_trip_keeps_values():
    df = pd.DataFrame({"patient_id": ["P1", "P2"], "ovcf": [1, 0], "hu": [80.5, 140.0]})
    data = table_to_bytes(df, "xlsx")
    table, report = read_cohort(data, "c.xlsx")
    assert report.ok
    assert table["hu"].tolist() == [80.5, 140.0]


def test_formula_cells_are_escaped_in_downloads():
    df = pd.DataFrame({"patient_id": ["=HYPERLINK(1)", "+1+1", "@x", "-2+cmd|' /C calc'!A0", "-2", "ok"]})
    escaped = escape_formulas(df)["patient_id"].tolist()
    assert escaped == ["'=HYPERLINK(1)", "'+1+1", "'@x", "'-2+cmd|' /C calc'!A0", "-2", "ok"]
    text = table_to_bytes(df).decode()
    assert "\n=" not in text


def test_unpaired_pair_id_is_a_warning():
    data = "patient_id,ovcf,pair_id\nA,1,p1\nB,0,p1\nC,1,p2\n"
    table, report = validate_cohort(read_table(io.BytesIO(data.encode()), "p.csv"))
    assert len(table) == 3
    [warning] = report.warnings
    assert warning.severity is Severity.WARNING and warning.column == "pair_id"


def _large_cohort_csv(sep: str = ",", blank_row: bool = False) -> str:
    """A cohort CSV above the fast-path size, with the cells that must keep their text or their row."""
    import numpy as np

    rng = np.random.default_rng(3)
    n = 20_000
    frame = pd.DataFrame(
        {
            "Patient_ID": [f"{i:07d}" for i in range(n)],  # leading zeros must survive
            "ovcf": rng.integers(0, 2, n).astype(str),
            "age": rng.integers(50, 90, n).astype(str),
            "sex": rng.choice(["F", "M", "female"], n),
            "BMI": np.round(rng.normal(24, 3, n), 1).astype(str),
            "hu": np.round(rng.normal(110, 30, n), 1).astype(str),
            "vbq": np.round(rng.normal(3, 0.4, n), 2).astype(str),
            "pair_id": [f"p{i // 2}" for i in range(n)],
        }
    )
    frame.loc[5, "hu"] = "abc"  # text in a number: an error on its row only
    frame.loc[9, "vbq"] = ""  # an empty cell: missing, not an error
    frame.loc[11, "age"] = "130"  # out of range
    frame.loc[13, "Patient_ID"] = "NA"  # an ID that reads like a missing-value marker is still an ID
    if blank_row:
        frame.loc[15, :] = ""  # a row of delimiters only: skipped (pyarrow cannot type it: careful reader)
    if sep == ";":
        frame["bmi_text"] = frame["BMI"].str.replace(".", ",")  # decimal commas as Excel writes them
        frame["BMI"] = frame.pop("bmi_text")
    return frame.to_csv(index=False, sep=sep)


@pytest.mark.parametrize("blank_row", [False, True])
@pytest.mark.parametrize("engine", ["pyarrow", "c"])
@pytest.mark.parametrize("sep", [",", ";"])
def test_large_csv_fast_path_gives_the_same_table_and_problems_as_the_careful_reader(
    sep, engine, blank_row, monkeypatch
):
    import ovcf_core.io as ovcf_io

    if engine == "c":  # as where pyarrow is not installed
        monkeypatch.setattr(ovcf_io.pd, "read_csv", read_csv_without_pyarrow)
    text = _large_cohort_csv(sep, blank_row)
    monkeypatch.setattr(ovcf_io, "FAST_CSV_CHARS", 100_000)  # the 20,000 rows take the fast path
    fast_table, fast_report = read_cohort(text.encode(), "big.csv")
    monkeypatch.setattr(ovcf_io, "FAST_CSV_CHARS", 10**12)
    slow_table, slow_report = read_cohort(text.encode(), "big.csv")
    assert fast_report.problems == slow_report.problems
    assert {(p.row, p.column) for p in fast_report.errors} == {(7, "hu"), (13, "age")}
    assert fast_table["patient_id"].iloc[:2].tolist() == ["0000000", "0000001"]
    assert fast_table.loc[15, "patient_id"] == "NA" and (17 not in fast_table.index) is blank_row
    pd.testing.assert_frame_equal(fast_table, slow_table, check_dtype=False, check_exact=True)
    assert pd.isna(fast_table.loc[11, "vbq"])


def test_large_csv_reads_plain_number_columns_as_numbers_and_the_rest_as_text(monkeypatch):
    import ovcf_core.io as ovcf_io

    monkeypatch.setattr(ovcf_io, "FAST_CSV_CHARS", 100_000)
    text = _large_cohort_csv()
    raw = read_table(text.encode(), "big.csv", numeric=("age", "bmi", "hu", "vbq"))
    assert pd.api.types.is_float_dtype(raw["BMI"])  # case-insensitive names
    assert pd.api.types.is_string_dtype(raw["hu"]) and raw.loc[7, "hu"] == "abc"  # kept as typed
    assert pd.api.types.is_string_dtype(raw["Patient_ID"]) and raw.index[0] == 2


@pytest.mark.parametrize(
    "data",
    [b"", b"x", b"0x", b"sex\nF,1\n", b"sex\nF,0x1F\n", b"a,b\n0X1,2\n", b"x0,1\n", b"ax," * 3000,
     b"ax," * 3000 + b"0x", b"0X" + b"ax," * 3000, b"aX," * 3000 + b"10X"],
)  # fmt: skip
def test_the_hex_prefix_scan_agrees_with_a_plain_search(data):
    """The fast path's '0x' check (pyarrow would read '0x1F' as 31) finds exactly what `in` finds."""
    from ovcf_core.io import _has_hex_prefix

    assert _has_hex_prefix(data) == (b"0x" in data or b"0X" in data)


def _awkward_cohort(n: int = 400) -> pd.DataFrame:
    """Ids missing, repeated and padded; pairs complete, single, triple, two cases, blank, or broken by an
    unusable partner row."""
    import numpy as np

    rng = np.random.default_rng(11)
    ids = [f"P{i}" for i in range(n)]
    ids[5], ids[9], ids[17], ids[30] = "", "P3", " P4 ", None
    pairs = [f"g{i // 2}" for i in range(n)]
    pairs[40], pairs[41], pairs[42] = "t", "t", "t"
    pairs[50], pairs[51] = " ", ""
    pairs[60] = "solo"
    ovcf = [str(i % 2) for i in range(n)]
    ovcf[70] = "1"  # pair g35: two cases
    bmi = [f"{v:.1f}" for v in rng.normal(24, 3, n)]
    bmi[81] = "7"  # pair g40 loses a member to an implausible BMI
    ovcf[90] = "maybe"  # pair g45 loses a member to a bad outcome
    return pd.DataFrame({"patient_id": ids, "ovcf": ovcf, "bmi": bmi, "pair_id": pairs}, dtype="string")


def test_large_table_checks_on_their_own_thread_give_the_same_table_and_report(monkeypatch):
    from ovcf_core import schema

    raw = _awkward_cohort()
    raw.index = range(2, len(raw) + 2)
    monkeypatch.setattr(schema, "PARALLEL_CHECK_ROWS", 10**9)
    at_once = validate_cohort(raw.copy())
    monkeypatch.setattr(schema, "PARALLEL_CHECK_ROWS", 1)
    beside = validate_cohort(raw.copy())
    pd.testing.assert_frame_equal(at_once[0], beside[0])
    assert at_once[1] == beside[1]
    messages = [(p.row, p.column, p.message) for p in beside[1].problems]
    assert (7, "patient_id", "missing patient_id") in messages
    assert (11, "patient_id", "duplicated patient_id 'P3'") in messages
    assert (19, "patient_id", "duplicated patient_id 'P4'") in messages
    assert beside[0].columns[0] == "patient_id"


def test_pair_warnings_match_a_row_by_row_count_of_the_usable_rows():
    raw = _awkward_cohort()
    raw.index = range(2, len(raw) + 2)
    table, report = validate_cohort(raw)
    expected = {}
    usable = [
        (row, str(p).strip(), float(o))
        for row, p, o in zip(table.index, raw.loc[table.index, "pair_id"], table["ovcf"], strict=True)
        if pd.notna(p)
    ]
    for row, label, outcome in usable:
        if not label:
            continue
        first, size, cases = expected.get(label, (row, 0, 0))
        expected[label] = (first, size + 1, cases + int(outcome == 1))
    wanted = sorted(
        (first, f"pair '{label}' has {size} member(s) ({cases} case(s)); it is left out of paired tests")
        for label, (first, size, cases) in expected.items()
        if size != 2 or cases != 1
    )
    got = sorted((p.row, p.message) for p in report.warnings if p.column == "pair_id")
    assert got == wanted
    assert {m.split("'")[1] for _, m in got} >= {"t", "solo", "g35", "g40", "g45"}
