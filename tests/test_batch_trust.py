"""`ovcf batch` never loses or duplicates a row: kill -9, torn lines, two runs at once, full disks.

Every test gives the exact input and the expected outcome: the rows of a clean single run, nothing lost,
nothing twice, and one clear line when the output cannot be written.
"""

from __future__ import annotations

import csv
import io
import os
import shutil
import signal
import socket
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from ovcf_core import batch
from ovcf_core.batch import (
    COLUMNS,
    BatchLocked,
    BatchWriteError,
    OutputLock,
    Study,
    find_studies,
    run_batch,
)
from ovcf_core.errors import InputError
from tests import studies
from tests.conftest import ROOT, run_cli


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _key(row: dict) -> tuple:
    return tuple(row[c] for c in COLUMNS)


def _complete_lines(data: bytes) -> list[bytes]:
    """The lines of studies complete in `data` (all their `study_rows` rows there, each with its newline)."""
    lines = data.split(b"\n")[:-1]  # drop whatever follows the last newline
    parsed = [(line, next(csv.reader([line.decode("utf-8", "replace").rstrip("\r")]))) for line in lines[1:]]
    counts: dict[str, int] = {}
    for _, cells in parsed:
        counts[cells[0]] = counts.get(cells[0], 0) + 1
    return [
        line for line, cells in parsed if len(cells) == len(COLUMNS) and counts[cells[0]] == int(cells[-1])
    ]


def _dead_pid() -> int:
    """The pid of a process that has ended (a reaped child)."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _chattr(path: Path, flag: str) -> bool:
    """Set or clear the immutable flag (root ignores permissions; +i stops root too). False if unsupported."""
    if shutil.which("chattr") is None:
        return False
    result = subprocess.run(["chattr", flag, str(path)], capture_output=True)
    return result.returncode == 0


def _export(tmp_path_factory, method: str, n: int, n_jobs: int) -> tuple[Path, Path, list[dict]]:
    """`n` studies with ROI files or masks (`method`), and the rows of one clean batch over them."""
    root = tmp_path_factory.mktemp(f"{method}_export")
    studies_dir, inputs = studies.write_export(root, n, method=method)
    reference = root / "reference.csv"
    found = find_studies(studies_dir, **{"roi_dir" if method == "roi" else "mask_dir": inputs})
    summary = run_batch(found, reference, n_jobs=n_jobs)
    assert summary.ok and summary.measured == n
    return studies_dir, inputs, _rows(reference)


@pytest.fixture(scope="module")
def roi_export(tmp_path_factory) -> tuple[Path, Path, list[dict]]:
    """Six studies with ROI files, and the rows of one clean batch over them."""
    return _export(tmp_path_factory, "roi", 6, n_jobs=1)


@pytest.fixture(scope="module")
def mask_export(tmp_path_factory) -> tuple[Path, Path, list[dict]]:
    """Forty studies with TotalSegmentator-style masks (about 60 ms each), and a clean batch's rows."""
    return _export(tmp_path_factory, "masks", 40, n_jobs=2)


def _batch(studies_dir: Path, rois: Path, out: Path, **kwargs) -> tuple[batch.BatchSummary, list[str]]:
    notes: list[str] = []
    summary = run_batch(find_studies(studies_dir, roi_dir=rois), out, n_jobs=1, notify=notes.append, **kwargs)
    return summary, notes


# ------------------------------------------------------------------------------------------- 1. kill -9


def _cli_env() -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OVCF_DEBUG", None)
    return env


