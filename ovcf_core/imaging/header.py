"""One DICOM file's header: the attributes a series needs, read without the pixels, or why it is skipped.

Shared by the pydicom header pass (`read_header`) and python-gdcm's scan (`header_scan`), so both accept and
refuse the same files with the same messages; `series` groups and sorts what they return. The limits here
bound what a file may declare before any pixel memory is allocated.
"""

from __future__ import annotations

import functools
import math
import struct
import warnings
import zlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ovcf_core.imaging.sources import DicomFile

SUPPORTED_PHOTOMETRIC = ("MONOCHROME1", "MONOCHROME2")
UNCOMPRESSED_LITTLE_ENDIAN = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")  # implicit, explicit VR
DEFLATED = "1.2.840.10008.1.2.1.99"
PIXEL_DATA_TAG = 0x7FE00010

MAX_ROWS = 4096
"""Largest Rows (0028,0010) a slice may declare: checked in the header pass, before any pixel memory is
allocated, so a tiny hostile file promising a 20000 × 20000 slice is refused at once."""
MAX_COLUMNS = 4096
"""Largest Columns (0028,0011) a slice may declare (same reason as MAX_ROWS)."""
MAX_FILE_VOXELS = MAX_ROWS * MAX_COLUMNS
"""Largest Rows × Columns × NumberOfFrames (0028,0008) of one file (one slice of the largest size)."""
MAX_INFLATED_BYTES = MAX_FILE_VOXELS * 4 + 2**20
"""Largest size a deflated data set (TransferSyntaxUID 1.2.840.10008.1.2.1.99) may inflate to: one slice of
the largest size at 32 bits, plus 1 MB of header; a deflate bomb is refused before pydicom inflates it."""
# keyword -> (group, element) of the only attributes the header pass parses (every other element is
# skipped unread, identifiers included); the gdcm scan (`header_scan`) reads the same ones
HEADER_TAGS: dict[str, tuple[int, int]] = {
    "SOPInstanceUID": (0x0008, 0x0018),
    "Modality": (0x0008, 0x0060),
    "ImagerPixelSpacing": (0x0018, 0x1164),
    "SeriesInstanceUID": (0x0020, 0x000E),
    "InstanceNumber": (0x0020, 0x0013),
    "ImagePositionPatient": (0x0020, 0x0032),
    "ImageOrientationPatient": (0x0020, 0x0037),
    "SamplesPerPixel": (0x0028, 0x0002),
    "PhotometricInterpretation": (0x0028, 0x0004),
    "NumberOfFrames": (0x0028, 0x0008),
    "Rows": (0x0028, 0x0010),
    "Columns": (0x0028, 0x0011),
    "PixelSpacing": (0x0028, 0x0030),
    "BitsAllocated": (0x0028, 0x0100),
    "RescaleIntercept": (0x0028, 0x1052),
    "RescaleSlope": (0x0028, 0x1053),
}
PER_FILE_KEYWORDS = frozenset({"SOPInstanceUID", "InstanceNumber", "ImagePositionPatient"})
"""The header attributes each slice has its own value of; `image_attributes` validates all the others."""


class Modality(StrEnum):
    """The modalities the tool measures, each with the unit of its pixel values."""

    CT = "CT"
    MR = "MR"

    @property
    def unit(self) -> str:
        """Return 'HU' for CT (modality LUT applied), 'SI' (signal intensity, stored values) for MR."""
        return "HU" if self is Modality.CT else "SI"


