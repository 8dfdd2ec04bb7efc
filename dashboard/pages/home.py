"""Home: what the tool is, and the cohort currently loaded (the synthetic sample on first visit)."""

import streamlit as st

from dashboard import state
from ovcf_core import RESEARCH_NOTE
from ovcf_core.errors import OvcfError

st.title("OVCF risk screening")
st.markdown(
    "Fragility osteoporotic vertebral compression fracture (OVCF) risk from five measurements: "
    "DXA **T-score**, CT **Hounsfield units**, the MRI **VBQ score**, and the paraspinal muscles' "
    "**rCSA** and **fat infiltration** — the method of Zhan et al., *BMC Musculoskeletal Disorders* "
    "25:471 (2024)."
)
st.info(RESEARCH_NOTE, icon="ℹ️")

try:
    cohort = state.ensure_cohort()
except OvcfError as exc:
    st.error(f"The sample cohort could not be loaded: {exc}")
    st.stop()

state.synthetic_badge()
cases = int((cohort["ovcf"] == 1).sum())
controls = int((cohort["ovcf"] == 0).sum())
c1, c2, c3 = st.columns(3)
c1.metric("Patients", len(cohort))
c2.metric("OVCF cases", cases)
c3.metric("Controls", controls)
st.caption(f"Loaded: {st.session_state[state.COHORT_SOURCE]}")
