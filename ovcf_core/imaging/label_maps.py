"""Label maps (segmentation masks) read into the voxel grid of a loaded DICOM series.

A `LabelMap` holds one small integer per voxel of a `Series` — slice order as the series' (sorted along
the slice normal, DESIGN §4.4), then row, then column — whose values are the canonical labels below. It is
read (`ovcf_core.imaging.mask_files.read_label_map`) from

* NIfTI (nibabel): one multi-label file (its values named by `labels=`, a sidecar `<file>.json` such as
  ``{"1": "vertebrae_L1"}``, or a known scheme: ``"totalsegmentator"`` (TotalSegmentator v2 ``total``
  class numbers) or ``"musclemap"`` (MuscleMap values 5101 … 5122)), or a folder of one file per
  structure (TotalSegmentator's ``segmentations/`` output: ``vertebrae_L1.nii.gz`` …), nonzero = inside;
* DICOM SEG (highdicom), in `ovcf_core.imaging.seg`.

The mask must share the series' voxel grid: the same orientation (axes may be permuted or flipped, as
dcm2niix and TotalSegmentator write them), the same voxel size and the same voxel positions (within a
tenth of a voxel), and — for NIfTI — the same size. Anything else is refused with one line naming the mask
and the series; nothing is resampled, because a resampled mask would silently measure other voxels.

Canonical labels (value = position in `LABELS`, 1-based) and the source names read as each (names are
compared in lower case, with spaces, dots and hyphens read as ``_``; the full table is `LABEL_TABLE`):

* ``T12``, ``L1`` … ``L5``, ``S1`` (vertebrae): ``vertebrae_L1`` (TotalSegmentator), and for MR vertebral
  bodies ``L1``, ``vertebra_L1``, ``vertebral_body_L1``, ``L1_vertebral_body``, ``L1_body``;
* ``DISC_T12L1``, ``DISC_L1L2`` … ``DISC_L5S1`` (intervertebral discs): ``disc_L1L2``, ``disc_L1_L2``,
  ``L1_L2``, ``L1L2``, ``intervertebral_disc_L1_L2``, ``ivd_L1_L2``;
* ``PM_L``/``PM_R`` (psoas major): ``psoas_major_left``, ``left_psoas_major``, ``psoas_left``, ``pm_l``;
* ``MF_L``/``MF_R`` (multifidus): ``multifidus_left``, ``left_multifidus``,
  ``thoracolumbar_multifidus_left`` (MuscleMap), ``mf_l``;
* ``ES_L``/``ES_R`` (erector spinae): ``erector_spinae_left``, ``left_erector_spinae``, ``es_l``;
* ``AUTOCHTHON_L``/``_R``: ``autochthon_left`` (TotalSegmentator: erector spinae and multifidus together);
* ``ILIOPSOAS_L``/``_R``: ``iliopsoas_left`` (TotalSegmentator: psoas major and iliacus together);
* ``CSF``: ``spinal_canal``, ``csf``, ``cerebrospinal_fluid``, ``thecal_sac``, ``dural_sac``;
* ``FAT`` (subcutaneous fat, the reference of the FI fat threshold): ``subcutaneous_fat``, ``fat``.

Every canonical name also reads as itself (``PM_L``, ``DISC_L3L4``). ``spinal_cord`` is deliberately not
read as CSF: the cord is not fluid. Files and values whose names are not in the table are ignored; a mask
in which nothing at all is recognised is refused.
"""

from __future__ import annotations

import functools
import itertools
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ovcf_core.errors import InputError
from ovcf_core.imaging.series import MissingSlice, Series, SliceRef

VERTEBRAE: tuple[str, ...] = ("T12", "L1", "L2", "L3", "L4", "L5", "S1")
DISCS: tuple[str, ...] = tuple(f"DISC_{a}{b}" for a, b in itertools.pairwise(VERTEBRAE))
MUSCLE_LABELS: tuple[str, ...] = (
    "PM_L",
    "PM_R",
    "MF_L",
    "MF_R",
    "ES_L",
    "ES_R",
    "AUTOCHTHON_L",
    "AUTOCHTHON_R",
    "ILIOPSOAS_L",
    "ILIOPSOAS_R",
)
LABELS: tuple[str, ...] = (*VERTEBRAE, *DISCS, *MUSCLE_LABELS, "CSF", "FAT")
"""Every canonical label; a label's value in `LabelMap.data` is its position here plus one."""
CODE: dict[str, int] = {name: i + 1 for i, name in enumerate(LABELS)}

