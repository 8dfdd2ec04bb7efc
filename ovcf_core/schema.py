"""Column definitions, units and plausible ranges, and validation of cohort tables.

Each indicator is defined once, in `Indicator`; everything else asks it for its column, unit, range and
risk direction. Validation collects every problem as a `Problem(severity, row, column, message)` instead
of stopping at the first, so a user sees the whole list and keeps the valid rows.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, SupportsInt, cast

import numpy as np

if TYPE_CHECKING:  # pandas is imported where it is used: predicting and the CLI start without it
    import pandas as pd


class Direction(enum.StrEnum):
    """Which side of a marker indicates a case (fracture)."""

    HIGHER = "higher"
    LOWER = "lower"


class Indicator(enum.Enum):
    """The paper's five indicators: column name, label, unit, plausible range and risk direction."""

    T_SCORE = ("t_score", "Average T-score", "SD", -7.0, 5.0, Direction.LOWER)
    HU = ("hu", "Average HU", "HU", -300.0, 1500.0, Direction.LOWER)
    VBQ = ("vbq", "VBQ score", "ratio", 0.5, 10.0, Direction.HIGHER)
    RCSA = ("rcsa", "Average total rCSA", "ratio", 0.05, 15.0, Direction.LOWER)
    FI = ("fi", "Average FI", "%", 0.0, 100.0, Direction.HIGHER)

    def __init__(
        self, column: str, label: str, unit: str, low: float, high: float, direction: Direction
    ) -> None:
        self.column = column
        self.label = label
        self.unit = unit
        self.low = low
        self.high = high
        self.direction = direction

    @property
    def label_with_unit(self) -> str:
        """Label for axes and tables, e.g. 'Average HU (HU)'."""
        return self.label if self.unit == "ratio" else f"{self.label} ({self.unit})"

    @classmethod
    def from_column(cls, column: str) -> Indicator | None:
        """Return the indicator stored in `column` (case-insensitive), or None for any other marker."""
        for ind in cls:
            if ind.column == column.strip().lower():
                return ind
        return None


INDICATOR_COLUMNS: tuple[str, ...] = tuple(ind.column for ind in Indicator)

PATIENT_ID = "patient_id"
OUTCOME = "ovcf"
GROUP = "group"
AGE = "age"
SEX = "sex"
BMI = "bmi"
PAIR_ID = "pair_id"
COVARIATES: tuple[str, ...] = (AGE, SEX, BMI)


@dataclass(frozen=True)
class NumericColumn:
    """A numeric covariate with its plausible range (values outside are flagged, not silently used)."""

    column: str
    label: str
    unit: str
    low: float
    high: float


COVARIATE_COLUMNS = {
    AGE: NumericColumn(AGE, "Age", "years", 18.0, 120.0),
    BMI: NumericColumn(BMI, "BMI", "kg/m²", 10.0, 70.0),
}

SEX_VALUES = {"f": "F", "female": "F", "w": "F", "woman": "F", "m": "M", "male": "M", "man": "M"}
SEX_CATEGORIES = ("F", "M")  # the clean table's sex column: a categorical of these two
CASE_VALUES = {"1", "1.0", "ovcf", "case", "fracture", "yes", "true"}
CONTROL_VALUES = {"0", "0.0", "control", "no", "false"}
MISSING_VALUES = frozenset({"", "na", "n/a", "nan", "none", "null", "-", ".", "missing", "#n/a"})
"""Cell texts read as a missing value (any case): what R, Stata, SAS, pandas and Excel write for one."""
OUTCOME_MISSING = MISSING_VALUES - {"none", "-"}
"""Outcome texts read as missing: not 'none' or '-', which some tables use for the controls (with
--positive they may be the control value)."""
PARALLEL_CHECK_ROWS = 100_000
"""From this many rows, the patient-id and pair-label checks run on threads of their own."""
MAX_MAGNITUDE = 1e12
"""The largest absolute value of a marker that has no plausible range of its own (an extra `--markers`
column): anything bigger is a unit or typing error, and would overflow the statistics."""


