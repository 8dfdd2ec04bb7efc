"""`ovcf measure` as a real process: the DESIGN §4 JSON, skipped files, several series, bad input."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from ovcf_core import paths
from tests.conftest import contract_problems, run_cli
from tests.imaging_helpers import SERIES_B, ordered_series, write_files

CT = paths.SAMPLE_DICOM / "ct_axial"


def _rois(tmp_path: Path, rois: list[dict]) -> Path:
    path = tmp_path / "rois.json"
    path.write_text(json.dumps({"rois": rois}))
    return path


def test_measure_writes_the_contract_json_with_the_phantom_hu(tmp_path):
    out = tmp_path / "out.json"
    result = run_cli("measure", CT / "series", "--roi", CT / "rois.json", "--json", out)
    assert result.returncode == 0, result.stderr
    data = json.loads(out.read_text())
    assert contract_problems("measure", data) == []
    assert (data["modality"], data["unit"]) == ("CT", "HU")
    assert {k: v["mean"] for k, v in data["rois"].items()} == {
        "L1": 152.0,
        "L2": 138.0,
        "L3": 121.0,
        "L4": 109.0,
    }
    assert data["rois"]["L1"]["slice"] == 7 and data["rois"]["L1"]["n_pixels"] == 145
    assert data["rois"]["L1"]["area_mm2"] == pytest.approx(145 * 0.64)
    assert set(data["rois"]["L1"]) == {"mean", "sd", "n_pixels", "area_mm2", "slice"}
    assert result.stderr == ""


def test_measure_writes_to_stdout_with_dash_and_reads_a_zip_and_listed_files(tmp_path):
    import zipfile

    archive = tmp_path / "series.zip"
    with zipfile.ZipFile(archive, "w") as handle:
        for path in (CT / "series").iterdir():
            handle.write(path, f"ct/{path.name}")
    via_zip = run_cli("measure", archive, "--roi", CT / "rois.json", "--json", "-")
    files = sorted((CT / "series").iterdir())
    via_files = run_cli("measure", *files, "--roi", CT / "rois.json", "--json", "-")
    assert via_zip.returncode == via_files.returncode == 0
    assert json.loads(via_zip.stdout) == json.loads(via_files.stdout)
    assert contract_problems("measure", json.loads(via_zip.stdout)) == []


def test_mr_measure_reports_si(tmp_path):
    t1 = paths.SAMPLE_DICOM / "mr_t1_sagittal"
    result = run_cli("measure", t1 / "series", "--roi", t1 / "rois.json", "--json", "-")
    data = json.loads(result.stdout)
    assert (data["modality"], data["unit"]) == ("MR", "SI") and data["rois"]["CSF_L3"]["mean"] == 100.0


def test_skipped_files_are_warned_about_one_line_each_and_the_rest_is_measured(tmp_path):
    folder = write_files(
        tmp_path / "mixed", [*ordered_series(3), ("notes.txt", b"hello"), ("empty.dcm", b"")]
    )
    roi = _rois(tmp_path, [{"label": "A", "slice": 2, "shape": "ellipse", "center": [7, 7], "radii": [3, 3]}])
    result = run_cli("measure", folder, "--roi", roi, "--json", "-")
    assert result.returncode == 0
    assert json.loads(result.stdout)["rois"]["A"]["mean"] == 300.0
    warnings = result.stderr.strip().splitlines()
    assert warnings == [
        "ovcf measure: warning: skipped empty.dcm: empty file (0 bytes)",
        "ovcf measure: warning: skipped notes.txt: not a DICOM file "
        "(no 'DICM' marker after the 128-byte preamble)",
    ]


def test_several_series_need_a_series_uid(tmp_path):
    files = ordered_series(3) + [(f"b_{n}", d) for n, d in ordered_series(2, series_uid=SERIES_B)]
    folder = write_files(tmp_path / "two", files)
    roi = _rois(tmp_path, [{"label": "A", "slice": 1, "shape": "ellipse", "center": [7, 7], "radii": [3, 3]}])
    refused = run_cli("measure", folder, "--roi", roi, "--json", "-")
    assert refused.returncode == 2 and "2 series found" in refused.stderr and "--series" in refused.stderr
    picked = run_cli("measure", folder, "--roi", roi, "--series", SERIES_B, "--json", "-")
    assert picked.returncode == 0 and json.loads(picked.stdout)["rois"]["A"]["mean"] == 200.0


@pytest.mark.parametrize(
    ("roi", "message"),
    [
        ({"label": "L9", "slice": 8, "shape": "ellipse", "center": [30, 30], "radii": [3, 3]}, "slice 8"),
        (
            {"label": "L9", "slice": 1, "shape": "ellipse", "center": [62, 30], "radii": [3, 3]},
            "ROI 'L9' reaches outside",
        ),
    ],
)
def test_roi_on_a_missing_slice_or_outside_the_image_is_a_one_line_error(tmp_path, roi, message):
    result = run_cli("measure", CT / "series", "--roi", _rois(tmp_path, [roi]), "--json", "-")
    assert result.returncode == 2 and result.stdout == ""
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("ovcf measure: error:") and message in line


def test_missing_series_folder_is_an_error_naming_it(tmp_path):
    result = run_cli("measure", tmp_path / "nowhere", "--roi", CT / "rois.json")
    assert result.returncode == 2 and "nowhere: no such file or folder" in result.stderr


def test_measure_path_does_not_import_pandas_statsmodels_or_streamlit():
    import subprocess
    import sys

    code = (
        "import sys; from ovcf_core.cli import main; "
        f"main(['measure', r'{CT / 'series'}', '--roi', r'{CT / 'rois.json'}', '--json', '-']); "
        "heavy = ('pandas', 'statsmodels', 'streamlit', 'scipy', 'sklearn'); "
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    started = time.perf_counter()
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert output.strip().splitlines()[-1] == "[]"
    assert time.perf_counter() - started < 30
