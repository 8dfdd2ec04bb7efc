"""The markers analysed, chosen on any analysis page.

One multiselect shared by the Data, Cohort, Correlations, ROC and Logistic pages through
`state.ANALYSIS_SETTINGS` (a plain session key).

Each page has its own widget key (Streamlit forgets the widgets of a page that is not drawn), filled from
the shared settings when the page is drawn and writing back to them when the reader changes it, so a choice
made on one page is the choice on every page and in a saved project.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import state
from ovcf_core.errors import OvcfError
from ovcf_core.report import style
from ovcf_core.schema import COVARIATES, INDICATOR_COLUMNS, OUTCOME


def marker_options(table: pd.DataFrame) -> list[str]:
    """List the columns that can be analysed as markers: the indicators present, then other numeric ones."""
    numeric = [c for c in table.columns if pd.api.types.is_numeric_dtype(table[c]) and c != OUTCOME]
    return [c for c in INDICATOR_COLUMNS if c in table.columns] + [
        c for c in numeric if c not in INDICATOR_COLUMNS and c not in COVARIATES
    ]


def _store(widget: str) -> None:
    """Make the page's choice the choice of every page (the widget's on_change)."""
    chosen = list(st.session_state.get(widget) or [])
    settings = st.session_state.get(state.ANALYSIS_SETTINGS) or {}
    state.store_analysis_settings(
        markers=chosen, adjust=list(settings.get("adjust", [])), pair=settings.get("pair")
    )


def marker_picker(page: str) -> list[str]:
    """Draw the markers multiselect of an analysis page (`page` names its widget); return the markers.

    Parameters
    ----------
    page
        A short name of the page, unique among the pages (e.g. "roc").

    Returns
    -------
    list of str
        The markers now chosen for every page.
    """
    try:
        table = state.ensure_cohort()
    except OvcfError:  # the page's own cohort check says why nothing can be analysed
        return []
    options = marker_options(table)
    settings = state.analysis_settings(table)
    widget = f"marker_picker_{page}"
    chosen = [m for m in settings["markers"] if m in options]
    if st.session_state.get(widget) != chosen:  # another page (or a project file) changed the choice
        st.session_state[widget] = chosen
    st.multiselect(
        "Markers",
        options,
        key=widget,
        format_func=style.marker_label,
        on_change=_store,
        args=(widget,),
        help="The indicators (or other numeric columns) analysed: one choice shared by every analysis page.",
    )
    return list(st.session_state[widget])
