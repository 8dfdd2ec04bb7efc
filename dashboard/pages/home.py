"""Home: what the tool is, the cohort currently loaded (the synthetic sample on first visit), where to go."""

import streamlit as st
from streamlit.errors import StreamlitPageNotFoundError

from dashboard import analysis, components
from ovcf_core import RESEARCH_NOTE

GUIDE = (
    ("pages/data.py", "upload_file", "Data", "upload your cohort or raw measurements, check it, map columns"),
    (
        "pages/cohort.py",
        "groups",
        "Cohort",
        "Table 1 and each indicator's distribution in cases and controls",
    ),
    (
        "pages/correlations.py",
        "scatter_plot",
        "Correlations",
        "Spearman with OVCF (Table 2), between indicators",
    ),
    ("pages/roc.py", "show_chart", "ROC", "AUC with DeLong CIs, comparisons, and a cut-off explorer"),
    (
        "pages/logistic.py",
        "account_tree",
        "Logistic",
        "adjusted odds ratios: each, multivariable, conditional",
    ),
    ("pages/calculator.py", "calculate", "Calculator", "one patient's fracture likelihood from VBQ and HU"),
    ("pages/scans.py", "radiology", "Scans", "measure HU, VBQ, rCSA and FI on DICOM series"),
    ("pages/reliability.py", "handshake", "Reliability", "inter-rater ICC and Bland–Altman plots"),
    ("pages/matching.py", "balance", "Matching", "1:1 or 1:K age- and sex-matching of controls from a pool"),
    ("pages/report.py", "description", "Report", "the whole analysis as HTML and XLSX, figures as PNG/SVG"),
)

st.title("OVCF risk screening")
st.markdown(
    "Fragility osteoporotic vertebral compression fracture (OVCF) risk from five measurements: "
    "DXA **T-score**, CT **Hounsfield units**, the MRI **VBQ score**, and the paraspinal muscles' "
    "**rCSA** and **fat infiltration** — the method of Zhan et al., *BMC Musculoskeletal Disorders* "
    "25:471 (2024)."
)
st.info(RESEARCH_NOTE, icon="ℹ️")

cohort = components.current_cohort()
cases = int((cohort["ovcf"] == 1).sum())
controls = int((cohort["ovcf"] == 0).sum())
c1, c2, c3 = st.columns(3)
c1.metric("Patients", f"{len(cohort):,}")
c2.metric("OVCF cases", f"{cases:,}")
c3.metric("Controls", f"{controls:,}")
components.cohort_caption(cohort)

st.subheader("Where to go")
columns = st.columns(2)
shown = 0
for page, icon, title, what in GUIDE:
    try:
        columns[shown % 2].page_link(page, label=f"**{title}** — {what}", icon=f":material/{icon}:")
    except StreamlitPageNotFoundError:  # a page this deployment does not register
        continue
    shown += 1

analysis.warm_up()  # the statistics libraries load while the user reads this page
