"""`ovcf batch --mask-dir` computes every indicator the masks allow (HU, VBQ, rCSA, FI) from per-structure
NIfTI, multi-label NIfTI and DICOM SEG; bad masks fail their own study in one line, the others continue.

Truth: the mask phantoms' indicators, known by construction (`ovcf_core.imaging.phantoms`).
"""

from __future__ import annotations

import csv
import json
import shutil
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from ovcf_core.batch import find_studies, run_batch
from ovcf_core.batch_risk import read_studies, study_indicators
from ovcf_core.imaging.phantoms import all_mask_phantoms, write_mask_phantom
from tests.conftest import run_cli

KINDS = ("per_structure", "multi_label", "seg")


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _study(root: Path, name: str, written: Path) -> Path:
    shutil.copytree(written / "series", root / "studies" / name)
    masks = root / "masks" / name
    masks.mkdir(parents=True)
    return masks


def _nifti_like(path: Path, data: np.ndarray, target: Path) -> None:
    image = nib.load(str(path))
    nib.save(nib.Nifti1Image(data, image.affine), str(target))


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> tuple[Path, dict[str, dict[str, float]]]:
    """Each mask phantom three times (per-structure NIfTI, multi-label NIfTI, SEG) and five bad studies."""
    root = tmp_path_factory.mktemp("mask_batch")
    truth: dict[str, dict[str, float]] = {}
    written = {}
    for phantom in all_mask_phantoms():
        folder = write_mask_phantom(phantom, root / "phantoms" / phantom.phantom.name)
        written[phantom.phantom.name] = folder
        for kind in KINDS:
            name = f"{phantom.phantom.name}_{kind}"
            masks = _study(root, name, folder)
            if kind == "per_structure":
                shutil.copytree(folder / "segmentations", masks / "segmentations")
            elif kind == "multi_label":
                shutil.copy(folder / "labels.nii.gz", masks)
                shutil.copy(folder / "labels.json", masks)
            else:
                shutil.copy(folder / "labels_seg.dcm", masks)
            truth[name] = {k: v for k, v in phantom.truth.items() if k in ("hu", "vbq", "rcsa", "fi")}
    ct, t1, t2 = written["ct_axial_masks"], written["mr_t1_sagittal"], written["mr_t2_axial"]
    masks = _study(root, "bad_misaligned", ct)
    shutil.copy(ct / "misaligned.nii.gz", masks / "labels.nii.gz")
    shutil.copy(ct / "misaligned.json", masks / "labels.json")
    masks = _study(root, "bad_empty", ct)
    empty = np.zeros(nib.load(str(ct / "labels.nii.gz")).shape, dtype=np.uint8)
    _nifti_like(ct / "labels.nii.gz", empty, masks / "labels.nii.gz")
    shutil.copy(ct / "labels.json", masks / "labels.json")
    masks = _study(root, "bad_4d", ct)
    data = np.asanyarray(nib.load(str(ct / "labels.nii.gz")).dataobj)
    _nifti_like(ct / "labels.nii.gz", np.stack([data, data], axis=-1), masks / "labels.nii.gz")
    shutil.copy(ct / "labels.json", masks / "labels.json")
    masks = _study(root, "bad_other_scan", t1)  # the CT's masks on the T1 series
    shutil.copy(ct / "labels.nii.gz", masks / "labels.nii.gz")
    shutil.copy(ct / "labels.json", masks / "labels.json")
    masks = _study(root, "bad_labels_missing", t2)  # no disc: rCSA cannot be computed
    shutil.copytree(t2 / "segmentations", masks / "segmentations")
    for disc in (masks / "segmentations").glob("disc_*"):
        disc.unlink()
    return root, truth


@pytest.fixture(scope="module")
def measured(export, tmp_path_factory) -> tuple[Path, Path]:
    root, _ = export
    out = tmp_path_factory.mktemp("mask_out") / "out.csv"
    qc = out.parent / "QC"
    run_batch(find_studies(root / "studies", mask_dir=root / "masks"), out, n_jobs=2, qc_dir=qc)
    return out, qc


def test_every_indicator_is_recovered_exactly_from_nifti_multi_label_and_seg(export, measured):
    _, truth = export
    out, _ = measured
    studies = read_studies(out)
    for name, expected in truth.items():
        rows = studies[name]
        assert all(r["status"] == "ok" for r in rows), (name, rows[0]["message"])
        got = study_indicators(rows)
        assert set(got) == set(expected), name
        for key, value in expected.items():
            assert got[key] == pytest.approx(value, rel=1e-12), (name, key)


def test_mask_rows_carry_the_protocol_and_fi_per_muscle(measured):
    out, _ = measured
    rows = [r for r in _rows(out) if r["study"] == "mr_t2_axial_seg"]
    muscles = [r for r in rows if r["label"].startswith(("PM_", "MF_", "ES_"))]
    assert len(muscles) == 12 and all(r["fi_percent"] for r in muscles)
    assert {r["magnetic_field_strength_t"] for r in rows} == {"1.5"}
    ct = [r for r in _rows(out) if r["study"] == "ct_axial_masks_seg"]
    assert {r["label"] for r in ct} == {"L1", "L2", "L3", "L4"} and all(r["volume_mm3"] for r in ct)


