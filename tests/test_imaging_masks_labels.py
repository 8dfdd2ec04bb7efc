"""Label maps read onto a series voxel for voxel (NIfTI multi-label, one file per structure), the label
table, and bad masks refused with one line naming the mask (and the series when it does not fit)."""

from __future__ import annotations

import gzip
import itertools
import json

import nibabel as nib
import numpy as np
import pytest

from ovcf_core.errors import OvcfError
from ovcf_core.imaging import load_series
from ovcf_core.imaging.label_maps import LABEL_SCHEMES, LABELS, MaskError, canonical_name
from ovcf_core.imaging.mask_files import read_label_map
from ovcf_core.imaging.phantoms import ct_mask_phantom, t1_mask_phantom, t2_mask_phantom

MASK_PHANTOMS = {"ct": ct_mask_phantom(), "t1": t1_mask_phantom(), "t2": t2_mask_phantom()}


@pytest.fixture(scope="module")
def loaded():
    """Each mask phantom's series, read by the one series reader."""
    return {key: load_series(mp.phantom.uploads()).series[0] for key, mp in MASK_PHANTOMS.items()}


def _nifti(data: np.ndarray, affine: np.ndarray) -> bytes:
    return gzip.compress(nib.Nifti1Image(data, affine).to_bytes(), mtime=0)


def _refusal(source, series, **kwargs) -> str:
    with pytest.raises(MaskError) as error:
        read_label_map(source, series, **kwargs)
    message = str(error.value)
    assert isinstance(error.value, OvcfError) and "\n" not in message
    return message


@pytest.mark.parametrize(
    ("source", "canonical"),
    [
        ("vertebrae_L1", "L1"),
        ("vertebrae_L5", "L5"),
        ("L3 vertebral body", "L3"),
        ("autochthon_left", "AUTOCHTHON_L"),
        ("iliopsoas_right", "ILIOPSOAS_R"),
        ("spinal_canal", "CSF"),
        ("Left Multifidus", "MF_L"),
        ("thoracolumbar multifidus right", "MF_R"),
        ("erector-spinae_left", "ES_L"),
        ("psoas_major_right", "PM_R"),
        ("disc L3-L4", "DISC_L3L4"),
        ("intervertebral_disc_L5_S1", "DISC_L5S1"),
        ("subcutaneous_fat", "FAT"),
        ("PM_L", "PM_L"),
        ("spinal_cord", None),
        ("liver", None),
    ],
)
def test_source_names_map_to_the_documented_canonical_labels(source, canonical):
    assert canonical_name(source) == canonical


def test_known_schemes_name_the_published_values():
    assert LABEL_SCHEMES["totalsegmentator"][31] == "L1" and LABEL_SCHEMES["totalsegmentator"][27] == "L5"
    assert LABEL_SCHEMES["totalsegmentator"][86] == "AUTOCHTHON_L"
    assert LABEL_SCHEMES["musclemap"] == {
        5101: "MF_L",
        5102: "MF_R",
        5111: "ES_L",
        5112: "ES_R",
        5121: "PM_L",
        5122: "PM_R",
    }
    assert set(LABEL_SCHEMES["musclemap"].values()) <= set(LABELS)


@pytest.mark.parametrize("key", sorted(MASK_PHANTOMS))
def test_a_multi_label_nifti_lands_on_the_series_voxel_for_voxel(key, loaded):
    mp = MASK_PHANTOMS[key]
    label_map = read_label_map(("labels.nii.gz", mp.nifti()), loaded[key], labels=mp.value_table())
    assert set(label_map.labels) == set(mp.labels)
    for name, mask in mp.labels.items():
        np.testing.assert_array_equal(label_map.mask(name), mask, err_msg=name)
    assert label_map.series_uid == loaded[key].uid


@pytest.mark.parametrize("key", sorted(MASK_PHANTOMS))
def test_a_folder_of_one_file_per_structure_reads_the_same(key, loaded, tmp_path):
    mp = MASK_PHANTOMS[key]
    folder = tmp_path / "study" / "segmentations"  # TotalSegmentator's layout
    folder.mkdir(parents=True)
    for name, data in mp.nifti_files().items():
        (folder / name).write_bytes(data)
    (folder / "liver.nii.gz").write_bytes(b"not even read: not a structure this tool measures")
    label_map = read_label_map(tmp_path / "study", loaded[key])
    for name, mask in mp.labels.items():
        np.testing.assert_array_equal(label_map.mask(name), mask, err_msg=name)
        assert label_map.file_of(name) == f"{mp.source_names[name]}.nii.gz"


