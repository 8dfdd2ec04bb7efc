"""Data: the current cohort, uploads (validated, with column mapping) and the analysis settings."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from dashboard import components, data_view, marker_picker, project_file, state, upload
from ovcf_core.cohort_upload import is_raw_table
from ovcf_core.errors import OvcfError
from ovcf_core.schema import COVARIATES, OUTCOME, PAIR_ID


def upload_section() -> None:
    """Upload, map and validate; valid rows become the cohort, a broken file leaves the cohort as it was."""
    st.subheader("Upload a cohort")
    uploaded = st.file_uploader(
        "Cohort table (CSV or XLSX): patient_id, ovcf (1/0) or group (ovcf/control), age, sex, bmi, "
        "pair_id, and any of t_score, hu, vbq, rcsa, fi — or a raw measurement table (per vertebra and "
        "level, one row per patient and rater; see the templates)",
        type=["csv", "xlsx", "txt"],
        key="data_upload",
    )
    if uploaded is None:
        return
    data = uploaded.getvalue()
    unchanged = "The current cohort is unchanged."
    try:
        raw_table = upload.read_upload(data, uploaded.name)
    except OvcfError as exc:
        st.error(f"Could not read the upload — {exc}. {unchanged}")
        return
    if is_raw_table(raw_table):
        st.info(f"{uploaded.name} holds raw measurements: the five indicators are computed from them.")
        frozen, positive = ("raw",), None
        try:
            clean, report = upload.cohort_from_raw_upload(data, uploaded.name)
        except OvcfError as exc:
            st.error(f"{uploaded.name}: {exc}. {unchanged}")
            return
    else:
        mapping, positive = data_view.mapping_form(raw_table)
        frozen = tuple(sorted(mapping.items()))
        try:
            clean, report = upload.validate_upload(data, uploaded.name, frozen, positive)
        except OvcfError as exc:
            st.error(f"{uploaded.name}: {exc}. {unchanged}")
            return
    components.show_report(report, name=uploaded.name)
    if clean.empty:
        st.error(f"{uploaded.name}: no usable rows. {unchanged}")
        return
    if OUTCOME not in clean.columns or clean[OUTCOME].nunique() < 2:
        st.error(
            f"{uploaded.name}: the usable rows hold only one group (only cases or only controls); "
            f"the analysis needs both. {unchanged}"
        )
        return
    digest = hashlib.blake2b(data + repr((frozen, positive)).encode(), digest_size=12).hexdigest()
    if st.session_state.get(state.UPLOAD_DIGEST) != digest:
        st.session_state[state.UPLOAD_DIGEST] = digest
        state.set_cohort(clean, report, f"{uploaded.name} ({len(clean):,} usable rows)", synthetic=False)
        st.session_state[state.COLUMN_MAPPING] = {
            "file": uploaded.name,
            "mapping": None if frozen == ("raw",) else dict(frozen),
            "positive": positive,
        }
        st.session_state.pop(state.ANALYSIS_SETTINGS, None)
        st.rerun()
    st.success(f"Every page now analyses {uploaded.name}: {len(clean):,} usable rows.")


def settings_section(cohort: pd.DataFrame) -> None:
    """Draw the markers, covariates and pair column of the analysis (kept in state.ANALYSIS_SETTINGS)."""
    st.subheader("Analysis settings")
    covariate_options = [c for c in COVARIATES if c in cohort.columns]
    settings = state.analysis_settings(cohort)
    c1, c2, c3 = st.columns([2, 1, 1])
    with c1:
        markers = marker_picker.marker_picker("data")
    adjust = components.covariate_picker(
        c2,
        covariate_options,
        settings["adjust"],
        help="Covariates of the logistic models (the paper adjusts for age, sex and BMI).",
    )
    pair_options = [None] + ([PAIR_ID] if PAIR_ID in cohort.columns else [])
    pair = c3.selectbox(
        "Matched-pair column",
        pair_options,
        index=pair_options.index(settings["pair"]) if settings["pair"] in pair_options else 0,
        format_func=lambda c: "none (unmatched groups)" if c is None else c,
        help="With pairs, groups are compared by paired tests (the paper's 1:1 matched design).",
    )
    st.caption(f"Outcome: `{OUTCOME}` (1 = OVCF, 0 = control), as mapped at upload.")
    if not markers:
        st.warning("Choose at least one marker.")
    else:
        state.store_analysis_settings(markers=markers, adjust=adjust, pair=pair)


components.page_header(
    "Data",
    "Upload a cohort table (one row per patient) or raw measurements as CSV or XLSX. Rows with errors are "
    "left out and listed; the rest is used. Until you upload, every page shows the **synthetic** sample "
    "cohort.",
)
current = components.current_cohort(required=False)
if current is not None:
    data_view.show_current(current)
upload_section()
if current is not None:
    settings_section(current)
project_file.project_section()
data_view.templates_section()
