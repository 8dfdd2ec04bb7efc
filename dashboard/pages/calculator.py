"""Calculator page: one patient's probability of OVCF with its 95% CI, corrected to a prevalence, the
patient's VBQ and HU against the cohort and published cut-offs, what drives the estimate, the model card and
a one-page HTML summary. Thin: the model, figures and summary come from `ovcf_core.model`.
"""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st

from dashboard import state
from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE
from ovcf_core.errors import OvcfError
from ovcf_core.indicators import LEVELS
from ovcf_core.model import DEFAULT_PREVALENCE, PREVALENCE_SOURCE, RiskModel, load_model
from ovcf_core.model import figures as model_figures
from ovcf_core.model.shipped import load_model_card, load_shipped_model
from ovcf_core.model.summary import prediction_summary_html
from ovcf_core.model.thresholds import threshold_table, thresholds_for
from ovcf_core.schema import BMI, COVARIATE_COLUMNS, Indicator

SHIPPED, COHORT_FIT, UPLOADED = (
    "Shipped default (synthetic)",
    "Fitted on the current cohort",
    "Uploaded model file",
)


@st.cache_resource(show_spinner=False)
def shipped_model() -> RiskModel:
    """The shipped default model, read once per server from its JSON file."""
    return load_shipped_model()


@st.cache_data(show_spinner=False)
def shipped_card() -> dict:
    """The shipped model's card."""
    return load_model_card()


@st.cache_data(show_spinner="Fitting the model on the current cohort (200 bootstrap resamples)…")
def fit_on_cohort(_table: pd.DataFrame, key: str, source: str, synthetic: bool) -> RiskModel:
    """The risk model fitted on the current cohort (cached by the cohort's content digest `key`)."""
    return RiskModel().fit(_table, source=source, synthetic=synthetic)


@st.cache_data(show_spinner=False)
def uploaded_model(data: bytes, name: str) -> RiskModel:
    """A model file uploaded by the user: JSON only, checked field by field (never unpickled)."""
    return load_model(data, name=name)


@st.cache_data(show_spinner=False)
def youden_cutoffs(_table: pd.DataFrame, key: str) -> dict[str, float]:
    """The current cohort's Youden-optimal cut-off of VBQ and HU (where both groups have values)."""
    from ovcf_core.stats.roc import youden_cutoff

    out = {}
    for ind in (Indicator.VBQ, Indicator.HU):
        if ind.column in _table.columns:
            data = _table[["ovcf", ind.column]].dropna()
            if data["ovcf"].nunique() == 2:
                out[ind.column] = float(
                    youden_cutoff(
                        data["ovcf"].to_numpy(), data[ind.column].to_numpy(), ind.direction
                    ).threshold
                )
    return out


def _prefill(name: str, default: float | None) -> float | None:
    """A value sent by another page (e.g. the Scans page) for this input, else the default."""
    sent = st.session_state.get(state.CALCULATOR_INPUTS) or {}
    value = sent.get(name, default)
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return default


def _choose_model(table: pd.DataFrame, choice: str, upload) -> RiskModel | None:
    """The model the user chose: the shipped one, one fitted on the current cohort, or an uploaded file."""
    try:
        if choice == SHIPPED:
            return shipped_model()
        if choice == COHORT_FIT:
            if st.button("Fit the model on the current cohort") or state.RISK_MODEL in st.session_state:
                if st.session_state.get(state.RISK_MODEL_COHORT) != st.session_state.get(state.COHORT_KEY):
                    st.session_state[state.RISK_MODEL] = fit_on_cohort(
                        table,
                        st.session_state.get(state.COHORT_KEY, ""),
                        st.session_state.get(state.COHORT_SOURCE, "current cohort"),
                        bool(st.session_state.get(state.COHORT_IS_SYNTHETIC, True)),
                    )
                    st.session_state[state.RISK_MODEL_COHORT] = st.session_state.get(state.COHORT_KEY)
                return st.session_state[state.RISK_MODEL]
            st.info("Press the button to fit VBQ + HU (adjusted for age, sex, BMI) on the current cohort.")
            return None
        if upload is None:
            st.info("Upload a model file written by `ovcf train` (JSON; pickle/joblib files are refused).")
            return None
        return uploaded_model(upload.getvalue(), upload.name)
    except OvcfError as exc:
        st.error(str(exc))
        return None


def _number(label: str, value: float | None, help_text: str, key: str) -> float | None:
    """A number input that may be empty; range checks happen in the model so the message can say why."""
    return st.number_input(label, value=value, help=help_text, key=key, format="%.4g")


