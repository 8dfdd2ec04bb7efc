"""Calculator page (AppTest): the shipped model's estimate equals the library's, invalid entries give a
message (never a traceback), prefill from the Scans page, raw inputs, uploads, fitting on the cohort; no demo
patient, the patient kept across pages, HU alone, outside the model's data, what drives the estimate."""

from __future__ import annotations

import json

import numpy as np
import pytest

from dashboard import state
from ovcf_core import paths
from ovcf_core.model import load_model
from ovcf_core.model.shipped import load_shipped_model
from tests import apptest_tools as tools
from tests.calculator_steps import fit_on_current_cohort

PAGE = "dashboard/pages/calculator.py"


def _number(at, label_start: str):
    return next(n for n in at.number_input if n.label.startswith(label_start))


def _metric_percent(at) -> float:
    return float(at.metric[0].value.rstrip("%")) / 100


def _shown(at) -> str:
    return tools.shown_text(at)


PATIENT = {"vbq": 3.2, "hu": 120.0, "age": 70.0, "sex": "F", "bmi": 24.0}


def _enter(at, patient: dict = PATIENT):
    """Type a patient into the empty fields and rerun."""
    for key, value in patient.items():
        if key == "sex":
            at.radio(key="sex").set_value(value)
        else:
            at.number_input(key=key).set_value(value)
    return at.run()


def _open_with_patient(patient: dict = PATIENT):
    return _enter(tools.open_page(PAGE), patient)


@pytest.fixture(scope="module")
def opened():
    at = _open_with_patient()
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
    at = _open_with_patient()
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
    at = _open_with_patient()
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
    at = _open_with_patient({"age": 70.0, "sex": "F", "bmi": 24.0})
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
        at = _open_with_patient()
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
    at = _open_with_patient()
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
    at = _open_with_patient()
    at.radio[0].set_value("Fitted on the current cohort")
    at = at.run()
    at.button[0].click()
    at = at.run()
    assert not at.exception
    fitted = at.session_state[state.RISK_MODEL]
    assert fitted.n_cases_ + fitted.n_controls_ == len(at.session_state[state.COHORT])
    assert at.metric and at.metric[0].label == "Probability of OVCF"


def test_no_demo_patient_before_anything_is_entered_and_empty_fields_stay_empty():
    at = tools.open_page(PAGE)
    assert not at.exception and not at.error
    for key in ("vbq", "hu", "age", "bmi"):
        assert at.number_input(key=key).value is None, key
    assert at.radio(key="sex").value is None
    assert not at.metric
    assert any("Enter the patient's values" in i.value for i in at.info)
    at = at.run()  # a rerun does not fill anything in either
    assert at.number_input(key="age").value is None and not at.metric


def test_the_patient_is_kept_when_leaving_the_page_and_coming_back():
    patient = {"vbq": 3.4, "hu": 95.0, "age": 72.0, "sex": "M", "bmi": 22.5}
    at = _open_with_patient(patient)
    at.number_input(key="prevalence_pct").set_value(5.0)
    at = at.run()
    shown = at.metric[0].value
    for other in ("dashboard/pages/cohort.py", "dashboard/pages/data.py"):
        at = at.switch_page(other).run()
        assert not at.exception
    at = at.switch_page(PAGE).run()
    assert not at.exception
    for key in ("vbq", "hu", "age", "bmi"):
        assert at.number_input(key=key).value == pytest.approx(patient[key]), key
    assert at.radio(key="sex").value == "M"
    assert at.number_input(key="prevalence_pct").value == pytest.approx(5.0)
    assert at.metric[0].value == shown
    expected = load_shipped_model().predict(patient, 0.05)
    assert _metric_percent(at) == pytest.approx(expected.probability, abs=0.0005)


def test_clear_the_patient_empties_every_field():
    at = _open_with_patient()
    at.button(key="clear_patient").click()
    at = at.run()
    assert all(at.number_input(key=k).value is None for k in ("vbq", "hu", "age", "bmi"))
    assert not at.metric


def test_hu_alone_with_the_shipped_model_is_refused_naming_what_is_missing():
    at = _open_with_patient({"hu": 80.0, "age": 70.0, "sex": "F", "bmi": 24.0})
    assert not at.exception and not at.metric
    (message,) = [w.value for w in at.warning if "No estimate" in w.value]
    assert "missing: **VBQ score**" in message and "HU alone" in message


