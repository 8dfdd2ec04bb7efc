"""`ovcf analyze` (and `icc`, `match`) as real processes: contract JSON, messages, one-line errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
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
    assert "sensitivity %{y:.3f}" in html  # the ROC curves are drawn (the CLI passes the cohort table)


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


SF = [[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]]


def test_icc_writes_the_contract_json(tmp_path):
    rows = [f"t{s},judge{j},{SF[s][j]}" for s in range(6) for j in range(4)]
    rows.append("t9,judge0,n/a?")
    path = tmp_path / "ratings.csv"
    path.write_text("Target,Judge,Score\n" + "\n".join(rows) + "\n")
    proc = run_cli("icc", path, "--subject", "target", "--rater", "judge", "--value", "score", "--json", "-")
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert contract_problems("icc", out) == []
    assert round(out["ICC2"]["icc"], 2) == 0.29
    assert "row 26, column 'score'" in proc.stderr


def test_icc_missing_column_fails_in_one_line(tmp_path):
    path = tmp_path / "ratings.csv"
    path.write_text("subject,rater,value\na,r1,1\n")
    proc = run_cli("icc", path, "--subject", "subject", "--rater", "rater", "--value", "hu", "--json", "-")
    assert proc.returncode == 2
    assert len(proc.stderr.strip().splitlines()) == 1 and "'hu'" in proc.stderr


def test_match_writes_pairs_and_lists_unmatched_by_row(tmp_path):
    rows = ["patient_id,group,Age,Sex,bmi"]
    rows += [f"C{i},ovcf,{70 + i},F,24" for i in range(3)]
    rows += ["C9,ovcf,90,M,24"]
    rows += [f"K{i},control,{69 + i},F,23" for i in range(6)]
    path = tmp_path / "pool.csv"
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "matched.csv"
    proc = run_cli("match", path, "--age", "Age", "--sex", "Sex", "--caliper", "2", "-o", out)
    assert proc.returncode == 0, proc.stderr
    matched = pd.read_csv(out)
    assert len(matched) == 6 and matched.pair_id.nunique() == 3
    assert "unmatched case at row 5" in proc.stderr
    assert "C9" not in proc.stderr


def _match_pool(path):
    """Case B (70) needs control 71, the nearest to case A (71.5): greedy taking A first loses B."""
    path.write_text("patient_id,ovcf,age,sex\nA,1,71.5,F\nB,1,70,F\nK1,0,71,F\nK2,0,72.5,F\n")
    return path


def test_match_optimal_finds_the_most_pairs_and_ignores_the_seed(tmp_path):
    path = _match_pool(tmp_path / "pool.csv")
    runs = []
    for seed in ("1", "2", "3", "4"):
        out = tmp_path / f"optimal{seed}.csv"
        proc = run_cli("match", path, "--caliper", "1", "--seed", seed, "-o", out)
        assert proc.returncode == 0, proc.stderr
        runs.append((out.read_bytes(), proc.stderr))
    assert len(set(runs)) == 1
    assert "pool.csv: 2 pair(s) matched (optimal, caliper 1 years); 0 case(s) unmatched" in runs[0][1]
    matched = pd.read_csv(tmp_path / "optimal1.csv")
    assert (
        list(matched.patient_id) == ["A", "K2", "B", "K1"]
        and list(matched.pair_id) == ["m1"] * 2 + ["m2"] * 2
    )
    greedy = set()
    for seed in ("1", "2", "3", "4"):
        proc = run_cli(
            "match", path, "--caliper", "1", "--method", "greedy", "--seed", seed, "-o", tmp_path / "g.csv"
        )
        assert proc.returncode == 0, proc.stderr
        greedy.add(proc.stderr.splitlines()[0])
    assert {line.split(" pair(s)")[0] for line in greedy} == {"pool.csv: 1", "pool.csv: 2"}
    assert "pool.csv: 1 pair(s) matched (greedy, caliper 1 years, seed SEED); 1 case(s) unmatched" in {
        line.replace(f"seed {s})", "seed SEED)") for line in greedy for s in "1234"
    }


def test_match_ratio_writes_each_case_with_its_k_controls(tmp_path):
    rows = ["patient_id,ovcf,age,sex"] + [f"C{i},1,{70 + 3 * i},F" for i in range(3)]
    rows += [f"K{i},0,{70 + 3 * (i // 3) + (-0.5, 0.2, 1)[i % 3]},F" for i in range(9)]
    path = tmp_path / "pool.csv"
    path.write_text("\n".join(rows) + "\n")
    out = tmp_path / "matched.csv"
    proc = run_cli("match", path, "--caliper", "1", "--ratio", "2", "-o", out)
    assert proc.returncode == 0, proc.stderr
    assert "pool.csv: 3 set(s) of 1 case and 2 controls matched (optimal, caliper 1 years)" in proc.stderr
    matched = pd.read_csv(out)
    assert list(matched.ovcf) == [1, 0, 0] * 3 and list(matched.pair_id) == [
        p for p in ("m1", "m2", "m3") for _ in "abc"
    ]
    sets = {g.patient_id.iloc[0]: sorted(g.patient_id.iloc[1:]) for _, g in matched.groupby("pair_id")}
    assert sets == {"C0": ["K0", "K1"], "C1": ["K3", "K4"], "C2": ["K6", "K7"]}


def test_match_bad_ratio_or_method_fails_in_one_line(tmp_path):
    path = _match_pool(tmp_path / "pool.csv")
    for option in (["--ratio", "0"], ["--ratio", "two"], ["--method", "best"]):
        proc = run_cli("match", path, *option, "-o", tmp_path / "m.csv")
        assert proc.returncode == 2 and "Traceback" not in proc.stderr
        assert len(proc.stderr.strip().splitlines()) == 1 and option[0] in proc.stderr


def test_match_without_controls_fails_in_one_line(tmp_path):
    path = tmp_path / "pool.csv"
    path.write_text("patient_id,ovcf,age,sex\nA,1,70,F\nB,1,71,M\n")
    proc = run_cli("match", path, "-o", tmp_path / "m.csv")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert proc.stderr.strip().splitlines()[-1].startswith("ovcf match: error:")


def test_analyze_conditional_and_bootstrap_options_add_their_keys(tmp_path):
    cohort = _write(paired_cohort(), tmp_path / "cohort.csv")
    proc = run_cli(
        "analyze", cohort, "--markers", "vbq", "--pair", "pair_id", "--conditional", "--bootstrap", "200",
        "--json", "-",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert contract_problems("analyze", out) == []
    vbq = out["markers"]["vbq"]
    assert vbq["conditional_or_per_sd"] > 1
    lo, hi = vbq["auc_ci_bootstrap"]
    assert lo < vbq["auc"] < hi


def test_analyze_option_errors_are_one_line(tmp_path):
    cohort = _write(paired_cohort(), tmp_path / "cohort.csv")
    proc = run_cli("analyze", cohort, "--conditional", "--json", "-")
    assert proc.returncode == 2 and "--conditional needs --pair" in proc.stderr
    proc = run_cli("analyze", cohort, "--json", "-", "--report", tmp_path / "no" / "such" / "r.html")
    assert proc.returncode == 2
    assert proc.stderr == (
        f"ovcf analyze: error: argument --report: the folder {tmp_path / 'no' / 'such'} does not exist "
        "(see ovcf analyze --help)\n"
    )
    assert proc.stdout == "", "refused before the analysis ran"
    assert "Traceback" not in proc.stderr
