"""Report page: the whole analysis as HTML and XLSX, and each figure as PNG or SVG.

The HTML file has the pages' figures; PNGs are at a journal's size and resolution.
"""

from __future__ import annotations

import streamlit as st

from dashboard import analysis, components, state
from ovcf_core.report import content, html, images, xlsx

components.page_header(
    "Report",
    "Everything on the other pages, to keep or share: an HTML report (opens in any browser, offline), the "
    "tables as an XLSX workbook, and each figure as PNG (at a journal's size and 300 dpi) or SVG.",
)
table, settings, result = analysis.current()
components.cohort_caption(table)
key = st.session_state[state.COHORT_KEY]
synthetic = bool(st.session_state.get(state.COHORT_IS_SYNTHETIC, True))
settings_key = repr(sorted(settings.items()))
REPORTS = "_report_html"  # session key: the rendered HTML report per (cohort, settings, synthetic)


@st.cache_data(show_spinner=False, max_entries=4)
def report_xlsx(key: str, settings_key: str, _result) -> bytes:
    """Build the report's tables as an XLSX workbook."""
    return xlsx.report_workbook(_result)


def report_html() -> bytes:
    """Write the HTML report once per analysis with a progress bar.

    The report is kept in the session, since a cached function that draws would replay its bar.
    """
    asked = (key, settings_key, synthetic)
    store = st.session_state.setdefault(REPORTS, {})
    if asked not in store:
        bar = st.progress(0.0, text="Writing the report…")

        def tick(done: int, total: int) -> None:
            bar.progress(done / max(total, 1), text=f"Writing section {done} of {total}…")

        document = html.render_report(result, table, synthetic=synthetic, progress=tick)
        bar.empty()
        store.clear()  # one report kept: they are large
        store[asked] = document.encode("utf-8")
    return store[asked]


c1, c2 = st.columns(2)
with c1:
    st.markdown("**HTML report** — Tables 1–3, ROC curves, forest plot, correlations.")
    if st.toggle("Prepare the HTML report", key="report_prepare_html"):
        st.download_button(
            "⬇ Report (HTML)", report_html(), file_name="ovcf_report.html", mime="text/html", width="stretch"
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
components.plot(figure, key="report_preview")
f1, f2, f3, f4 = st.columns([1, 2, 1, 1])
fmt = f1.radio("Format", ["png", "svg"], horizontal=True, key="report_format")
width_name = f2.selectbox(
    "Width", list(images.JOURNAL_WIDTHS_MM), index=2, key="report_width",
    help="Most journals ask for one column (about 85 mm), 1.5 columns or two columns (about 174 mm).",
)  # fmt: skip
width_mm = images.JOURNAL_WIDTHS_MM[width_name]
default_height = round(width_mm * (figure.layout.height or 500) / 800)  # about the on-screen aspect
height_mm = f3.number_input("Height (mm)", 30, 250, min(max(default_height, 30), 250), 5, key="report_height")
dpi = int(f4.selectbox("Resolution (dpi)", [300, 600, 150], key="report_dpi", disabled=fmt == "svg"))
size = images.PrintSize(width_mm, float(height_mm), dpi)
asked = (title, fmt, size)
if st.button(f"Render {fmt.upper()}", key="report_render"):
    with st.status(f"Rendering {title} as {fmt.upper()}…", expanded=False) as status:
        try:
            st.session_state["report_image"] = (asked, images.figure_image(figure, fmt, size=size))
            status.update(label=f"{fmt.upper()} ready", state="complete")
        except images.ExportUnavailable as exc:
            status.update(label="Export unavailable", state="error")
            st.warning(str(exc))
rendered = st.session_state.get("report_image")
if rendered and rendered[0] == asked:
    pixels = "" if fmt == "svg" else f", {size.pixels[0]} × {size.pixels[1]} px at {dpi} dpi"
    st.download_button(
        f"⬇ {fmt.upper()} ({width_mm:g} × {height_mm:g} mm{pixels})",
        rendered[1],
        file_name=f"{components.slug(title)}.{fmt}",
        mime="image/png" if fmt == "png" else "image/svg+xml",
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
