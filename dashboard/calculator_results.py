"""The Calculator's results: the estimate with its CI, the patient against the cohort and published
cut-offs, and the one-page summary download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import state
from ovcf_core.cohort_cutoffs import youden_cutoffs
from ovcf_core.model import RiskModel
from ovcf_core.model import figures as model_figures
from ovcf_core.model.prediction import Prediction
from ovcf_core.model.summary import prediction_summary_html
from ovcf_core.model.thresholds import threshold_table, thresholds_for


@st.cache_data(show_spinner=False)
def cohort_youden_cutoffs(_table: pd.DataFrame, key: str) -> dict[str, float]:
    """`youden_cutoffs` of the current cohort, cached by its content digest `key`."""
    return youden_cutoffs(_table)


def show_estimate(prediction: Prediction) -> None:
    """The probability of OVCF, its 95% CI and the scale it is on, as a metric and a figure."""
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


def against_cohort(
    cohort: pd.DataFrame, vbq: float | None, hu: float | None, hu_l1: float | None
) -> pd.DataFrame:
    """The patient's VBQ and HU on the cohort's distributions with the cut-offs; returns the cut-off table."""
    st.subheader("This patient against the cohort and published cut-offs")
    state.synthetic_badge()
    youden = cohort_youden_cutoffs(cohort, st.session_state.get(state.COHORT_KEY, ""))
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
    return thresholds


def summary_download(prediction: Prediction, model: RiskModel, thresholds: pd.DataFrame) -> None:
    """The one-page HTML summary of the estimate (no identifiers)."""
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
