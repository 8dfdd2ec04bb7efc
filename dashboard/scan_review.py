"""The Scans page's mask review: step through the regions, accept, reject or edit each one.

Regions go level by level; edits are a derived ellipse, redraw, paint/erase or threshold, each re-measured at
once. The corrected regions export as ROI JSON and DICOM SEG with every correction listed.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import scan_roi_history as history
from dashboard.scan_masks import REGION, MaskReview, current, upload_panel
from ovcf_core.errors import OvcfError
from ovcf_core.imaging import Roi, Series, Shape, measure_on
from ovcf_core.imaging.figures import roi_from_selection
from ovcf_core.imaging.roi_corrections import (
    Review,
    accept,
    as_ellipse,
    corrected_seg,
    corrections_document,
    derived_ellipse,
    erase,
    paint,
    redraw,
    reject,
    review_status,
    threshold,
)
from ovcf_core.imaging.roi_edits import Action, Change, find

SEG_BYTES = "scan_seg_bytes"  # (history length, bytes) of the last DICOM SEG built


def _mean(series: Series, roi: Roi | None) -> float | None:
    if roi is None:
        return None
    try:
        return measure_on(series, [roi]).measurements[0].mean
    except OvcfError:
        return None


def status_table(series: Series, review: MaskReview, rois: list[Roi]) -> pd.DataFrame:
    """Tabulate the regions: slice, review status, mean as segmented and now (blank when rejected)."""
    status = review_status(history.history(series), [r.label for r in review.regions])
    unit = series.unit
    rows = []
    for region, measured in zip(review.regions, review.as_segmented.measurements, strict=True):
        now = find(rois, region.label)
        rows.append(
            {
                "Region": region.label,
                "Slice": region.slice if now is None else now.slice,
                "Review": status[region.label].value,
                f"Mean as segmented ({unit})": measured.mean,
                f"Mean now ({unit})": _mean(series, now),
            }
        )
    return pd.DataFrame(rows)


def _go(series: Series, labels: list[str], step: int) -> None:
    """Select the previous/next region and show its slice (a button callback)."""
    here = st.session_state.get(REGION, labels[0])
    index = (labels.index(here) + step) % len(labels) if here in labels else 0
    _show(series, labels[index])


def _show(series: Series, label: str) -> None:
    st.session_state[REGION] = label
    review = current(series)
    region = review.region(label) if review else None
    now = find(history.history(series).rois, label)
    target = now or region
    if target is not None:
        st.session_state[f"scan_slice_{series.uid}"] = target.slice


def _apply(series: Series, make) -> None:
    try:
        change = make()
    except OvcfError as exc:
        st.error(str(exc))
        return
    history.apply(series, change)


def region_stepper(series: Series, review: MaskReview) -> str:
    """Draw previous / region picker / next; picking a region shows its slice. Returns the chosen label."""
    labels = [r.label for r in sorted(review.regions, key=lambda r: (r.slice, r.label))]
    if st.session_state.get(REGION) not in labels:
        st.session_state[REGION] = labels[0]
    back, pick, forward = st.columns([1, 3, 1], vertical_alignment="bottom")
    back.button("◀ Previous", key="scan_region_back", on_click=_go, args=(series, labels, -1))
    chosen = pick.selectbox(
        "Region under review",
        labels,
        key=REGION,
        on_change=lambda: _show(series, st.session_state[REGION]),
    )
    forward.button("Next ▶", key="scan_region_next", on_click=_go, args=(series, labels, 1))
    return str(chosen)


def region_actions(
    series: Series, review: MaskReview, rois: list[Roi], label: str, slice_index: int, selection: dict
) -> None:
    """Accept, reject or edit the chosen region (or restore it when rejected)."""
    roi = find(rois, label)
    if roi is None:
        original = review.region(label)
        st.caption(f"{label} is not measured (rejected or deleted).")
        if original is not None and st.button(f"Restore {label} as segmented", key="scan_region_restore"):
            restored = Change(Action.ACCEPT, (*rois, original), (label,), f"{label} restored as segmented")
            _apply(series, lambda: restored)
        return
    if roi.slice != slice_index:
        st.caption(f"{label} is on slice {roi.slice}; the image shows slice {slice_index}.")
    ok, no = st.columns(2)
    if ok.button(f"Accept {label}", key="scan_region_accept", icon=":material/check:"):
        _apply(series, lambda: accept(rois, label))
    if no.button(f"Reject {label}", key="scan_region_reject", icon=":material/close:"):
        _apply(series, lambda: reject(rois, label))
    ellipse_tab, draw_tab, brush_tab, threshold_tab = st.tabs(
        ["Ellipse", "Redraw", "Paint / erase", "Threshold"]
    )
    with ellipse_tab:
        ellipse_editor(series, rois, roi)
    drawn = roi_from_selection(selection, label, slice_index, series.rows, series.columns, "ellipse")
    drawing = "the box or lasso drawn on the image"
    with draw_tab:
        st.caption(
            f"Draw a lasso (or box) on slice {roi.slice} with the image's tools, then replace {label}."
        )
        if (
            st.button(f"Replace {label} by {drawing}", disabled=drawn is None, key="scan_region_redraw")
            and drawn
        ):
            _apply(series, lambda: redraw(rois, label, drawn))
    with brush_tab:
        st.caption("Draw a box or lasso over the pixels to add or remove (on the region's slice).")
        add, remove = st.columns(2)
        brush = roi_from_selection(selection, "brush", slice_index, series.rows, series.columns, "rectangle")
        ready = brush if brush is not None and slice_index == roi.slice else None  # a box stays a box
        if add.button(f"Paint into {label}", disabled=ready is None, key="scan_region_paint") and ready:
            _apply(series, lambda: paint(rois, label, ready, series.rows, series.columns))
        if remove.button(f"Erase from {label}", disabled=ready is None, key="scan_region_erase") and ready:
            _apply(series, lambda: erase(rois, label, ready, series.rows, series.columns))
    with threshold_tab:
        threshold_editor(series, rois, roi)


def ellipse_editor(series: Series, rois: list[Roi], roi: Roi) -> None:
    """Draw the region's derived ellipse (same centroid and spread), movable and resizable by numbers."""
    try:
        start = roi if roi.shape is Shape.ELLIPSE else derived_ellipse(roi, series.rows, series.columns)
    except OvcfError as exc:
        st.caption(str(exc))
        return
    with st.form(f"scan_region_ellipse_{roi.label}_{roi.slice}"):
        st.caption(f"The ellipse with {roi.label}'s centroid and spread; move or resize it, then replace.")
        cols = st.columns(4)
        names = ("centre x", "centre y", "radius x", "radius y")
        values = [*(start.center or (0.0, 0.0)), *(start.radii or (1.0, 1.0))]
        numbers = [
            c.number_input(n, value=float(v), min_value=0.1 if n.startswith("radius") else None, key=None)
            for c, n, v in zip(cols, names, values, strict=True)
        ]
        if st.form_submit_button(f"Replace {roi.label} by this ellipse"):
            cx, cy, rx, ry = numbers
            new = Roi(roi.label, roi.slice, Shape.ELLIPSE, center=(cx, cy), radii=(rx, ry))
            _apply(series, lambda: as_ellipse(rois, roi.label, new))


