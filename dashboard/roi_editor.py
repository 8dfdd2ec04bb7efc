"""The Scans page's ROI editor: add, change, delete, export and import ROIs.

Add ROIs from a drawing or by numbers (a taken label is asked about, never replaced silently),
move/resize/rename one, delete several, export and import them as JSON. Every change goes through
`scan_roi_history`, so it is listed and can be undone.
"""

from __future__ import annotations

import streamlit as st

from dashboard import scan_roi_history as history
from ovcf_core.errors import OvcfError
from ovcf_core.imaging import Roi, Series, Shape, dumps_rois, loads_rois
from ovcf_core.imaging.figures import roi_from_selection
from ovcf_core.imaging.measure import check_roi
from ovcf_core.imaging.roi_edits import (
    LabelTaken,
    delete,
    describe_roi,
    find,
    load,
    next_free_label,
    update,
)
from ovcf_core.imaging.roi_guide import expected_labels

ROIS = history.ROIS  # the session key other modules (project files) read: series uid -> list[Roi]
current_rois = history.current_rois
DRAW_LABEL = "scan_draw_label_"  # + series uid: each series offers its own next label
NUMBER_LABEL = "scan_number_label_"


def default_label(series: Series, rois: list[Roi]) -> str:
    """Return the next label the drawing guide asks for that is not drawn yet (never one already used)."""
    return next_free_label(
        (r.label for r in rois), expected_labels(series.modality.value, series.plane.value)
    )


def _label_input(column, key: str, default: str) -> str:
    if key not in st.session_state:
        st.session_state[key] = default
    return column.text_input(
        "Label", key=key, help="e.g. L1, CSF_L3, PM_L_L3L4 (what to draw: see the guide above)"
    ).strip()


def _added(series: Series, roi: Roi | None) -> None:
    if roi is None:
        return
    for key in (DRAW_LABEL, NUMBER_LABEL):  # the next default label is offered after this one
        st.session_state.pop(key + history.key(series), None)
    history.submit(series, roi)


