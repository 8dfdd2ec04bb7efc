"""Shipped phantoms and HU: true values recovered exactly, the modality LUT applied, sample data current."""

from __future__ import annotations

import json

import numpy as np
import pytest

from ovcf_core import paths
from ovcf_core.imaging import load_series, measure_series, read_roi_file
from ovcf_core.imaging.phantoms import (
    AXIAL,
    DISC_SI,
    all_phantoms,
    ct_lumbar_phantom,
    dicom_slice,
    mr_t1_sagittal_phantom,
    mr_t2_axial_phantom,
)

PHANTOMS = {p.name: p for p in all_phantoms()}


@pytest.mark.parametrize("name", sorted(PHANTOMS))
def test_phantom_roi_means_are_recovered_exactly(name):
    phantom = PHANTOMS[name]
    result = measure_series(phantom.uploads(), phantom.rois)
    assert {m.label: m.mean for m in result.measurements} == pytest.approx(phantom.truth, abs=1e-9)
    for label, area in phantom.area_mm2.items():
        assert result[label].area_mm2 == pytest.approx(area)


def test_ct_phantom_gives_hu_with_the_modality_lut_applied():
    result = measure_series(ct_lumbar_phantom().uploads(), ct_lumbar_phantom().rois)
    assert (result.modality.value, result.unit) == ("CT", "HU")
    assert result["L1"].mean == 152.0 and result["L4"].mean == 109.0
    assert result["L1"].sd == 0.0


def test_hu_uses_rescale_slope_and_intercept():
    stored = np.array([[0, 100], [200, 400]], dtype=np.uint16).repeat(4, 0).repeat(4, 1)
    data = dicom_slice(
        stored,
        modality="CT",
        position=(0, 0, 0),
        orientation=AXIAL,
        series_uid="1.2.3.4",
        instance_number=1,
        slope=2.5,
        intercept=-1000.0,
    )
    (series,) = load_series([("ct.dcm", data)]).series
    hu = series.pixels(0)
    assert hu[0, 0] == -1000.0 and hu[0, 4] == -750.0 and hu[4, 0] == -500.0 and hu[4, 4] == 0.0


def test_t1_phantom_sits_on_the_middle_slice_and_side_slices_differ():
    phantom = mr_t1_sagittal_phantom()
    (series,) = load_series(phantom.uploads()).series
    assert series.plane.value == "sagittal" and len(series) == 3
    middle = measure_series(series, phantom.rois)
    assert middle["L3"].mean == 345.0 and middle["CSF_L3"].mean == 100.0


def test_t2_phantom_disc_area_is_the_count_of_disc_pixels():
    phantom = mr_t2_axial_phantom()
    (series,) = load_series(phantom.uploads()).series
    result = measure_series(series, phantom.rois)
    for index in range(len(series)):
        label = next(m.label for m in result.measurements if m.label.startswith("DISC") and m.slice == index)
        disc_pixels = int(np.sum(series.pixels(index) == DISC_SI))
        assert result[label].n_pixels == disc_pixels
        assert result[label].area_mm2 == pytest.approx(disc_pixels * 0.64)


@pytest.mark.parametrize("name", sorted(PHANTOMS))
def test_shipped_sample_dicom_gives_its_true_values_and_matches_the_generator(name):
    folder = paths.SAMPLE_DICOM / name
    truth = json.loads((folder / "truth.json").read_text())
    result = measure_series(folder / "series", folder / "rois.json")
    assert {m.label: m.mean for m in result.measurements} == pytest.approx(truth["truth"], abs=1e-9)
    assert not result.skipped
    assert truth["truth"] == PHANTOMS[name].truth, "regenerate: python -m ovcf_core.imaging.phantoms"
    assert read_roi_file(folder / "rois.json") == PHANTOMS[name].rois


def test_shipped_sample_dicom_is_small():
    total = sum(p.stat().st_size for p in paths.SAMPLE_DICOM.rglob("*") if p.is_file())
    assert total < 2_000_000


# ------------------------------------------------------------------------------------------------ masks


def test_mask_phantoms_put_each_mask_on_its_structure():
    from ovcf_core.imaging.phantoms import (
        CT_MASK_HU,
        FAT_SI,
        MUSCLE_SI,
        SUBCUTANEOUS_FAT_SI,
        ct_mask_phantom,
        t1_mask_phantom,
        t2_mask_phantom,
    )

    ct = ct_mask_phantom()
    for level, hu in CT_MASK_HU.items():
        body = ct.images[ct.labels[level]]
        assert set(np.unique(body)) == {600.0, hu}  # cortical shell and trabecular bone only
    t1 = t1_mask_phantom()
    assert [float(t1.images[1][t1.labels[lv][1]].mean()) for lv in ("L1", "L2", "L3", "L4")] == [
        320.0,
        330.0,
        345.0,
        360.0,
    ]
    assert t1.truth["vbq"] == (330.0 + 345.0) / 2 / 100.0
    t2 = t2_mask_phantom()
    for name in ("PM_L", "PM_R", "MF_L", "MF_R", "ES_L", "ES_R"):
        assert set(np.unique(t2.images[t2.labels[name]])) <= {MUSCLE_SI, FAT_SI}
    assert set(np.unique(t2.images[t2.labels["DISC_L3L4"]])) == {DISC_SI}
    assert set(np.unique(t2.images[t2.labels["FAT"]])) == {SUBCUTANEOUS_FAT_SI}
    assert t2.truth["fi"] == pytest.approx(np.mean(list(mr_t2_axial_phantom().fat_percent.values())))


def test_a_written_mask_phantom_has_every_kind_of_mask(tmp_path):
    from ovcf_core.imaging.phantoms import t1_mask_phantom, write_mask_phantom

    folder = write_mask_phantom(t1_mask_phantom(), tmp_path / "t1")
    names = {p.name for p in folder.iterdir()}
    assert {
        "series",
        "labels.nii.gz",
        "labels.json",
        "labels_seg.dcm",
        "misaligned.nii.gz",
        "segmentations",
    } <= names
    assert {p.name for p in (folder / "segmentations").iterdir()} == {
        "L1.nii.gz",
        "L2.nii.gz",
        "L3.nii.gz",
        "L4.nii.gz",
        "spinal_canal.nii.gz",
    }
    assert json.loads((folder / "truth.json").read_text())["indicators"]["vbq"] == 3.375