@dataclass(frozen=True)
class Skipped:
    """A file that was not loaded, and why (one line naming the file and the DICOM tag).

    What was read of it places it: `series_uid` and `position` (ImagePositionPatient) when known, so a
    skipped slice keeps its place in its series; `may_be_slice` is False for files that cannot be an image
    of a series (not DICOM, empty, no PixelData) and for notes about a whole series.
    """

    name: str
    reason: str
    series_uid: str | None = field(default=None, repr=False)
    position: tuple[float, ...] | None = field(default=None, repr=False)
    orientation: tuple[float, ...] | None = field(default=None, repr=False)
    may_be_slice: bool = field(default=False, repr=False)

    def __str__(self) -> str:
        """Return the one line shown to the user: the file's name, then why it was skipped."""
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class Header:
    """What the header-only pass keeps of one file (no identifiers)."""

    file: DicomFile
    series_uid: str
    modality: Modality
    rows: int
    columns: int
    spacing: tuple[float, float]
    orientation: tuple[float, ...] | None
    position: tuple[float, float, float] | None
    instance_number: int | None
    slope: float
    intercept: float
    photometric: str = "MONOCHROME2"
    native: tuple[int, str] | None = None  # set by the gdcm scan for plain pixel data (`header_scan`)
    sop_uid: str | None = None  # SOPInstanceUID: the same image twice is one slice, not two


@functools.lru_cache(maxsize=64)
def _codec_problem(transfer_syntax: str) -> str | None:
    """Say why this transfer syntax cannot be decoded here, or None when a decoder is installed.

    Cached: asked once per syntax, not once per file.
    """
    if transfer_syntax in UNCOMPRESSED_LITTLE_ENDIAN:  # known without importing pydicom's decoders
        return None
    from pydicom.pixels import get_decoder
    from pydicom.uid import UID

    uid = UID(transfer_syntax)
    name = uid.name if uid.name != str(uid) else "an unknown transfer syntax"
    if not uid.is_transfer_syntax:
        return f"pixel data in {name} (TransferSyntaxUID {uid}): no decoder for it is installed"
    if not uid.is_compressed:
        return None
    try:
        decoder = get_decoder(uid)
    except NotImplementedError:
        return f"pixel data compressed as {name} ({uid}): no decoder for this transfer syntax is installed"
    if not decoder.is_available:
        return (
            f"pixel data compressed as {name} ({uid}): its decoder is not installed "
            f"({'; '.join(decoder.missing_dependencies)[:160]})"
        )
    return None


def tag_name(keyword: str) -> str:
    """Name a header attribute as messages do, keyword then tag, e.g. 'Rows (0028,0010)'.

    Parameters
    ----------
    keyword
        A key of HEADER_TAGS.

    Returns
    -------
    str
        The keyword with its (group,element) tag.

    Raises
    ------
    KeyError
        When `keyword` is not one of the attributes the header pass reads.
    """
    group, element = HEADER_TAGS[keyword]
    return f"{keyword} ({group:04X},{element:04X})"


def _get(dataset: Any, keyword: str, default: Any = None) -> Any:
    """Return an attribute of a pydicom dataset or a gdcm scan, never raising.

    A value pydicom cannot convert (a DS 'abc') comes back as its raw text.
    """
    try:
        return dataset.get(keyword, default)
    except Exception:  # pydicom converts lazily and raises ValueError/TypeError for malformed values
        try:
            from pydicom.tag import Tag

            raw = dataset.get_item(Tag(*HEADER_TAGS[keyword]))
            value = getattr(raw, "value", None)
            if isinstance(value, bytes):
                return value.decode("ascii", "replace").strip(" \0") or default
        except Exception:
            pass
        return "(unreadable)"


def _integer(dataset: Any, keyword: str, default: int) -> int | None:
    """Return a whole-number attribute, `default` when absent, None when it is not a whole number."""
    value = _get(dataset, keyword)
    if value is None or value == "":
        return default
    try:
        return int(str(value).strip())
    except ValueError:
        try:
            number = float(str(value))
        except ValueError:
            return None
        return int(number) if math.isfinite(number) and number == int(number) else None