POSITION_TOLERANCE = 0.1
"""Largest offset (in voxels) between a mask voxel and the series voxel it is taken as."""
MAX_MASK_VOXELS = 1_000_000_000
"""Largest mask (voxels) read; a bigger one cannot belong to a series the reader accepts."""


class MaskError(InputError):
    """A mask that cannot be used: unreadable, empty, 4-D, not on the series' grid, or lacking labels."""


def _normalise(name: str) -> str:
    """Normalise a source label name: lower case, runs of spaces, dots and hyphens as one ``_``."""
    text = re.sub(r"[\s.\-]+", "_", name.strip().lower())
    return re.sub(r"_+", "_", text).strip("_")


def _table() -> dict[str, str]:
    """Source name (normalised) -> canonical label: the table in the module docstring."""
    table: dict[str, str] = {}
    for level in VERTEBRAE:
        low = level.lower()
        for pattern in (
            "vertebrae_{}",
            "{}",
            "vertebra_{}",
            "vertebral_body_{}",
            "{}_vertebral_body",
            "{}_body",
        ):
            table[pattern.format(low)] = level
    for disc in DISCS:
        upper, lower = re.findall(r"[TLS]\d+", disc)
        a, b = upper.lower(), lower.lower()
        for pattern in ("disc_{}{}", "disc_{}_{}", "{}_{}", "{}{}", "intervertebral_disc_{}_{}", "ivd_{}_{}"):
            table[pattern.format(a, b)] = disc
    words: dict[str, tuple[str, ...]] = {
        "PM": ("psoas_major", "psoas", "pm"),
        "MF": ("multifidus", "thoracolumbar_multifidus", "mf"),
        "ES": ("erector_spinae", "es"),
    }
    for short, names in words.items():
        for side, side_words in (("L", ("left", "l")), ("R", ("right", "r"))):
            for word in names:
                for side_word in side_words:
                    table[f"{word}_{side_word}"] = f"{short}_{side}"
                    table[f"{side_word}_{word}"] = f"{short}_{side}"
    for side, word in (("L", "left"), ("R", "right")):
        table[f"autochthon_{word}"] = f"AUTOCHTHON_{side}"
        table[f"iliopsoas_{word}"] = f"ILIOPSOAS_{side}"
    for word in ("spinal_canal", "csf", "cerebrospinal_fluid", "thecal_sac", "dural_sac"):
        table[word] = "CSF"
    for word in ("subcutaneous_fat", "fat"):
        table[word] = "FAT"
    table.update({_normalise(name): name for name in LABELS})  # a canonical name reads as itself
    return table


LABEL_TABLE: dict[str, str] = _table()
"""Source label name (normalised: lower case, ``_`` for spaces, dots and hyphens) -> canonical label."""

LABEL_SCHEMES: dict[str, dict[int, str]] = {
    "totalsegmentator": {
        26: "S1",
        27: "L5",
        28: "L4",
        29: "L3",
        30: "L2",
        31: "L1",
        32: "T12",
        86: "AUTOCHTHON_L",
        87: "AUTOCHTHON_R",
        88: "ILIOPSOAS_L",
        89: "ILIOPSOAS_R",
    },
    "musclemap": {5101: "MF_L", 5102: "MF_R", 5111: "ES_L", 5112: "ES_R", 5121: "PM_L", 5122: "PM_R"},
}
"""Value -> canonical label of known multi-label files: TotalSegmentator v2 task ``total`` (the lumbar
spine and back muscles of its class map) and MuscleMap's documented values."""


def canonical_name(source_name: str) -> str | None:
    """Return the canonical label of a source label name (e.g. ``vertebrae_L1`` -> ``L1``).

    Parameters
    ----------
    source_name
        A structure name as a segmentation tool writes it (a file stem, a segment label, a table entry).

    Returns
    -------
    str or None
        One of `LABELS`, or None when the name is not in `LABEL_TABLE`.
    """
    return LABEL_TABLE.get(_normalise(source_name))


def describe_series(series: Series) -> str:
    """Name the series as mask messages do: ``series 'CT axial, 24 slice(s), 48×48, 0.8×0.8 mm'``.

    Parameters
    ----------
    series
        The series a mask was to be placed on.

    Returns
    -------
    str
        Its description, or modality, plane and slice count when its header cannot be re-read (a message
        about the mask must not fail on the series).
    """
    try:
        text = series.describe()
    except Exception:  # a header that cannot be re-read must not hide the mask message
        text = f"{series.modality.value} {series.plane.value}, {len(series)} slice(s)"
    return f"series '{text}'"


# ------------------------------------------------------------------------------------------------ the map