def _vbq_input() -> tuple[float | None, str | None]:
    """VBQ entered directly, or from L1-L4 SI, CSF SI and fractured levels; (value, problem)."""
    ind = Indicator.VBQ
    mode = st.radio("VBQ", ["Enter VBQ", "From L1–L4 SI and CSF SI"], horizontal=True, key="vbq_mode")
    if mode == "Enter VBQ":
        help_text = f"MRI T1 VBQ score; plausible {ind.low:g}–{ind.high:g}"
        return _number("VBQ score (ratio)", _prefill("vbq", 3.2), help_text, "vbq"), None
    from ovcf_core.indicators import vbq_score

    cols = st.columns(4)
    si = {lv: cols[i].number_input(f"SI {lv}", value=None, key=f"si_{lv}") for i, lv in enumerate(LEVELS)}
    cols = st.columns(3)
    csf = {
        lv: cols[i].number_input(f"CSF SI at {lv}", value=None, key=f"csf_{lv}")
        for i, lv in enumerate(LEVELS[1:])
    }
    result = vbq_score(si, csf, st.session_state.get("fractured", []))
    if result.value is None:
        return None, f"VBQ cannot be computed: {result.reason}"
    st.caption(f"VBQ = {result.value:.3f} (from {', '.join(result.used)})")
    return result.value, None


def _hu_input() -> tuple[float | None, float | None, str | None]:
    """Average HU entered directly or from per-vertebra HU; (average, L1 HU or None, problem)."""
    ind = Indicator.HU
    mode = st.radio("HU", ["Enter average HU", "From per-vertebra HU"], horizontal=True, key="hu_mode")
    if mode == "Enter average HU":
        help_text = f"mean CT HU of the unfractured L1–L4; plausible {ind.low:g}–{ind.high:g} HU"
        return _number("Average HU (HU)", _prefill("hu", 120.0), help_text, "hu"), None, None
    from ovcf_core.indicators import average_hu

    cols = st.columns(4)
    hu = {lv: cols[i].number_input(f"HU {lv}", value=None, key=f"hu_{lv}") for i, lv in enumerate(LEVELS)}
    result = average_hu(hu, st.session_state.get("fractured", []))
    if result.value is None:
        return None, hu["L1"], f"Average HU cannot be computed: {result.reason}"
    st.caption(f"Average HU = {result.value:.1f} (from {', '.join(result.used)})")
    return result.value, hu["L1"], None


st.title("Risk calculator")
st.warning(RESEARCH_NOTE)
cohort = state.ensure_cohort()
with st.expander("Use your own model file (optional)"):
    model_upload = st.file_uploader("Risk model file (JSON from `ovcf train`)", type=["json"])
default_choice = 2 if model_upload is not None else 1 if state.RISK_MODEL in st.session_state else 0
model_choice = st.radio("Model", [SHIPPED, COHORT_FIT, UPLOADED], index=default_choice, horizontal=True)
model = _choose_model(cohort, model_choice, model_upload)
if model is not None and model.is_synthetic:
    st.caption(f":material/science: **Synthetic model** — trained on synthetic data. {SYNTHETIC_NOTE}")

st.subheader("Patient")
st.multiselect("Fractured vertebrae (excluded from raw averages)", LEVELS, key="fractured")
left, right = st.columns(2)
with left:
    vbq, vbq_problem = _vbq_input()
with right:
    hu, hu_l1, hu_problem = _hu_input()
age_spec, bmi_spec = COVARIATE_COLUMNS["age"], COVARIATE_COLUMNS[BMI]
a, s, b = st.columns(3)
age = a.number_input(
    "Age (years)", value=_prefill("age", 70.0), help=f"plausible {age_spec.low:g}–{age_spec.high:g}"
)
sex_default = (st.session_state.get(state.CALCULATOR_INPUTS) or {}).get("sex", "F")
sex = s.radio("Sex", ["F", "M"], index=1 if sex_default == "M" else 0, horizontal=True)
bmi = b.number_input(
    "BMI (kg/m²)", value=_prefill("bmi", 24.0), help=f"plausible {bmi_spec.low:g}–{bmi_spec.high:g}"
)
correct = st.checkbox("Correct to a prevalence", value=True)
prevalence_pct = st.number_input(
    "Prevalence (%)", value=100 * DEFAULT_PREVALENCE, disabled=not correct, help=PREVALENCE_SOURCE
)
st.caption(PREVALENCE_SOURCE)

for problem in (vbq_problem, hu_problem):
    if problem:
        st.error(problem)
prediction = None
if model is not None and not (vbq_problem or hu_problem):
    patient = {"vbq": vbq, "hu": hu, "age": age, "sex": sex, "bmi": bmi}
    prevalence = prevalence_pct / 100 if correct else None
    try:
        prediction = model.predict(patient, prevalence=prevalence)
    except OvcfError as exc:
        st.error(str(exc))

