"""Agreement of two methods measuring one indicator on the same patients (e.g. HU by hand and from a
segmentation mask): Bland–Altman bias and limits of agreement with CIs, proportional bias, ICC(2,1) and
ICC(3,1), and the published cut-offs translated from method A to method B by the bias.

Every difference is method B − method A, so a positive bias means B reads higher, and a cut-off of C found
with method A corresponds to about C + bias measured with method B. Pairs missing a value are left out and
counted (with their spreadsheet rows), never dropped silently; fewer than 3 complete pairs are refused.
The statistics come from `stats.agreement` (Bland & Altman) and `stats.icc` (Shrout & Fleiss); this module
reads the two table layouts and puts the pieces together for the CLI (`ovcf agreement`) and the
Reliability page.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
import pandas as pd

from ovcf_core import SYNTHETIC_NOTE
from ovcf_core.errors import AnalysisError, InputError, OvcfError
from ovcf_core.model.thresholds import PublishedThreshold, thresholds_for
from ovcf_core.schema import Indicator, to_number
from ovcf_core.stats.agreement import (
    LOA_CI_METHODS,
    BlandAltman,
    ProportionalBias,
    bland_altman,
    proportional_bias,
)
from ovcf_core.stats.icc import IccForm, icc_wide

MIN_PAIRS = 3
HU_L1 = "hu_l1"
INDICATORS: tuple[str, ...] = (HU_L1, *(ind.column for ind in Indicator))
"""What `indicator` may name: `hu_l1` (HU of L1 alone, the vertebra the published HU cut-offs are for) or
one of the five indicators' columns."""
SAMPLE_FILE = "method_agreement_synthetic.csv"
PROPORTIONAL_P = 0.05
NOTE = "Research tool, not a medical device."


@dataclass(frozen=True)
class DroppedPair:
    """A patient left out: the spreadsheet rows involved (header = row 1) and why."""

    rows: tuple[int, ...]
    reason: str

    def to_dict(self) -> dict:
        """Rows and reason as plain JSON types (no patient identifier)."""
        return {"rows": list(self.rows), "reason": self.reason}


@dataclass(frozen=True)
class MethodPairs:
    """The complete pairs of two methods' values (A and B, same order) and the patients left out."""

    method_a: str
    method_b: str
    a: tuple[float, ...]
    b: tuple[float, ...]
    dropped: tuple[DroppedPair, ...] = ()
    notes: tuple[str, ...] = ()

    @property
    def n(self) -> int:
        """Number of complete pairs."""
        return len(self.a)


def _rows(labels: pd.Index) -> tuple[int, ...]:
    """Row labels as spreadsheet row numbers when they are whole numbers (as `io.read_table` gives)."""
    out = []
    for label in labels:
        if isinstance(label, (int, np.integer)):
            out.append(int(label))
    return tuple(out)


def _values(table: pd.DataFrame, column: str, file: str | None) -> tuple[pd.Series, list[str]]:
    """A column as finite numbers (NaN for empty cells) and one note per cell that is not a number."""
    numbers, bad = to_number(table[column])
    notes = []
    where = f"{file}: " if file else ""
    for row, text in table.loc[bad, column].items():
        notes.append(f"{where}row {row}, column '{column}': '{text}' is not a number; the pair is left out")
    infinite = np.isinf(numbers.to_numpy(float))
    for row in numbers.index[infinite]:
        notes.append(f"{where}row {row}, column '{column}': the value is infinite; the pair is left out")
    return numbers.where(np.isfinite(numbers)), notes


def _patient_ids(values: pd.Series) -> pd.Series:
    """Patient identifiers as stripped text, missing (NA) where the cell is empty."""
    ids = values.astype("string").str.strip()
    return ids.mask(ids == "")


def _require_columns(table: pd.DataFrame, columns: tuple[str, ...], file: str | None) -> None:
    for column in columns:
        if column not in table.columns:
            found = ", ".join(map(str, table.columns[:12]))
            raise InputError(f"no column '{column}' (the table has: {found})", file=file, column=column)


