"""Matching page: age- and sex-matched controls for the cases of a pool.

1:1 or 1:K matching (optimal or greedy), balance table, matched download.
"""

from __future__ import annotations

import streamlit as st

from dashboard import analysis, components

METHOD_LABELS = {
    "optimal": "Optimal (most matches, then closest ages)",
    "greedy": "Greedy (nearest control, random case order)",
}
components.page_header(
    "Matching",
    "Upload a pool of patients — the OVCF cases and a larger set of possible controls — and get each case "
    "matched to one (or K) controls of the same sex and a close age (within the caliper), without "
    "replacement. Until you upload, the shipped **synthetic** pool is used.",
)

current = components.upload_or_sample(
    analysis.POOL_TABLE,
    "Patient pool (CSV or XLSX): patient_id, ovcf (1/0) or group, age, sex",
    "pool_upload",
)
pool = current["table"]
cases = int((pool["ovcf"] == 1).sum())
st.caption(f"Pool: **{current['source']}** — {cases} cases, {len(pool) - cases} possible controls.")
components.synthetic_note(current["synthetic"])

caliper = st.slider(
    "Age caliper (years)",
    0.0,
    10.0,
    2.0,
    0.5,
    key="matching_caliper",
    help="A control is used only if its age is within this many years of the case's.",
)
left, right = st.columns(2)
method = left.radio(
    "Matching method",
    ["optimal", "greedy"],
    format_func=METHOD_LABELS.__getitem__,
    key="matching_method",
    help="Optimal finds the most matched cases, then the smallest total age difference; it does not "
    "depend on chance. Greedy gives each case, in a fixed random order, its nearest free controls.",
)
ratio = int(
    right.number_input(
        "Controls per case",
        min_value=1,
        max_value=5,
        value=1,
        step=1,
        key="matching_ratio",
        help="1:K matching: a case is matched only when it gets all K controls.",
    )
)
result = analysis.match_pool(pool, analysis.digest(pool), caliper, method, ratio)
m1, m2, m3 = st.columns(3)
m1.metric("Cases matched", f"{result.n_matched} of {cases}")
m2.metric("Controls used", result.n_matched * ratio)
m3.metric("Cases left unmatched", len(result.unmatched))

st.subheader("Balance before and after matching")
components.show_table(
    result.balance, "Standardised mean difference (SMD) below 0.1 is usually taken as balanced."
)
if not result.unmatched.empty:
    wanted = "a control" if ratio == 1 else f"{ratio} controls"
    with st.expander(f"{len(result.unmatched)} case(s) without {wanted} within {caliper:g} years"):
        components.show_table(result.unmatched)
st.subheader("Matched cohort")
st.dataframe(components.readable(result.matched.head(500)), hide_index=True, width="stretch", height=300)
components.download_table(result.matched, "Matched cohort")
if st.button("Analyse the matched cohort on every page", key="matching_use"):
    analysis.use_matched_cohort(result, current)
    st.success("The matched cohort is now the cohort of every page.")
