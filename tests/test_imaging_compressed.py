"""Compressed transfer syntaxes through pydicom's plugins, on pydicom's own bundled test files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from ovcf_core.imaging import load_series

CORPUS = Path(__file__).resolve().parent / "bad_inputs"


def _bundled(name: str) -> Path:
    from pydicom.data import get_testdata_file

    path = get_testdata_file(name, download=False)
    if path is None:
        pytest.skip(f"pydicom's test file {name} is not bundled with this pydicom")
    return Path(path)


def _only_slice(name: str) -> np.ndarray:
    loaded = load_series(_bundled(name))
    assert not loaded.skipped, loaded.messages()
    (series,) = loaded.series
    return series.pixels(0)


@pytest.mark.parametrize(
    "name",
    [
        "MR_small_jp2klossless.dcm",
        "MR_small_jpeg_ls_lossless.dcm",
        "MR_small_RLE.dcm",
        "MR_small_bigendian.dcm",
    ],
)
def test_lossless_compressed_mr_decodes_to_the_same_pixels_as_the_uncompressed_file(name):
    reference = _only_slice("MR_small.dcm")
    assert np.array_equal(_only_slice(name), reference)


def test_ct_small_is_in_hu_with_its_rescale_applied():
    import pydicom

    path = _bundled("CT_small.dcm")
    ds = pydicom.dcmread(path)
    expected = ds.pixel_array.astype(float) * float(ds.RescaleSlope) + float(ds.RescaleIntercept)
    assert np.array_equal(_only_slice("CT_small.dcm"), expected)


@pytest.mark.parametrize("name", ["JPEG2000.dcm", "JPEGLSNearLossless_16.dcm"])
def test_lossy_jpeg2000_and_near_lossless_jpeg_ls_decode_through_the_plugins(name):
    import pydicom

    from ovcf_core.imaging.series import decode_pixels
    from ovcf_core.imaging.sources import DicomFile

    path = _bundled(name)
    ds = pydicom.dcmread(path, stop_before_pixels=True)
    pixels = decode_pixels(DicomFile(name, path=path), ds.Rows, ds.Columns)
    assert pixels.shape == (ds.Rows, ds.Columns) and pixels.std() > 0
    # these files are secondary captures (NM / no modality): loading names why they are not measured
    assert "Modality (0008,0060)" in load_series(path).skipped[0].reason


@pytest.mark.parametrize(
    ("name", "expect"),
    [
        ("dicom_jpegxl_no_codec.dcm", "1.2.840.10008.1.2.4.110"),
        ("dicom_mpeg4_no_codec.dcm", "MPEG-4 AVC/H.264 High Profile / Level 4.1 (1.2.840.10008.1.2.4.102)"),
    ],
)
def test_a_transfer_syntax_without_a_decoder_is_named_in_the_message(name, expect):
    loaded = load_series(CORPUS / name)
    assert not loaded.series
    assert expect in loaded.skipped[0].reason and "no decoder" in loaded.skipped[0].reason
