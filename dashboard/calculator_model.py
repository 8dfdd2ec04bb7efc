"""The Calculator's model: the shipped default, one fitted on the current cohort, or an uploaded file.

The fitted one uses the markers the reader chooses (e.g. HU alone); the upload is a JSON file. Its model card
is shown as readable tables.

The choice, the fitted model and the uploaded model are kept in plain session keys (`state.MODEL_CHOICE`,
`state.RISK_MODEL`, `state.UPLOADED_MODEL`), so they survive leaving the page.
"""

from __future__ import annotations

import math
from typing import Any

import pandas as pd
import streamlit as st

from dashboard import state
from ovcf_core import SYNTHETIC_NOTE
from ovcf_core import formatting as fmt
from ovcf_core.errors import OvcfError
from ovcf_core.model import RiskModel, load_model
from ovcf_core.model import figures as model_figures
from ovcf_core.model.shipped import load_model_card, load_shipped_model
from ovcf_core.model.variables import variable_info
from ovcf_core.schema import COVARIATES, Indicator

SHIPPED, COHORT_FIT, UPLOADED = (
    "Shipped default (synthetic)",
    "Fitted on the current cohort",
    "Uploaded model file",
)
CHOICES = (SHIPPED, COHORT_FIT, UPLOADED)
CHOICE_WIDGET = "model_choice_radio"
FIT_SETTINGS = "calculator_fit_settings"  # plain key: the features/adjust chosen for fitting on the cohort


@st.cache_resource(show_spinner=False)
def shipped_model() -> RiskModel:
    """Read the shipped default model once per server from its JSON file."""
    return load_shipped_model()


@st.cache_data(show_spinner=False)
def shipped_card() -> dict:
    """Return the shipped model's card."""
    return load_model_card()


@st.cache_data(show_spinner="Fitting the model on the current cohort (200 bootstrap resamples)…")
def fit_on_cohort(
    _table: pd.DataFrame,
    key: str,
    source: str,
    synthetic: bool,
    features: tuple[str, ...] = ("vbq", "hu"),
    adjust: tuple[str, ...] = ("age", "sex", "bmi"),
) -> RiskModel:
    """Fit the risk model on the current cohort (cached by the cohort's content digest `key`)."""
    return RiskModel(features=features, adjust=adjust).fit(_table, source=source, synthetic=synthetic)


@st.cache_data(show_spinner=False)
def uploaded_model(data: bytes, name: str) -> RiskModel:
    """Read a model file uploaded by the user: JSON only, checked field by field (never unpickled)."""
    return load_model(data, name=name)


def variable_label(variable: str) -> str:
    """Name a model variable as a reader does; sex is the patient's sex (the model's term is 1 for male)."""
    if variable in ("sex", "sex_male"):
        return "Patient's sex (male vs female)"
    try:
        return str(variable_info(variable)["label"])
    except OvcfError:
        return variable


