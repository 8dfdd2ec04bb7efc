"""The Validation page's inputs and cached computations.

Which cohort (an upload, or an internal split of the current one, with its warning), which model (shipped,
fitted on the cohort, uploaded JSON), and `validate_model`, recalibration and incremental value through
st.cache_data.
"""

from __future__ import annotations

import hashlib
import io
import json

import pandas as pd
import streamlit as st

from dashboard import state
from ovcf_core.errors import OvcfError
from ovcf_core.model import RiskModel, load_model, model_to_dict
from ovcf_core.model.incremental import IncrementalValue, incremental_value
from ovcf_core.model.recalibration import recalibrate
from ovcf_core.model.shipped import load_shipped_model
from ovcf_core.model.validation import ValidationResult, split_cohort, validate_model
from ovcf_core.schema import ValidationReport

# read by the Calculator page: what was validated in this session (and its recalibrated model, if any)
VALIDATION_RECORD = "validation_record"
INCREMENTAL = "validation_incremental"  # the last comparison, with the inputs it was computed for
SHIPPED, COHORT_FIT, UPLOADED = (
    "Shipped default (synthetic)",
    "Fitted on the current cohort",
    "Uploaded model file",
)
UPLOAD_COHORT, SPLIT = ("Upload a validation cohort", "Split the current cohort (internal)")
SPLIT_WARNING = (
    "**An internal split is not external validation.** Both parts come from the same patients' population, "
    "centre and measurement protocol, so the results overstate how the model will do elsewhere. Validate on "
    "patients from another centre or period to know whether the probability is right for your population."
)


def model_key(model: RiskModel) -> str:
    """Digest what makes a model predict what it does (terms, coefficients, case/control counts)."""
    data = {"terms": list(model.terms_), "coef": [round(float(b), 12) for b in model.coef_],
            "n": [model.n_cases_, model.n_controls_]}  # fmt: skip
    return hashlib.blake2b(json.dumps(data).encode(), digest_size=10).hexdigest()


@st.cache_resource(show_spinner=False)
def shipped_model() -> RiskModel:
    """Read the shipped default model once per server."""
    return load_shipped_model()


@st.cache_data(show_spinner=False, max_entries=8)
def uploaded_model(data: bytes, name: str) -> RiskModel:
    """Read a model file uploaded here: JSON only, checked field by field (never unpickled)."""
    return load_model(data, name=name)


@st.cache_data(show_spinner="Fitting the model…", max_entries=8)
def fitted_model(_table: pd.DataFrame, key: str, source: str, synthetic: bool) -> RiskModel:
    """Fit VBQ + HU adjusted for age, sex, BMI on `_table` (cached by its digest `key`; no bootstrap)."""
    return RiskModel(n_bootstrap=0).fit(_table, source=source, synthetic=synthetic)


@st.cache_data(show_spinner=False, max_entries=8)
def read_validation_cohort(data: bytes, name: str) -> tuple[pd.DataFrame, ValidationReport]:
    """Read and validate an uploaded validation cohort like any cohort table."""
    from ovcf_core.io import read_cohort

    return read_cohort(io.BytesIO(data), name=name)


@st.cache_data(show_spinner="Validating…", max_entries=16)
def validation(
    _model: RiskModel, _table: pd.DataFrame, key: str, prevalence: float | None, cohort: str, synthetic: bool
) -> ValidationResult:
    """Run `validate_model`, cached on the model's and the cohort's digests (`key`) and the prevalence."""
    return validate_model(_model, _table, prevalence=prevalence, cohort=cohort, synthetic=synthetic)


@st.cache_data(show_spinner=False, max_entries=16)
def recalibrated(_model: RiskModel, _table: pd.DataFrame, key: str, method: str, cohort: str) -> dict:
    """Recalibrate the model on the cohort, as a model-file dict (cached)."""
    return model_to_dict(recalibrate(_model, _table, method, source=cohort))