def test_kill_9_at_any_moment_keeps_every_finished_row_and_the_rerun_gives_a_clean_runs_rows(
    mask_export, tmp_path
):
    studies_dir, masks, reference = mask_export
    out = tmp_path / "hu.csv"
    command = [sys.executable, "-m", "ovcf_core.cli", "batch", str(studies_dir), "--mask-dir", str(masks)]
    command += ["-o", str(out), "--jobs", "1", "--quiet"]
    kept: list[bytes] = []
    for threshold in (3, 11, 23):  # kill once at least this many studies' rows are in the file
        process = subprocess.Popen(command, env=_cli_env(), stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and process.poll() is None:
            if out.exists() and out.read_bytes().count(b"\n") >= 1 + 4 * threshold:
                break
            time.sleep(0.005)
        process.send_signal(signal.SIGKILL)
        _, stderr = process.communicate(timeout=60)
        assert process.returncode == -signal.SIGKILL, f"finished before the kill: {stderr}"
        data = out.read_bytes()
        complete = _complete_lines(data)
        assert set(kept) <= set(complete), "a row complete before an earlier kill was lost"
        assert len(complete) >= 4 * threshold
        kept = complete
        lock = Path(f"{out}.lock")
        assert lock.read_text().split()[0] == str(process.pid), "the killed batch's lock stays behind"
    result = subprocess.run(command, env=_cli_env(), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr
    assert f"took over the stale lock {out}.lock (pid {process.pid} is no longer running)" in result.stderr
    final = out.read_bytes()
    assert set(kept) <= set(final.split(b"\n")), "every row complete at the last kill is still there"
    rows = _rows(out)
    assert len(rows) == len(reference) == 160, "nothing lost, nothing twice"
    assert sorted(map(_key, rows)) == sorted(map(_key, reference))
    assert not Path(f"{out}.lock").exists(), "the lock is removed when the batch ends"
    assert not list(tmp_path.glob(".hu.csv.*.part")), "no temporary file left behind"


def test_a_torn_last_line_is_cut_off_and_its_study_measured_again(roi_export, tmp_path):
    studies_dir, rois, reference = roi_export
    out = tmp_path / "hu.csv"
    _batch(studies_dir, rois, out)
    whole = out.read_bytes()
    out.write_bytes(whole[:-9])  # the last row of study0005 loses its end: "...,24,4\r\n" -> "...,2"
    summary, notes = _batch(studies_dir, rois, out)
    assert (summary.measured, summary.skipped) == (1, 5), "study0005 is measured again, never counted done"
    assert any("removed an incomplete last line" in n for n in notes), notes
    assert any("incomplete rows of 1 study(ies) (study0005)" in n for n in notes), notes
    assert out.read_bytes().startswith(whole[: whole.index(b"study0005")]), "complete rows untouched"
    assert sorted(map(_key, _rows(out))) == sorted(map(_key, reference))


def test_a_study_with_only_some_of_its_rows_is_measured_again(roi_export, tmp_path):
    studies_dir, rois, reference = roi_export
    out = tmp_path / "hu.csv"
    _batch(studies_dir, rois, out)
    lines = out.read_bytes().split(b"\n")
    assert lines[-1] == b"" and lines[-2].endswith(b",4\r")
    out.write_bytes(b"\n".join(lines[:-3]) + b"\n")  # study0005: 2 of its 4 rows, each line complete
    summary, notes = _batch(studies_dir, rois, out)
    assert (summary.measured, summary.skipped) == (1, 5)
    assert notes == [f"{out}: removed the incomplete rows of 1 study(ies) (study0005); measured again"]
    rows = _rows(out)
    assert len(rows) == 24 and sorted(map(_key, rows)) == sorted(map(_key, reference))


def test_a_header_cut_short_counts_as_an_empty_file(roi_export, tmp_path):
    studies_dir, rois, reference = roi_export
    out = tmp_path / "hu.csv"
    out.write_bytes(b"study,status,mes")
    summary, notes = _batch(studies_dir, rois, out)
    assert summary.measured == 6 and notes == [f"{out}: removed an incomplete header line"]
    assert sorted(map(_key, _rows(out))) == sorted(map(_key, reference))


def test_a_rerun_appends_and_a_repair_replaces_the_file_never_rewriting_it_in_place(roi_export, tmp_path):
    studies_dir, rois, _ = roi_export
    out = tmp_path / "hu.csv"
    _batch(studies_dir, rois, out)
    whole = out.read_bytes()
    inode = out.stat().st_ino
    second, notes = _batch(studies_dir, rois, out)
    assert (second.measured, second.skipped, notes) == (0, 6, [])
    assert out.read_bytes() == whole and out.stat().st_ino == inode, "nothing to repair: not touched"
    out.chmod(0o640)
    with out.open("ab") as handle:
        handle.write(b"study0000,ok,,roi,L")  # a torn line
    _batch(studies_dir, rois, out)
    assert out.stat().st_ino != inode, "repaired through a new file moved over it (os.replace)"
    assert oct(out.stat().st_mode & 0o777) == "0o640", "the repaired file keeps its permissions"
    assert out.read_bytes() == whole


def test_an_error_row_of_an_earlier_run_is_retried_and_only_its_row_goes(roi_export, tmp_path):
    studies_dir, rois, reference = roi_export
    out = tmp_path / "hu.csv"
    missing = tmp_path / "rois"
    shutil.copytree(rois, missing)
    (missing / "study0002.json").unlink()
    first, _ = _batch(studies_dir, missing, out)
    assert [s for s, _ in first.failed] == ["study0002"]
    before = [line for line in out.read_bytes().split(b"\n") if b"study0002" not in line]
    second, _ = _batch(studies_dir, rois, out)
    assert (second.measured, second.skipped, second.failed) == (1, 5, ())
    after = out.read_bytes().split(b"\n")
    assert after[: len(before) - 1] == before[:-1], "the other rows are kept byte for byte, in order"
    assert sorted(map(_key, _rows(out))) == sorted(map(_key, reference))


def test_an_output_of_the_earlier_format_is_upgraded_with_study_rows(roi_export, tmp_path):
    studies_dir, rois, reference = roi_export
    out = tmp_path / "hu.csv"
    legacy = [
        {k: v for k, v in r.items() if k in batch.LEGACY_COLUMNS}
        for r in reference
        if r["study"] < "study0003"
    ]
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=batch.LEGACY_COLUMNS)
        writer.writeheader()
        writer.writerows(legacy)
        handle.write("study0003,ok,,roi,L1,CT,H")  # torn
    summary, notes = _batch(studies_dir, rois, out)
    assert (summary.measured, summary.skipped) == (4, 2), "the file's last study may be short: measured again"
    assert any("added the study_rows column" in n for n in notes)
    assert any("incomplete rows of 1 study(ies) (study0002)" in n for n in notes), notes
    upgraded = {"study0000", "study0001"}  # kept from the old file: no protocol or FI cells to fill
    blank = {c: "" for c in COLUMNS[13:-1]}
    expected = [{**r, **blank} if r["study"] in upgraded else r for r in reference]
    assert sorted(map(_key, _rows(out))) == sorted(map(_key, expected))


def test_an_output_written_before_the_protocol_columns_is_upgraded(roi_export, tmp_path):
    studies_dir, rois, reference = roi_export
    out = tmp_path / "hu.csv"
    with out.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=batch.STUDY_ROWS_COLUMNS, lineterminator="\r\n")
        writer.writeheader()
        writer.writerows(
            {k: v for k, v in r.items() if k in batch.STUDY_ROWS_COLUMNS}
            for r in reference
            if r["study"] < "study0002"
        )
    summary, notes = _batch(studies_dir, rois, out)
    assert (summary.measured, summary.skipped) == (4, 2)
    assert any("added the protocol and fi_percent columns" in n for n in notes), notes
    assert not any("study_rows" in n for n in notes)
    blank = {c: "" for c in COLUMNS[13:-1]}
    expected = [{**r, **blank} if r["study"] < "study0002" else r for r in reference]
    assert sorted(map(_key, _rows(out))) == sorted(map(_key, expected))
    assert out.read_bytes().startswith(batch.HEADER)


