"""DICOM series: a header-only pass to group and sort slices, pixels decoded only for the slices used.

Files are grouped by SeriesInstanceUID and sorted by ImagePositionPatient projected on the normal of
ImageOrientationPatient (never by file order or InstanceNumber). Each file that cannot be used is skipped
with one reason naming the file and the DICOM tag; the good files still load. Patient identifiers are
dropped on read (see `deid`). What one file's header holds, and the per-file limits, are in `header`.
"""

from __future__ import annotations

import dataclasses
import functools
import itertools
import math
import warnings
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from enum import StrEnum

import numpy as np

from ovcf_core.errors import InputError
from ovcf_core.imaging import header_scan
from ovcf_core.imaging.deid import deidentify, technical_header
from ovcf_core.imaging.header import (  # noqa: F401  (the per-file limits, importable from series as before)
    MAX_COLUMNS,
    MAX_FILE_VOXELS,
    MAX_INFLATED_BYTES,
    MAX_ROWS,
    Header,
    Modality,
    Skipped,
    read_header,
    tag_name,
)
from ovcf_core.imaging.sources import DicomFile, Source, collect_files

CACHED_SLICES = 16  # decoded slices kept per series

MAX_SERIES_VOXELS = 1_000_000_000
"""Largest slices × Rows × Columns of one series (a 1000-slice 1000 × 1000 CT); larger is refused."""
MAX_CACHED_BYTES = 256 * 2**20
"""Decoded slices kept per series are bounded by this many bytes as well as by CACHED_SLICES."""
MAX_MISSING_IN_A_GAP = 8
"""Most slices a gap in the slice positions may stand for (a step of 2 to 9 times the spacing); a larger
jump is not taken as missing files but reported as irregular spacing."""
GAP_TOLERANCE = 0.1
"""How far (in spacings) a step may be from a whole number of spacings and still count as regular."""


class Plane(StrEnum):
    """Anatomical plane of a series, from the direction of its slice normal."""

    AXIAL = "axial"
    SAGITTAL = "sagittal"
    CORONAL = "coronal"

    @classmethod
    def from_normal(cls, normal: np.ndarray) -> Plane:
        """Return the plane whose normal is closest to `normal` (x: sagittal, y: coronal, z: axial)."""
        return (cls.SAGITTAL, cls.CORONAL, cls.AXIAL)[int(np.argmax(np.abs(normal)))]


