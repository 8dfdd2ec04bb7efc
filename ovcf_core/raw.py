"""Raw measurement tables (DESIGN §4): wide template, long (tidy) form, checks, and the cohort from them.

**Wide** (one row per patient and rater): `patient_id`, optional `rater`, the cohort columns (`ovcf` or
`group`, `age`, `sex`, `bmi`, `pair_id`), `fractured` (e.g. `L1;L3`), `t_L1..t_L4`, `hu_L1..hu_L4`,
`si_L1..si_L4`, `si_csf_L3` (fallbacks `si_csf_L2`, `si_csf_L4`), `csa_<pm|mf|es>_<l|r>_<L1L2..L4L5>`,
`fi_<pm|mf|es>_<l|r>_<level>` and `disc_<level>`. Any subset of the measurement columns may be present;
an indicator is computed when at least one of its columns is.

**Long** (one row per measurement): the same patient columns plus `quantity` (t, hu, si, si_csf, csa, fi,
disc), `level` (L1..L4 or L1L2..L4L5), `muscle` (pm/mf/es, for csa and fi), `side` (l/r, for csa and fi)
and `value`. A table with `quantity` and `value` columns is read as long.

How problems are handled (each names its spreadsheet row and column):

* a missing `patient_id`, or an unusable cohort cell (outcome, sex, age, BMI) is an **error**: that row is
  skipped; cohort values that disagree between a patient's rows skip the whole patient;
* a measurement cell that is not a number or is outside its plausible range is a **warning**: that one
  measurement is left out and the indicator is formed from the others;
* an unknown `fractured` level (e.g. `L7`) is a **warning**: the patient's T-score, HU and VBQ are left
  missing (a fractured vertebra might otherwise be averaged in); the muscle indicators are kept;
* an indicator with nothing usable is missing, with a warning giving the reason;
* an indicator formed from plausible measurements but itself outside its plausible range (`Indicator`;
  e.g. a VBQ of 300000 from a CSF SI of 0.001) is a **warning** naming the columns it came from, and is
  left missing rather than written into the cohort table;
* an XLSX formula cell without a computed value is reported by its cell (an error in a patient column,
  a warning in a measurement column); a needed column made only of them refuses the file.

Raters: every row is one rater's reading (`rater` names it; without it each row counts as its own rater).
Each measurement is averaged first within a rater (repeated rows) and then over raters, using the raters
who measured it; the indicators are then formed from these averages. `fractured` is the union over rows.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass
from statistics import median
from typing import TYPE_CHECKING, Any, cast

import numpy as np
import pandas as pd

from ovcf_core import indicators as ind
from ovcf_core.errors import InputError
from ovcf_core.schema import (
    AGE,
    BMI,
    COVARIATE_COLUMNS,
    GROUP,
    OUTCOME,
    PAIR_ID,
    PATIENT_ID,
    SEX,
    Indicator,
    Problem,
    Severity,
    normalize_columns,
    parse_outcome,
    parse_sex,
    row_number,
    to_number,
)
from ovcf_core.table_notes import table_notes, take_uncached_formulas

if TYPE_CHECKING:
    from ovcf_core.io import Source

RATER = "rater"
FRACTURED = "fractured"
QUANTITY, LEVEL, MUSCLE, SIDE, VALUE = "quantity", "level", "muscle", "side", "value"
PATIENT_COLUMNS: tuple[str, ...] = (PATIENT_ID, RATER, OUTCOME, AGE, SEX, BMI, PAIR_ID, FRACTURED)
LONG_COLUMNS: tuple[str, ...] = (QUANTITY, LEVEL, MUSCLE, SIDE, VALUE)


@dataclass(frozen=True)
class Quantity:
    """One kind of raw measurement: its name in the long form, unit and plausible range."""

    name: str
    label: str
    unit: str
    low: float
    high: float


QUANTITIES: dict[str, Quantity] = {
    q.name: q
    for q in (
        # a single vertebra's T-score, HU and a muscle's FI share their average's plausible range
        Quantity("t", "DXA T-score", "SD", Indicator.T_SCORE.low, Indicator.T_SCORE.high),
        Quantity("hu", "CT attenuation", "HU", Indicator.HU.low, Indicator.HU.high),
        Quantity("si", "T1 vertebral signal intensity", "SI", 0.0, 100000.0),
        Quantity("si_csf", "T1 CSF signal intensity", "SI", 0.0, 100000.0),
        Quantity("csa", "muscle cross-sectional area", "mm²", 0.0, 10000.0),
        Quantity("fi", "muscle fat infiltration", "%", Indicator.FI.low, Indicator.FI.high),
        Quantity("disc", "disc cross-sectional area", "mm²", 100.0, 6000.0),
    )
}


def _column(quantity: str, level: str, muscle: str | None = None, side: str | None = None) -> str:
    """Name one measurement's wide column, e.g. ('csa', 'L3L4', 'pm', 'l') -> 'csa_pm_l_L3L4'."""
    if quantity in ("csa", "fi"):
        return f"{quantity}_{muscle}_{side}_{level}"
    return f"{quantity}_{level}"