# ------------------------------------------------------------------------------------ 2. one writer


def test_a_second_batch_on_a_held_output_refuses_naming_the_lock_file_and_the_pid(roi_export, tmp_path):
    studies_dir, rois, _ = roi_export
    out = tmp_path / "hu.csv"
    with OutputLock(out):  # this test process holds it, as a running batch would
        result = run_cli("batch", studies_dir, "--roi-dir", rois, "-o", out)
    assert result.returncode == 2
    assert result.stderr.strip().splitlines()[-1] == (
        f"ovcf batch: error: {out}.lock: another ovcf batch (pid {os.getpid()}) is writing {out}; "
        f"wait for it to finish, or delete {out}.lock if no batch is running"
    )
    assert not out.exists() and not Path(f"{out}.lock").exists()


def test_a_lock_file_naming_a_live_process_is_respected_even_without_flock(roi_export, tmp_path):
    studies_dir, rois, _ = roi_export
    out = tmp_path / "hu.csv"
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        Path(f"{out}.lock").write_text(f"{sleeper.pid} {socket.gethostname()}\n")
        with pytest.raises(BatchLocked, match=rf"hu\.csv\.lock: another ovcf batch \(pid {sleeper.pid}\)"):
            _batch(studies_dir, rois, out)
        Path(f"{out}.lock").write_text(f"{os.getpid()} {socket.gethostname()}\n")
        result = run_cli("batch", studies_dir, "--roi-dir", rois, "-o", out)
        assert result.returncode == 2 and f"(pid {os.getpid()}) is writing" in result.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
    assert not out.exists(), "nothing was written while the lock was held"