def _refuse_repeated(subjects: pd.Series, file: str | None, what: str) -> None:
    """One row per patient (and method): repeated measurements need the replicate method, not done here."""
    repeated = subjects[subjects.duplicated(keep=False)]
    if not repeated.empty:
        first = repeated.iloc[0]
        rows = _rows(repeated.index[repeated == first])
        raise InputError(
            f"rows {', '.join(map(str, rows))} hold the same patient{what}: give one row per patient{what} "
            "(repeated measurements need Bland & Altman's replicate method, which is not done here)",
            file=file,
        )


def pairs_from_wide(
    table: pd.DataFrame, subject: str, method_a: str, method_b: str, *, file: str | None = None
) -> MethodPairs:
    """The pairs of a wide table: one row per patient, a column per method.

    Parameters
    ----------
    table
        The table with normalised (lower-case) column names, indexed by spreadsheet row (`io.read_table`).
    subject
        Column naming the patient (one row each).
    method_a, method_b
        The columns holding method A's and method B's value; differences are B − A.
    file
        File name for messages.

    Returns
    -------
    MethodPairs
        Rows missing either value (empty, not a number, infinite) or the patient are listed in `dropped`.

    Raises
    ------
    InputError
        A column is missing, the two methods are the same column, or a patient has more than one row.
    """
    if method_a == method_b:
        raise InputError(f"method A and method B are the same column '{method_a}'", file=file)
    _require_columns(table, (subject, method_a, method_b), file)
    ids = _patient_ids(table[subject])
    _refuse_repeated(ids.dropna(), file, "")
    a, notes_a = _values(table, method_a, file)
    b, notes_b = _values(table, method_b, file)
    dropped: list[DroppedPair] = []
    for reason, mask in (
        ("no patient", ids.isna()),
        (f"no value of '{method_a}'", ids.notna() & a.isna() & b.notna()),
        (f"no value of '{method_b}'", ids.notna() & a.notna() & b.isna()),
        ("no value of either method", ids.notna() & a.isna() & b.isna()),
    ):
        rows = _rows(table.index[mask.to_numpy(bool)])
        dropped.extend(DroppedPair((row,), reason) for row in rows)
    keep = (ids.notna() & a.notna() & b.notna()).to_numpy(bool)
    return MethodPairs(
        method_a,
        method_b,
        tuple(a[keep].astype(float)),
        tuple(b[keep].astype(float)),
        tuple(sorted(dropped, key=lambda d: d.rows)),
        tuple(notes_a + notes_b),
    )


