"""The Scans page's results: measurements per ROI, the indicators, and where to send them.

They can be sent to the Calculator or the cohort.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.scan_source import PHANTOM_NOTE
from dashboard.scan_table import styled
from ovcf_core import formatting, io
from ovcf_core.cohort_upload import add_patient
from ovcf_core.errors import OvcfError
from ovcf_core.imaging import Roi, Series, measure_on
from ovcf_core.imaging.mri import FatMethod, FatThreshold
from ovcf_core.indicators import LEVELS

FOUND = "scan_indicators"  # dict: indicator -> value measured on this page (kept across series)


def fat_rule() -> FatThreshold:
    """Draw the fat-threshold rule for FI, chosen by the reader."""
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
    """Show the measurement table, the indicators, and where to send them."""
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
    st.dataframe(styled(table, found.unit), hide_index=True, width="stretch")
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
            shown = "—" if indicator.value is None else formatting.marker_value(name, indicator.value)
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
    shown = ", ".join(f"{k.upper()} {formatting.marker_value(k, v)}" for k, v in found.items())
    st.caption(f"Measured on this page so far: {shown}")
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
    try:
        cohort = state.ensure_cohort()
    except OvcfError:  # no cohort could be loaded: the scan row starts a new one
        cohort = pd.DataFrame()
    try:
        table, report = add_patient(cohort, row)
    except OvcfError as exc:
        st.error(str(exc))
        return
    state.set_cohort(table, report, f"cohort + scan measurements ({len(table)} patients)", synthetic=False)
    st.success(f"Added {row['patient_id']} to the cohort ({len(table)} patients).")
