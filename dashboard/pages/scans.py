"""Scans: load a DICOM series (phantom or upload), draw ROIs, measure HU/SI/CSA/FI, send indicators on."""

from __future__ import annotations

import streamlit as st

from dashboard import (
    components,
    roi_editor,
    scan_guide,
    scan_measurements,
    scan_review,
    scan_roi_history,
    scan_source,
    scan_viewer,
)
from ovcf_core import RESEARCH_NOTE

components.page_header(
    "Scans (DICOM)",
    "Measure HU on CT, SI on T1 (VBQ) and muscle CSA / fat on T2 (rCSA, FI) inside regions of interest.",
)
st.caption(RESEARCH_NOTE)
series, defaults, synthetic = scan_source.choose_series()
if synthetic:
    st.caption(f":material/science: **{scan_source.PHANTOM_NOTE}**")
if series is not None:
    rois = scan_roi_history.current_rois(series, defaults, synthetic=synthetic)
    st.caption(series.describe())
    scan_guide.show_guide(series, rois)
    slice_index, selection = scan_viewer.show_slice(series, rois)
    scan_roi_history.notice()
    scan_roi_history.label_conflict(series)
    draw_tab, mask_tab = st.tabs(
        ["Draw ROIs", "Segmentation masks: review and correct"], key="scan_work_tab", on_change="rerun"
    )
    with draw_tab:
        roi_editor.roi_editor(series, rois, slice_index, selection)
    with mask_tab:
        scan_review.mask_section(series, rois, slice_index, selection)
    scan_roi_history.undo_list(series)
    if rois:
        scan_measurements.show_measurements(series, rois, synthetic)