def test_a_stale_lock_whose_process_is_gone_is_taken_over_and_said_so(roi_export, tmp_path):
    studies_dir, rois, reference = roi_export
    out = tmp_path / "hu.csv"
    pid = _dead_pid()
    Path(f"{out}.lock").write_text(f"{pid} {socket.gethostname()}\n")
    result = run_cli("batch", studies_dir, "--roi-dir", rois, "-o", out)
    assert result.returncode == 0, result.stderr
    assert (
        f"ovcf batch: took over the stale lock {out}.lock (pid {pid} is no longer running)" in result.stderr
    )
    assert sorted(map(_key, _rows(out))) == sorted(map(_key, reference))
    assert not Path(f"{out}.lock").exists()


def test_a_lock_from_another_host_is_not_taken_over(roi_export, tmp_path):
    studies_dir, rois, _ = roi_export
    out = tmp_path / "hu.csv"
    Path(f"{out}.lock").write_text(f"{_dead_pid()} some-other-host\n")
    with pytest.raises(BatchLocked, match=r"on some-other-host\) is writing"):
        _batch(studies_dir, rois, out)


def test_two_batches_started_together_never_duplicate_a_row(mask_export, tmp_path):
    studies_dir, masks, reference = mask_export
    out = tmp_path / "hu.csv"
    command = [sys.executable, "-m", "ovcf_core.cli", "batch", str(studies_dir), "--mask-dir", str(masks)]
    command += ["-o", str(out), "--jobs", "1", "--quiet"]
    runs = [subprocess.Popen(command, env=_cli_env(), stderr=subprocess.PIPE, text=True) for _ in range(2)]
    results = [(p.wait(timeout=300), p.stderr.read()) for p in runs]
    codes = sorted(code for code, _ in results)
    assert codes in ([0, 0], [0, 2]), results
    if codes == [0, 2]:
        refused = next(err for code, err in results if code == 2)
        assert f"{out}.lock: another ovcf batch (pid " in refused
    rows = _rows(out)
    assert len(rows) == 160 and sorted(map(_key, rows)) == sorted(map(_key, reference))


# ------------------------------------------------------------------------------ 3. folder vs zip


def _zip_folder(folder: Path, target: Path) -> None:
    with zipfile.ZipFile(target, "w") as archive:
        for path in sorted(folder.iterdir()):
            archive.write(path, path.name)


def test_a_folder_and_a_zip_of_the_same_name_are_two_studies_with_their_own_roi_files(tmp_path):
    folder_hu = {"L1": 150, "L2": 140, "L3": 130, "L4": 120}
    zip_hu = {"L1": 95, "L2": 90, "L3": 85, "L4": 80}
    export = tmp_path / "studies"
    studies.write_study(export / "A", folder_hu, seed=1)
    studies.write_study(tmp_path / "zipped", zip_hu, seed=2)
    _zip_folder(tmp_path / "zipped", export / "A.zip")
    studies.write_study(tmp_path / "zipped_b", zip_hu, seed=3)
    _zip_folder(tmp_path / "zipped_b", export / "B.zip")
    rois = tmp_path / "rois"
    for name in ("A", "A.zip", "B"):  # B.zip has no B/ beside it: its short name B.json is its ROI file
        studies.write_rois(rois / f"{name}.json")
    found = {s.name: s for s in find_studies(export, roi_dir=rois)}
    assert {k: v.roi.name for k, v in found.items()} == {
        "A": "A.json",
        "A.zip": "A.zip.json",
        "B.zip": "B.json",
    }
    out = tmp_path / "hu.csv"
    summary = run_batch(list(found.values()), out)
    assert summary.ok and summary.measured == 3
    means = {(r["study"], r["label"]): float(r["mean"]) for r in _rows(out)}
    assert {k: means[("A", k)] for k in folder_hu} == folder_hu
    assert {k: means[("A.zip", k)] for k in zip_hu} == zip_hu
    (rois / "A.zip.json").unlink()
    found = {s.name: s for s in find_studies(export, roi_dir=rois)}
    assert found["A.zip"].roi is None, "A.json belongs to the folder A, never to A.zip"


