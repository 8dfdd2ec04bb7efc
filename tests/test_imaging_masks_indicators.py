"""Indicators from masks recover the phantoms' truth exactly (truth computed with numpy on the known
arrays, not by the measuring code); mask regions become editable ROIs and edited ROIs a label map."""

from __future__ import annotations

import statistics

import numpy as np
import pytest

from ovcf_core.imaging import load_series, measure_on
from ovcf_core.imaging.image_indicators import image_indicators
from ovcf_core.imaging.label_maps import MaskError, empty_label_map
from ovcf_core.imaging.mask_files import read_label_map
from ovcf_core.imaging.mask_indicators import mask_indicators, muscle_indicators, vbq_rois
from ovcf_core.imaging.mask_outlines import label_rois, outline, rois_to_label_map, structure_of
from ovcf_core.imaging.masks import measure_vertebrae
from ovcf_core.imaging.mri import FatMethod, FatThreshold, otsu_threshold
from ovcf_core.imaging.phantoms import (
    CT_MASK_HU,
    ct_mask_phantom,
    t1_mask_phantom,
    t2_mask_phantom,
    write_mask_phantom,
)
from ovcf_core.imaging.roi import Roi, Shape, roi_mask

MASK_PHANTOMS = {"ct": ct_mask_phantom(), "t1": t1_mask_phantom(), "t2": t2_mask_phantom()}
INDICATORS = {"ct": ("hu",), "t1": ("vbq",), "t2": ("rcsa", "fi")}


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    """Each phantom written to disk with its NIfTI, per-structure and DICOM SEG masks."""
    root = tmp_path_factory.mktemp("mask_phantoms")
    out = {}
    for key, mp in MASK_PHANTOMS.items():
        folder = write_mask_phantom(mp, root / key)
        out[key] = (folder, load_series(folder / "series").pick())
    return out


@pytest.mark.parametrize("key", sorted(MASK_PHANTOMS))
@pytest.mark.parametrize("kind", ["labels.nii.gz", "segmentations", "labels_seg.dcm"])
def test_every_indicator_is_recovered_exactly_from_every_kind_of_mask(key, kind, written):
    folder, series = written[key]
    result = mask_indicators(read_label_map(folder / kind, series), series)
    truth = MASK_PHANTOMS[key].truth
    assert set(result.values()) == set(INDICATORS[key])
    for name in INDICATORS[key]:
        assert result.values()[name] == pytest.approx(truth[name], rel=1e-12, abs=1e-12), name


def test_the_misaligned_mask_is_refused_for_every_phantom(written):
    for folder, series in written.values():
        with pytest.raises(
            MaskError, match=r"^misaligned\.nii\.gz: lies outside the (CT|MR) series' voxel grid"
        ):
            read_label_map(folder / "misaligned.nii.gz", series)


def test_ct_hu_per_vertebra_is_each_body_s_trabecular_hu(written):
    folder, series = written["ct"]
    result = measure_vertebrae(series, folder / "segmentations")
    assert {level: r.mean for level, r in result.items()} == CT_MASK_HU
    assert all(r.sd == 0.0 for r in result.values())


def test_a_fractured_level_is_left_out_of_hu_and_vbq(written):
    folder, series = written["ct"]
    hu = mask_indicators(read_label_map(folder / "labels.nii.gz", series), series, fractured="L2")
    assert hu.values()["hu"] == pytest.approx(np.mean([v for k, v in CT_MASK_HU.items() if k != "L2"]))
    folder, series = written["t1"]
    vbq = mask_indicators(read_label_map(folder / "labels.nii.gz", series), series, fractured={"l2"})
    assert vbq.values()["vbq"] == pytest.approx(MASK_PHANTOMS["t1"].truth["vbq_l2_fractured"], rel=1e-12)
    assert "L2" not in vbq.image.indicators["vbq"].used


def test_vbq_uses_the_mid_sagittal_slice_and_the_csf_at_l3(written):
    folder, series = written["t1"]
    mp = MASK_PHANTOMS["t1"]
    result = mask_indicators(read_label_map(folder / "labels.nii.gz", series), series)
    assert result.slices == {"mid_sagittal": 1}
    csf_l3 = result.measurement["CSF_L3"]
    rows = np.flatnonzero(mp.labels["L3"][1].any(axis=1))
    expected = mp.images[1][rows.min() : rows.max() + 1][mp.labels["CSF"][1][rows.min() : rows.max() + 1]]
    assert csf_l3.mean == expected.mean() and csf_l3.n_pixels == expected.size
    si = [mp.images[1][mp.labels[level][1]].mean() for level in ("L1", "L2", "L3", "L4")]
    assert result.values()["vbq"] == statistics.median(si) / expected.mean()


