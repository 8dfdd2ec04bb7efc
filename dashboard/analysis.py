"""The dashboard's cached calls into ovcf_core.stats: one analysis per (cohort content, settings).

Results are immutable dataclasses, so they are cached with `st.cache_resource` keyed on the cohort's
content digest (`state.COHORT_KEY`) and the settings: a widget on one page never recomputes an analysis,
and a 100,000-patient cohort is analysed once per settings, not on every rerun.
"""

from __future__ import annotations

import importlib
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import components, state
from ovcf_core import formatting, io, paths
from ovcf_core.errors import OvcfError
from ovcf_core.report import content, figures, style, tables
from ovcf_core.schema import OUTCOME, PATIENT_ID

if TYPE_CHECKING:
    from ovcf_core.ratings import Ratings
    from ovcf_core.stats.analysis import CohortAnalysis
    from ovcf_core.stats.binormal import BinormalRoc
    from ovcf_core.stats.cutoffs import CutoffResult

T = TypeVar("T")


WARM_MODULES = ("scipy.stats", "statsmodels.api", "ovcf_core.stats.analysis", "ovcf_core.report.figures")
"""What the first analysis page needs that takes seconds to import (scipy.stats alone about 1-2 s)."""
_warming: list[threading.Thread] = []


def warm_up() -> None:
    """Import the slow statistics libraries in a background thread, once per server process.

    The first visit to an analysis page after the Home page then does not wait for them (imports are thread-
    safe in Python).
    """
    if _warming:
        return

    def load() -> None:
        for name in WARM_MODULES:
            importlib.import_module(name)

    thread = threading.Thread(target=load, name="ovcf-warm-up", daemon=True)
    _warming.append(thread)
    thread.start()


OPTIONS = "analysis_options"  # session key: the analysis options chosen on the ROC and Logistic pages
DEFAULT_OPTIONS: dict[str, object] = {"firth": False, "p_adjust": "none", "pauc": None, "cutoff": "youden"}
"""The `analyze_cohort` options the pages let a user change (as `ovcf analyze --firth --p-adjust --pauc
--cutoff`): every page, the report and the downloads then show the same analysis."""


def options() -> dict[str, object]:
    """Return the analysis options of this session (defaults for those never changed)."""
    return {**DEFAULT_OPTIONS, **st.session_state.get(OPTIONS, {})}


def set_option(name: str, value: object) -> None:
    """Remember one analysis option for every page.

    Options are kept outside widget state, which a page drops when the user leaves it.
    """
    if name not in DEFAULT_OPTIONS:
        raise KeyError(name)
    st.session_state[OPTIONS] = {**st.session_state.get(OPTIONS, {}), name: value}


def options_key(chosen: dict[str, object]) -> tuple:
    """Return the options as a hashable cache key."""
    return tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in chosen.items()))


@st.cache_resource(show_spinner="Analysing the cohort…", max_entries=8)
def cohort_analysis(
    _table: pd.DataFrame,
    key: str,
    markers: tuple[str, ...],
    adjust: tuple[str, ...],
    pair: str | None,
    chosen: tuple = (),
):
    """Analyse the cohort whose content digest is `key` with the chosen options (cached).

    Runs `analyze_cohort` without hashing the table again; `chosen` is `options_key` of `options()` (the
    defaults when empty).
    """
    from ovcf_core.stats.analysis import analyze_cohort

    opts = {**DEFAULT_OPTIONS, **dict(chosen)}
    pauc = opts["pauc"]
    return analyze_cohort(
        _table, markers=list(markers), adjust=adjust, pair=pair, firth=bool(opts["firth"]),
        p_adjust=str(opts["p_adjust"]), pauc=tuple(pauc) if pauc else None,  # type: ignore[arg-type]
        cutoff=str(opts["cutoff"]),
    )  # fmt: skip


