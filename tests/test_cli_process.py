"""The `ovcf` process (`cli.console`): it ends without the interpreter's teardown, and loses nothing by it.

Each test runs a real process, as a user's shell does, and checks what a teardown would have done for it:
output flushed, exit codes kept, exit handlers run, threads joined, tracebacks printed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

from ovcf_core import paths
from ovcf_core.cli import main
from tests.conftest import ROOT, run_cli

CT = paths.SAMPLE_DICOM / "ct_axial"


def _console_with(main_body: str) -> subprocess.CompletedProcess[str]:
    """Run `cli.console` in a process whose `main` is replaced by `main_body` (a function body)."""
    body = "\n".join("    " + line for line in main_body.strip().splitlines())
    code = f"import atexit, sys, threading, time\nfrom ovcf_core import cli\ndef fake(argv=None):\n{body}\n"
    code += "cli.main = fake\ncli.console()\n"
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, timeout=120)


def test_stdout_json_through_a_pipe_is_whole_and_the_same_as_in_process(capsys):
    cohort = str(paths.SAMPLE_COHORT)
    assert main(["analyze", cohort, "--json", "-"]) == 0
    in_process = json.loads(capsys.readouterr().out)
    done = run_cli("analyze", cohort, "--json", "-")
    assert done.returncode == 0, done.stderr
    assert len(done.stdout) > 10_000  # more than one buffer's worth, all of it flushed
    assert json.loads(done.stdout) == in_process


def test_an_output_file_is_complete_when_the_process_has_ended(tmp_path):
    out = tmp_path / "measure.json"
    done = run_cli("measure", str(CT / "series"), "--roi", str(CT / "rois.json"), "--json", str(out))
    assert done.returncode == 0, done.stderr
    result = json.loads(out.read_text())
    assert set(result["rois"]) == {roi["label"] for roi in json.loads((CT / "rois.json").read_text())["rois"]}


def test_a_user_error_keeps_exit_code_2_and_its_one_line(tmp_path):
    done = run_cli("measure", str(CT / "series"), "--roi", str(tmp_path / "missing.json"))
    assert done.returncode == 2
    assert done.stderr.strip().splitlines()[-1].startswith("ovcf measure: error:")
    assert "missing.json" in done.stderr


def test_the_command_exit_code_is_the_process_exit_code():
    done = _console_with("print('ran', flush=False)\nreturn 7")
    assert (done.returncode, done.stdout) == (7, "ran\n")


def test_exit_handlers_a_command_registers_still_run_and_threads_are_joined():
    done = _console_with(
        """
atexit.register(lambda: print("exit handler ran"))
threading.Thread(target=lambda: (time.sleep(0.3), print("thread finished"))).start()
print("main returned")
return 0
"""
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["main returned", "thread finished", "exit handler ran"]


def test_an_exception_out_of_main_ends_the_usual_way_with_its_traceback():
    done = _console_with("raise RuntimeError('boom')")
    assert done.returncode == 1
    assert "Traceback" in done.stderr
    assert "RuntimeError: boom" in done.stderr


def test_a_process_started_with_stdout_closed_still_ends_quietly_with_its_output_file(tmp_path):
    out = tmp_path / "measure.json"
    argv = ["measure", str(CT / "series"), "--roi", str(CT / "rois.json"), "--json", str(out)]
    done = subprocess.run(
        [sys.executable, "-m", "ovcf_core.cli", *argv], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        text=True, cwd=ROOT, timeout=120, close_fds=True,
        preexec_fn=lambda: os.close(1),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert json.loads(out.read_text())["modality"] == "CT"