def _declared_size_problem(dataset: Any) -> str | None:
    """Refuse a file whose Rows, Columns and NumberOfFrames promise more pixels than the limits.

    The limits are MAX_ROWS, MAX_COLUMNS and MAX_FILE_VOXELS, checked from the header alone, before any
    pixel memory is allocated.
    """
    rows, columns = _integer(dataset, "Rows", 0), _integer(dataset, "Columns", 0)
    frames = _integer(dataset, "NumberOfFrames", 1)
    if rows is None or columns is None:
        return f"{tag_name('Rows')} / {tag_name('Columns')} are not whole numbers"
    if frames is None or frames < 1:
        return f"{tag_name('NumberOfFrames')} is {_get(dataset, 'NumberOfFrames')!r:.40}, not a frame count"
    if rows > MAX_ROWS or columns > MAX_COLUMNS:
        return (
            f"{tag_name('Rows')} × {tag_name('Columns')} = {rows} × {columns}, larger than the "
            f"{MAX_ROWS} × {MAX_COLUMNS} allowed: refused before reading the pixels"
        )
    if rows * columns * frames > MAX_FILE_VOXELS:
        return (
            f"{tag_name('Rows')} × {tag_name('Columns')} × {tag_name('NumberOfFrames')} = "
            f"{rows} × {columns} × {frames} pixels, more than the {MAX_FILE_VOXELS} allowed in one file: "
            "refused before reading the pixels"
        )
    return None


