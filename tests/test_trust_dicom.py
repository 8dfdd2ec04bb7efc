"""Trust review of the DICOM and ROI edges (issue 10): every case is either measured correctly or refused
with one line naming the file and the DICOM tag (or the ROI label); never a neighbouring slice, never
HU from a bad modality LUT, never a hostile file allowed to allocate gigabytes."""

from __future__ import annotations

import io
import time
import tracemalloc
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ovcf_core.errors import InputError, OvcfError
from ovcf_core.imaging import Roi, Shape, header_scan, load_series, measure_series
from ovcf_core.imaging import series as series_module
from ovcf_core.imaging.phantoms import dicom_slice
from ovcf_core.imaging.roi import (
    MAX_POLYGON_POINTS,
    check_within_image,
    loads_rois,
    roi_mask,
)
from ovcf_core.imaging.series import MissingSlice, SliceRef
from tests.bad_inputs.make_corpus import (
    declared_size_slice,
    deflated_bomb,
    dicom_with,
    huge_member_zip,
    with_raw_rescale,
)

UID = "1.2.826.0.1.3680043.8.498.7101"
NO_HU = "cannot convert to HU"
LABEL_RULE = "'label' must be one line of at most 64 printable characters"
CORPUS = Path(__file__).resolve().parent / "bad_inputs"


def ct(n: int = 5, skip: tuple[int, ...] = ()) -> dict[str, bytes]:
    """An n-slice 16x16 CT series 2.5 mm apart; slice r (file sliceNN.dcm) is 100 × (r + 1) HU."""
    return {
        f"slice{r:02d}.dcm": dicom_slice(
            np.full((16, 16), 100 * (r + 1) + 1024, np.int16),
            modality="CT",
            position=(0, 0, 2.5 * r),
            series_uid=UID,
            instance_number=r + 1,
            slope=1.0,
            intercept=-1024.0,
        )
        for r in range(n)
        if r not in skip
    }


def ellipse(index: int, label: str = "L1") -> Roi:
    """An ellipse ROI in the middle of the 16x16 slice `index`."""
    return Roi(label, index, Shape.ELLIPSE, center=(8, 8), radii=(4, 3))


