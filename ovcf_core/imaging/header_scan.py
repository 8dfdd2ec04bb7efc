"""A fast header pass for series on disk with python-gdcm's `Scanner`.

The scanner reads the attributes a series needs from all its files in one C++ pass, reading nothing else
(the README's benchmark section has its time per file beside pydicom's).

The scan only vouches for plain files it can check completely: on disk, with the 'DICM' marker,
uncompressed little-endian pixel data that ends the file with exactly the expected length, and attributes
that `header.header_from_dataset` accepts. Every other file — compressed, truncated, padded, odd, or not
DICOM at all — goes through pydicom's `header.read_header`, so what is loaded and every skip message are
the same with or without gdcm (tested). Without python-gdcm installed, nothing is vouched for.
"""

from __future__ import annotations

import os
from typing import Any

from ovcf_core.imaging.header import (
    HEADER_TAGS,
    PER_FILE_KEYWORDS,
    UNCOMPRESSED_LITTLE_ENDIAN,
    Header,
    header_from_dataset,
    image_attributes,
)
from ovcf_core.imaging.sources import DicomFile

# the header pass's attributes, the transfer syntax, and what reading the pixel values straight needs
TAGS: dict[str, tuple[int, int]] = {
    "TransferSyntaxUID": (0x0002, 0x0010),
    **HEADER_TAGS,
    "BitsStored": (0x0028, 0x0101),
    "PixelRepresentation": (0x0028, 0x0103),
}
MULTI_VALUED = frozenset(
    {"ImagePositionPatient", "ImageOrientationPatient", "PixelSpacing", "ImagerPixelSpacing"}
)
# uncompressed little-endian syntaxes -> length of the PixelData element's header (tag, [VR, 0,] length)
IMPLICIT_VR, EXPLICIT_VR = UNCOMPRESSED_LITTLE_ENDIAN
PLAIN_SYNTAXES = {IMPLICIT_VR: 8, EXPLICIT_VR: 12}
PIXEL_DATA = b"\xe0\x7f\x10\x00"  # (7FE0,0010) little-endian


class _Scanned:
    """The scanned text values of one file, read like the pydicom dataset `header_from_dataset` expects.

    It answers `get(keyword, default)` and `file_meta.get`; an empty value reads as absent.
    """

    def __init__(self, values: dict[str, str | None]) -> None:
        self._values: dict[str, object] = {}
        for keyword, raw in values.items():
            text = raw.strip(" \0") if raw is not None else ""
            if text:
                self._values[keyword] = tuple(text.split("\\")) if keyword in MULTI_VALUED else text
        self.file_meta = self

    def get(self, keyword: str, default: object = None) -> object:
        """Return the value as pydicom would: text, a tuple for multi-valued tags, `default` when empty."""
        return self._values.get(keyword, default)


def _integer(value: object) -> int | None:
    """Return the whole number a scanned text holds, or None."""
    try:
        return int(str(value))
    except ValueError:
        return None


