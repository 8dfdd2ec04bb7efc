"""Validation page (AppTest): the shown metrics equal the library's, the internal split carries its warning,
a bad validation upload gives one message and keeps the session, the recalibrated model downloads and loads,
and the Calculator says what its model was validated on."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from dashboard import state
from ovcf_core import paths
from ovcf_core.io import read_cohort
from ovcf_core.model import load_model
from ovcf_core.model.incremental import incremental_value
from ovcf_core.model.validation import validate_model
from tests import apptest_tools as tools

PAGE = "dashboard/pages/validation.py"


def _radio(at, label: str):
    return next(r for r in at.radio if r.label == label)


@pytest.fixture(scope="module")
def opened():
    at = tools.open_page(PAGE)
    assert not at.exception, at.exception
    return at


def test_opens_on_an_internal_split_with_its_warning_and_synthetic_labels(opened):
    text = tools.shown_text(opened)
    assert "not external validation" in text
    assert "not a medical device" in text
    assert "Synthetic" in text
    assert len(opened.dataframe) >= 2 and not opened.error


def test_uploaded_cohort_metrics_equal_the_library(opened):
    at = opened
    _radio(at, "Validation cohort").set_value("Upload a validation cohort").run()
    data = paths.SAMPLE_COHORT.read_bytes()
    at = tools.upload(at, 0, "external.csv", data)
    assert not at.exception, at.exception
    table, _ = read_cohort(paths.SAMPLE_COHORT)
    expected = validate_model(load_model(paths.DEFAULT_MODEL), table)
    metrics = at.dataframe[0].value
    auc_row = metrics[metrics["Measure"] == "AUC"].iloc[0]  # readable headers (components.readable)
    assert auc_row["Estimate"] == f"{expected.auc:.3f}"
    slope_row = metrics[metrics["Measure"] == "Calibration slope"].iloc[0]
    assert slope_row["Estimate"] == f"{expected.calibration.slope:.3f}"
    val_prob = metrics[metrics["Measure"] == "Eavg / E90 / Emax (lowess, as rms val.prob)"].iloc[0]
    assert val_prob["Estimate"].startswith(f"{expected.val_prob.eavg:.4f} / ")
    record = at.session_state["validation_record"]
    assert record["cohort"] == "external.csv" and record["n"] == 156
    assert record["recalibrated"]["method"] == "intercept"


def test_recalibrated_model_downloads_and_loads(tmp_path):
    at = tools.open_page(PAGE)
    with tools.recorded_media() as seen:
        _radio(at, "Method").set_value("logistic").run()
    assert not at.exception
    models = [json.loads(b) for b in seen if b.strip().startswith(b"{") and b'"ovcf-risk-model"' in b]
    assert models, "no recalibrated model was offered for download"
    path = tmp_path / "m.json"
    path.write_text(json.dumps(models[-1]))
    loaded = load_model(path)
    assert loaded.provenance_["recalibration"] == "logistic"


def test_a_bad_validation_upload_gives_one_message_and_keeps_the_session():
    at = tools.open_page(PAGE)
    cohort_before = at.session_state[state.COHORT]
    _radio(at, "Validation cohort").set_value("Upload a validation cohort").run()
    table = pd.read_csv(paths.SAMPLE_COHORT).drop(columns=["ovcf"])
    at = tools.upload(at, 0, "no_outcome.csv", table.to_csv(index=False).encode())
    assert not at.exception
    assert len(at.error) == 1 and "no_outcome.csv" in at.error[0].value and "ovcf" in at.error[0].value
    assert at.session_state[state.COHORT] is cohort_before or at.session_state[state.COHORT].equals(
        cohort_before
    )
    one_class = pd.read_csv(paths.SAMPLE_COHORT).assign(ovcf=1)
    at = tools.upload(at, 0, "cases_only.csv", one_class.to_csv(index=False).encode())
    assert not at.exception and len(at.error) == 1 and "'ovcf'" in at.error[0].value


def test_missing_model_variable_is_named():
    at = tools.open_page(PAGE)
    _radio(at, "Validation cohort").set_value("Upload a validation cohort").run()
    table = pd.read_csv(paths.SAMPLE_COHORT).assign(bmi=np.nan)
    at = tools.upload(at, 0, "no_bmi.csv", table.to_csv(index=False).encode())
    assert not at.exception and len(at.error) == 1 and "'bmi'" in at.error[0].value


def test_model_fitted_on_the_development_part_validates_on_the_held_out_part():
    at = tools.open_page(PAGE)
    _radio(at, "Model").set_value("Fitted on the current cohort").run()
    assert not at.exception, at.exception
    record = at.session_state["validation_record"]
    assert record["internal_split"] and record["n"] == round(0.3 * 78) * 2


def test_the_calculator_says_what_its_model_was_validated_on_and_shows_the_recalibrated_estimate():
    at = tools.open_page("dashboard/pages/calculator.py")
    text = tools.shown_text(at)
    assert "Not validated in this session" in text
    at = at.switch_page(PAGE).run()
    assert not at.exception, at.exception
    at = at.switch_page("dashboard/pages/calculator.py").run()
    assert not at.exception, at.exception
    for key, value in (("vbq", 3.2), ("hu", 120.0), ("age", 70.0), ("bmi", 24.0)):  # no demo patient
        at.number_input(key=key).set_value(value)
    at.radio(key="sex").set_value("F")
    at = at.run()
    text = tools.shown_text(at)
    assert "This model was validated on" in text and "internal split" in text
    assert any(m.label.startswith("Recalibrated estimate (intercept") for m in at.metric)


def _number(at, label: str):
    return next(n for n in at.number_input if n.label == label)


def test_incremental_value_equals_the_library_stays_across_reruns_and_downloads():
    at = tools.open_page(PAGE)
    _radio(at, "Validation cohort").set_value("Upload a validation cohort").run()
    at = tools.upload(at, 0, "external.csv", paths.SAMPLE_COHORT.read_bytes())
    _number(at, "Bootstrap resamples (NRI/IDI CIs)").set_value(20).run()
    assert not any("Likelihood" in str(frame.value) for frame in at.dataframe)
    with tools.recorded_media() as seen:
        next(b for b in at.button if b.label == "Compare").click().run()
    assert not at.exception, at.exception
    table, _ = read_cohort(paths.SAMPLE_COHORT)
    expected = incremental_value(table, ("hu",), ("vbq",), n_bootstrap=20)
    shown = next(f.value for f in at.dataframe if "ΔAUC (DeLong)" in f.value.iloc[:, 0].tolist())
    assert shown.iloc[:, 1].tolist() == expected.to_frame()["estimate"].tolist()
    offered = [json.loads(b) for b in seen if b.strip().startswith(b"{") and b'"delta_auc"' in b]
    assert offered and offered[-1]["delta_auc"] == pytest.approx(expected.delta_auc)
    assert "not a medical device" in offered[-1]["note"]
    at.run()  # any rerun (another widget, a download) keeps the comparison on the page
    assert any("ΔAUC (DeLong)" in f.value.iloc[:, 0].tolist() for f in at.dataframe)
    _number(at, "Bootstrap resamples (NRI/IDI CIs)").set_value(40).run()  # a new choice: not computed yet
    assert not any("ΔAUC (DeLong)" in f.value.iloc[:, 0].tolist() for f in at.dataframe)