T_COLUMNS = {level: _column("t", level) for level in ind.LEVELS}
HU_COLUMNS = {level: _column("hu", level) for level in ind.LEVELS}
SI_COLUMNS = {level: _column("si", level) for level in ind.LEVELS}
CSF_COLUMNS = {level: _column("si_csf", level) for level in ind.CSF_LEVELS}
CSA_COLUMNS = {
    (m, s, d): _column("csa", d, m, s) for m in ind.MUSCLES for s in ind.SIDES for d in ind.DISC_LEVELS
}
FI_COLUMNS = {
    (m, s, d): _column("fi", d, m, s) for m in ind.MUSCLES for s in ind.SIDES for d in ind.DISC_LEVELS
}
DISC_COLUMNS = {level: _column("disc", level) for level in ind.DISC_LEVELS}

# wide column name -> (quantity, level, muscle, side), in the template's order
MEASUREMENTS: dict[str, tuple[str, str, str | None, str | None]] = {
    **{c: ("t", lv, None, None) for lv, c in T_COLUMNS.items()},
    **{c: ("hu", lv, None, None) for lv, c in HU_COLUMNS.items()},
    **{c: ("si", lv, None, None) for lv, c in SI_COLUMNS.items()},
    **{c: ("si_csf", lv, None, None) for lv, c in CSF_COLUMNS.items()},
    **{c: ("csa", d, m, s) for (m, s, d), c in CSA_COLUMNS.items()},
    **{c: ("fi", d, m, s) for (m, s, d), c in FI_COLUMNS.items()},
    **{c: ("disc", lv, None, None) for lv, c in DISC_COLUMNS.items()},
}
MEASUREMENT_COLUMNS: tuple[str, ...] = tuple(MEASUREMENTS)
_BY_LOWER = {c.lower(): c for c in MEASUREMENT_COLUMNS}
_MEASUREMENT_PREFIXES = tuple(f"{q}_" for q in QUANTITIES)

# which raw columns feed which indicator (an indicator is computed when any of its columns is present)
INDICATOR_INPUTS: dict[Indicator, frozenset[str]] = {
    Indicator.T_SCORE: frozenset(T_COLUMNS.values()),
    Indicator.HU: frozenset(HU_COLUMNS.values()),
    Indicator.VBQ: frozenset([*SI_COLUMNS.values(), *CSF_COLUMNS.values()]),
    Indicator.RCSA: frozenset([*CSA_COLUMNS.values(), *DISC_COLUMNS.values()]),
    Indicator.FI: frozenset(FI_COLUMNS.values()),
}
VERTEBRAL = (Indicator.T_SCORE, Indicator.HU, Indicator.VBQ)

# decimals of the indicator columns in a cohort table made from raw measurements (far below their precision)
DECIMALS: dict[str, int] = {"t_score": 3, "hu": 2, "vbq": 4, "rcsa": 4, "fi": 3}


# ---------------------------------------------------------------- templates and the two forms


def wide_template() -> pd.DataFrame:
    """Return the empty raw wide template (one row per patient and rater) with every DESIGN §4 column."""
    return pd.DataFrame(columns=[*PATIENT_COLUMNS, *MEASUREMENT_COLUMNS])


def long_template() -> pd.DataFrame:
    """Return the empty raw long (tidy) template: patient columns + quantity, level, muscle, side, value."""
    return pd.DataFrame(columns=[*PATIENT_COLUMNS, *LONG_COLUMNS])


