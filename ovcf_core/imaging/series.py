"""DICOM series: a header-only pass to group and sort slices, pixels decoded only for the slices used.

Files are grouped by SeriesInstanceUID and sorted by ImagePositionPatient projected on the normal of
ImageOrientationPatient (never by file order or InstanceNumber). Each file that cannot be used is skipped
with one reason naming the file and the DICOM tag; the good files still load. Patient identifiers are
dropped on read (see `deid`).
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import struct
import warnings
import zlib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

import numpy as np

from ovcf_core.errors import InputError
from ovcf_core.imaging.deid import deidentify, technical_header
from ovcf_core.imaging.sources import DicomFile, Source, collect_files

SUPPORTED_PHOTOMETRIC = ("MONOCHROME1", "MONOCHROME2")
UNCOMPRESSED_LITTLE_ENDIAN = ("1.2.840.10008.1.2", "1.2.840.10008.1.2.1")  # implicit, explicit VR
DEFLATED = "1.2.840.10008.1.2.1.99"
PIXEL_DATA_TAG = 0x7FE00010
CACHED_SLICES = 16  # decoded slices kept per series

MAX_ROWS = 4096
"""Largest Rows (0028,0010) a slice may declare: checked in the header pass, before any pixel memory is
allocated, so a tiny hostile file promising a 20000 × 20000 slice is refused at once."""
MAX_COLUMNS = 4096
"""Largest Columns (0028,0011) a slice may declare (same reason as MAX_ROWS)."""
MAX_FILE_VOXELS = MAX_ROWS * MAX_COLUMNS
"""Largest Rows × Columns × NumberOfFrames (0028,0008) of one file (one slice of the largest size)."""
MAX_SERIES_VOXELS = 1_000_000_000
"""Largest slices × Rows × Columns of one series (a 1000-slice 1000 × 1000 CT); larger is refused."""
MAX_INFLATED_BYTES = MAX_FILE_VOXELS * 4 + 2**20
"""Largest size a deflated data set (TransferSyntaxUID 1.2.840.10008.1.2.1.99) may inflate to: one slice of
the largest size at 32 bits, plus 1 MB of header; a deflate bomb is refused before pydicom inflates it."""
MAX_CACHED_BYTES = 256 * 2**20
"""Decoded slices kept per series are bounded by this many bytes as well as by CACHED_SLICES."""
MAX_MISSING_IN_A_GAP = 8
"""Most slices a gap in the slice positions may stand for (a step of 2 to 9 times the spacing); a larger
jump is not taken as missing files but reported as irregular spacing."""
GAP_TOLERANCE = 0.1
"""How far (in spacings) a step may be from a whole number of spacings and still count as regular."""
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


class Plane(StrEnum):
    """Anatomical plane of a series, from the direction of its slice normal."""

    AXIAL = "axial"
    SAGITTAL = "sagittal"
    CORONAL = "coronal"

    @classmethod
    def from_normal(cls, normal: np.ndarray) -> Plane:
        """The plane whose normal is closest to `normal` (x: sagittal, y: coronal, z: axial)."""
        return (cls.SAGITTAL, cls.CORONAL, cls.AXIAL)[int(np.argmax(np.abs(normal)))]


class Modality(StrEnum):
    """The modalities the tool measures, each with the unit of its pixel values."""

    CT = "CT"
    MR = "MR"

    @property
    def unit(self) -> str:
        """'HU' for CT (modality LUT applied), 'SI' (signal intensity, stored values) for MR."""
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
        return f"{self.name}: {self.reason}"


@dataclass(frozen=True)
class MissingSlice:
    """A place in a sorted series with no image to measure (a skipped file, a file absent from the
    position sequence, or two different images at one position): it keeps the indices after it right,
    and `reason` says why slice N cannot be measured ("slice N {reason}")."""

    position: float
    reason: str
    files: tuple[str, ...] = ()


@dataclass(frozen=True)
class SliceRef:
    """One slice of a series: its file, position along the slice normal and modality LUT (not yet decoded)."""

    file: DicomFile
    position: float
    instance_number: int | None
    slope: float
    intercept: float
    native: tuple[int, str] | None = None  # (byte offset, numpy dtype) of plain pixel values, when known


@dataclass(frozen=True)
class _Header:
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


@dataclass(frozen=True)
class Series:
    """One sorted series ready to measure: geometry, sorted slices, and pixels decoded on demand."""

    uid: str
    modality: Modality
    plane: Plane
    rows: int
    columns: int
    pixel_spacing: tuple[float, float]  # (row spacing, column spacing) in mm, as DICOM PixelSpacing
    slices: tuple[SliceRef | MissingSlice, ...]  # every position of the series, a gap kept as MissingSlice
    photometric: str = "MONOCHROME2"  # MONOCHROME1: low values are displayed white (inverted grey scale)
    ambiguous: str | None = None  # why slice indices cannot be trusted (a skipped file not placed)
    _cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.slices)

    @property
    def missing(self) -> list[int]:
        """Indices of the slices with no image (MissingSlice)."""
        return [i for i, s in enumerate(self.slices) if isinstance(s, MissingSlice)]

    @functools.cached_property
    def header(self) -> dict[str, str]:
        """The allow-listed technical attributes of the first slice (read the first time they are asked
        for: measuring does not need them)."""
        first = next(s for s in self.slices if isinstance(s, SliceRef))
        return _technical(first.file)

    @property
    def unit(self) -> str:
        """Unit of `pixels()` values: HU (CT) or SI (MR)."""
        return self.modality.unit

    @property
    def pixel_area_mm2(self) -> float:
        """Area of one pixel in mm²."""
        return self.pixel_spacing[0] * self.pixel_spacing[1]

    def describe(self) -> str:
        """A one-line label for a series picker (technical attributes only)."""
        missing = f" ({len(self.missing)} missing)" if self.missing else ""
        text = (
            f"{self.modality.value} {self.plane.value}, {len(self)} slice(s){missing}, "
            f"{self.columns}×{self.rows}, {self.pixel_spacing[1]:g}×{self.pixel_spacing[0]:g} mm"
        )
        if self.header.get("SeriesDescription"):
            text += f" — {self.header['SeriesDescription']}"
        return text

    def pixels(self, index: int) -> np.ndarray:
        """Slice `index` (0-based, sorted along the normal) as float64: HU for CT, stored SI for MR."""
        if not 0 <= index < len(self.slices):
            raise InputError(
                f"slice {index} does not exist: the series has slices 0 to {len(self.slices) - 1}"
            )
        if index not in self._cache:
            ref = self.slices[index]
            if isinstance(ref, MissingSlice):
                raise InputError(f"slice {index} {ref.reason}")
            if self.modality is Modality.CT and (
                not math.isfinite(ref.slope) or ref.slope == 0 or not math.isfinite(ref.intercept)
            ):
                raise InputError(
                    f"RescaleSlope (0028,1053) {ref.slope:g} / RescaleIntercept (0028,1052) "
                    f"{ref.intercept:g}: cannot convert to HU",
                    file=ref.file.name,
                )
            if ref.native is not None:
                stored = read_native_pixels(ref.file, ref.native, self.rows, self.columns)
            else:
                stored = decode_pixels(ref.file, self.rows, self.columns)
            values = stored.astype(np.float64)
            if self.modality is Modality.CT:
                from ovcf_core.imaging.ct import to_hu

                values = to_hu(stored, ref.slope, ref.intercept)
            while self._cache and (  # keep memory bounded while a slider browses
                len(self._cache) >= CACHED_SLICES
                or sum(a.nbytes for a in self._cache.values()) + values.nbytes > MAX_CACHED_BYTES
            ):
                self._cache.pop(next(iter(self._cache)))
            self._cache[index] = values
        return self._cache[index]


@dataclass(frozen=True)
class LoadedSeries:
    """Every series found in a source (largest first) and every file skipped, with its reason."""

    series: tuple[Series, ...]
    skipped: tuple[Skipped, ...]

    def messages(self) -> list[str]:
        """One line per skipped file."""
        return [str(s) for s in self.skipped]

    def pick(self, uid: str | None = None, source_name: str = "the input") -> Series:
        """The series with this SeriesInstanceUID, or the only one; a clear error otherwise."""
        if not self.series:
            reasons = "; ".join(self.messages()[:5]) or "no files"
            raise InputError(f"no usable DICOM image in {source_name}: {reasons}")
        if uid is not None:
            for series in self.series:
                if series.uid == uid:
                    return series
            raise InputError(
                f"no series with SeriesInstanceUID {uid} in {source_name}; found "
                + ", ".join(s.uid for s in self.series)
            )
        if len(self.series) > 1:
            listing = "; ".join(f"{s.uid} ({s.describe()})" for s in self.series)
            raise InputError(
                f"{len(self.series)} series found in {source_name}; choose one with --series UID: {listing}"
            )
        return self.series[0]


# ------------------------------------------------------------------------------------------------ decoding


@functools.lru_cache(maxsize=64)
def _codec_problem(transfer_syntax: str) -> str | None:
    """Why this transfer syntax cannot be decoded here, or None when a decoder is installed (asked once
    per syntax, not once per file)."""
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


def read_native_pixels(file: DicomFile, native: tuple[int, str], rows: int, columns: int) -> np.ndarray:
    """Plain pixel values read straight from the file: the header scan found them uncompressed, little-
    endian, one frame of exactly rows × columns values at `native` = (offset, dtype), with every stored
    bit used (BitsStored = BitsAllocated), which is all pydicom's decoder would do with them (tested)."""
    offset, dtype = native
    size = rows * columns * np.dtype(dtype).itemsize
    with file.open() as handle:
        handle.seek(offset)
        data = handle.read(size)
    if len(data) != size:
        raise InputError(
            "pixel data (7FE0,0010) is shorter than Rows × Columns: the file changed", file=file.name
        )
    return (
        np.frombuffer(data, dtype=dtype)
        .astype(np.dtype(dtype).newbyteorder("="), copy=False)
        .reshape(rows, columns)
    )


