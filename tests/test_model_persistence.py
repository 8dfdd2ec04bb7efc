"""The JSON model file: round trip, and garbage or hostile files refused with a clear message."""

from __future__ import annotations

import json
import pickle
from pathlib import Path

import joblib
import pytest
from model_cohorts import simulated_cohort

from ovcf_core.errors import InputError
from ovcf_core.model import SCHEMA_VERSION, RiskModel, load_model, model_to_dict, save_model

PATIENT = {"vbq": 3.4, "hu": 110.0, "age": 70.0, "sex": "M", "bmi": 25.0}


@pytest.fixture(scope="module")
def model() -> RiskModel:
    return RiskModel(n_bootstrap=200, random_state=9).fit(
        simulated_cohort(n=150, seed=4), source="test cohort"
    )


@pytest.fixture
def saved(model, tmp_path) -> dict:
    path = save_model(model, tmp_path / "model.json")
    return json.loads(path.read_text())


def write(tmp_path: Path, data) -> Path:
    path = tmp_path / "edited.json"
    path.write_text(json.dumps(data) if not isinstance(data, str) else data)
    return path


def test_round_trip_gives_identical_predictions_and_summary(model, tmp_path):
    loaded = load_model(save_model(model, tmp_path / "m.json"))
    for prevalence in (None, 0.1):
        a, b = model.predict(PATIENT, prevalence), loaded.predict(PATIENT, prevalence)
        assert a.probability == b.probability and a.ci == b.ci
    assert loaded.summary_ == model.summary_
    assert loaded.terms_ == model.terms_ and loaded.ranges_ == model.ranges_
    assert loaded.provenance_["source"] == "test cohort"


def test_model_file_holds_units_provenance_date_and_schema_version(saved):
    assert saved["schema_version"] == SCHEMA_VERSION
    assert saved["created"] and saved["provenance"]["source"] == "test cohort"
    units = {f["name"]: f["unit"] for f in saved["features"]}
    assert units["hu"] == "HU" and units["bmi"] == "kg/m²"
    assert len(saved["covariance"]) == 6 and "not a medical device" in saved["note"]


def test_uploaded_bytes_load_like_a_file(model):
    data = json.dumps(model_to_dict(model)).encode()
    assert (
        load_model(data, name="upload.json").predict(PATIENT).probability
        == model.predict(PATIENT).probability
    )


def test_not_json_is_refused(tmp_path):
    with pytest.raises(InputError, match="not a JSON model file"):
        load_model(write(tmp_path, "patient_id,vbq\nP1,3.2\n"))


def test_wrong_schema_version_is_refused(saved, tmp_path):
    with pytest.raises(InputError, match="schema_version 99 is not supported"):
        load_model(write(tmp_path, {**saved, "schema_version": 99}))


def test_missing_feature_is_refused(saved, tmp_path):
    features = [f for f in saved["features"] if f["name"] != "hu"]
    with pytest.raises(InputError, match="missing feature\\(s\\) hu"):
        load_model(write(tmp_path, {**saved, "features": features}))
    coefficients = {k: v for k, v in saved["coefficients"].items() if k != "vbq"}
    with pytest.raises(InputError, match="coefficients missing for feature\\(s\\) vbq"):
        load_model(write(tmp_path, {**saved, "coefficients": coefficients}))


def test_nan_or_null_coefficients_are_refused(saved, tmp_path):
    text = json.dumps(saved).replace(f'"vbq": {saved["coefficients"]["vbq"]}', '"vbq": NaN', 1)
    with pytest.raises(InputError, match="non-number 'NaN'"):
        load_model(write(tmp_path, text))
    with pytest.raises(InputError, match="coefficient of vbq must be a finite number"):
        load_model(write(tmp_path, {**saved, "coefficients": {**saved["coefficients"], "vbq": None}}))


def test_wrong_covariance_shape_is_refused(saved, tmp_path):
    with pytest.raises(InputError, match="covariance must be a 6 x 6 matrix"):
        load_model(write(tmp_path, {**saved, "covariance": saved["covariance"][:5]}))


def test_asymmetric_covariance_is_refused(saved, tmp_path):
    cov = [row[:] for row in saved["covariance"]]
    cov[0][1] += 1.0
    with pytest.raises(InputError, match="symmetric"):
        load_model(write(tmp_path, {**saved, "covariance": cov}))


