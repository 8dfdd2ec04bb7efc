"""HU from NIfTI masks read through the one series reader (`load_series`): the same skipping, missing and
duplicate slices, and messages as `ovcf measure`."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pydicom
import pytest

from ovcf_core.errors import InputError
from ovcf_core.imaging.masks import ct_series, measure_vertebrae
from tests import studies

HU = {"L1": 150, "L2": 130, "L3": 110, "L4": 90}


@pytest.fixture(scope="module")
def study(tmp_path_factory) -> tuple[Path, Path]:
    """One synthetic lumbar CT (folder) and its TotalSegmentator-style masks."""
    root = tmp_path_factory.mktemp("mask_study")
    studies.write_study(root / "ct", HU, seed=3)
    studies.write_masks(root / "masks")
    return root / "ct", root / "masks"


def _copy(folder: Path, tmp_path: Path) -> Path:
    target = tmp_path / "ct"
    shutil.copytree(folder, target)
    return target


def _file_of_slice(folder: Path, index: int) -> Path:
    """The file of slice `index` (the files are written in shuffled order)."""
    z = 100.0 + studies.THICKNESS * index
    for path in folder.iterdir():
        if abs(float(pydicom.dcmread(path, stop_before_pixels=True).ImagePositionPatient[2]) - z) < 1e-6:
            return path
    raise AssertionError(index)


def test_masks_measure_the_series_that_load_series_reads(study):
    ct, masks = study
    series = ct_series(ct)
    assert len(series) == studies.SLICES_PER_LEVEL * len(studies.LEVELS)
    result = measure_vertebrae(series, masks)
    assert {k: v.mean for k, v in result.items()} == HU
    assert [result[level].slice for level in studies.LEVELS] == [2, 8, 14, 20]


def test_a_zipped_study_is_measured_like_its_folder(study, tmp_path):
    ct, masks = study
    archive = tmp_path / "ct.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in sorted(ct.iterdir()):
            out.write(path, path.name)
    assert {k: v.mean for k, v in measure_vertebrae(archive, masks).items()} == HU


def test_a_damaged_slice_keeps_its_place_and_a_mask_on_it_is_refused_naming_both(study, tmp_path):
    ct, masks = study
    folder = _copy(ct, tmp_path)
    damaged = _file_of_slice(folder, 8)  # inside L2's trabecular core (slices 7 to 10)
    damaged.write_bytes(damaged.read_bytes()[:-500])
    with pytest.raises(InputError) as error:
        measure_vertebrae(folder, masks)
    message = str(error.value)
    assert message.startswith("vertebrae_L2.nii.gz: covers slice 8 of the CT series, which has no image")
    assert damaged.name in message and "truncated" in message


def test_a_damaged_slice_outside_every_mask_shifts_no_index(study, tmp_path):
    ct, masks = study
    folder = _copy(ct, tmp_path)
    damaged = _file_of_slice(folder, 0)  # below L1's mask: the first slice, placed by its header
    damaged.write_bytes(damaged.read_bytes()[:-500])
    second = _file_of_slice(folder, 12)  # L3's mask starts at slice 13
    second.write_bytes(second.read_bytes()[:-500])
    result = measure_vertebrae(folder, masks)
    assert {k: v.mean for k, v in result.items()} == HU
    assert [result[level].slice for level in studies.LEVELS] == [2, 8, 14, 20]


def test_a_duplicate_file_is_one_slice(study, tmp_path):
    ct, masks = study
    folder = _copy(ct, tmp_path)
    original = _file_of_slice(folder, 9)
    shutil.copyfile(original, folder / "copy.dcm")
    assert {k: v.mean for k, v in measure_vertebrae(folder, masks).items()} == HU


def test_a_slice_without_rescale_slope_is_never_measured_with_a_default(study, tmp_path):
    ct, masks = study
    folder = _copy(ct, tmp_path)
    path = _file_of_slice(folder, 20)  # in L4's core
    dataset = pydicom.dcmread(path)
    del dataset.RescaleSlope
    dataset.save_as(path)
    with pytest.raises(
        InputError, match=r"vertebrae_L4\.nii\.gz: covers slice 20 .*RescaleSlope \(0028,1053\)"
    ):
        measure_vertebrae(folder, masks)


def test_a_study_without_ct_slices_names_the_skipped_files(tmp_path, study):
    _, masks = study
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "x.dcm").write_bytes(b"broken")
    with pytest.raises(InputError, match=r"^empty: holds no readable CT slices \(x\.dcm: not a DICOM file"):
        measure_vertebrae(tmp_path / "empty", masks)
