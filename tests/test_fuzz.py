"""Hypothesis fuzzing of what reads users' files: only OvcfError (a clear message) may ever escape."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from conftest import read_csv_without_pyarrow
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ovcf_core.errors import OvcfError
from ovcf_core.io import read_table
from ovcf_core.schema import validate_cohort

FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

KNOWN_COLUMNS = [
    "patient_id",
    "ovcf",
    "group",
    "age",
    "sex",
    "bmi",
    "pair_id",
    "t_score",
    "hu",
    "vbq",
    "rcsa",
    "fi",
]
TRICKY_CELLS = [
    "",
    " ",
    "1",
    "0",
    "-1",
    "3.5",
    "3,5",
    "-2,5",
    "1e400",
    "-1e400",
    "inf",
    "-inf",
    "nan",
    "NaN",
    "NA",
    "-",
    "abc",
    "74 years",
    "95 HU",
    "F",
    "M",
    "female",
    "x",
    "ovcf",
    "control",
    "case",
    "yes",
    "2",
    "=1+1",
    "@SUM(A1)",
    "+1",
    '"',
    "'",
    "\u00e9",
    "\u4e2d",
    "\ufeff",
    "\x00",
    "\t",
    "0x1F",
    "1_000",
    "١٢٣",
]
names = st.one_of(st.sampled_from(KNOWN_COLUMNS), st.text(min_size=0, max_size=8))
cells = st.one_of(st.sampled_from(TRICKY_CELLS), st.text(max_size=10), st.floats().map(str))


@st.composite
def tables(draw) -> tuple[list[str], list[list[str]]]:
    """A header and rows of tricky cells, some rows shorter or longer than the header."""
    header = draw(st.lists(names, min_size=1, max_size=8))
    width = len(header)
    rows = draw(st.lists(st.lists(cells, min_size=max(0, width - 1), max_size=width + 1), max_size=8))
    return header, rows


def _csv_bytes(header: list[str], rows: list[list[str]], delimiter: str, encoding: str, bom: bool) -> bytes:
    import csv

    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter)
    writer.writerow(header)
    writer.writerows(rows)
    text = ("\ufeff" if bom else "") + buffer.getvalue()
    return text.encode(encoding, errors="replace")


def _read_and_validate(data: bytes, name: str, **kwargs) -> None:
    """Read and validate; a successful read returns a string table indexed by spreadsheet row."""
    try:
        table = read_table(data, name)
    except OvcfError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert isinstance(table, pd.DataFrame)
    assert all(int(r) >= 2 for r in table.index), "data rows start at spreadsheet row 2"
    try:
        clean, report = validate_cohort(table, **kwargs)
    except OvcfError as exc:
        assert str(exc)
        return
    assert len(clean) + len(report.blocked_rows) == report.n_rows
    assert set(clean.index).isdisjoint(report.blocked_rows)


@FUZZ
@given(st.binary(max_size=3000), st.sampled_from(["upload", "x.csv", "x.xlsx", "x.txt"]))
def test_arbitrary_bytes_never_raise_anything_but_a_clear_input_error(data, name):
    _read_and_validate(data, name)


@FUZZ
@given(
    tables(),
    st.sampled_from([",", ";", "\t", "|"]),
    st.sampled_from(["utf-8", "utf-16", "cp1252", "latin-1"]),
    st.booleans(),
    st.dictionaries(
        st.sampled_from(["require_outcome", "markers", "outcome", "positive"]),
        st.one_of(st.booleans(), st.lists(names, max_size=3), names),
        max_size=2,
    ).filter(
        lambda kw: all(
            (k == "require_outcome" and isinstance(v, bool))
            or (k == "markers" and isinstance(v, list))
            or (k in ("outcome", "positive") and isinstance(v, str))
            for k, v in kw.items()
        )
    ),
)
def test_spreadsheet_like_csv_tables_give_a_report_or_a_clear_input_error(
    table, delimiter, encoding, bom, kw
):
    header, rows = table
    _read_and_validate(_csv_bytes(header, rows, delimiter, encoding, bom), "fuzz.csv", **kw)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(tables(), st.integers(0, 3))
def test_xlsx_workbooks_with_odd_cells_and_title_rows_give_a_report_or_a_clear_input_error(table, title_rows):
    import openpyxl

    header, rows = table
    book = openpyxl.Workbook()
    sheet = book.active
    for i in range(title_rows):
        sheet.append([f"title {i}"])
    for row in [header, *rows]:
        sheet.append([_xlsx_cell(c) for c in row])
    buffer = io.BytesIO()
    book.save(buffer)
    _read_and_validate(buffer.getvalue(), "fuzz.xlsx")


def _xlsx_cell(text: str) -> object:
    """A cell as Excel would store it: numbers as numbers, control characters dropped, the rest as text."""
    try:
        return float(text) if text.strip() else None
    except ValueError:
        return "".join(ch for ch in text if ch >= " ") or None


@FUZZ
@given(st.data())
def test_validate_cohort_on_frames_with_any_values_only_raises_input_errors(data):
    header = data.draw(st.lists(st.sampled_from(KNOWN_COLUMNS), min_size=1, max_size=6, unique=True))
    n = data.draw(st.integers(1, 6))
    columns = {
        h: data.draw(
            st.one_of(
                st.lists(cells, min_size=n, max_size=n),
                st.lists(st.floats(allow_nan=True, allow_infinity=True), min_size=n, max_size=n),
                st.lists(st.integers(-(10**20), 10**20), min_size=n, max_size=n),
            )
        )
        for h in header
    }
    frame = pd.DataFrame(columns, index=pd.RangeIndex(2, n + 2, name="row"))
    try:
        clean, report = validate_cohort(frame)
    except OvcfError:
        return
    assert len(clean) + len(report.blocked_rows) == len(frame)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(10**6), 10**6) | st.floats() | st.text(max_size=8),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def roi_entries(draw) -> dict:
    """ROI entries with the right keys and values that are often wrong (types, signs, sizes, NaN)."""
    entry = {
        "label": draw(st.one_of(st.sampled_from(["L1", "L2", "MF_L_L3L4", ""]), json_values)),
        "slice": draw(st.one_of(st.integers(-2, 5), st.floats(), json_values)),
        "shape": draw(st.one_of(st.sampled_from(["ellipse", "polygon", "rectangle", "circle"]), json_values)),
        "center": draw(st.one_of(st.lists(st.floats(), min_size=2, max_size=2), json_values)),
        "radii": draw(st.one_of(st.lists(st.floats(-5, 50), min_size=2, max_size=2), json_values)),
        "points": draw(st.one_of(st.lists(st.lists(st.floats(-5, 50), min_size=2, max_size=2)), json_values)),
        "corners": draw(
            st.one_of(st.lists(st.lists(st.integers(-5, 50), min_size=2, max_size=2)), json_values)
        ),
    }
    drop = draw(st.sets(st.sampled_from(sorted(entry)), max_size=3))
    return {k: v for k, v in entry.items() if k not in drop}


@FUZZ
@given(st.one_of(st.binary(max_size=500), st.text(max_size=300)))
def test_roi_file_bytes_never_raise_anything_but_a_clear_input_error(data):
    from ovcf_core.imaging import loads_rois

    try:
        rois = loads_rois(data, "fuzz.json")
    except OvcfError as exc:
        assert "\n" not in str(exc)
        return
    assert rois and len({r.label for r in rois}) == len(rois)


@FUZZ
@given(st.one_of(st.lists(roi_entries(), max_size=4).map(lambda e: {"rois": e}), json_values))
def test_roi_documents_parse_or_raise_a_clear_input_error_and_measure_only_inside_the_image(document):
    import json

    import numpy as np

    from ovcf_core.imaging import loads_rois
    from ovcf_core.imaging.roi import check_within_image, measure_roi

    try:
        rois = loads_rois(json.dumps(document), "fuzz.json")
        for roi in rois:
            check_within_image(roi, 32, 32, 4)
            result = measure_roi(np.arange(32 * 32, dtype=float).reshape(32, 32), roi, (0.5, 0.5))
            assert result.n_pixels >= 1 and np.isfinite(result.mean)
    except OvcfError as exc:
        assert str(exc) and "\n" not in str(exc)


COHORT_COLUMNS = ["patient_id", "ovcf", "sex", "age", "bmi", "pair_id", "hu", "vbq"]


@st.composite
def cohort_csvs(draw) -> tuple[bytes, str]:
    """A cohort-like CSV (known, unique column names) of tricky cells, in any of the usual delimiters."""
    header = draw(st.lists(st.sampled_from(COHORT_COLUMNS), min_size=1, max_size=8, unique=True))
    cell = st.one_of(st.sampled_from(TRICKY_CELLS), st.floats(allow_nan=False).map(str), st.text(max_size=6))
    width = len(header)
    rows = draw(st.lists(st.lists(cell, min_size=width, max_size=width), min_size=1, max_size=8))
    delimiter = draw(st.sampled_from([",", ";", "\t"]))
    return _csv_bytes(header, rows, delimiter, "utf-8", draw(st.booleans())), delimiter


@pytest.mark.parametrize("pyarrow", [True, False], ids=["pyarrow", "c-parser"])
@FUZZ
@given(document=cohort_csvs())
def test_the_large_file_reader_gives_the_same_table_and_problems_as_the_careful_reader(pyarrow, document):
    """pandas' pyarrow reader, or its C reader where pyarrow is missing (used above FAST_CSV_CHARS), agrees
    with the csv-module reader cell by cell and problem by problem, or declines the file; forced here onto
    small files. (It found: a file of blank rows; '0x1F' read as 31 by pyarrow.)"""
    from unittest import mock

    import ovcf_core.io as ovcf_io

    data, _ = document
    read_csv = pd.read_csv if pyarrow else read_csv_without_pyarrow

    def read(threshold: int):
        with (
            mock.patch.object(ovcf_io, "FAST_CSV_CHARS", threshold),
            mock.patch.object(ovcf_io.pd, "read_csv", read_csv),
        ):
            try:
                return ovcf_io.read_cohort(data, "fuzz.csv")
            except OvcfError as exc:
                return str(exc)

    fast, careful = read(0), read(10**12)
    if isinstance(careful, str) or isinstance(fast, str):
        assert fast == careful
        return
    assert fast[1].problems == careful[1].problems
    pd.testing.assert_frame_equal(fast[0], careful[0], check_dtype=False, check_exact=True)
