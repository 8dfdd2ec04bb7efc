"""The JSON Schemas of the CLI's outputs (`ovcf_core/schemas/`) are valid, hold the real outputs, and catch
a broken shape; and the repository reads nothing outside itself."""

from __future__ import annotations

import copy
import json
import subprocess

import pytest
from conftest import ROOT, SCHEMAS, contract_problems, run_cli
from jsonschema import Draft202012Validator

from ovcf_core import paths

KINDS = ("analyze", "icc", "predict", "measure", "train", "validate", "power", "incremental")
CT = paths.SAMPLE_DICOM / "ct_axial"


def test_every_schema_is_a_valid_draft_2020_12_schema():
    found = sorted(p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json"))
    assert set(KINDS) <= set(found)
    for name in found:
        Draft202012Validator.check_schema(json.loads((SCHEMAS / f"{name}.schema.json").read_text()))


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> dict[str, dict]:
    """Each command's real JSON output on the shipped sample data."""
    tmp = tmp_path_factory.mktemp("contracts")
    commands = {
        "analyze": ["analyze", paths.SAMPLE_COHORT, "--pair", "pair_id", "--json", "-"],
        "icc": ["icc", paths.SAMPLE_RAW, "--subject", "patient_id", "--rater", "rater", "--value", "hu_L1"],
        "predict": ["predict", "--vbq", "3.4", "--hu", "95", "--age", "70", "--sex", "F", "--bmi", "24",
                    "--prevalence", "0.1", "--json", "-"],
        "measure": ["measure", CT / "series", "--roi", CT / "rois.json"],
        "train": ["train", paths.SAMPLE_COHORT, "--bootstrap", "0", "-o", tmp / "m.json", "--json", "-",
                  "--quiet"],
        "validate": ["validate", paths.SAMPLE_COHORT, "--prevalence", "0.1", "--json", "-"],
        "power": ["power", "--auc", "0.8", "--power", "0.9", "--parameters", "8", "--prevalence", "0.2"],
        "incremental": ["incremental", paths.SAMPLE_COHORT, "--base", "hu,age,sex,bmi", "--add", "vbq",
                        "--bootstrap", "20", "--quiet"],
    }  # fmt: skip
    out = {}
    for kind, argv in commands.items():
        done = run_cli(*argv)
        assert done.returncode == 0, done.stderr
        out[kind] = json.loads(done.stdout)
    return out


@pytest.mark.parametrize("kind", KINDS)
def test_the_real_output_of_each_command_has_its_contracted_shape(outputs, kind):
    assert contract_problems(kind, outputs[kind]) == []


BREAKAGES = {
    "analyze": [
        (lambda o: o.pop("auc_comparisons"), "'auc_comparisons' is a required property"),
        (lambda o: o["markers"]["vbq"].pop("auc_ci"), "'auc_ci' is a required property"),
        (lambda o: o["markers"]["vbq"].update(direction="up"), "'up' is not one of"),
        (lambda o: o["markers"]["vbq"].update(auc="0.9"), "'0.9' is not of type"),
        (lambda o: o["markers"]["vbq"].update(auc_ci=[0.8]), "is too short"),
        (lambda o: o.update(markers={}), "should be non-empty"),
    ],
    "icc": [(lambda o: o.pop("ICC2k"), "'ICC2k' is a required property")],
    "predict": [
        (lambda o: o.update(probability=1.5), "1.5 is greater than the maximum of 1"),
        (lambda o: o.update(prevalence=0), "0 is less than or equal to the minimum of 0"),
        (lambda o: o.pop("model"), "'model' is a required property"),
    ],
    "measure": [
        (lambda o: o.update(unit="mm"), "'mm' is not one of"),
        (lambda o: o["rois"]["L1"].update(n_pixels=0), "0 is less than the minimum of 1"),
    ],
    "train": [(lambda o: o.update(n_cases=0), "0 is less than the minimum of 1")],
    "validate": [
        (lambda o: o.pop("calibration_slope_ci"), "'calibration_slope_ci' is a required property"),
        (lambda o: o["hosmer_lemeshow"].update(df=9), "8 was expected"),
        (lambda o: o["decision_curve"][0].pop("net_benefit_all"), "'net_benefit_all' is a required property"),
        (lambda o: o["calibration_curve"][0].update(observed=1.2), "1.2 is greater than the maximum of 1"),
    ],
    "power": [
        (lambda o: o.pop("n_cases_needed"), "'n_cases_needed' is a required property"),
        (lambda o: o.update(n_controls_needed=16.6), "16.6 is not of type 'integer'"),
        (lambda o: o.update(auc=0.5), "0.5 is less than or equal to the minimum of 0.5"),
    ],
    "incremental": [
        (lambda o: o.pop("delta_auc_ci"), "'delta_auc_ci' is a required property"),
        (lambda o: o.update(added=[]), "should be non-empty"),
        (lambda o: o.update(lr_p=1.5), "1.5 is greater than the maximum of 1"),
    ],
}


@pytest.mark.parametrize(
    ("kind", "index"), [(kind, i) for kind, cases in BREAKAGES.items() for i in range(len(cases))]
)
def test_a_broken_shape_is_caught_and_named(outputs, kind, index):
    broken = copy.deepcopy(outputs[kind])
    change, message = BREAKAGES[kind][index]
    change(broken)
    problems = contract_problems(kind, broken)
    assert any(message in p for p in problems), problems


def test_no_file_in_the_repository_reads_outside_it():
    tracked = subprocess.run(
        ["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.split()
    if not tracked:  # not a git checkout (an sdist): walk the tree instead
        tracked = [
            str(p.relative_to(ROOT)) for p in ROOT.rglob("*") if p.is_file() and ".venv" not in p.parts
        ]
    offenders = []
    for name in tracked:
        path = ROOT / name
        if path.suffix not in {".py", ".toml", ".cfg", ".sh", ".txt", ""} or not path.is_file():
            continue
        text = path.read_text(encoding="utf-8", errors="replace")
        outside = "/".join(("..", "shared"))  # spelled in parts so this test does not match itself
        if outside in text or 'parent / "shared"' in text or "check_contracts" in text:
            offenders.append(name)
    offenders = [o for o in offenders if o != "tests/test_contracts.py"]  # it names what it looks for
    assert offenders == []
