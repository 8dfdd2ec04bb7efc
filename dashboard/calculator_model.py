"""The Calculator's model: the shipped default, one fitted on the current cohort, or an uploaded JSON file;
and its model card."""

from __future__ import annotations

import math

import pandas as pd
import streamlit as st
from streamlit.runtime.uploaded_file_manager import UploadedFile

from dashboard import state
from ovcf_core import SYNTHETIC_NOTE
from ovcf_core.errors import OvcfError
from ovcf_core.model import RiskModel, load_model
from ovcf_core.model import figures as model_figures
from ovcf_core.model.shipped import load_model_card, load_shipped_model

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


def choose_model(table: pd.DataFrame, choice: str, upload: UploadedFile | None) -> RiskModel | None:
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


def model_section(cohort: pd.DataFrame) -> tuple[RiskModel | None, str]:
    """The optional model upload, the model choice and the synthetic label; (model or None, choice)."""
    with st.expander("Use your own model file (optional)"):
        upload = st.file_uploader("Risk model file (JSON from `ovcf train`)", type=["json"])
    default_choice = 2 if upload is not None else 1 if state.RISK_MODEL in st.session_state else 0
    choice = st.radio("Model", [SHIPPED, COHORT_FIT, UPLOADED], index=default_choice, horizontal=True)
    model = choose_model(cohort, choice, upload)
    if model is not None and model.is_synthetic:
        st.caption(f":material/science: **Synthetic model** — trained on synthetic data. {SYNTHETIC_NOTE}")
    return model, choice


def model_card(model: RiskModel, choice: str) -> None:
    """Where the model comes from, its performance, coefficients and calibration (collapsed)."""
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
        if choice == SHIPPED:
            try:
                st.json(shipped_card(), expanded=False)
            except OvcfError as exc:
                st.error(str(exc))
