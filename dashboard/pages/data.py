"""Data: the current cohort, uploads (validated, with column mapping) and the analysis settings."""

from __future__ import annotations

import hashlib

import pandas as pd
import streamlit as st

from dashboard import components, state, upload
from ovcf_core import io, paths
from ovcf_core.errors import OvcfError
from ovcf_core.report import style
from ovcf_core.schema import COVARIATES, INDICATOR_COLUMNS, OUTCOME, PAIR_ID

NONE = "(not in file)"


def show_current(cohort: pd.DataFrame) -> None:
    """The cohort every page analyses, and a way back to the synthetic sample."""
    components.cohort_caption(cohort)
    left, right = st.columns([3, 1])
    with left:
        st.dataframe(cohort.head(200), width="stretch", height=260)
        if len(cohort) > 200:
            st.caption(f"First 200 of {len(cohort):,} rows.")
    report = st.session_state.get(state.COHORT_REPORT)
    if report is not None:
        right.metric("Usable rows", f"{len(cohort):,}", help=report.summary())
    if not st.session_state.get(state.COHORT_IS_SYNTHETIC, True) and right.button(
        "Back to the synthetic sample", width="stretch"
    ):
        table, sample_report = state.load_sample_cohort()
        state.set_cohort(
            table, sample_report, f"synthetic sample cohort ({len(table)} patients)", synthetic=True
        )
        st.session_state.pop(state.ANALYSIS_SETTINGS, None)
        st.rerun()


def mapping_form(raw_table: pd.DataFrame) -> tuple[dict[str, str | None], str | None]:
    """Which upload column holds each cohort column (guessed, editable), and the outcome value of OVCF."""
    columns = list(raw_table.columns)
    guess = upload.guess_mapping(columns)
    renamed = [t for t in upload.TARGETS if guess[t] is not None and guess[t] != t]
    with st.expander("Column mapping", expanded=bool(renamed) or not guess[OUTCOME]):
        st.caption("Which column of your file holds each cohort column (names are case-insensitive).")
        exact = [t for t in upload.TARGETS if guess[t] == t]
        if exact:
            st.caption("Found by name: " + ", ".join(f"`{t}`" for t in exact))
        mapping = dict(guess)
        grid = st.columns(3)
        options = [NONE, *columns]
        for i, target in enumerate(t for t in upload.TARGETS if guess[t] != t):
            chosen = grid[i % 3].selectbox(
                upload.TARGET_LABELS[target],
                options,
                index=options.index(guess[target]) if guess[target] else 0,
                key=f"map_{target}",
            )
            mapping[target] = None if chosen == NONE else chosen
    positive = None
    if mapping.get(OUTCOME):
        distinct = upload.outcome_needs_positive(raw_table[mapping[OUTCOME]])
        if distinct:
            positive = st.selectbox(
                f"Which value of `{mapping[OUTCOME]}` means OVCF?", distinct, key="outcome_positive"
            )
    return mapping, positive


def upload_section() -> None:
    """Upload, map, validate; the valid rows become the cohort, a broken file leaves the cohort as it was."""
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
    if upload.is_raw(raw_table):
        st.info(f"{uploaded.name} holds raw measurements: the five indicators are computed from them.")
        frozen, positive = ("raw",), None
        try:
            clean, report = upload.cohort_from_raw_upload(data, uploaded.name)
        except OvcfError as exc:
            st.error(f"{uploaded.name}: {exc}. {unchanged}")
            return
    else:
        mapping, positive = mapping_form(raw_table)
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
        st.session_state.pop(state.ANALYSIS_SETTINGS, None)
        st.rerun()
    st.success(f"Every page now analyses {uploaded.name}: {len(clean):,} usable rows.")


def settings_section(cohort: pd.DataFrame) -> None:
    """Markers, covariates and pair column of the analysis (kept in state.ANALYSIS_SETTINGS)."""
    st.subheader("Analysis settings")
    numeric = [c for c in cohort.columns if pd.api.types.is_numeric_dtype(cohort[c]) and c != OUTCOME]
    marker_options = [c for c in INDICATOR_COLUMNS if c in cohort.columns] + [
        c for c in numeric if c not in INDICATOR_COLUMNS and c not in COVARIATES
    ]
    covariate_options = [c for c in COVARIATES if c in cohort.columns]
    settings = state.analysis_settings(cohort)
    c1, c2, c3 = st.columns([2, 1, 1])
    markers = c1.multiselect(
        "Markers",
        marker_options,
        default=[m for m in settings["markers"] if m in marker_options],
        format_func=style.marker_label,
        help="The indicators (or other numeric columns) to compare between groups.",
    )
    adjust = c2.multiselect(
        "Adjust for",
        covariate_options,
        default=[a for a in settings["adjust"] if a in covariate_options],
        format_func=lambda c: style.COVARIATE_LABELS.get(c, c),
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


def templates_section() -> None:
    """Empty templates and the synthetic sample files, to start from."""
    st.subheader("Templates")
    st.caption(
        "An empty cohort table with the expected columns, and the synthetic sample files to try the tool."
    )
    from ovcf_core import raw

    t1, t2, t3 = st.columns(3)
    for column, (label, table, file_name) in zip(
        (t1, t2, t3),
        (
            ("Cohort template", raw.cohort_template(), "cohort_template.csv"),
            ("Raw template, wide (per vertebra and level)", raw.wide_template(), "raw_wide_template.csv"),
            ("Raw template, long (one measurement a row)", raw.long_template(), "raw_long_template.csv"),
        ),
        strict=True,
    ):
        column.download_button(
            f"⬇ {label} (CSV)",
            io.table_to_bytes(table, "csv"),
            file_name=file_name,
            mime="text/csv",
            width="stretch",
        )
    samples = (
        ("Synthetic sample cohort", paths.SAMPLE_COHORT, "synthetic_cohort.csv"),
        ("Synthetic raw measurements, two raters", paths.SAMPLE_RAW, "synthetic_raw_two_raters.csv"),
        ("Synthetic matching pool", paths.SAMPLE_POOL, "synthetic_matching_pool.csv"),
    )
    for column, (label, path, file_name) in zip(st.columns(3), samples, strict=True):
        if path.exists():
            column.download_button(
                f"⬇ {label} (CSV)", path.read_bytes(), file_name=file_name, mime="text/csv", width="stretch"
            )


components.page_header(
    "Data",
    "Upload a cohort table (one row per patient) or raw measurements as CSV or XLSX. Rows with errors are "
    "left out and listed; the rest is used. Until you upload, every page shows the **synthetic** sample "
    "cohort.",
)
current = components.current_cohort(required=False)
if current is not None:
    show_current(current)
upload_section()
if current is not None:
    settings_section(current)
templates_section()
