"""The Calculator's patient inputs: VBQ and HU (entered, or computed from per-vertebra values), age, sex,
BMI and the prevalence to correct to; values sent by another page (e.g. Scans) are filled in."""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from dashboard import state
from ovcf_core.indicators import LEVELS
from ovcf_core.model import DEFAULT_PREVALENCE, PREVALENCE_SOURCE
from ovcf_core.schema import BMI, COVARIATE_COLUMNS, Indicator


@dataclass(frozen=True)
class PatientInputs:
    """What the reader entered: the model's inputs, L1's own HU, the prevalence and input problems."""

    patient: dict[str, float | str | None]  # vbq, hu, age, sex, bmi
    hu_l1: float | None
    prevalence: float | None  # None: not corrected
    problems: tuple[str, ...]


def _prefill(name: str, default: float | None) -> float | None:
    """A value sent by another page (e.g. the Scans page) for this input, else the default."""
    sent = st.session_state.get(state.CALCULATOR_INPUTS) or {}
    value = sent.get(name, default)
    try:
        return None if value is None else float(value)
    except (TypeError, ValueError):
        return default


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


def patient_inputs() -> PatientInputs:
    """The whole Patient section, in the page's order."""
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
    return PatientInputs(
        {"vbq": vbq, "hu": hu, "age": age, "sex": sex, "bmi": bmi},
        hu_l1,
        prevalence_pct / 100 if correct else None,
        tuple(p for p in (vbq_problem, hu_problem) if p),
    )
