"""Two raters' (or repeated) measurements of the same patients, for inter-rater ICCs and Bland–Altman plots.

A ratings table has `patient_id`, `rater` and either the indicator columns (t_score, hu, vbq, rcsa, fi) or
the raw per-vertebra measurements of DESIGN §4, from which each rater's indicators are computed. It is
held as a long table (patient, rater, indicator, value) so each indicator's ICC is `icc_long` on its rows.

`ovcf icc` reads a different table — one value column named on the command line — and calls `icc_long`
directly; both end in the same ICC function.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ovcf_core import io
from ovcf_core.cohort_upload import is_raw_table
from ovcf_core.errors import InputError, OvcfError
from ovcf_core.schema import INDICATOR_COLUMNS, PATIENT_ID, normalize_columns, validate_cohort
from ovcf_core.stats.icc import IccResult, icc_long

RATER = "rater"
MARKER, VALUE = "marker", "value"


@dataclass(frozen=True)
class Ratings:
    """Each indicator measured by several raters (or repeatedly): a long table and its raters/markers."""

    long: pd.DataFrame  # columns patient_id, rater, marker, value
    raters: tuple[str, ...]
    markers: tuple[str, ...]

    @property
    def patients(self) -> int:
        """Count the patients with at least one rating."""
        return int(self.long[PATIENT_ID].nunique())

    def paired(self, marker: str, first: str, second: str) -> tuple[np.ndarray, np.ndarray]:
        """Return two raters' values of `marker` for the patients both measured, aligned by patient.

        A rater's repeated values of one patient are averaged.

        Parameters
        ----------
        marker
            The indicator column, e.g. ``vbq``.
        first, second
            The two raters' names.

        Returns
        -------
        tuple of numpy.ndarray
            The first and the second rater's values, one pair per patient (empty when a rater is absent).
        """
        wide = self.long[self.long[MARKER] == marker].pivot_table(
            index=PATIENT_ID, columns=RATER, values=VALUE, aggfunc="mean"
        )
        both = wide[[first, second]].dropna() if {first, second} <= set(wide.columns) else wide.iloc[:0]
        return both[first].to_numpy(float), both[second].to_numpy(float)


def ratings_from_indicators(per_rater: dict[str, pd.DataFrame]) -> Ratings:
    """Build ratings from one indicator table per rater.

    Parameters
    ----------
    per_rater
        Rater name to a table with patient_id and indicator columns.

    Returns
    -------
    Ratings
        The long table and the raters and indicators found.

    Raises
    ------
    InputError
        When no rater has any indicator value.
    """
    frames = []
    for rater, table in per_rater.items():
        present = [c for c in INDICATOR_COLUMNS if c in table.columns and table[c].notna().any()]
        melted = table[[PATIENT_ID, *present]].melt(id_vars=PATIENT_ID, var_name=MARKER, value_name=VALUE)
        melted.insert(1, RATER, rater)
        frames.append(melted.dropna(subset=[VALUE]))
    long = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()
    if long.empty:
        raise InputError("no indicator values to compare between raters")
    markers = tuple(m for m in INDICATOR_COLUMNS if m in set(long[MARKER]))
    return Ratings(long, tuple(per_rater), markers)


def _indicators_of(rows: pd.DataFrame, name: str) -> pd.DataFrame:
    """Return one rater's indicator table: computed from raw measurements, or validated as given."""
    if is_raw_table(rows):
        from ovcf_core.raw import cohort_from_raw

        cohort, _ = cohort_from_raw(rows, name)
        return cohort
    clean, _ = validate_cohort(rows, require_outcome=False)
    return clean


def ratings_from_table(table: pd.DataFrame, name: str) -> Ratings:
    """Build ratings from a table with `patient_id`, `rater` and indicator (or raw measurement) columns.

    Parameters
    ----------
    table
        The table as read (one row per patient and rater).
    name
        The file name, for messages.

    Returns
    -------
    Ratings
        Each rater's indicators, computed from raw measurements when the table holds them.

    Raises
    ------
    InputError
        naming the file `name` when the patient_id or rater column is missing, when fewer than two raters
        are named, or when no indicator value can be compared.
    """
    table = normalize_columns(table)
    if PATIENT_ID not in table.columns:
        raise InputError("has no patient_id column", file=name, column=PATIENT_ID)
    if RATER not in table.columns:
        raise InputError("has no rater column (one row per patient and rater)", file=name, column=RATER)
    names = table[RATER].astype("string").str.strip()
    raters = [r for r in names.dropna().unique() if r]
    if len(raters) < 2:
        raise InputError(f"needs two or more raters, found {len(raters)}", file=name, column=RATER)
    per_rater = {str(r): _indicators_of(table[names == r].drop(columns=RATER), name) for r in raters}
    return ratings_from_indicators(per_rater)


def read_ratings(source: io.Source, name: str) -> Ratings:
    """Read ratings from a CSV/XLSX file or its bytes (a raw or indicator table with a `rater` column).

    `source` is read by `io.read_table` and `name` names it in messages; the ratings and the refusals
    (`InputError`, also when the file cannot be read) are those of `ratings_from_table`.
    """
    return ratings_from_table(io.read_table(source, name, expect=(PATIENT_ID, RATER)), name)


@dataclass(frozen=True)
class IndicatorIcc:
    """The ICC of each indicator that has one, and why the others have none."""

    results: dict[str, IccResult]
    errors: dict[str, str]


def icc_per_indicator(ratings: Ratings) -> IndicatorIcc:
    """Compute the Shrout & Fleiss ICCs (with 95% CIs) of every indicator, each on its own patients.

    Parameters
    ----------
    ratings
        The raters' indicators.

    Returns
    -------
    IndicatorIcc
        The ICCs by indicator; an indicator whose ICC cannot be computed gets its reason in `errors`
        instead.
    """
    results: dict[str, IccResult] = {}
    errors: dict[str, str] = {}
    for marker in ratings.markers:
        subset = ratings.long[ratings.long[MARKER] == marker]
        try:
            results[marker] = icc_long(subset, PATIENT_ID, RATER, VALUE)
        except OvcfError as exc:
            errors[marker] = str(exc)
    return IndicatorIcc(results, errors)