def pairs_from_long(
    table: pd.DataFrame,
    subject: str,
    method: str,
    value: str,
    method_a: str,
    method_b: str,
    *,
    file: str | None = None,
) -> MethodPairs:
    """The pairs of a long table: one row per patient and method, a method column and a value column.

    Parameters
    ----------
    table
        The table with normalised column names, indexed by spreadsheet row.
    subject, method, value
        Columns naming the patient, the method and holding the measurement.
    method_a, method_b
        The two labels in the method column to compare (case-insensitive); differences are B − A. Rows of
        other methods are ignored and counted in `notes`.
    file
        File name for messages.

    Returns
    -------
    MethodPairs
        Patients measured by only one of the two methods (or whose value is missing) are in `dropped`.

    Raises
    ------
    InputError
        A column is missing, a method label is not in the table, or a patient has two rows of one method.
    """
    _require_columns(table, (subject, method, value), file)
    labels = table[method].astype("string").str.strip()
    wanted = {m.strip().lower(): m.strip() for m in (method_a, method_b)}
    if len(wanted) < 2:
        raise InputError(f"method A and method B are the same method '{method_a}'", file=file, column=method)
    present = {str(m).lower(): str(m) for m in labels.dropna().unique()}
    for key, name in wanted.items():
        if key not in present:
            found = ", ".join(sorted(present.values())[:12]) or "none"
            raise InputError(
                f"no rows of method '{name}' (the column has: {found})", file=file, column=method
            )
    key_a, key_b = (m.strip().lower() for m in (method_a, method_b))
    lowered = labels.str.lower()
    notes = []
    other = lowered.notna() & ~lowered.isin([key_a, key_b])
    if other.any():
        names = ", ".join(sorted({str(v) for v in labels[other]})[:6])
        notes.append(f"{int(other.sum())} row(s) of other methods ({names}) are not used")
    unlabelled = lowered.isna()
    if unlabelled.any():
        notes.append(f"{int(unlabelled.sum())} row(s) without a method are not used")
    rows = table[lowered.isin([key_a, key_b]).fillna(False).to_numpy(bool)]
    ids = _patient_ids(rows[subject])
    dropped = [DroppedPair((row,), "no patient") for row in _rows(rows.index[ids.isna().to_numpy(bool)])]
    rows, ids = rows[ids.notna().to_numpy(bool)], ids.dropna()
    method_of = rows[method].astype("string").str.strip().str.lower()
    _refuse_repeated(ids + "\x00" + method_of, file, " and method")
    values, value_notes = _values(rows, value, file)
    wide = pd.DataFrame({"patient": ids, "method": method_of, "value": values, "row": rows.index})
    a, b = [], []
    for _, measured in wide.groupby("patient", sort=False):
        by_method = measured.set_index("method")
        value_a = by_method["value"].get(key_a, np.nan)
        value_b = by_method["value"].get(key_b, np.nan)
        if np.isnan(value_a) or np.isnan(value_b):
            missing = [wanted[k] for k, v in ((key_a, value_a), (key_b, value_b)) if np.isnan(v)]
            reason = (
                "no value of either method" if len(missing) == 2 else f"no value of method '{missing[0]}'"
            )
            dropped.append(DroppedPair(_rows(pd.Index(measured["row"])), reason))
        else:
            a.append(float(value_a))
            b.append(float(value_b))
    return MethodPairs(
        wanted[key_a],
        wanted[key_b],
        tuple(a),
        tuple(b),
        tuple(sorted(dropped, key=lambda d: d.rows)),
        tuple(value_notes + notes),
    )


def read_method_pairs(
    source: str | Path | bytes,
    name: str,
    subject: str,
    method_a: str,
    method_b: str,
    *,
    method: str | None = None,
    value: str | None = None,
) -> MethodPairs:
    """Read a CSV/XLSX table of two methods' values: wide (A and B are columns) or long (with `method` and
    `value`, A and B are labels in the method column).

    Parameters
    ----------
    source
        A path or the file's bytes.
    name
        The file name shown in messages.
    subject
        The patient column (names are matched case-insensitively).
    method_a, method_b
        Method A and B: columns (wide) or method labels (long); differences are B − A.
    method, value
        Both or neither: the long layout's method and value columns.

    Returns
    -------
    MethodPairs
        Cells that are formulas without a computed value are left out and listed in `notes`.

    Raises
    ------
    InputError
        The file cannot be read, a column is missing, or only one of `method` and `value` is given.
    """
    from ovcf_core.io import read_table
    from ovcf_core.schema import normalize_columns
    from ovcf_core.table_notes import table_notes, take_uncached_formulas

    if (method is None) != (value is None):
        raise InputError("give both the method and the value column (long table) or neither (wide table)")

    def key(column: str) -> str:
        return column.strip().lower()

    if method is not None and value is not None:
        columns = (key(subject), key(method), key(value))
    else:
        columns = (key(subject), key(method_a), key(method_b))
    read = read_table(source, name, expect=columns)
    notes = [f"{name}: {note}" for note in table_notes(read)]
    table, formulas = take_uncached_formulas(normalize_columns(read), columns)
    notes += [
        f"{name}: row {row}, column '{column}': {text}; the pair is left out"
        for row, column, text in formulas
    ]
    if method is not None and value is not None:
        pairs = pairs_from_long(table, key(subject), key(method), key(value), method_a, method_b, file=name)
    else:
        pairs = pairs_from_wide(table, key(subject), key(method_a), key(method_b), file=name)
    return replace(pairs, notes=tuple(notes) + pairs.notes)