def test_csa_of_each_muscle_is_its_pixel_count_times_the_pixel_area(written):
    folder, series = written["t2"]
    mp = MASK_PHANTOMS["t2"]
    result = mask_indicators(read_label_map(folder / "labels_seg.dcm", series), series)
    assert result.slices == {"L3L4": 1, "L4L5": 0}
    for level, k in result.slices.items():
        for name in ("PM_L", "PM_R", "MF_L", "MF_R", "ES_L", "ES_R"):
            row = result.measurement[f"{name}_{level}"]
            assert row.area_mm2 == pytest.approx(mp.labels[name][k].sum() * 0.8 * 0.8)
        assert result.measurement[f"DISC_{level}"].n_pixels == mp.labels[f"DISC_{level}"][k].sum()


def test_fi_without_a_fat_label_needs_another_threshold(written):
    folder, series = written["t2"]
    mp = MASK_PHANTOMS["t2"]
    label_map = read_label_map(folder / "labels.nii.gz", series, names=[n for n in mp.labels if n != "FAT"])
    with pytest.raises(MaskError, match=r"^labels\.nii\.gz: has no subcutaneous-fat \(FAT\) region"):
        mask_indicators(label_map, series)
    otsu = muscle_indicators(label_map, series, fat=FatThreshold(FatMethod.OTSU))
    fractions = []
    for k in (0, 1):
        for name in ("PM_L", "PM_R", "MF_L", "MF_R", "ES_L", "ES_R"):
            values = mp.images[k][mp.labels[name][k]]
            fractions.append(100.0 * np.mean(values > otsu_threshold(values)))
    assert otsu.values()["fi"] == pytest.approx(np.mean(fractions))
    assert otsu.values()["rcsa"] == pytest.approx(mp.truth["rcsa"])


@pytest.mark.parametrize(
    ("key", "keep", "expect"),
    [
        ("t1", ("L1", "L2", "L3", "L4"), r"has no CSF label \(needed for VBQ"),
        (
            "t1",
            ("CSF",),
            r"has no L1, L2, L3 or L4 vertebral body label \(needed for VBQ\); labels found: CSF",
        ),
        ("t2", ("PM_L", "MF_L", "ES_L", "FAT"), r"has no disc label of L1-2"),
        ("t2", ("DISC_L3L4", "FAT"), r"has no psoas major, multifidus or erector spinae label"),
        ("ct", ("L5",), r"has no vertebra mask of L1, L2, L3, L4"),
    ],
)
def test_missing_required_labels_get_one_clear_line(key, keep, expect, written):
    _, series = written[key]
    mp = MASK_PHANTOMS[key]
    files = [
        (f"{mp.source_names[n]}.nii.gz", data)
        for n, data in zip(mp.labels, mp.nifti_files().values(), strict=True)
        if n in keep
    ]
    if key == "ct":  # an L5 mask only
        files = [("vertebrae_L5.nii.gz", mp.nifti_files()["vertebrae_L1.nii.gz"])]
    label_map = read_label_map(files, series)
    with pytest.raises(MaskError, match=expect) as error:
        mask_indicators(label_map, series)
    assert "\n" not in str(error.value)


def test_a_mask_read_for_another_series_is_refused(written):
    folder, series = written["t1"]
    _, other = written["t2"]
    label_map = read_label_map(folder / "labels.nii.gz", series)
    with pytest.raises(MaskError, match="was read onto another series"):
        mask_indicators(label_map, other)


@pytest.mark.parametrize("key", sorted(MASK_PHANTOMS))
def test_label_rois_rasterise_back_to_the_exact_masks(key, written):
    folder, series = written[key]
    label_map = read_label_map(folder / "labels.nii.gz", series)
    for k in range(len(series)):
        rois = label_rois(label_map, k)
        assert {r.label for r in rois} == {n for n in label_map.labels if label_map.slice_mask(n, k).any()}
        for roi in rois:
            np.testing.assert_array_equal(
                roi_mask(roi, series.rows, series.columns), label_map.slice_mask(roi.label, k)
            )
    rebuilt = rois_to_label_map(
        [r for k in range(len(series)) for r in label_rois(label_map, k)], empty_label_map(series)
    )
    np.testing.assert_array_equal(rebuilt.data, label_map.data)