def test_other_json_shapes_are_refused(saved, tmp_path):
    for data, message in [
        ([1, 2, 3], "expected a JSON object"),
        ({"format": "something-else"}, "not an ovcf risk model"),
        ({**saved, "terms": ["const", "vbq"]}, "do not match"),
        ({k: v for k, v in saved.items() if k != "covariance"}, "missing field\\(s\\) covariance"),
        ({**saved, "params": {**saved["params"], "features": ["vbq; rm -rf /"]}}, "not an indicator"),
        ({**saved, "n_cases": -3}, "n_cases must be a whole number"),
    ]:
        with pytest.raises(InputError, match=message):
            load_model(write(tmp_path, data))
    with pytest.raises(InputError, match="nested too deeply"):
        load_model(write(tmp_path, "[" * 100_000 + "]" * 100_000))


class _Trap:
    """Unpickling this object would create a marker file: the loader must never unpickle."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.touch, (self.marker,))


def test_pickle_and_joblib_files_are_refused_and_never_unpickled(tmp_path, model):
    marker = tmp_path / "unpickled"
    pickled = tmp_path / "model.json"
    pickled.write_bytes(pickle.dumps(_Trap(marker)))
    with pytest.raises(InputError, match="pickle"):
        load_model(pickled)
    for protocol in (0, 2):
        with pytest.raises(InputError, match="JSON"):
            load_model(pickle.dumps(_Trap(marker), protocol=protocol), name="upload.json")
    joblib_file = tmp_path / "model.joblib"
    joblib.dump(model, joblib_file)
    with pytest.raises(InputError, match=r"pickle|JSON"):
        load_model(joblib_file)
    assert not marker.exists()


def test_missing_file_and_folder_give_one_line_errors(tmp_path):
    with pytest.raises(InputError, match="not found"):
        load_model(tmp_path / "absent.json")
    with pytest.raises(InputError, match="folder"):
        load_model(tmp_path)


@pytest.mark.parametrize(
    "cov",
    [
        "zero",  # every CI would have zero width
        "singular",  # one direction with no uncertainty
        "indefinite",  # a negative eigenvalue: a variance below zero for some patient
    ],
)
def test_a_covariance_that_is_not_positive_definite_is_refused(saved, tmp_path, cov):
    import numpy as np

    k = len(saved["terms"])
    matrix = np.array(saved["covariance"])
    if cov == "zero":
        matrix = np.zeros((k, k))
    elif cov == "singular":
        v = np.linalg.eigh(matrix)[1][:, 0]
        matrix = matrix - np.linalg.eigvalsh(matrix)[0] * np.outer(v, v)
    else:
        matrix = matrix.copy()
        matrix[0, 1] = matrix[1, 0] = 10 * np.sqrt(matrix[0, 0] * matrix[1, 1])
    saved["covariance"] = matrix.tolist()
    with pytest.raises(InputError, match="covariance is not positive definite"):
        load_model(write(tmp_path, saved))


def test_extreme_coefficients_give_a_clear_refusal_not_an_overflow(saved, tmp_path):
    import warnings

    saved["coefficients"] = {t: 1e307 for t in saved["terms"]}
    model = load_model(write(tmp_path, saved))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        with pytest.raises(InputError, match="no finite log-odds"):
            model.predict(PATIENT)


def test_very_large_log_odds_give_probabilities_without_overflow(saved, tmp_path):
    import warnings

    for sign in (1, -1):
        saved["coefficients"] = {**{t: 0.0 for t in saved["terms"]}, "const": sign * 800.0}
        model = load_model(write(tmp_path, saved))
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            prediction = model.predict(PATIENT)
        assert prediction.probability == (1.0 if sign > 0 else pytest.approx(0.0, abs=1e-300))
        assert prediction.logit == sign * 800.0


def test_expit_equals_scipy_over_the_whole_float_range():
    import numpy as np
    from scipy.special import expit as scipy_expit

    from ovcf_core.model.prediction import expit

    for z in np.concatenate([np.linspace(-800, 800, 3201), [-1e308, 1e308, 0.0, -0.0]]):
        assert expit(float(z)) == pytest.approx(float(scipy_expit(z)), rel=1e-15, abs=1e-300)