def _both_passes(files: dict[str, bytes], tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    """The series loaded from disk with the gdcm scan and with pydicom only: the two must be equal."""
    folder = tmp_path / "series"
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files.items():
        (folder / name).write_bytes(data)
    with_scan = load_series(folder)
    with monkeypatch.context() as patch:
        patch.setattr(header_scan, "scan_headers", lambda files: {})
        without = load_series(folder)
    assert with_scan.messages() == without.messages()
    assert [s.uid for s in with_scan.series] == [s.uid for s in without.series]
    for fast, slow in zip(with_scan.series, without.series, strict=True):
        assert [type(s) for s in fast.slices] == [type(s) for s in slow.slices]
        assert [getattr(s, "reason", None) for s in fast.slices] == [
            getattr(s, "reason", None) for s in slow.slices
        ]
        assert fast.ambiguous == slow.ambiguous
    return with_scan


def _refusal(loaded, *rois: Roi) -> str:
    with pytest.raises(InputError) as info:
        measure_series(loaded, list(rois))
    message = str(info.value)
    assert "\n" not in message and len(message) < 400
    return message


# ------------------------------------------------------------------------------------- 1. missing slices


def test_a_truncated_file_in_the_middle_keeps_its_place_and_the_roi_on_it_is_refused(tmp_path, monkeypatch):
    files = ct(5)
    files["slice02.dcm"] = files["slice02.dcm"][:-100]
    loaded = _both_passes(files, tmp_path, monkeypatch)
    (series,) = loaded.series
    assert len(series) == 5 and series.missing == [2]
    assert loaded.messages() == [
        "slice02.dcm: truncated: PixelData (7FE0,0010) needs 512 bytes, the file holds 412"
    ]
    assert measure_series(loaded, [ellipse(3), ellipse(4, "L2")])["L1"].mean == 400.0  # slice 3, not 4
    assert measure_series(loaded, [ellipse(4)])["L1"].mean == 500.0
    assert _refusal(loaded, ellipse(2)) == (
        "ROI 'L1' is on slice 2, which has no image: slice02.dcm was skipped (truncated: PixelData "
        "(7FE0,0010) needs 512 bytes, the file holds 412)"
    )
    with pytest.raises(InputError, match=r"^slice 2 has no image: slice02\.dcm was skipped"):
        series.pixels(2)


def test_a_middle_file_without_position_is_placed_by_the_gap_in_the_spacing(tmp_path, monkeypatch):
    files = ct(5)
    files["slice02.dcm"] = dicom_with(files["slice02.dcm"], drop=("ImagePositionPatient",))
    loaded = _both_passes(files, tmp_path, monkeypatch)
    (series,) = loaded.series
    assert len(series) == 5 and series.missing == [2] and series.ambiguous is None
    assert measure_series(loaded, [ellipse(3)])["L1"].mean == 400.0
    assert _refusal(loaded, ellipse(2)) == (
        "ROI 'L1' is on slice 2, which has no image: no file at position 5 mm along the slice normal, "
        "between slice01.dcm and slice03.dcm (the slices are 2.5 mm apart); skipped file(s) that may be "
        "this slice: slice02.dcm"
    )


def test_a_middle_file_without_orientation_keeps_its_place_from_its_position(tmp_path, monkeypatch):
    files = ct(5)
    files["slice02.dcm"] = dicom_with(files["slice02.dcm"], drop=("ImageOrientationPatient",))
    loaded = _both_passes(files, tmp_path, monkeypatch)
    (series,) = loaded.series
    assert series.missing == [2] and series.ambiguous is None
    assert measure_series(loaded, [ellipse(3)])["L1"].mean == 400.0
    assert "slice02.dcm was skipped (no ImagePositionPatient (0020,0032) / ImageOrientationPatient" in (
        _refusal(loaded, ellipse(2))
    )


def test_an_end_file_without_position_cannot_be_placed_so_measuring_is_refused(tmp_path, monkeypatch):
    files = ct(5)
    files["slice00.dcm"] = dicom_with(files["slice00.dcm"], drop=("ImagePositionPatient",))
    loaded = _both_passes(files, tmp_path, monkeypatch)
    (series,) = loaded.series
    assert len(series) == 4 and series.missing == []
    assert _refusal(loaded, ellipse(1)) == (
        f"series {UID}: slice indices are ambiguous: slice00.dcm was skipped (no ImagePositionPatient "
        "(0020,0032) / ImageOrientationPatient (0020,0037)) and cannot be placed (no gap in the slice "
        "positions shows where); replace it with a readable copy, or remove it if not part of this series"
    )
    assert series.pixels(1)[0, 0] == 300.0  # viewing is allowed; measuring from outside indices is not


def test_a_damaged_dicom_file_of_unknown_series_makes_indices_ambiguous_unless_a_gap_places_it(
    tmp_path, monkeypatch
):
    damaged = ct(1)["slice00.dcm"][:300]  # the 'DICM' marker, then the header cut short
    loaded = _both_passes({**ct(4), "x.dcm": damaged}, tmp_path / "a", monkeypatch)
    assert "x.dcm was skipped (truncated" in _refusal(loaded, ellipse(1))
    loaded = _both_passes({**ct(5, skip=(2,)), "x.dcm": damaged}, tmp_path / "b", monkeypatch)
    assert measure_series(loaded, [ellipse(3)])["L1"].mean == 400.0
    assert _refusal(loaded, ellipse(2)).endswith("skipped file(s) that may be this slice: x.dcm")


def test_files_that_cannot_be_slices_do_not_block_measuring(tmp_path, monkeypatch):
    loaded = _both_passes(
        {**ct(4), "notes.txt": b"scan notes", "empty.dcm": b"", "report.dcm": _report()},
        tmp_path,
        monkeypatch,
    )
    assert measure_series(loaded, [ellipse(1)])["L1"].mean == 200.0


def _report() -> bytes:
    return (CORPUS / "dicom_structured_report.dcm").read_bytes()


def test_a_file_absent_from_the_folder_is_kept_as_an_empty_slice_with_a_warning(tmp_path, monkeypatch):
    loaded = _both_passes(ct(6, skip=(2, 3)), tmp_path, monkeypatch)
    (series,) = loaded.series
    assert len(series) == 6 and series.missing == [2, 3]
    assert loaded.messages() == [
        f"series {UID}: slice 2 has no image: no file at position 5 mm along the slice normal, between "
        "slice01.dcm and slice04.dcm (the slices are 2.5 mm apart)",
        f"series {UID}: slice 3 has no image: no file at position 7.5 mm along the slice normal, between "
        "slice01.dcm and slice04.dcm (the slices are 2.5 mm apart)",
    ]
    result = measure_series(loaded, [ellipse(4), ellipse(5, "L2")])
    assert (result["L1"].mean, result["L2"].mean) == (500.0, 600.0)
    assert "which has no image: no file at position 7.5 mm" in _refusal(loaded, ellipse(3))


def test_irregular_spacing_with_nothing_skipped_is_measured_with_a_warning(tmp_path, monkeypatch):
    files = ct(4)
    files["slice03.dcm"] = dicom_with(files["slice03.dcm"], ImagePositionPatient=[0, 0, 11.0])
    loaded = _both_passes(files, tmp_path, monkeypatch)
    assert loaded.messages() == [
        f"series {UID}: irregular slice spacing: the slices are 2.5 mm apart, but 6 mm between slice02.dcm "
        "and slice03.dcm; slice indices count the images present"
    ]
    assert measure_series(loaded, [ellipse(3)])["L1"].mean == 400.0


def test_a_large_jump_is_not_taken_for_missing_files(tmp_path, monkeypatch):
    files = ct(4)
    files["slice03.dcm"] = dicom_with(files["slice03.dcm"], ImagePositionPatient=[0, 0, 250.0])
    loaded = _both_passes(files, tmp_path, monkeypatch)
    (series,) = loaded.series
    assert len(series) == 4 and series.missing == []
    assert "irregular slice spacing" in loaded.messages()[0]


# ------------------------------------------------------------------------------------- 4. duplicates


def test_the_same_file_twice_is_one_slice_and_the_copy_is_named(tmp_path, monkeypatch):
    files = ct(3)
    loaded = _both_passes({**files, "z_copy.dcm": files["slice01.dcm"]}, tmp_path, monkeypatch)
    (series,) = loaded.series
    assert len(series) == 3 and series.missing == []
    assert loaded.messages() == [
        "z_copy.dcm: same SOPInstanceUID (0008,0018) as slice01.dcm: the same image twice (duplicate slice), "
        "ignored"
    ]
    assert measure_series(loaded, [ellipse(2)])["L1"].mean == 300.0


def test_two_different_images_at_one_position_are_refused_naming_both(tmp_path, monkeypatch):
    files = ct(3)
    other = dicom_with(files["slice01.dcm"], SOPInstanceUID="1.2.826.0.1.3680043.8.498.99")
    loaded = _both_passes({**files, "z_other.dcm": other}, tmp_path, monkeypatch)
    (series,) = loaded.series
    assert len(series) == 3 and series.missing == [1]
    assert loaded.messages() == [
        "slice01.dcm: a different image (SOPInstanceUID (0008,0018)) at the same ImagePositionPatient "
        "(0020,0032) as z_other.dcm: neither is measured",
        "z_other.dcm: a different image (SOPInstanceUID (0008,0018)) at the same ImagePositionPatient "
        "(0020,0032) as slice01.dcm: neither is measured",
    ]
    assert _refusal(loaded, ellipse(1)) == (
        "ROI 'L1' is on slice 1, which has no single image: slice01.dcm and z_other.dcm are different "
        "images (SOPInstanceUID (0008,0018)) at the same ImagePositionPatient (0020,0032), so it cannot be "
        "told which one is the slice"
    )
    assert measure_series(loaded, [ellipse(2)])["L1"].mean == 300.0  # the indices after it are intact


# ------------------------------------------------------------------------------------- 2. modality LUT


@pytest.mark.parametrize(
    ("keyword", "raw", "message"),
    [
        ("RescaleSlope", b"0   ", "RescaleSlope (0028,1053) is 0: cannot convert to HU"),
        ("RescaleSlope", b"NaN ", f"RescaleSlope (0028,1053) is 'NaN', not a finite number: {NO_HU}"),
        ("RescaleSlope", b"inf ", f"RescaleSlope (0028,1053) is 'inf', not a finite number: {NO_HU}"),
        ("RescaleSlope", b"abc ", f"RescaleSlope (0028,1053) is 'abc', not a number: {NO_HU}"),
        ("RescaleIntercept", b"NaN ", f"RescaleIntercept (0028,1052) is 'NaN', not a finite number: {NO_HU}"),
        ("RescaleIntercept", b"abc ", f"RescaleIntercept (0028,1052) is 'abc', not a number: {NO_HU}"),
    ],
)  # fmt: skip
def test_a_bad_rescale_value_skips_the_slice_naming_the_tag_in_both_passes(
    keyword, raw, message, tmp_path, monkeypatch
):
    files = ct(3)
    files["slice01.dcm"] = with_raw_rescale(files["slice01.dcm"], keyword, raw)
    loaded = _both_passes(files, tmp_path, monkeypatch)
    assert loaded.messages() == [f"slice01.dcm: {message}"]
    assert _refusal(loaded, ellipse(1)) == (
        f"ROI 'L1' is on slice 1, which has no image: slice01.dcm was skipped ({message})"
    )
    assert measure_series(loaded, [ellipse(2)])["L1"].mean == 300.0


def test_a_ct_slice_without_rescale_is_refused_not_read_as_hu_of_minus_1024(tmp_path, monkeypatch):
    files = ct(1)
    files["slice00.dcm"] = dicom_with(files["slice00.dcm"], drop=("RescaleIntercept",))
    loaded = _both_passes(files, tmp_path, monkeypatch)
    assert loaded.messages() == ["slice00.dcm: RescaleIntercept (0028,1052) is missing: cannot convert to HU"]


def test_mr_ignores_its_rescale_values_as_documented(tmp_path, monkeypatch):
    data = dicom_slice(
        np.full((16, 16), 321, np.uint16),
        modality="MR",
        position=(0, 0, 0),
        series_uid=UID,
        instance_number=1,
    )
    data = with_raw_rescale(data, "RescaleSlope", b"0   ")
    loaded = _both_passes({"mr.dcm": data}, tmp_path, monkeypatch)
    assert measure_series(loaded, [ellipse(0)])["L1"].mean == 321.0  # stored signal intensity


def test_the_pixel_read_refuses_a_zero_slope_that_reached_it_anyway(tmp_path):
    (tmp_path / "a").mkdir()
    (series,) = load_series(_write(tmp_path / "a", ct(1))).series
    ref = series.slices[0]
    assert isinstance(ref, SliceRef)
    import dataclasses

    broken = dataclasses.replace(series, slices=(dataclasses.replace(ref, slope=0.0),), _cache={})
    with pytest.raises(
        InputError, match=r"slice00\.dcm: RescaleSlope \(0028,1053\) 0 .*cannot convert to HU"
    ):
        broken.pixels(0)


def _write(folder: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        (folder / name).write_bytes(data)
    return folder


# ------------------------------------------------------------------------------------- 3. resource limits


def _timed_refusal(load) -> tuple[str, float, int]:
    """(the one-line reason, seconds, peak traced bytes) of a load that must be refused."""
    tracemalloc.start()
    start = time.process_time()  # CPU seconds: other processes on a shared machine do not count
    try:
        loaded = load()
        with pytest.raises(OvcfError) as info:
            loaded.pick(source_name="upload")
    finally:
        elapsed = time.process_time() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    message = str(info.value)
    assert "\n" not in message
    return message, elapsed, peak


SIZE_MESSAGE = (
    "Rows (0028,0010) × Columns (0028,0011) = 20000 × 20000, larger than the 4096 × 4096 allowed: "
    "refused before reading the pixels"
)


@pytest.mark.parametrize("where", ["upload", "disk"])
def test_a_deflated_file_promising_20000_by_20000_is_refused_quickly_without_inflating_it(where, tmp_path):
    data = deflated_bomb(inflated_mb=200)  # 200 kB that would inflate to 200 MB
    assert len(data) < 250_000
    path = tmp_path / "bomb.dcm"
    path.write_bytes(data)
    source = [("bomb.dcm", data)] if where == "upload" else tmp_path
    message, elapsed, peak = _timed_refusal(lambda: load_series(source))
    assert message == f"no usable DICOM image in upload: bomb.dcm: {SIZE_MESSAGE}"
    assert elapsed < 5 and peak < 100 * 2**20


def test_a_deflate_bomb_whose_header_does_not_parse_is_refused_by_its_inflated_size():
    data = bytearray(deflated_bomb(rows=512, columns=512, inflated_mb=80))
    message, elapsed, peak = _timed_refusal(lambda: load_series([("bomb.dcm", bytes(data))]))
    assert message == (
        "no usable DICOM image in upload: bomb.dcm: deflated data set (TransferSyntaxUID "
        "1.2.840.10008.1.2.1.99) inflates to more than 65 MB (a deflate bomb?): refused"
    )
    assert elapsed < 5 and peak < 100 * 2**20


def test_a_tiny_file_promising_20000_by_20000_is_refused_from_its_header(tmp_path):
    data = declared_size_slice(20000, 20000)
    assert len(data) < 2000
    message, elapsed, peak = _timed_refusal(lambda: load_series([("big.dcm", data)]))
    assert message == f"no usable DICOM image in upload: big.dcm: {SIZE_MESSAGE}"
    assert elapsed < 5 and peak < 100 * 2**20


def test_a_huge_frame_count_is_refused_naming_rows_columns_and_frames():
    message, elapsed, _ = _timed_refusal(
        lambda: load_series([("f.dcm", declared_size_slice(512, 512, 100000))])
    )
    assert message == (
        "no usable DICOM image in upload: f.dcm: Rows (0028,0010) × Columns (0028,0011) × NumberOfFrames "
        "(0028,0008) = 512 × 512 × 100000 pixels, more than the 16777216 allowed in one file: refused before "
        "reading the pixels"
    )
    assert elapsed < 5


def test_a_small_zip_whose_member_inflates_past_one_slice_is_refused_naming_rows_and_columns():
    data = huge_member_zip(megabytes=400)  # inflates to 400 MB of a promised 800 MB slice
    assert len(data) < 100_000
    message, elapsed, peak = _timed_refusal(lambda: load_series([("u.zip", data)]))
    assert message == f"no usable DICOM image in upload: u.zip/series/slice0001.dcm: {SIZE_MESSAGE}"
    assert elapsed < 5 and peak < 100 * 2**20


def test_a_series_larger_than_the_voxel_limit_is_refused(monkeypatch):
    monkeypatch.setattr(series_module, "MAX_SERIES_VOXELS", 4 * 16 * 16)
    loaded = load_series(list(ct(5).items()))
    assert loaded.series == ()
    assert loaded.messages() == [
        f"series {UID}: 5 slices × Rows (0028,0010) 16 × Columns (0028,0011) 16 = 1280 voxels, more than "
        "the 1024 allowed: refused"
    ]


def test_the_decoded_slice_cache_is_bounded_in_bytes(monkeypatch, tmp_path):
    monkeypatch.setattr(series_module, "MAX_CACHED_BYTES", 3 * 16 * 16 * 8)
    (series,) = load_series(_write(tmp_path, ct(5))).series
    for index in range(5):
        series.pixels(index)
    assert sorted(series._cache) == [2, 3, 4]


# ------------------------------------------------------------------------------------- 3. hostile ROIs


def _timed(call) -> tuple[str, float, int]:
    tracemalloc.start()
    start = time.process_time()  # CPU seconds, as _timed_refusal
    try:
        with pytest.raises(InputError) as info:
            call()
    finally:
        elapsed = time.process_time() - start
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    assert "\n" not in str(info.value)
    return str(info.value), elapsed, peak


def test_a_polygon_of_300000_points_is_refused_naming_the_roi_before_reading_its_points():
    import json

    points = [[i % 16, (i // 16) % 16] for i in range(300_000)]
    text = json.dumps({"rois": [{"label": "MF_L_L3L4", "slice": 0, "shape": "polygon", "points": points}]})
    message, elapsed, peak = _timed(lambda: loads_rois(text, "rois.json"))
    assert message == (
        "rois.json: ROI 'MF_L_L3L4': 300000 points, more than the 10000 allowed: simplify the outline"
    )
    assert elapsed < 5 and peak < 100 * 2**20


def test_a_polygon_built_in_code_with_too_many_points_is_refused_before_any_mask():
    roi = Roi(
        "P", 0, Shape.POLYGON, points=tuple((float(i % 16), 1.0) for i in range(MAX_POLYGON_POINTS + 1))
    )
    message, elapsed, _ = _timed(lambda: roi_mask(roi, 16, 16))
    assert message == "ROI 'P' has 10001 points, more than the 10000 allowed: simplify the outline"
    assert elapsed < 5


def test_a_polygon_zigzagging_across_a_large_image_is_refused_before_rasterising():
    points = tuple((0.0 if i % 2 else 4095.0, 4095.0 * i / 9999) for i in range(10_000))
    roi = Roi("Z", 0, Shape.POLYGON, points=points)
    message, elapsed, peak = _timed(lambda: check_within_image(roi, 4096, 4096, 1))
    assert message == (
        "ROI 'Z': its 10000-point outline crosses the 4096×4096 image too many times to rasterise (more "
        "than 50000000 pixel tests): simplify the outline"
    )
    assert elapsed < 5 and peak < 100 * 2**20


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"shape": "ellipse", "center": [8, 8], "radii": [1e9, 3]},
         "ROI 'L1' reaches outside the 16×16 image (x -1e+09 to 1e+09, y 5 to 11; pixel centres 0 to 15 "
         "and 0 to 15)"),
        ({"shape": "ellipse", "center": [8, 8], "radii": [1e300, 1e300]},
         "ROI 'L1' reaches outside the 16×16 image (x -1e+300 to 1e+300, y -1e+300 to 1e+300; pixel centres "
         "0 to 15 and 0 to 15)"),
        ({"shape": "ellipse", "center": [8, 8], "radii": [4, 3], "slice": 10**12},
         "ROI 'L1' is on slice 1000000000000, but the series has slices 0 to 2"),
        ({"shape": "ellipse", "center": [8, 8], "radii": [4, 3], "slice": 1e300},
         "ROI 'L1' is on slice " + str(int(1e300)) + ", but the series has slices 0 to 2"),
    ],
)  # fmt: skip
def test_hostile_roi_numbers_are_refused_naming_the_roi_before_any_mask(entry, message, tmp_path):
    (rois,) = loads_rois(__import__("json").dumps({"rois": [{"label": "L1", "slice": 1, **entry}]}))
    got, elapsed, peak = _timed(lambda: measure_series(_write(tmp_path, ct(3)), [rois]))
    assert got == message
    assert elapsed < 5 and peak < 100 * 2**20


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('{"rois": [{"label": "P", "slice": 0, "shape": "polygon", '
         '"points": [[1, 1], [NaN, 5], [5, 1]]}]}',
         "rois.json: ROI 'P': 'points' must be at least 3 points [[x, y], ...]"),
        ('{"rois": [{"label": "E", "slice": 0, "shape": "ellipse", '
         '"center": [Infinity, 5], "radii": [1, 1]}]}',
         "rois.json: ROI 'E': 'center' must be two numbers [x, y], got [inf, 5]"),
        ('{"rois": [{"label": "' + "L" * 65 + '", "slice": 0, "shape": "ellipse"}]}',
         f"rois.json: rois[0]: {LABEL_RULE} (got 65 characters)"),
        ('{"rois": [{"label": "L1\\nL2", "slice": 0, "shape": "ellipse"}]}',
         f"rois.json: rois[0]: {LABEL_RULE} (got 5 characters)"),
    ],
)  # fmt: skip
def test_hostile_roi_files_are_refused_with_one_line(text, message):
    got, elapsed, _ = _timed(lambda: loads_rois(text, "rois.json"))
    assert got == message and elapsed < 5


