"""Validation page: is this model's probability right for my population? Discrimination (the model's ROC
beside each marker's), calibration plot, decision curve and the metrics table for a chosen model on a chosen
cohort; recalibration with a download of the new model file; incremental value of a marker. Thin: every
number comes from `ovcf_core.model.validation` (and its siblings) through st.cache_data.
"""

from __future__ import annotations

import hashlib
import io
import json

import pandas as pd
import streamlit as st

from dashboard import components, state
from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE
from ovcf_core.errors import OvcfError
from ovcf_core.model import RiskModel, load_model, model_to_dict
from ovcf_core.model import validation_figures as vf
from ovcf_core.model.incremental import incremental_value
from ovcf_core.model.recalibration import recalibrate
from ovcf_core.model.shipped import load_shipped_model
from ovcf_core.model.validation import ValidationResult, split_cohort, validate_model
from ovcf_core.output import json_safe
from ovcf_core.schema import INDICATOR_COLUMNS, ValidationReport

# read by the Calculator page: what was validated in this session (and its recalibrated model, if any)
VALIDATION_RECORD = "validation_record"
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
    """A digest of what makes a model predict what it does (terms, coefficients, case/control counts)."""
    data = {"terms": list(model.terms_), "coef": [round(float(b), 12) for b in model.coef_],
            "n": [model.n_cases_, model.n_controls_]}  # fmt: skip
    return hashlib.blake2b(json.dumps(data).encode(), digest_size=10).hexdigest()


@st.cache_resource(show_spinner=False)
def shipped_model() -> RiskModel:
    """The shipped default model, read once per server."""
    return load_shipped_model()


@st.cache_data(show_spinner=False, max_entries=8)
def uploaded_model(data: bytes, name: str) -> RiskModel:
    """A model file uploaded here: JSON only, checked field by field (never unpickled)."""
    return load_model(data, name=name)


@st.cache_data(show_spinner="Fitting the model…", max_entries=8)
def fitted_model(_table: pd.DataFrame, key: str, source: str, synthetic: bool) -> RiskModel:
    """VBQ + HU adjusted for age, sex, BMI fitted on `_table` (cached by its digest `key`; no bootstrap)."""
    return RiskModel(n_bootstrap=0).fit(_table, source=source, synthetic=synthetic)


@st.cache_data(show_spinner=False, max_entries=8)
def read_validation_cohort(data: bytes, name: str) -> tuple[pd.DataFrame, ValidationReport]:
    """An uploaded validation cohort, read and validated like any cohort table."""
    from ovcf_core.io import read_cohort

    return read_cohort(io.BytesIO(data), name=name)


@st.cache_data(show_spinner="Validating…", max_entries=16)
def validation(
    _model: RiskModel, _table: pd.DataFrame, key: str, prevalence: float | None, cohort: str, synthetic: bool
) -> ValidationResult:
    """`validate_model` cached on the model's and the cohort's digests (`key`) and the prevalence."""
    return validate_model(_model, _table, prevalence=prevalence, cohort=cohort, synthetic=synthetic)


@st.cache_data(show_spinner=False, max_entries=16)
def recalibrated(_model: RiskModel, _table: pd.DataFrame, key: str, method: str, cohort: str) -> dict:
    """The model recalibrated on the cohort, as a model-file dict (cached)."""
    return model_to_dict(recalibrate(_model, _table, method, source=cohort))


def incremental(table: pd.DataFrame, base: tuple[str, ...], added: tuple[str, ...], n_bootstrap: int):
    """`incremental_value` with a progress bar while its seeded bootstrap runs (on demand, not cached)."""
    bar = st.progress(0.0, text="Bootstrap of NRI and IDI…")

    def progress(done: int, total: int) -> None:
        if done % 10 == 0 or done == total:
            bar.progress(done / total, text=f"Bootstrap of NRI and IDI: {done}/{total}")

    result = incremental_value(table, base, added, n_bootstrap=n_bootstrap, progress=progress)
    bar.empty()
    return result


def choose_cohort(current: pd.DataFrame) -> tuple[pd.DataFrame | None, pd.DataFrame, str, bool]:
    """(validation cohort or None, development table for a fitted model, label, synthetic)."""
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
    """The model to validate and a label of it."""
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