def test_outline_of_parts_and_holes_holds_exactly_their_pixels():
    rng = np.random.default_rng(7)
    for _ in range(200):
        mask = rng.random((11, 13)) < rng.uniform(0.1, 0.9)
        points = outline(mask)
        if mask.any():
            np.testing.assert_array_equal(roi_mask(Roi("x", 0, Shape.POLYGON, points=points), 11, 13), mask)
        else:
            assert points == ()


def test_measuring_the_mask_rois_again_gives_the_same_indicators(written):
    folder, series = written["t2"]
    result = mask_indicators(read_label_map(folder / "labels.nii.gz", series), series)
    again = image_indicators(measure_on(series, result.rois), (), FatThreshold())
    assert again.values() == result.values()


def test_an_edited_roi_changes_only_its_structure_on_its_slice(written):
    folder, series = written["t1"]
    label_map = read_label_map(folder / "labels.nii.gz", series)
    _, k = vbq_rois(label_map, series)
    smaller = Roi("L1", k, Shape.RECTANGLE, points=((40.0, 20.0), (59.0, 31.0)))
    edited = rois_to_label_map([smaller], label_map)
    changed = edited.data != label_map.data
    assert set(np.unique(np.argwhere(changed)[:, 0])) == {k}
    np.testing.assert_array_equal(edited.slice_mask("L1", k), roi_mask(smaller, series.rows, series.columns))
    for name in ("L2", "L3", "L4", "CSF"):
        np.testing.assert_array_equal(edited.mask(name), label_map.mask(name))
    assert edited.notes[-1] == f"replaced from ROIs: L1 on slice {k}"
    result = mask_indicators(edited, series)
    assert result.measurement["L1"].n_pixels == 20 * 12


@pytest.mark.parametrize(
    ("label", "structure"),
    [("PM_L_L3L4", "PM_L"), ("CSF_L3", "CSF"), ("FAT_L4L5", "FAT"), ("DISC_L3L4", "DISC_L3L4"), ("l1", "L1")],
)
def test_indicator_roi_labels_name_their_structure(label, structure):
    assert structure_of(label) == structure


def test_an_roi_naming_no_structure_is_refused(written):
    folder, series = written["t1"]
    label_map = read_label_map(folder / "labels.nii.gz", series)
    with pytest.raises(MaskError, match="ROI 'tumour' names no structure"):
        rois_to_label_map([Roi("tumour", 0, Shape.RECTANGLE, points=((1.0, 1.0), (3.0, 3.0)))], label_map)


def test_an_roi_off_the_image_is_refused_naming_it(written):
    from ovcf_core.errors import InputError

    folder, series = written["t1"]
    label_map = read_label_map(folder / "labels.nii.gz", series)
    with pytest.raises(InputError, match="ROI 'L1' reaches outside the 128×128 image"):
        rois_to_label_map([Roi("L1", 1, Shape.RECTANGLE, points=((120.0, 1.0), (140.0, 3.0)))], label_map)
    with pytest.raises(InputError, match="ROI 'L1' is on slice 5, but the series has slices 0 to 2"):
        rois_to_label_map([Roi("L1", 5, Shape.RECTANGLE, points=((1.0, 1.0), (3.0, 3.0)))], label_map)


def test_ct_rois_are_the_measured_cores_inside_the_trabecular_bone(written):
    folder, series = written["ct"]
    mp = MASK_PHANTOMS["ct"]
    result = mask_indicators(read_label_map(folder / "labels.nii.gz", series), series)
    assert [r.label for r in result.rois] == ["L1", "L2", "L3", "L4"]
    for roi in result.rois:
        section = roi_mask(roi, series.rows, series.columns)
        assert roi.slice == result.slices[roi.label] == result.vertebrae_hu[roi.label].slice
        assert set(np.unique(mp.images[roi.slice][section])) == {CT_MASK_HU[roi.label]}  # no cortical shell
        assert 0 < section.sum() < mp.labels[roi.label][roi.slice].sum()


@pytest.mark.parametrize("key", sorted(MASK_PHANTOMS))
def test_results_are_plain_json_and_a_table(key, written):
    import json

    folder, series = written[key]
    result = mask_indicators(read_label_map(folder / "labels.nii.gz", series), series)
    document = json.loads(json.dumps(result.to_dict(), allow_nan=False))
    assert {k: v["value"] for k, v in document["indicators"].items()} == result.values()
    assert len(result.to_frame()) == len(document["structures"]) == len(result.image.rows)
