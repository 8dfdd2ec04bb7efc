"""Correlations: each indicator with OVCF (Table 2 style), between indicators (heatmap), scatter matrix."""

from __future__ import annotations

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import analysis_page, components, state
from ovcf_core.report import figures, style, tables


@st.cache_resource(max_entries=16)
def splom(_table: pd.DataFrame, key: str, markers: tuple[str, ...]) -> go.Figure:
    """Build the scatter-plot matrix of the cohort with digest `key` (once)."""
    return figures.scatter_matrix(_table, list(markers))


components.page_header(
    "Correlations",
    "Spearman correlation of each indicator with OVCF (the paper's Table 2), and of the indicators with "
    "each other (Table 3).",
)
table, settings, result = analysis_page.analysed_cohort("correlations")
adjusted = ", ".join(style.COVARIATE_LABELS.get(a, a) for a in settings["adjust"]) or "nothing"
components.result_table(
    "Table 2. Correlation with OVCF and adjusted odds ratios",
    tables.table2(result),
    f"Spearman ρ of each indicator with the 0/1 outcome. Odds ratios from logistic regression adjusted for "
    f"{adjusted} on the n patients with every value: Wald 95% CI, or Firth's penalised likelihood with "
    "profile-likelihood CI where a variable separates the groups (Method). Per SD, and per the unit stated "
    "in each cell.",
    "Table 2",
    numbers=tables.numbers(result.to_frame(), "table2"),
)

rho, p = tables.correlation_frames(result)
if len(rho) >= 2:
    components.result_table(
        "Table 3. Correlation between indicators",
        tables.table3(result),
        "Spearman ρ (p), pairwise complete observations.",
        "Table 3",
        numbers=tables.correlation_numbers(result),
    )
    left, right = st.columns([1, 1])
    with left:
        components.plot(figures.correlation_heatmap(rho, p), key="heatmap")
    with right:
        components.plot(
            splom(table, st.session_state[state.COHORT_KEY], tuple(settings["markers"])), key="splom"
        )
else:
    st.info("Choose two or more markers on the Data page to see how they correlate with each other.")
