"""Calculator page (AppTest): the shipped model's estimate equals the library's, invalid entries give a
message (never a traceback), prefill from the Scans page, raw inputs, uploads, fitting on the cohort."""

from __future__ import annotations

import json

import pytest

from dashboard import state
from ovcf_core import paths
from ovcf_core.model import load_model
from ovcf_core.model.shipped import load_shipped_model
from tests import apptest_tools as tools

PAGE = "dashboard/pages/calculator.py"


def _number(at, label_start: str):
    return next(n for n in at.number_input if n.label.startswith(label_start))


def _metric_percent(at) -> float:
    return float(at.metric[0].value.rstrip("%")) / 100


def _shown(at) -> str:
    return tools.shown_text(at)


@pytest.fixture(scope="module")
def opened():
    at = tools.open_page(PAGE)
    assert not at.exception
    return at


def test_page_opens_with_the_shipped_model_labelled_synthetic_and_research_only(opened):
    text = _shown(opened)
    assert "not a medical device" in text
    assert "Synthetic model" in text
    assert "JAMA Netw Open 2021" in text
    assert opened.metric[0].label == "Probability of OVCF"


def test_shown_probability_equals_the_library_prediction_at_the_default_prevalence(opened):
    expected = load_shipped_model().predict({"vbq": 3.2, "hu": 120, "age": 70, "sex": "F", "bmi": 24}, 0.10)
    assert _metric_percent(opened) == pytest.approx(expected.probability, abs=0.0005)
    assert f"{expected.ci[0]:.1%} to {expected.ci[1]:.1%}" in _shown(opened)


def test_changing_inputs_and_prevalence_updates_the_estimate():
    at = tools.open_page(PAGE)
    _number(at, "VBQ score").set_value(4.1)
    _number(at, "Average HU").set_value(80.0)
    _number(at, "Prevalence").set_value(5.0)
    at = at.run()
    assert not at.exception and not at.error
    expected = load_shipped_model().predict({"vbq": 4.1, "hu": 80, "age": 70, "sex": "F", "bmi": 24}, 0.05)
    assert _metric_percent(at) == pytest.approx(expected.probability, abs=0.0005)


@pytest.mark.parametrize(
    ("label", "value", "message"),
    [
        ("VBQ score", 25.0, "outside the plausible range 0.5 to 10"),
        ("Average HU", -500.0, "outside the plausible range -300 to 1500 HU"),
        ("Age", 5.0, "outside the plausible range 18 to 120 years"),
        ("BMI", 95.0, "outside the plausible range 10 to 70 kg/m²"),
        ("Prevalence", 150.0, "must be a fraction strictly between 0 and 1"),
        ("Prevalence", 0.0, "must be a fraction strictly between 0 and 1"),
    ],
)
def test_invalid_entries_show_a_message_and_no_estimate(label, value, message):
    at = tools.open_page(PAGE)
    _number(at, label).set_value(value)
    at = at.run()
    assert not at.exception
    assert any(message in e.value for e in at.error), [e.value for e in at.error]
    assert not at.metric
    assert "Traceback" not in _shown(at)


def test_values_sent_by_the_scans_page_prefill_the_inputs():
    at = tools.app().run()
    at.session_state[state.CALCULATOR_INPUTS] = {"vbq": 3.9, "hu": 85.5}
    at = at.switch_page(PAGE).run()
    assert _number(at, "VBQ score").value == pytest.approx(3.9)
    assert _number(at, "Average HU").value == pytest.approx(85.5)


