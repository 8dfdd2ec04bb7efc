"""Calculator page: one patient's probability of OVCF with its 95% CI.

Corrected to a prevalence, with the patient's VBQ and HU against the cohort and published cut-offs, what
drives the estimate, the model card and a one-page HTML summary.
"""

from __future__ import annotations

import streamlit as st

from dashboard import calculator_inputs, calculator_model, calculator_results, state
from ovcf_core import RESEARCH_NOTE
from ovcf_core import formatting as fmt
from ovcf_core.errors import OvcfError
from ovcf_core.model.prediction import percent

st.title("Risk calculator")
st.warning(RESEARCH_NOTE)
cohort = state.ensure_cohort()
model, model_choice = calculator_model.model_section(cohort)

st.subheader("Patient")
needed = model.variables if model is not None else ()
inputs = calculator_inputs.patient_inputs(needed)
for problem in inputs.problems:
    st.error(problem)
prediction = None
missing = [v for v in needed if inputs.patient.get(v) is None]
unused = [v for v, value in inputs.patient.items() if value is not None and needed and v not in needed]
if unused:
    st.caption(
        "Entered but not used by this model: " + ", ".join(calculator_model.variable_label(v) for v in unused)
    )
if model is not None and not inputs.problems:
    if not inputs.entered:
        st.info(
            "Enter the patient's values to get an estimate. This model uses "
            + ", ".join(calculator_model.variable_label(v) for v in needed)
            + "."
        )
    elif missing:
        st.warning(calculator_inputs.missing_message(model.variables, missing, model_choice))
    else:
        try:
            prediction = model.predict(inputs.patient, prevalence=inputs.prevalence)
        except OvcfError as exc:
            st.error(str(exc))

if prediction is not None and model is not None:
    calculator_results.show_estimate(prediction)
    thresholds = calculator_results.against_cohort(
        cohort, inputs.patient.get("vbq"), inputs.patient.get("hu"), inputs.hu_l1
    )
    calculator_results.explain(prediction, model)
    if not prediction.extrapolated:
        calculator_results.summary_download(prediction, model, thresholds)

if model is not None:
    calculator_model.model_card(model, model_choice)

# ---- Validation in this session (written by the Validation page, dashboard/pages/validation.py) ----
_validated = st.session_state.get("validation_record")
if model is not None:
    st.subheader("Validation in this session")
    if _validated and _validated.get("coef") == [float(b) for b in model.coef_]:
        low, high = _validated["auc_ci"]
        st.markdown(
            f"This model was validated on **{_validated['cohort']}** ({_validated['n']} patients, "
            f"{_validated['n_cases']} with OVCF): AUC {fmt.auc(_validated['auc'])} "
            f"({fmt.interval(low, high, fmt.AUC_DIGITS)}), calibration intercept "
            f"{fmt.number(_validated['intercept'])}, slope {fmt.number(_validated['slope'])}."
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
                percent(_new.probability),
                help=f"95% CI {percent(_new.ci[0])} to {percent(_new.ci[1])}",
            )
            st.caption(
                f"95% CI {percent(_new.ci[0])} to {percent(_new.ci[1])}, same prevalence setting as above."
            )
    else:
        st.info("Not validated in this session; the Validation page checks a model on a cohort.")
