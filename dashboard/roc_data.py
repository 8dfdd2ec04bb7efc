"""The ROC page's cached calls: metrics at a cut-off, cut-offs by a rule, binormal curves, resampled tests.

Quick results are cached with `st.cache_data`/`st.cache_resource` on the cohort's content digest `key`;
resampled ones (they draw a progress bar, which a cached function would replay) are kept in the session
(`_remembered`). The statistics are all in ovcf_core; this module only caches and tabulates them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from ovcf_core.report import content, figures, style, tables
from ovcf_core.schema import OUTCOME

if TYPE_CHECKING:
    from ovcf_core.stats.analysis import CohortAnalysis
    from ovcf_core.stats.binormal import BinormalRoc
    from ovcf_core.stats.cutoffs import CutoffResult

T = TypeVar("T")


@st.cache_data(show_spinner=False, max_entries=256)
def threshold_metrics(
    _table: pd.DataFrame, key: str, marker: str, threshold: float, direction: str, prevalence: float
):
    """Compute sensitivity, specificity, PPV, NPV and the confusion counts of `marker` at `threshold`."""
    from ovcf_core.stats.roc import metrics_at

    return metrics_at(
        _table[OUTCOME].to_numpy(float), _table[marker].to_numpy(float), threshold, direction, prevalence
    )


def bootstrap_table(
    table: pd.DataFrame, key: str, result: CohortAnalysis, n_boot: int, progress: Callable[[float], None]
) -> pd.DataFrame:
    """Tabulate each marker's AUC with its DeLong and bootstrap 95% CIs side by side; `progress` gets 0..1.

    `marker_aucs.bootstrap_aucs` computes the CIs; they are kept in the session (`_remembered`), not in
    `st.cache_data`: a cached function that draws (the progress bar) would be replayed, bar and all, on the
    next call.
    """
    from ovcf_core.stats.marker_aucs import bootstrap_aucs

    rows = bootstrap_aucs(
        table, result, n_boot, progress=progress,
        memo=lambda marker, compute: _remembered(("auc_bootstrap", key, *marker), compute),
    )  # fmt: skip
    for r in rows:
        if r.error is not None:
            st.warning(f"{style.marker_label(r.marker)}: {r.error}")
    return tables.bootstrap_auc_table(rows)


RESAMPLED = "_roc_resampled"  # session key: resampled results kept per session (they draw a progress bar)


def _remembered(args: tuple, compute: Callable[[], T]) -> T:
    """Run a resampling computation once per `args` in this session, drawing its progress bar.

    A cached function may not draw (the progress bar), so the resampled results are kept in the session
    instead (at most 64).
    """
    store = st.session_state.setdefault(RESAMPLED, {})
    if args not in store:
        if len(store) >= 64:
            store.pop(next(iter(store)))
        store[args] = compute()
    return store[args]


def cutoff_result(
    table: pd.DataFrame,
    key: str,
    marker: str,
    direction: str,
    rule: str,
    target: float | None,
    n_boot: int = 0,
    progress: Callable[[int, int], None] | None = None,
) -> CutoffResult:
    """Find the cut-off `rule` picks for `marker`, its likelihood ratios and (`n_boot` > 0) bootstrap CIs."""
    from ovcf_core.stats.cutoffs import CutoffChoice, cutoff_analysis

    return _remembered(
        ("cutoff", key, marker, direction, rule, target, n_boot),
        lambda: cutoff_analysis(
            table[OUTCOME].to_numpy(float), table[marker].to_numpy(float), direction,
            CutoffChoice(rule, target), n_boot=n_boot, progress=progress,
        ),
    )  # fmt: skip


@st.cache_resource(show_spinner=False, max_entries=32)
def binormal_curve(_table: pd.DataFrame, key: str, marker: str, direction: str) -> BinormalRoc:
    """Smooth `marker`'s ROC curve binormally as pROC does (AnalysisError when it cannot be smoothed)."""
    from ovcf_core.stats.binormal import binormal_roc

    return binormal_roc(_table[OUTCOME].to_numpy(float), _table[marker].to_numpy(float), direction)


def cutoff_figure(
    table: pd.DataFrame, marker: str, result: CohortAnalysis, cut: CutoffResult, rule: str,
    smooth: BinormalRoc | None,
) -> go.Figure:  # fmt: skip
    """Build `marker`'s ROC curve with the rule's cut-off marked.

    Bootstrap CIs are drawn as error bars when computed and, when given, the binormal-smoothed curve beside
    it.
    """
    trace = next(
        t for t in content.roc_traces(result, table) if t.label == style.marker_label(marker, unit=False)
    )
    return figures.roc_cutoff_figure(
        trace, threshold=cut.threshold, sensitivity=cut.sensitivity, specificity=cut.specificity,
        rule=rule, marker=marker, sensitivity_ci=cut.sensitivity_ci, specificity_ci=cut.specificity_ci,
        smooth=None if smooth is None else (1 - smooth.specificity, smooth.sensitivity),
    )  # fmt: skip


def comparison_table(
    table: pd.DataFrame, key: str, result: CohortAnalysis, method: str, p_adjust: str, n: int,
    progress: Callable[[float], None],
) -> pd.DataFrame:  # fmt: skip
    """Compare every two markers by `method` and adjust the p-values (a comparisons table).

    `marker_comparisons.compare_markers` runs the tests (DeLong's are the analysis' own; bootstrap or
    Venkatraman take `n` resamples, kept in the session by `_remembered`); `progress` gets 0..1.
    """
    from ovcf_core.stats.marker_comparisons import compare_markers

    rows = compare_markers(
        table, result, method, p_adjust, n, progress=progress,
        memo=lambda pair, compute: _remembered(("pair", key, *pair), compute),
    )  # fmt: skip
    return tables.comparisons_table(rows, method, p_adjust)
