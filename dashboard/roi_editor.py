"""The Scans page's ROI editor: ROIs kept per series in the session, added from a drawing or by numbers,
removed, exported and imported as JSON."""

from __future__ import annotations

import streamlit as st

from ovcf_core.errors import OvcfError
from ovcf_core.imaging import Roi, Series, Shape, dumps_rois, loads_rois
from ovcf_core.imaging.figures import roi_from_selection
from ovcf_core.imaging.roi import check_within_image

ROIS = "scan_rois"  # dict: series uid -> list[Roi]


def current_rois(series: Series, defaults: tuple[Roi, ...]) -> list[Roi]:
    """This series' ROIs in the session (the phantom's ROI file on first view)."""
    store = st.session_state.setdefault(ROIS, {})
    if series.uid not in store:
        store[series.uid] = list(defaults)
    return store[series.uid]


def add_roi(series: Series, rois: list[Roi], roi: Roi) -> None:
    """Add (or replace, by label) an ROI after checking it lies on the image."""
    try:
        check_within_image(roi, series.rows, series.columns, len(series))
    except OvcfError as exc:
        st.error(str(exc))
        return
    rois[:] = [r for r in rois if r.label != roi.label] + [roi]
    st.rerun()


def roi_editor(series: Series, rois: list[Roi], slice_index: int, selection: dict) -> None:
    """Add ROIs from the drawn selection or from numbers; remove, export and import them."""
    left, right = st.columns(2)
    with left:
        st.markdown("**From the drawing** (box or lasso on the image)")
        label = st.text_input("Label", value="L1", key="scan_draw_label", help="e.g. L1, CSF_L3, PM_L_L3L4")
        box_shape = st.radio("A box becomes", ["ellipse", "rectangle"], horizontal=True, key="scan_box_shape")
        drawn = roi_from_selection(
            selection, label.strip(), slice_index, series.rows, series.columns, box_shape
        )
        if st.button("Add the drawn ROI", disabled=drawn is None or not label.strip(), key="scan_add_drawn"):
            add_roi(series, rois, drawn)
    with right:
        st.markdown("**By numbers** (pixel coordinates, x = column, y = row)")
        with st.form("scan_numeric_roi"):
            number_label = st.text_input("Label", value="L2")
            c1, c2, c3, c4 = st.columns(4)
            cx = c1.number_input("centre x", value=float(series.columns // 2))
            cy = c2.number_input("centre y", value=float(series.rows // 2))
            rx = c3.number_input("radius x", value=5.0, min_value=0.1)
            ry = c4.number_input("radius y", value=5.0, min_value=0.1)
            if st.form_submit_button("Add ellipse") and number_label.strip():
                roi = Roi(number_label.strip(), slice_index, Shape.ELLIPSE, center=(cx, cy), radii=(rx, ry))
                add_roi(series, rois, roi)
    if rois:
        remove = st.multiselect("Remove ROIs", [r.label for r in rois], key="scan_remove")
        if remove and st.button("Remove", key="scan_remove_button"):
            rois[:] = [r for r in rois if r.label not in remove]
            st.rerun()
        st.download_button(
            "⬇ ROI file (JSON)",
            dumps_rois(rois),
            file_name="rois.json",
            mime="application/json",
            key="scan_roi_dl",
        )
    imported = st.file_uploader("Import an ROI file (JSON)", type=["json"], key="scan_roi_upload")
    if imported is not None:
        try:
            new = loads_rois(imported.getvalue(), imported.name)
        except OvcfError as exc:
            st.error(str(exc))
            return
        good = []
        for roi in new:
            try:
                check_within_image(roi, series.rows, series.columns, len(series))
                good.append(roi)
            except OvcfError as exc:
                st.error(f"{imported.name}: {exc}")
        labels = {r.label for r in good}
        if good and st.button(f"Use the {len(good)} valid ROI(s) of {imported.name}", key="scan_roi_use"):
            rois[:] = [r for r in rois if r.label not in labels] + good
            st.rerun()
