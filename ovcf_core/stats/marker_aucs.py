"""Each analysed marker's AUC with a stratified bootstrap percentile CI beside its DeLong CI.

The cohort analysis gives DeLong's CI of every AUC (and, with `bootstrap`, the bootstrap CIs too); a page
that asks for the bootstrap CIs afterwards computes them here, one marker at a time, so that each can be
remembered (`memo`) and a progress bar can follow the resampling.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ovcf_core.constants import ANALYSIS_SEED
from ovcf_core.errors import OvcfError
from ovcf_core.schema import OUTCOME
from ovcf_core.stats.marker_comparisons import part_progress
from ovcf_core.stats.roc import bootstrap_auc_ci

if TYPE_CHECKING:
    import pandas as pd

    from ovcf_core.stats.analysis import CohortAnalysis
    from ovcf_core.stats.roc import AucResult

MarkerKey = tuple[str, str, int]
"""What identifies one marker's bootstrap CI: the marker, its direction and the resamples."""
Memo = Callable[[MarkerKey, Callable[[], tuple[float, float]]], tuple[float, float]]
"""A cache of the CIs: given a `MarkerKey` and the computation, return its (maybe remembered) CI."""


@dataclass(frozen=True)
class BootstrapAuc:
    """One marker's AUC (with its DeLong CI) and its bootstrap 95% CI, or why there is none (`error`)."""

    marker: str
    auc: AucResult
    bootstrap_ci: tuple[float, float] | None
    error: str | None = None


def bootstrap_aucs(
    table: pd.DataFrame,
    analysis: CohortAnalysis,
    n_boot: int,
    *,
    outcome: str = OUTCOME,
    seed: int = ANALYSIS_SEED,
    progress: Callable[[float], None] | None = None,
    memo: Memo | None = None,
) -> list[BootstrapAuc]:
    """Compute the bootstrap 95% CI of every analysed marker's AUC (`roc.bootstrap_auc_ci`).

    Parameters
    ----------
    table : pandas.DataFrame
        The cohort the analysis was computed on.
    analysis : CohortAnalysis
        Its analysis: the markers with a finite AUC, and the direction of each.
    n_boot : int
        Resamples per marker (cases and controls resampled separately, seeded).
    outcome : str
        The 0/1 outcome column.
    seed : int
        Seed of every marker's resampling.
    progress : callable, optional
        Called with the fraction done, 0..1 (1 at the end).
    memo : callable, optional
        A cache of the CIs (`Memo`), called with each marker's `MarkerKey` and its computation; by default
        each CI is computed.

    Returns
    -------
    list of BootstrapAuc
        One per marker with a finite AUC, in the analysis' order; a marker whose resampling fails has no
        CI and the reason in `error`.
    """
    report = progress or (lambda done: None)
    markers = [m for m in analysis.markers if m.auc is not None and math.isfinite(m.auc.auc)]
    y = table[outcome].to_numpy(float)
    found = []
    for i, m in enumerate(markers):
        auc: AucResult = m.auc  # type: ignore[assignment]
        run = functools.partial(
            bootstrap_auc_ci, y, table[m.marker].to_numpy(float), auc.direction, n_boot, seed=seed,
            progress=part_progress(report, i, len(markers)),
        )  # fmt: skip
        try:
            ci = run() if memo is None else memo((m.marker, str(auc.direction), n_boot), run)
        except OvcfError as exc:
            found.append(BootstrapAuc(m.marker, auc, None, str(exc)))
            continue
        found.append(BootstrapAuc(m.marker, auc, (float(ci[0]), float(ci[1]))))
    report(1.0)
    return found
