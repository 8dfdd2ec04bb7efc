"""`ovcf analyze --stratify COL`: every figure within each stratum, small strata refused with a note."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from ovcf_core import paths
from ovcf_core.errors import InputError
from ovcf_core.io import read_cohort
from ovcf_core.stats.stratified import analyze_by_stratum, stratum_labels
from tests.conftest import contract_problems, run_cli


@pytest.fixture(scope="module")
def cohort_file(tmp_path_factory):
    """The sample cohort with a field-strength column (1.5 T / 3 T, written three ways) and a tiny site."""
    table = pd.read_csv(paths.SAMPLE_COHORT)
    rng = np.random.default_rng(5)
    strength = np.where(rng.random(len(table)) < 0.5, "1.5", "3")
    strength = np.where((strength == "3") & (np.arange(len(table)) % 3 == 0), "3.0", strength)
    table["magnetic_field_strength_t"] = strength
    table.loc[table.index[:4], "magnetic_field_strength_t"] = ""  # unknown: counted, left out
    table["site"] = np.where(np.arange(len(table)) < 6, "small", "big")
    path = tmp_path_factory.mktemp("strat") / "cohort.csv"
    table.to_csv(path, index=False)
    return path


@pytest.fixture(scope="module")
def table(cohort_file):
    return read_cohort(cohort_file)[0]


def test_each_stratum_gets_the_auc_sklearn_gives_on_its_rows(table):
    result = analyze_by_stratum(
        table, "magnetic_field_strength_t", markers=["vbq", "hu"], adjust=[], pair=None
    )
    assert [s.value for s in result.strata] == ["1.5", "3"], "3 and 3.0 are one stratum"
    assert result.n_missing == 4
    labels = stratum_labels(table["magnetic_field_strength_t"])
    for stratum in result.strata:
        rows = table[labels == stratum.value]
        assert stratum.n == len(rows) and stratum.n_cases == int(rows["ovcf"].sum())
        markers = stratum.analysis.to_dict()["markers"]
        # the paper's directions: higher VBQ and lower HU mean risk
        assert markers["vbq"]["auc"] == pytest.approx(roc_auc_score(rows["ovcf"], rows["vbq"]), rel=1e-12)
        assert markers["hu"]["auc"] == pytest.approx(roc_auc_score(rows["ovcf"], -rows["hu"]), rel=1e-12)


def test_a_stratum_too_small_gets_a_note_instead_of_numbers(table):
    result = analyze_by_stratum(table, "site", markers=["vbq"], adjust=[], pair=None)
    small = next(s for s in result.strata if s.value == "small")
    assert small.analysis is None and small.note.startswith("not analysed: ")
    assert "each needs at least 10" in small.note and small.n == 6
    big = next(s for s in result.strata if s.value == "big")
    assert big.analysis is not None and big.note is None
    data = result.to_dict()
    assert data["strata"][1]["analysis"] is None and data["min_per_group"] == 10


def test_a_continuous_or_missing_column_is_refused(table):
    with pytest.raises(InputError, match="distinct values"):
        analyze_by_stratum(table, "age", markers=["vbq"], adjust=[], pair=None)
    with pytest.raises(InputError, match="does not have: 'scanner'"):
        analyze_by_stratum(table, "scanner", markers=["vbq"], adjust=[], pair=None)


def test_labels_merge_number_spellings_and_drop_empty_cells():
    labels = stratum_labels(pd.Series(["3", "3.0", " 3.00 ", "1,5", "", None, "Siemens"]))
    assert labels.tolist() == ["3", "3", "3", "1.5", None, None, "Siemens"]


def test_cli_adds_the_stratified_key_and_each_stratum_keeps_the_analyze_contract(cohort_file, tmp_path):
    out = tmp_path / "out.json"
    result = run_cli(
        "analyze",
        cohort_file,
        "--markers",
        "vbq,hu",
        "--stratify",
        "Magnetic_Field_Strength_T",
        "--json",
        out,
    )
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert contract_problems("analyze", data) == []
    stratified = data["stratified"]
    assert stratified["column"] == "magnetic_field_strength_t" and stratified["n_missing"] == 4
    assert [s["value"] for s in stratified["strata"]] == ["1.5", "3"]
    for stratum in stratified["strata"]:
        assert contract_problems("analyze", stratum["analysis"]) == []
        assert stratum["analysis"]["n"]["cases"] == stratum["n_cases"]
    bad = run_cli("analyze", cohort_file, "--stratify", "nope", "--json", tmp_path / "bad.json")
    assert bad.returncode == 2 and "does not have: 'nope'" in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1 and not (tmp_path / "bad.json").exists()