def add_panel(series: Series, rois: list[Roi], slice_index: int, selection: dict) -> None:
    """Add an ROI from the box/lasso drawn on the image, or as an ellipse given by numbers."""
    default = default_label(series, rois)
    left, right = st.columns(2)
    with left:
        st.markdown("**From the drawing** (box or lasso on the image)")
        label = _label_input(st, DRAW_LABEL + history.key(series), default)
        box_shape = st.radio("A box becomes", ["ellipse", "rectangle"], horizontal=True, key="scan_box_shape")
        drawn = roi_from_selection(selection, label, slice_index, series.rows, series.columns, box_shape)
        if st.button("Add the drawn ROI", disabled=drawn is None or not label, key="scan_add_drawn"):
            _added(series, drawn)
    with right:
        st.markdown("**By numbers** (pixel coordinates, x = column, y = row)")
        number_label = _label_input(st, NUMBER_LABEL + history.key(series), default)
        with st.form("scan_numeric_roi"):
            c1, c2, c3, c4 = st.columns(4)
            cx = c1.number_input("centre x", value=float(series.columns // 2))
            cy = c2.number_input("centre y", value=float(series.rows // 2))
            rx = c3.number_input("radius x", value=5.0, min_value=0.1)
            ry = c4.number_input("radius y", value=5.0, min_value=0.1)
            if st.form_submit_button(f"Add ellipse on slice {slice_index}") and number_label:
                roi = Roi(number_label, slice_index, Shape.ELLIPSE, center=(cx, cy), radii=(rx, ry))
                _added(series, roi)


def _moved(roi: Roi, label: str, slice_index: int, values: list[float]) -> Roi:
    if roi.shape is Shape.ELLIPSE:
        cx, cy, rx, ry = values
        return Roi(label, slice_index, roi.shape, center=(cx, cy), radii=(rx, ry))
    dx, dy = values
    points = tuple((x + dx, y + dy) for x, y in roi.points or ())
    return Roi(label, slice_index, roi.shape, points=points)


def edit_panel(series: Series, rois: list[Roi], slice_index: int, selection: dict) -> None:
    """Move, resize or rename one ROI, or redraw it from the current box/lasso drawing."""
    chosen = st.selectbox("ROI to change", [r.label for r in rois], key="scan_edit_label")
    roi = find(rois, chosen) if chosen else None
    if roi is None:
        return
    st.caption(f"{roi.label}: {describe_roi(roi)}")
    with st.form(f"scan_edit_{roi.label}"):
        a, b = st.columns(2)
        label = a.text_input("Label", value=roi.label)
        where = b.number_input("Slice", value=roi.slice, min_value=0, max_value=len(series) - 1, step=1)
        columns = st.columns(4 if roi.shape is Shape.ELLIPSE else 2)
        names: tuple[str, ...] = ("shift x", "shift y")
        start = [0.0, 0.0]
        if roi.shape is Shape.ELLIPSE and roi.center and roi.radii:
            names, start = ("centre x", "centre y", "radius x", "radius y"), [*roi.center, *roi.radii]
        values = [
            c.number_input(n, value=float(v), min_value=0.1 if n.startswith("radius") else None)
            for c, n, v in zip(columns, names, start, strict=True)
        ]
        if st.form_submit_button(f"Apply the change to {roi.label}"):
            _change(series, rois, roi.label, _moved(roi, label.strip(), int(where), values))
    drawn = roi_from_selection(
        selection, roi.label, slice_index, series.rows, series.columns, roi.shape.value
    )
    if st.button(
        f"Redraw {roi.label} as the box/lasso drawn on slice {slice_index}",
        disabled=drawn is None,
        key="scan_redraw",
    ):
        _change(series, rois, roi.label, drawn)


def _change(series: Series, rois: list[Roi], label: str, new: Roi | None) -> None:
    if new is None:
        return
    try:
        check_roi(series, new)
        change = update(rois, label, new)
    except LabelTaken as taken:  # a rename onto another ROI's label is refused, never a silent replace
        other = taken.existing
        st.error(
            f"Not changed: '{other.label}' is the label of another ROI ({describe_roi(other)}); choose "
            "another label, or delete that ROI first."
        )
        return
    except OvcfError as exc:
        st.error(str(exc))
        return
    history.apply(series, change)


def delete_panel(series: Series, rois: list[Roi]) -> None:
    """Delete several ROIs in one change."""
    remove = st.multiselect("Delete ROIs", [r.label for r in rois], key="scan_remove")
    if st.button(f"Delete {len(remove)} ROI(s)", disabled=not remove, key="scan_remove_button"):
        history.apply(series, delete(rois, remove))


def import_panel(series: Series, rois: list[Roi]) -> None:
    """Import an ROI file: bad ROIs are named, the good ones are taken in one listed (undoable) change."""
    imported = st.file_uploader("Import an ROI file (JSON)", type=["json"], key="scan_roi_upload")
    if imported is None:
        return
    try:
        new = loads_rois(imported.getvalue(), imported.name)
    except OvcfError as exc:
        st.error(str(exc))
        return
    good = []
    for roi in new:
        try:
            check_roi(series, roi)
            good.append(roi)
        except OvcfError as exc:
            st.error(f"{imported.name}: {exc}")
    taken = [r.label for r in good if find(rois, r.label) is not None]
    if taken:
        st.caption(f"Using the file replaces {', '.join(taken)} (listed below, and can be undone).")
    if good and st.button(f"Use the {len(good)} valid ROI(s) of {imported.name}", key="scan_roi_use"):
        history.apply(series, load(rois, good, imported.name))


def roi_editor(series: Series, rois: list[Roi], slice_index: int, selection: dict) -> None:
    """Draw the editor: add, change, delete, ROI file.

    The question about a taken label and the undo list are drawn by the page, above and below it.
    """
    add_tab, edit_tab, file_tab = st.tabs(["Add an ROI", "Move, resize or delete", "ROI file"])
    with add_tab:
        add_panel(series, rois, slice_index, selection)
    with edit_tab:
        if rois:
            edit_panel(series, rois, slice_index, selection)
            delete_panel(series, rois)
        else:
            st.caption("No ROI yet.")
    with file_tab:
        if rois:
            st.download_button(
                "⬇ ROI file (JSON)",
                dumps_rois(rois),
                file_name="rois.json",
                mime="application/json",
                key="scan_roi_dl",
            )
        import_panel(series, rois)
