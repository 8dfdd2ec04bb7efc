"""ROC page: curves, AUCs, curve comparisons, a cut-off explorer and bootstrap CIs.

Overlaid curves with AUC [95% CI], the AUC table, curve comparisons (DeLong, bootstrap, Venkatraman), a cut-
off explorer (cut-off rules, likelihood ratios, bootstrap CIs, binormal smoothing) and bootstrap AUC CIs.
"""

from __future__ import annotations

import streamlit as st

from dashboard import analysis, analysis_options, analysis_page, components, roc_sections, state
from ovcf_core.report import content, tables

components.page_header(
    "ROC",
    "How well each indicator separates OVCF patients from controls: ROC curves with the DeLong 95% CI of "
    "the AUC, DeLong's test between indicators, and the sensitivity/specificity at any cut-off.",
)
analysis_options.roc_options()
table, settings, result = analysis_page.analysed_cohort("roc")
key = st.session_state[state.COHORT_KEY]
for flag in tables.direction_flags(result):  # never silently shown
    st.warning(flag)

aucs = tables.auc_table(result)
SUMMARY = ["Indicator", "AUC [95% CI]", "n"]
left, right = st.columns([1, 1])
with left:
    components.plot(analysis.roc_figure(result, key, repr(sorted(settings.items()))), key="roc")
with right:
    st.subheader("AUC")
    components.show_table(aucs[SUMMARY], "DeLong 95% CI, on the n patients with a value.")
st.subheader("Cut-offs and likelihood ratios")
components.show_table(aucs.drop(columns=["AUC [95% CI]", "n"]), content.roc_caption(result))
components.download_table(aucs, "ROC AUC", numbers=tables.numbers(result.to_frame(), "roc"))

roc_sections.comparison_section(table, key, result)
roc_sections.cutoff_explorer(table, key, result, settings)
roc_sections.bootstrap_section(table, key, result)
