"""Reading an uploaded cohort: cached parsing keyed on the file's bytes, column mapping, validation.

Everything here is cached on the upload's content, so changing an unrelated widget never re-reads or
re-validates a file, and a broken upload raises `OvcfError` without touching the current cohort.
"""

from __future__ import annotations

import re

import pandas as pd
import streamlit as st

from ovcf_core import io
from ovcf_core.errors import InputError
from ovcf_core.schema import (
    AGE,
    BMI,
    CASE_VALUES,
    CONTROL_VALUES,
    GROUP,
    INDICATOR_COLUMNS,
    OUTCOME,
    OUTCOME_MISSING,
    PAIR_ID,
    PATIENT_ID,
    SEX,
    ValidationReport,
    normalize_columns,
    validate_cohort,
)

# The cohort columns a user may need to map, in the order the mapping form shows them.
TARGETS: tuple[str, ...] = (PATIENT_ID, OUTCOME, AGE, SEX, BMI, PAIR_ID, *INDICATOR_COLUMNS)
TARGET_LABELS = {
    PATIENT_ID: "patient ID",
    OUTCOME: "outcome (1 = OVCF, 0 = control)",
    AGE: "age (years)",
    SEX: "sex (F/M)",
    BMI: "BMI (kg/m²)",
    PAIR_ID: "matched-pair ID",
    "t_score": "average T-score",
    "hu": "average HU",
    "vbq": "VBQ score",
    "rcsa": "average total rCSA",
    "fi": "average FI (%)",
}
ALIASES = {
    OUTCOME: ("ovcf", "group", "fracture", "outcome", "case", "status"),
    PATIENT_ID: ("patient_id", "patient", "id", "subject", "pid"),
    PAIR_ID: ("pair_id", "pair", "match", "matched_pair"),
    "t_score": ("t_score", "tscore", "t"),
    "rcsa": ("rcsa", "total_rcsa"),
    "fi": ("fi", "fat", "fat_infiltration"),
    SEX: ("sex", "gender"),
}
EXPECTED_HEADER = (PATIENT_ID, OUTCOME, GROUP, *INDICATOR_COLUMNS, "rater", "hu_l1", "si_l1")


@st.cache_data(show_spinner=False, max_entries=8)
def read_upload(data: bytes, name: str) -> pd.DataFrame:
    """The uploaded file as a table of strings with lower-cased column names (cached on its bytes)."""
    return normalize_columns(io.read_table(data, name, expect=EXPECTED_HEADER))


def _tokens(column: str) -> list[str]:
    return [t for t in re.split(r"[^a-z0-9]+", column.lower()) if t]


def guess_mapping(columns: list[str]) -> dict[str, str | None]:
    """For each cohort column, the upload's column that holds it: the same name, else a close one
    (e.g. 'hu_mean' -> hu, 'T-score' -> t_score, 'group' -> ovcf), else None."""
    mapping: dict[str, str | None] = {}
    taken: set[str] = set()
    for target in TARGETS:
        if target in columns:
            mapping[target] = target
            taken.add(target)
    for target in TARGETS:
        if target in mapping:
            continue
        names = ALIASES.get(target, (target,))
        found = None
        for column in columns:
            if column in taken:
                continue
            squashed = "".join(_tokens(column))
            if squashed in {n.replace("_", "") for n in names} or (
                len(target) > 1 and _tokens(column) and _tokens(column)[0] in names
            ):
                found = column
                break
        mapping[target] = found
        if found:
            taken.add(found)
    return mapping


def apply_mapping(table: pd.DataFrame, mapping: dict[str, str | None]) -> pd.DataFrame:
    """The table with the mapped columns renamed to the cohort's names (columns they displace dropped)."""
    rename = {source: target for target, source in mapping.items() if source and source != target}
    displaced = [t for t in rename.values() if t in table.columns and t not in rename]
    return table.drop(columns=displaced).rename(columns=rename)


def outcome_needs_positive(values: pd.Series) -> list[str]:
    """The two outcome values when they are not 1/0 or ovcf/control (e.g. 'fx'/'none'), so the user says
    which one means OVCF; empty when the values are standard or are mostly standard with typos (those are
    reported by validation, row by row)."""
    text = values.astype("string").str.strip()
    distinct = sorted({v for v in text.dropna().unique() if v.lower() not in OUTCOME_MISSING})
    standard = CASE_VALUES | CONTROL_VALUES
    if len(distinct) != 2 or all(v.lower() in standard for v in distinct):
        return []
    return distinct


@st.cache_data(show_spinner=False, max_entries=8)
def validate_upload(
    data: bytes,
    name: str,
    mapping: tuple[tuple[str, str | None], ...],
    positive: str | None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """The upload mapped and validated: (clean usable rows, report of every problem), cached on content."""
    table = apply_mapping(read_upload(data, name), dict(mapping))
    try:
        return validate_cohort(table, positive=positive)
    except InputError as exc:  # the page names the file before the message
        raise InputError(exc.message, row=exc.row, column=exc.column) from None


RAW_COLUMNS = ("hu_l1", "t_l1", "si_l1", "si_csf_l3", "disc_l1l2", "quantity")


def is_raw(table: pd.DataFrame) -> bool:
    """Whether an upload holds raw per-vertebra/per-level measurements (wide or long raw template)."""
    return any(c in table.columns for c in RAW_COLUMNS)


@st.cache_data(show_spinner="Computing the indicators…", max_entries=8)
def cohort_from_raw_upload(data: bytes, name: str) -> tuple[pd.DataFrame, ValidationReport]:
    """The cohort computed from a raw measurement upload (raters averaged), validated; cached on content.

    The report lists the raw table's problems (by row and column of the upload) and then the cohort's.
    """
    from ovcf_core.raw import cohort_from_raw

    cohort, raw_problems = cohort_from_raw(read_upload(data, name), name)
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
