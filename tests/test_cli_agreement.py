"""`ovcf agreement` as a real process: contract JSON (schema-validated, broken copies caught), the same
numbers as hand formulas, wide and long tables alike, left-out pairs named by row, one-line refusals."""

from __future__ import annotations

import copy
import json

import numpy as np
import pandas as pd
import pytest
from conftest import contract_problems, run_cli
from scipy import stats

from ovcf_core import paths
from ovcf_core.method_agreement import SAMPLE_FILE

SAMPLE = paths.SAMPLE_DATA / SAMPLE_FILE
WIDE = ["--subject", "patient_id", "--method-a", "hu_l1_manual", "--method-b", "hu_l1_mask"]


@pytest.fixture(scope="module")
def sample_run():
    done = run_cli("agreement", SAMPLE, *WIDE, "--indicator", "hu_l1")
    assert done.returncode == 0, done.stderr
    return done


def test_sample_output_has_the_contracted_shape_and_hand_computed_numbers(sample_run):
    out = json.loads(sample_run.stdout)
    assert contract_problems("agreement", out) == []
    table = pd.read_csv(SAMPLE).dropna()
    d = (table["hu_l1_mask"] - table["hu_l1_manual"]).to_numpy()
    n, sd = d.size, d.std(ddof=1)
    t = stats.t.ppf(0.975, n - 1)
    assert out["n_pairs"] == n == 57 and out["n_dropped"] == 3
    assert out["bias"] == pytest.approx(d.mean())
    assert out["bias_ci"] == pytest.approx([d.mean() - t * sd / np.sqrt(n), d.mean() + t * sd / np.sqrt(n)])
    half = t * sd * np.sqrt(1 / n + 1.96**2 / (2 * (n - 1)))
    assert out["loa_upper_ci"] == pytest.approx([d.mean() + 1.96 * sd - half, d.mean() + 1.96 * sd + half])
    assert out["difference"] == "hu_l1_mask − hu_l1_manual"
    assert [c["value_a"] for c in out["cutoffs"]] == [160.0, 110.0]
    assert out["cutoffs"][1]["value_b"] == pytest.approx(110 + d.mean())
    assert out["synthetic"] is True and "synthetic" in out["note"].lower()


def test_stderr_names_the_left_out_rows_and_states_the_translated_cutoffs(sample_run):
    err = sample_run.stderr
    assert "row 10: no value of 'hu_l1_mask'; the patient is left out" in err
    assert "L1 110 HU by hu_l1_manual ≈ " in err and "by hu_l1_mask" in err
    assert "ICC(2,1) absolute agreement" in err
    assert "SYN0" not in err  # no patient identifiers in the log


BREAKAGES = [
    (lambda o: o.pop("bias_ci"), "'bias_ci' is a required property"),
    (lambda o: o.update(n_pairs=2), "2 is less than the minimum of 3"),
    (lambda o: o.update(loa_ci_method="bootstrap"), "'bootstrap' is not one of"),
    (lambda o: o["icc"].update(ICC1={"icc": 1}), "Additional properties are not allowed"),
    (lambda o: o["cutoffs"][0].pop("statement"), "'statement' is a required property"),
    (lambda o: o.update(note="fine"), "does not match"),
]


@pytest.mark.parametrize(("breakage", "message"), BREAKAGES)
def test_a_broken_output_fails_the_schema(sample_run, breakage, message):
    broken = copy.deepcopy(json.loads(sample_run.stdout))
    breakage(broken)
    assert any(message in p for p in contract_problems("agreement", broken))


def test_long_table_and_exact_cis_through_the_cli(tmp_path, sample_run):
    wide = pd.read_csv(SAMPLE)
    long = wide.melt(id_vars="patient_id", var_name="method", value_name="hu").sample(frac=1, random_state=1)
    long["method"] = long["method"].map({"hu_l1_manual": "Manual", "hu_l1_mask": "Mask"})
    path = tmp_path / "long.csv"
    long.to_csv(path, index=False)
    long_args = ["--subject", "patient_id", "--method", "method", "--value", "hu", "--method-a", "manual",
                 "--method-b", "mask", "--loa-ci", "exact"]  # fmt: skip
    done = run_cli("agreement", path, *long_args, "--json", tmp_path / "o.json")
    assert done.returncode == 0, done.stderr
    out = json.loads((tmp_path / "o.json").read_text())
    assert contract_problems("agreement", out) == []
    expected = json.loads(sample_run.stdout)
    assert out["bias"] == pytest.approx(expected["bias"]) and out["n_dropped"] == 3
    assert out["icc"]["ICC2"]["icc"] == pytest.approx(expected["icc"]["ICC2"]["icc"])
    n, sd = out["n_pairs"], out["sd_difference"]
    k_high = stats.nct.ppf(0.975, n - 1, 1.96 * np.sqrt(n))
    assert out["loa_upper_ci"][1] == pytest.approx(out["bias"] + k_high * sd / np.sqrt(n))
    assert out["synthetic"] is False


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        ("p,a,b\n1,1,2\n2,2,\n3,3,4\n", [], "at least 3 patients with both methods' values (has 2"),
        ("p,a,c\n1,1,2\n", [], "column 'b'"),
        ("p,a,b\n1,1,2\n", ["--method", "a"], "give both --method and --value"),
    ],
)
def test_bad_input_is_refused_in_one_line(tmp_path, rows, args, message):
    path = tmp_path / "t.csv"
    path.write_text(rows)
    done = run_cli("agreement", path, "--subject", "p", "--method-a", "a", "--method-b", "b", *args)
    assert done.returncode == 2
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("ovcf agreement: error:") and message in last
    assert "Traceback" not in done.stderr


def test_the_cli_choices_are_the_librarys():
    # the CLI repeats them so that `ovcf --help` need not import pandas
    from ovcf_core.cli.agreement_cmd import INDICATOR_CHOICES, LOA_CI_CHOICES
    from ovcf_core.method_agreement import INDICATORS
    from ovcf_core.stats.agreement import LOA_CI_METHODS

    assert set(INDICATOR_CHOICES) == set(INDICATORS) and LOA_CI_CHOICES == LOA_CI_METHODS