def cohort_template() -> pd.DataFrame:
    """Return the empty cohort template (one row per patient) with the five indicator columns."""
    return pd.DataFrame(columns=[PATIENT_ID, OUTCOME, AGE, SEX, BMI, PAIR_ID, *(i.column for i in Indicator)])


def is_long(table: pd.DataFrame) -> bool:
    """Tell whether a raw table is in the long form (it has `quantity` and `value` columns)."""
    names = {str(c).strip().lower() for c in table.columns}
    return {QUANTITY, VALUE} <= names


def wide_to_long(wide: pd.DataFrame) -> pd.DataFrame:
    """Convert a raw wide table to the long form: one row per non-empty measurement cell.

    Parameters
    ----------
    wide
        A raw wide table (text cells as read).

    Returns
    -------
    pandas.DataFrame
        The patient columns repeated on each row, then quantity, level, muscle, side and value.
    """
    table = normalize_columns(wide)
    patient = [c for c in table.columns if c in (*PATIENT_COLUMNS, GROUP)]
    rows = []
    for column in table.columns:
        canonical = _BY_LOWER.get(column)
        if canonical is None:
            continue
        quantity, level, muscle, side = MEASUREMENTS[canonical]
        values = table[column]
        present = values.notna() & (values.astype("string").str.strip() != "")
        part = table.loc[present, patient].copy()
        part[QUANTITY], part[LEVEL], part[MUSCLE], part[SIDE] = quantity, level, muscle or "", side or ""
        part[VALUE] = values[present]
        part["_order"] = MEASUREMENT_COLUMNS.index(canonical)
        rows.append(part)
    if not rows:
        return pd.DataFrame(columns=[*patient, *LONG_COLUMNS])
    long = pd.concat(rows)
    long["_row"] = long.index
    long = long.sort_values(["_row", "_order"], kind="stable").drop(columns=["_row", "_order"])
    return long.reset_index(drop=True)


def long_to_wide(long: pd.DataFrame) -> pd.DataFrame:
    """Convert a raw long table to the wide form: a row per patient and rater (repeated cells averaged).

    Parameters
    ----------
    long
        A raw long table (values as text or numbers; a row whose quantity, level, muscle or side is not
        recognised, or whose value is not a number, is left out).

    Returns
    -------
    pandas.DataFrame
        The patient columns (taken from each patient's first row), then the wide template's measurement
        columns that have a value.

    Raises
    ------
    InputError
        When a column of the long form (patient_id, quantity, level, value) is missing.
    """
    table = normalize_columns(long)
    for column in (PATIENT_ID, QUANTITY, LEVEL, VALUE):
        if column not in table.columns:
            raise InputError(f"missing column '{column}' of the long form", column=column)
    keys = [PATIENT_ID, RATER] if RATER in table.columns else [PATIENT_ID]
    names = []
    for _, row in table.iterrows():
        names.append(_long_name(row)[0])
    table = table.assign(
        _name=pd.Series(names, index=table.index, dtype=object), _value=to_number(table[VALUE])[0]
    ).dropna(subset=["_name"])
    wide = table.pivot_table(index=keys, columns="_name", values="_value", aggfunc="mean", sort=False)
    wide = wide.reindex(columns=[c for c in MEASUREMENT_COLUMNS if c in wide.columns]).reset_index()
    wide.columns.name = None
    info = [c for c in table.columns if c in (*PATIENT_COLUMNS, GROUP) and c not in keys]
    if info:
        first = table.groupby(keys, sort=False)[info].first().reset_index()
        wide = first.merge(wide, on=keys, how="right")
    patient = [c for c in (*PATIENT_COLUMNS, GROUP) if c in wide.columns]
    return wide[patient + [c for c in MEASUREMENT_COLUMNS if c in wide.columns]]


def _text(value: object) -> str:
    """Return a cell as stripped lower-case text ('' for missing)."""
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return ""
    return str(value).strip().lower()


