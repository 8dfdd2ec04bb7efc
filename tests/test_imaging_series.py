"""Series loading: grouping, sorting along the slice normal, planes, skipped files, zips, lazy decoding."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pytest

from ovcf_core.errors import InputError
from ovcf_core.imaging import Plane, Roi, Shape, load_series, measure_series
from ovcf_core.imaging import series as series_module
from ovcf_core.imaging.phantoms import SAGITTAL, dicom_slice
from tests.bad_inputs.make_corpus import dicom_with
from tests.imaging_helpers import SERIES_A, SERIES_B, ordered_series, write_files

CORPUS = Path(__file__).resolve().parent / "bad_inputs"


def _ranks(series) -> list[int]:
    return [int(series.pixels(i)[0, 0]) // 100 - 1 for i in range(len(series))]


@pytest.mark.parametrize(
    ("orientation", "plane"),
    [
        ((1, 0, 0, 0, 1, 0), Plane.AXIAL),
        (SAGITTAL, Plane.SAGITTAL),
        ((1, 0, 0, 0, 0, -1), Plane.CORONAL),
        ((0.9659258, 0.258819, 0, -0.258819, 0.9659258, 0), Plane.AXIAL),  # 15° in-plane rotation
        ((1, 0, 0, 0, 0.9396926, -0.3420201), Plane.AXIAL),  # 20° gantry tilt
    ],
)
def test_slices_are_sorted_by_position_along_the_normal_not_by_file_order_or_instance_number(
    orientation, plane
):
    loaded = load_series(ordered_series(6, orientation=orientation))
    (series,) = loaded.series
    assert series.plane is plane
    assert _ranks(series) == [0, 1, 2, 3, 4, 5]
    assert [s.instance_number for s in series.slices] != [
        1,
        2,
        3,
        4,
        5,
        6,
    ]  # the order did not come from these
    positions = [s.position for s in series.slices]
    assert np.allclose(np.diff(positions), 2.5)


def test_pixel_spacing_is_read_as_row_then_column():
    (series,) = load_series(ordered_series(2, spacing=(0.5, 0.8))).series
    assert series.pixel_spacing == (0.5, 0.8)
    assert series.pixel_area_mm2 == pytest.approx(0.4)


def test_files_are_grouped_by_series_uid_and_picking_needs_a_uid_when_there_are_several():
    files = ordered_series(3) + [(f"b_{n}", d) for n, d in ordered_series(2, series_uid=SERIES_B)]
    loaded = load_series(files)
    assert sorted(len(s) for s in loaded.series) == [2, 3]
    with pytest.raises(InputError, match="2 series found") as info:
        loaded.pick()
    assert SERIES_A in str(info.value) and SERIES_B in str(info.value)
    assert len(loaded.pick(SERIES_B)) == 2
    with pytest.raises(InputError, match=r"no series with SeriesInstanceUID 9\.9"):
        loaded.pick("9.9")


def _first_slice_with(**changes: object) -> bytes:
    """The first slice of a good series re-written with attributes dropped (`drop`) or changed."""
    return dicom_with(ordered_series(1)[0][1], **changes)


def test_bad_files_mixed_into_a_series_get_one_reason_each_and_the_good_files_still_load(tmp_path):
    good = ordered_series(4)
    bad = [
        ("notes.txt", b"scan notes, not DICOM\n"),
        ("empty.dcm", b""),
        ("cut.dcm", good[0][1][:-100]),
        ("report.dcm", (CORPUS / "dicom_structured_report.dcm").read_bytes()),
        ("nospacing.dcm", _first_slice_with(drop=("PixelSpacing",))),
        (
            "rgb.dcm",
            _first_slice_with(
                PhotometricInterpretation="RGB",
                SamplesPerPixel=3,
                PlanarConfiguration=0,
                BitsAllocated=8,
                BitsStored=8,
                HighBit=7,
                PixelData=bytes(16 * 16 * 3),
            ),
        ),
        ("ultrasound.dcm", _first_slice_with(Modality="US")),
        ("jpegxl.dcm", (CORPUS / "dicom_jpegxl_no_codec.dcm").read_bytes()),
    ]
    folder = write_files(tmp_path / "upload", good + bad)
    loaded = load_series(folder)
    (series,) = loaded.series
    assert len(series) == 4 and _ranks(series) == [0, 1, 2, 3]
    reasons = {s.name: s.reason for s in loaded.skipped}
    assert set(reasons) == {name for name, _ in bad}
    assert "not a DICOM file" in reasons["notes.txt"]
    assert "empty" in reasons["empty.dcm"]
    assert "truncated" in reasons["cut.dcm"]
    assert "PixelData (7FE0,0010)" in reasons["report.dcm"]
    assert "PixelSpacing (0028,0030)" in reasons["nospacing.dcm"]
    assert "PhotometricInterpretation (0028,0004) 'RGB'" in reasons["rgb.dcm"]
    assert "Modality (0008,0060) 'US'" in reasons["ultrasound.dcm"]
    assert "1.2.840.10008.1.2.4.110" in reasons["jpegxl.dcm"]
    assert all("\n" not in m for m in loaded.messages())


def test_a_slice_without_position_is_skipped_and_named():
    files = ordered_series(3)
    files[0] = (files[0][0], dicom_with(files[0][1], drop=("ImagePositionPatient",)))
    loaded = load_series(files)
    assert len(loaded.series[0]) == 2
    assert "ImagePositionPatient (0020,0032)" in loaded.skipped[0].reason


def test_nothing_usable_is_one_clear_error_listing_the_files():
    loaded = load_series([("a.txt", b"hello"), ("b.dcm", b"")])
    with pytest.raises(InputError, match=r"no usable DICOM image.*a\.txt: not a DICOM file.*b\.dcm: empty"):
        loaded.pick(source_name="upload")


def test_a_zip_upload_loads_like_a_folder_and_nested_folders_are_read(tmp_path):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in ordered_series(4):
            archive.writestr(f"study/series 1/{name}", data)
        archive.writestr("study/README.txt", "hello")
    loaded = load_series([("series.zip", buffer.getvalue())])
    assert _ranks(loaded.series[0]) == [0, 1, 2, 3]
    assert [s.name for s in loaded.skipped] == ["series.zip/study/README.txt"]
    (tmp_path / "s.zip").write_bytes(buffer.getvalue())
    assert len(load_series(tmp_path / "s.zip").series[0]) == 4


@pytest.mark.parametrize(
    ("name", "expect"),
    [
        ("dicom_zip_traversal.zip", "../../../tmp/ovcf_evil.dcm"),
        ("dicom_zip_absolute_path.zip", "/etc/ovcf_evil.dcm"),
        ("dicom_zip_bomb.zip", "zip bomb"),
        ("dicom_zip_forged_size.zip", "zip bomb"),
        ("dicom_zip_corrupt.zip", "not a readable zip"),
        ("dicom_zip_empty.zip", "empty"),
    ],
)
def test_hostile_or_broken_zips_are_refused_with_a_message_naming_the_archive(name, expect):
    with pytest.raises(InputError) as info:
        load_series(CORPUS / name)
    assert name in str(info.value) and expect in str(info.value)


def test_a_zip_larger_than_the_cap_is_refused_whether_or_not_its_directory_tells_the_truth(monkeypatch):
    from ovcf_core.imaging import sources

    monkeypatch.setattr(sources, "MAX_ZIP_BYTES", 10_000)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("a.dcm", bytes(50_000))
    with pytest.raises(InputError, match=r"honest\.zip: .*zip bomb"):
        load_series([("honest.zip", buffer.getvalue())])
    data = bytearray(buffer.getvalue())
    central = data.rfind(b"PK\x01\x02")
    data[central + 24 : central + 28] = (100).to_bytes(4, "little")  # the directory claims 100 bytes
    with pytest.raises(InputError, match=r"lying\.zip: member 'a\.dcm' cannot be read"):
        load_series([("lying.zip", bytes(data))])


def test_zip_with_too_many_members_is_refused(monkeypatch):
    from ovcf_core.imaging import sources

    monkeypatch.setattr(sources, "MAX_ZIP_MEMBERS", 3)
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for i in range(4):
            archive.writestr(f"{i}.dcm", b"x")
    with pytest.raises(InputError, match="holds 4 files"):
        load_series([("many.zip", buffer.getvalue())])


def test_only_the_slices_the_rois_are_on_are_decoded(monkeypatch):
    decoded: list[str] = []
    real = series_module.decode_pixels

    def spy(file, rows, columns):
        decoded.append(file.name)
        return real(file, rows, columns)

    monkeypatch.setattr(series_module, "decode_pixels", spy)
    files = ordered_series(8)
    loaded = load_series(files)
    assert decoded == [], "loading reads headers only"
    rois = [
        Roi("A", 2, Shape.ELLIPSE, center=(7, 7), radii=(3, 3)),
        Roi("B", 2, Shape.ELLIPSE, center=(5, 5), radii=(2, 2)),
    ]
    result = measure_series(loaded, rois)
    assert len(decoded) == 1
    assert result["A"].mean == 300.0


def test_header_pass_stops_before_pixel_data(monkeypatch):
    import pydicom

    calls = []
    real = pydicom.dcmread

    def spy(*args, **kwargs):
        calls.append(kwargs.get("stop_before_pixels", False))
        return real(*args, **kwargs)

    monkeypatch.setattr(pydicom, "dcmread", spy)
    series = load_series(ordered_series(3)).series[0]
    assert calls == [True, True, True]  # each slice's header
    assert series.header["Modality"] == "MR" and calls == [True] * 4  # the technical tags, when asked for


def test_a_folder_is_listed_as_path_rglob_lists_it_in_the_same_order(tmp_path):
    from ovcf_core.imaging.sources import collect_files

    names = ["b.dcm", "a b/x.dcm", "a-b/y.dcm", "a/z.dcm", "a/deeper/w.dcm", "A/v.dcm", "10.dcm", "9.dcm"]
    names += [".hidden.dcm", "a/DICOMDIR", ".git/kept.dcm"]
    for name in names:
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_bytes(b"x")
    outside = tmp_path.parent / f"{tmp_path.name}-outside"
    (outside / "sub").mkdir(parents=True)
    (outside / "sub" / "linked.dcm").write_bytes(b"x")
    (tmp_path / "folder-link").symlink_to(outside / "sub", target_is_directory=True)  # not entered
    (tmp_path / "file-link.dcm").symlink_to(outside / "sub" / "linked.dcm")  # a file

    expected = [
        str(p.relative_to(tmp_path))
        for p in sorted(p for p in tmp_path.rglob("*") if p.is_file())
        if not p.name.startswith(".") and p.name.upper() != "DICOMDIR"
    ]
    files = collect_files(tmp_path)
    assert [f.name for f in files] == expected
    assert "file-link.dcm" in expected and ".git/kept.dcm" in expected
    assert not any(name.startswith("folder-link") for name in expected)
    assert all(f.path == tmp_path / f.name for f in files)


def test_a_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no such file or folder"):
        load_series(tmp_path / "nope")


def test_duplicate_positions_keep_one_slice_and_name_the_other():
    files = ordered_series(3)
    loaded = load_series([*files, ("copy.dcm", files[0][1])])
    assert len(loaded.series[0]) == 3
    assert "duplicate slice" in loaded.skipped[0].reason


def test_sagittal_series_sorted_along_its_normal_from_real_positions():
    # three sagittal slices at x = 10, -5, 0 written in that order: the normal of SAGITTAL is -x
    files = []
    for i, x in enumerate((10.0, -5.0, 0.0)):
        stored = np.full((8, 8), int(x) + 100, dtype=np.uint16)
        data = dicom_slice(
            stored,
            modality="MR",
            position=(x, 0, 0),
            orientation=SAGITTAL,
            series_uid=SERIES_A,
            instance_number=i + 1,
        )
        files.append((f"s{i}.dcm", data))
    (series,) = load_series(files).series
    assert [series.pixels(i)[0, 0] - 100 for i in range(3)] == [10.0, 0.0, -5.0]


def test_decoded_slices_kept_in_memory_are_bounded(monkeypatch):
    monkeypatch.setattr(series_module, "CACHED_SLICES", 3)
    (series,) = load_series(ordered_series(6)).series
    for index in range(6):
        assert series.pixels(index)[0, 0] == 100 * (index + 1)
    assert sorted(series._cache) == [3, 4, 5]