class Severity(enum.StrEnum):
    """An error blocks the row it is in; a warning is shown and the value is used."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True)
class Problem:
    """One problem found in a table. `row` is the spreadsheet row number (header = row 1), or None."""

    severity: Severity
    row: int | None
    column: str | None
    message: str

    def __str__(self) -> str:
        """Return the problem as one line for a user: where (row, column) and what."""
        where = []
        if self.row is not None:
            where.append(f"row {self.row}")
        if self.column:
            where.append(f"column '{self.column}'")
        prefix = ", ".join(where)
        return f"{self.severity}: {prefix}: {self.message}" if prefix else f"{self.severity}: {self.message}"


@dataclass(frozen=True)
class ValidationReport:
    """Every problem in a table, and the rows they block."""

    problems: tuple[Problem, ...] = ()
    n_rows: int = 0
    blocked_rows: tuple[int, ...] = field(default=())

    @property
    def errors(self) -> tuple[Problem, ...]:
        """The problems that block the analysis."""
        return tuple(p for p in self.problems if p.severity is Severity.ERROR)

    @property
    def warnings(self) -> tuple[Problem, ...]:
        """The problems reported but not blocking."""
        return tuple(p for p in self.problems if p.severity is Severity.WARNING)

    @property
    def ok(self) -> bool:
        """Whether there is no error."""
        return not self.errors

    def to_frame(self) -> pd.DataFrame:
        """Return the problems as a table for a page: severity, row, column, message."""
        import pandas as pd

        return pd.DataFrame(
            [(str(p.severity), p.row, p.column, p.message) for p in self.problems],
            columns=["severity", "row", "column", "message"],
        )

    def summary(self) -> str:
        """One line: how many rows are usable and how many problems there are."""
        usable = self.n_rows - len(self.blocked_rows)
        return (
            f"{usable} of {self.n_rows} rows usable; {len(self.errors)} error(s), "
            f"{len(self.warnings)} warning(s)"
        )


def normalize_columns(df: pd.DataFrame) -> pd.DataFrame:
    """Column names lower-cased and stripped (names are case-insensitive), BOMs and spaces removed."""
    out = df.copy()
    out.columns = _normalized_names(df.columns)
    return out


def _normalized_names(columns: Iterable[object]) -> list[str]:
    """`normalize_columns`' names: lower case, stripped, BOMs removed, runs of spaces as one underscore."""
    return [re.sub(r"\s+", "_", str(c).replace("\ufeff", "").strip().lower()) for c in columns]


_DECIMAL_COMMA = re.compile(r"^\s*[-+]?\d+,\d+\s*$")