def test_uploaded_structure_files_read_like_the_folder(loaded):
    mp = MASK_PHANTOMS["t2"]
    label_map = read_label_map(list(mp.nifti_files().items()), loaded["t2"])
    np.testing.assert_array_equal(label_map.mask("ES_L"), mp.labels["ES_L"])


def test_a_sidecar_json_names_the_values_of_a_multi_label_file(loaded, tmp_path):
    mp = MASK_PHANTOMS["t1"]
    (tmp_path / "t1_labels.nii.gz").write_bytes(mp.nifti())
    (tmp_path / "t1_labels.json").write_text(json.dumps({str(k): v for k, v in mp.value_table().items()}))
    label_map = read_label_map(tmp_path / "t1_labels.nii.gz", loaded["t1"])
    np.testing.assert_array_equal(label_map.mask("CSF"), mp.labels["CSF"])


def test_any_axis_order_and_flip_of_the_series_grid_is_accepted(loaded):
    mp = MASK_PHANTOMS["ct"]
    data = mp.label_array()[::-1, :, ::-1]  # (slice, row, column) with slices and columns reversed
    lps = mp.affine_lps.copy()
    n_slices, _, n_columns = data.shape
    lps[:3, 3] = lps[:3, 3] + (n_slices - 1) * lps[:3, 0] + (n_columns - 1) * lps[:3, 2]
    lps[:3, 0], lps[:3, 2] = -lps[:3, 0], -lps[:3, 2]
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    label_map = read_label_map(
        ("reversed.nii.gz", _nifti(np.ascontiguousarray(data), affine)), loaded["ct"], labels=mp.value_table()
    )
    for name, mask in mp.labels.items():
        np.testing.assert_array_equal(label_map.mask(name), mask)


def test_a_misaligned_mask_is_refused_naming_the_mask_and_the_series(loaded):
    mp = MASK_PHANTOMS["ct"]
    message = _refusal(
        ("misaligned.nii.gz", mp.nifti(shift_mm=(0.0, 0.0, 4.0))), loaded["ct"], labels=mp.value_table()
    )
    assert message.startswith(
        "misaligned.nii.gz: lies outside the CT series' voxel grid: it is shifted by 2 slice(s)"
    )
    assert "series 'CT axial, 24 slice(s), 48×48" in message


def test_a_mask_off_the_voxel_centres_is_refused(loaded):
    mp = MASK_PHANTOMS["t1"]
    message = _refusal(
        ("half.nii.gz", mp.nifti(shift_mm=(0.0, 0.5, 0.0))), loaded["t1"], labels=mp.value_table()
    )
    assert "sit 0.5 mm off the series' voxel centres" in message and "MR sagittal" in message


def test_a_mask_with_other_voxel_sizes_is_refused(loaded):
    mp = MASK_PHANTOMS["ct"]
    data = np.transpose(mp.label_array(), (2, 1, 0))
    affine = np.diag([-0.8, -0.8, 4.0, 1.0])
    message = _refusal(("coarse.nii.gz", _nifti(data, affine)), loaded["ct"], labels=mp.value_table())
    assert "its voxels are 0.8×0.8×4 mm, the series' 0.8×0.8×2 mm" in message


def test_a_mask_of_another_size_is_refused(loaded):
    mp = MASK_PHANTOMS["ct"]
    lps = mp.affine_lps
    data = np.transpose(mp.label_array()[:-1], (2, 1, 0))  # one slice short
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ np.column_stack([lps[:, 2], lps[:, 1], lps[:, 0], lps[:, 3]])
    message = _refusal(
        ("short.nii.gz", _nifti(np.ascontiguousarray(data), affine)), loaded["ct"], labels=mp.value_table()
    )
    assert "it is 48×48×23 voxels, the series 48×48×24" in message


def test_a_mask_of_another_series_is_refused(loaded):
    mp = MASK_PHANTOMS["t1"]  # sagittal masks against the axial T2 series
    message = _refusal(("sagittal.nii.gz", mp.nifti()), loaded["t2"], labels=mp.value_table())
    assert "its voxels are 1×1×4 mm, the series' 0.8×35×0.8 mm" in message and "MR axial" in message


