"""Cohort: Table 1 (groups compared, the paper's style) and each indicator's distribution by group."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import analysis_page, components, state
from ovcf_core.report import figures, tables

TABLE1_CAPTION = (
    "Mean ± SD; women n (%); n with a value per group. p: paired t-test (McNemar for sex) over matched "
    "pairs, else Welch's t-test (χ²); beside it the Mann–Whitney U test and, over pairs, the Wilcoxon "
    "signed-rank test."
)


@st.cache_resource(max_entries=64)
def distribution(_table: pd.DataFrame, key: str, marker: str, kind: str, pair: str | None) -> go.Figure:
    """Build the box/violin figure of one marker for the cohort with digest `key` (once)."""
    return figures.distribution_figure(_table, marker, pair=pair, kind=kind)


components.page_header(
    "Cohort",
    "How OVCF patients and controls differ: Table 1, and each indicator's distribution with every patient "
    "shown (lines join the two members of a matched pair).",
)
table, settings, result = analysis_page.analysed_cohort("cohort")

components.result_table(
    "Table 1. Patient characteristics and indicators by group",
    tables.table1(result),
    TABLE1_CAPTION,
    "Table 1",
    numbers=tables.numbers(result.to_frame(), "table1"),
)

st.subheader("Distributions")
c1, c2 = st.columns([1, 3])
kind = c1.segmented_control("Plot", ["box", "violin"], default="box", key="cohort_kind") or "box"
paired = c2.toggle(
    "Join matched pairs", value=settings["pair"] is not None, disabled=settings["pair"] is None
)
pair = settings["pair"] if paired else None
columns = st.columns(2)
for i, marker in enumerate(settings["markers"]):
    with columns[i % 2]:
        components.plot(
            distribution(table, st.session_state[state.COHORT_KEY], marker, kind, pair), key=f"dist_{marker}"
        )