def _fit_choices(table: pd.DataFrame) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Draw the choice of markers and covariates the model is fitted with (kept across pages)."""
    present = [
        ind.column for ind in Indicator if ind.column in table.columns and table[ind.column].notna().any()
    ]
    covariates = [c for c in COVARIATES if c in table.columns and table[c].notna().any()]
    kept = st.session_state.get(FIT_SETTINGS) or {}
    if "fit_features" not in st.session_state:  # first visit, or back from another page
        st.session_state["fit_features"] = [f for f in kept.get("features", ("vbq", "hu")) if f in present]
        st.session_state["fit_adjust"] = [a for a in kept.get("adjust", covariates) if a in covariates]
    left, right = st.columns(2)
    features = left.multiselect(
        "Markers of the model",
        present,
        key="fit_features",
        format_func=variable_label,
        help="Choose HU alone (or VBQ alone) for a model that estimates from that marker only.",
    )
    adjust = right.multiselect("Adjusted for", covariates, key="fit_adjust", format_func=variable_label)
    st.session_state[FIT_SETTINGS] = {"features": list(features), "adjust": list(adjust)}
    return tuple(features), tuple(adjust)


def _fitted(table: pd.DataFrame) -> RiskModel | None:
    """Return the model fitted on the current cohort with the chosen markers, once the reader asks."""
    features, adjust = _fit_choices(table)
    if not features:
        st.warning("Choose at least one marker to fit the model with.")
        return None
    wanted = (st.session_state.get(state.COHORT_KEY), features, adjust)
    have = st.session_state.get(state.RISK_MODEL_COHORT)
    if state.RISK_MODEL in st.session_state and have == wanted:
        return st.session_state[state.RISK_MODEL]
    names = " + ".join(variable_label(f) for f in features)
    if st.button(f"Fit the model ({names}) on the current cohort"):
        st.session_state[state.RISK_MODEL] = fit_on_cohort(
            table,
            st.session_state.get(state.COHORT_KEY, ""),
            st.session_state.get(state.COHORT_SOURCE, "current cohort"),
            bool(st.session_state.get(state.COHORT_IS_SYNTHETIC, True)),
            features,
            adjust,
        )
        st.session_state[state.RISK_MODEL_COHORT] = wanted
        return st.session_state[state.RISK_MODEL]
    if state.RISK_MODEL in st.session_state:
        st.info("The markers or the cohort changed since the last fit: press the button to refit.")
    else:
        st.info(f"Press the button to fit {names} (adjusted as chosen) on the current cohort.")
    return None


def choose_model(table: pd.DataFrame, choice: str) -> RiskModel | None:
    """Return the model the user chose: the shipped one, one fitted on the cohort, or an uploaded file."""
    try:
        if choice == SHIPPED:
            return shipped_model()
        if choice == COHORT_FIT:
            return _fitted(table)
        uploaded = st.session_state.get(state.UPLOADED_MODEL)
        if uploaded is None:
            st.info("Upload a model file written by `ovcf train` (JSON; pickle/joblib files are refused).")
            return None
        st.caption(f"Model file: **{uploaded['name']}**")
        return uploaded["model"]
    except OvcfError as exc:
        st.error(str(exc))
        return None


def _model_upload() -> bool:
    """Draw the optional model upload and keep a readable new file in session state; True when one came."""
    with st.expander("Use your own model file (optional)"):
        upload = st.file_uploader("Risk model file (JSON from `ovcf train`)", type=["json"])
    if upload is None:
        return False
    previous = st.session_state.get(state.UPLOADED_MODEL) or {}
    data = upload.getvalue()
    if previous.get("digest") == hash(data):
        return False
    try:
        model = uploaded_model(data, upload.name)
    except OvcfError as exc:
        st.error(str(exc))
        return False
    st.session_state[state.UPLOADED_MODEL] = {"name": upload.name, "model": model, "digest": hash(data)}
    return True


def model_section(cohort: pd.DataFrame) -> tuple[RiskModel | None, str]:
    """Draw the model upload, the model choice and the synthetic label; return (model or None, choice)."""
    if _model_upload():
        st.session_state[state.MODEL_CHOICE] = UPLOADED
        st.session_state.pop(CHOICE_WIDGET, None)
    if CHOICE_WIDGET not in st.session_state:  # first visit, or back from another page
        st.session_state[CHOICE_WIDGET] = st.session_state.get(state.MODEL_CHOICE, SHIPPED)
    choice = st.radio("Model", CHOICES, horizontal=True, key=CHOICE_WIDGET)
    st.session_state[state.MODEL_CHOICE] = choice
    model = choose_model(cohort, choice)
    if model is not None and model.is_synthetic:
        st.caption(f":material/science: **Synthetic model** — trained on synthetic data. {SYNTHETIC_NOTE}")
    return model, choice


def coefficient_table(model: RiskModel) -> pd.DataFrame:
    """Tabulate the model's terms for a reader: odds ratio per unit with its 95% CI, and the unit."""
    frame = model.coefficients_frame()
    rows = []
    for _, row in frame.iterrows():
        term = str(row["term"])
        if term == "const":
            continue
        unit = "male vs female" if term == "sex_male" else _unit(term)
        rows.append(
            {
                "variable": variable_label(term),
                "per": unit,
                "odds ratio": fmt.ratio(row["odds_ratio"]),
                "95% CI": fmt.interval(row["or_ci_low"], row["or_ci_high"]),
                "log-odds (coefficient)": fmt.number(row["coefficient"], fmt.COEFFICIENT_DIGITS),
            }
        )
    return pd.DataFrame(rows)


