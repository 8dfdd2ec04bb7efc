"""Logistic: adjusted odds ratios — each indicator alone, all together, and conditional on matched pairs."""

from __future__ import annotations

import streamlit as st

from dashboard import analysis_options, analysis_page, components, logistic_view, state
from ovcf_core.report import figures

MODELS = {
    "each": "Each indicator, adjusted",
    "multivariable": "All indicators together",
    "conditional": "Conditional (matched pairs)",
}

components.page_header(
    "Logistic regression",
    "Odds ratios of OVCF per unit or per standard deviation of each indicator, adjusted for the covariates "
    "you choose (the paper: age, sex and BMI), with Wald 95% confidence intervals.",
)
table, settings, _ = analysis_page.analysed_cohort("logistic")
key = st.session_state[state.COHORT_KEY]

c1, c2, c3 = st.columns([2, 2, 1])
covariates = [c for c in ("age", "sex", "bmi") if c in table.columns]
adjust = components.covariate_picker(c1, covariates, settings["adjust"], key="logistic_adjust")
available = [m for m in MODELS if m != "conditional" or settings["pair"]]
model = c2.radio(
    "Model",
    available,
    format_func=MODELS.get,
    horizontal=True,
    key="logistic_model",
    help="Conditional logistic regression compares each case with its own matched control; the matching "
    "variables (age, sex) are then not adjusted for.",
)
scale = c3.radio(
    "Odds ratio",
    ["sd", "unit"],
    format_func={"sd": "per SD", "unit": "per stated unit"}.get,
    key="logistic_scale",
    help="Per stated unit: per 0.1 VBQ, 10 HU, 1% FI, 0.1 rCSA, 1 T-score unit (the unit is in each row).",
)

analysis_options.logistic_options()
choice = logistic_view.LogisticChoice(
    model, tuple(settings["markers"]), tuple(adjust), settings["pair"], scale
)
view = logistic_view.logistic_view(table, key, choice)
for message in view.messages:
    st.warning(message)
if view.forest.empty or view.forest["or"].isna().all():
    st.error("No odds ratio could be estimated for these choices (see the messages above).")
else:
    scale_text = "per SD" if scale == "sd" else "per stated unit"
    components.plot(
        figures.forest_plot(view.forest, title=f"{MODELS[model]}: odds ratio {scale_text}"), key="forest"
    )
    components.show_table(view.table, view.caption)
    components.download_table(view.table, f"Logistic {model}", numbers=view.forest)
