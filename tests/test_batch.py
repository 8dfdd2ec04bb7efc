"""Batch measurement of many studies: parallel with joblib, on Dask, resumable, a failure never stops it."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from ovcf_core.batch import Backend, find_studies, measure_study, run_batch
from ovcf_core.errors import InputError
from ovcf_core.imaging.masks import measure_vertebrae, trabecular_core
from tests import studies
from tests.conftest import run_cli

HU = {
    "s01": {"L1": 160, "L2": 140, "L3": 120, "L4": 100},
    "s02": {"L1": 90, "L2": 85, "L3": 80, "L4": 75},
    "s03": {"L1": 210, "L2": 200, "L3": 190, "L4": 180},
}


def _rows(path: Path) -> list[dict]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


@pytest.fixture(scope="module")
def export(tmp_path_factory) -> Path:
    """A PACS-like export: three good studies (one masked by StudyInstanceUID), one broken, one unmasked."""
    root = tmp_path_factory.mktemp("export")
    uid_of = {}
    for name, hu in HU.items():
        uid_of[name] = studies.write_study(root / "studies" / name, hu, seed=len(name) + int(name[1:]))
    studies.write_masks(root / "masks" / "s01")
    studies.write_masks(root / "masks" / "s02", flip_rows=False)
    studies.write_masks(root / "masks" / uid_of["s03"])
    (root / "studies" / "s04_broken").mkdir()
    (root / "studies" / "s04_broken" / "IM0001.dcm").write_text("not a DICOM file")
    studies.write_masks(root / "masks" / "s04_broken")
    studies.write_study(root / "studies" / "s05_no_masks", HU["s01"], seed=5)
    return root


def _check_good_rows(rows: list[dict]) -> None:
    by_study = {}
    for row in rows:
        by_study.setdefault(row["study"], []).append(row)
    for name, hu in HU.items():
        got = {r["label"]: float(r["mean"]) for r in by_study[name]}
        assert got == {k: float(v) for k, v in hu.items()}, name
        assert all(r["status"] == "ok" and r["unit"] == "HU" for r in by_study[name])


def test_masks_eroded_to_trabecular_bone_give_the_vertebral_body_hu_exactly(export):
    result = measure_vertebrae(export / "studies" / "s01", export / "masks" / "s01")
    assert {k: v.mean for k, v in result.items()} == HU["s01"]
    assert all(v.sd == 0 and v.n_voxels > 100 for v in result.values())


def test_without_erosion_the_cortical_shell_and_posterior_bar_bias_the_mean_upwards(export):
    raw = measure_vertebrae(export / "studies" / "s01", export / "masks" / "s01", erode_mm=0)
    assert all(raw[k].mean > HU["s01"][k] + 50 for k in HU["s01"])


def test_trabecular_core_keeps_the_largest_part_after_erosion():
    mask = np.zeros((30, 30, 30), dtype=bool)
    mask[5:25, 5:25, 5:25] = True  # body
    mask[25:29, 14:16, 14:16] = True  # thin process
    core = trabecular_core(mask, (1.0, 1.0, 1.0), 3.0)
    assert core[8:22, 8:22, 8:22].all() and not core[24:, :, :].any()
    assert not core[:8].any() and not core[23:].any(), "the shell (3 voxels) is gone"


def test_a_mask_of_another_scan_is_refused_naming_the_mask_file(export, tmp_path):
    import nibabel as nib

    image = nib.load(str(export / "masks" / "s01" / "vertebrae_L1.nii.gz"))
    moved = np.array(image.affine)
    moved[2, 3] += 500.0  # 50 cm away along z
    for level in studies.LEVELS:
        nib.save(
            nib.Nifti1Image(np.asanyarray(image.dataobj), moved), str(tmp_path / f"vertebrae_{level}.nii.gz")
        )
    with pytest.raises(InputError, match=r"vertebrae_L\d\.nii\.gz.*outside the CT series"):
        measure_vertebrae(export / "studies" / "s01", tmp_path)


def test_studies_are_matched_to_masks_by_folder_name_or_study_instance_uid(export):
    found = {s.name: s for s in find_studies(export / "studies", mask_dir=export / "masks")}
    assert set(found) == {"s01", "s02", "s03", "s04_broken", "s05_no_masks"}
    assert found["s01"].masks.name == "s01"
    assert found["s03"].masks.name.startswith("1.2.826.0.1.3680043")  # its StudyInstanceUID
    assert found["s05_no_masks"].masks is None


def test_parallel_batch_measures_every_good_study_and_reports_the_failing_ones(export, tmp_path):
    out = tmp_path / "hu.csv"
    seen = []

    def progress(done, total, study, status):
        assert any(r["study"] == study for r in _rows(out)), "a finished study's rows are written at once"
        seen.append((done, total, status))

    summary = run_batch(
        find_studies(export / "studies", mask_dir=export / "masks"), out, n_jobs=2, progress=progress
    )
    rows = _rows(out)
    _check_good_rows(rows)
    errors = {r["study"]: r["message"] for r in rows if r["status"] == "error"}
    assert set(errors) == {"s04_broken", "s05_no_masks"}
    assert "s04_broken" in errors["s04_broken"] and "holds no readable series" in errors["s04_broken"]
    assert "no ROI file or mask folder" in errors["s05_no_masks"]
    assert (summary.measured, summary.skipped, len(summary.failed)) == (3, 0, 2)
    assert [d for d, _, _ in seen] == [1, 2, 3, 4, 5]
    assert not any(studies.NAME in line or "ID-s0" in line for line in out.read_text().splitlines())


def test_rerun_skips_studies_already_done_and_retries_the_failed_ones(export, tmp_path):
    out = tmp_path / "hu.csv"
    run_batch(find_studies(export / "studies", mask_dir=export / "masks"), out, n_jobs=1)
    copy = tmp_path / "export"
    shutil.copytree(export, copy)
    studies.write_masks(copy / "masks" / "s05_no_masks")
    again = run_batch(find_studies(copy / "studies", mask_dir=copy / "masks"), out, n_jobs=1)
    assert (again.measured, again.skipped, [s for s, _ in again.failed]) == (1, 3, ["s04_broken"])
    rows = _rows(out)
    assert sorted({r["study"] for r in rows if r["status"] == "ok"}) == ["s01", "s02", "s03", "s05_no_masks"]
    assert [r["study"] for r in rows if r["status"] == "error"] == ["s04_broken"], (
        "old error rows are replaced"
    )


def test_a_study_that_raises_unexpectedly_becomes_an_error_row(tmp_path):
    from ovcf_core.batch import Study

    rows = measure_study(Study("odd", tmp_path / "missing", masks=tmp_path / "missing_masks"))
    assert rows[0]["status"] == "error" and rows[0]["study"] == "odd"


def test_an_unrelated_csv_is_not_overwritten(export, tmp_path):
    out = tmp_path / "mine.csv"
    out.write_text("patient_id,hu\nP1,100\n")
    with pytest.raises(InputError, match="not the output of an earlier batch"):
        run_batch(find_studies(export / "studies", mask_dir=export / "masks"), out)
    assert out.read_text() == "patient_id,hu\nP1,100\n"


@pytest.fixture(scope="module")
def dask_cluster():
    """A Dask cluster on loopback TCP, its workers as threads of this process."""
    distributed = pytest.importorskip("distributed")
    cluster = distributed.LocalCluster(
        n_workers=1,
        threads_per_worker=2,
        processes=False,
        host="127.0.0.1",
        protocol="tcp",
        dashboard_address=None,
    )
    yield cluster
    cluster.close()


def test_dask_backend_gives_the_same_rows_as_joblib(export, tmp_path, dask_cluster):
    found = find_studies(export / "studies", mask_dir=export / "masks")
    summary = run_batch(
        found, tmp_path / "dask.csv", backend=Backend.DASK, scheduler=dask_cluster.scheduler_address
    )
    run_batch(found, tmp_path / "local.csv", n_jobs=1)
    key = lambda r: (r["study"], r["label"])  # noqa: E731
    assert sorted(_rows(tmp_path / "dask.csv"), key=key) == sorted(_rows(tmp_path / "local.csv"), key=key)
    assert summary.backend == "dask" and summary.measured == 3


def test_cli_batch_on_a_dask_cluster_over_loopback(export, tmp_path, dask_cluster):
    out = tmp_path / "out.csv"
    result = run_cli(
        "batch", export / "studies", "--mask-dir", export / "masks", "-o", out,
        "--backend", "dask", "--scheduler", dask_cluster.scheduler_address,
    )  # fmt: skip
    assert result.returncode == 1, result.stderr  # two studies fail, on purpose
    assert "3 measured, 0 already done, 2 failed" in result.stderr
    assert "Traceback" not in result.stderr
    _check_good_rows(_rows(out))


def test_cli_batch_in_parallel_then_rerun_skips_what_is_done(export, tmp_path):
    out = tmp_path / "out.csv"
    first = run_cli("batch", export / "studies", "--mask-dir", export / "masks", "-o", out, "--jobs", "2")
    assert first.returncode == 1 and "s04_broken" in first.stderr and "Traceback" not in first.stderr
    assert "5/5 studies, 2 failed" in first.stderr, "the progress bar"
    second = run_cli("batch", export / "studies", "--mask-dir", export / "masks", "-o", out, "--jobs", "2")
    assert "0 measured, 3 already done, 2 failed" in second.stderr
    _check_good_rows(_rows(out))


def test_cli_batch_bad_arguments_give_one_line_errors(export, tmp_path):
    result = run_cli("batch", tmp_path / "nowhere", "--mask-dir", export / "masks", "-o", tmp_path / "o.csv")
    assert result.returncode == 2 and "nowhere: is not a folder of studies" in result.stderr
    result = run_cli(
        "batch",
        export / "studies",
        "--mask-dir",
        export / "masks",
        "-o",
        tmp_path / "o.csv",
        "--backend",
        "dask",
    )
    assert result.returncode == 2 and "scheduler" in result.stderr
    assert "Traceback" not in result.stderr


def test_a_dead_worker_stops_the_batch_with_a_message_and_keeps_finished_rows(export, tmp_path, monkeypatch):
    from ovcf_core import batch

    real = batch._results

    def dying(todo, *args, **kwargs):
        iterator = real(todo, *args, **kwargs)
        yield next(iterator)
        raise RuntimeError("worker killed by signal 9")

    monkeypatch.setattr(batch, "_results", dying)
    out = tmp_path / "out.csv"
    with pytest.raises(
        batch.BatchInterrupted, match=r"stopped after 1 of 5 studies.*run the same command again"
    ):
        run_batch(find_studies(export / "studies", mask_dir=export / "masks"), out, n_jobs=1)
    assert len({r["study"] for r in _rows(out)}) == 1
    monkeypatch.setattr(batch, "_results", real)
    resumed = run_batch(find_studies(export / "studies", mask_dir=export / "masks"), out, n_jobs=1)
    assert resumed.skipped + resumed.measured + len(resumed.failed) == 5


def test_batch_with_roi_files_measures_each_vertebra_through_ovcf_measure(export, tmp_path):
    rois = tmp_path / "rois"
    for name in HU:
        studies.write_rois(rois / f"{name}.json")
    (rois / "s04_broken.json").write_text('{"rois": []}')
    summary = run_batch(find_studies(export / "studies", roi_dir=rois), tmp_path / "out.csv", n_jobs=2)
    rows = _rows(tmp_path / "out.csv")
    _check_good_rows(rows)
    assert {r["method"] for r in rows if r["status"] == "ok"} == {"roi"}
    assert all(float(r["area_mm2"]) > 0 and int(r["n_pixels"]) > 50 for r in rows if r["status"] == "ok")
    assert dict(summary.failed).keys() == {"s04_broken", "s05_no_masks"}
    assert "no ROI file" in dict(summary.failed)["s05_no_masks"]
