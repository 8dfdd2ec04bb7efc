"""DICOM SEG written by the tool reads back into the same regions, voxel for voxel, with highdicom and with
plain pydicom; it references its series, holds no patient identifier, and bad SEGs get one clear line."""

from __future__ import annotations

import io

import highdicom as hd
import numpy as np
import pydicom
import pytest

from ovcf_core.imaging import load_series
from ovcf_core.imaging.label_maps import CODE, LABELS, MaskError
from ovcf_core.imaging.mask_files import read_label_map
from ovcf_core.imaging.mask_outlines import rois_to_label_map
from ovcf_core.imaging.phantoms import PLANTED_IDENTIFIERS, ct_mask_phantom, t1_mask_phantom, t2_mask_phantom
from ovcf_core.imaging.roi import Roi, Shape
from ovcf_core.imaging.seg import read_seg, write_seg

MASK_PHANTOMS = {"ct": ct_mask_phantom(), "t1": t1_mask_phantom(), "t2": t2_mask_phantom()}


@pytest.fixture(scope="module")
def written():
    """(series, label map from the NIfTI, SEG bytes) of each phantom."""
    out = {}
    for key, mp in MASK_PHANTOMS.items():
        series = load_series(mp.phantom.uploads()).pick()
        label_map = read_label_map(("labels.nii.gz", mp.nifti()), series, labels=mp.value_table())
        out[key] = (series, label_map, write_seg(label_map, series))
    return out


def _pydicom_regions(data: bytes, mp) -> dict[str, np.ndarray]:
    """The SEG's segments as (slice, row, column) masks in the phantom's sorted order, read with pydicom
    only: each frame placed by its ImagePositionPatient against the phantom's known geometry."""
    ds = pydicom.dcmread(io.BytesIO(data))
    names = {int(item.SegmentNumber): str(item.SegmentLabel) for item in ds.SegmentSequence}
    frames = ds.pixel_array.reshape(int(ds.NumberOfFrames), int(ds.Rows), int(ds.Columns))
    origin, step = mp.affine_lps[:3, 3], mp.affine_lps[:3, 0]
    out = {name: np.zeros(mp.images.shape, dtype=bool) for name in names.values()}
    for frame, item in zip(frames, ds.PerFrameFunctionalGroupsSequence, strict=True):
        number = int(item.SegmentIdentificationSequence[0].ReferencedSegmentNumber)
        position = np.array(item.PlanePositionSequence[0].ImagePositionPatient, dtype=float)
        k = float(np.dot(position - origin, step) / np.dot(step, step))
        assert abs(k - round(k)) < 1e-6 and np.allclose(position, origin + round(k) * step, atol=1e-4)
        out[names[number]][round(k)] = frame.astype(bool)
    return out


@pytest.mark.parametrize("key", sorted(MASK_PHANTOMS))
def test_seg_reads_back_the_same_regions_with_highdicom_and_pydicom(key, written):
    series, label_map, data = written[key]
    mp = MASK_PHANTOMS[key]
    back = read_seg(("regions.dcm", data), series)  # highdicom
    np.testing.assert_array_equal(back.data, label_map.data)
    plain = _pydicom_regions(data, mp)
    assert set(plain) == set(mp.labels)
    for name, mask in mp.labels.items():
        np.testing.assert_array_equal(plain[name], mask, err_msg=name)
        np.testing.assert_array_equal(back.mask(name), mask, err_msg=name)


def test_seg_is_binary_references_its_series_and_names_segments_canonically(written):
    series, label_map, data = written["t2"]
    seg = hd.seg.segread(io.BytesIO(data))
    assert seg.segmentation_type == hd.seg.SegmentationTypeValues.BINARY
    assert [seg.get_segment_description(n).segment_label for n in seg.segment_numbers] == list(
        label_map.labels
    )
    assert {str(item.SeriesInstanceUID) for item in seg.ReferencedSeriesSequence} == {series.uid}
    sources = {
        pydicom.dcmread(io.BytesIO(b)).SOPInstanceUID for b in MASK_PHANTOMS["t2"].phantom.files.values()
    }
    referenced = {
        i.ReferencedSOPInstanceUID for i in seg.ReferencedSeriesSequence[0].ReferencedInstanceSequence
    }
    assert referenced == sources
    assert set(label_map.labels) <= set(LABELS)


