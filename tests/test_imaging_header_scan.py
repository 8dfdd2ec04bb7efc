"""The python-gdcm header pass loads exactly what the pydicom pass loads, and skips the same files with the
same messages (every file it cannot vouch for is left to pydicom)."""

from __future__ import annotations

import dataclasses
import io
import shutil
from pathlib import Path

import numpy as np
import pytest
from imaging_helpers import ordered_series

from ovcf_core import paths
from ovcf_core.imaging import header_scan
from ovcf_core.imaging.series import LoadedSeries, decode_pixels, load_series, read_native_pixels
from ovcf_core.imaging.sources import collect_files

pytest.importorskip("gdcm")

BAD = Path(__file__).parent / "bad_inputs"


def _pydicom_only(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(header_scan, "scan_headers", lambda files: {})


def _bundled(name: str) -> Path:
    from pydicom.data import get_testdata_file

    return Path(get_testdata_file(name, download=False))


def _mixed_folder(tmp_path: Path) -> Path:
    """A folder of good slices, two series, pydicom's bundled files and every bad DICOM of the corpus."""
    folder = tmp_path / "mixed"
    folder.mkdir()
    for name, data in ordered_series(6) + ordered_series(3, series_uid="1.2.826.0.1.3680043.8.498.7002"):
        (folder / name.replace("/", "_")).write_bytes(data)
    for bad in sorted(BAD.glob("dicom_*.dcm")):
        shutil.copy(bad, folder / bad.name)
    for name in ("CT_small.dcm", "MR_small.dcm", "JPEG2000.dcm", "MR_small_bigendian.dcm", "rtplan.dcm"):
        shutil.copy(_bundled(name), folder / name)
    (folder / "notes.txt").write_text("not DICOM")
    padded = bytearray((folder / sorted(p.name for p in folder.iterdir())[0]).read_bytes())
    (folder / "padded.dcm").write_bytes(bytes(padded) + b"\xfc\xff\xfc\xff" + b"OB\0\0" + b"\x02\0\0\0\0\0")
    return folder


@pytest.mark.parametrize(
    "source",
    ["mixed", "ct", "t1", "t2", "good_ct"],
)
def test_the_gdcm_pass_loads_and_skips_exactly_what_pydicom_does(source, tmp_path, monkeypatch):
    folder = {
        "mixed": lambda: _mixed_folder(tmp_path),
        "ct": lambda: paths.SAMPLE_DICOM / "ct_axial" / "series",
        "t1": lambda: paths.SAMPLE_DICOM / "mr_t1_sagittal" / "series",
        "t2": lambda: paths.SAMPLE_DICOM / "mr_t2_axial" / "series",
        "good_ct": lambda: BAD / "good_ct",
    }[source]()
    with_scan = load_series(folder)
    _pydicom_only(monkeypatch)
    without = load_series(folder)
    assert _without_native(with_scan) == _without_native(without)
    assert with_scan.series, "something loaded"
    for fast, slow in zip(with_scan.series, without.series, strict=True):
        assert fast.header == slow.header
        for i, ref in enumerate(fast.slices):
            np.testing.assert_array_equal(fast.pixels(i), slow.pixels(i))
            if ref.native is not None:  # the values read straight from the file are pydicom's, dtype too
                raw = read_native_pixels(ref.file, ref.native, fast.rows, fast.columns)
                expected = decode_pixels(ref.file, fast.rows, fast.columns)
                assert raw.dtype == expected.dtype
                np.testing.assert_array_equal(raw, expected)


def _without_native(loaded: LoadedSeries) -> LoadedSeries:
    """The loaded series without the scan's pixel offsets (the only thing only the scan knows)."""
    series = tuple(
        dataclasses.replace(
            s,
            slices=tuple(
                dataclasses.replace(r, native=None) if hasattr(r, "native") else r for r in s.slices
            ),
        )
        for s in loaded.series
    )
    return dataclasses.replace(loaded, series=series)


def test_the_scan_vouches_for_plain_slices_and_leaves_the_rest_to_pydicom(tmp_path):
    folder = _mixed_folder(tmp_path)
    files = collect_files(folder)
    vouched = {files[i].name for i in header_scan.scan_headers(files)}
    assert {f"{n}".replace("/", "_") for n, _ in ordered_series(6)} <= vouched
    left = {"dicom_truncated.dcm", "dicom_structured_report.dcm", "notes.txt", "padded.dcm", "JPEG2000.dcm"}
    left |= {"MR_small_bigendian.dcm", "dicom_header_only.dcm", "dicom_empty.dcm"}
    assert not vouched & left


def test_uploads_in_memory_are_read_by_pydicom(tmp_path):
    uploads = ordered_series(4)
    assert header_scan.scan_headers(collect_files(uploads)) == {}
    assert len(load_series(uploads).series[0]) == 4


def test_measuring_a_plain_series_on_disk_needs_neither_pydicom_nor_requests():
    """The scan's headers and the plain pixel values read straight from the files: `ovcf measure` on an
    uncompressed series never imports pydicom (0.3 s) or requests, and gives the same JSON as pydicom."""
    import json
    import subprocess
    import sys

    ct = paths.SAMPLE_DICOM / "ct_axial"
    code = (
        "import sys; from ovcf_core.cli import main; "
        f"main(['measure', r'{ct / 'series'}', '--roi', r'{ct / 'rois.json'}', '--json', '-']); "
        "print(sorted(m for m in ('pydicom', 'requests', 'pandas') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    *document, imported = out.strip().splitlines()
    assert imported == "[]"
    from ovcf_core.imaging import measure_series, read_roi_file

    with pytest.MonkeyPatch.context() as patch:
        _pydicom_only(patch)
        reference = measure_series(ct / "series", read_roi_file(ct / "rois.json")).to_dict()
    assert json.loads("\n".join(document)) == json.loads(json.dumps(reference))


class _Recording:
    """A dataset that answers every header attribute and records which ones were read."""

    def __init__(self, dataset) -> None:
        self._dataset, self.read = dataset, set()
        self.file_meta = dataset.file_meta

    def get(self, keyword, default=None):
        self.read.add(keyword)
        return self._dataset.get(keyword, default)


def test_the_shared_validation_reads_no_attribute_a_slice_has_its_own_value_of():
    import pydicom

    from ovcf_core.imaging.header import HEADER_TAGS, PER_FILE_KEYWORDS, image_attributes

    _, data = ordered_series(1, modality="CT")[0]
    recording = _Recording(pydicom.dcmread(io.BytesIO(data)))
    assert isinstance(image_attributes(recording), dict)
    assert recording.read and not recording.read & PER_FILE_KEYWORDS
    assert set(HEADER_TAGS) > PER_FILE_KEYWORDS


def test_slices_that_differ_in_one_shared_value_are_validated_each_on_their_own(tmp_path, monkeypatch):
    """One slice with another RescaleIntercept, one with another Modality and one without PixelSpacing: the
    scan asks for those tags file by file and loads and skips exactly what pydicom does."""
    import pydicom

    folder = tmp_path / "series"
    folder.mkdir()
    for k, (name, data) in enumerate(ordered_series(6, modality="CT")):
        dataset = pydicom.dcmread(io.BytesIO(data))
        if k == 1:
            dataset.RescaleIntercept = "-1000"
        elif k == 2:
            dataset.Modality = "OT"
        elif k == 3:
            del dataset.PixelSpacing
        dataset.save_as(folder / name.replace("/", "_"), enforce_file_format=True)
    with_scan = load_series(folder)
    vouched = header_scan.scan_headers(collect_files(folder))
    assert len(vouched) == 4
    assert sorted(h.intercept for h in vouched.values()).count(-1000.0) == 1
    _pydicom_only(monkeypatch)
    without = load_series(folder)
    assert _without_native(with_scan) == _without_native(without)
    assert len(with_scan.skipped) == 2