def decode_pixels(file: DicomFile, rows: int, columns: int) -> np.ndarray:
    """The stored pixel values of one single-frame slice (identifiers dropped on read)."""
    import pydicom

    try:
        with file.open() as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            dataset = deidentify(pydicom.dcmread(handle))
            array = dataset.pixel_array
    except Exception as exc:  # pydicom and its plugins raise many types for damaged pixel data
        raise InputError(
            f"pixel data (7FE0,0010) cannot be decoded ({type(exc).__name__}: {str(exc)[:160]})",
            file=file.name,
        ) from None
    if array.shape != (rows, columns):
        raise InputError(
            f"pixel data has shape {array.shape}, expected {rows}×{columns} (Rows, Columns)", file=file.name
        )
    return array


# ------------------------------------------------------------------------------------------------ header pass


def _tag_name(keyword: str) -> str:
    """'Rows (0028,0010)': a header attribute as messages name it."""
    group, element = HEADER_TAGS[keyword]
    return f"{keyword} ({group:04X},{element:04X})"


def _get(dataset: Any, keyword: str, default: Any = None) -> Any:
    """An attribute of a pydicom dataset or a gdcm scan; a value pydicom cannot convert (a DS 'abc')
    comes back as its raw text instead of raising."""
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
    """A whole-number attribute, `default` when absent, None when it is not a whole number."""
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
    """Refuse a file whose Rows, Columns and NumberOfFrames promise more pixels than the limits (MAX_ROWS,
    MAX_COLUMNS, MAX_FILE_VOXELS), from the header alone, before any pixel memory is allocated."""
    rows, columns = _integer(dataset, "Rows", 0), _integer(dataset, "Columns", 0)
    frames = _integer(dataset, "NumberOfFrames", 1)
    if rows is None or columns is None:
        return f"{_tag_name('Rows')} / {_tag_name('Columns')} are not whole numbers"
    if frames is None or frames < 1:
        return f"{_tag_name('NumberOfFrames')} is {_get(dataset, 'NumberOfFrames')!r:.40}, not a frame count"
    if rows > MAX_ROWS or columns > MAX_COLUMNS:
        return (
            f"{_tag_name('Rows')} × {_tag_name('Columns')} = {rows} × {columns}, larger than the "
            f"{MAX_ROWS} × {MAX_COLUMNS} allowed: refused before reading the pixels"
        )
    if rows * columns * frames > MAX_FILE_VOXELS:
        return (
            f"{_tag_name('Rows')} × {_tag_name('Columns')} × {_tag_name('NumberOfFrames')} = "
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
    """Check the element where the header pass stopped: is it PixelData, and is all of it in the file?"""
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
    """(TransferSyntaxUID, offset where the data set starts) from the file meta group (0002,xxxx), which
    is always explicit VR little endian; (syntax or None, None) when the group does not end in `head`."""
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
    """For a deflated data set, inflate at most MAX_INFLATED_BYTES (pydicom would inflate all of it into
    memory, a deflate bomb); a reason naming Rows/Columns (or the limit) when it is larger, else None."""
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
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if len(numbers) != count or not all(np.isfinite(numbers)):
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
    """A skipped file, with its series and position when the header holds them (so it keeps its place)."""
    uid = _get(dataset, "SeriesInstanceUID")
    return Skipped(
        file.name,
        reason,
        series_uid=str(uid) if uid else None,
        position=_floats(_get(dataset, "ImagePositionPatient"), 3),
        orientation=_floats(_get(dataset, "ImageOrientationPatient"), 6),
        may_be_slice=may_be_slice,
    )


def read_header(file: DicomFile) -> _Header | Skipped:
    """Header-only pass of one file (`stop_before_pixels`): what the series needs, or why it is skipped."""
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
    return _header_from_dataset(file, dataset)


@functools.cache
def _header_tags() -> list[Any]:
    """HEADER_TAGS as pydicom tags (pydicom is imported only when a series is read)."""
    from pydicom.tag import Tag

    return [Tag(*numbers) for numbers in HEADER_TAGS.values()]


def _technical(file: DicomFile) -> dict[str, str]:
    """The allow-listed technical attributes of one file (read again for the series' first slice only,
    not kept for every slice of the header pass)."""
    import pydicom

    try:
        with file.open() as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return technical_header(pydicom.dcmread(handle, stop_before_pixels=True))
    except Exception:  # the file was read a moment ago; if it cannot be now, show no extra attributes
        return {}


def _rescale(dataset: Any, keyword: str) -> float | str:
    """RescaleSlope or RescaleIntercept of a CT slice, or why it cannot convert stored values to HU
    (absent, not a number, NaN/inf, a slope of 0): never a silent slope of 1 or HU of -1024."""
    name = _tag_name(keyword)
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


def _header_from_dataset(file: DicomFile, dataset: Any) -> _Header | Skipped:
    """Validate the attributes a measurement needs, one reason naming the tag when one is missing."""
    modality = str(_get(dataset, "Modality", "")).upper()
    if modality not in ("CT", "MR"):
        return _skip(
            file, dataset, f"unsupported Modality (0008,0060) '{modality}': only CT and MR are measured"
        )
    size_problem = _declared_size_problem(dataset)
    if size_problem:
        return _skip(file, dataset, size_problem)
    transfer = dataset.file_meta.get("TransferSyntaxUID")
    if transfer is not None:
        codec = _codec_problem(str(transfer))
        if codec:
            return _skip(file, dataset, codec)
    photometric = str(_get(dataset, "PhotometricInterpretation", "")).upper()
    if photometric not in SUPPORTED_PHOTOMETRIC or _integer(dataset, "SamplesPerPixel", 1) != 1:
        return _skip(
            file,
            dataset,
            f"unsupported PhotometricInterpretation (0028,0004) '{photometric}': only greyscale "
            "MONOCHROME1/MONOCHROME2 images are measured",
        )
    frames = _integer(dataset, "NumberOfFrames", 1)
    if frames != 1:
        return _skip(
            file,
            dataset,
            f"multi-frame image (NumberOfFrames (0028,0008) = {frames}): "
            "export the series as single-frame slices",
        )
    rows, columns = _integer(dataset, "Rows", 0) or 0, _integer(dataset, "Columns", 0) or 0
    if rows < 1 or columns < 1:
        return _skip(file, dataset, "no Rows (0028,0010) / Columns (0028,0011)")
    spacing = _floats(_get(dataset, "PixelSpacing"), 2) or _floats(_get(dataset, "ImagerPixelSpacing"), 2)
    if spacing is None or min(spacing) <= 0:
        return _skip(file, dataset, "no valid PixelSpacing (0028,0030): areas in mm² cannot be computed")
    orientation = _floats(_get(dataset, "ImageOrientationPatient"), 6)
    position = _floats(_get(dataset, "ImagePositionPatient"), 3)
    slope, intercept = 1.0, 0.0  # MR: the stored signal intensity is measured, the modality LUT unused
    if modality == "CT":
        for value in (found := (_rescale(dataset, "RescaleSlope"), _rescale(dataset, "RescaleIntercept"))):
            if isinstance(value, str):
                return _skip(file, dataset, value)
        slope, intercept = found  # type: ignore[assignment]
    instance = _integer(dataset, "InstanceNumber", 0) if _get(dataset, "InstanceNumber") is not None else None
    sop = _get(dataset, "SOPInstanceUID")
    return _Header(
        file=file,
        series_uid=str(_get(dataset, "SeriesInstanceUID") or "unknown-series"),
        modality=Modality(modality),
        rows=rows,
        columns=columns,
        spacing=(spacing[0], spacing[1]),
        orientation=orientation,
        position=position,  # type: ignore[arg-type]
        instance_number=instance,
        slope=float(slope),
        intercept=float(intercept),
        photometric=photometric,
        sop_uid=str(sop) if sop else None,
    )


# ------------------------------------------------------------------------------------------------ assembling


def _normal(orientation: tuple[float, ...]) -> np.ndarray:
    row, column = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    normal = np.cross(row, column)
    norm = np.linalg.norm(normal)
    return normal / norm if norm > 0 else np.array([0.0, 0.0, 1.0])


def _names(items: list[Skipped] | list[str], most: int = 3) -> str:
    """'a.dcm', 'a.dcm and b.dcm', 'a.dcm, b.dcm, c.dcm and 2 more'."""
    names = [i.name if isinstance(i, Skipped) else i for i in items]
    if len(names) > most:
        return ", ".join(names[:most]) + f" and {len(names) - most} more"
    return " and ".join(names) if len(names) <= 2 else ", ".join(names[:-1]) + " and " + names[-1]


def _slot_name(slot: SliceRef | MissingSlice) -> str:
    if isinstance(slot, SliceRef):
        return slot.file.name
    return slot.files[0] if slot.files else f"the missing slice at {slot.position:.4g} mm"


_Slot = tuple[float, SliceRef | MissingSlice]


def _same_position(a: float, b: float) -> bool:
    return abs(a - b) < 1e-4


def _stack(uid: str, groups: list[tuple[float, list[_Header]]], skipped: list[Skipped]) -> list[_Slot]:
    """One slot per position: the image there; the same SOPInstanceUID twice is one image (the copy is
    skipped); different images at one position are a MissingSlice naming them (which one is the slice?)."""
    slots: list[_Slot] = []
    for position, group in groups:
        first = group[0]
        distinct = [first]
        for h in group[1:]:
            same = next((d for d in distinct if h.sop_uid is not None and h.sop_uid == d.sop_uid), None)
            if same is not None:
                skipped.append(
                    Skipped(
                        h.file.name,
                        f"same SOPInstanceUID (0008,0018) as {same.file.name}: the same image twice "
                        "(duplicate slice), ignored",
                        series_uid=uid,
                    )
                )
            else:
                distinct.append(h)
        if len(distinct) == 1:
            ref = SliceRef(first.file, position, first.instance_number, first.slope, first.intercept)
            slots.append((position, dataclasses.replace(ref, native=first.native)))
            continue
        names = [d.file.name for d in distinct]
        for d in distinct:
            others = _names([n for n in names if n != d.file.name])
            skipped.append(
                Skipped(
                    d.file.name,
                    f"a different image (SOPInstanceUID (0008,0018)) at the same ImagePositionPatient "
                    f"(0020,0032) as {others}: neither is measured",
                    series_uid=uid,
                )
            )
        reason = (
            f"has no single image: {_names(names)} are different images (SOPInstanceUID (0008,0018)) at the "
            "same ImagePositionPatient (0020,0032), so it cannot be told which one is the slice"
        )
        slots.append((position, MissingSlice(position, reason, tuple(names))))
    return slots


def _fill_gaps(slots: list[_Slot]) -> tuple[list[_Slot], list[MissingSlice], str | None]:
    """Keep a MissingSlice where the slice positions skip 1 to MAX_MISSING_IN_A_GAP whole spacings, so
    the indices after a missing file stay those of the full series. Returns (slots, the missing slices
    added, why the positions cannot show where a file is missing: irregular spacing or too few slices)."""
    if len(slots) < 3:
        return slots, [], "a series of fewer than 3 slices does not show its spacing"
    steps = np.diff([p for p, _ in slots])
    step = float(np.median(steps))
    filled: list[_Slot] = [slots[0]]
    added: list[MissingSlice] = []
    irregular = None
    for (before, slot_before), (after, slot_after) in itertools.pairwise(slots):
        ratio = (after - before) / step
        whole = round(ratio)
        if abs(ratio - whole) <= GAP_TOLERANCE and 2 <= whole <= MAX_MISSING_IN_A_GAP + 1:
            for k in range(1, whole):
                position = before + k * (after - before) / whole
                missing = MissingSlice(
                    position,
                    f"has no image: no file at position {position:.4g} mm along the slice normal, between "
                    f"{_slot_name(slot_before)} and {_slot_name(slot_after)} (the slices are {step:.4g} mm "
                    "apart)",
                )
                filled.append((position, missing))
                added.append(missing)
        elif (abs(ratio - whole) > GAP_TOLERANCE or whole != 1) and irregular is None:
            irregular = (
                f"the slices are {step:.4g} mm apart, but {after - before:.4g} mm between "
                f"{_slot_name(slot_before)} and {_slot_name(slot_after)}"
            )
        filled.append((after, slot_after))
    return filled, added, irregular


def _assemble(uid: str, headers: list[_Header], skipped: list[Skipped]) -> Series | None:
    """Sort one series along the slice normal, keeping every position of the full series (DESIGN: ROI
    slice indices count the series sorted by position): a skipped file whose position is known keeps its
    place, a gap of whole spacings keeps placeholders, and a skipped file that cannot be placed makes
    the indices ambiguous (measuring is then refused, naming it). Unfit slices are skipped with a reason."""
    earlier = [s for s in skipped if s.may_be_slice and s.series_uid in (uid, None)]
    geometry = Counter((h.modality, h.rows, h.columns, h.spacing) for h in headers)
    (modality, rows, columns, spacing), _ = geometry.most_common(1)[0]

    def key(orientation: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(round(v, 4) for v in orientation)

    orientations = Counter(key(h.orientation) for h in headers if h.orientation is not None)
    orientation = orientations.most_common(1)[0][0] if orientations else (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    normal = _normal(orientation)
    kept: list[tuple[float, _Header]] = []
    for h in headers:
        reason = None
        if (h.modality, h.rows, h.columns, h.spacing) != (modality, rows, columns, spacing):
            reason = f"does not match its series {uid} (Rows/Columns/PixelSpacing/Modality)"
        elif len(headers) > 1 and (h.position is None or h.orientation is None):
            reason = (
                "no ImagePositionPatient (0020,0032) / ImageOrientationPatient (0020,0037): "
                "cannot place the slice in its series"
            )
        elif h.orientation is not None and key(h.orientation) != orientation:
            reason = "ImageOrientationPatient (0020,0037) differs from its series"
        if reason:
            skip = Skipped(h.file.name, reason, uid, h.position, h.orientation, may_be_slice=True)
            skipped.append(skip)
            earlier.append(skip)
            continue
        position = float(np.dot(h.position, normal)) if h.position is not None else 0.0
        kept.append((position, h))
    if not kept:
        return None
    kept.sort(key=lambda item: (item[0], item[1].file.name))
    groups: list[tuple[float, list[_Header]]] = []
    for position, h in kept:
        if groups and _same_position(groups[-1][0], position):
            groups[-1][1].append(h)
        else:
            groups.append((position, [h]))
    slots = _stack(uid, groups, skipped)
    # skipped files of this series: placed where their position says, or left unplaced
    unplaced: list[Skipped] = []
    placed: dict[float, list[Skipped]] = {}
    for skip in earlier:
        if skip.series_uid == uid and skip.position is not None:
            if skip.orientation is not None and key(skip.orientation) != orientation:
                continue  # another stack (a localizer): not a slice of this one
            position = float(np.dot(skip.position, normal))
            if any(_same_position(position, p) for p, _ in slots):
                continue  # its position is taken by an image of the series (a damaged copy)
            near = next((p for p in placed if _same_position(p, position)), position)
            placed.setdefault(near, []).append(skip)
        else:
            unplaced.append(skip)
    for position, skips in placed.items():
        verb = "was" if len(skips) == 1 else "were"
        reason = f"has no image: {_names(skips)} {verb} skipped ({skips[0].reason})"
        slots.append((position, MissingSlice(position, reason, tuple(s.name for s in skips))))
    slots.sort(key=lambda item: item[0])
    slots, added, irregular = _fill_gaps(slots)
    ambiguous = None
    if unplaced:
        them = "it" if len(unplaced) == 1 else "them"
        if irregular is None and len(added) >= len(unplaced):
            note = f"; skipped file(s) that may be this slice: {_names(unplaced)}"
            slots = [(p, MissingSlice(p, s.reason + note) if s in added else s) for p, s in slots]
        else:
            where = irregular or "no gap in the slice positions shows where"
            why = unplaced[0].reason.split(":")[0][:90]
            ambiguous = (
                f"series {uid}: slice indices are ambiguous: {_names(unplaced)} "
                f"{'was' if len(unplaced) == 1 else 'were'} skipped ({why}) "
                f"and cannot be placed ({where}); replace {them} with a readable copy, or remove {them} if "
                "not part of this series"
            )
    elif irregular is not None and len(slots) >= 3:
        skipped.append(
            Skipped(
                f"series {uid}",
                f"irregular slice spacing: {irregular}; slice indices count the images present",
                series_uid=uid,
            )
        )
    for index, (_, slot) in enumerate(slots):
        if isinstance(slot, MissingSlice) and not slot.files:
            skipped.append(Skipped(f"series {uid}", f"slice {index} {slot.reason}", series_uid=uid))
    voxels = len(slots) * rows * columns
    if voxels > MAX_SERIES_VOXELS:
        skipped.append(
            Skipped(
                f"series {uid}",
                f"{len(slots)} slices × {_tag_name('Rows')} {rows} × {_tag_name('Columns')} {columns} = "
                f"{voxels} voxels, more than the {MAX_SERIES_VOXELS} allowed: refused",
                series_uid=uid,
            )
        )
        return None
    first = next(h for _, h in kept)
    return Series(
        uid=uid,
        modality=modality,
        plane=Plane.from_normal(normal),
        rows=rows,
        columns=columns,
        pixel_spacing=spacing,
        slices=tuple(slot for _, slot in slots),
        photometric=first.photometric,
        ambiguous=ambiguous,
    )


def load_series(source: Source) -> LoadedSeries:
    """Read headers of every file in `source`, group by SeriesInstanceUID and sort each series.

    `source`: a folder, a .zip, a file, a list of paths, or a list of (name, bytes) uploads. Pixels are
    not decoded here (see `Series.pixels`). Raises InputError only when the source itself is unusable
    (a missing path, a refused zip); unusable files are listed in `skipped`.
    """
    from ovcf_core.imaging.header_scan import scan_headers

    files = collect_files(source)
    vouched = scan_headers(files)  # python-gdcm's fast pass; every other file is read by pydicom here
    skipped: list[Skipped] = []
    groups: dict[str, list[_Header]] = defaultdict(list)
    for i, file in enumerate(files):
        header = vouched.get(i) or read_header(file)
        if isinstance(header, Skipped):
            skipped.append(header)
        else:
            groups[header.series_uid].append(header)
    series = [s for uid, headers in groups.items() if (s := _assemble(uid, headers, skipped)) is not None]
    series.sort(key=lambda s: (-len(s), s.uid))
    return LoadedSeries(series=tuple(series), skipped=tuple(skipped))