@dataclass(frozen=True)
class MissingSlice:
    """Hold a place in a sorted series that has no image to measure, keeping later indices right.

    A skipped file, a file absent from the position sequence, or two different images at one position;
    `reason` says why slice N cannot be measured ("slice N {reason}").
    """

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
    origin: tuple[float, float, float] | None = None  # ImagePositionPatient (LPS mm) of its first pixel


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
    orientation: tuple[float, ...] = (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)  # ImageOrientationPatient (row, column)
    _cache: dict[int, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __len__(self) -> int:
        """Return the number of positions, missing slices included."""
        return len(self.slices)

    @property
    def missing(self) -> list[int]:
        """Indices of the slices with no image (MissingSlice)."""
        return [i for i, s in enumerate(self.slices) if isinstance(s, MissingSlice)]

    @functools.cached_property
    def header(self) -> dict[str, str]:
        """Return the allow-listed technical attributes of the first slice.

        Read the first time they are asked for: measuring does not need them.
        """
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
        """Return a one-line label for a series picker (technical attributes only)."""
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
        """Return the series with this SeriesInstanceUID, or the only one.

        Raises
        ------
        InputError
            If `source_name` holds no usable image, several series and no `uid`, or no series `uid`.
        """
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


def read_native_pixels(file: DicomFile, native: tuple[int, str], rows: int, columns: int) -> np.ndarray:
    """Read plain pixel values straight from the file, without pydicom's decoder.

    The header scan found them uncompressed, little-endian, one frame of exactly rows × columns values at
    `native` = (offset, dtype), with every stored bit used (BitsStored = BitsAllocated), which is all
    pydicom's decoder would do with them (tested).
    """
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
    """Decode the stored pixel values of one single-frame slice with pydicom (identifiers dropped on read).

    Raises
    ------
    InputError
        Naming the file, if the pixel data cannot be decoded or is not `rows` x `columns`.
    """
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


def _technical(file: DicomFile) -> dict[str, str]:
    """Read the allow-listed technical attributes of one file.

    Read again for the series' first slice only, not kept for every slice of the header pass.
    """
    import pydicom

    try:
        with file.open() as handle, warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return technical_header(pydicom.dcmread(handle, stop_before_pixels=True))
    except Exception:  # the file was read a moment ago; if it cannot be now, show no extra attributes
        return {}


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


def _stack(uid: str, groups: list[tuple[float, list[Header]]], skipped: list[Skipped]) -> list[_Slot]:
    """Make one slot per position, holding the image there.

    The same SOPInstanceUID twice is one image (the copy is skipped); different images at one position are a
    MissingSlice naming them (which one is the slice?).
    """
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
            slots.append((position, dataclasses.replace(ref, native=first.native, origin=first.position)))
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
    """Keep a MissingSlice where the slice positions skip 1 to MAX_MISSING_IN_A_GAP whole spacings.

    So the indices after a missing file stay those of the full series. Returns (slots, the missing slices
    added, why the positions cannot show where a file is missing: irregular spacing or too few slices).
    """
    if len(slots) < 3:
        return slots, [], "a series of fewer than 3 slices does not show its spacing"
    steps = np.sort(np.diff([p for p, _ in slots]))
    # the median as np.median gives it (mean of the middle two), without np.median's first call
    # importing numpy.ma (a sixth of `ovcf measure`'s own start-up)
    middle = len(steps) // 2
    step = float(steps[middle] if len(steps) % 2 else (steps[middle - 1] + steps[middle]) / 2)
    if np.isnan(steps).any():
        step = float("nan")
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


# C901: one pass of ordered DICOM consistency checks (each a skip or a refusal with its own message)
def _assemble(uid: str, headers: list[Header], skipped: list[Skipped]) -> Series | None:  # noqa: C901
    """Sort one series along the slice normal, keeping every position of the full series.

    DESIGN: ROI slice indices count the series sorted by position. A skipped file whose position is known
    keeps its place, a gap of whole spacings keeps placeholders, and a skipped file that cannot be placed
    makes the indices ambiguous (measuring is then refused, naming it). Unfit slices are skipped with a
    reason.
    """
    earlier = [s for s in skipped if s.may_be_slice and s.series_uid in (uid, None)]
    geometry = Counter((h.modality, h.rows, h.columns, h.spacing) for h in headers)
    (modality, rows, columns, spacing), _ = geometry.most_common(1)[0]

    def key(orientation: tuple[float, ...]) -> tuple[float, ...]:
        return tuple(round(v, 4) for v in orientation)

    orientations = Counter(key(h.orientation) for h in headers if h.orientation is not None)
    orientation = orientations.most_common(1)[0][0] if orientations else (1.0, 0.0, 0.0, 0.0, 1.0, 0.0)
    normal = _normal(orientation)
    kept: list[tuple[float, Header]] = []
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
    groups: list[tuple[float, list[Header]]] = []
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
                f"{len(slots)} slices × {tag_name('Rows')} {rows} × {tag_name('Columns')} {columns} = "
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
        orientation=orientation,
    )


def load_series(source: Source) -> LoadedSeries:
    """Read headers of every file in `source`, group by SeriesInstanceUID and sort each series.

    `source`: a folder, a .zip, a file, a list of paths, or a list of (name, bytes) uploads. Pixels are
    not decoded here (see `Series.pixels`). Raises InputError only when the source itself is unusable
    (a missing path, a refused zip); unusable files are listed in `skipped`.
    """
    files = collect_files(source)
    # python-gdcm's fast pass; every other file is read by pydicom (`header.read_header`) here
    vouched = header_scan.scan_headers(files)
    skipped: list[Skipped] = []
    groups: dict[str, list[Header]] = defaultdict(list)
    for i, file in enumerate(files):
        header = vouched.get(i) or read_header(file)
        if isinstance(header, Skipped):
            skipped.append(header)
        else:
            groups[header.series_uid].append(header)
    series = [s for uid, headers in groups.items() if (s := _assemble(uid, headers, skipped)) is not None]
    series.sort(key=lambda s: (-len(s), s.uid))
    return LoadedSeries(series=tuple(series), skipped=tuple(skipped))