def current() -> tuple[pd.DataFrame, dict, CohortAnalysis]:
    """Return the cohort, its settings and its analysis for the page, or stop it with a message.

    The settings include the analysis options (`options`), so figure caches follow them too.
    """
    table = components.current_cohort()
    settings = dict(state.analysis_settings(table))
    if not settings["markers"]:
        st.warning("No marker is chosen: pick markers on the Data page.")
        st.stop()
    chosen = options_key(options())
    settings["options"] = chosen
    try:
        result = cohort_analysis(
            table,
            st.session_state[state.COHORT_KEY],
            tuple(settings["markers"]),
            tuple(settings["adjust"]),
            settings["pair"],
            chosen,
        )
    except OvcfError as exc:
        st.error(f"The cohort cannot be analysed: {exc}")
        st.stop()
    return table, settings, result


@st.cache_resource(max_entries=16)
def roc_figure(_result: CohortAnalysis, key: str, settings_key: str) -> go.Figure:
    """Build the analysis' overlaid ROC curves (AUC and DeLong CI in the legend, Youden cut-off marked)."""
    return figures.roc_figure(content.roc_traces(_result, st.session_state[state.COHORT]))


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

    The resampled CIs are kept in the session (`_remembered`), not in `st.cache_data`: a cached function
    that draws (the progress bar) would be replayed, bar and all, on the next call.
    """
    from ovcf_core.stats.roc import bootstrap_auc_ci

    markers = [m for m in result.markers if m.auc is not None and math.isfinite(m.auc.auc)]
    y = table[OUTCOME].to_numpy(float)
    rows = []
    for i, m in enumerate(markers):

        def report(done: int, total: int, i: int = i) -> None:
            progress((i + done / total) / len(markers))

        direction = str(m.auc.direction)  # type: ignore[union-attr]
        try:
            low, high = _remembered(
                ("auc_bootstrap", key, m.marker, direction, n_boot),
                lambda m=m, direction=direction, report=report: bootstrap_auc_ci(
                    y, table[m.marker].to_numpy(float), direction, n_boot, progress=report
                ),
            )
        except OvcfError as exc:
            low, high = None, None
            st.warning(f"{style.marker_label(m.marker)}: {exc}")
        rows.append(
            {
                "Indicator": style.marker_label(m.marker),
                "AUC": formatting.auc(m.auc.auc),  # type: ignore[union-attr]
                "DeLong 95% CI": formatting.interval(*m.auc.ci, digits=3),  # type: ignore[union-attr]
                "Bootstrap 95% CI": formatting.interval(low, high, digits=3),
            }
        )
    progress(1.0)
    return pd.DataFrame(rows)


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
    from ovcf_core.stats.cutoffs import cutoff_analysis

    return _remembered(
        ("cutoff", key, marker, direction, rule, target, n_boot),
        lambda: cutoff_analysis(
            table[OUTCOME].to_numpy(float), table[marker].to_numpy(float), direction, rule, target,
            n_boot=n_boot, progress=progress,
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


@st.cache_resource(max_entries=8)
def report_figures(_result: CohortAnalysis, key: str, settings_key: str) -> dict[str, go.Figure]:
    """Build every figure of the analysis by title, for the Report page's PNG/SVG/HTML export (once)."""
    result = _result
    table = st.session_state[state.COHORT]
    found = {"ROC curves": roc_figure(result, key, settings_key)}
    forest = tables.forest_rows(result, "sd")
    if forest["or"].notna().any():
        found["Adjusted odds ratios per SD"] = figures.forest_plot(forest)
    rho, p = tables.correlation_frames(result)
    if len(rho) >= 2:
        found["Correlation between indicators"] = figures.correlation_heatmap(rho, p)
    pair = state.analysis_settings(table)["pair"]
    for m in result.markers:
        found[f"Distribution: {style.marker_label(m.marker, unit=False)}"] = figures.distribution_figure(
            table, m.marker, pair=pair
        )
    return found