def _expected_bytes(dataset: Any) -> int:
    """Bytes of one frame of pixel data as the header declares it (within the limits above)."""
    rows, columns = _integer(dataset, "Rows", 0) or 0, _integer(dataset, "Columns", 0) or 0
    bits = _integer(dataset, "BitsAllocated", 16) or 16
    samples = _integer(dataset, "SamplesPerPixel", 1) or 1
    return rows * columns * samples * max(bits // 8, 1)


def _pixel_data_problem(handle: Any, size: int, dataset: Any, expected: int) -> str | None:
    """Check the element where the header pass stopped: that it is PixelData, and all of it is in the file."""
    if dataset.file_meta.get("TransferSyntaxUID") == DEFLATED:
        return None  # deflated: the stream position is not a file position; checked when decoded
    start = handle.tell()
    header = handle.read(12)
    if len(header) < 8:
        return "no PixelData (7FE0,0010): the file holds no image"
    little = dataset.file_meta.get("TransferSyntaxUID") is None or dataset.file_meta.TransferSyntaxUID != (
        "1.2.840.10008.1.2.2"
    )
    order = "<" if little else ">"
    group, element = struct.unpack(order + "HH", header[:4])
    if (group << 16 | element) != PIXEL_DATA_TAG:
        return "no PixelData (7FE0,0010): the file holds no image"
    implicit = dataset.file_meta.get("TransferSyntaxUID") == "1.2.840.10008.1.2"
    if implicit:
        (length,) = struct.unpack(order + "I", header[4:8])
        value_start = start + 8
    else:
        (length,) = struct.unpack(order + "I", header[8:12])
        value_start = start + 12
    if length == 0xFFFFFFFF:  # encapsulated (compressed) fragments: checked when decoded
        return None
    if value_start + length > size or length < expected:
        return (
            f"truncated: PixelData (7FE0,0010) needs {max(length, expected)} bytes, "
            f"the file holds {max(size - value_start, 0)}"
        )
    return None


_LONG_VRS = frozenset(
    {b"OB", b"OW", b"OF", b"OD", b"OL", b"OV", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT", b"UV"}
)  # explicit VRs with a 4-byte length


def _meta_transfer_syntax(head: bytes) -> tuple[str | None, int | None]:
    """Read (TransferSyntaxUID, offset where the data set starts) from the file meta group (0002,xxxx).

    The group is always explicit VR little endian; (syntax or None, None) when it does not end in `head`.
    """
    syntax, pos = None, 132
    while pos + 8 <= len(head):
        group, element = struct.unpack("<HH", head[pos : pos + 4])
        if group != 0x0002:
            return syntax, pos
        vr = head[pos + 4 : pos + 6]
        if vr in _LONG_VRS:
            if pos + 12 > len(head):
                break
            (length,) = struct.unpack("<I", head[pos + 8 : pos + 12])
            value = pos + 12
        else:
            (length,) = struct.unpack("<H", head[pos + 6 : pos + 8])
            value = pos + 8
        if element == 0x0010:
            syntax = head[value : value + length].decode("ascii", "replace").strip(" \0")
        pos = value + length
    return syntax, None


def _deflate_problem(handle: Any) -> str | None:
    """Refuse a deflated data set that inflates to more than MAX_INFLATED_BYTES (a deflate bomb).

    At most that much is inflated (pydicom would inflate all of it into memory); the reason names
    Rows/Columns (or the limit) when it is larger, else None.
    """
    head = handle.read(132 + 16384)
    handle.seek(0)
    if head[128:132] != b"DICM" or DEFLATED.encode() not in head:
        return None
    syntax, start = _meta_transfer_syntax(head)
    if syntax != DEFLATED:
        return None
    if start is None:
        return "the file meta information (0002,xxxx) is longer than 16 kB: not a DICOM file this tool reads"
    handle.seek(start)
    inflater = zlib.decompressobj(-zlib.MAX_WBITS)
    prefix, total, over = b"", 0, False
    try:
        while not over:
            chunk = handle.read(256 * 1024)
            if not chunk:
                break
            while chunk and not over:
                out = inflater.decompress(chunk, 1024 * 1024)
                chunk = inflater.unconsumed_tail
                total += len(out)
                if len(prefix) < 1024 * 1024:
                    prefix += out[: 1024 * 1024 - len(prefix)]
                over = total > MAX_INFLATED_BYTES
    except zlib.error:
        over = False  # damaged: pydicom reports it
    handle.seek(0)
    if not over:
        return None
    problem = None
    try:
        import io

        from pydicom.filereader import _at_pixel_data, read_dataset

        header = read_dataset(
            io.BytesIO(prefix), False, True, stop_when=_at_pixel_data, specific_tags=_header_tags()
        )
        problem = _declared_size_problem(header)
    except Exception:  # the header of a bomb need not parse; the size alone refuses it
        pass
    return problem or (
        f"deflated data set (TransferSyntaxUID {DEFLATED}) inflates to more than "
        f"{MAX_INFLATED_BYTES // 2**20} MB (a deflate bomb?): refused"
    )


def _floats(value: Any, count: int) -> tuple[float, ...] | None:
    """Return `count` finite numbers from a multi-valued attribute, or None when it is not that."""
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if len(numbers) != count or not all(math.isfinite(n) for n in numbers):
        return None
    return numbers


CT_MR_IMAGE_STORAGE = frozenset(
    f"1.2.840.10008.5.1.4.1.1.{suffix}" for suffix in ("2", "2.1", "2.2", "4", "4.1", "4.4")
)  # SOP classes of CT and MR images (also enhanced and legacy-converted)


def _is_image(dataset: Any) -> bool:
    """Whether a file without PixelData says it is a CT/MR image (so it was cut short, not a report)."""
    sop_class = str(dataset.file_meta.get("MediaStorageSOPClassUID", ""))
    return (
        sop_class in CT_MR_IMAGE_STORAGE
        or str(_get(dataset, "Modality", "")).upper() in ("CT", "MR")
        or _get(dataset, "Rows") is not None
    )


def _skip(file: DicomFile, dataset: Any, reason: str, may_be_slice: bool = True) -> Skipped:
    """Record a skipped file, with its series and position when the header holds them (to keep its place)."""
    uid = _get(dataset, "SeriesInstanceUID")
    return Skipped(
        file.name,
        reason,
        series_uid=str(uid) if uid else None,
        position=_floats(_get(dataset, "ImagePositionPatient"), 3),
        orientation=_floats(_get(dataset, "ImageOrientationPatient"), 6),
        may_be_slice=may_be_slice,
    )


def read_header(file: DicomFile) -> Header | Skipped:
    """Read one file's header without its pixels: what the series needs, or why the file is skipped.

    Parameters
    ----------
    file
        The file on disk or in memory (from `sources`).

    Returns
    -------
    Header or Skipped
        The header's validated attributes, or one line naming the file and the tag that stops it (not
        DICOM, empty, truncated, a deflate bomb, too large, an unsupported modality or encoding, no
        spacing, no rescale for CT). Nothing is raised for a bad file.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        size = file.size
        if size == 0:
            return Skipped(file.name, file.problem or "empty file (0 bytes)")
        with file.open() as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            deflated = _deflate_problem(handle)
            if deflated:
                return Skipped(file.name, deflated, may_be_slice=True)
            try:
                dataset = pydicom.dcmread(handle, stop_before_pixels=True, specific_tags=_header_tags())
            except InvalidDicomError:
                return Skipped(file.name, "not a DICOM file (no 'DICM' marker after the 128-byte preamble)")
            except Exception as exc:  # a damaged DICOM file ('DICM' marker) may be a slice of a series
                handle.seek(128)
                return Skipped(
                    file.name,
                    file.problem or f"cannot be read as DICOM: truncated or damaged ({type(exc).__name__})",
                    may_be_slice=handle.read(4) == b"DICM",
                )
            # no deidentify() here: this dataset is dropped once the allow-listed fields are taken from it
            problem = _declared_size_problem(dataset) or file.problem
            if problem is None:
                problem = _pixel_data_problem(handle, size, dataset, _expected_bytes(dataset))
                if problem and problem.startswith("no PixelData"):
                    if not _is_image(dataset):  # a report, a presentation state: not a slice
                        return _skip(file, dataset, problem, may_be_slice=False)
                    problem = "truncated: the file ends before its PixelData (7FE0,0010)"
    except OSError as exc:
        return Skipped(file.name, f"cannot be opened ({exc.strerror or exc})")
    if problem:
        return _skip(file, dataset, problem)
    return header_from_dataset(file, dataset)


@functools.cache
def _header_tags() -> list[Any]:
    """Return HEADER_TAGS as pydicom tags (pydicom is imported only when a series is read)."""
    from pydicom.tag import Tag

    return [Tag(*numbers) for numbers in HEADER_TAGS.values()]


def _rescale(dataset: Any, keyword: str) -> float | str:
    """Return RescaleSlope or RescaleIntercept of a CT slice, or why it cannot convert stored values to HU.

    Absent, not a number, NaN/inf or a slope of 0 gives the reason: never a silent slope of 1 or HU of
    -1024.
    """
    name = tag_name(keyword)
    value = _get(dataset, keyword)
    if value is None or (isinstance(value, str) and not value.strip()):
        return f"{name} is missing: cannot convert to HU"
    try:
        number = float(value)
    except (TypeError, ValueError):
        return f"{name} is {str(value)[:40]!r}, not a number: cannot convert to HU"
    if not math.isfinite(number):
        return f"{name} is {str(value)[:40]!r}, not a finite number: cannot convert to HU"
    if keyword == "RescaleSlope" and number == 0:
        return f"{name} is 0: cannot convert to HU"
    return number


def image_attributes(dataset: Any) -> dict[str, Any] | str:
    """Validate the attributes the slices of a series share, one reason naming the tag when one is wrong.

    Reads none of PER_FILE_KEYWORDS, so the gdcm scan validates a series' shared values once and every
    slice with the same values gets the same answer.

    Parameters
    ----------
    dataset
        A pydicom dataset read without pixels, or the gdcm scan's values (anything with ``get`` and
        ``file_meta.get``).

    Returns
    -------
    dict or str
        Header's fields other than the file and its per-file attributes (a dict to pass on to
        `header_from_dataset`), or why the file cannot be measured: not CT/MR, too large, no decoder, not
        greyscale, multi-frame, no rows/columns or pixel spacing, a CT rescale that cannot give HU.
    """
    modality = str(_get(dataset, "Modality", "")).upper()
    if modality not in ("CT", "MR"):
        return f"unsupported Modality (0008,0060) '{modality}': only CT and MR are measured"
    size_problem = _declared_size_problem(dataset)
    if size_problem:
        return size_problem
    transfer = dataset.file_meta.get("TransferSyntaxUID")
    if transfer is not None:
        codec = _codec_problem(str(transfer))
        if codec:
            return codec
    photometric = str(_get(dataset, "PhotometricInterpretation", "")).upper()
    if photometric not in SUPPORTED_PHOTOMETRIC or _integer(dataset, "SamplesPerPixel", 1) != 1:
        return (
            f"unsupported PhotometricInterpretation (0028,0004) '{photometric}': only greyscale "
            "MONOCHROME1/MONOCHROME2 images are measured"
        )
    frames = _integer(dataset, "NumberOfFrames", 1)
    if frames != 1:
        return (
            f"multi-frame image (NumberOfFrames (0028,0008) = {frames}): "
            "export the series as single-frame slices"
        )
    rows, columns = _integer(dataset, "Rows", 0) or 0, _integer(dataset, "Columns", 0) or 0
    if rows < 1 or columns < 1:
        return "no Rows (0028,0010) / Columns (0028,0011)"
    spacing = _floats(_get(dataset, "PixelSpacing"), 2) or _floats(_get(dataset, "ImagerPixelSpacing"), 2)
    if spacing is None or min(spacing) <= 0:
        return "no valid PixelSpacing (0028,0030): areas in mm² cannot be computed"
    slope, intercept = 1.0, 0.0  # MR: the stored signal intensity is measured, the modality LUT unused
    if modality == "CT":
        for value in (found := (_rescale(dataset, "RescaleSlope"), _rescale(dataset, "RescaleIntercept"))):
            if isinstance(value, str):
                return value
        slope, intercept = found  # type: ignore[assignment]  # neither is a str (returned above)
    return {
        "series_uid": str(_get(dataset, "SeriesInstanceUID") or "unknown-series"),
        "modality": Modality(modality),
        "rows": rows,
        "columns": columns,
        "spacing": (spacing[0], spacing[1]),
        "orientation": _floats(_get(dataset, "ImageOrientationPatient"), 6),
        "slope": float(slope),
        "intercept": float(intercept),
        "photometric": photometric,
    }


def header_from_dataset(
    file: DicomFile,
    dataset: Any,
    native: tuple[int, str] | None = None,
    attributes: dict[str, Any] | str | None = None,
) -> Header | Skipped:
    """Validate the attributes a measurement needs, one reason naming the tag when one is missing.

    Parameters
    ----------
    file
        The file the attributes were read from.
    dataset
        A pydicom dataset read without pixels, or the gdcm scan's values (anything with ``get`` and
        ``file_meta.get``).
    native
        Where the pixel values start and their numpy dtype, when the gdcm scan found them stored plainly
        (`Header.native`); None has them decoded by pydicom.
    attributes
        What `image_attributes` gave for this dataset's shared values, when the caller has it already;
        None validates them here.

    Returns
    -------
    Header or Skipped
        The header (no identifiers), or why the file cannot be measured (see `image_attributes`).
    """
    shared = image_attributes(dataset) if attributes is None else attributes
    if isinstance(shared, str):
        return _skip(file, dataset, shared)
    instance = _integer(dataset, "InstanceNumber", 0) if _get(dataset, "InstanceNumber") is not None else None
    sop = _get(dataset, "SOPInstanceUID")
    return Header(
        file=file,
        position=_floats(_get(dataset, "ImagePositionPatient"), 3),  # type: ignore[arg-type]  # 3 or None
        instance_number=instance,
        native=native,
        sop_uid=str(sop) if sop else None,
        **shared,
    )