@dataclass(frozen=True)
class TranslatedCutoff:
    """A published cut-off found with method A and the value it corresponds to with method B.

    `value_b` = cut-off + bias (with the bias CI); `value_b_regression` also accounts for a proportional
    bias: solving B − A = intercept + slope·(A + B)/2 for B at A = the cut-off.
    """

    threshold: PublishedThreshold
    value_b: float
    value_b_ci: tuple[float, float]
    value_b_regression: float

    def statement(self, method_a: str, method_b: str, unit: str | None = None) -> str:
        """One line, e.g. 'L1 110 HU by manual ≈ 118.8 HU [116.3, 121.3] by mask (cut-off + bias; ...)'."""
        t, lo, hi = self.threshold, *self.value_b_ci
        name = "L1" if t.measure == HU_L1 else t.measure.upper()
        u = f" {unit}" if unit else ""
        return (
            f"{name} {t.value:g}{u} by {method_a} ≈ {self.value_b:.4g}{u} [{lo:.4g}, {hi:.4g}] by {method_b} "
            "(cut-off + bias; CI of the bias)"
        )

    def to_dict(self) -> dict:
        """The cut-off's label, source and what it detects, and its value by each method."""
        t = self.threshold
        return {
            "cutoff": t.label, "measure": t.measure, "value_a": t.value, "value_b": self.value_b,
            "value_b_ci": list(self.value_b_ci), "value_b_regression": self.value_b_regression,
            "detects": t.detects, "applies_to": t.applies_to, "source": t.source,
        }  # fmt: skip


