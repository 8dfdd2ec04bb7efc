"""`ovcf indicators`: the sample raw table reproduces the sample cohort; bad files give one-line messages."""

from __future__ import annotations

import pandas as pd
import pytest

from ovcf_core import paths
from tests.conftest import run_cli

HEADER = "patient_id,rater,ovcf,age,sex,bmi,fractured,hu_L1,hu_L2,hu_L3,hu_L4\n"


def _indicators_on(tmp_path, rows: str, name: str = "raw.csv"):
    """Run `ovcf indicators` on a raw table of HEADER and `rows`; (the run, the cohort file it writes)."""
    raw = tmp_path / name
    raw.write_text(HEADER + rows)
    out = tmp_path / "c.csv"
    return run_cli("indicators", raw, "-o", out), out


def test_indicators_on_the_sample_raw_table_reproduces_the_sample_cohort(tmp_path):
    out = tmp_path / "cohort.csv"
    result = run_cli("indicators", paths.SAMPLE_RAW, "-o", out)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    assert out.read_bytes() == paths.SAMPLE_COHORT.read_bytes()


def test_indicators_writes_xlsx_with_the_same_values(tmp_path):
    out = tmp_path / "cohort.xlsx"
    result = run_cli("indicators", paths.SAMPLE_RAW, "-o", out)
    assert result.returncode == 0, result.stderr
    written = pd.read_excel(out)
    expected = pd.read_csv(paths.SAMPLE_COHORT)
    pd.testing.assert_series_equal(written["vbq"], expected["vbq"])
    assert list(written["patient_id"]) == list(expected["patient_id"])


def test_two_raters_are_averaged_and_the_fracture_excluded(tmp_path):
    result, out = _indicators_on(
        tmp_path, "A,1,1,70,F,22,L1,300,100,110,120\nA,2,1,70,F,22,L1,310,104,114,130\n"
    )
    assert result.returncode == 0, result.stderr
    # rater means L2 102, L3 112, L4 125 -> (102 + 112 + 125) / 3 = 113
    assert pd.read_csv(out)["hu"].tolist() == [113.0]


@pytest.mark.parametrize(
    ("content", "expect"),
    [
        (b"", "empty"),
        (b"\x00\x01\x02\x03binary\x00" * 20, "binary"),
        (b"rater,hu_L1\n1,100\n", "patient_id"),
        (b"patient_id,ovcf,age\nA,1,70\n", "no measurement columns"),
        (HEADER.encode() + b"A,1,1,seventy,F,22,,100,110,120,130\n", "'seventy' is not a number"),
    ],
    ids=["empty", "binary", "no patient_id", "no measurements", "text in age"],
)
def test_unusable_raw_file_exits_2_with_a_one_line_message(tmp_path, content, expect):
    raw = tmp_path / "bad.csv"
    raw.write_bytes(content)
    result = run_cli("indicators", raw, "-o", tmp_path / "out.csv")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert expect in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("ovcf indicators: error: bad.csv")
    assert not (tmp_path / "out.csv").exists()


def test_text_in_age_names_the_file_row_and_column(tmp_path):
    result, _ = _indicators_on(tmp_path, "A,1,1,seventy,F,22,,100,110,120,130\n", name="bad.csv")
    assert "bad.csv: error: row 2, column 'age': 'seventy' is not a number" in result.stderr


def test_bad_rows_are_skipped_and_the_rest_written(tmp_path):
    result, out = _indicators_on(tmp_path, "A,1,1,70,F,22,,100,110,120,130\nB,1,0,71,X,22,,100,110,120,130\n")
    assert result.returncode == 0
    assert "raw.csv: error: row 3, column 'sex': 'X' is not a sex" in result.stderr
    assert pd.read_csv(out)["patient_id"].tolist() == ["A"]


def test_unknown_fractured_level_and_text_in_a_measurement_are_named_and_the_rest_kept(tmp_path):
    result, out = _indicators_on(
        tmp_path, "A,1,1,70,F,22,L7,100,110,120,130\nB,1,0,71,F,22,,100,abc,120,140\n"
    )
    assert result.returncode == 0, result.stderr
    assert "raw.csv: warning: row 2, column 'fractured': unknown fractured level 'L7'" in result.stderr
    assert "raw.csv: warning: row 3, column 'hu_L2': 'abc' is not a number" in result.stderr
    cohort = pd.read_csv(out)
    assert cohort["hu"].isna().tolist() == [True, False]
    assert cohort["hu"].iloc[1] == pytest.approx((100 + 120 + 140) / 3)