def _long_name(row: pd.Series) -> tuple[str | None, str | None]:
    """Name one long-form row's wide column: (wide column name, None), or (None, problem message)."""
    quantity = _text(row.get(QUANTITY)).replace(" ", "_")
    level = _text(row.get(LEVEL)).upper().replace("-", "").replace(" ", "")
    muscle = _text(row.get(MUSCLE))
    side = _text(row.get(SIDE))[:1]
    if quantity not in QUANTITIES:
        return None, f"unknown quantity '{row.get(QUANTITY)}' (use {', '.join(QUANTITIES)})"
    if quantity in ("t", "hu", "si", "si_csf"):
        allowed = ind.CSF_LEVELS if quantity == "si_csf" else ind.LEVELS
        if level not in allowed:
            return None, f"unknown level '{row.get(LEVEL)}' for {quantity} (use {', '.join(allowed)})"
        return _column(quantity, level), None
    if level not in ind.DISC_LEVELS:
        return None, f"unknown disc level '{row.get(LEVEL)}' (use {', '.join(ind.DISC_LEVELS)})"
    if quantity == "disc":
        return _column(quantity, level), None
    if muscle not in ind.MUSCLES:
        return None, f"unknown muscle '{row.get(MUSCLE)}' (use pm, mf or es)"
    if side not in ind.SIDES:
        return None, f"unknown side '{row.get(SIDE)}' (use l or r)"
    return _column(quantity, level, muscle, side), None


# ---------------------------------------------------------------- checking a raw table


@dataclass(frozen=True)
class RawMeasurements:
    """A checked raw table: one row per usable input row of patient data, and its measurement cells.

    `patients` is indexed by spreadsheet row (patient_id, rater, cohort columns parsed, `fractured` as a
    frozenset or None when unknown); `cells` has row, patient_id, rater, column (wide name) and value.
    `columns` are the measurement columns the table has.
    """

    patients: pd.DataFrame
    cells: pd.DataFrame
    columns: frozenset[str]


_EMPTY_CELLS = pd.DataFrame(
    {"row": pd.Series(dtype="int64"), "column": pd.Series(dtype=object), "value": pd.Series(dtype=float)}
)


def _warn(problems: list[Problem], row: int | None, column: str | None, message: str) -> None:
    """Record a problem that leaves out one measurement (the row is kept)."""
    problems.append(Problem(Severity.WARNING, row, column, message))


def _error(problems: list[Problem], row: int | None, column: str | None, message: str) -> None:
    """Record a problem that skips the row."""
    problems.append(Problem(Severity.ERROR, row, column, message))


def _check_numbers(
    values: pd.Series,
    column: str,
    quantity: Quantity,
    problems: list[Problem],
    *,
    blocking: bool,
    parsed: tuple[pd.Series, pd.Series] | None = None,
) -> tuple[pd.Series, pd.Series]:
    """Numbers of a column with unparseable or implausible cells reported; returns (numbers, bad mask).

    `parsed` is the column's `to_number` result when it was computed already (see `_to_numbers`).
    """
    numbers, bad = parsed if parsed is not None else to_number(values)
    report = _error if blocking else _warn
    consequence = "this row is skipped" if blocking else "this measurement is left out"
    for label, value in values[bad].items():
        report(problems, row_number(label), column, f"'{value}' is not a number; {consequence}")
    infinite = numbers.notna() & ~np.isfinite(numbers.to_numpy(float))
    for label, value in values[infinite].items():
        report(problems, row_number(label), column, f"'{value}' is not a finite number; {consequence}")
    numbers = numbers.where(~infinite)
    bad = bad | infinite
    outside = numbers.notna() & ((numbers < quantity.low) | (numbers > quantity.high))
    for label, value in numbers[outside].items():
        report(
            problems,
            row_number(label),
            column,
            f"{value:g} is outside the plausible range {quantity.low:g} to {quantity.high:g} "
            f"{quantity.unit}; {consequence}",
        )
    return numbers.where(~outside), bad | outside


