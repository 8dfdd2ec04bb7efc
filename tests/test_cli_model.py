"""`ovcf train` and `ovcf predict` as real processes: contract JSON, agreement with the library, bad input."""

from __future__ import annotations

import json
import pickle

import pytest
from conftest import contract_problems, run_cli
from model_cohorts import simulated_cohort

from ovcf_core.model import RiskModel, load_model

PATIENT_ARGS = ("--vbq", "3.5", "--hu", "95", "--age", "72", "--sex", "F", "--bmi", "23")


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A cohort CSV and the model `ovcf train` wrote from it."""
    folder = tmp_path_factory.mktemp("cli_model")
    cohort = folder / "cohort.csv"
    simulated_cohort(n=160, seed=31).to_csv(cohort, index=False)
    model = folder / "model.json"
    summary = folder / "summary.json"
    done = run_cli("train", cohort, "-o", model, "--json", summary, "--quiet")
    assert done.returncode == 0, done.stderr
    return cohort, model, json.loads(summary.read_text())


def test_train_writes_a_model_equal_to_the_library_fit(trained):
    import pandas as pd

    from ovcf_core.io import read_cohort

    cohort, model_path, summary = trained
    table, _ = read_cohort(cohort)
    expected = RiskModel().fit(table)
    loaded = load_model(model_path)
    assert list(loaded.coef_) == pytest.approx(list(expected.coef_), rel=1e-9)
    assert summary["n_cases"] + summary["n_controls"] == len(pd.read_csv(cohort))
    assert summary["auc"] == pytest.approx(expected.summary_.auc)
    assert summary["auc_corrected"] == pytest.approx(expected.summary_.auc_corrected)


def test_predict_json_follows_the_contract_and_equals_the_library(trained):
    _, model_path, _ = trained
    done = run_cli("predict", "--model", model_path, *PATIENT_ARGS, "--prevalence", "0.1", "--json", "-")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert contract_problems("predict", out) == []
    expected = load_model(model_path).predict(
        {"vbq": 3.5, "hu": 95, "age": 72, "sex": "F", "bmi": 23}, prevalence=0.1
    )
    assert out["probability"] == pytest.approx(expected.probability, rel=1e-12)
    assert out["ci"] == pytest.approx(list(expected.ci), rel=1e-12)
    assert out["prevalence"] == 0.1 and out["features"]["sex"] == "F"


def test_predict_without_prevalence_reports_null_and_prints_text_without_json(trained):
    _, model_path, _ = trained
    out = json.loads(run_cli("predict", "--model", model_path, *PATIENT_ARGS, "--json", "-").stdout)
    assert out["prevalence"] is None
    text = run_cli("predict", "--model", model_path, *PATIENT_ARGS)
    assert text.returncode == 0 and "Probability of OVCF" in text.stdout
    assert "not a medical device" in text.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--vbq", "30", "--hu", "95", "--age", "72", "--sex", "F", "--bmi", "23"), "plausible range"),
        (("--vbq", "3.5", "--age", "72", "--sex", "F", "--bmi", "23"), "Average HU (hu) is required"),
        (
            (*PATIENT_ARGS, "--prevalence", "10"),
            "--prevalence: '10' must be strictly between 0 and 1 (give a fraction: 0.10 for 10%)",
        ),
        (("--vbq", "abc", "--hu", "95", "--age", "72", "--sex", "F", "--bmi", "23"), "'abc' is not a number"),
    ],
)
def test_bad_patient_values_exit_2_with_one_line(trained, args, message):
    _, model_path, _ = trained
    done = run_cli("predict", "--model", model_path, *args, "--json", "-")
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr
    assert len(done.stderr.strip().splitlines()) == 1


def test_a_pickle_model_file_is_refused_not_loaded(tmp_path):
    bad = tmp_path / "model.json"
    bad.write_bytes(pickle.dumps({"coefficients": [1, 2]}))
    done = run_cli("predict", "--model", bad, *PATIENT_ARGS, "--json", "-")
    assert done.returncode == 2 and "pickle" in done.stderr and "Traceback" not in done.stderr


def test_train_on_a_one_class_cohort_exits_2(tmp_path):
    cohort = tmp_path / "cases_only.csv"
    simulated_cohort(n=40, seed=2).assign(ovcf=1).to_csv(cohort, index=False)
    done = run_cli("train", cohort, "-o", tmp_path / "m.json", "--quiet")
    assert done.returncode == 2 and "too few" in done.stderr
    assert not (tmp_path / "m.json").exists()


def test_train_rejects_unknown_features_with_one_line(trained, tmp_path):
    cohort, _, _ = trained
    done = run_cli("train", cohort, "--features", "vbq,height", "-o", tmp_path / "m.json")
    assert done.returncode == 2 and "'height' is not an indicator" in done.stderr


def test_predict_with_the_shipped_model_imports_neither_pandas_nor_statsmodels():
    """Predicting needs numpy only (the JSON model): the CLI starts in a fraction of the import time."""
    import subprocess
    import sys

    code = (
        "import sys; from ovcf_core.cli import main; "
        "main(['predict', '--vbq', '3.4', '--hu', '105', '--age', '71', '--sex', 'F', '--bmi', '23.5', "
        "'--json', '-']); "
        "heavy = ('pandas', 'statsmodels', 'streamlit', 'scipy', 'sklearn'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip().splitlines()[-1] == "[]"
    assert '"probability"' in output
