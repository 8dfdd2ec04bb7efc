"""The dashboard's cached calls into ovcf_core.stats: one analysis per (cohort content, settings).

Results are immutable dataclasses, so they are cached with `st.cache_resource` keyed on the cohort's
content digest (`state.COHORT_KEY`) and the settings: a widget on one page never recomputes an analysis,
and a 100,000-patient cohort is analysed once per settings, not on every rerun.
"""

from __future__ import annotations

import importlib
import threading
from typing import TYPE_CHECKING, TypeVar

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import components, matching_data, reliability_data, roc_data, state
from ovcf_core.errors import OvcfError
from ovcf_core.report import content, figures, style, tables

if TYPE_CHECKING:
    from ovcf_core.stats.analysis import CohortAnalysis

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


def digest(table: pd.DataFrame) -> str:
    """Return the content digest of a table (the cache key of analyses of it)."""
    return state.table_digest(table)


# The ROC, Reliability and Matching pages' cached calls, under the names the pages use.
threshold_metrics = roc_data.threshold_metrics
bootstrap_table = roc_data.bootstrap_table
RESAMPLED = roc_data.RESAMPLED
cutoff_result = roc_data.cutoff_result
binormal_curve = roc_data.binormal_curve
cutoff_figure = roc_data.cutoff_figure
comparison_table = roc_data.comparison_table
read_ratings = reliability_data.read_ratings
RATINGS_TABLE = reliability_data.RATINGS_TABLE
IccView = reliability_data.IccView
bland_altman = reliability_data.bland_altman
icc_table = reliability_data.icc_table
read_pool = matching_data.read_pool
POOL_TABLE = matching_data.POOL_TABLE
MatchView = matching_data.MatchView
match_pool = matching_data.match_pool
use_matched_cohort = matching_data.use_matched_cohort