def test_vbq_and_hu_from_raw_per_vertebra_values_exclude_the_fractured_level():
    at = tools.open_page(PAGE)
    at.radio(key="vbq_mode").set_value("From L1–L4 SI and CSF SI")
    at.radio(key="hu_mode").set_value("From per-vertebra HU")
    at = at.run()
    for level, si, hu in (
        ("L1", 900.0, 60.0),
        ("L2", 300.0, 100.0),
        ("L3", 330.0, 110.0),
        ("L4", 360.0, 120.0),
    ):
        at.number_input(key=f"si_{level}").set_value(si)
        at.number_input(key=f"hu_{level}").set_value(hu)
    at.number_input(key="csf_L3").set_value(100.0)
    at.multiselect(key="fractured").set_value(["L1"])
    at = at.run()
    assert not at.exception and not at.error, [e.value for e in at.error]
    expected = load_shipped_model().predict({"vbq": 3.3, "hu": 110.0, "age": 70, "sex": "F", "bmi": 24}, 0.10)
    assert _metric_percent(at) == pytest.approx(expected.probability, abs=0.0005)
    thresholds = at.dataframe[0].value.set_index("cut-off")
    assert thresholds.loc["L1 HU 110 (Pickhardt et al., Ann Intern Med 2013)", "this patient"] == "risk side"


def test_raw_inputs_that_cannot_give_vbq_say_why():
    at = tools.open_page(PAGE)
    at.radio(key="vbq_mode").set_value("From L1–L4 SI and CSF SI")
    at = at.run()
    at.number_input(key="si_L2").set_value(300.0)
    at = at.run()
    assert not at.exception
    assert any("no CSF SI" in e.value for e in at.error)


def test_thresholds_table_names_sources_and_the_vertebra_they_apply_to(opened):
    table = opened.dataframe[0].value
    assert {"Ehresman 2019", "Li 2023", "Wang 2024"} <= {
        c.split("(")[-1].rstrip(")") for c in table["cut-off"]
    }
    l1 = table[table["cut-off"].str.startswith("L1 HU")]
    assert len(l1) == 2 and set(l1["applies to"]) == {"L1 only (not the L1-L4 average)"}
    assert l1["this patient"].tolist() == ["not entered", "not entered"]
    assert table["cut-off"].str.contains("Youden").sum() == 2


def test_summary_download_is_html_without_identifiers():
    with tools.recorded_media() as seen:
        at = tools.open_page(PAGE)
    assert not at.exception
    pages = [b for b in seen if b.startswith(b"<!DOCTYPE html>")]
    assert pages, "the one-page summary is offered"
    html = pages[-1].decode()
    assert "not a medical device" in html and "Synthetic" in html and "patient_id" not in html
    cohort = at.session_state[state.COHORT]
    assert not any(str(pid) in html for pid in cohort["patient_id"])


def test_uploaded_model_file_is_used_and_a_pickle_is_refused(tmp_path):
    shipped = json.loads(paths.DEFAULT_MODEL.read_text())
    shipped["coefficients"]["vbq"] += 1.0
    at = tools.open_page(PAGE)
    index = next(i for i, u in enumerate(at.file_uploader) if "model" in u.label.lower())
    at = tools.upload(at, index, "edited.json", json.dumps(shipped).encode())
    assert not at.exception and not at.error
    assert at.radio[0].value == "Uploaded model file"
    edited = load_model(json.dumps(shipped).encode())
    expected = edited.predict({"vbq": 3.2, "hu": 120, "age": 70, "sex": "F", "bmi": 24}, 0.10)
    assert _metric_percent(at) == pytest.approx(expected.probability, abs=0.0005)
    at = tools.upload(at, index, "model.json", b"\x80\x04\x95 not really a pickle")
    assert not at.exception
    assert any("pickle" in e.value for e in at.error)


def test_fitting_on_the_current_cohort_stores_the_model_in_session_state():
    at = tools.open_page(PAGE)
    at.radio[0].set_value("Fitted on the current cohort")
    at = at.run()
    at.button[0].click()
    at = at.run()
    assert not at.exception
    fitted = at.session_state[state.RISK_MODEL]
    assert fitted.n_cases_ + fitted.n_controls_ == len(at.session_state[state.COHORT])
    assert at.metric and at.metric[0].label == "Probability of OVCF"