def test_two_studies_with_one_id_are_refused(tmp_path):
    with pytest.raises(InputError, match="two studies have the id 'A'"):
        run_batch([Study("A", tmp_path / "A"), Study("A", tmp_path / "A.zip")], tmp_path / "out.csv")
    assert not (tmp_path / "out.csv").exists()


def test_a_study_name_with_a_newline_is_refused_naming_it(tmp_path):
    (tmp_path / "studies" / "bad\nname").mkdir(parents=True)
    (tmp_path / "rois").mkdir()
    with pytest.raises(InputError, match=r"'bad\\nname': has control characters"):
        find_studies(tmp_path / "studies", roi_dir=tmp_path / "rois")


def test_study_ids_starting_with_a_quote_or_formula_survive_a_rerun(tmp_path):
    out = tmp_path / "out.csv"
    names = ["'quoted", "=formula", "-minus", "plain"]
    first = run_batch([Study(n, tmp_path / "missing", masks=tmp_path) for n in names], out)
    assert len(first.failed) == 4
    assert batch.done_studies(out) == set(), "error rows are never done"
    text = out.read_text()
    assert "\n''quoted," in text and "\n'=formula," in text and "\n'-minus," in text
    assert {batch._unescape(r["study"]) for r in _rows(out)} == set(names)


# ------------------------------------------------------------------------------- 4. bad outputs


def _last_line(stderr: str) -> str:
    return stderr.strip().splitlines()[-1]


def test_dev_full_is_a_failure_with_one_line_and_never_their_rows_are_in(roi_export):
    studies_dir, rois, _ = roi_export
    result = run_cli("batch", studies_dir, "--roi-dir", rois, "-o", "/dev/full", "--jobs", "1")
    assert result.returncode == 2
    assert _last_line(result.stderr) == "ovcf batch: error: cannot write /dev/full: No space left on device"
    assert "rows are in" not in result.stderr and "Traceback" not in result.stderr
    assert not Path("/dev/full.lock").exists(), "a device is never locked"


@pytest.mark.parametrize(
    ("output", "expected"),
    [
        ("{tmp}", "argument -o/--output: {tmp} is a folder; give a file name inside it"),
        ("{tmp}/missing/out.csv", "argument -o/--output: the folder {tmp}/missing does not exist"),
        ("-", "argument -o/--output: cannot write this output to standard output ('-'); give a file name"),
    ],
)
def test_outputs_that_cannot_be_written_are_refused_before_any_work(roi_export, tmp_path, output, expected):
    studies_dir, rois, _ = roi_export
    result = run_cli("batch", studies_dir, "--roi-dir", rois, "-o", output.format(tmp=tmp_path))
    assert result.returncode == 2
    assert expected.format(tmp=tmp_path) in _last_line(result.stderr)
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--erode-mm", "nan", "argument --erode-mm: 'nan' is not a finite number"),
        ("--erode-mm", "-1", "argument --erode-mm: '-1' must be 0 or more"),
        ("--erode-mm", "inf", "argument --erode-mm: 'inf' is not a finite number"),
        ("--jobs", "0", "argument --jobs: '0' must be 1 or more workers, or -1 for all cores"),
        ("--jobs", "-2", "argument --jobs: '-2' must be 1 or more workers, or -1 for all cores"),
        ("--json", "{tmp}/nowhere/s.json", "argument --json: the folder {tmp}/nowhere does not exist"),
    ],
)
def test_bad_numbers_and_json_paths_are_refused_by_argparse(roi_export, tmp_path, option, value, expected):
    studies_dir, rois, _ = roi_export
    out = tmp_path / "out.csv"
    result = run_cli("batch", studies_dir, "--roi-dir", rois, "-o", out, option, value.format(tmp=tmp_path))
    assert result.returncode == 2 and expected.format(tmp=tmp_path) in _last_line(result.stderr)
    assert not out.exists(), "refused before any work"


