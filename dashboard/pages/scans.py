"""Scans: load a DICOM series (phantom or upload), draw ROIs, measure HU/SI/CSA/FI, send indicators on."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from dashboard import components, state
from ovcf_core import RESEARCH_NOTE, io, paths
from ovcf_core.errors import OvcfError
from ovcf_core.imaging import (
    LoadedSeries,
    Roi,
    Series,
    Shape,
    dumps_rois,
    load_series,
    loads_rois,
    measure_on,
)
from ovcf_core.imaging.figures import WindowPreset, roi_from_selection, scan_figure, window_limits
from ovcf_core.imaging.mri import FatMethod, FatThreshold
from ovcf_core.imaging.roi import check_within_image
from ovcf_core.indicators import LEVELS

PHANTOMS = {
    "CT axial (HU, L1–L4)": "ct_axial",
    "MR T1 sagittal (VBQ)": "mr_t1_sagittal",
    "MR T2 axial (muscles, rCSA, FI)": "mr_t2_axial",
}
LOADED = "scan_loaded"  # (digest, LoadedSeries | None, error message | None) of the current upload
ROIS = "scan_rois"  # dict: series uid -> list[Roi]
FOUND = "scan_indicators"  # dict: indicator -> value measured on this page (kept across series)
PHANTOM_NOTE = "Synthetic phantom written by ovcf_core.imaging.phantoms: not a real patient."


@st.cache_resource(show_spinner=False)
def load_phantom(name: str) -> tuple[LoadedSeries, tuple[Roi, ...]]:
    """A shipped synthetic phantom series and its ROI file (read once per server)."""
    folder = paths.SAMPLE_DICOM / name
    return load_series(folder / "series"), loads_rois((folder / "rois.json").read_bytes(), "rois.json")


def load_upload(files: list) -> tuple[LoadedSeries | None, str | None]:
    """The uploaded series, parsed once per upload and kept in this session only (never on disk)."""
    digest = hashlib.blake2b(digest_size=16)
    for f in files:
        digest.update(f.name.encode() + b"\0" + f.getvalue())
    key = digest.hexdigest()
    cached = st.session_state.get(LOADED)
    if cached is None or cached[0] != key:
        try:
            loaded, error = load_series([(f.name, f.getvalue()) for f in files]), None
        except OvcfError as exc:
            loaded, error = None, str(exc)
        st.session_state[LOADED] = (key, loaded, error)
    return st.session_state[LOADED][1], st.session_state[LOADED][2]


def choose_series() -> tuple[Series | None, tuple[Roi, ...], bool]:
    """Sidebar-free source choice: a phantom or an upload; returns (series, default ROIs, synthetic?)."""
    files = st.file_uploader(
        "Upload a DICOM series (a .zip, or several .dcm files)",
        accept_multiple_files=True,
        key="scan_upload",
        help="Files stay in memory for this session; patient identifiers are removed on load.",
    )
    with st.expander("…or upload a whole DICOM folder"):
        folder = st.file_uploader(
            "DICOM folder",
            accept_multiple_files="directory",
            key="scan_upload_folder",
            label_visibility="collapsed",
        )
    files = files or folder
    if files:
        loaded, error = load_upload(files)
        if error:
            st.error(error)
        elif loaded is not None:
            for message in loaded.messages():
                st.warning(f"Skipped {message}")
            if loaded.series:
                if len(loaded.series) > 1:
                    st.info(f"{len(loaded.series)} series found in the upload: pick one.")
                index = st.selectbox(
                    "Series",
                    range(len(loaded.series)),
                    format_func=lambda i: loaded.series[i].describe(),
                    key="scan_series",
                )
                return loaded.series[index], (), False
            names = ", ".join(f.name for f in files)
            st.error(f"No usable DICOM image in {names[:200]} (see the messages above).")
        st.caption("Showing a synthetic phantom instead.")
    name = st.radio("Synthetic phantom", list(PHANTOMS), horizontal=True, key="scan_phantom")
    loaded, rois = load_phantom(PHANTOMS[name])
    return loaded.series[0], rois, True


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


def fat_rule() -> FatThreshold:
    """The fat-threshold rule for FI, chosen by the reader."""
    method = st.radio(
        "Fat threshold for FI",
        [m.value for m in FatMethod],
        index=2,
        horizontal=True,
        key="scan_fat_method",
        help="reference: half the SI of the subcutaneous-fat ROI (FAT_<level>); otsu: Otsu inside each "
        "muscle ROI; manual: a fixed SI.",
    )
    value = None
    if method == FatMethod.MANUAL:
        value = st.number_input("Manual threshold (SI)", value=200.0, key="scan_fat_value")
    return FatThreshold(FatMethod(method), value=value)


def show_measurements(series: Series, rois: list[Roi], synthetic: bool) -> None:
    """The measurement table, the indicators, and where to send them."""
    from ovcf_core.imaging.image_indicators import image_indicators

    try:
        result = measure_on(series, rois)
    except OvcfError as exc:
        st.error(str(exc))
        return
    fractured = st.multiselect("Fractured vertebrae (left out of HU and VBQ)", LEVELS, key="scan_fractured")
    rule = fat_rule() if series.modality.value == "MR" else None
    try:
        found = image_indicators(result, fractured, rule)
    except OvcfError as exc:
        st.error(str(exc))
        return
    table = found.to_frame()
    st.subheader("Measurements per vertebra and muscle")
    st.dataframe(table, hide_index=True, width="stretch")
    if synthetic:
        st.caption(f":material/science: {PHANTOM_NOTE}")
    st.download_button(
        "⬇ Measurements (CSV)",
        io.table_to_bytes(table, "csv"),
        file_name="roi_measurements.csv",
        mime="text/csv",
        key="scan_table_dl",
    )
    values = found.values()
    if found.indicators:
        columns = st.columns(len(found.indicators))
        for column, (name, indicator) in zip(columns, found.indicators.items(), strict=True):
            shown = "—" if indicator.value is None else f"{indicator.value:.3g}"
            column.metric(name.upper(), shown, help=str(indicator.reason or ""))
    if found.fat_rule is not None:
        st.caption(f"FI: {found.fat_rule.describe()}.")
    st.session_state.setdefault(FOUND, {}).update(values)
    send_indicators(synthetic)


def send_indicators(synthetic: bool) -> None:
    """Send the indicators measured on this page to the Calculator, or add them to the cohort as a row."""
    found = st.session_state.get(FOUND, {})
    if not found:
        return
    st.caption("Measured on this page so far: " + ", ".join(f"{k} = {v:.4g}" for k, v in found.items()))
    left, right = st.columns(2)
    if left.button("Send VBQ and HU to the Calculator", key="scan_to_calc"):
        inputs = dict(st.session_state.get(state.CALCULATOR_INPUTS) or {})
        inputs.update({k: v for k, v in found.items() if k in ("vbq", "hu")})
        st.session_state[state.CALCULATOR_INPUTS] = inputs
        left.success("Sent to the Calculator.")
    with right.form("scan_cohort_row"):
        st.markdown("**Add to the cohort as a new row**")
        patient = st.text_input("patient_id", value="scan-1")
        group = st.radio("group", ["ovcf", "control"], horizontal=True)
        a, s, b = st.columns(3)
        age = a.number_input("age", value=70, min_value=18, max_value=120)
        sex = s.radio("sex", ["F", "M"], horizontal=True)
        bmi = b.number_input("bmi", value=24.0, min_value=10.0, max_value=60.0)
        if st.form_submit_button("Add the row"):
            add_cohort_row(
                {
                    "patient_id": patient,
                    "ovcf": int(group == "ovcf"),
                    "age": age,
                    "sex": sex,
                    "bmi": bmi,
                    **found,
                }
            )


def add_cohort_row(row: dict) -> None:
    """Append one patient to the current cohort (validated like an upload)."""
    from ovcf_core.schema import validate_cohort

    try:
        cohort = state.ensure_cohort().reset_index(drop=True)
    except OvcfError:  # no cohort could be loaded: the scan row starts a new one
        cohort = pd.DataFrame()
    merged = pd.concat([cohort, pd.DataFrame([row])], ignore_index=True)
    try:
        table, report = validate_cohort(merged)
    except OvcfError as exc:
        st.error(str(exc))
        return
    state.set_cohort(table, report, f"cohort + scan measurements ({len(table)} patients)", synthetic=False)
    st.success(f"Added {row['patient_id']} to the cohort ({len(table)} patients).")


components.page_header(
    "Scans (DICOM)",
    "Measure HU on CT, SI on T1 (VBQ) and muscle CSA / fat on T2 (rCSA, FI) inside regions of interest.",
)
st.caption(RESEARCH_NOTE)
series, defaults, synthetic = choose_series()
if synthetic:
    st.caption(f":material/science: **{PHANTOM_NOTE}**")
if series is not None:
    rois = current_rois(series, defaults)
    st.caption(series.describe())
    a, b = st.columns([3, 1])
    missing = set(series.missing)  # slices with no image (a skipped or absent file) keep their index
    shown = [i for i in range(len(series)) if i not in missing] or [0]
    middle = min(shown, key=lambda i: abs(i - len(series) // 2))
    start = rois[0].slice if rois and rois[0].slice < len(series) else middle
    slice_index = (
        a.slider(
            "Slice (sorted by position)", 0, len(series) - 1, value=start, key=f"scan_slice_{series.uid}"
        )
        if len(series) > 1
        else 0
    )
    presets = [p.value for p in WindowPreset]
    preset = b.radio(
        "Window",
        presets,
        index=presets.index(WindowPreset.default_for(series.modality.value)),
        key=f"scan_window_{series.modality.value}",
    )
    try:
        image = series.pixels(slice_index)
    except OvcfError as exc:
        st.error(str(exc))
        st.stop()
    on_slice = [r for r in rois if r.slice == slice_index]
    figure = scan_figure(
        image,
        on_slice,
        window=window_limits(image, preset),
        pixel_spacing=series.pixel_spacing,
        unit=series.unit,
        invert=series.photometric == "MONOCHROME1",
    )
    event = st.plotly_chart(
        figure,
        on_select="rerun",
        selection_mode=("box", "lasso"),
        key=f"scan_figure_{series.uid}_{slice_index}",
    )
    others = sorted({r.slice for r in rois} - {slice_index})
    if others:
        st.caption(f"ROIs on other slices: {', '.join(map(str, others))}.")
    selection = dict(getattr(event, "selection", None) or {})
    roi_editor(series, rois, slice_index, selection)
    if rois:
        show_measurements(series, rois, synthetic)