def test_an_estimate_from_hu_alone_with_a_model_fitted_on_hu(tmp_path):
    import statsmodels.api as sm

    at = fit_on_current_cohort(tools.open_page(PAGE), ["hu"])
    at = _enter(at, {"hu": 80.0, "age": 70.0, "sex": "F", "bmi": 24.0})
    assert not at.exception and not at.error, [e.value for e in at.error]
    assert at.number_input(key="vbq").value is None
    # Independently: statsmodels' logistic regression on the same complete rows, King-Zeng offset to 10%.
    cohort = at.session_state[state.COHORT]
    rows = cohort.dropna(subset=["ovcf", "hu", "age", "sex", "bmi"])
    X = sm.add_constant(
        rows[["hu", "age"]].assign(sex_male=(rows["sex"] == "M").astype(float), bmi=rows["bmi"])
    )
    fit = sm.Logit(rows["ovcf"].astype(float), X.astype(float)).fit(disp=0)
    n1, n0 = int(rows["ovcf"].sum()), int((rows["ovcf"] == 0).sum())
    eta = fit.params @ [1.0, 80.0, 70.0, 0.0, 24.0] + np.log(0.1 / 0.9) - np.log(n1 / n0)
    assert _metric_percent(at) == pytest.approx(1 / (1 + np.exp(-eta)), abs=0.0005)
    at.number_input(key="vbq").set_value(3.3)
    at = at.run()
    assert _metric_percent(at) == pytest.approx(1 / (1 + np.exp(-eta)), abs=0.0005)  # VBQ is not in it
    assert any(c.value == "Entered but not used by this model: VBQ score" for c in at.caption)


def test_outside_the_model_data_there_is_no_point_estimate_never_100_percent():
    at = _open_with_patient({**PATIENT, "vbq": 8.0})
    assert not at.exception
    assert at.metric[0].value == "not estimated"
    (line,) = [e.value for e in at.error if e.value.startswith("No estimate")]
    assert "VBQ score 8, data 2.428 to 4.657" in line and "At the edge of the data (VBQ score 4.657)" in line
    expected = load_shipped_model().predict({**PATIENT, "vbq": 8.0}, 0.10)
    assert line == expected.headline() + "."  # the same sentence as `ovcf predict`
    assert "100.0%" not in _shown(at)
    assert "Download a one-page summary" not in [b.label for b in at.get("download_button")]


def test_what_drives_this_estimate_is_explained_in_words(opened):
    text = _shown(opened)
    assert "average patient of the model's training data" in text
    assert "Patient's sex: female" in text and "Sex (male)" not in text
    assert "a higher age *lowers* the log-odds" in text and "case-control sample" in text
    assert "not a medical device" in text


def test_the_model_card_is_a_readable_table_not_raw_json_keys(opened):
    frames = [d.value for d in opened.dataframe]
    card = next(f for f in frames if "value" in f.columns and "Model" in set(f.iloc[:, 0]))
    labels = set(card.iloc[:, 0])
    assert {"Trained on", "AUC 95% CI (DeLong)", "Intended use"} <= labels
    assert not any("_" in str(label) for label in labels)
    assert "auc_ci_delong" not in _shown(opened)
    assert not opened.get("json")


def test_the_coefficient_table_formats_by_the_one_policy():
    """Odds ratios with 2-3 significant digits and their CI as 'low–high' (formatting.ratio/interval)."""
    from dashboard.calculator_model import coefficient_table
    from ovcf_core import formatting
    from ovcf_core.model.shipped import load_shipped_model

    model = load_shipped_model()
    frame = model.coefficients_frame().set_index("term")
    shown = coefficient_table(model)
    assert len(shown) == len(frame) - 1  # no intercept row
    vbq = shown[shown["variable"].str.startswith("VBQ")].iloc[0]
    assert vbq["odds ratio"] == formatting.ratio(frame.loc["vbq", "odds_ratio"])
    assert vbq["95% CI"] == formatting.interval(frame.loc["vbq", "or_ci_low"], frame.loc["vbq", "or_ci_high"])