if prediction is not None:
    st.subheader("Estimate")
    low, high = prediction.ci
    scale = (
        f"at a prevalence of {prediction.prevalence:.1%}"
        if prediction.prevalence is not None
        else f"at the training sample's case fraction ({prediction.sample_case_fraction:.1%}), not corrected"
    )
    st.metric("Probability of OVCF", f"{prediction.probability:.1%}", help=scale)
    st.markdown(f"**95% CI {low:.1%} to {high:.1%}**, {scale}.")
    st.plotly_chart(model_figures.probability_figure(prediction), key="probability")
    for warning in prediction.warnings:
        st.warning(warning)

    st.subheader("This patient against the cohort and published cut-offs")
    state.synthetic_badge()
    youden = youden_cutoffs(cohort, st.session_state.get(state.COHORT_KEY, ""))
    c1, c2 = st.columns(2)
    if "vbq" in cohort.columns and cohort["vbq"].notna().any():
        cuts = [(t.value, t.label) for t in thresholds_for("vbq")]
        if "vbq" in youden:
            cuts.append((youden["vbq"], f"Youden {youden['vbq']:.2f} (this cohort)"))
        c1.plotly_chart(model_figures.patient_on_distribution(cohort, "vbq", vbq, cuts), key="vbq_dist")
    if "hu" in cohort.columns and cohort["hu"].notna().any():
        cuts = [(youden["hu"], f"Youden {youden['hu']:.0f} (this cohort)")] if "hu" in youden else []
        c2.plotly_chart(model_figures.patient_on_distribution(cohort, "hu", hu, cuts), key="hu_dist")
        c2.caption(
            "Pickhardt's 160/110 HU thresholds are for L1 alone, so they are not drawn on the L1–L4 average."
        )
    thresholds = threshold_table(vbq, hu, hu_l1, youden)
    st.dataframe(thresholds, hide_index=True)

    st.subheader("What drives this estimate")
    st.plotly_chart(model_figures.contribution_figure(prediction, title=None), key="contributions")

    st.download_button(
        "Download a one-page summary (HTML, no identifiers)",
        prediction_summary_html(
            prediction,
            model.summary_,
            thresholds=thresholds,
            synthetic=model.is_synthetic,
            model_source=str(model.provenance_.get("source", "")),
        ),
        file_name="ovcf_risk_summary.html",
        mime="text/html",
    )

if model is not None:
    with st.expander("Model card", expanded=False):
        if model.is_synthetic:
            st.caption(f":material/science: Synthetic: {SYNTHETIC_NOTE}")
        st.markdown(
            f"Trained on **{model.provenance_.get('source', 'unknown')}** "
            f"({model.n_cases_} cases, {model.n_controls_} controls), "
            f"created {model.provenance_.get('created', '?')}."
        )
        st.dataframe(model.summary_.to_frame(), hide_index=True)
        st.dataframe(model.coefficients_frame(), hide_index=True)
        if not math.isnan(model.summary_.slope_corrected):
            st.plotly_chart(model_figures.calibration_figure(model.summary_), key="calibration")
        if model_choice == SHIPPED:
            try:
                st.json(shipped_card(), expanded=False)
            except OvcfError as exc:
                st.error(str(exc))

# ---- Validation in this session (written by the Validation page, dashboard/pages/validation.py) ----
_validated = st.session_state.get("validation_record")
if model is not None:
    st.subheader("Validation in this session")
    if _validated and _validated.get("coef") == [float(b) for b in model.coef_]:
        low, high = _validated["auc_ci"]
        st.markdown(
            f"This model was validated on **{_validated['cohort']}** ({_validated['n']} patients, "
            f"{_validated['n_cases']} with OVCF): AUC {_validated['auc']:.3f} ({low:.3f}–{high:.3f}), "
            f"calibration intercept {_validated['intercept']:.2f}, slope {_validated['slope']:.2f}."
        )
        if _validated.get("internal_split"):
            st.caption("An internal split of the same cohort: not external validation.")
        _recalibrated = _validated.get("recalibrated")
        if _recalibrated and prediction is not None:
            from ovcf_core.model import model_from_dict

            _new = model_from_dict(_recalibrated["model"]).predict(
                prediction.features, prevalence=prediction.prevalence
            )
            st.metric(
                f"Recalibrated estimate ({_recalibrated['method']}, on {_validated['cohort']})",
                f"{_new.probability:.1%}",
                help=f"95% CI {_new.ci[0]:.1%} to {_new.ci[1]:.1%}",
            )
            st.caption(f"95% CI {_new.ci[0]:.1%} to {_new.ci[1]:.1%}, same prevalence setting as above.")
    else:
        st.info("Not validated in this session; the Validation page checks a model on a cohort.")
