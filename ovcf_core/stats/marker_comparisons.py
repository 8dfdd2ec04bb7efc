"""Tests of every two markers' ROC curves on the same patients, with their p-values adjusted.

DeLong's test comes with the cohort analysis (`CohortAnalysis.auc_comparisons`); pROC's stratified bootstrap
test of the AUCs (D) and Venkatraman's permutation test of the curves (E) are run here, one pair at a time
(`resampled_comparison`), so the dashboard, the CLI and the report run the same code. `compare_markers`
tests every pair by the chosen method and adjusts the p-values (Holm or Benjamini–Hochberg) over them.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from ovcf_core.constants import ANALYSIS_SEED
from ovcf_core.errors import AnalysisError
from ovcf_core.schema import OUTCOME
from ovcf_core.stats.roc import AucComparison, PairedScores, delong_auc
from ovcf_core.stats.roc_tests import adjust_p, bootstrap_auc_test, venkatraman_test

if TYPE_CHECKING:
    from ovcf_core.stats.analysis import CohortAnalysis

RESAMPLED_TESTS = ("bootstrap", "venkatraman")
"""The tests of two ROC curves that resample (DeLong's needs none)."""
COMPARISON_METHODS = ("delong", *RESAMPLED_TESTS)

PairKey = tuple[tuple[str, str], tuple[str, str], str, int]
"""What identifies one resampled test: the markers, their directions, the method and the resamples."""
Memo = Callable[[PairKey, Callable[[], AucComparison | None]], AucComparison | None]
"""A cache of resampled tests: given a `PairKey` and the computation, return its (maybe remembered) result."""


@dataclass(frozen=True)
class ComparisonRow:
    """One test of two markers' ROC curves, as the comparisons table shows it.

    `a` and `b` are the markers' columns, `statistic` DeLong's z, the bootstrap test's D or Venkatraman's
    E, `n` the patients with both values; `p_adjusted` is the p over all comparisons (the raw p when not
    adjusted) and `pauc_p` the partial AUCs' test, when asked for.
    """

    a: str
    b: str
    auc_a: float | None
    auc_b: float | None
    statistic: float | None  # DeLong's z, the bootstrap test's D or Venkatraman's E
    p_value: float | None
    n: int | None
    p_adjusted: float | None = None
    pauc_p: float | None = None


def comparison_rows(analysis: CohortAnalysis) -> list[ComparisonRow]:
    """List the analysis' comparisons of every two markers, with their adjusted p and the partial AUCs' p.

    The adjusted and partial-AUC p-values are used only when the analysis has one per comparison; without
    adjusted values the row's adjusted p is its raw p.

    Parameters
    ----------
    analysis : CohortAnalysis
        The cohort analysis whose `auc_comparisons` (by its `roc_test`) are listed.

    Returns
    -------
    list of ComparisonRow
        One row per comparison, in the analysis' order.
    """
    adjusted = analysis.p_adjusted if len(analysis.p_adjusted) == len(analysis.auc_comparisons) else None
    pauc = (
        analysis.pauc_p if analysis.pauc_p and len(analysis.pauc_p) == len(analysis.auc_comparisons) else None
    )
    return [
        ComparisonRow(
            c.a,
            c.b,
            c.auc_a,
            c.auc_b,
            c.z,
            c.p_value,
            c.n,
            adjusted[i] if adjusted else c.p_value,
            pauc[i] if pauc else None,
        )
        for i, c in enumerate(analysis.auc_comparisons)
    ]


def resampled_comparison(
    pair: PairedScores,
    method: str,
    n: int,
    *,
    seed: int = ANALYSIS_SEED,
    progress: Callable[[int, int], None] | None = None,
) -> AucComparison | None:
    """Test two markers' ROC curves on the patients having both, by pROC's bootstrap or Venkatraman's test.

    The bootstrap test (`roc_tests.bootstrap_auc_test`) gives D and both AUCs; Venkatraman's permutation
    test (`roc_tests.venkatraman_test`) gives E, and the two AUCs beside it are DeLong's
    (`roc.delong_auc`) on the same patients (those with the outcome and both markers), so the row always
    shows the AUCs the test compared.

    Parameters
    ----------
    pair : PairedScores
        The outcome, the two markers (NaN where missing), their directions and names.
    method : str
        "bootstrap" or "venkatraman" (`RESAMPLED_TESTS`).
    n : int
        Resamples (bootstrap) or permutations (Venkatraman).
    seed : int
        Seed of the resampling, so that a run can be repeated exactly.
    progress : callable, optional
        Called with (done, total) as the resampling goes.

    Returns
    -------
    AucComparison or None
        Both AUCs, the statistic (D or E, in the `z` field), its p and the patients used; None when too few
        cases or controls have both markers.

    Raises
    ------
    AnalysisError
        For a `method` not in `RESAMPLED_TESTS`.
    """
    if method not in RESAMPLED_TESTS:
        raise AnalysisError(
            f"unknown resampled ROC test '{method}' (use one of {', '.join(RESAMPLED_TESTS)})"
        )
    try:
        if method == "bootstrap":
            t = bootstrap_auc_test(pair, n_boot=n, seed=seed, progress=progress)
            return AucComparison(*pair.names, t.auc_a, t.auc_b, t.d, t.p_value, t.n)
        v = venkatraman_test(pair, n_perm=n, seed=seed, progress=progress)
    except AnalysisError:
        return None
    y, a, b = pair.y, pair.score_a, pair.score_b
    both = np.isfinite(y) & np.isfinite(a) & np.isfinite(b)
    auc_a = delong_auc(y[both], a[both], pair.direction_a).auc
    auc_b = delong_auc(y[both], b[both], pair.direction_b).auc
    return AucComparison(*pair.names, auc_a, auc_b, v.e, v.p_value, v.n)


def part_progress(report: Callable[[float], None], part: int, parts: int) -> Callable[[int, int], None]:
    """Turn part `part` of `parts` equal parts' (done, total) progress into the whole's fraction done."""
    return lambda done, total: report((part + done / total) / parts)


def _with_adjusted(rows: Sequence[ComparisonRow], p_adjust: str) -> list[ComparisonRow]:
    """Set each row's adjusted p: `p_adjust` over all the rows' p-values."""
    adjusted = adjust_p([np.nan if r.p_value is None else r.p_value for r in rows], p_adjust)
    return [dataclasses.replace(r, p_adjusted=p) for r, p in zip(rows, adjusted, strict=True)]


def compare_markers(
    table: pd.DataFrame,
    analysis: CohortAnalysis,
    method: str = "delong",
    p_adjust: str = "none",
    n: int = 2000,
    *,
    outcome: str = OUTCOME,
    seed: int = ANALYSIS_SEED,
    progress: Callable[[float], None] | None = None,
    memo: Memo | None = None,
) -> list[ComparisonRow]:
    """Compare every two analysed markers' ROC curves by `method` and adjust the p-values over the pairs.

    DeLong's tests are the analysis' own (its partial-AUC p left out); the bootstrap and Venkatraman tests
    take `n` seeded resamples of each pair of markers with an AUC (`resampled_comparison`), and pairs with
    too few patients having both are left out. The p-values are then adjusted over the rows by `p_adjust`.

    Parameters
    ----------
    table : pandas.DataFrame
        The cohort the analysis was computed on.
    analysis : CohortAnalysis
        Its analysis: the markers with their AUC directions, and DeLong's tests.
    method : str
        "delong", "bootstrap" or "venkatraman" (`COMPARISON_METHODS`).
    p_adjust : str
        "none", "holm" or "fdr_bh" (`roc_tests.adjust_p`).
    n : int
        Resamples or permutations per pair (not used by DeLong).
    outcome : str
        The 0/1 outcome column.
    seed : int
        Seed of every pair's resampling.
    progress : callable, optional
        Called with the fraction of the pairs' resampling done, 0..1 (1 at the end, for every method).
    memo : callable, optional
        A cache of the pairs' tests (`Memo`): called with each pair's `PairKey` and its computation. The
        dashboard keeps them in the session; by default each test is run.

    Returns
    -------
    list of ComparisonRow
        One row per pair tested, in the markers' order, `p_adjusted` set.

    Raises
    ------
    AnalysisError
        For an unknown `method` or `p_adjust`.
    """
    if method not in COMPARISON_METHODS:
        raise AnalysisError(f"unknown ROC test '{method}' (use one of {', '.join(COMPARISON_METHODS)})")
    report = progress or (lambda done: None)
    if method == "delong":
        found = [dataclasses.replace(r, pauc_p=None) for r in comparison_rows(analysis)]
    else:
        y = table[outcome].to_numpy(float)
        pairs = list(itertools.combinations([m for m in analysis.markers if m.auc is not None], 2))
        found = []
        for i, (a, b) in enumerate(pairs):
            pair = PairedScores(
                y, table[a.marker].to_numpy(float), table[b.marker].to_numpy(float),
                a.auc.direction, b.auc.direction, (a.marker, b.marker),  # type: ignore[union-attr]
            )  # fmt: skip
            run = functools.partial(
                resampled_comparison,
                pair,
                method,
                n,
                seed=seed,
                progress=part_progress(report, i, len(pairs)),
            )
            key = (pair.names, (str(pair.direction_a), str(pair.direction_b)), method, n)
            c = run() if memo is None else memo(key, run)
            if c is not None:
                found.append(ComparisonRow(c.a, c.b, c.auc_a, c.auc_b, c.z, c.p_value, c.n))
    report(1.0)
    return _with_adjusted(found, p_adjust)