@dataclass(frozen=True, eq=False)  # compared and hashed by identity: `data` is an array
class LabelMap:
    """Canonical labels on the voxel grid of one series: ``data[slice, row, column]`` (0 = none).

    `files` names the mask file each label came from (what messages name); `notes` records what was
    dropped on reading (e.g. voxels claimed by two structure files).
    """

    data: np.ndarray = field(repr=False)
    source: str
    files: dict[str, str]
    series_uid: str
    spacing: tuple[float, float, float]  # (between slices, between rows, between columns) in mm
    notes: tuple[str, ...] = ()
    empty: dict[str, str] = field(default_factory=dict)  # label -> its structure file that has no voxel

    @functools.cached_property
    def counts(self) -> dict[str, int]:
        """Voxels of each canonical label present (one pass over the map, kept)."""
        flat = self.data.ravel()
        tally = np.bincount(flat[flat != 0], minlength=len(LABELS) + 1)  # labels are a small part
        return {name: int(tally[CODE[name]]) for name in LABELS if tally[CODE[name]]}

    @property
    def labels(self) -> tuple[str, ...]:
        """The canonical labels with at least one voxel, in `LABELS` order."""
        return tuple(self.counts)

    def has(self, name: str) -> bool:
        """Tell whether the canonical label `name` has at least one voxel."""
        return name in self.counts

    def mask(self, name: str) -> np.ndarray:
        """Return the boolean ``(slices, rows, columns)`` mask of the canonical label `name`.

        Raises
        ------
        MaskError
            `name` is not one of `LABELS`.
        """
        if name not in CODE:
            raise MaskError(
                f"'{name}' is not a canonical label (one of {', '.join(LABELS)})", file=self.source
            )
        return self.data == CODE[name]

    def slice_mask(self, name: str, index: int) -> np.ndarray:
        """Return the boolean ``(rows, columns)`` mask of the canonical label `name` on slice `index`."""
        return self.data[index] == CODE[name]

    def slices_of(self, name: str) -> list[int]:
        """Return the indices of the slices on which `name` has voxels, in slice order."""
        return [int(k) for k in np.flatnonzero((self.data == CODE[name]).any(axis=(1, 2)))]

    def file_of(self, name: str) -> str:
        """Return the mask file `name` was read from (the map's source when not known), for messages."""
        return self.files.get(name, self.source)

    def require(self, names: Iterable[str], what: str) -> None:
        """Refuse a map that lacks any of `names`, before an indicator needing them is computed.

        Parameters
        ----------
        names
            Canonical labels that must have voxels.
        what
            What they are needed for, as the message says it (e.g. ``"VBQ"``).

        Raises
        ------
        MaskError
            A label whose structure file was empty (naming that file), or labels absent from the map
            (naming the map and the labels it has).
        """
        names = list(names)
        for name in names:
            if name in self.empty and not self.has(name):
                raise MaskError(
                    "is empty: no voxel is labelled (too small to measure)", file=self.empty[name]
                )
        missing = [n for n in names if not self.has(n)]
        if missing:
            raise MaskError(
                f"has no {', '.join(missing)} label (needed for {what}); labels found: "
                + (", ".join(self.labels) or "none"),
                file=self.source,
            )

    def with_data(self, data: np.ndarray, note: str | None = None) -> LabelMap:
        """Return the same map with new voxel values (e.g. after an edit), keeping its provenance.

        Parameters
        ----------
        data
            The new ``(slices, rows, columns)`` label codes.
        note
            Added to the map's `notes` (what the edit changed); None adds nothing.

        Returns
        -------
        LabelMap
            A new map; this one is left as it was.

        Raises
        ------
        MaskError
            `data` does not have this map's shape.
        """
        if data.shape != self.data.shape:
            raise MaskError(f"an edited label map must keep the shape {self.data.shape}", file=self.source)
        notes = (*self.notes, note) if note else self.notes
        return LabelMap(
            np.asarray(data, dtype=np.uint8),
            self.source,
            self.files,
            self.series_uid,
            self.spacing,
            notes,
            self.empty,
        )


def empty_label_map(series: Series, source: str = "edited regions") -> LabelMap:
    """Return a label map with no label on the grid of `series`, to paint ROIs into.

    Parameters
    ----------
    series
        The series whose grid and spacing the map takes.
    source
        The map's name in messages.

    Returns
    -------
    LabelMap
        All zeros, with no files.

    Raises
    ------
    MaskError
        The series is not evenly spaced (see `series_geometry`).
    """
    geometry = series_geometry(series, source)
    return LabelMap(
        np.zeros((len(series), series.rows, series.columns), dtype=np.uint8),
        source,
        {},
        series.uid,
        geometry.spacing,
    )