def test_bad_masks_fail_their_own_study_in_one_line_naming_the_mask(measured):
    out, _ = measured
    errors = {r["study"]: r["message"] for r in _rows(out) if r["status"] == "error"}
    assert set(errors) == {"bad_misaligned", "bad_empty", "bad_4d", "bad_other_scan", "bad_labels_missing"}
    assert all("\n" not in m and "Traceback" not in m for m in errors.values())
    assert "labels.nii.gz" in errors["bad_misaligned"] and "labels.nii.gz" in errors["bad_4d"]
    assert "labels.nii.gz" in errors["bad_empty"] and "labels.nii.gz" in errors["bad_other_scan"]
    assert "DISC" in errors["bad_labels_missing"] or "disc" in errors["bad_labels_missing"]


def test_qc_pictures_outline_the_mask_regions(measured):
    _, qc = measured
    records = {json.loads(p.read_text())["study"]: json.loads(p.read_text()) for p in qc.glob("*.qc.json")}
    assert len(records) == 9 and len(list(qc.glob("*.png"))) == 9
    assert records["ct_axial_masks_seg"]["flags"] == [], "the CT mask phantom's anatomy is right"
    t2 = records["mr_t2_axial_per_structure"]
    assert {r["label"] for r in t2["regions"]} >= {"PM_L_L3L4", "DISC_L4L5", "FAT_L3L4"}
    page = (qc / "index.html").read_text(encoding="utf-8")
    assert page.index("bad_4d") < page.index("ct_axial_masks_seg"), "failed studies first"


def test_cli_batch_with_masks_prints_one_line_per_bad_study(export, tmp_path):
    root, _ = export
    out = tmp_path / "out.csv"
    result = run_cli(
        "batch", root / "studies", "--mask-dir", root / "masks", "-o", out, "--jobs", "2", "--quiet"
    )
    assert result.returncode == 1 and "Traceback" not in result.stderr
    assert "9 measured, 0 already done, 5 failed" in result.stderr
    for bad in ("bad_misaligned", "bad_empty", "bad_4d", "bad_other_scan", "bad_labels_missing"):
        assert sum(line.startswith(f"ovcf batch: {bad}: ") for line in result.stderr.splitlines()) == 1


def _key(row: dict) -> tuple:
    return tuple(row.values())


def test_a_dask_cluster_gives_the_same_rows_and_risk_file_as_joblib(export, measured, tmp_path):
    from distributed import LocalCluster

    from ovcf_core.batch import Backend
    from ovcf_core.batch_risk import write_risk
    from ovcf_core.model.risk_model import RiskModel
    from tests.model_cohorts import simulated_cohort

    root, _ = export
    reference, _ = measured
    found = find_studies(root / "studies", mask_dir=root / "masks")
    out = tmp_path / "dask.csv"
    with LocalCluster(n_workers=1, threads_per_worker=2, processes=False, dashboard_address=None) as cluster:
        summary = run_batch(found, out, backend=Backend.DASK, scheduler=cluster.scheduler_address)
    assert summary.backend == "dask" and summary.measured == 9 and len(summary.failed) == 5
    assert sorted(map(_key, _rows(out))) == sorted(map(_key, _rows(reference)))
    model = RiskModel(features=("hu",), adjust=(), n_bootstrap=0).fit(simulated_cohort())
    copy = tmp_path / "joblib.csv"
    shutil.copy(reference, copy)
    assert write_risk(out, model)[0].read_bytes() == write_risk(copy, model)[0].read_bytes()


def test_kill_9_mid_batch_with_model_and_qc_loses_nothing_on_rerun(export, measured, tmp_path):
    import os
    import signal
    import subprocess
    import sys
    import time

    from ovcf_core.model.persistence import save_model
    from ovcf_core.model.risk_model import RiskModel
    from tests.conftest import ROOT
    from tests.model_cohorts import simulated_cohort

    root, _ = export
    reference, _ = measured
    model = save_model(
        RiskModel(features=("hu",), adjust=(), n_bootstrap=0).fit(simulated_cohort()), tmp_path / "m.json"
    )
    out, qc = tmp_path / "out.csv", tmp_path / "QC"
    command = [sys.executable, "-m", "ovcf_core.cli", "batch", str(root / "studies"), "--mask-dir"]
    command += [str(root / "masks"), "-o", str(out), "--jobs", "1", "--quiet", "--qc-dir", str(qc)]
    command += ["--model", str(model)]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        if out.exists() and out.read_bytes().count(b"\n") >= 20:
            break
        time.sleep(0.005)
    process.send_signal(signal.SIGKILL)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == -signal.SIGKILL, f"finished before the kill: {stderr}"
    assert not (tmp_path / "out.risk.csv").exists(), "killed before the risk file"
    rerun = run_cli("batch", *command[4:])
    assert rerun.returncode == 1 and "Traceback" not in rerun.stderr, rerun.stderr
    rows = _rows(out)
    assert sorted(map(_key, rows)) == sorted(map(_key, _rows(reference))), "complete, nothing twice"
    risk = _rows(tmp_path / "out.risk.csv")
    assert len(risk) == len({r["study"] for r in rows}) == 14
    assert {r["study"] for r in risk if r["probability"]} == {f"ct_axial_masks_{k}" for k in KINDS}
    assert len(list(qc.glob("*.png"))) == 9 and (qc / "index.html").is_file()
