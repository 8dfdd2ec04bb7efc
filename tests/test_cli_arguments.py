"""Every `ovcf` help text prints, and strange arguments are refused before any work, in one last line.

Run in-process (`ovcf_core.cli.main`) so the many cases stay fast; `test_cli_*` files run real processes.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ovcf_core import paths
from ovcf_core.cli import COMMANDS, main

COHORT = str(paths.SAMPLE_COHORT)
POOL = str(paths.SAMPLE_POOL)
RAW = str(paths.SAMPLE_RAW)
RATINGS = ["--subject", "patient_id", "--rater", "rater", "--value", "hu_L1"]


def _run(argv: list[str], capsys) -> tuple[int, str, str]:
    """(exit code, stdout, stderr) of `ovcf ARGV` run in this process."""
    try:
        code = main(argv)
    except SystemExit as exc:
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


@pytest.mark.parametrize("argv", [["-h"], ["--help"], *([name, "--help"] for name in COMMANDS)])
def test_every_help_text_prints(argv, capsys):
    code, out, err = _run(argv, capsys)
    assert code == 0, err
    assert "usage: ovcf" in out
    assert err == ""


def test_top_level_help_lists_every_command_with_its_percent_signs(capsys):
    _, out, _ = _run(["--help"], capsys)
    for name in COMMANDS:
        assert name in out
    assert "95% CI" in out


def test_a_command_imports_only_its_own_module():
    import subprocess
    import sys

    code = (
        "import sys\n"
        "from ovcf_core.cli import COMMANDS, main\n"
        "try:\n"
        "    main(['power', '--auc', '0.8', '--power', '0.8'])\n"
        "except SystemExit:\n"
        "    pass\n"
        "print(sorted(m for m, _ in COMMANDS.values() if f'ovcf_core.cli.{m}' in sys.modules))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip().splitlines()[-1] == "['power_cmd']", done.stderr


@pytest.mark.parametrize(("user_set", "expected"), [(None, 1), ("2", 2)])
def test_analyze_and_measure_start_openblas_with_one_thread_unless_the_user_chose(
    user_set, expected, tmp_path
):
    """Their products are small or run on the command's own worker threads: OpenBLAS's pool would only
    compete with them for the cores."""
    import os
    import subprocess
    import sys

    pytest.importorskip("threadpoolctl")
    code = (
        "import sys\n"
        "from threadpoolctl import threadpool_info\n"
        "from ovcf_core.cli import main\n"
        f"main(['analyze', {COHORT!r}, '--json', {str(tmp_path / 'a.json')!r}])\n"
        "print(sorted({p['num_threads'] for p in threadpool_info() if p['internal_api'] == 'openblas'}))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    if user_set is not None:
        env["OPENBLAS_NUM_THREADS"] = user_set
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    threads = done.stdout.strip().splitlines()[-1]
    if threads == "[]":
        pytest.skip("numpy here is not built on OpenBLAS")
    assert threads == f"[{expected}]", done.stderr


BAD_ARGUMENTS = [
    (["match", POOL, "--caliper", "nan", "-o", "{tmp}/m.csv"], "--caliper: 'nan' is not a finite number"),
    (["match", POOL, "--caliper", "-1", "-o", "{tmp}/m.csv"], "--caliper: '-1' must be above 0"),
    (["match", POOL, "--caliper", "0", "-o", "{tmp}/m.csv"], "--caliper: '0' must be above 0"),
    (["match", POOL, "--caliper", "inf", "-o", "{tmp}/m.csv"], "--caliper: 'inf' is not a finite number"),
    (["match", POOL, "--seed", "-1", "-o", "{tmp}/m.csv"], "--seed: '-1' must be from 0 to 4294967295"),
    (["match", POOL, "--seed", "1.5", "-o", "{tmp}/m.csv"], "--seed: '1.5' is not a whole number"),
    (["analyze", COHORT, "--seed", "-1", "--json", "{tmp}/a.json"], "--seed: '-1' must be from 0"),
    (
        ["analyze", COHORT, "--bootstrap", "-5", "--json", "{tmp}/a.json"],
        "--bootstrap: '-5' must be 0 or more",
    ),
    (["train", COHORT, "--seed", "-1", "-o", "{tmp}/m.json"], "--seed: '-1' must be from 0"),
    (["train", COHORT, "--bootstrap", "-1", "-o", "{tmp}/m.json"], "--bootstrap: '-1' must be 0 or more"),
    (
        ["predict", "--vbq", "3", "--hu", "90", "--prevalence", "0"],
        "--prevalence: '0' must be strictly between",
    ),
    (
        ["predict", "--vbq", "3", "--hu", "90", "--prevalence", "1"],
        "--prevalence: '1' must be strictly between",
    ),
    (["predict", "--vbq", "3", "--hu", "90", "--prevalence", "10"], "give a fraction: 0.10 for 10%"),
    (["predict", "--vbq", "3", "--hu", "90", "--prevalence", "-0.1"], "must be strictly between 0 and 1"),
    (["predict", "--vbq", "3", "--hu", "90", "--prevalence", "nan"], "'nan' is not a finite number"),
    (["predict", "--vbq", "3", "--hu", "90", "--prevalence", "ten"], "'ten' is not a number"),
    (["dashboard", "--port", "0"], "--port: '0' must be from 1 to 65535"),
    # outputs: standard output where a file is needed, a folder, a missing folder
    (["train", COHORT, "-o", "-"], "cannot write this output to standard output ('-')"),
    (["match", POOL, "-o", "-"], "cannot write this output to standard output ('-')"),
    (["indicators", RAW, "-o", "-"], "cannot write this output to standard output ('-')"),
    (["analyze", COHORT, "--report", "-"], "cannot write this output to standard output ('-')"),
    (["train", COHORT, "-o", "{tmp}"], "is a folder; give a file name inside it"),
    (["analyze", COHORT, "--json", "{tmp}"], "is a folder; give a file name inside it"),
    (["icc", RAW, *RATINGS, "--json", "{tmp}"], "is a folder; give a file name inside it"),
    (["measure", COHORT, "--roi", COHORT, "--json", "{tmp}"], "is a folder; give a file name inside it"),
    (["indicators", RAW, "-o", "{tmp}/absent/c.csv"], "absent does not exist"),
    (["match", POOL, "-o", "{tmp}/absent/m.csv"], "absent does not exist"),
    (["predict", "--vbq", "3", "--hu", "90", "--json", "{tmp}/absent/p.json"], "absent does not exist"),
]


@pytest.mark.parametrize(
    ("argv", "expected"), BAD_ARGUMENTS, ids=lambda v: " ".join(v) if isinstance(v, list) else ""
)
def test_bad_argument_is_refused_in_the_last_line_before_any_work(argv, expected, tmp_path, capsys):
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = _run(argv, capsys)
    assert code == 2
    assert len(err.strip().splitlines()) == 1, "one line, no usage block"
    last = err.strip().splitlines()[-1]
    assert "error" in last and expected in last, err
    assert out == ""
    assert list(tmp_path.iterdir()) == [], "nothing is written when an argument is refused"


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (
            ["analyze", COHORT, "--adjust", "age,weight"],
            "--adjust names a column the table does not have: 'weight'",
        ),
        (["analyze", COHORT, "--markers", "vbq,foo"], "missing marker column 'foo'"),
        (
            ["train", COHORT, "--features", "vbq,foo", "-o", "{tmp}/m.json"],
            "'foo' is not an indicator",
        ),
        (
            ["train", COHORT, "--adjust", "age,weight", "-o", "{tmp}/m.json"],
            "'weight' cannot be adjusted for",
        ),
        (["icc", RAW, "--subject", "patient_id", "--rater", "rater", "--value", "foo"], "no column 'foo'"),
        (["match", POOL, "--age", "years", "-o", "{tmp}/m.csv"], "no column 'years'"),
        (
            ["train", "{tmp}/no_t.csv", "--features", "vbq,t_score", "-o", "{tmp}/m.json"],
            "no column 't_score'",
        ),
    ],
)
def test_a_column_that_does_not_exist_is_an_error_not_a_fit_without_it(argv, expected, tmp_path, capsys):
    no_t = tmp_path / "no_t.csv"
    lines = Path(COHORT).read_text(encoding="utf-8").splitlines()
    t = lines[0].split(",").index("t_score")
    no_t.write_text(
        "\n".join(",".join(v for i, v in enumerate(x.split(",")) if i != t) for x in lines) + "\n"
    )
    argv = [a.replace("{tmp}", str(tmp_path)) for a in argv]
    code, out, err = _run(argv, capsys)
    assert code == 2
    assert expected in err.strip().splitlines()[-1], err
    assert out == ""
    assert list(tmp_path.iterdir()) == [no_t], "nothing is written"


def test_adjusting_for_a_column_present_but_empty_is_an_error(tmp_path, capsys):
    cohort = tmp_path / "c.csv"
    text = Path(COHORT).read_text(encoding="utf-8").splitlines()
    header = text[0].split(",")
    bmi = header.index("bmi")
    rows = [",".join("" if i == bmi else v for i, v in enumerate(line.split(","))) for line in text[1:]]
    cohort.write_text("\n".join([text[0], *rows]) + "\n", encoding="utf-8")
    code, _, err = _run(["analyze", str(cohort), "--adjust", "age,bmi", "--json", "-"], capsys)
    assert code == 2
    assert "column 'bmi'" in err.strip().splitlines()[-1]


def test_default_adjustment_uses_only_the_covariates_the_table_has(tmp_path, capsys):
    cohort = tmp_path / "c.csv"
    lines = Path(COHORT).read_text(encoding="utf-8").splitlines()
    bmi = lines[0].split(",").index("bmi")
    cohort.write_text(
        "\n".join(",".join(v for i, v in enumerate(line.split(",")) if i != bmi) for line in lines) + "\n",
        encoding="utf-8",
    )
    code, out, err = _run(["analyze", str(cohort), "--markers", "vbq", "--json", "-"], capsys)
    assert code == 0, err
    assert json.loads(out)["markers"]["vbq"]["or_per_unit"] > 1


def test_a_full_disk_is_one_clear_error_line_for_json_output(capsys):
    code, _, err = _run(
        [
            "predict",
            "--vbq",
            "3.4",
            "--hu",
            "95",
            "--age",
            "70",
            "--sex",
            "F",
            "--bmi",
            "24",
            "--json",
            "/dev/full",
        ],
        capsys,
    )
    assert code == 2
    assert (
        err.strip().splitlines()[-1] == "ovcf predict: error: cannot write /dev/full: No space left on device"
    )


def test_a_full_disk_is_one_clear_error_line_for_table_and_model_output(tmp_path, capsys):
    code, _, err = _run(["train", COHORT, "--bootstrap", "0", "-o", "/dev/full", "--quiet"], capsys)
    assert code == 2
    assert (
        err.strip().splitlines()[-1] == "ovcf train: error: cannot write /dev/full: No space left on device"
    )


def test_a_failed_write_leaves_the_earlier_file_untouched(tmp_path, capsys, monkeypatch):
    target = tmp_path / "model.json"
    target.write_text("the earlier model\n", encoding="utf-8")
    import os

    def refuse(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", refuse)
    code, _, err = _run(["train", COHORT, "--bootstrap", "0", "-o", str(target), "--quiet"], capsys)
    assert code == 2
    assert "No space left on device" in err.strip().splitlines()[-1]
    assert target.read_text(encoding="utf-8") == "the earlier model\n"
    assert [p.name for p in tmp_path.iterdir()] == ["model.json"], "no temporary file is left behind"


def test_many_table_warnings_are_summarised_and_the_error_is_the_last_line(tmp_path, capsys):
    rows = ["patient_id,ovcf,age,sex,bmi,vbq,hu,pair_id"]
    rows += [f"p{i},1,{60 + i % 20},F,23,3.{i % 10},9{i % 10},{i}" for i in range(40)]
    cohort = tmp_path / "cases_only.csv"
    cohort.write_text("\n".join(rows) + "\n", encoding="utf-8")
    code, _, err = _run(["analyze", str(cohort), "--pair", "pair_id", "--json", "-"], capsys)
    lines = err.strip().splitlines()
    assert code == 2
    assert lines[-1] == "ovcf analyze: error: the cohort has 40 cases and 0 controls: both groups are needed"
    assert lines[0] == "cases_only.csv: 40 problem(s) in the table; the first 5:"
    assert "cases_only.csv: ... and 35 more problem(s)" in err
    assert len(lines) <= 9


def test_python_warnings_are_counted_not_repeated(capsys, monkeypatch):
    import warnings

    from ovcf_core.cli import predict_cmd

    real = predict_cmd.run

    def noisy(args):
        for _ in range(50):
            warnings.warn("overflow encountered in exp", RuntimeWarning, stacklevel=1)
        return real(args)

    monkeypatch.setattr(predict_cmd, "run", noisy)
    code, _, err = _run(
        ["predict", "--vbq", "3.4", "--hu", "95", "--age", "70", "--sex", "F", "--bmi", "24", "--json", "-"],
        capsys,
    )
    assert code == 0
    assert err.splitlines() == [
        "ovcf predict: 50 warning(s) from the computation; the first:",
        "ovcf predict:   RuntimeWarning: overflow encountered in exp",
    ]


def test_train_bootstrap_between_1_and_199_is_refused_before_reading(capsys, tmp_path):
    code, _, err = _run(["train", str(tmp_path / "absent.csv"), "--bootstrap", "50", "-o", "m.json"], capsys)
    assert code == 2
    assert "--bootstrap: '50' must be 0 (skip) or at least 200" in err


def test_train_adjust_none_means_no_covariates(capsys, tmp_path):
    code, out, err = _run(
        ["train", COHORT, "--adjust", "none", "--bootstrap", "0", "-o", str(tmp_path / "m.json"),
         "--json", "-", "--quiet"],
        capsys,
    )  # fmt: skip
    assert code == 0, err
    assert json.loads(out)["terms"] == ["const", "vbq", "hu"]


def test_conditional_without_pair_is_refused_before_reading(capsys, tmp_path):
    code, _, err = _run(["analyze", str(tmp_path / "absent.csv"), "--conditional"], capsys)
    assert code == 2
    assert err.strip().endswith(
        "--conditional needs --pair COL (the column pairing each case with its control)"
    )


def test_an_icc_error_names_the_file_row_and_column(capsys, tmp_path):
    ratings = tmp_path / "ratings.csv"
    ratings.write_text("patient_id,rater,hu\np1,A,100\np1,B,inf\np2,A,90\np2,B,91\np3,A,80\np3,B,82\n")
    code, _, err = _run(
        ["icc", str(ratings), "--subject", "patient_id", "--rater", "rater", "--value", "hu"], capsys
    )
    assert code == 2
    assert err.strip().splitlines()[-1] == (
        "ovcf icc: error: ratings.csv, row 3, column 'hu': "
        "the rating is infinite (e.g. 'inf' or 1e400): correct it"
    )


def test_a_replaced_output_keeps_its_permissions_and_its_symlink(tmp_path):
    import os
    import stat

    from ovcf_core.output import write_text

    real = tmp_path / "real.json"
    real.write_text("old\n")
    os.chmod(real, 0o644)
    link = tmp_path / "link.json"
    link.symlink_to(real)
    write_text(link, "new\n")
    assert link.is_symlink() and real.read_text() == "new\n"
    assert stat.S_IMODE(real.stat().st_mode) == 0o644
    fresh = tmp_path / "fresh.json"
    write_text(fresh, "x\n")
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(fresh.stat().st_mode) == 0o666 & ~umask
    assert sorted(p.name for p in tmp_path.iterdir()) == ["fresh.json", "link.json", "real.json"]
