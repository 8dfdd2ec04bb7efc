"""The cohort analysis repeated within each stratum of one column (`ovcf analyze --stratify COL`).

Indicators measured on different scanners are not interchangeable (VBQ reads about 2.77 at 1.5 T against
2.20 at 3 T; HU rise with contrast), so a pooled AUC or odds ratio can hide a protocol effect. Each
stratum (e.g. each `magnetic_field_strength_t` of an `ovcf batch` output joined to the cohort) gets the very
same analysis as the whole cohort (`stats.analysis.analyze_cohort`, same options). A stratum with fewer
than `min_per_group` cases or controls is not analysed: it gets a note saying so instead of numbers that
could not be trusted. Rows with no value in the column are counted and left out.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pandas as pd

from ovcf_core.errors import InputError, OvcfError
from ovcf_core.schema import OUTCOME

MIN_PER_GROUP = 10  # cases and controls each: fewer cannot support an AUC CI or a logistic model
MAX_STRATA = 20  # more distinct values than this is a continuous column, not a stratification


@dataclass(frozen=True)
class Stratum:
    """One stratum: its value, its counts, and its analysis (`analyze` JSON) or why there is none."""

    value: str
    n: int
    n_cases: int
    n_controls: int
    analysis: Any | None = None  # a CohortAnalysis
    note: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON values; `analysis` is the `analyze` contract object of the stratum, or null."""
        return {
            "value": self.value,
            "n": self.n,
            "n_cases": self.n_cases,
            "n_controls": self.n_controls,
            "analysis": self.analysis.to_dict() if self.analysis is not None else None,
            "note": self.note,
        }


@dataclass(frozen=True)
class StratifiedAnalysis:
    """The analysis within each stratum of `column`, in the order of the strata's values."""

    column: str
    strata: tuple[Stratum, ...]
    n_missing: int
    min_per_group: int

    def to_dict(self) -> dict[str, Any]:
        """Return the `stratified` object of `ovcf analyze --stratify` (see `ovcf_core.stats.stratified`)."""
        return {
            "column": self.column,
            "min_per_group": self.min_per_group,
            "n_missing": self.n_missing,
            "strata": [s.to_dict() for s in self.strata],
        }

    def to_frame(self) -> pd.DataFrame:
        """Return one row per stratum and marker: n, cases, AUC with its CI, OR, or the stratum's note."""
        rows = []
        for stratum in self.strata:
            base = {"stratum": stratum.value, "n": stratum.n, "cases": stratum.n_cases}
            if stratum.analysis is None:
                rows.append({**base, "marker": None, "note": stratum.note})
                continue
            for marker in stratum.analysis.to_dict()["markers"].values():
                rows.append(
                    {
                        **base,
                        "marker": marker.get("marker"),
                        "auc": marker.get("auc"),
                        "auc_ci": marker.get("auc_ci"),
                        "or": marker.get("or"),
                        "note": None,
                    }
                )
        return pd.DataFrame(rows)


def stratum_labels(values: pd.Series) -> pd.Series:
    """Label each cell with its stratum, so that one value written differently is one stratum.

    Parameters
    ----------
    values
        The stratifying column.

    Returns
    -------
    pandas.Series
        Numbers written as `%g` (3, 3.0, '3.00' and '3,0' are one stratum), other text trimmed; empty,
        missing and 'nan'/'n/a'/'none' cells are None. Same index as `values`.
    """

    def label(cell: object) -> str | None:
        if cell is None or cell is pd.NA or (isinstance(cell, float) and math.isnan(cell)):
            return None
        text = str(cell).strip()
        if not text or text.lower() in ("nan", "na", "n/a", "none"):
            return None
        try:
            number = float(text.replace(",", "."))
        except ValueError:
            return text
        return f"{number:g}" if math.isfinite(number) else text

    return pd.Series([label(cell) for cell in values.astype(object)], index=values.index, dtype=object)


def _order(value: str) -> tuple[int, float, str]:
    try:
        return (0, float(value), value)
    except ValueError:
        return (1, 0.0, value)


def analyze_by_stratum(
    table: pd.DataFrame,
    column: str,
    *,
    outcome: str = OUTCOME,
    min_per_group: int = MIN_PER_GROUP,
    analyze: Callable[..., Any] | None = None,
    **options: Any,
) -> StratifiedAnalysis:
    """Run the cohort analysis within each stratum of `column`.

    Parameters
    ----------
    table : pandas.DataFrame
        The validated cohort table (as `analyze_cohort` takes it).
    column : str
        The column whose values define the strata (e.g. 'magnetic_field_strength_t').
    outcome : str
        The outcome column (1 = case, 0 = control).
    min_per_group : int
        Strata with fewer cases or fewer controls than this get a note instead of an analysis.
    analyze : callable, optional
        The analysis run per stratum (default `stats.analysis.analyze_cohort`).
    **options
        Passed to `analyze` unchanged (markers, adjust, pair, bootstrap, ...).

    Returns
    -------
    StratifiedAnalysis
        One Stratum per distinct value, in numeric then text order.

    Raises
    ------
    InputError
        When `column` is not in the table, has no value, or has more than MAX_STRATA distinct values.
    """
    if analyze is None:
        from ovcf_core.stats.analysis import analyze_cohort

        analyze = analyze_cohort
    if column not in table.columns:
        raise InputError(f"--stratify names a column the table does not have: '{column}'", column=column)
    labels = stratum_labels(table[column])
    values = sorted({v for v in labels if v is not None}, key=_order)
    if not values:
        raise InputError(f"--stratify: column '{column}' has no values", column=column)
    if len(values) > MAX_STRATA:
        raise InputError(
            f"--stratify: column '{column}' has {len(values)} distinct values (at most {MAX_STRATA}); "
            "stratify by a categorical column such as the field strength",
            column=column,
        )
    strata = []
    for value in values:
        subset = table[labels == value]
        y = subset[outcome].to_numpy(float)
        n_cases, n_controls = int((y == 1).sum()), int((y == 0).sum())
        counts = {"value": value, "n": len(subset), "n_cases": n_cases, "n_controls": n_controls}
        if min(n_cases, n_controls) < min_per_group:
            note = (
                f"not analysed: {n_cases} case(s) and {n_controls} control(s); each needs at least "
                f"{min_per_group}"
            )
            strata.append(Stratum(**counts, note=note))
            continue
        try:
            strata.append(Stratum(**counts, analysis=analyze(subset, outcome=outcome, **options)))
        except OvcfError as exc:  # a stratum that cannot be analysed (no usable marker, ...): say why
            strata.append(Stratum(**counts, note=f"not analysed: {str(exc).splitlines()[0]}"))
    return StratifiedAnalysis(column, tuple(strata), int(labels.isna().sum()), min_per_group)
