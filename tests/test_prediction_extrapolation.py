"""Outside the model's data a prediction gives no point estimate but the estimate at the data's edge, the same
way in the library, the `ovcf predict` text and its JSON (issue 13 item 6)."""

from __future__ import annotations

import json
import math
import subprocess
import sys
from pathlib import Path

import jsonschema
import numpy as np
import pytest
from scipy.special import expit
from scipy.stats import norm

from ovcf_core import paths
from ovcf_core.model.prediction import percent
from ovcf_core.model.shipped import load_shipped_model

INSIDE = {"vbq": 3.2, "hu": 120.0, "age": 70.0, "sex": "F", "bmi": 24.0}


@pytest.fixture(scope="module")
def model():
    return load_shipped_model()


def _by_hand(model, patient: dict, prevalence: float) -> tuple[float, float, float]:
    """Probability and 95% CI from the coefficients and covariance, written out independently."""
    x = np.array([1.0, patient["vbq"], patient["hu"], patient["age"], patient["sex"] == "M", patient["bmi"]])
    offset = math.log(prevalence / (1 - prevalence)) - math.log(model.n_cases_ / model.n_controls_)
    eta = float(x @ model.coef_) + offset
    se = math.sqrt(float(x @ model.cov_ @ x))
    return (
        float(expit(eta)),
        float(expit(eta - norm.ppf(0.975) * se)),
        float(expit(eta + norm.ppf(0.975) * se)),
    )


def test_inside_the_training_range_nothing_is_extrapolated(model):
    prediction = model.predict(INSIDE, prevalence=0.1)
    assert prediction.extrapolated == () and prediction.edge is None
    p, low, high = _by_hand(model, INSIDE, 0.1)
    assert prediction.headline() == (
        f"Probability of OVCF: {p:.1%} (95% CI {low:.1%} to {high:.1%}) at a prevalence of 10.0%"
    )


def test_a_vbq_beyond_the_data_gives_the_bound_at_the_data_edge_not_a_point_estimate(model):
    high_vbq = {**INSIDE, "vbq": 8.0}
    prediction = model.predict(high_vbq, prevalence=0.1)
    assert prediction.probability > 0.9995  # what used to be shown as "100.0% (95% CI 100.0% to 100.0%)"
    (outside,) = prediction.extrapolated
    edge = model.ranges_["vbq"][1]
    assert outside.variable == "vbq" and outside.edge == pytest.approx(edge)
    p, low, high = _by_hand(model, {**INSIDE, "vbq": edge}, 0.1)
    assert prediction.edge.probability == pytest.approx(p, rel=1e-9)
    assert prediction.edge.ci == pytest.approx((low, high), rel=1e-9)
    assert prediction.edge_direction == "above"  # VBQ raises the risk in this model
    line = prediction.headline()
    assert line.startswith("No estimate: outside the model's data (VBQ score 8, data 2.428 to 4.657)")
    assert f"probability of OVCF is {percent(p)}" in line and "higher than that" in line
    assert "100.0%" not in line


def test_two_inputs_beyond_the_data_are_both_moved_to_their_edges(model):
    patient = {**INSIDE, "hu": 5.0, "age": 96.0}
    prediction = model.predict(patient, prevalence=0.1)
    assert [e.variable for e in prediction.extrapolated] == ["hu", "age"]
    low_hu, high_age = model.ranges_["hu"][0], model.ranges_["age"][1]
    p, _, _ = _by_hand(model, {**patient, "hu": low_hu, "age": high_age}, 0.1)
    assert prediction.edge.probability == pytest.approx(p, rel=1e-9)
    shift = model.coef_[2] * (5.0 - low_hu) + model.coef_[3] * (96.0 - high_age)
    assert prediction.edge_direction == ("above" if shift > 0 else "below")


def test_percent_never_rounds_to_a_certain_zero_or_hundred():
    assert percent(0.99996) == ">99.9%" and percent(0.00001) == "<0.1%" and percent(0.1234) == "12.3%"


def test_predict_json_names_the_extrapolated_inputs_and_follows_the_schema(model):
    data = model.predict({**INSIDE, "vbq": 8.0}, prevalence=0.1).to_dict()
    schema = json.loads((Path(paths.__file__).parent / "schemas" / "predict.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert set(data["extrapolated"]) == {"vbq"} and data["extrapolated"]["vbq"]["value"] == 8.0
    assert data["edge_estimate"]["probability"] < data["probability"]
    inside = model.predict(INSIDE, prevalence=0.1).to_dict()
    assert inside["extrapolated"] == {} and inside["edge_estimate"] is None


def test_cli_predict_prints_the_same_line_as_the_calculator(model):
    args = ["--vbq", "8", "--hu", "120", "--age", "70", "--sex", "F", "--bmi", "24", "--prevalence", "0.1"]
    done = subprocess.run(
        [sys.executable, "-m", "ovcf_core.cli", "predict", *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    expected = model.predict({**INSIDE, "vbq": 8.0}, prevalence=0.1).headline()
    assert done.stdout.splitlines()[0] == expected
    assert "not a medical device" in done.stdout and "synthetic" in done.stdout
