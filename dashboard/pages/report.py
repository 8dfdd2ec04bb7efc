"""Report: the whole analysis as one HTML file (same figures) and an XLSX workbook; figures as PNG/SVG."""

from __future__ import annotations

import streamlit as st

from dashboard import analysis, components, state
from ovcf_core.report import content, html, images, xlsx

components.page_header(
    "Report",
    "Everything on the other pages, to keep or share: an HTML report (opens in any browser, offline), the "
    "tables as an XLSX workbook, and each figure as PNG or SVG.",
)
table, settings, result = analysis.current()
components.cohort_caption(table)
key = st.session_state[state.COHORT_KEY]
synthetic = bool(st.session_state.get(state.COHORT_IS_SYNTHETIC, True))


@st.cache_data(show_spinner="Writing the report…", max_entries=4)
def report_html(key: str, settings_key: str, synthetic: bool, _result) -> bytes:
    """The HTML report of the analysis identified by (cohort digest, settings)."""
    return html.render_report(_result, st.session_state[state.COHORT], synthetic=synthetic).encode("utf-8")


@st.cache_data(show_spinner=False, max_entries=4)
def report_xlsx(key: str, settings_key: str, _result) -> bytes:
    """The report's tables as an XLSX workbook."""
    return xlsx.report_workbook(_result)


settings_key = repr(sorted(settings.items()))
c1, c2 = st.columns(2)
with c1:
    st.markdown("**HTML report** — Tables 1–3, ROC curves, forest plot, correlations.")
    if st.toggle("Prepare the HTML report", key="report_prepare_html"):
        st.download_button(
            "⬇ Report (HTML)",
            report_html(key, settings_key, synthetic, result),
            file_name="ovcf_report.html",
            mime="text/html",
            width="stretch",
        )
with c2:
    st.markdown("**Tables** — one sheet per table, numbers formatted as in the report.")
    st.download_button(
        "⬇ Tables (XLSX)",
        report_xlsx(key, settings_key, result),
        file_name="ovcf_tables.xlsx",
        mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        width="stretch",
    )

st.subheader("Figures")
figures_by_title = analysis.report_figures(result, key, settings_key)
title = st.selectbox("Figure", list(figures_by_title), key="report_figure")
figure = figures_by_title[title]
st.plotly_chart(figure, key="report_preview", width="stretch")
f1, f2, f3 = st.columns(3)
fmt = f1.radio("Format", ["png", "svg"], horizontal=True, key="report_format")
if f2.button(f"Render {fmt.upper()}", key="report_render", width="stretch"):
    try:
        st.session_state["report_image"] = (title, fmt, images.figure_image(figure, fmt))
    except images.ExportUnavailable as exc:
        st.warning(str(exc))
rendered = st.session_state.get("report_image")
if rendered and rendered[:2] == (title, fmt):
    f3.download_button(
        f"⬇ {fmt.upper()}",
        rendered[2],
        file_name=f"{components.slug(title)}.{fmt}",
        mime="image/png" if fmt == "png" else "image/svg+xml",
        width="stretch",
    )
st.download_button(
    "⬇ This figure as interactive HTML",
    lambda: images.figure_html(figure),  # built on click (plotly.js is 4.8 MB)
    file_name=f"{components.slug(title)}.html",
    mime="text/html",
)
st.caption(
    f"Figures are drawn once (plotly) and appear identically here, on the pages and in the report. "
    f"{len(content.report_sections(result))} report sections."
)
