"""`ovcf analyze` (and `icc`, `match`) as real processes: contract JSON, messages, one-line errors."""

from __future__ import annotations

import json

import numpy as np
from conftest import contract_problems, run_cli
from stats_cohorts import paired_cohort


def _write(table, path):
    out = table.copy()
    out["ovcf"] = out["ovcf"].astype(int)
    out.to_csv(path, index=False)
    return path


def test_analyze_writes_the_contract_json(tmp_path):
    cohort = _write(paired_cohort(), tmp_path / "cohort.csv")
    proc = run_cli("analyze", cohort, "--pair", "pair_id", "--json", tmp_path / "out.json")
    assert proc.returncode == 0, proc.stderr
    out = json.loads((tmp_path / "out.json").read_text())
    assert contract_problems("analyze", out) == []
    assert out["n"]["pairs"] == 60
    assert out["markers"]["vbq"]["test"] == "paired_t"


def test_analyze_reports_bad_rows_on_stderr_and_keeps_the_rest(tmp_path):
    table = paired_cohort().astype({"hu": object})
    table.loc[table.index[0], "hu"] = "abc"
    cohort = _write(table, tmp_path / "cohort.csv")
    proc = run_cli("analyze", cohort, "--markers", "vbq,hu", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    assert "row 2, column 'hu': 'abc' is not a number" in proc.stderr
    out = json.loads(proc.stdout)
    assert out["n"]["cases"] + out["n"]["controls"] == 119
    assert out["markers"]["vbq"]["test"] == "welch_t"


def test_analyze_with_one_class_fails_in_one_line(tmp_path):
    table = paired_cohort()
    cohort = _write(table[table.ovcf == 1], tmp_path / "cases.csv")
    proc = run_cli("analyze", cohort, "--json", tmp_path / "out.json")
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines()[-1].startswith("ovcf analyze: error:")
    assert "Traceback" not in proc.stderr
    assert not (tmp_path / "out.json").exists()


def test_analyze_missing_file_and_unknown_marker_fail_cleanly(tmp_path):
    proc = run_cli("analyze", tmp_path / "nope.csv", "--json", "-")
    assert proc.returncode == 2 and "file not found" in proc.stderr and "Traceback" not in proc.stderr
    cohort = _write(paired_cohort(), tmp_path / "cohort.csv")
    proc = run_cli("analyze", cohort, "--markers", "vbq,zzz", "--json", "-")
    assert proc.returncode == 2 and "zzz" in proc.stderr and "Traceback" not in proc.stderr


def test_analyze_report_writes_html(tmp_path):
    cohort = _write(paired_cohort(), tmp_path / "cohort.csv")
    proc = run_cli("analyze", cohort, "--json", tmp_path / "o.json", "--report", tmp_path / "r.html")
    assert proc.returncode == 0, proc.stderr
    html = (tmp_path / "r.html").read_text()
    assert "Table 1" in html and "<html" in html


def test_analyze_outcome_and_positive_columns(tmp_path):
    table = paired_cohort()
    table["status"] = np.where(table.ovcf == 1, "fx", "ctl")
    table.drop(columns="ovcf").to_csv(tmp_path / "cohort.csv", index=False)
    cohort = tmp_path / "cohort.csv"
    proc = run_cli(
        "analyze", cohort, "--outcome", "status", "--positive", "fx", "--adjust", "none", "--json", "-"
    )
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert out["n"] == {"cases": 60, "controls": 60, "pairs": None}
    assert out["settings"]["adjust"] == []