def test_a_mask_in_an_oblique_orientation_is_refused(loaded):
    mp = MASK_PHANTOMS["ct"]
    turn = np.eye(4)
    angle = np.deg2rad(20)
    turn[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    lps = turn @ np.column_stack(
        [mp.affine_lps[:, 2], mp.affine_lps[:, 1], mp.affine_lps[:, 0], mp.affine_lps[:, 3]]
    )
    data = np.ascontiguousarray(np.transpose(mp.label_array(), (2, 1, 0)))
    message = _refusal(
        ("tilted.nii.gz", _nifti(data, np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps)),
        loaded["ct"],
        labels=mp.value_table(),
    )
    assert "its orientation differs from the series'" in message and "CT axial" in message


@pytest.mark.parametrize(
    ("name", "data", "expect"),
    [
        ("empty.nii.gz", np.zeros((48, 48, 24), np.uint8), "is empty: no voxel is labelled"),
        (
            "four_d.nii.gz",
            np.ones((48, 48, 24, 3), np.uint8),
            "is a 4-D image (48×48×24×3); a 3-D mask is expected",
        ),
        ("probabilities.nii.gz", np.full((48, 48, 24), 0.4, np.float32), "holds non-integer values"),
        ("unnamed.nii.gz", np.ones((48, 48, 24), np.uint8) * 7, "no label table says what they are"),
    ],
)
def test_bad_masks_get_one_clear_line(name, data, expect, loaded):
    message = _refusal((name, _nifti(data, np.diag([-0.8, -0.8, 2.0, 1.0]))), loaded["ct"])
    assert message.startswith(f"{name}: ") and expect in message


@pytest.mark.parametrize(
    "data", [b"", b"vertebra L1\n", _nifti(np.ones((4, 4, 4), np.uint8), np.eye(4))[:-20]]
)
def test_unreadable_masks_get_one_clear_line(data, loaded):
    message = _refusal(("vertebrae_L1.nii.gz", data), loaded["ct"])
    assert message.startswith("vertebrae_L1.nii.gz: is not a readable NIfTI mask (")


def test_a_trailing_singleton_fourth_axis_is_read_as_3d(loaded):
    mp = MASK_PHANTOMS["t2"]
    lps = mp.affine_lps
    data = np.transpose(mp.label_array(), (2, 1, 0))[..., np.newaxis]
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ np.column_stack([lps[:, 2], lps[:, 1], lps[:, 0], lps[:, 3]])
    label_map = read_label_map(
        ("x.nii.gz", _nifti(np.ascontiguousarray(data), affine)), loaded["t2"], labels=mp.value_table()
    )
    np.testing.assert_array_equal(label_map.mask("FAT"), mp.labels["FAT"])


def test_a_folder_without_known_structures_is_refused(tmp_path, loaded):
    (tmp_path / "liver.nii.gz").write_bytes(b"x")
    (tmp_path / "spleen.nii.gz").write_bytes(b"x")
    message = _refusal(tmp_path, loaded["ct"])
    assert message.startswith(f"{tmp_path.name}: holds no mask")


def test_an_empty_structure_file_is_kept_aside_and_refused_only_when_needed(tmp_path, loaded):
    mp = MASK_PHANTOMS["ct"]
    for name, data in mp.nifti_files().items():
        (tmp_path / name).write_bytes(data)
    lps = mp.affine_lps
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ np.column_stack([lps[:, 2], lps[:, 1], lps[:, 0], lps[:, 3]])
    (tmp_path / "vertebrae_T12.nii.gz").write_bytes(_nifti(np.zeros((48, 48, 24), np.uint8), affine))
    label_map = read_label_map(tmp_path, loaded["ct"])
    assert label_map.empty == {"T12": "vertebrae_T12.nii.gz"} and "T12" not in label_map.labels
    with pytest.raises(MaskError, match=r"^vertebrae_T12\.nii\.gz: is empty: .*too small to measure"):
        label_map.require(["L1", "T12"], "HU")


def test_a_multi_label_file_whose_labels_are_all_unknown_is_refused(loaded):
    data = np.zeros((48, 48, 24), np.uint8)
    data[10:20, 10:20, 5:10] = 5
    message = _refusal(("organs.nii.gz", _nifti(data, np.eye(4))), loaded["ct"], labels={5: "liver"})
    assert "holds labels 5, none of them a structure this tool measures" in message


def test_a_folder_with_one_multi_label_file_or_one_seg_reads_that_file(loaded, tmp_path):
    from ovcf_core.imaging.seg import write_seg

    mp = MASK_PHANTOMS["t2"]
    (tmp_path / "nifti").mkdir()
    (tmp_path / "nifti" / "study_labels.nii.gz").write_bytes(mp.nifti())
    (tmp_path / "nifti" / "study_labels.json").write_text(json.dumps(mp.value_table()))
    from_nifti = read_label_map(tmp_path / "nifti", loaded["t2"])
    np.testing.assert_array_equal(from_nifti.mask("MF_R"), mp.labels["MF_R"])
    (tmp_path / "seg").mkdir()
    write_seg(from_nifti, loaded["t2"], tmp_path / "seg" / "regions")
    np.testing.assert_array_equal(read_label_map(tmp_path / "seg", loaded["t2"]).data, from_nifti.data)
    (tmp_path / "seg" / "second").write_bytes((tmp_path / "seg" / "regions").read_bytes())
    assert "holds 2 DICOM files; keep one DICOM SEG" in _refusal(tmp_path / "seg", loaded["t2"])
    (tmp_path / "nothing").mkdir()
    assert "holds no NIfTI mask (.nii or .nii.gz) and no DICOM SEG" in _refusal(
        tmp_path / "nothing", loaded["t2"]
    )


def test_a_series_whose_slice_indices_are_ambiguous_takes_no_mask(loaded):
    import dataclasses

    mp = MASK_PHANTOMS["ct"]
    unsure = dataclasses.replace(loaded["ct"], ambiguous="a skipped file could not be placed")
    message = _refusal(("labels.nii.gz", mp.nifti()), unsure, labels=mp.value_table())
    assert message.startswith("labels.nii.gz: cannot be placed on the series 'CT axial")


def test_uploads_of_one_multi_label_file_with_its_json_table_are_read(loaded):
    mp = MASK_PHANTOMS["t1"]
    uploads = [("t1.nii.gz", mp.nifti()), ("t1.json", json.dumps(mp.value_table()).encode())]
    np.testing.assert_array_equal(read_label_map(uploads, loaded["t1"]).mask("L3"), mp.labels["L3"])
    message = _refusal([("a.nii.gz", mp.nifti()), ("b.nii.gz", mp.nifti())], loaded["t1"])
    assert message.startswith("the masks: 2 files, none named after a structure")
    message = _refusal([("t1.nii.gz", mp.nifti()), ("t1.json", b"[1, 2")], loaded["t1"])
    assert message.startswith("t1.json: is not a label table")


def _reoriented(mp, order: tuple[int, int, int], flips: tuple[bool, bool, bool]) -> bytes:
    """The phantom's labels stored with the series axes (slice, row, column) in `order` and reversed where
    `flips` says, with the affine that puts every voxel back in the same place (RAS, as NIfTI)."""
    data = mp.label_array()
    lps = mp.affine_lps.copy()
    for axis, flip in enumerate(flips):
        if flip:
            data = np.flip(data, axis)
            lps[:3, 3] = lps[:3, 3] + (data.shape[axis] - 1) * lps[:3, axis]
            lps[:3, axis] = -lps[:3, axis]
    data = np.ascontiguousarray(np.transpose(data, order))
    columns = [lps[:, a] for a in order]
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ np.column_stack([*columns, lps[:, 3]])
    return _nifti(data, affine)


@pytest.mark.parametrize("order", list(itertools.permutations(range(3))))
def test_every_axis_order_and_flip_lands_on_the_same_voxels(order, loaded):
    mp = MASK_PHANTOMS["t2"]
    for flips in itertools.product((False, True), repeat=3):
        source = ("any.nii.gz", _reoriented(mp, order, flips))
        label_map = read_label_map(source, loaded["t2"], labels=mp.value_table())
        np.testing.assert_array_equal(
            label_map.data,
            read_label_map(("ref.nii.gz", mp.nifti()), loaded["t2"], labels=mp.value_table()).data,
            err_msg=str((order, flips)),
        )


@pytest.mark.parametrize(("degrees", "fits"), [(0.5, False), (0.01, True)])
def test_a_slight_tilt_is_refused_once_the_far_corner_leaves_its_voxel(degrees, fits, loaded):
    mp = MASK_PHANTOMS["t2"]  # 128 × 128: 0.5° moves the far corner 1.1 voxels, 0.01° 0.02 voxels
    lps = np.column_stack(
        [mp.affine_lps[:, 2], mp.affine_lps[:, 1], mp.affine_lps[:, 0], mp.affine_lps[:, 3]]
    )
    angle = np.deg2rad(degrees)
    turn = np.eye(4)
    turn[:2, :2] = [[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]]
    centre = lps[:3, 3].copy()
    lps[:3, :3] = turn[:3, :3] @ lps[:3, :3]  # turned about the first voxel
    lps[:3, 3] = centre
    data = np.ascontiguousarray(np.transpose(mp.label_array(), (2, 1, 0)))
    source = ("tilted.nii.gz", _nifti(data, np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps))
    if fits:
        label_map = read_label_map(source, loaded["t2"], labels=mp.value_table())
        np.testing.assert_array_equal(label_map.mask("PM_L"), mp.labels["PM_L"])
    else:
        assert "its orientation differs" in _refusal(source, loaded["t2"], labels=mp.value_table())