st.title("Model validation")
st.markdown(
    "Is this model's probability right for my population? Discrimination, calibration and net benefit."
)
st.warning(RESEARCH_NOTE)
current = state.ensure_cohort()
valid_table, development, cohort_label, cohort_synthetic = choose_cohort(current)
model, model_label = choose_model(development, state.table_digest(development))
if model is not None and model.is_synthetic:
    st.caption(f":material/science: **Synthetic model** — {SYNTHETIC_NOTE}")
correct = st.checkbox("Case-control cohort: correct predictions to a population prevalence", value=False)
prevalence_pct = st.number_input("Prevalence (%)", 0.1, 99.9, 10.0, disabled=not correct)
prevalence = prevalence_pct / 100 if correct else None

result = None
if model is not None and valid_table is not None:
    key = f"{model_key(model)}:{state.table_digest(valid_table)}"
    try:
        result = validation(model, valid_table, key, prevalence, cohort_label, cohort_synthetic)
    except OvcfError as exc:
        st.error(f"Cannot validate on {cohort_label} — {exc}")

if result is not None:
    if cohort_synthetic or result.model_info.get("synthetic"):
        st.caption(f":material/science: **Synthetic data or model** — {SYNTHETIC_NOTE}")
    st.session_state[VALIDATION_RECORD] = {
        "model_key": model_key(model),
        "coef": [float(b) for b in model.coef_],
        "model": model_label,
        "cohort": cohort_label,
        "internal_split": cohort_label.endswith("(internal split)"),
        "n": result.n,
        "n_cases": result.n_cases,
        "auc": result.auc,
        "auc_ci": result.auc_ci,
        "intercept": result.calibration.intercept,
        "slope": result.calibration.slope,
        "prevalence": prevalence,
        "recalibrated": None,
    }
    for message in result.messages:
        st.info(message)
    st.subheader("Metrics")
    components.show_table(result.to_frame())
    if result.n_excluded:
        with st.expander(f"{result.n_excluded} patients left out (missing values)"):
            components.show_table(result.excluded_frame())
    left, right = st.columns(2)
    left.plotly_chart(vf.calibration_plot(result), key="validation_calibration")
    right.plotly_chart(vf.decision_curve_figure(result), key="validation_dca")
    st.caption(result.hosmer_lemeshow.note)
    st.subheader("Discrimination: the model beside each single marker")
    st.plotly_chart(vf.model_vs_markers_roc(result), key="validation_roc")
    if result.markers:
        components.show_table(result.markers_frame())
    st.download_button(
        "Download the validation (JSON, as `ovcf validate --json`)",
        json.dumps(json_safe(result.to_dict()), indent=1).encode(),
        file_name="ovcf_validation.json",
        mime="application/json",
    )

    st.subheader("Recalibration")
    method = st.radio("Method", ["intercept", "logistic"], horizontal=True,
                      help="intercept: calibration-in-the-large; logistic: intercept and slope")  # fmt: skip
    if prevalence is not None:
        st.info("Recalibration uses the cohort's own case fraction; switch off the prevalence correction.")
    else:
        try:
            new_model = recalibrated(model, valid_table, key, method, cohort_label)
        except OvcfError as exc:
            st.error(str(exc))
        else:
            st.session_state[VALIDATION_RECORD]["recalibrated"] = {"method": method, "model": new_model}
            st.download_button(
                f"Download the recalibrated model ({method}, JSON)",
                json.dumps(json_safe(new_model), indent=1).encode(),
                file_name=f"ovcf_model_recalibrated_{method}.json",
                mime="application/json",
            )
            st.caption("The Calculator shows this recalibrated estimate next to the model's own.")

    with st.expander("Incremental value: does adding a marker to a base model help?"):
        present = [c for c in INDICATOR_COLUMNS if c in valid_table.columns and valid_table[c].notna().any()]
        base = st.multiselect("Base model", present, default=[c for c in ("hu",) if c in present])
        added = st.multiselect("Added", [c for c in present if c not in base],
                               default=[c for c in ("vbq",) if c in present and c not in base])  # fmt: skip
        resamples = st.number_input("Bootstrap resamples (NRI/IDI CIs)", 0, 2000, 200, 100)
        if added and st.button("Compare"):
            try:
                value = incremental(valid_table, tuple(base), tuple(added), int(resamples))
            except OvcfError as exc:
                st.error(str(exc))
            else:
                components.show_table(value.to_frame())
                st.caption(f"{value.n} patients with every variable; seed {value.seed}.")
