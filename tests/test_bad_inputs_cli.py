"""The bad-input corpus (tests/bad_inputs/) through the library and the `ovcf` CLI.

Each file must be refused with a one-line message naming the place (exit 2), or read with its problems
listed (exit 0), as its manifest entry says; never a traceback, never an unpickled upload, never a
DICOM identifier in the output.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from ovcf_core.cli import COMMANDS
from ovcf_core.errors import OvcfError
from ovcf_core.io import read_cohort
from tests import studies
from tests.conftest import run_cli

CORPUS = Path(__file__).resolve().parent / "bad_inputs"
MANIFEST: list[dict] = json.loads((CORPUS / "manifest.json").read_text(encoding="utf-8"))
GOOD_CT = CORPUS / "good_ct"
PLANTED = ("PLANTED^CORPUS", "PLANTED", "PID-CORPUS-7731")
GOOD_ROI = {"rois": [{"label": "L1", "slice": 1, "shape": "ellipse", "center": [8, 8], "radii": [4, 3]}]}


def _entries(*surfaces: str) -> list:
    """Manifest entries of these surfaces as pytest params named by file."""
    return [pytest.param(e, id=e["file"]) for e in MANIFEST if e["surface"] in surfaces]


def test_corpus_has_at_least_40_files_each_listed_once_in_the_manifest():
    names = [e["file"] for e in MANIFEST]
    on_disk = {p.name for p in CORPUS.iterdir() if p.is_file()} - {"make_corpus.py", "manifest.json"}
    assert len(names) >= 40
    assert len(names) == len(set(names))
    assert set(names) == on_disk
    assert {e["surface"] for e in MANIFEST} == {"cohort", "raw", "roi", "model", "dicom", "mask"}
    assert all(e["outcome"] in ("error", "warning", "ok") for e in MANIFEST)
    assert all(e["expect"] or e["outcome"] == "ok" for e in MANIFEST)


def test_corpus_files_are_small():
    sizes = {p.name: p.stat().st_size for p in CORPUS.rglob("*") if p.is_file()}
    assert max(sizes.values()) < 100_000, max(sizes, key=sizes.get)
    assert sum(sizes.values()) < 1_000_000


@pytest.mark.parametrize("entry", _entries("cohort"))
def test_cohort_file_is_read_as_its_manifest_says(entry):
    if entry.get("stage") == "analysis":
        table, report = read_cohort(CORPUS / entry["file"])
        assert report.ok and len(table) > 0, "the table itself is valid; the analysis must refuse it"
        return
    if entry["outcome"] == "error" and "rows usable" not in entry["about"]:
        try:
            table, report = read_cohort(CORPUS / entry["file"])
        except OvcfError as exc:
            assert entry["expect"].lower() in str(exc).lower()
            assert "\n" not in str(exc)
            return
        assert len(table) == 0, "an unusable table must leave no usable rows"
        assert any(entry["expect"] in str(p) for p in report.problems)
        return
    table, report = read_cohort(CORPUS / entry["file"])
    if entry["outcome"] == "ok":
        assert report.ok and len(table) >= 24
    else:
        messages = [str(p) for p in report.problems]
        assert any(entry["expect"].lower() in m.lower() for m in messages), messages
        assert all("row" in m for m in messages), "each problem names its row"
        assert len(table) >= 24, "the valid rows are kept"


def _command(entry: dict, tmp_path: Path) -> tuple[str, list[str]]:
    """(command name, CLI arguments) that read the corpus file on its surface."""
    path = str(CORPUS / entry["file"])
    surface = entry["surface"]
    if surface == "cohort":
        return "analyze", ["analyze", path, "--json", str(tmp_path / "out.json")]
    if surface == "raw":
        return "indicators", ["indicators", path, "-o", str(tmp_path / "out.csv")]
    if surface == "roi":
        return "measure", ["measure", str(GOOD_CT), "--roi", path, "--json", str(tmp_path / "out.json")]
    if surface == "model":
        return "predict", ["predict", "--model", path, "--vbq", "3.2", "--hu", "110", "--json", "-"]
    if surface == "mask":
        studies.write_study(tmp_path / "studies" / "s1", dict.fromkeys(studies.LEVELS, 100))
        studies.write_masks(tmp_path / "masks" / "s1")
        shutil.copyfile(path, tmp_path / "masks" / "s1" / "vertebrae_L2.nii.gz")
        out = tmp_path / "out.csv"
        return "batch", [
            "batch",
            str(tmp_path / "studies"),
            "--mask-dir",
            str(tmp_path / "masks"),
            "-o",
            str(out),
        ]
    roi = tmp_path / "roi.json"
    roi.write_text(json.dumps(GOOD_ROI))
    return "measure", ["measure", path, "--roi", str(roi), "--json", str(tmp_path / "out.json")]


def test_bad_mask_fails_its_study_in_the_batch_with_a_message_naming_the_mask(tmp_path):
    from ovcf_core.batch import find_studies, run_batch

    for entry in (e for e in MANIFEST if e["surface"] == "mask"):
        work = tmp_path / entry["file"]
        _command(entry, work)
        summary = run_batch(find_studies(work / "studies", mask_dir=work / "masks"), work / "out.csv")
        [(study, message)] = summary.failed
        assert study == "s1" and entry["expect"].lower() in message.lower(), (entry["file"], message)


@pytest.mark.parametrize("entry", _entries("cohort", "raw", "roi", "model", "dicom", "mask"))
def test_corpus_file_through_the_cli_gives_a_clear_message_and_no_traceback(entry, tmp_path):
    name, args = _command(entry, tmp_path)
    if name not in COMMANDS:
        pytest.skip(f"`ovcf {name}` is not on this branch yet")
    work = tmp_path / "cwd"
    work.mkdir()
    result = run_cli(*args, cwd=work, timeout=120)
    output = result.stdout + result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert "Traceback" not in output
    assert result.returncode != 3, f"an unexpected exception: {result.stderr}"
    assert not any(p in output for p in PLANTED), "a DICOM identifier reached the output"
    assert not list(work.iterdir()), "nothing may be written to the working folder (nor unpickled)"
    out_json = tmp_path / "out.json"
    if out_json.exists():
        assert not any(p in out_json.read_text() for p in PLANTED)
    expect = entry["expect"].lower()
    if entry["outcome"] == "error" and entry["surface"] == "mask":
        # the study failed, not the batch: exit 1, and the study's message names the mask file
        assert result.returncode == 1, f"exit {result.returncode}: {output}"
        failed = [line for line in lines if line.startswith("ovcf batch: s1: vertebrae_L2.nii.gz: ")]
        assert failed and expect in failed[0].lower(), lines
    elif entry["outcome"] == "error":
        assert result.returncode == 2, f"exit {result.returncode}: {output}"
        assert lines and lines[-1].startswith(f"ovcf {name}: error:"), lines
        assert expect in result.stderr.lower(), result.stderr
        assert all(len(line) < 400 for line in lines)
    elif entry["outcome"] == "warning":
        assert result.returncode == 0, f"exit {result.returncode}: {output}"
        assert expect in result.stderr.lower(), result.stderr
    else:
        assert result.returncode == 0, f"exit {result.returncode}: {output}"
        assert "error" not in result.stderr.lower()
