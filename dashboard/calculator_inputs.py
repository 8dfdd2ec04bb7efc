"""The Calculator's patient inputs.

VBQ and HU (entered, or computed from per-vertebra values), any other indicator the model uses, age, sex, BMI
and the prevalence to correct to.

Every field starts empty (no demo patient) and keeps its value when the reader leaves the page and comes
back: Streamlit forgets the widget keys of a page that is not drawn, so each value is also kept in the plain
session key `state.CALCULATOR_PATIENT` and put back before its widget is drawn. Values sent by another page
(e.g. Scans, through `state.CALCULATOR_INPUTS`) are filled in once each time they change.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import streamlit as st

from dashboard import state
from ovcf_core.indicators import LEVELS
from ovcf_core.model import DEFAULT_PREVALENCE, PREVALENCE_SOURCE
from ovcf_core.schema import BMI, COVARIATE_COLUMNS, Indicator, NumericColumn

VBQ_MODES = ("Enter VBQ", "From L1–L4 SI and CSF SI")
HU_MODES = ("Enter average HU", "From per-vertebra HU")
SEXES = ("F", "M")
OTHER_INDICATORS = (Indicator.T_SCORE, Indicator.RCSA, Indicator.FI)
# Every widget of the Patient section: its key and its value before anything is entered.
DEFAULTS: dict[str, Any] = {
    "fractured": [],
    "vbq_mode": VBQ_MODES[0],
    "hu_mode": HU_MODES[0],
    "vbq": None,
    "hu": None,
    **{f"si_{lv}": None for lv in LEVELS},
    **{f"csf_{lv}": None for lv in LEVELS[1:]},
    **{f"hu_{lv}": None for lv in LEVELS},
    **{ind.column: None for ind in OTHER_INDICATORS},
    "age": None,
    "sex": None,
    "bmi": None,
    "correct_prevalence": True,
    "prevalence_pct": 100 * DEFAULT_PREVALENCE,
}
SENT = "calculator_sent_applied"  # the CALCULATOR_INPUTS last filled in, so they are applied once


@dataclass(frozen=True)
class PatientInputs:
    """What the reader entered: the model's inputs, L1's own HU, the prevalence and input problems."""

    patient: dict[str, float | str | None]  # vbq, hu, age, sex, bmi (and t_score, rcsa, fi when asked)
    hu_l1: float | None
    prevalence: float | None  # None: not corrected
    problems: tuple[str, ...]

    @property
    def entered(self) -> bool:
        """Tell whether anything about the patient has been entered yet."""
        return any(value is not None for value in self.patient.values())


def kept() -> dict[str, Any]:
    """Return the Patient section's values kept across pages (a plain session key, not a widget key)."""
    return st.session_state.setdefault(state.CALCULATOR_PATIENT, {})


def restore_widgets() -> None:
    """Put each kept value back under its widget key before the widgets are drawn.

    Values sent by another page are applied too (once per change).
    """
    values = kept()
    sent = st.session_state.get(state.CALCULATOR_INPUTS) or {}
    if sent and sent != st.session_state.get(SENT):
        st.session_state[SENT] = dict(sent)
        for name, value in sent.items():
            if name in DEFAULTS and name not in ("sex",) and value is not None:
                try:
                    values[name] = float(value)
                except (TypeError, ValueError):
                    continue
            elif name == "sex" and value in SEXES:
                values[name] = value
        if "vbq" in sent:
            values["vbq_mode"] = VBQ_MODES[0]
        if "hu" in sent:
            values["hu_mode"] = HU_MODES[0]
        for name in sent:
            st.session_state.pop(name, None)  # the widget takes the sent value below
    for key, default in DEFAULTS.items():
        if key not in st.session_state:
            st.session_state[key] = values.get(key, default)


def keep_widgets() -> None:
    """Copy every Patient widget's value to the kept values."""
    values = kept()
    for key in DEFAULTS:
        if key in st.session_state:
            values[key] = st.session_state[key]


def clear_patient() -> None:
    """Empty every field (a button callback, so it runs before the widgets are drawn)."""
    st.session_state[state.CALCULATOR_PATIENT] = {}
    for key, default in DEFAULTS.items():
        if key not in ("correct_prevalence", "prevalence_pct"):
            st.session_state[key] = default


def _number(label: str, help_text: str, key: str) -> float | None:
    """Draw a number input that may be empty; the model checks the range, so its message can say why."""
    return st.number_input(label, value=None, help=help_text, key=key, format="%.4g", placeholder="empty")


def _vbq_input() -> tuple[float | None, str | None]:
    """Draw the VBQ input: entered, or from L1-L4 SI, CSF SI and fractured levels; (value, problem)."""
    ind = Indicator.VBQ
    mode = st.radio("VBQ", VBQ_MODES, horizontal=True, key="vbq_mode")
    if mode == VBQ_MODES[0]:
        help_text = f"MRI T1 VBQ score; plausible {ind.low:g}–{ind.high:g}"
        return _number("VBQ score (ratio)", help_text, "vbq"), None
    from ovcf_core.indicators import vbq_score

    cols = st.columns(4)
    si = {lv: cols[i].number_input(f"SI {lv}", value=None, key=f"si_{lv}") for i, lv in enumerate(LEVELS)}
    cols = st.columns(3)
    csf = {
        lv: cols[i].number_input(f"CSF SI at {lv}", value=None, key=f"csf_{lv}")
        for i, lv in enumerate(LEVELS[1:])
    }
    if all(v is None for v in (*si.values(), *csf.values())):
        return None, None
    result = vbq_score(si, csf, st.session_state.get("fractured", []))
    if result.value is None:
        return None, f"VBQ cannot be computed: {result.reason}"
    st.caption(f"VBQ = {result.value:.3f} (from {', '.join(result.used)})")
    return result.value, None


