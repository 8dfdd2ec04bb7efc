"""`ovcf incremental` as a user runs it: the paper's question (VBQ on top of HU), checked against
statsmodels' likelihood-ratio test and scikit-learn's AUCs, and its refusals."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import contract_problems, run_cli
from sklearn.metrics import roc_auc_score

from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE, paths
from ovcf_core.io import read_cohort


@pytest.fixture(scope="module")
def vbq_on_hu():
    done = run_cli(
        "incremental", paths.SAMPLE_COHORT, "--base", "hu,age,sex,bmi", "--add", "vbq", "--bootstrap", "100",
        "--seed", "7",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), done.stderr


def _fits(table: pd.DataFrame, base: list[str], added: list[str]):
    """Both models by statsmodels on the patients with every variable (sex as a male indicator)."""
    data = table.assign(sex_male=(table["sex"] == "M").astype(float))
    names = [("sex_male" if c == "sex" else c) for c in [*base, *added]]
    data = data.dropna(subset=["ovcf", *names])
    small = sm.Logit(data["ovcf"], sm.add_constant(data[names[: len(base)]])).fit(disp=0)
    big = sm.Logit(data["ovcf"], sm.add_constant(data[names])).fit(disp=0)
    return data["ovcf"].to_numpy(), small, big


def test_vbq_on_hu_equals_statsmodels_lr_test_and_sklearn_aucs(vbq_on_hu):
    out, _ = vbq_on_hu
    assert contract_problems("incremental", out) == []
    table, _ = read_cohort(paths.SAMPLE_COHORT)
    y, small, big = _fits(table, ["hu", "age", "sex", "bmi"], ["vbq"])
    assert out["n"] == len(y) and out["n_cases"] == int(y.sum())
    lr = 2 * (big.llf - small.llf)
    assert out["lr_chi2"] == pytest.approx(lr, rel=1e-6)
    assert out["lr_df"] == 1
    assert out["auc_base"] == pytest.approx(roc_auc_score(y, small.fittedvalues), abs=1e-9)
    assert out["auc_new"] == pytest.approx(roc_auc_score(y, big.fittedvalues), abs=1e-9)
    assert out["delta_auc"] == pytest.approx(out["auc_new"] - out["auc_base"], abs=1e-12)
    lo, hi = out["delta_auc_ci"]
    assert lo < out["delta_auc"] < hi
    assert out["nri_ci"][0] < out["nri"] < out["nri_ci"][1]
    assert (out["n_bootstrap"], out["seed"]) == (100, 7)
    assert out["note"] == RESEARCH_NOTE and out["synthetic_note"] == SYNTHETIC_NOTE
    assert out["cohort"] == "cohort.csv"


def test_the_same_seed_gives_the_same_cis_and_progress_goes_to_stderr(vbq_on_hu):
    out, stderr = vbq_on_hu
    assert "bootstrap: 100/100" in stderr
    again = run_cli(
        "incremental", paths.SAMPLE_COHORT, "--base", "hu,age,sex,bmi", "--add", "vbq", "--bootstrap", "100",
        "--seed", "7", "--quiet",
    )  # fmt: skip
    assert again.returncode == 0 and again.stderr == ""
    assert json.loads(again.stdout) == out


def test_an_intercept_only_base_and_no_resamples_give_null_cis(tmp_path):
    out_file = tmp_path / "inc.json"
    done = run_cli(
        "incremental", paths.SAMPLE_COHORT, "--base", "none", "--add", "vbq,hu", "--bootstrap", "0",
        "--json", out_file,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(out_file.read_text())
    assert contract_problems("incremental", out) == []
    assert out["base"] == [] and out["lr_df"] == 2 and out["auc_base"] == 0.5
    assert out["nri_ci"] == [None, None] and out["idi_ci"] == [None, None]
    table, _ = read_cohort(paths.SAMPLE_COHORT)
    _, _, big = _fits(table, [], ["vbq", "hu"])
    assert out["lr_chi2"] == pytest.approx(big.llr, rel=1e-6)
    assert np.isfinite(out["idi"])


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--base", "hu", "--add", "hu"], "a marker is both in the base model and among those added"),
        (["--base", "hu", "--add", "nosuch"], "column 'nosuch': no column 'nosuch' (named by --base/--add)"),
        (["--base", "hu", "--add", "none"], "name at least one marker to add to the base model"),
        (["--base", "hu", "--add", "vbq", "--bootstrap", "-1"], "'-1' must be 0 or more"),
    ],
)
def test_a_refusal_is_one_line_naming_why(argv, expected):
    done = run_cli("incremental", paths.SAMPLE_COHORT, *argv)
    assert done.returncode == 2
    assert expected in done.stderr.strip().splitlines()[-1]
    assert done.stdout == ""
