"""Validation page: how well a model's probabilities hold in a chosen population.

Discrimination (the model's ROC beside each marker's), calibration plot, decision curve and the metrics
table for a chosen model on a chosen cohort; recalibration with a download of the new model file; incremental
value of a marker. Thin: every number comes from `ovcf_core.model.validation` (and its siblings) through
st.cache_data.
"""

from __future__ import annotations

import json

import streamlit as st

from dashboard import components, state
from dashboard.validation_inputs import (
    VALIDATION_RECORD,
    choose_cohort,
    choose_model,
    incremental,
    model_key,
    recalibrated,
    remembered_incremental,
    validation,
)
from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE
from ovcf_core.errors import OvcfError
from ovcf_core.model import validation_figures as vf
from ovcf_core.output import json_safe
from ovcf_core.schema import INDICATOR_COLUMNS

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
        choice = (valid_table, tuple(base), tuple(added), int(resamples))
        if added and st.button("Compare"):
            try:
                incremental(*choice)
            except OvcfError as exc:
                st.error(str(exc))
        if (value := remembered_incremental(*choice)) is not None:
            components.show_table(value.to_frame())
            st.caption(f"{value.n} patients with every variable; seed {value.seed}.")
            st.download_button(
                "Download the comparison (JSON)",
                json.dumps(json_safe({**value.to_dict(), "note": RESEARCH_NOTE}), indent=1).encode(),
                file_name="ovcf_incremental.json",
                mime="application/json",
                on_click="ignore",  # the table stays as it is; no rerun
            )
