"""`ovcf validate` and `ovcf recalibrate` as a user runs them: contract, report, bad input, round trip."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import contract_problems, run_cli
from scipy.special import expit

from ovcf_core import RESEARCH_NOTE, paths
from ovcf_core.io import read_cohort
from ovcf_core.model import load_model


@pytest.fixture(scope="module")
def sample_validation():
    done = run_cli("validate", paths.SAMPLE_COHORT, "--json", "-")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def test_validate_writes_the_contract_and_matches_statsmodels(sample_validation):
    out, stderr = sample_validation
    assert contract_problems("validate", out) == []
    table, _ = read_cohort(paths.SAMPLE_COHORT)
    model = load_model(paths.DEFAULT_MODEL)
    lp = model.linear_predictor(table)
    y = table["ovcf"].to_numpy(float)
    slope = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit(tol=1e-12)
    assert out["calibration_slope"] == pytest.approx(slope.params[1], abs=1e-6)
    assert out["n"] == 156 and out["n_cases"] == 78 and out["prevalence"] is None
    assert out["observed_expected"] == pytest.approx(y.mean() / expit(lp).mean())
    assert len(out["decision_curve"]) == 99
    assert out["note"] == RESEARCH_NOTE and "synthetic_note" in out
    assert "validated on 156 patients" in stderr.splitlines()[-1]


def test_validate_report_is_laid_out_by_tripod(tmp_path):
    report = tmp_path / "v.html"
    done = run_cli("validate", paths.SAMPLE_COHORT, "--json", tmp_path / "v.json", "--report", report)
    assert done.returncode == 0, done.stderr
    text = report.read_text(encoding="utf-8")
    for heading in ("Participants", "Missing data", "Discrimination", "Calibration", "Clinical utility"):
        assert heading in text
    assert text.count("Plotly.newPlot") >= 3
    assert "Synthetic data" in text and RESEARCH_NOTE in text


def test_recalibrate_round_trip_gives_intercept_0_and_slope_1(tmp_path):
    new = tmp_path / "new.json"
    done = run_cli("recalibrate", paths.SAMPLE_COHORT, "--model", paths.DEFAULT_MODEL, "--method", "logistic",
                   "-o", new)  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(run_cli("validate", paths.SAMPLE_COHORT, "--model", new, "--json", "-").stdout)
    assert out["calibration_intercept"] == pytest.approx(0, abs=1e-6)
    assert out["calibration_slope"] == pytest.approx(1, abs=1e-6)
    predicted = run_cli("predict", "--model", new, "--vbq", "3.4", "--hu", "95", "--age", "70", "--sex", "F",
                        "--bmi", "24", "--json", "-")  # fmt: skip
    assert predicted.returncode == 0, predicted.stderr


def test_prevalence_and_thresholds_reach_the_decision_curve():
    done = run_cli("validate", paths.SAMPLE_COHORT, "--prevalence", "0.1", "--thresholds", "0.05:0.3:0.05",
                   "--json", "-")  # fmt: skip
    out = json.loads(done.stdout)
    assert [round(p["threshold"], 10) for p in out["decision_curve"]] == [0.05, 0.1, 0.15, 0.2, 0.25, 0.3]
    first = out["decision_curve"][0]
    assert first["net_benefit_all"] == pytest.approx(0.1 - 0.9 * 0.05 / 0.95)
    assert out["prevalence"] == 0.1


def write(tmp_path, table: pd.DataFrame, name: str = "c.csv"):
    path = tmp_path / name
    table.to_csv(path, index=False)
    return path


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda t: t.drop(columns=["ovcf"]), "ovcf"),
        (lambda t: t.assign(ovcf=0), "ovcf"),
        (lambda t: t.drop(columns=["vbq"]), "vbq"),
        (lambda t: t.assign(hu=np.nan), "hu"),
    ],
)
def test_bad_cohorts_get_one_line_naming_the_column(tmp_path, change, column):
    table = pd.read_csv(paths.SAMPLE_COHORT)
    path = write(tmp_path, change(table))
    out = tmp_path / "out.json"
    done = run_cli("validate", path, "--json", out)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ovcf validate: error: c.csv") and f"'{column}'" in last, done.stderr
    assert "Traceback" not in done.stderr and not out.exists()


def test_missing_values_are_listed_on_stderr_and_in_the_json(tmp_path):
    table = pd.read_csv(paths.SAMPLE_COHORT)
    table.loc[[0, 5], "vbq"] = np.nan
    done = run_cli("validate", write(tmp_path, table), "--json", "-")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert out["n"] == 154 and out["n_excluded"] == 2
    assert [e["row"] for e in out["excluded"]] == [2, 7]
    assert "row 2" in done.stderr and "missing vbq" in done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["--thresholds", "0:1:0.1"],
        ["--thresholds", "0.1-0.5"],
        ["--prevalence", "10"],
    ],
)
def test_bad_arguments_are_refused_before_any_work(argv):
    done = run_cli("validate", paths.SAMPLE_COHORT, *argv, "--json", "-")
    assert done.returncode == 2 and len(done.stderr.strip().splitlines()) == 1, done.stderr


def test_recalibrate_refuses_an_unknown_method_and_a_missing_model(tmp_path):
    done = run_cli("recalibrate", paths.SAMPLE_COHORT, "--model", paths.DEFAULT_MODEL, "--method", "x", "-o",
                   tmp_path / "n.json")  # fmt: skip
    assert done.returncode == 2
    done = run_cli("recalibrate", paths.SAMPLE_COHORT, "--model", tmp_path / "none.json", "--method",
                   "intercept", "-o", tmp_path / "n.json")  # fmt: skip
    assert done.returncode == 2 and "model file not found" in done.stderr