@dataclass(frozen=True)
class MethodAgreement:
    """Agreement of method B with method A on the same patients (differences B − A)."""

    pairs: MethodPairs
    indicator: str | None
    bland_altman: BlandAltman
    proportional: ProportionalBias
    icc2: IccForm | None
    icc3: IccForm | None
    cutoffs: tuple[TranslatedCutoff, ...]
    warnings: tuple[str, ...] = field(default=())
    synthetic: bool = False

    @property
    def unit(self) -> str | None:
        """The indicator's unit (HU, SD, %, or None for a ratio or an unnamed indicator)."""
        if self.indicator == HU_L1:
            return "HU"
        found = Indicator.from_column(self.indicator) if self.indicator else None
        return found.unit if found and found.unit != "ratio" else None

    @property
    def difference(self) -> str:
        """The direction of every difference, e.g. 'mask − manual'."""
        return f"{self.pairs.method_b} − {self.pairs.method_a}"

    def to_dict(self) -> dict:
        """The `ovcf agreement --json` contract (DESIGN §4b; `schemas/agreement.schema.json`)."""
        ba, pb = self.bland_altman, self.proportional
        out = {
            "indicator": self.indicator, "unit": self.unit, "method_a": self.pairs.method_a,
            "method_b": self.pairs.method_b, "difference": self.difference, "level": ba.level,
            "n_pairs": ba.n, "n_dropped": len(self.pairs.dropped),
            "dropped": [d.to_dict() for d in self.pairs.dropped],
            "bias": ba.bias, "bias_ci": list(ba.bias_ci), "sd_difference": ba.sd,
            "loa_lower": ba.lower, "loa_lower_ci": list(ba.lower_ci), "loa_upper": ba.upper,
            "loa_upper_ci": list(ba.upper_ci), "loa_ci_method": ba.loa_ci_method,
            "proportional_bias": pb.to_dict(),
            "icc": {f.form: f.to_dict() for f in (self.icc2, self.icc3) if f is not None},
            "cutoffs": [
                {**c.to_dict(), "statement": c.statement(self.pairs.method_a, self.pairs.method_b, self.unit)}
                for c in self.cutoffs
            ],
            "warnings": list(self.warnings), "synthetic": self.synthetic, "note": NOTE,
        }  # fmt: skip
        if self.synthetic:
            out["note"] = f"{SYNTHETIC_NOTE} {NOTE}"
        return out

    def summary_frame(self) -> pd.DataFrame:
        """One row per statistic: what it is, the estimate and its CI (for the page and the report)."""
        ba, pb = self.bland_altman, self.proportional
        rows = [
            ("pairs", float(ba.n), None, None),
            (f"bias ({self.difference})", ba.bias, *ba.bias_ci),
            ("SD of the differences", ba.sd, None, None),
            ("lower limit of agreement (bias − 1.96 SD)", ba.lower, *ba.lower_ci),
            ("upper limit of agreement (bias + 1.96 SD)", ba.upper, *ba.upper_ci),
            ("proportional bias: slope of difference on mean", pb.slope, *pb.slope_ci),
        ]
        for form, text in ((self.icc2, "absolute agreement"), (self.icc3, "consistency")):
            if form is not None:
                rows.append((f"ICC({form.form[3]},1) {text}", form.icc, *form.ci))
        return pd.DataFrame(rows, columns=["statistic", "estimate", "ci_low", "ci_high"])

    def cutoff_frame(self) -> pd.DataFrame:
        """The translated cut-offs: published value (method A), the value by method B with its CI."""
        return pd.DataFrame(
            [
                {"cut-off": c.threshold.label, "detects": c.threshold.detects,
                 f"by {self.pairs.method_a}": c.threshold.value, f"by {self.pairs.method_b}": c.value_b,
                 "ci_low": c.value_b_ci[0], "ci_high": c.value_b_ci[1],
                 f"by {self.pairs.method_b} (regression)": c.value_b_regression}
                for c in self.cutoffs
            ]
        )  # fmt: skip


def _published_for(indicator: str | None) -> tuple[tuple[PublishedThreshold, ...], list[str]]:
    """The published cut-offs of an indicator and what the user should know about applying them."""
    if indicator in (HU_L1, "hu"):
        notes = []
        if indicator == "hu":
            notes.append(
                "the published HU cut-offs are for L1 alone; these values are the L1-L4 average, so their "
                "translation assumes the same bias at L1"
            )
        return thresholds_for("hu_l1"), notes
    if indicator == "vbq":
        return thresholds_for("vbq"), []
    return (), []


def _translate(threshold: PublishedThreshold, ba: BlandAltman, pb: ProportionalBias) -> TranslatedCutoff:
    """Cut-off + bias (CI from the bias CI) and the proportional-bias-aware value."""
    value = threshold.value
    regression = float("nan")
    if np.isfinite(pb.slope) and pb.slope != 2:
        regression = (value * (1 + pb.slope / 2) + pb.intercept) / (1 - pb.slope / 2)
    return TranslatedCutoff(
        threshold,
        value + ba.bias,
        (value + ba.bias_ci[0], value + ba.bias_ci[1]),
        float(regression),
    )


def _iccs(a: np.ndarray, b: np.ndarray, level: float) -> tuple[IccForm | None, IccForm | None, list[str]]:
    """ICC(2,1) and ICC(3,1) of the two methods as two raters, or None and why."""
    try:
        result = icc_wide(np.column_stack([a, b]), level)
    except OvcfError as exc:
        return None, None, [f"ICC not computed: {exc}"]
    return result["ICC2"], result["ICC3"], []


