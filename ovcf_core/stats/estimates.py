"""What the statistics' results share, defined once: the CI type, `to_dict`, resampling loops, z tests.

Every result class of `stats` (AUC, ICC form, odds ratio, cut-off, Bland-Altman, ...) holds estimates with
confidence intervals and turns itself into JSON-ready values the same way; every bootstrap or permutation
loop reports its progress about every 1% and reads its CI off the draws' percentiles the same way; and
every test of two correlated estimates (DeLong's, the bootstrap's D, the partial AUC's) turns a difference
and its spread into z and p with the same rule for a spread of zero. Each of these lives here, so that the
modules do not write it out again.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Iterator
from dataclasses import asdict
from typing import TYPE_CHECKING, Any, TypeAlias, cast

import numpy as np

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

CI: TypeAlias = tuple[float, float]
"""A confidence interval (low, high)."""

Progress: TypeAlias = Callable[[int, int], None]
"""A resampling loop's progress callback: (resamples done, resamples in all)."""


def json_ready(value: Any) -> Any:
    """Convert a result's values for JSON: tuples to lists, enums to names (dicts, lists recursively)."""
    if isinstance(value, dict):
        return {key: json_ready(v) for key, v in value.items()}
    if isinstance(value, (tuple, list)):
        return [json_ready(v) for v in value]
    if isinstance(value, enum.StrEnum):
        return str(value)
    return value


class JsonResult:
    """Give a frozen result dataclass its `to_dict`: every field in order, as JSON-ready values."""

    def to_dict(self) -> dict[str, Any]:
        """Return the fields as JSON-ready values: CIs and other tuples as lists, enums as their names."""
        return cast("dict[str, Any]", json_ready(asdict(cast("DataclassInstance", self))))


def resamples(total: int, progress: Progress | None = None) -> Iterator[int]:
    """Count a resampling loop's rounds 0..total-1, calling `progress(done, total)` after about every 1%.

    The call for a round comes after the loop's body for it has run, before the next round starts.
    """
    step = max(1, total // 100)
    for i in range(total):
        yield i
        if progress is not None and (i + 1) % step == 0:
            progress(i + 1, total)


def stratified_resample(rng: np.random.Generator, y: np.ndarray) -> np.ndarray:
    """Draw one stratified bootstrap resample's indices: the cases (y == 1), then the controls (y == 0).

    Each group is drawn with replacement from itself, keeping its size (pROC's ``boot.stratified = TRUE``),
    so every resample has the cohort's numbers of cases and controls.
    """
    cases, controls = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    return np.concatenate(
        [
            rng.choice(cases, size=len(cases), replace=True),
            rng.choice(controls, size=len(controls), replace=True),
        ]
    )


def percentile_ci(draws: np.ndarray, level: float = 0.95) -> CI:
    """Read the percentile CI at `level` off resampled values (numpy's linear quantiles, R's type 7)."""
    alpha = (1 - level) / 2
    low, high = np.quantile(draws, [alpha, 1 - alpha])
    return float(low), float(high)


def difference_z(difference: float, sd: float) -> tuple[float, float]:
    """Turn a difference of two correlated estimates and its SD into z and the two-sided normal p.

    With no spread (sd <= 0) equal estimates give z = 0, p = 1 and unequal ones an infinite z, p = 0 (as
    pROC's tests); a NaN spread gives a NaN z.
    """
    from ovcf_core.stats.distributions import normal_two_sided_p  # scipy.special: not for a result type

    if sd <= 0:
        return (0.0, 1.0) if difference == 0 else (float(np.sign(difference) * np.inf), 0.0)
    z = float(difference / sd)
    return z, normal_two_sided_p(z)