def _unit(variable: str) -> str:
    try:
        unit = str(variable_info(variable)["unit"])
    except OvcfError:
        return "1 unit"
    return "1 unit (ratio)" if unit == "ratio" else f"1 {unit}"


CARD_LABELS = {
    "name": "Model",
    "trained_on": "Trained on",
    "synthetic": "Synthetic data",
    "created": "Created",
    "method": "Method",
    "terms": "Variables",
    "n_cases": "Cases",
    "n_controls": "Controls",
    "default_prevalence": "Default prevalence",
    "default_prevalence_source": "Source of the default prevalence",
    "intended_use": "Intended use",
    "limitations": "Limitations",
    "note": "Note",
}
PERFORMANCE_LABELS = {
    "auc": "AUC (training data)",
    "auc_ci_delong": "AUC 95% CI (DeLong)",
    "auc_optimism_corrected": "AUC, optimism-corrected (bootstrap)",
    "calibration_slope_optimism_corrected": "Calibration slope, optimism-corrected",
    "brier": "Brier score",
    "bootstrap_resamples": "Bootstrap resamples",
    "seed": "Bootstrap seed",
}
CARD_SKIPPED = ("model_file", "synthetic_note")


def _card_value(key: str, value: Any) -> str:
    """Write one model-card value in words and journal precision."""
    if key == "terms":
        return ", ".join(variable_label(t) for t in value if t != "const")
    if key == "synthetic":
        return "yes — " + SYNTHETIC_NOTE if value else "no"
    if key == "default_prevalence":
        return f"{100 * float(value):g}%"
    if key == "created" and isinstance(value, str):
        return value[:10]
    if isinstance(value, list) and len(value) == 2 and all(isinstance(v, float) for v in value):
        return f"{value[0]:.3f} to {value[1]:.3f}"
    if isinstance(value, list):
        return " · ".join(str(v) for v in value)
    if isinstance(value, float):
        return f"{value:.3f}"
    return str(value)


def card_table(card: dict[str, Any]) -> pd.DataFrame:
    """Tabulate the model card (JSON) as two columns of readable labels and values, no raw keys."""
    rows = []
    for key, value in card.items():
        if key in CARD_SKIPPED or value is None:
            continue
        if key == "performance" and isinstance(value, dict):
            for name, item in value.items():
                label = PERFORMANCE_LABELS.get(name, name.replace("_", " ").capitalize())
                rows.append({"": label, "value": _card_value(name, item)})
            continue
        label = CARD_LABELS.get(key, key.replace("_", " ").capitalize())
        rows.append({"": label, "value": _card_value(key, value)})
    return pd.DataFrame(rows)


def model_card(model: RiskModel, choice: str) -> None:
    """Show where the model comes from, its performance, coefficients and calibration (collapsed)."""
    with st.expander("Model card", expanded=False):
        if model.is_synthetic:
            st.caption(f":material/science: Synthetic: {SYNTHETIC_NOTE}")
        created = str(model.provenance_.get("created", "?"))[:10]
        st.markdown(
            f"Trained on **{model.provenance_.get('source', 'unknown')}** "
            f"({model.n_cases_} cases, {model.n_controls_} controls), created {created}."
        )
        if choice == SHIPPED:
            try:
                st.dataframe(card_table(shipped_card()), hide_index=True, width="stretch")
            except OvcfError as exc:
                st.error(str(exc))
        st.markdown("**Performance**")
        st.dataframe(model.summary_.to_frame(), hide_index=True)
        st.markdown("**Variables** (odds ratio per unit, adjusted for the others)")
        st.dataframe(coefficient_table(model), hide_index=True)
        if not math.isnan(model.summary_.slope_corrected):
            st.plotly_chart(model_figures.calibration_figure(model.summary_), key="calibration")
