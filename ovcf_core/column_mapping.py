"""Which column of an uploaded table holds which cohort column, and which outcome value means OVCF.

The Data page shows the guess as an editable form; `apply_mapping` renames the upload's columns to the
cohort's names before `schema.validate_cohort` checks them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

import pandas as pd

from ovcf_core.schema import (
    AGE,
    BMI,
    CASE_VALUES,
    CONTROL_VALUES,
    INDICATOR_COLUMNS,
    OUTCOME,
    OUTCOME_MISSING,
    PAIR_ID,
    PATIENT_ID,
    SEX,
)

# The cohort columns a user may need to map, in the order the mapping form shows them.
TARGETS: tuple[str, ...] = (PATIENT_ID, OUTCOME, AGE, SEX, BMI, PAIR_ID, *INDICATOR_COLUMNS)
TARGET_LABELS: dict[str, str] = {
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
# Other names a column may go by; a target without aliases is found only by its own name.
ALIASES: dict[str, tuple[str, ...]] = {
    OUTCOME: ("ovcf", "group", "fracture", "outcome", "case", "status"),
    PATIENT_ID: ("patient_id", "patient", "id", "subject", "pid"),
    PAIR_ID: ("pair_id", "pair", "match", "matched_pair"),
    "t_score": ("t_score", "tscore", "t"),
    "rcsa": ("rcsa", "total_rcsa"),
    "fi": ("fi", "fat", "fat_infiltration"),
    SEX: ("sex", "gender"),
}


def _tokens(column: str) -> list[str]:
    """Split a column name into lower-case words ('T-score (L1)' -> ['t', 'score', 'l1'])."""
    return [t for t in re.split(r"[^a-z0-9]+", column.lower()) if t]


def guess_mapping(columns: Iterable[str]) -> dict[str, str | None]:
    """Guess, for each cohort column, the upload's column that holds it.

    The same name is taken first, so a column is never claimed by an alias of another target; then a close
    name (e.g. 'hu_mean' -> hu, 'T-score' -> t_score, 'group' -> ovcf). Each upload column is used for at
    most one target.

    Parameters
    ----------
    columns
        The upload's column names.

    Returns
    -------
    dict
        Every name of TARGETS mapped to an upload column, or None when no column fits.
    """
    columns = list(columns)
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


def apply_mapping(table: pd.DataFrame, mapping: Mapping[str, str | None]) -> pd.DataFrame:
    """Rename the mapped columns to the cohort's names, dropping the columns they displace.

    Parameters
    ----------
    table
        The upload.
    mapping
        Cohort column to upload column (None: not mapped), as from `guess_mapping` or the user's form.

    Returns
    -------
    pandas.DataFrame
        A new table; unmapped columns are kept as they were.
    """
    rename = {source: target for target, source in mapping.items() if source and source != target}
    displaced = [t for t in rename.values() if t in table.columns and t not in rename]
    return table.drop(columns=displaced).rename(columns=rename)


def outcome_needs_positive(values: pd.Series) -> list[str]:
    """Find the two outcome values the user must label, when they are not 1/0 or ovcf/control.

    Parameters
    ----------
    values
        The outcome column as uploaded.

    Returns
    -------
    list of str
        The two values in sorted order (e.g. ['fx', 'none']) when there are exactly two and they are not
        standard, so the user says which one means OVCF; empty otherwise (standard values, or typos among
        standard values, which validation reports row by row).
    """
    text = values.astype("string").str.strip()
    distinct = sorted({v for v in text.dropna().unique() if v.lower() not in OUTCOME_MISSING})
    standard = CASE_VALUES | CONTROL_VALUES
    if len(distinct) != 2 or all(v.lower() in standard for v in distinct):
        return []
    return distinct
