"""Reliability page: inter-rater agreement per indicator and the agreement of two methods.

ICC table (Shrout & Fleiss) and Bland–Altman plots per indicator; the method-agreement section (e.g. HU by
hand and from a mask) is `method_agreement_view`.
"""

from __future__ import annotations

import streamlit as st

from dashboard import analysis, components, method_agreement_view
from ovcf_core.report import style

components.page_header(
    "Reliability",
    "Upload measurements of the same patients by two raters (or repeated by one): a raw measurement table "
    "with a `rater` column, or a table of indicators with `patient_id`, `rater` and the indicator columns. "
    "Until you do, the shipped **synthetic** two-rater measurements are used.",
)

current = components.upload_or_sample(
    analysis.RATINGS_TABLE,
    "Two-rater or repeated measurements (CSV or XLSX) with a rater column",
    "ratings_upload",
)
ratings = current["table"]
st.caption(
    f"Measurements: **{current['source']}** — {ratings.patients} patients, "
    f"raters: {', '.join(ratings.raters)}."
)
components.synthetic_note(current["synthetic"])

ratings_key = analysis.digest(ratings.long)
icc = analysis.icc_table(ratings, ratings_key)
st.subheader("Intraclass correlation per indicator")
components.show_table(
    icc.table,
    "Shrout & Fleiss (1979) forms with F-based 95% CIs. ICC(2,1): two-way random effects, absolute "
    "agreement, single rater; ICC(3,1): consistency; the paper reports ICCs above 0.8.",
)
components.download_table(icc.table, "ICC")
for message in icc.messages:
    st.warning(message)

st.subheader("Bland–Altman plots")
if len(ratings.raters) < 2:
    st.info("Bland–Altman plots need two raters.")
else:
    first, second = ratings.raters[:2]
    columns = st.columns(2)
    for i, marker in enumerate(ratings.markers):
        with columns[i % 2]:
            st.plotly_chart(
                analysis.bland_altman(ratings, ratings_key, marker, first, second),
                key=f"ba_{marker}",
                width="stretch",
            )
    st.caption(
        f"Differences {first} − {second} against their mean; limits of agreement: bias ± 1.96 SD. "
        f"Units as in the indicator ({', '.join(style.marker_label(m) for m in ratings.markers)})."
    )

method_agreement_view.method_agreement_section()