def _pixel_data_offset(path: str, scanned: _Scanned, header_length: int) -> int | None:
    """Find where the pixel values start, when the file ends with exactly the expected PixelData.

    The file must have the 'DICM' marker and end with a PixelData element of exactly rows × columns ×
    samples × bytes, as an uncompressed single frame written by any scanner; else None. Read with two
    positioned reads on one descriptor: this runs once per file of the series.
    """
    rows, columns = _integer(scanned.get("Rows")), _integer(scanned.get("Columns"))
    samples, bits = _integer(scanned.get("SamplesPerPixel", "1")), _integer(scanned.get("BitsAllocated"))
    if not (rows and columns and samples and bits) or bits % 8:
        return None
    expected = rows * columns * samples * (bits // 8)
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        start = os.fstat(descriptor).st_size - expected - header_length
        if expected % 2 or start < 132:
            return None
        marker = os.pread(descriptor, 4, 128)
        element = os.pread(descriptor, header_length, start)
    finally:
        os.close(descriptor)
    if marker != b"DICM" or element[:4] != PIXEL_DATA:
        return None
    if header_length == 12 and (element[4:6] not in (b"OW", b"OB") or element[6:8] != b"\0\0"):
        return None
    return start + header_length if int.from_bytes(element[-4:], "little") == expected else None


def _native_dtype(scanned: _Scanned) -> str | None:
    """Return the numpy dtype of one greyscale sample when every stored bit is used, else None.

    With BitsStored = BitsAllocated the stored values need no masking or sign extension; other files are
    left for pydicom to decode.
    """
    bits, stored = _integer(scanned.get("BitsAllocated")), _integer(scanned.get("BitsStored"))
    signed = _integer(scanned.get("PixelRepresentation", "0"))
    if bits not in (8, 16, 32) or stored != bits or signed not in (0, 1):
        return None
    if _integer(scanned.get("SamplesPerPixel", "1")) != 1:
        return None
    return f"<{'i' if signed else 'u'}{bits // 8}"


def scan_headers(files: list[DicomFile]) -> dict[int, Header]:
    """Read the headers of the files the gdcm scan can vouch for completely.

    Parameters
    ----------
    files
        The candidate files; only those on disk are scanned.

    Returns
    -------
    dict of int to Header
        Headers by position in `files`, with the pixel data's offset and dtype where they can be read
        straight; {} without python-gdcm. Every other file is left to `header.read_header`.
    """
    on_disk = {i: str(f.path) for i, f in enumerate(files) if f.path is not None and f.data is None}
    if not on_disk:
        return {}
    try:
        import gdcm
    except ImportError:
        return {}
    gdcm.Trace.WarningOff()  # files it cannot read are pydicom's to explain, not gdcm's to print
    gdcm.Trace.ErrorOff()
    scanner = gdcm.Scanner()
    tags = {keyword: gdcm.Tag(*numbers) for keyword, numbers in TAGS.items()}
    for tag in tags.values():
        scanner.AddTag(tag)
    if not scanner.Scan(list(on_disk.values())):
        return {}
    values = _values_by_file(scanner, tags, list(on_disk.values()))
    shared: dict[tuple[str | None, ...], dict[str, Any] | str] = {}  # one validation per distinct values
    vouched: dict[int, Header] = {}
    for i, path in on_disk.items():
        raw = values.get(path)
        if raw is None:
            continue
        scanned = _Scanned(raw)
        header_length = PLAIN_SYNTAXES.get(str(scanned.get("TransferSyntaxUID", "")))
        try:
            offset = _pixel_data_offset(path, scanned, header_length) if header_length else None
        except OSError:
            continue
        if offset is None:
            continue
        key = tuple(value for keyword, value in raw.items() if keyword not in PER_FILE_KEYWORDS)
        if (attributes := shared.get(key)) is None:
            attributes = shared[key] = image_attributes(scanned)
        if isinstance(attributes, str):
            continue
        dtype = _native_dtype(scanned)
        native = (offset, dtype) if dtype else None
        header = header_from_dataset(files[i], scanned, native=native, attributes=attributes)
        if isinstance(header, Header):
            vouched[i] = header
    return vouched


def _values_by_file(scanner: Any, tags: dict[str, Any], paths: list[str]) -> dict[str, dict[str, str | None]]:
    """Return each scanned file's raw value of every tag (None when absent), by path.

    A tag with one value that every scanned file holds (Rows, the series UID, ...) or that none holds is
    asked for once instead of once per file; the others (positions, instance numbers) file by file.
    """
    keys = list(dict.fromkeys(path for path in paths if scanner.IsKey(path)))
    values: dict[str, dict[str, str | None]] = {path: {} for path in keys}
    for keyword, tag in tags.items():
        distinct = scanner.GetValues(tag)
        if not distinct:  # no file holds a value (an empty one reads as absent all the same)
            for path in keys:
                values[path][keyword] = None
        elif len(distinct) == 1 and len(scanner.GetAllFilenamesFromTagToValue(tag, distinct[0])) == len(keys):
            for path in keys:
                values[path][keyword] = distinct[0]
        else:
            for path in keys:
                values[path][keyword] = scanner.GetValue(path, tag)
    return values