# C901: a flat list of per-column checks, in the order the problems are reported
def check_raw(raw: pd.DataFrame, name: str = "raw") -> tuple[RawMeasurements, list[Problem]]:  # noqa: C901
    """Check a raw wide or long table cell by cell (the module docstring says what each problem does).

    Parameters
    ----------
    raw
        The raw table as read (text cells, spreadsheet row index).
    name
        The file name, for messages.

    Returns
    -------
    tuple
        The usable data (`RawMeasurements`) and every problem found, by row and column.

    Raises
    ------
    InputError
        Naming the file (and column) when nothing can be used: an empty table, duplicated column names,
        no `patient_id` column, or no measurement column at all.
    """
    if raw.shape[0] == 0 or raw.shape[1] == 0:
        raise InputError("the table has no data rows", file=name)
    table = normalize_columns(raw)
    dupes = table.columns[table.columns.duplicated()].tolist()
    if dupes:
        raise InputError(f"duplicated column name(s): {', '.join(dupes)}", file=name)
    if PATIENT_ID not in table.columns:
        raise InputError("missing column 'patient_id'", file=name, column=PATIENT_ID)
    problems: list[Problem] = [Problem(Severity.WARNING, None, None, note) for note in table_notes(raw)]
    blocked = pd.Series(False, index=table.index)
    patient_columns = [*PATIENT_COLUMNS, GROUP]
    measured = [c for c in table.columns if c in _BY_LOWER or (is_long(table) and c in LONG_COLUMNS)]
    table, formulas = take_uncached_formulas(table, [*patient_columns, *measured])
    for row, column, message in formulas:
        if column in patient_columns:
            _error(problems, row, column, f"{message}; this row is skipped")
            blocked[row] = True
        else:
            _warn(problems, row, _BY_LOWER.get(column, column), f"{message}; this measurement is left out")

    ids = table[PATIENT_ID].astype("string").str.strip()
    missing_id = ids.isna() | (ids == "")
    for row in ids[missing_id].index:
        _error(problems, int(row), PATIENT_ID, "missing patient_id; this row is skipped")
    blocked |= missing_id
    patients = pd.DataFrame({PATIENT_ID: ids}, index=table.index)

    if RATER in table.columns:
        rater = table[RATER].astype("string").str.strip()
        rater = rater.where(
            rater.notna() & (rater != ""), "row " + pd.Series(table.index, index=table.index).astype(str)
        )
    else:
        rater = "row " + pd.Series(table.index, index=table.index).astype(str)
    patients[RATER] = rater.astype(str)

    outcome_col = OUTCOME if OUTCOME in table.columns else GROUP if GROUP in table.columns else None
    if outcome_col is not None:
        y, bad = parse_outcome(table[outcome_col])
        for row, value in table.loc[bad, outcome_col].items():
            _error(problems, int(row), outcome_col, f"'{value}' is not an outcome: use 1/0 or ovcf/control")
        blocked |= bad
        patients[OUTCOME] = y
    if SEX in table.columns:
        sex, bad = parse_sex(table[SEX])
        for row, value in table.loc[bad, SEX].items():
            _error(problems, int(row), SEX, f"'{value}' is not a sex: use F or M")
        blocked |= bad
        patients[SEX] = sex
    for column in (AGE, BMI):
        if column in table.columns:
            spec = COVARIATE_COLUMNS[column]
            quantity = Quantity(column, spec.label, spec.unit, spec.low, spec.high)
            numbers, bad = _check_numbers(table[column], column, quantity, problems, blocking=True)
            blocked |= bad
            patients[column] = numbers
    if PAIR_ID in table.columns:
        pairs = table[PAIR_ID].astype("string").str.strip()
        patients[PAIR_ID] = pairs.where(pairs != "")

    fractured: list[frozenset[str] | None] = []
    for label, cell in (table[FRACTURED] if FRACTURED in table.columns else pd.Series(dtype=object)).items():
        try:
            fractured.append(ind.parse_fractured(None if pd.isna(cell) else str(cell)))
        except InputError as exc:
            _warn(
                problems,
                row_number(label),
                FRACTURED,
                f"{exc.message}; this patient's T-score, HU and VBQ are left missing",
            )
            fractured.append(None)
    patients[FRACTURED] = pd.Series(
        fractured if FRACTURED in table.columns else [frozenset()] * len(table),
        index=patients.index,
        dtype=object,
    )

    if is_long(table):
        cells, columns = _long_cells(table, problems)
    else:
        cells, columns = _wide_cells(table, problems)
    if not columns:
        raise InputError(
            "has no measurement columns (e.g. t_L1, hu_L1, si_L1, si_csf_L3, csa_pm_l_L3L4, fi_mf_r_L4L5, "
            "disc_L3L4)",
            file=name,
        )
    if formulas:  # an emptied formula cell is reported once, by its own message
        own = {(row, _BY_LOWER.get(column, column)) for row, column, _ in formulas}
        problems = [
            p for p in problems if (p.row, p.column) not in own or "with no computed value" in p.message
        ]
    blocked_rows = set(table.index[blocked])
    patients = patients.loc[~blocked]
    cells = cells[~cells["row"].isin(blocked_rows)].dropna(subset=["value"])
    cells = cells.assign(
        patient_id=patients[PATIENT_ID].reindex(cells["row"]).to_numpy(),
        rater=patients[RATER].reindex(cells["row"]).to_numpy(),
    )
    return RawMeasurements(patients, cells.reset_index(drop=True), columns), problems