def _hu_input() -> tuple[float | None, float | None, str | None]:
    """Draw the HU input: the average entered, or per-vertebra HU; (average, L1 HU or None, problem)."""
    ind = Indicator.HU
    mode = st.radio("HU", HU_MODES, horizontal=True, key="hu_mode")
    if mode == HU_MODES[0]:
        help_text = f"mean CT HU of the unfractured L1–L4; plausible {ind.low:g}–{ind.high:g} HU"
        return _number("Average HU (HU)", help_text, "hu"), None, None
    from ovcf_core.indicators import average_hu

    cols = st.columns(4)
    hu = {lv: cols[i].number_input(f"HU {lv}", value=None, key=f"hu_{lv}") for i, lv in enumerate(LEVELS)}
    if all(v is None for v in hu.values()):
        return None, None, None
    result = average_hu(hu, st.session_state.get("fractured", []))
    if result.value is None:
        return None, hu["L1"], f"Average HU cannot be computed: {result.reason}"
    st.caption(f"Average HU = {result.value:.1f} (from {', '.join(result.used)})")
    return result.value, hu["L1"], None


def _other_indicators(needed: tuple[str, ...]) -> dict[str, float | None]:
    """Draw inputs for the indicators other than VBQ and HU that the model uses (T-score, rCSA, FI)."""
    asked = [ind for ind in OTHER_INDICATORS if ind.column in needed]
    values: dict[str, float | None] = {}
    for column, ind in zip(st.columns(max(len(asked), 1)), asked, strict=False):
        with column:
            values[ind.column] = _number(
                ind.label_with_unit, f"plausible {ind.low:g}–{ind.high:g}", ind.column
            )
    return values


def _covariate_input(container: Any, label: str, key: str, spec: NumericColumn) -> float | None:
    """Draw an empty-by-default number box for a covariate, its plausible range (from `spec`) as help."""
    return container.number_input(
        label,
        value=None,
        key=key,
        format="%.4g",
        placeholder="empty",
        help=f"plausible {spec.low:g}–{spec.high:g}",
    )


def patient_inputs(needed: tuple[str, ...] = ()) -> PatientInputs:
    """Draw the whole Patient section, in the page's order; `needed` are the model's variables."""
    restore_widgets()
    st.button("Clear the patient", on_click=clear_patient, key="clear_patient")
    st.multiselect("Fractured vertebrae (excluded from raw averages)", LEVELS, key="fractured")
    left, right = st.columns(2)
    with left:
        vbq, vbq_problem = _vbq_input()
    with right:
        hu, hu_l1, hu_problem = _hu_input()
    others = _other_indicators(needed)
    age_spec, bmi_spec = COVARIATE_COLUMNS["age"], COVARIATE_COLUMNS[BMI]
    a, s, b = st.columns(3)
    age = _covariate_input(a, "Age (years)", "age", age_spec)
    sex = s.radio("Sex", SEXES, index=None, horizontal=True, key="sex")
    bmi = _covariate_input(b, "BMI (kg/m²)", "bmi", bmi_spec)
    correct = st.checkbox("Correct to a prevalence", key="correct_prevalence")
    prevalence_pct = st.number_input(
        "Prevalence (%)", key="prevalence_pct", disabled=not correct, help=PREVALENCE_SOURCE
    )
    st.caption(PREVALENCE_SOURCE)
    keep_widgets()
    prevalence = None if not correct or prevalence_pct is None else prevalence_pct / 100
    return PatientInputs(
        {"vbq": vbq, "hu": hu, **others, "age": age, "sex": sex, "bmi": bmi},
        hu_l1,
        prevalence,
        tuple(p for p in (vbq_problem, hu_problem) if p),
    )


def missing_message(variables: tuple[str, ...], missing: list[str], choice: str) -> str:
    """Return the message saying why there is no estimate yet.

    Names what the model needs and which of it is missing; with one marker entered, how to get an estimate
    from that marker alone.
    """
    from dashboard.calculator_model import COHORT_FIT, variable_label

    names = ", ".join(variable_label(v) for v in missing)
    message = (
        f"No estimate: this model uses {', '.join(variable_label(v) for v in variables)}; "
        f"missing: **{names}**."
    )
    markers = [v for v in variables if v not in ("age", "sex", "bmi")]
    if any(m in missing for m in markers) and choice != COHORT_FIT:
        message += (
            f" To estimate from fewer markers (e.g. HU alone), choose *{COHORT_FIT}* above and fit it with "
            "only the markers you have."
        )
    return message