def to_number(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Parse a column as numbers, accepting decimal commas; returns (numbers, mask of unparseable cells)."""
    import pandas as pd

    if pd.api.types.is_numeric_dtype(values) and not pd.api.types.is_bool_dtype(values):
        numbers = values.astype(float)
        return numbers, pd.Series(False, index=values.index)
    fast = pd.to_numeric(values, errors="coerce")
    if fast.notna().all():  # every cell a plain number: the common, large-table case
        return fast.astype(float), pd.Series(False, index=values.index)
    text = values.astype("string").str.strip()
    empty = text.isna() | text.str.lower().isin(MISSING_VALUES)
    text = text.where(~text.str.match(_DECIMAL_COMMA, na=False), text.str.replace(",", ".", regex=False))
    numbers = pd.to_numeric(text.where(~empty), errors="coerce").astype(float)
    bad = numbers.isna() & ~empty
    return numbers, bad


def row_number(label: Hashable) -> int:
    """Read a row label as an int: the tables checked here keep pandas' default integer index."""
    return int(cast(SupportsInt, label))


def _check_range(
    numbers: pd.Series, column: str, low: float, high: float, unit: str, problems: list[Problem]
) -> pd.Series:
    """Flag values outside [low, high] as errors (they block their row); return the mask of those rows."""
    outside = numbers.notna() & ((numbers < low) | (numbers > high))
    for row, value in numbers[outside].items():
        problems.append(
            Problem(
                Severity.ERROR,
                row_number(row),
                column,
                f"{value:g} is outside the plausible range {low:g} to {high:g} {unit}".rstrip(),
            )
        )
    return outside


def _per_distinct(
    values: pd.Series, parse: Callable[[pd.Series], tuple[pd.Series, pd.Series]]
) -> tuple[pd.Series, pd.Series]:
    """`parse(values)` of a text column, evaluated once per distinct text and spread back by code.

    A large table's outcome or sex column holds a few texts in a million cells: the string work is done
    on those few (`parse` is cell by cell, so the result is the same). Other dtypes are parsed whole.
    """
    import pandas as pd

    if not isinstance(values.dtype, pd.StringDtype):
        return parse(values)
    codes, distinct = _distinct_texts(values)
    first, second = parse(distinct)
    return (
        pd.Series(first.to_numpy()[codes], index=values.index, dtype=first.dtype),
        pd.Series(second.to_numpy()[codes], index=values.index, dtype=second.dtype),
    )


def _distinct_texts(values: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """(each cell's code, the distinct texts and then a missing value): `distinct[codes]` gives `values`.

    A missing cell gets code -1, which indexes the missing value appended last.
    """
    import pandas as pd

    codes, uniques = pd.factorize(values)
    return codes, pd.Series([*uniques, None], dtype=values.dtype)


def parse_outcome(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Outcome as 1 (OVCF) / 0 (control) from 0/1 or ovcf/control words; returns (outcome, bad mask).

    `OUTCOME_MISSING` texts (NA, n/a, '.', missing, ...) are missing, not bad: the caller reports them.
    """
    return _per_distinct(values, _parse_outcome_cells)


def _parse_outcome_cells(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`parse_outcome` cell by cell."""
    import pandas as pd

    text = values.astype("string").str.strip().str.lower()
    outcome = pd.Series(np.nan, index=values.index, dtype=float)
    outcome[text.isin(CASE_VALUES).fillna(False).astype(bool)] = 1.0
    outcome[text.isin(CONTROL_VALUES).fillna(False).astype(bool)] = 0.0
    bad = outcome.isna() & text.notna() & ~text.isin(OUTCOME_MISSING).fillna(False).astype(bool)
    return outcome, bad


def parse_positive(values: pd.Series, positive: str, column: str, file: str | None = None) -> pd.Series:
    """Code the outcome: 1 where the cell is `positive` (any case), 0 for the one other value, else NaN.

    0 marks the controls; NaN marks missing cells (`OUTCOME_MISSING`).

    Exactly one value besides `positive` is allowed: a second one (a typo such as 'ovfc' beside
    'control') would silently become a control, so it raises `InputError` naming the unexpected values
    and their rows, as does a `positive` that does not occur in the column.
    """
    import pandas as pd

    from ovcf_core.errors import InputError

    text = values.astype("string").str.strip()
    lower = text.str.lower()
    missing = (text.isna() | lower.isin(OUTCOME_MISSING)).fillna(True).astype(bool)
    wanted = str(positive).strip().lower()
    case = (lower == wanted).fillna(False).astype(bool)
    others = lower[~missing & ~case]
    present = lower[~missing]
    if len(present) and not case.any():
        seen = ", ".join(f"'{v}'" for v in pd.unique(text[~missing])[:5])
        raise InputError(
            f"the positive value '{positive}' does not occur in the outcome column (its values: {seen})",
            file=file,
            column=column,
        )
    if others.nunique() > 1:
        rows = pd.Series(others.index, index=others.index).groupby(others.to_numpy(), sort=False).agg(list)
        counts = rows.map(len).sort_values(ascending=False, kind="stable")
        control = counts.index[0]  # the most frequent; the others in the order they first appear
        odd = [v for v in rows.index if v != control]
        unexpected = "; ".join(f"'{text[rows[v][0]]}' ({_rows_text(rows[v])})" for v in odd[:5])
        more = f" and {len(odd) - 5} more" if len(odd) > 5 else ""
        raise InputError(
            f"with --positive '{positive}' the outcome may hold one other value, the controls "
            f"('{text[rows[control][0]]}'), but it also holds {unexpected}{more}: correct these cells or "
            "leave them empty",
            file=file,
            column=column,
        )
    outcome = pd.Series(np.where(case, 1.0, 0.0), index=values.index)
    outcome[missing] = np.nan
    return outcome


def _rows_text(rows: list) -> str:
    """'row 7' or 'rows 7, 9, 12' (the first five, then how many more)."""
    shown = ", ".join(str(int(r)) for r in rows[:5])
    more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
    return f"row {shown}" if len(rows) == 1 else f"rows {shown}{more}"


def parse_sex(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Sex as a categorical of 'F'/'M' from F/M/female/male (any case); returns (sex, bad mask).

    Categorical, so that the models, tests and missing checks downstream work on small integer codes
    rather than on text (a missing or unreadable cell is missing). A text column is parsed once per
    distinct text and its categorical built from codes, without comparing a million texts again.
    """
    import pandas as pd

    categories = list(SEX_CATEGORIES)
    if not isinstance(values.dtype, pd.StringDtype):
        sex, bad = _parse_sex_cells(values)
        return pd.Series(pd.Categorical(sex, categories=categories), index=sex.index), bad
    codes, distinct = _distinct_texts(values)
    sex, bad = _parse_sex_cells(distinct)
    category = np.array([categories.index(s) if s in categories else -1 for s in sex], dtype=np.int8)
    return (
        pd.Series(
            pd.Categorical.from_codes(category[codes], dtype=pd.CategoricalDtype(categories)),
            index=values.index,
        ),
        pd.Series(bad.to_numpy()[codes], index=values.index, dtype=bad.dtype),
    )


def _parse_sex_cells(values: pd.Series) -> tuple[pd.Series, pd.Series]:
    """`parse_sex` cell by cell."""
    text = values.astype("string").str.strip().str.lower()
    sex = text.map(SEX_VALUES).astype("object")
    bad = sex.isna() & text.notna() & (text != "")
    return sex.where(sex.notna(), None), bad


def _patient_ids(values: pd.Series) -> tuple[pd.Series, pd.Series, pd.Series]:
    """Return the ids stripped, where one is missing, and where one repeats an earlier row's."""
    ids = values.astype("string").str.strip()
    missing = ids.isna() | (ids == "")
    return ids, missing, ids.duplicated(keep="first") & ~missing


# C901: a flat list of per-column checks, in the order the problems are reported; splitting it would
# spread one report over many functions
def validate_cohort(  # noqa: C901
    df: pd.DataFrame,
    *,
    require_outcome: bool = True,
    markers: Iterable[str] | None = None,
    outcome: str | None = None,
    positive: str | None = None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Check a cohort table and return (clean table of the unblocked rows, report of every problem).

    The clean table has lower-case columns, `ovcf` as 0/1 floats, `sex` as F/M, numeric indicator and
    covariate columns, and the spreadsheet row number as index. Missing required columns raise
    `InputError` (nothing can be used); cell problems are collected and block only their row.

    The outcome is 1/0 or ovcf/control words (`parse_outcome`); with `positive` (`--positive VALUE`) it is
    1 where the cell is that value (any case) and 0 where it is the ONE other value the column holds (the
    controls), see `parse_positive`: a second other value (a typo such as 'ovfc' beside 'control') is
    refused naming its rows, never counted as a control. Either way NA, n/a, '.', 'missing' and empty
    cells (`OUTCOME_MISSING`) are a missing outcome: an error, and the row is left out. A numeric cell
    that is infinite ('inf', 1e400) or implausible is an error; XLSX formula cells without a computed
    value are errors naming their cell (a column made only of them is refused).
    """
    import pandas as pd

    from ovcf_core.errors import InputError
    from ovcf_core.table_notes import table_notes, take_uncached_formulas
    from ovcf_core.threads import beside

    source = df.attrs.get("file")
    if df.shape[1] == 0 or df.shape[0] == 0:
        raise InputError("the table has no data rows", file=source)
    table = df.copy(deep=False)  # only read here (a formula cell is emptied in a copy): no copy of the data
    table.columns = _normalized_names(df.columns)
    dupes = table.columns[table.columns.duplicated()].tolist()
    if dupes:
        raise InputError(f"duplicated column name(s): {', '.join(dupes)}", file=source)
    problems: list[Problem] = [Problem(Severity.WARNING, None, None, note) for note in table_notes(df)]
    blocked = pd.Series(False, index=table.index)
    read = {PATIENT_ID, OUTCOME, GROUP, SEX, PAIR_ID, *COVARIATE_COLUMNS, *INDICATOR_COLUMNS}
    read |= {c.strip().lower() for c in [outcome or "", *(markers or [])] if c.strip()}
    table, formulas = take_uncached_formulas(table, sorted(read))
    for row, column, message in formulas:
        problems.append(Problem(Severity.ERROR, row, column, f"{message}; this row is skipped"))
        blocked[row] = True
    out: dict[str, pd.Series] = {}  # the clean columns, made into one frame at the end (one copy)

    # hashing a large table's ids and pair labels releases the interpreter: beside the other columns' checks
    threaded = len(table) >= PARALLEL_CHECK_ROWS
    pair_check = beside(threaded, _pair_labels, table[PAIR_ID]) if PAIR_ID in table.columns else None
    id_check = None
    if PATIENT_ID in table.columns:
        id_check = beside(threaded, _patient_ids, table[PATIENT_ID])
        out[PATIENT_ID] = table[PATIENT_ID]  # (replaced by the stripped ids below: first column stays first)
    else:
        out[PATIENT_ID] = pd.Series([f"row{r}" for r in table.index], index=table.index)
        problems.append(
            Problem(Severity.WARNING, None, PATIENT_ID, "no patient_id column; rows are named by number")
        )

    outcome_col = (outcome or "").strip().lower() or None
    if outcome_col is None:
        outcome_col = OUTCOME if OUTCOME in table.columns else GROUP if GROUP in table.columns else None
    if outcome_col is not None and outcome_col not in table.columns:
        raise InputError(f"missing outcome column '{outcome_col}'", file=source, column=outcome_col)
    if outcome_col is None:
        if require_outcome:
            raise InputError(
                "missing outcome column: add 'ovcf' (1 = fracture, 0 = control) or 'group' (ovcf/control)",
                file=source,
                column=OUTCOME,
            )
    else:
        if positive is not None:
            y = parse_positive(table[outcome_col], positive, outcome_col, source)
            bad = pd.Series(False, index=table.index)
        else:
            y, bad = parse_outcome(table[outcome_col])
        for row, value in _cells(table, bad, outcome_col):
            problems.append(
                Problem(
                    Severity.ERROR,
                    int(row),
                    outcome_col,
                    f"'{value}' is not an outcome: use 1/0 or ovcf/control",
                )
            )
        missing = y.isna() & ~bad
        for row, value in _cells(table, missing, outcome_col):
            typed = "" if value is None or value is pd.NA or not str(value).strip() else f" ('{value}')"
            problems.append(Problem(Severity.ERROR, int(row), outcome_col, f"missing outcome{typed}"))
        blocked |= bad | missing
        out[OUTCOME] = y

    if SEX in table.columns:
        sex, bad = parse_sex(table[SEX])
        for row, value in _cells(table, bad, SEX):
            problems.append(Problem(Severity.ERROR, int(row), SEX, f"'{value}' is not a sex: use F or M"))
        blocked |= bad
        out[SEX] = sex

    numeric_specs: dict[str, tuple[float, float, str]] = {
        c.column: (c.low, c.high, c.unit) for c in COVARIATE_COLUMNS.values()
    }
    numeric_specs.update({ind.column: (ind.low, ind.high, ind.unit) for ind in Indicator})
    extra = [m.strip().lower() for m in (markers or []) if m.strip().lower() not in numeric_specs]
    for column in extra:
        if column not in table.columns:
            raise InputError(f"missing marker column '{column}'", file=source, column=column)
    for column in [*numeric_specs, *extra]:
        if column not in table.columns:
            continue
        numbers, bad = to_number(table[column])
        for row, value in _cells(table, bad, column):
            problems.append(Problem(Severity.ERROR, int(row), column, f"'{value}' is not a number"))
        blocked |= bad
        infinite = numbers.notna() & ~np.isfinite(numbers.to_numpy(float))
        if infinite.any():
            spec = numeric_specs.get(column)
            where = f": outside the plausible range {spec[0]:g} to {spec[1]:g} {spec[2]}" if spec else ""
            for row, value in _cells(table, infinite, column):
                problems.append(
                    Problem(Severity.ERROR, int(row), column, f"'{value}' is not a finite number{where}")
                )
            blocked |= infinite
            numbers = numbers.where(~infinite)
        if column not in numeric_specs:
            blocked |= _check_range(numbers, column, -MAX_MAGNITUDE, MAX_MAGNITUDE, "", problems)
        if column in numeric_specs:
            low, high, unit = numeric_specs[column]
            if column == AGE:
                young = numbers.notna() & (numbers >= low) & (numbers < 50)
                for label, value in numbers[young].items():
                    problems.append(
                        Problem(
                            Severity.WARNING,
                            row_number(label),
                            AGE,
                            f"age {value:g} is under 50 (the paper's cohort is aged 50 and over)",
                        )
                    )
            blocked |= _check_range(numbers, column, low, high, unit, problems)
        out[column] = numbers

    if id_check is not None:
        ids, missing, duplicated = id_check.result()
        for row in ids[missing].index:
            problems.append(Problem(Severity.ERROR, int(row), PATIENT_ID, "missing patient_id"))
        for label, value in ids[duplicated].items():
            problems.append(
                Problem(Severity.ERROR, row_number(label), PATIENT_ID, f"duplicated patient_id '{value}'")
            )
        blocked |= missing | duplicated
        out[PATIENT_ID] = ids

    if pair_check is not None:
        pairs, codes, labels = pair_check.result()
        out[PAIR_ID] = pairs
        if OUTCOME in out:
            kept = ~blocked.to_numpy()
            _check_pairs(codes[kept], labels, out[OUTCOME].to_numpy(float)[kept], table.index[kept], problems)

    known = {PATIENT_ID, OUTCOME, GROUP, SEX, PAIR_ID, outcome_col, *numeric_specs, *extra}
    for column in table.columns:
        if column not in known:
            out[column] = table[column].copy()  # (the clean table below takes its columns as they are)

    if formulas:  # an emptied formula cell is reported once, by its own message
        own: dict[tuple[int | None, str | None], str] = {(r, c): message for r, c, message in formulas}
        problems = [
            p
            for p in problems
            if (p.row, p.column) not in own or p.message.startswith(own[(p.row, p.column)])
        ]
    problems.sort(key=lambda p: (p.row if p.row is not None else -1, p.column or ""))
    report = ValidationReport(
        problems=tuple(problems),
        n_rows=len(table),
        blocked_rows=tuple(int(r) for r in table.index[blocked]),
    )
    # every column of `out` is already a new Series (the usable rows taken once more when rows are
    # blocked), so the clean table takes them as they are instead of copying a large table again
    if blocked.any():
        keep = ~blocked.to_numpy()
        return pd.DataFrame({k: v[keep] for k, v in out.items()}, index=table.index[keep], copy=False), report
    return pd.DataFrame(out, index=table.index, copy=False), report


def _cells(table: pd.DataFrame, rows: pd.Series, column: str) -> Iterable[tuple[Any, Any]]:
    """(row, value) of `column` where `rows` is true; nothing is indexed when no row is (the usual case)."""
    if not rows.any():
        return ()
    return table.loc[rows, column].items()


def _pair_labels(values: pd.Series) -> tuple[pd.Series, np.ndarray, pd.Index]:
    """Return the pair labels stripped (an empty one missing), each row's code (-1: none) and the labels."""
    import pandas as pd

    pairs = values.astype("string").str.strip()
    pairs = pairs.where(pairs != "")
    codes, labels = pd.factorize(pairs)  # a missing pair_id gets code -1
    return pairs, codes, labels


def _check_pairs(
    codes: np.ndarray, labels: pd.Index, outcome: np.ndarray, rows: pd.Index, problems: list[Problem]
) -> None:
    """Warn about pair_ids that are not one case + one control (left out of paired tests).

    `codes` (-1: no pair), `outcome` and `rows` (row numbers) are the usable rows', `labels` the pair_ids
    the codes number. Pairs are counted with bincount; only the bad pairs are visited one by one, each
    reported at its first usable row.
    """
    paired = codes >= 0
    if not paired.any():
        return
    if not paired.all():
        codes, outcome, rows = codes[paired], outcome[paired], rows[paired]
    size = np.bincount(codes, minlength=len(labels))
    cases = np.bincount(codes, weights=(outcome == 1), minlength=len(labels))
    first_row = np.full(len(labels), np.iinfo(np.int64).max)
    np.minimum.at(first_row, codes, rows.to_numpy(np.int64))  # each pair's first usable row
    bad = np.flatnonzero(((size != 2) | (cases != 1)) & (size > 0))
    for code in bad:  # (the report is sorted by row at the end)
        problems.append(
            Problem(
                Severity.WARNING,
                int(first_row[code]),
                PAIR_ID,
                f"pair '{labels[int(code)]}' has {size[code]} member(s) "
                f"({int(cases[code])} case(s)); it is left out of paired tests",
            )
        )