def test_no_erosion_and_one_worker_are_accepted(roi_export, tmp_path):
    studies_dir, rois, _ = roi_export
    from ovcf_core.cli import build_parser

    args = build_parser().parse_args(
        ["batch", str(studies_dir), "--roi-dir", str(rois), "-o", str(tmp_path / "o.csv"), "--erode-mm", "0"]
    )
    assert args.erode_mm == 0.0 and args.jobs == -1
    with pytest.raises(InputError, match="erosion must be a finite number"):
        run_batch([], tmp_path / "o.csv", erode_mm=float("nan"))


def test_a_read_only_folder_is_one_line_naming_the_lock_file(roi_export, tmp_path):
    studies_dir, rois, _ = roi_export
    folder = tmp_path / "results"
    folder.mkdir()
    out = folder / "hu.csv"
    assert run_cli("batch", studies_dir, "--roi-dir", rois, "-o", out).returncode == 0
    whole = out.read_bytes()
    if not _chattr(folder, "+i"):
        pytest.skip("chattr +i is not available here")
    try:
        result = run_cli("batch", studies_dir, "--roi-dir", rois, "-o", out)
        fresh = run_cli("batch", studies_dir, "--roi-dir", rois, "-o", folder / "new.csv")
    finally:
        _chattr(folder, "-i")
    assert result.returncode == 2 and "Traceback" not in result.stderr
    assert _last_line(result.stderr) == (
        f"ovcf batch: error: cannot create the lock file {folder}/hu.csv.lock: Operation not permitted"
    )
    assert fresh.returncode == 2 and f"argument -o/--output: cannot create files in the folder {folder}" in (
        _last_line(fresh.stderr)
    )
    assert out.read_bytes() == whole


def test_a_read_only_output_file_is_refused_before_any_work(roi_export, tmp_path):
    studies_dir, rois, _ = roi_export
    out = tmp_path / "hu.csv"
    out.write_bytes(batch.HEADER)
    if not _chattr(out, "+i"):
        pytest.skip("chattr +i is not available here")
    try:
        result = run_cli("batch", studies_dir, "--roi-dir", rois, "-o", out)
    finally:
        _chattr(out, "-i")
    assert result.returncode == 2
    assert f"argument -o/--output: {out} is not writable" in _last_line(result.stderr)
    assert out.read_bytes() == batch.HEADER


# ------------------------------------------------------------------------ 5. failure mid-run