def threshold_editor(series: Series, rois: list[Roi], roi: Roi) -> None:
    """Keep only the region's pixels within a value range (HU on CT, SI on MR)."""
    try:
        image = series.pixels(roi.slice)
    except OvcfError as exc:
        st.caption(str(exc))
        return
    with st.form(f"scan_region_threshold_{roi.label}"):
        low_col, high_col = st.columns(2)
        low = low_col.number_input(f"from ({series.unit})", value=float(image.min()))
        high = high_col.number_input(f"to ({series.unit})", value=float(image.max()))
        if st.form_submit_button(f"Keep only {roi.label}'s pixels in this range"):
            _apply(series, lambda: threshold(rois, roi.label, image, low, high))


def export_panel(series: Series, review: MaskReview, rois: list[Roi]) -> None:
    """Download the corrected regions as ROI JSON (with the corrections) and as DICOM SEG."""
    log = history.history(series)
    status = review_status(log, [r.label for r in review.regions])
    rejected = [review.region(k) for k, v in status.items() if v is Review.REJECTED]
    st.caption(
        f"{len(log.steps) - 1} change(s) listed in the exports (what changed and when, UTC; no user names)."
    )
    left, right = st.columns(2)
    left.download_button(
        "⬇ Corrected regions (ROI JSON)",
        corrections_document(rois, log, review.name),
        file_name="corrected_rois.json",
        mime="application/json",
        key="scan_corrected_json",
    )
    built = st.session_state.get(SEG_BYTES)
    if built is not None and built[0] == (history.key(series), len(log.steps), log.steps[-1].when):
        right.download_button(
            "⬇ Corrected regions (DICOM SEG)",
            built[1],
            file_name="corrected_regions_seg.dcm",
            mime="application/dicom",
            key="scan_corrected_seg",
        )
    elif right.button("Build the DICOM SEG", key="scan_build_seg"):
        try:
            data = corrected_seg(review.label_map, series, rois, log, [r for r in rejected if r is not None])
        except OvcfError as exc:
            st.error(str(exc))
            return
        st.session_state[SEG_BYTES] = ((history.key(series), len(log.steps), log.steps[-1].when), data)
        st.rerun()


def mask_section(series: Series, rois: list[Roi], slice_index: int, selection: dict) -> None:
    """Draw the masks upload, then the whole review: status, stepper, the chosen region's actions, exports."""
    review = current(series)
    upload_panel(series, rois)
    if review is None:
        return
    st.caption(f"Masks: {review.name} — {review.method}.")
    for note in review.notes:
        st.caption(f"Note: {note}")
    st.dataframe(
        status_table(series, review, rois).style.format(precision=1, na_rep=""),
        hide_index=True,
        width="stretch",
    )
    label = region_stepper(series, review)
    region_actions(series, review, rois, label, slice_index, selection)
    export_panel(series, review, rois)