def incremental(
    table: pd.DataFrame, base: tuple[str, ...], added: tuple[str, ...], n_bootstrap: int
) -> IncrementalValue:
    """Run `incremental_value` with a progress bar while its seeded bootstrap runs (on demand, not cached).

    The result is kept in the session with its inputs, so it stays on the page across reruns (a download,
    another widget) until the cohort or a choice changes; `remembered_incremental` returns it.
    """
    bar = st.progress(0.0, text="Bootstrap of NRI and IDI…")

    def progress(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            bar.progress(done / total, text=f"Bootstrap of NRI and IDI: {done}/{total}")

    result = incremental_value(table, base, added, n_bootstrap=n_bootstrap, progress=progress)
    bar.empty()
    st.session_state[INCREMENTAL] = {
        "inputs": _incremental_inputs(table, base, added, n_bootstrap),
        "result": result,
    }
    return result


def _incremental_inputs(
    table: pd.DataFrame, base: tuple[str, ...], added: tuple[str, ...], n_bootstrap: int
) -> tuple[str, tuple[str, ...], tuple[str, ...], int]:
    """Return what an incremental-value result depends on: the cohort's content and the three choices."""
    return (state.table_digest(table), tuple(base), tuple(added), int(n_bootstrap))


def remembered_incremental(
    table: pd.DataFrame, base: tuple[str, ...], added: tuple[str, ...], n_bootstrap: int
) -> IncrementalValue | None:
    """Return the comparison last computed for exactly these inputs in this session, else None."""
    kept = st.session_state.get(INCREMENTAL)
    if kept is None or kept["inputs"] != _incremental_inputs(table, base, added, n_bootstrap):
        return None
    return kept["result"]


def choose_cohort(current: pd.DataFrame) -> tuple[pd.DataFrame | None, pd.DataFrame, str, bool]:
    """Draw the cohort choice; return (validation cohort or None, development table, label, synthetic)."""
    synthetic = bool(st.session_state.get(state.COHORT_IS_SYNTHETIC, True))
    source = st.session_state.get(state.COHORT_SOURCE, "current cohort")
    choice = st.radio("Validation cohort", [UPLOAD_COHORT, SPLIT], index=1, horizontal=True)
    if choice == SPLIT:
        st.warning(SPLIT_WARNING)
        share = st.slider("Share held out for validation", 0.2, 0.5, 0.3, 0.05)
        try:
            development, held_out = split_cohort(current, share)
        except OvcfError as exc:
            st.error(str(exc))
            return None, current, source, synthetic
        label = f"{share:.0%} held out of {source} (internal split)"
        return held_out, development, label, synthetic
    upload = st.file_uploader("Validation cohort (CSV or XLSX, with the outcome ovcf)", type=["csv", "xlsx"])
    if upload is None:
        st.info("Upload a cohort from another centre or period, with `ovcf` and the model's variables.")
        return None, current, source, synthetic
    try:
        table, report = read_validation_cohort(upload.getvalue(), upload.name)
    except OvcfError as exc:
        st.error(f"Could not use {upload.name} — {exc}. Nothing else in the session changed.")
        return None, current, source, synthetic
    if report.problems:
        st.caption(f"{upload.name}: {report.summary()}")
    return table, current, upload.name, False


def choose_model(development: pd.DataFrame, dev_key: str) -> tuple[RiskModel | None, str]:
    """Draw the model choice; return the model to validate and a label of it."""
    choice = st.radio("Model", [SHIPPED, COHORT_FIT, UPLOADED], horizontal=True)
    try:
        if choice == SHIPPED:
            return shipped_model(), "shipped default model (synthetic)"
        if choice == COHORT_FIT:
            synthetic = bool(st.session_state.get(state.COHORT_IS_SYNTHETIC, True))
            model = fitted_model(development, dev_key, "development part of the current cohort", synthetic)
            return model, f"VBQ + HU fitted on {len(development)} patients of the current cohort"
        upload = st.file_uploader("Model file (JSON from `ovcf train` or `ovcf recalibrate`)", type=["json"])
        if upload is None:
            st.info("Upload a model file (JSON; pickle/joblib files are refused).")
            return None, ""
        return uploaded_model(upload.getvalue(), upload.name), f"uploaded {upload.name}"
    except OvcfError as exc:
        st.error(str(exc))
        return None, ""