def _to_numbers(block: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """`schema.to_number` of many columns in one call (one parse instead of one per column)."""
    stacked = pd.concat([block[c].astype("string") for c in block.columns], ignore_index=True)
    numbers, bad = to_number(stacked)
    shape = (len(block.columns), len(block))
    return (
        pd.DataFrame(numbers.to_numpy().reshape(shape).T, index=block.index, columns=block.columns),
        pd.DataFrame(bad.to_numpy().reshape(shape).T, index=block.index, columns=block.columns),
    )


def _wide_cells(table: pd.DataFrame, problems: list[Problem]) -> tuple[pd.DataFrame, frozenset[str]]:
    """Measurement cells of a wide table (bad cells reported and left out), and its measurement columns."""
    parts = [_EMPTY_CELLS]
    columns = set()
    known = [c for c in table.columns if c in _BY_LOWER]
    all_numbers, all_bad = _to_numbers(table[known]) if known else (None, None)
    for column in table.columns:
        canonical = _BY_LOWER.get(column)
        if canonical is None:
            if column.startswith(_MEASUREMENT_PREFIXES) and column not in (Indicator.T_SCORE.column,):
                _warn(problems, None, column, "is not a known measurement column; it is ignored")
            continue
        columns.add(canonical)
        assert all_numbers is not None and all_bad is not None  # `column` is one of `known`
        quantity = QUANTITIES[MEASUREMENTS[canonical][0]]
        numbers, _ = _check_numbers(
            table[column],
            canonical,
            quantity,
            problems,
            blocking=False,
            parsed=(all_numbers[column], all_bad[column]),
        )
        present = numbers.notna()
        parts.append(
            pd.DataFrame(
                {"row": numbers.index[present], "column": canonical, "value": numbers[present].to_numpy()}
            )
        )
    return pd.concat(parts, ignore_index=True), frozenset(columns)


def _long_cells(table: pd.DataFrame, problems: list[Problem]) -> tuple[pd.DataFrame, frozenset[str]]:
    """Measurement cells of a long table (unknown measurements and bad values reported and left out)."""
    names = []
    for label, record in table.iterrows():
        column, message = _long_name(record)
        if message:
            column_name = (
                QUANTITY
                if "quantity" in message
                else LEVEL
                if "level" in message
                else (MUSCLE if "muscle" in message else SIDE)
            )
            _warn(problems, row_number(label), column_name, f"{message}; this measurement is left out")
        names.append(column)
    named = pd.Series(names, index=table.index, dtype=object)
    numbers, bad = to_number(table[VALUE])
    values = pd.Series(np.nan, index=table.index)
    for quantity_name, quantity in QUANTITIES.items():
        mask = named.notna() & named.map(lambda c, q=quantity_name: c is not None and MEASUREMENTS[c][0] == q)
        if not mask.any():
            continue
        for row in table.index[mask & bad]:
            _warn(
                problems,
                int(row),
                VALUE,
                f"'{table.at[row, VALUE]!s}' is not a number; this measurement is left out",
            )
        sub = numbers[mask]
        outside = sub.notna() & ((sub < quantity.low) | (sub > quantity.high))
        for label, value in sub[outside].items():
            _warn(
                problems,
                row_number(label),
                VALUE,
                f"{value:g} is outside the plausible range {quantity.low:g} to {quantity.high:g} "
                f"{quantity.unit} for {named[row_number(label)]}; this measurement is left out",
            )
        values[mask] = sub.where(~outside)
    keep = named.notna() & values.notna()
    cells = pd.DataFrame(
        {
            "row": table.index[keep],
            "column": named[keep].astype(str).to_numpy(),
            "value": values[keep].to_numpy(),
        }
    )
    return pd.concat([_EMPTY_CELLS, cells], ignore_index=True), frozenset(named.dropna())


# ---------------------------------------------------------------- raw -> cohort


def _agreed(patients: pd.DataFrame, column: str) -> tuple[pd.Series, pd.Series]:
    """Per patient: the one value of `column` among their rows (None when blank) and whether they agree."""
    values = patients[column]
    blank = values.isna() | (values.astype("string").str.strip() == "").fillna(True).astype(bool)
    present = values.where(~blank)
    groups = present.groupby(patients[PATIENT_ID], sort=False)
    first = groups.first().astype(object)
    return first.where(first.notna(), None), groups.nunique(dropna=True) <= 1


# C901: the raw -> cohort steps of DESIGN §4 in one place (average, agree, form indicators, report)
def cohort_from_raw(raw: pd.DataFrame, name: str = "raw") -> tuple[pd.DataFrame, list[Problem]]:  # noqa: C901
    """Compute the cohort table (one row per patient, DESIGN §4) from a raw wide or long table.

    Measurements are averaged within and then over raters before the indicators are formed (module
    docstring); indicator columns are rounded to `DECIMALS`. `raw` and `name` are as for `check_raw`.

    Returns
    -------
    tuple
        The cohort (empty when every row has an error) and every problem, sorted by row and column.

    Raises
    ------
    InputError
        When the table cannot be used at all (see `check_raw`).
    """
    data, problems = check_raw(raw, name)
    patients = data.patients
    cohort_columns = [c for c in (OUTCOME, AGE, SEX, BMI, PAIR_ID) if c in patients.columns]
    indicators = [i for i in Indicator if INDICATOR_INPUTS[i] & data.columns]

    per_rater = data.cells.groupby([PATIENT_ID, RATER, "column"], sort=False)["value"].mean()
    averaged = per_rater.groupby(level=[PATIENT_ID, "column"], sort=False).mean()
    measured: dict[Hashable, dict[str, float]] = {}  # patient id -> column -> value
    averaged_items = cast("Iterable[tuple[tuple[Any, Any], Any]]", averaged.items())  # (patient, column)
    for (patient, column), value in averaged_items:
        measured.setdefault(patient, {})[column] = float(value)

    if is_long(normalize_columns(raw)):  # one row per measurement: a repeated measurement is averaged
        cells = data.cells
        again = cells[cells.duplicated([PATIENT_ID, RATER, "column"], keep="first")]
        for (rater, column), rows in again.groupby([RATER, "column"], sort=False)["row"]:
            for row in rows:
                _warn(
                    problems, int(row), VALUE,
                    f"{column} of this patient by rater '{rater}' is repeated; the values are averaged",
                )  # fmt: skip
    else:  # one row per patient and rater
        repeated = patients.groupby([PATIENT_ID, RATER], sort=False).size()
        repeated_items = cast("Iterable[tuple[tuple[Any, Any], Any]]", repeated[repeated > 1].items())
        for (patient, rater), count in repeated_items:
            first = int(patients.index[(patients[PATIENT_ID] == patient) & (patients[RATER] == rater)][0])
            _warn(
                problems, first, RATER,
                f"{count} rows of the same patient and rater '{rater}'; they are averaged",
            )  # fmt: skip

    agreed = {column: _agreed(patients, column) for column in cohort_columns}
    records = []
    for patient, group in patients.groupby(PATIENT_ID, sort=False):
        first_row = int(group.index[0])
        record: dict[str, object] = {PATIENT_ID: patient}
        consistent = True
        for column in cohort_columns:
            value, ok = agreed[column][0][patient], bool(agreed[column][1][patient])
            if not ok:
                _error(
                    problems,
                    first_row,
                    column,
                    f"the rows of this patient (rows {', '.join(map(str, group.index))}) disagree on "
                    f"'{column}'; the patient is skipped",
                )
                consistent = False
            record[column] = value
        if not consistent:
            continue
        fractured_cells = group[FRACTURED].tolist()
        unknown_fracture = any(f is None for f in fractured_cells)
        fractured = frozenset().union(*[f for f in fractured_cells if f is not None])
        values = measured.get(patient, {})
        for indicator in indicators:
            if unknown_fracture and indicator in VERTEBRAL:
                result = ind.IndicatorValue(None, "a fractured level is unknown", ())
            else:
                result = _indicator(indicator, values, fractured)
            value = None if result.value is None else round(result.value, DECIMALS[indicator.column])
            if value is not None and not indicator.low <= value <= indicator.high:
                _warn(problems, first_row, indicator.column, _implausible(indicator, value, result, values))
                value = None
            if result.value is None:
                _warn(problems, first_row, indicator.column, f"{indicator.label} is missing: {result.reason}")
            record[indicator.column] = np.nan if value is None else value
        records.append(record)

    columns = [PATIENT_ID, *cohort_columns, *(i.column for i in indicators)]
    cohort = pd.DataFrame.from_records(records, columns=columns)
    if OUTCOME in cohort.columns:
        cohort[OUTCOME] = cohort[OUTCOME].astype("Float64").astype("Int64")
    for column in (AGE, BMI, *(i.column for i in indicators)):
        if column in cohort.columns:
            cohort[column] = pd.to_numeric(cohort[column]).astype(float)
    if AGE in cohort.columns and (cohort[AGE].dropna() % 1 == 0).all():
        cohort[AGE] = cohort[AGE].astype("Int64")
    problems.sort(key=lambda p: (p.row if p.row is not None else -1, p.column or ""))
    return cohort, problems


def _implausible(
    indicator: Indicator, value: float, result: ind.IndicatorValue, values: dict[str, float]
) -> str:
    """Say why an indicator formed from plausible measurements is left missing: its value is implausible.

    The message names the raw columns it came from (for VBQ the CSF column, the usual culprit).
    """
    unit = "" if indicator.unit == "ratio" else f" {indicator.unit}"
    head = (
        f"{indicator.label} {value:g} is outside the plausible range {indicator.low:g} to "
        f"{indicator.high:g}{unit}"
    )
    used = [u for u in result.used if not u.startswith("CSF ")]
    if indicator is Indicator.VBQ:
        csf_level = next(u for u in result.used if u.startswith("CSF ")).split()[1]
        csf_column = CSF_COLUMNS[csf_level]
        si = median(values[SI_COLUMNS[lv]] for lv in used)
        source = (
            f"median vertebral SI {si:g} ({', '.join(SI_COLUMNS[lv] for lv in used)}) / CSF SI "
            f"{values[csf_column]:g} ({csf_column}), check {csf_column}"
        )
    elif indicator in (Indicator.T_SCORE, Indicator.HU):
        columns = T_COLUMNS if indicator is Indicator.T_SCORE else HU_COLUMNS
        source = "from " + ", ".join(columns[lv] for lv in used)
    elif indicator is Indicator.RCSA:
        source = "from " + ", ".join(
            f"csa_*_{u.split()[1]}_{u.split()[0]} / disc_{u.split()[0]}" for u in used
        )
    else:
        source = f"from {len(used)} fi_ column(s)"
    return f"{head}: {source}; it is left missing"


def _indicator(
    indicator: Indicator, values: dict[str, float], fractured: frozenset[str]
) -> ind.IndicatorValue:
    """Compute one indicator of one patient from the averaged measurements {wide column: value}."""
    if indicator is Indicator.T_SCORE:
        return ind.average_t_score({lv: values.get(c) for lv, c in T_COLUMNS.items()}, fractured)
    if indicator is Indicator.HU:
        return ind.average_hu({lv: values.get(c) for lv, c in HU_COLUMNS.items()}, fractured)
    if indicator is Indicator.VBQ:
        return ind.vbq_score(
            {lv: values.get(c) for lv, c in SI_COLUMNS.items()},
            {lv: values.get(c) for lv, c in CSF_COLUMNS.items()},
            fractured,
        )
    if indicator is Indicator.RCSA:
        return ind.average_rcsa(
            {key: values.get(c) for key, c in CSA_COLUMNS.items()},
            {lv: values.get(c) for lv, c in DISC_COLUMNS.items()},
        )
    return ind.average_fi({key: values.get(c) for key, c in FI_COLUMNS.items()})


def read_raw(source: Source, name: str | None = None) -> pd.DataFrame:
    """Read a raw CSV/XLSX table (wide or long) as strings indexed by spreadsheet row.

    `io.read_table` with the header row found by its `patient_id` column; it raises `InputError` when the
    file cannot be read as a table.
    """
    from ovcf_core.io import read_table

    return read_table(source, name, expect=(PATIENT_ID,))