# ------------------------------------------------------------------------------------------------ geometry


@dataclass(frozen=True)
class SeriesGeometry:
    """Index (slice, row, column) -> LPS mm of a series (a 4×4 affine) and its voxel spacing."""

    affine: np.ndarray
    spacing: tuple[float, float, float]


def _slice_origins(series: Series, normal: np.ndarray) -> np.ndarray:
    """Return the (n, 3) ImagePositionPatient (LPS mm) of every slice.

    A slice with no image takes the in-plane origin of the nearest image, moved along the normal to its own
    position.
    """
    known = [(k, s) for k, s in enumerate(series.slices) if isinstance(s, SliceRef) and s.origin is not None]
    if not known:
        return np.array([s.position * normal for s in series.slices], dtype=float)
    origins = np.empty((len(series.slices), 3))
    for k, slot in enumerate(series.slices):
        near = min(known, key=lambda item: abs(item[0] - k))[1]
        origins[k] = np.asarray(near.origin, dtype=float) + (slot.position - near.position) * normal
    return origins


def series_geometry(series: Series, mask_name: str = "the mask") -> SeriesGeometry:
    """Return the affine from (slice, row, column) to LPS mm of an evenly spaced series.

    Parameters
    ----------
    series
        The series masks are placed on.
    mask_name
        The mask named in a refusal.

    Returns
    -------
    SeriesGeometry
        The affine and the spacing (between slices, rows, columns) in mm.

    Raises
    ------
    MaskError
        When the slices are not evenly spaced along their normal (a mask cannot be placed voxel for voxel).
    """
    if series.ambiguous:
        raise MaskError(
            f"cannot be placed on the {describe_series(series)}: {series.ambiguous}", file=mask_name
        )
    orientation = np.asarray(series.orientation, dtype=float)
    row_dir, col_dir = orientation[:3], orientation[3:]  # increasing column, increasing row
    normal = np.cross(row_dir, col_dir)
    normal = normal / np.linalg.norm(normal)
    origins = _slice_origins(series, normal)
    n = len(series)
    if n > 1:
        step = (origins[-1] - origins[0]) / (n - 1)
        gap = float(np.linalg.norm(step))
        expected = origins[0] + np.outer(np.arange(n), step)
        if gap == 0 or np.abs(origins - expected).max() > POSITION_TOLERANCE * min(
            gap, *series.pixel_spacing
        ):
            raise MaskError(
                f"cannot be placed on the {describe_series(series)}: its slices are not evenly spaced "
                "along one direction",
                file=mask_name,
            )
        direction = step / gap
    else:
        gap, direction = 1.0, normal
    affine = np.eye(4)
    affine[:3, 0] = direction * gap
    affine[:3, 1] = col_dir * series.pixel_spacing[0]
    affine[:3, 2] = row_dir * series.pixel_spacing[1]
    affine[:3, 3] = origins[0]
    return SeriesGeometry(affine, (gap, float(series.pixel_spacing[0]), float(series.pixel_spacing[1])))


def _mm(values: Sequence[float]) -> str:
    return "×".join(f"{v:.3g}" for v in values)