@st.cache_data(show_spinner="Reading the measurements…", max_entries=8)
def read_ratings(data: bytes, name: str) -> Ratings:
    """Read ratings from an upload with `ovcf_core.ratings.read_ratings`, cached on its bytes."""
    from ovcf_core import ratings  # imported when used: it loads scipy.stats (see `warm_up`)

    return ratings.read_ratings(data, name)


RATINGS_TABLE = components.SampleTable(
    state.RATINGS, read_ratings, paths.SAMPLE_RAW, "synthetic two-rater sample", "measurements"
)


@st.cache_data(show_spinner="Reading the pool…", max_entries=8)
def read_pool(data: bytes, name: str) -> pd.DataFrame:
    """Read a matching pool from an upload (cached on its bytes): validated, then `matching_pool`'s check."""
    from ovcf_core.stats.matching import matching_pool

    pool, _ = io.read_cohort(data, name)
    return matching_pool(pool, name)


POOL_TABLE = components.SampleTable(
    state.MATCHING_POOL, read_pool, paths.SAMPLE_POOL, "synthetic matching pool", "pool"
)


def digest(table: pd.DataFrame) -> str:
    """Return the content digest of a table (the cache key of analyses of it)."""
    return state.table_digest(table)


@dataclass(frozen=True)
class IccView:
    """The Reliability page's ICC table (one row per indicator) and any warnings."""

    table: pd.DataFrame
    messages: tuple[str, ...]


@st.cache_resource(max_entries=64)
def bland_altman(_ratings: Ratings, key: str, marker: str, first: str, second: str) -> go.Figure:
    """Build the Bland–Altman figure of one indicator between two raters (once per ratings)."""
    a, b = _ratings.paired(marker, first, second)
    return figures.bland_altman_figure(a, b, marker, names=(first, second))


@st.cache_data(show_spinner="Computing ICCs…", max_entries=8)
def icc_table(_ratings: Ratings, key: str) -> IccView:
    """Compute the ICC of every indicator (Shrout & Fleiss forms with 95% CIs) from the raters' values."""
    from ovcf_core import ratings

    icc = ratings.icc_per_indicator(_ratings)
    return IccView(tables.icc_table(icc.results), tuple(tables.icc_messages(icc)))


@dataclass(frozen=True)
class MatchView:
    """The Matching page's result: matched table, unmatched cases, balance table."""

    matched: pd.DataFrame
    unmatched: pd.DataFrame
    balance: pd.DataFrame
    n_matched: int
    caliper: float
    method: str = "optimal"
    ratio: int = 1


@st.cache_data(show_spinner="Matching…", max_entries=16)
def match_pool(
    _pool: pd.DataFrame, key: str, caliper: float, method: str = "optimal", ratio: int = 1
) -> MatchView:
    """Match the pool `key` 1:`ratio`, sex-exact and by age within `caliper` years (optimal or greedy)."""
    from ovcf_core.stats.matching import match_controls

    result = match_controls(_pool, caliper=caliper, method=method, ratio=ratio)
    balance = tables.balance_table(result.balance_frame())
    shown = [c for c in (PATIENT_ID, "age", "sex") if c in result.unmatched_cases.columns]
    unmatched = result.unmatched_cases[shown]
    return MatchView(result.matched, unmatched, balance, result.n_sets, caliper, method, ratio)


def use_matched_cohort(result: MatchView, source: dict) -> None:
    """Make the matched cohort the cohort of every page (keeps the pool's synthetic label)."""
    from ovcf_core.schema import ValidationReport

    state.set_cohort(
        result.matched,
        ValidationReport(n_rows=len(result.matched)),
        f"matched from {source['source']} ({result.n_matched} {'pairs' if result.ratio == 1 else 'sets'})",
        synthetic=bool(source["synthetic"]),
    )
    st.session_state.pop(state.ANALYSIS_SETTINGS, None)