def test_seg_carries_no_patient_identifier_unless_asked(written):
    series, label_map, data = written["t1"]
    text = data.decode("latin-1")
    assert not any(value in text for value in PLANTED_IDENTIFIERS.values())
    kept = write_seg(label_map, series, keep_identifiers=True)
    assert pydicom.dcmread(io.BytesIO(kept)).PatientID == PLANTED_IDENTIFIERS["PatientID"]


def test_read_label_map_recognises_a_seg_file(written, tmp_path):
    series, label_map, data = written["ct"]
    path = tmp_path / "masks.dcm"
    path.write_bytes(data)
    np.testing.assert_array_equal(read_label_map(path, series).data, label_map.data)
    np.testing.assert_array_equal(read_label_map(("upload.dcm", data), series).data, label_map.data)


def test_corrected_regions_go_out_as_seg_and_come_back_unchanged(written, tmp_path):
    series, label_map, _ = written["t1"]
    edited = rois_to_label_map(
        [Roi("L2", 1, Shape.RECTANGLE, points=((40.0, 44.0), (55.0, 58.0)))], label_map
    )
    path = tmp_path / "corrected.dcm"
    data = write_seg(edited, series, path, description="corrected")
    assert path.read_bytes() == data
    np.testing.assert_array_equal(read_seg(path, series).data, edited.data)


def test_a_seg_of_another_series_is_refused_naming_both(written):
    _, _, data = written["t1"]
    other, _, _ = written["t2"]
    with pytest.raises(MaskError) as error:
        read_seg(("t1_regions.dcm", data), other)
    message = str(error.value)
    assert message.startswith("t1_regions.dcm: was made on another series") and "MR axial" in message


