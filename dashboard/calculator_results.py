"""The Calculator's results: the estimate, the patient against cohort and cut-offs, the summary download."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from dashboard import state
from dashboard.calculator_model import variable_label
from ovcf_core import RESEARCH_NOTE, formatting
from ovcf_core.cohort_cutoffs import youden_cutoffs
from ovcf_core.model import RiskModel
from ovcf_core.model import figures as model_figures
from ovcf_core.model.explain import age_lowers_the_odds
from ovcf_core.model.prediction import Prediction, percent
from ovcf_core.model.summary import prediction_summary_html
from ovcf_core.model.thresholds import threshold_table, thresholds_for
from ovcf_core.model.variables import variable_info


@st.cache_data(show_spinner=False)
def cohort_youden_cutoffs(_table: pd.DataFrame, key: str) -> dict[str, float]:
    """Compute `youden_cutoffs` of the current cohort, cached by its content digest `key`."""
    return youden_cutoffs(_table)


def show_estimate(prediction: Prediction) -> None:
    """Show the probability of OVCF and its 95% CI.

    Outside the model's data there is no point estimate, only the estimate at the data's edge and on which
    side of it the patient lies (the same line as `ovcf predict`).
    """
    st.subheader("Estimate")
    st.caption(RESEARCH_NOTE)
    low, high = prediction.ci
    scale = (
        f"at a prevalence of {percent(prediction.prevalence)}"
        if prediction.prevalence is not None
        else f"at the training sample's case fraction ({percent(prediction.sample_case_fraction)}), "
        "not corrected"
    )
    if prediction.extrapolated and prediction.edge is not None:
        st.metric("Probability of OVCF", "not estimated", help="outside the range of the model's data")
        st.error(prediction.headline() + ".", icon=":material/block:")
        return
    st.metric("Probability of OVCF", percent(prediction.probability), help=scale)
    st.markdown(f"**95% CI {percent(low)} to {percent(high)}**, {scale}.")
    figure = model_figures.probability_figure(prediction)
    figure.update_layout(
        title={"text": f"{percent(prediction.probability)} (95% CI {percent(low)} to {percent(high)})"}
    )
    st.plotly_chart(figure, key="probability")
    for warning in prediction.warnings:
        st.warning(warning)


def _reference_words(model: RiskModel) -> str:
    """Describe the average training patient in words (the training means of every variable)."""
    parts = []
    for term, mean in zip(model.terms_[1:], model.means_[1:], strict=True):
        if term == "sex_male":
            parts.append(f"{mean:.0%} men")
            continue
        info = variable_info(term)
        unit = "" if info["unit"] == "ratio" else f" {info['unit']}"
        parts.append(f"{info['label'].lower() if term == 'age' else info['label']} {mean:.3g}{unit}")
    return ", ".join(parts)


def _term_label(term: str, prediction: Prediction) -> str:
    """Label a bar with the variable and the patient's value; sex is the patient's sex."""
    value = prediction.features.get("sex" if term == "sex_male" else term)
    if term == "sex_male":
        return f"Patient's sex: {'male' if value == 'M' else 'female'}"
    info = variable_info(term)
    unit = "" if info["unit"] == "ratio" else f" {info['unit']}"
    return f"{info['label']} {value:.4g}{unit}" if isinstance(value, float) else str(info["label"])


def explain(prediction: Prediction, model: RiskModel) -> None:
    """Show what drives this estimate.

    Each variable's push on the log-odds against an average training patient, in words, with the patient's sex
    named as such and a case-control age effect explained.
    """
    st.subheader("What drives this estimate")
    st.markdown(
        "Each bar is how far this patient's value moves the log-odds of OVCF away from those of an **average "
        f"patient of the model's training data** ({_reference_words(model)}). Bars to the right raise the "
        "estimate, bars to the left lower it, and together they add up to the difference between this "
        "patient's log-odds and the average patient's."
    )
    figure = model_figures.contribution_figure(prediction, title=None)
    figure.update_traces(y=[_term_label(t, prediction) for t in prediction.contributions])
    st.plotly_chart(figure, key="contributions")
    age = age_lowers_the_odds(model)
    if age is not None:
        others = ", ".join(variable_label(t) for t in age.adjusted_for)
        odds = formatting.odds_ratio_ci(age.odds_ratio, *age.ci)
        st.info(
            f"In this model a higher age *lowers* the log-odds (odds ratio {odds} per year, adjusted for "
            f"{others}). That does not mean age protects: the model was trained on a case-control sample "
            f"({model.n_cases_} cases, {model.n_controls_} controls) in which the controls were chosen, not "
            "drawn from the population, so the age term reflects how the sample was assembled (e.g. matching "
            "or older controls), and with the bone markers in the model age only carries what they leave "
            "unexplained. Read the age bar as a property of this training sample, not of ageing.",
            icon=":material/info:",
        )


def against_cohort(
    cohort: pd.DataFrame, vbq: float | None, hu: float | None, hu_l1: float | None
) -> pd.DataFrame:
    """Plot the patient's VBQ and HU on the cohort's distributions with the cut-offs; return the cut-offs."""
    st.subheader("This patient against the cohort and published cut-offs")
    state.synthetic_badge()
    youden = cohort_youden_cutoffs(cohort, st.session_state.get(state.COHORT_KEY, ""))
    c1, c2 = st.columns(2)
    if "vbq" in cohort.columns and cohort["vbq"].notna().any():
        cuts = [(t.value, t.label) for t in thresholds_for("vbq")]
        if "vbq" in youden:
            shown = formatting.marker_value("vbq", youden["vbq"])  # as every table shows a cut-off
            cuts.append((youden["vbq"], f"Youden {shown} (this cohort)"))
        c1.plotly_chart(model_figures.patient_on_distribution(cohort, "vbq", vbq, cuts), key="vbq_dist")
    if "hu" in cohort.columns and cohort["hu"].notna().any():
        shown = formatting.marker_value("hu", youden.get("hu"))
        cuts = [(youden["hu"], f"Youden {shown} (this cohort)")] if "hu" in youden else []
        c2.plotly_chart(model_figures.patient_on_distribution(cohort, "hu", hu, cuts), key="hu_dist")
        c2.caption(
            "Pickhardt's 160/110 HU thresholds are for L1 alone, so they are not drawn on the L1–L4 average."
        )
    thresholds = threshold_table(vbq, hu, hu_l1, youden)
    first = [c for c in ("cut-off", "this patient") if c in thresholds.columns]  # readable without scrolling
    st.dataframe(thresholds[first + [c for c in thresholds.columns if c not in first]], hide_index=True)
    return thresholds


def summary_download(prediction: Prediction, model: RiskModel, thresholds: pd.DataFrame) -> None:
    """Build the one-page HTML summary of the estimate (no identifiers)."""
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