def test_too_many_rois_are_refused():
    import json

    entries = [
        {"label": f"R{i}", "slice": 0, "shape": "ellipse", "center": [8, 8], "radii": [1, 1]}
        for i in range(1001)
    ]
    got, _, _ = _timed(lambda: loads_rois(json.dumps({"rois": entries}), "rois.json"))
    assert got == "rois.json: holds 1001 ROIs, more than the 1000 allowed"


def test_the_bounded_polygon_rasteriser_gives_the_same_masks_as_testing_every_pixel_against_every_edge():
    from ovcf_core.imaging import roi as roi_module

    def reference(points, rows, columns):  # the rules of the module doc, every edge over the whole grid
        ys, xs = np.mgrid[0:rows, 0:columns].astype(np.float64)
        inside = np.zeros((rows, columns), bool)
        on_edge = np.zeros((rows, columns), bool)
        for i in range(len(points)):
            (x1, y1), (x2, y2) = points[i], points[(i + 1) % len(points)]
            if y1 != y2:
                inside ^= ((y1 > ys) != (y2 > ys)) & (xs < x1 + (ys - y1) * (x2 - x1) / (y2 - y1))
            cross = (x2 - x1) * (ys - y1) - (y2 - y1) * (xs - x1)
            box = (xs >= min(x1, x2) - 1e-9) & (xs <= max(x1, x2) + 1e-9)
            box &= (ys >= min(y1, y2) - 1e-9) & (ys <= max(y1, y2) + 1e-9)
            on_edge |= box & (np.abs(cross) <= 1e-9 * max(float(np.hypot(x2 - x1, y2 - y1)), 1.0))
        return inside | on_edge

    rng = np.random.default_rng(7)
    for trial in range(200):
        count = int(rng.integers(3, 12))
        scale = 1.0 if trial % 2 else 0.5  # integer and half-integer vertices: centres on edges
        points = tuple(
            (float(x), float(y)) for x, y in np.round(rng.uniform(-0.5, 19.5, (count, 2)) / scale) * scale
        )
        points = tuple((min(max(x, -0.5), 19.5), min(max(y, -0.5), 14.5)) for x, y in points)
        roi = Roi("P", 0, Shape.POLYGON, points=points)
        np.testing.assert_array_equal(roi_mask(roi, 15, 20), reference(points, 15, 20), err_msg=str(points))
    assert roi_module.MAX_POLYGON_POINTS == 10_000


# ------------------------------------------------------------------------------------- the page


def test_the_scans_page_shows_the_missing_slice_and_opens_on_a_slice_with_an_image():
    from tests import apptest_tools as tools

    data = (CORPUS / "dicom_series_absent_slice.zip").read_bytes()
    at = tools.open_page("dashboard/pages/scans.py")
    at = tools.upload(at, 0, "absent.zip", data)
    assert not at.exception
    warnings = [w.value for w in at.warning]
    assert any("slice 1 has no image: no file at position 2.5 mm" in w for w in warnings), warnings
    assert not at.error, [e.value for e in at.error]


def test_zip_members_inflate_within_the_member_cap():
    from ovcf_core.imaging import sources

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in ct(2).items():
            archive.writestr(name, data)
    files = sources.collect_files(buffer.getvalue())
    assert [f.problem for f in files] == [None, None]
    assert isinstance(load_series(buffer.getvalue()).series[0].slices[0], SliceRef)
    assert not isinstance(load_series(buffer.getvalue()).series[0].slices[0], MissingSlice)
