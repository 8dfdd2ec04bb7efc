"""An uploaded cohort file made usable: read, recognised as raw measurements or a cohort, and validated.

Raw measurements are first turned into the five indicators; a cohort with one more patient is validated
again.

The Data page calls these through `st.cache_data` (keyed on the upload's bytes); nothing here knows about
Streamlit. Column mapping (which upload column is which cohort column) is `ovcf_core.column_mapping`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import pandas as pd

from ovcf_core import io
from ovcf_core.schema import (
    GROUP,
    INDICATOR_COLUMNS,
    OUTCOME,
    PATIENT_ID,
    ValidationReport,
    normalize_columns,
    validate_cohort,
)

# Header names that mark the header row of an upload (rows above it, e.g. a title, are skipped).
EXPECTED_HEADER: tuple[str, ...] = (PATIENT_ID, OUTCOME, GROUP, *INDICATOR_COLUMNS, "rater", "hu_l1", "si_l1")
# A column of the raw templates (wide: per vertebra and level; long: one measurement a row).
RAW_COLUMNS: tuple[str, ...] = ("hu_l1", "t_l1", "si_l1", "si_csf_l3", "disc_l1l2", "quantity")


def read_upload_table(data: bytes, name: str) -> pd.DataFrame:
    """Read an uploaded CSV/XLSX as a table of strings with normalised column names.

    Parameters
    ----------
    data
        The upload's bytes.
    name
        The upload's file name (for messages and to tell CSV from XLSX).

    Returns
    -------
    pandas.DataFrame
        Text cells indexed by spreadsheet row, lower-case column names (see `io.read_table`).

    Raises
    ------
    InputError
        Naming the file, when it is empty, binary, not a table, or has no header row.
    """
    return normalize_columns(io.read_table(data, name, expect=EXPECTED_HEADER))


def is_raw_table(columns: Iterable[str] | pd.DataFrame) -> bool:
    """Tell whether a table holds raw per-vertebra/per-level measurements rather than indicators.

    Parameters
    ----------
    columns
        A table or its (normalised) column names.

    Returns
    -------
    bool
        True for the wide or the long raw template (DESIGN §4), False for one row of indicators per
        patient.
    """
    names = columns.columns if isinstance(columns, pd.DataFrame) else columns
    return any(c in RAW_COLUMNS for c in names)


def cohort_from_raw_table(raw: pd.DataFrame, name: str) -> tuple[pd.DataFrame, ValidationReport]:
    """Compute and validate the cohort of a raw measurement table (raters averaged), with one report.

    Parameters
    ----------
    raw
        The raw table as read (wide or long template).
    name
        The upload's file name, for messages.

    Returns
    -------
    tuple
        The validated cohort and a `ValidationReport` listing the raw table's problems (by row and
        column of the upload), then the cohort's (rows numbered 2, 3, … as in a spreadsheet of the
        computed cohort).

    Raises
    ------
    InputError
        When the raw table cannot be used at all (see `raw.cohort_from_raw`).
    """
    from ovcf_core.raw import cohort_from_raw

    cohort, raw_problems = cohort_from_raw(raw, name)
    if cohort.empty:
        clean, report = cohort, ValidationReport(n_rows=0)
    else:
        cohort.index = pd.RangeIndex(2, len(cohort) + 2, name="row")
        clean, report = validate_cohort(cohort)
    merged = ValidationReport(
        problems=(*raw_problems, *report.problems),
        n_rows=max(report.n_rows, len(cohort)),
        blocked_rows=report.blocked_rows,
    )
    return clean, merged


def add_patient(cohort: pd.DataFrame, patient: Mapping[str, object]) -> tuple[pd.DataFrame, ValidationReport]:
    """Add one patient (e.g. measured on the Scans page) to a cohort and validate it again like an upload.

    Parameters
    ----------
    cohort
        The current cohort; may be empty (the patient starts a new cohort).
    patient
        Column name to value of the new patient.

    Returns
    -------
    tuple
        The validated cohort, renumbered from 0, and its `ValidationReport`; a bad value in the new row
        blocks only that row.

    Raises
    ------
    InputError
        When the result cannot be a cohort at all (a missing required column).
    """
    merged = pd.concat([cohort.reset_index(drop=True), pd.DataFrame([dict(patient)])], ignore_index=True)
    return validate_cohort(merged)