@pytest.mark.parametrize("cut", [b"", b"DICM but not really", None])
def test_an_unreadable_seg_gets_one_line(cut, written):
    series, _, data = written["ct"]
    broken = data[: len(data) // 2] if cut is None else cut
    with pytest.raises(MaskError, match=r"^bad\.dcm: is not a readable DICOM SEG") as error:
        read_seg(("bad.dcm", broken), series)
    assert "\n" not in str(error.value)


def test_an_empty_map_is_not_written(written):
    series, label_map, _ = written["ct"]
    with pytest.raises(MaskError, match="is empty: no region to write"):
        write_seg(label_map.with_data(np.zeros_like(label_map.data)), series)


@pytest.mark.parametrize("slices", [(3, 10, 11), (7,)])
def test_a_seg_of_a_few_scattered_slices_lands_on_those_slices(slices, written):
    series, label_map, _ = written["ct"]
    data = np.zeros_like(label_map.data)
    for k, name in zip(slices, ("L4", "L3", "CSF"), strict=False):
        data[k, 5 + k : 12 + k, 6:20] = CODE[name]
    sparse = label_map.with_data(data)
    np.testing.assert_array_equal(read_seg(("sparse.dcm", write_seg(sparse, series)), series).data, data)


def test_rois_are_written_as_seg_and_read_back_as_their_pixels(written):
    from ovcf_core.imaging.roi import roi_mask

    series, _, _ = written["t2"]
    rois = [
        Roi("PM_L_L3L4", 1, Shape.ELLIPSE, center=(90.0, 50.0), radii=(6.0, 4.0)),
        Roi("DISC_L3L4", 1, Shape.RECTANGLE, points=((50.0, 45.0), (77.0, 60.0))),
        Roi("MF_R", 0, Shape.POLYGON, points=((55.0, 80.0), (62.0, 80.0), (58.0, 91.0))),
    ]
    back = read_seg(("rois.dcm", write_seg(rois, series)), series)
    assert back.labels == ("DISC_L3L4", "PM_L", "MF_R")
    for roi, name in zip(rois, ("PM_L", "DISC_L3L4", "MF_R"), strict=True):
        np.testing.assert_array_equal(
            back.slice_mask(name, roi.slice), roi_mask(roi, series.rows, series.columns)
        )
    assert back.counts == {
        n: int(sum(roi_mask(r, 128, 128).sum() for r in rois if r.label.startswith(n))) for n in back.labels
    }


def test_the_shipped_sample_series_take_a_seg_of_their_rois():
    from ovcf_core import paths
    from ovcf_core.imaging import read_roi_file
    from ovcf_core.imaging.roi import roi_mask

    folder = paths.SAMPLE_DICOM / "mr_t2_axial"
    series = load_series(folder / "series").pick()
    rois = [r for r in read_roi_file(folder / "rois.json") if not r.label.startswith("FAT")]
    back = read_seg(("sample.dcm", write_seg(rois, series)), series)
    pm = next(r for r in rois if r.label == "PM_L_L3L4")
    np.testing.assert_array_equal(
        back.slice_mask("PM_L", pm.slice), roi_mask(pm, series.rows, series.columns)
    )


def test_regions_on_a_slice_without_image_are_refused_not_dropped():
    from ovcf_core.imaging.mask_indicators import mask_indicators

    mp = MASK_PHANTOMS["ct"]
    uploads = [
        (name, data)
        for name, data in mp.phantom.uploads()
        if float(pydicom.dcmread(io.BytesIO(data), stop_before_pixels=True).ImagePositionPatient[2]) != -92.0
    ]  # slice 14 (z = -120 + 2 × 14), in L2's core, is missing
    series = load_series(uploads).pick()
    assert series.missing == [14]
    label_map = read_label_map(("labels.nii.gz", mp.nifti()), series, labels=mp.value_table())
    np.testing.assert_array_equal(label_map.mask("L2"), mp.labels["L2"])
    with pytest.raises(
        MaskError, match=r"^labels\.nii\.gz: has regions on slice\(s\) 14, which have no image"
    ):
        write_seg(label_map, series)
    with pytest.raises(MaskError, match=r"^labels\.nii\.gz: covers slice 14 of the CT series, which"):
        mask_indicators(label_map, series)


def test_a_fractional_seg_counts_a_voxel_from_one_half(written):
    from pydicom.sr.codedict import codes

    from ovcf_core.imaging.seg import _segmentation, _source_datasets

    series, _, _ = written["t1"]
    datasets, _ = _source_datasets(series, keep_identifiers=False)
    fractions = np.zeros((len(series), series.rows, series.columns), dtype=np.float32)
    fractions[1, 20:30, 40:50] = 0.5
    fractions[1, 30:35, 40:50] = 0.49
    fractions[1, 35:40, 40:50] = 1.0
    description = hd.seg.SegmentDescription(
        segment_number=1,
        segment_label="vertebrae_L1",
        segmented_property_category=codes.SCT.AnatomicalStructure,
        segmented_property_type=codes.SCT.L1Vertebra,
        algorithm_type="MANUAL",
    )
    seg = _segmentation(
        datasets,
        fractions,
        [description],
        "fractional test",
        segmentation_type=hd.seg.SegmentationTypeValues.FRACTIONAL,
        max_fractional_value=100,
    )
    buffer = io.BytesIO()
    seg.save_as(buffer)
    label_map = read_seg(("fractional.dcm", buffer.getvalue()), series)
    expected = np.zeros(fractions.shape, dtype=bool)
    expected[1, 20:30, 40:50] = expected[1, 35:40, 40:50] = True
    np.testing.assert_array_equal(label_map.mask("L1"), expected)