def method_agreement(
    pairs: MethodPairs,
    *,
    indicator: str | None = None,
    level: float = 0.95,
    loa_ci: str = "bland_altman_1999",
    synthetic: bool = False,
) -> MethodAgreement:
    """Bland–Altman, proportional bias, ICCs and translated cut-offs of method B against method A.

    Parameters
    ----------
    pairs
        The complete pairs (`pairs_from_wide` or `pairs_from_long`).
    indicator
        One of `INDICATORS`, or None; `hu_l1`/`hu` and `vbq` get their published cut-offs translated.
    level
        Confidence level of every CI.
    loa_ci
        CI method of the limits of agreement (`stats.agreement.LOA_CI_METHODS`).
    synthetic
        Whether the values come from shipped synthetic sample data (said in the JSON's note).

    Returns
    -------
    MethodAgreement
        With warnings for a proportional bias (p < 0.05), for left-out pairs and for the L1-only HU cut-offs.

    Raises
    ------
    AnalysisError
        Fewer than 3 complete pairs.
    InputError
        An unknown indicator or CI method.
    """
    if indicator is not None and indicator not in INDICATORS:
        raise InputError(f"unknown indicator '{indicator}' (use one of: {', '.join(INDICATORS)})")
    if loa_ci not in LOA_CI_METHODS:
        raise InputError(f"unknown CI method '{loa_ci}' (use one of: {', '.join(LOA_CI_METHODS)})")
    if pairs.n < MIN_PAIRS:
        left = f"; {len(pairs.dropped)} left out for a missing value" if pairs.dropped else ""
        raise AnalysisError(
            f"method agreement needs at least {MIN_PAIRS} patients with both methods' values "
            f"(has {pairs.n}{left})"
        )
    a, b = np.asarray(pairs.a, dtype=float), np.asarray(pairs.b, dtype=float)
    ba = bland_altman(b, a, level=level, loa_ci=loa_ci)
    pb = proportional_bias(b, a, level=level)
    icc2, icc3, warnings = _iccs(a, b, level)
    published, notes = _published_for(indicator)
    warnings.extend(notes)
    if pairs.dropped:
        warnings.append(
            f"{len(pairs.dropped)} patient(s) left out for a missing value (rows listed under 'dropped')"
        )
    if np.isfinite(pb.p_value) and pb.p_value < PROPORTIONAL_P:
        warnings.append(
            f"proportional bias: the difference changes with the level (slope {pb.slope:.3g}, "
            f"p = {pb.p_value:.2g}); one bias does not fit the whole range, so the translated cut-offs by "
            "the bias are approximate (see value_b_regression)"
        )
    cutoffs = tuple(_translate(t, ba, pb) for t in published)
    return MethodAgreement(pairs, indicator, ba, pb, icc2, icc3, cutoffs, tuple(warnings), synthetic)


def synthetic_pairs(n: int = 60, seed: int = 20261202) -> pd.DataFrame:
    """A synthetic wide table of L1 HU by hand and from a mask (shipped as `sample_data/SAMPLE_FILE`).

    The mask's eroded 3-D region reads a little higher (+6 HU) with a small proportional part (+3% of the
    level) and less noise than a hand-drawn oval; three patients have no mask value (segmentation failed),
    so the page shows how left-out pairs are counted. Synthetic: not patients.
    """
    rng = np.random.default_rng(seed)
    truth = rng.normal(120, 40, n).clip(20, 260)
    manual = truth + rng.normal(0, 8, n)
    mask = 6 + 1.03 * truth + rng.normal(0, 5, n)
    table = pd.DataFrame(
        {
            "patient_id": [f"SYN{i + 1:03d}" for i in range(n)],
            "hu_l1_manual": manual.round(1),
            "hu_l1_mask": mask.round(1),
        }
    )
    table.loc[rng.choice(n, size=3, replace=False), "hu_l1_mask"] = np.nan
    return table


if __name__ == "__main__":  # regenerate the shipped sample: python -m ovcf_core.method_agreement
    from ovcf_core import paths

    synthetic_pairs().to_csv(paths.SAMPLE_DATA / SAMPLE_FILE, index=False)