def _fill_disk_at(monkeypatch, call: int) -> None:
    """The `call`-th write to the output (1 = the header) writes half its bytes, then the disk is full."""
    real = batch._Appender._write
    calls = {"n": 0}

    def filling(self, data):
        calls["n"] += 1
        if calls["n"] == call:
            real(self, data[: len(data) // 2 + 5])
            raise OSError(28, "No space left on device")
        real(self, data)

    monkeypatch.setattr(batch._Appender, "_write", filling)


def test_a_disk_full_mid_run_keeps_the_rows_written_and_names_the_study_not_written(
    roi_export, tmp_path, monkeypatch
):
    studies_dir, rois, reference = roi_export
    out = tmp_path / "hu.csv"
    _fill_disk_at(monkeypatch, 4)  # the header, study0000, study0001, then study0002 fails half-way
    with pytest.raises(BatchWriteError) as caught:
        _batch(studies_dir, rois, out)
    assert str(caught.value) == (
        f"cannot write {out}: No space left on device; the rows of study0002 were not written. "
        f"2 of 6 studies are done in {out} (2 measured now, 0 earlier), 0 failed, 3 not measured: "
        f"run the same command again once {out} can be written"
    )
    summary = caught.value.summary
    assert (summary.done, summary.unwritten, summary.remaining, summary.ok) == (2, ("study0002",), 3, False)
    data = out.read_bytes()
    assert data.endswith(b"\r\n"), "the half-written rows of study0002 were cut off again"
    assert len(_complete_lines(data)) == 8 == data.count(b"\n") - 1
    assert {r["study"] for r in _rows(out)} == {"study0000", "study0001"}
    assert not Path(f"{out}.lock").exists()
    monkeypatch.undo()
    resumed, notes = _batch(studies_dir, rois, out)
    assert (resumed.measured, resumed.skipped, notes) == (4, 2, [])
    assert sorted(map(_key, _rows(out))) == sorted(map(_key, reference))


def test_half_written_rows_that_could_not_be_cut_off_are_repaired_by_the_next_run(
    roi_export, tmp_path, monkeypatch
):
    studies_dir, rois, reference = roi_export
    out = tmp_path / "hu.csv"
    _fill_disk_at(monkeypatch, 3)
    monkeypatch.setattr(batch._Appender, "_cut", lambda self, size: None)  # truncating fails too
    with pytest.raises(BatchWriteError, match=r"the rows of study0001 were not written\. 1 of 6 studies"):
        _batch(studies_dir, rois, out)
    assert not out.read_bytes().endswith(b"\n"), "torn bytes are left"
    monkeypatch.undo()
    resumed, notes = _batch(studies_dir, rois, out)
    assert (resumed.measured, resumed.skipped) == (5, 1), "study0001 is measured again"
    assert any("study0001" in note for note in notes) and any("incomplete last line" in n for n in notes)
    assert sorted(map(_key, _rows(out))) == sorted(map(_key, reference))


def test_a_failed_fsync_cuts_off_and_names_every_study_since_the_last_good_one(
    roi_export, tmp_path, monkeypatch
):
    studies_dir, rois, reference = roi_export
    out = tmp_path / "hu.csv"
    monkeypatch.setattr(batch, "SYNC_SECONDS", 1e9)  # one fsync at the end covers all six studies
    real_fsync = os.fsync

    def failing(fd):
        info = os.fstat(fd)
        if stat.S_ISREG(info.st_mode) and info.st_size > len(batch.HEADER):  # the output, with rows
            raise OSError(5, "Input/output error")
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", failing)
    with pytest.raises(BatchWriteError) as caught:
        _batch(studies_dir, rois, out)
    monkeypatch.undo()
    assert str(caught.value).startswith(
        f"cannot write {out}: Input/output error; the rows of 6 studies (study0000, study0001, study0002 "
        "and 3 more) were not written. 0 of 6 studies are done"
    )
    assert caught.value.summary.unwritten == tuple(f"study{i:04d}" for i in range(6))
    assert out.read_bytes() == batch.HEADER, "rows that may not be on disk are cut off, never counted done"
    resumed, _ = _batch(studies_dir, rois, out)
    assert resumed.measured == 6 and sorted(map(_key, _rows(out))) == sorted(map(_key, reference))


def _limit_file_size(limit: int):
    def preexec() -> None:
        import resource

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return preexec


def test_a_real_short_write_mid_run_through_the_cli(roi_export, tmp_path):
    """RLIMIT_FSIZE makes the kernel write part of study0002's rows, then fail (EFBIG), as a full disk."""
    studies_dir, rois, reference = roi_export
    out = tmp_path / "hu.csv"
    first_two = batch.HEADER + b"".join(
        batch.encode_rows([r for r in reference if r["study"] == name]) for name in ("study0000", "study0001")
    )
    assert _rows_bytes_match(reference, first_two)
    command = [sys.executable, "-m", "ovcf_core.cli", "batch", str(studies_dir), "--roi-dir", str(rois)]
    command += ["-o", str(out), "--jobs", "1", "--json", str(tmp_path / "summary.json")]
    result = subprocess.run(
        command,
        env=_cli_env(),
        capture_output=True,
        text=True,
        timeout=300,
        preexec_fn=_limit_file_size(len(first_two) + 40),
    )
    assert result.returncode == 2, result.stderr
    last = _last_line(result.stderr)
    assert last.startswith(f"ovcf batch: error: cannot write {out}: File too large; ")
    assert "the rows of study0002 were not written. 2 of 6 studies are done" in last
    assert "rows are in" not in result.stderr and "Traceback" not in result.stderr
    assert out.read_bytes() == first_two, "the torn part of study0002 was cut off again"
    assert '"unwritten": [\n    "study0002"\n  ]' in (tmp_path / "summary.json").read_text()
    resumed = run_cli("batch", studies_dir, "--roi-dir", rois, "-o", out)
    assert resumed.returncode == 0 and "4 measured, 2 already done, 0 failed" in resumed.stderr
    assert sorted(map(_key, _rows(out))) == sorted(map(_key, reference))


def _rows_bytes_match(reference: list[dict], data: bytes) -> bool:
    """The re-encoded reference rows read back as the same rows (so byte counts above are right)."""
    back = list(csv.DictReader(io.StringIO(data.decode())))
    return [_key(r) for r in back] == [_key(r) for r in reference if r["study"] in ("study0000", "study0001")]
