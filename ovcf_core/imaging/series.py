"""DICOM series: a header-only pass to group and sort slices, pixels decoded only for the slices used.

Files are grouped by SeriesInstanceUID and sorted by ImagePositionPatient projected on the normal of
ImageOrientationPatient (never by file order or InstanceNumber). Each file that cannot be used is skipped
with one reason naming the file and the DICOM tag; the good files still load. Patient identifiers are
dropped on read (see `deid`).
"""

from __future__ import annotations

import functools
import struct
import warnings
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
PIXEL_DATA_TAG = 0x7FE00010
CACHED_SLICES = 16  # decoded slices kept per series
# keyword -> (group, element) of the only attributes the header pass parses (every other element is
# skipped unread, identifiers included); the gdcm scan (`header_scan`) reads the same ones
HEADER_TAGS: dict[str, tuple[int, int]] = {
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
    """A file that was not loaded, and why (one line naming the file and the DICOM tag)."""

    name: str
    reason: str

    def __str__(self) -> str:
        return f"{self.name}: {self.reason}"


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


@dataclass(frozen=True)
class Series:
    """One sorted series ready to measure: geometry, sorted slices, and pixels decoded on demand."""

    uid: str
    modality: Modality
    plane: Plane
    rows: int
    columns: int
    pixel_spacing: tuple[float, float]  # (row spacing, column spacing) in mm, as DICOM PixelSpacing
    slices: tuple[SliceRef, ...]
    photometric: str = "MONOCHROME2"  # MONOCHROME1: low values are displayed white (inverted grey scale)
    _cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        return len(self.slices)

    @functools.cached_property
    def header(self) -> dict[str, str]:
        """The allow-listed technical attributes of the first slice (read the first time they are asked
        for: measuring does not need them)."""
        return _technical(self.slices[0].file)

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
        text = (
            f"{self.modality.value} {self.plane.value}, {len(self)} slice(s), {self.columns}×{self.rows}, "
            f"{self.pixel_spacing[1]:g}×{self.pixel_spacing[0]:g} mm"
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
            if ref.native is not None:
                stored = read_native_pixels(ref.file, ref.native, self.rows, self.columns)
            else:
                stored = decode_pixels(ref.file, self.rows, self.columns)
            values = stored.astype(np.float64)
            if self.modality is Modality.CT:
                from ovcf_core.imaging.ct import to_hu

                values = to_hu(stored, ref.slope, ref.intercept)
            while len(self._cache) >= CACHED_SLICES:  # keep memory bounded while a slider browses
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


def _pixel_data_problem(handle: Any, size: int, dataset: Any, expected: int) -> str | None:
    """Check the element where the header pass stopped: is it PixelData, and is all of it in the file?"""
    if dataset.file_meta.get("TransferSyntaxUID") == "1.2.840.10008.1.2.1.99":
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


def _floats(value: Any, count: int) -> tuple[float, ...] | None:
    try:
        numbers = tuple(float(v) for v in value)
    except (TypeError, ValueError):
        return None
    if len(numbers) != count or not all(np.isfinite(numbers)):
        return None
    return numbers


def read_header(file: DicomFile) -> _Header | Skipped:
    """Header-only pass of one file (`stop_before_pixels`): what the series needs, or why it is skipped."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    try:
        size = file.size
        if size == 0:
            return Skipped(file.name, "empty file (0 bytes)")
        with file.open() as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                dataset = pydicom.dcmread(handle, stop_before_pixels=True, specific_tags=_header_tags())
            except InvalidDicomError:
                return Skipped(file.name, "not a DICOM file (no 'DICM' marker after the 128-byte preamble)")
            except Exception as exc:
                return Skipped(
                    file.name, f"cannot be read as DICOM: truncated or damaged ({type(exc).__name__})"
                )
            # no deidentify() here: this dataset is dropped once the allow-listed fields are taken from it
            rows, columns = dataset.get("Rows"), dataset.get("Columns")
            bits = dataset.get("BitsAllocated") or 16
            samples = dataset.get("SamplesPerPixel") or 1
            expected = int(rows or 0) * int(columns or 0) * int(samples) * max(int(bits) // 8, 1)
            problem = _pixel_data_problem(handle, size, dataset, expected)
    except OSError as exc:
        return Skipped(file.name, f"cannot be opened ({exc.strerror or exc})")
    if problem:
        return Skipped(file.name, problem)
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


def _header_from_dataset(file: DicomFile, dataset: Any) -> _Header | Skipped:
    """Validate the attributes a measurement needs, one reason naming the tag when one is missing."""
    modality = str(dataset.get("Modality", "")).upper()
    if modality not in ("CT", "MR"):
        return Skipped(
            file.name, f"unsupported Modality (0008,0060) '{modality}': only CT and MR are measured"
        )
    transfer = dataset.file_meta.get("TransferSyntaxUID")
    if transfer is not None:
        codec = _codec_problem(str(transfer))
        if codec:
            return Skipped(file.name, codec)
    photometric = str(dataset.get("PhotometricInterpretation", "")).upper()
    if photometric not in SUPPORTED_PHOTOMETRIC or int(dataset.get("SamplesPerPixel") or 1) != 1:
        return Skipped(
            file.name,
            f"unsupported PhotometricInterpretation (0028,0004) '{photometric}': only greyscale "
            "MONOCHROME1/MONOCHROME2 images are measured",
        )
    frames = int(dataset.get("NumberOfFrames") or 1)
    if frames != 1:
        return Skipped(
            file.name,
            f"multi-frame image (NumberOfFrames (0028,0008) = {frames}): "
            "export the series as single-frame slices",
        )
    rows, columns = int(dataset.get("Rows") or 0), int(dataset.get("Columns") or 0)
    if rows < 1 or columns < 1:
        return Skipped(file.name, "no Rows (0028,0010) / Columns (0028,0011)")
    spacing = _floats(dataset.get("PixelSpacing"), 2) or _floats(dataset.get("ImagerPixelSpacing"), 2)
    if spacing is None or min(spacing) <= 0:
        return Skipped(file.name, "no valid PixelSpacing (0028,0030): areas in mm² cannot be computed")
    orientation = _floats(dataset.get("ImageOrientationPatient"), 6)
    position = _floats(dataset.get("ImagePositionPatient"), 3)
    slope = _floats([dataset.get("RescaleSlope", 1)], 1) or (1.0,)
    intercept = _floats([dataset.get("RescaleIntercept", 0)], 1) or (0.0,)
    try:
        instance = int(dataset.get("InstanceNumber")) if dataset.get("InstanceNumber") is not None else None
    except (TypeError, ValueError):
        instance = None
    return _Header(
        file=file,
        series_uid=str(dataset.get("SeriesInstanceUID") or "unknown-series"),
        modality=Modality(modality),
        rows=rows,
        columns=columns,
        spacing=(spacing[0], spacing[1]),
        orientation=orientation,
        position=position,  # type: ignore[arg-type]
        instance_number=instance,
        slope=slope[0],
        intercept=intercept[0],
        photometric=photometric,
    )


# ------------------------------------------------------------------------------------------------ assembling


def _normal(orientation: tuple[float, ...]) -> np.ndarray:
    row, column = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    normal = np.cross(row, column)
    norm = np.linalg.norm(normal)
    return normal / norm if norm > 0 else np.array([0.0, 0.0, 1.0])


def _assemble(uid: str, headers: list[_Header], skipped: list[Skipped]) -> Series | None:
    """Sort one series' headers along the slice normal; slices that do not fit are skipped with a reason."""
    geometry = Counter((h.modality, h.rows, h.columns, h.spacing) for h in headers)
    (modality, rows, columns, spacing), _ = geometry.most_common(1)[0]
    orientations = Counter(
        tuple(round(v, 4) for v in h.orientation) for h in headers if h.orientation is not None
    )
    orientation = orientations.most_common(1)[0][0] if orientations else (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    normal = _normal(orientation)
    kept: list[tuple[float, _Header]] = []
    for h in headers:
        if (h.modality, h.rows, h.columns, h.spacing) != (modality, rows, columns, spacing):
            skipped.append(
                Skipped(h.file.name, f"does not match its series {uid} (Rows/Columns/PixelSpacing/Modality)")
            )
            continue
        if len(headers) > 1 and (h.position is None or h.orientation is None):
            skipped.append(
                Skipped(
                    h.file.name,
                    "no ImagePositionPatient (0020,0032) / ImageOrientationPatient (0020,0037): "
                    "cannot place the slice in its series",
                )
            )
            continue
        if h.orientation is not None and tuple(round(v, 4) for v in h.orientation) != orientation:
            skipped.append(
                Skipped(h.file.name, "ImageOrientationPatient (0020,0037) differs from its series")
            )
            continue
        position = float(np.dot(h.position, normal)) if h.position is not None else 0.0
        kept.append((position, h))
    kept.sort(key=lambda item: (item[0], item[1].file.name))
    unique: list[tuple[float, _Header]] = []
    for position, h in kept:
        if unique and abs(unique[-1][0] - position) < 1e-4:
            skipped.append(
                Skipped(
                    h.file.name,
                    f"same ImagePositionPatient (0020,0032) as {unique[-1][1].file.name}: duplicate slice",
                )
            )
            continue
        unique.append((position, h))
    if not unique:
        return None
    return Series(
        uid=uid,
        modality=modality,
        plane=Plane.from_normal(normal),
        rows=rows,
        columns=columns,
        pixel_spacing=spacing,
        slices=tuple(
            SliceRef(h.file, position, h.instance_number, h.slope, h.intercept, h.native)
            for position, h in unique
        ),
        photometric=unique[0][1].photometric,
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