def fit_to_series(
    array: np.ndarray,
    affine_lps: np.ndarray,
    series: Series,
    mask_name: str,
    *,
    partial: bool = False,
) -> np.ndarray:
    """Place `array` voxel for voxel on the series' grid (no resampling), or refuse it.

    The mask's axes may be any permutation and flip of the series' (slice, row, column) axes; the voxel
    size and positions must agree so closely that no voxel of the mask, out to its far corner, lands more
    than `POSITION_TOLERANCE` of a voxel from a series voxel centre. With
    `partial` (DICOM SEG, which omits empty frames) the mask may cover part of the series; otherwise its size
    must be the series' exactly.

    Parameters
    ----------
    array
        The mask, indexed by its own voxel axes.
    affine_lps
        The 4×4 affine placing its voxels in LPS mm.
    series
        The series to place it on.
    mask_name
        The mask named in a refusal.
    partial
        Allow a mask covering part of the series (DICOM SEG).

    Returns
    -------
    numpy.ndarray
        ``(slices, rows, columns)`` array of `array`'s values (zeros where a partial mask has none).

    Raises
    ------
    MaskError
        One line naming the mask and the series: orientation, voxel size, position or size differ.
    """
    geometry = series_geometry(series, mask_name)
    shape = (len(series), series.rows, series.columns)
    where = f"lies outside the {series.modality.value} series' voxel grid"
    named = f" ({describe_series(series)})"
    mapping = np.linalg.solve(geometry.affine, np.asarray(affine_lps, dtype=float))
    rotation, shift = mapping[:3, :3], mapping[:3, 3]
    if len(series) == 1:  # one slice: the through-plane step is the mask's own
        axis = int(np.argmax(np.abs(rotation[0])))
        rotation[0, axis] = math.copysign(1.0, rotation[0, axis])
    to_axis = np.argmax(np.abs(rotation), axis=0)  # series axis of each mask axis
    columns = np.arange(3)
    signs = np.sign(rotation[to_axis, columns])
    ideal = np.zeros((3, 3))
    ideal[to_axis, columns] = signs
    # how far (in series voxels) the far corner of the mask lands from where the ideal grid puts it
    extent = np.maximum(np.array(array.shape[:3], dtype=float) - 1, 0)
    scale_error = float(np.max(np.abs(np.abs(rotation[to_axis, columns]) - 1) * extent))
    turn_error = float(np.max(np.linalg.norm(np.where(ideal != 0, 0.0, rotation), axis=0) * extent))
    if sorted(to_axis.tolist()) != [0, 1, 2] or turn_error > POSITION_TOLERANCE:
        raise MaskError(
            f"{where}: its orientation differs from the series' (another scan or plane?)" + named,
            file=mask_name,
        )
    if scale_error > POSITION_TOLERANCE:
        lengths = np.linalg.norm(affine_lps[:3, :3], axis=0)
        raise MaskError(
            f"{where}: its voxels are {_mm(lengths)} mm, the series' "
            f"{_mm(np.array(geometry.spacing)[to_axis])} mm (resample the mask to the series first)" + named,
            file=mask_name,
        )
    # mask index i along axis j lands on series index signs[j] * i + shift[to_axis[j]]
    order = np.argsort(to_axis)  # mask axis for each series axis
    data = np.transpose(array, order)
    starts = []
    for axis in range(3):
        j = int(order[axis])
        if signs[j] < 0:
            data = np.flip(data, axis=axis)
        start = shift[axis] - (array.shape[j] - 1 if signs[j] < 0 else 0)
        starts.append(start)
    offset = np.rint(starts)
    if np.abs(np.asarray(starts) - offset).max() > POSITION_TOLERANCE:
        moved = np.asarray(starts) - offset
        mm = float(np.linalg.norm(moved * np.array(geometry.spacing)))
        raise MaskError(
            f"{where}: its voxels sit {mm:.2g} mm off the series' voxel centres (another scan, or "
            "resampled?)" + named,
            file=mask_name,
        )
    start = offset.astype(int)
    if not partial:
        if data.shape != shape:
            raise MaskError(
                f"{where}: it is {data.shape[2]}×{data.shape[1]}×{data.shape[0]} voxels, the series "
                f"{shape[2]}×{shape[1]}×{shape[0]} (columns × rows × slices)" + named,
                file=mask_name,
            )
        if start.any():
            mm = float(np.linalg.norm(start * np.array(geometry.spacing)))
            raise MaskError(
                f"{where}: it is shifted by {start[0]} slice(s), {start[1]} row(s), {start[2]} column(s) "
                f"({mm:.3g} mm) from the series (another scan?)" + named,
                file=mask_name,
            )
        return np.ascontiguousarray(data)
    out = np.zeros(shape, dtype=array.dtype)
    lo = np.maximum(start, 0)
    hi = np.minimum(start + np.array(data.shape), shape)
    inside = tuple(slice(int(a - s), int(b - s)) for a, b, s in zip(lo, hi, start, strict=True))
    total = int(np.count_nonzero(data))
    if np.any(hi <= lo) or int(np.count_nonzero(data[inside])) != total:
        raise MaskError(f"{where}: some of its labelled voxels lie beyond the series" + named, file=mask_name)
    out[tuple(slice(int(a), int(b)) for a, b in zip(lo, hi, strict=True))] = data[inside]
    return out


# ------------------------------------------------------------------------------------------------ NIfTI


def missing_slices_hit(label_map: LabelMap, series: Series, name: str) -> None:
    """Refuse a mask whose label `name` covers a slice with no image (nothing to measure there).

    Parameters
    ----------
    label_map, series
        The masks and the series they were read onto.
    name
        The canonical label to check.

    Raises
    ------
    MaskError
        Naming the mask file and the slice, with why the slice has no image.
    """
    for k in label_map.slices_of(name):
        slot = series.slices[k]
        if isinstance(slot, MissingSlice):
            raise MaskError(
                f"covers slice {k} of the {series.modality.value} series, which {slot.reason}",
                file=label_map.file_of(name),
            )
