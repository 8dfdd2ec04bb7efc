"""HU per vertebra from vertebra masks (TotalSegmentator NIfTI, any NIfTI label map, or DICOM SEG).

Method (the paper draws an oval ROI of trabecular bone in the mid-axial slice; a segmentation replaces the
drawing for opportunistic screening of many CTs):

1. Read the masks of L1–L4 onto the CT series' own voxel grid with `mask_files.read_label_map` (the one
   mask reader: TotalSegmentator's ``vertebrae_L1.nii.gz`` … folder, a multi-label NIfTI, or DICOM SEG). The
   CT is read by `series.load_series` as `ovcf measure` reads it (the same skipped files, missing and
   duplicate slices, size limits and messages). A mask that is not on the series' grid is refused.
2. Erode each vertebra by `erode_mm` (default 3 mm, an ellipsoid in the series' voxel spacing): the
   cortical shell, about 1 mm thick, and the partial-volume rim fall away, leaving trabecular bone.
3. Keep the largest connected part of what remains: the vertebral body. The posterior elements are thinner
   than twice the erosion and vanish or detach from it.
4. Decode only the slices the cores cover, in HU through the series' one RescaleSlope/RescaleIntercept
   conversion, and report the mean and SD over that volume. A core on a slice with no image (a skipped or
   missing file) refuses the mask, naming it.

The result is a 3-D trabecular mean rather than one mid-axial slice; it is the usual opportunistic-CT
approximation of the paper's ROI and is labelled with `n_voxels` and `volume_mm3` so it can be told apart.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ovcf_core.errors import InputError
from ovcf_core.imaging.header import Modality
from ovcf_core.imaging.label_maps import LabelMap, MaskError
from ovcf_core.imaging.mask_files import read_label_map
from ovcf_core.imaging.series import MissingSlice, Series, load_series
from ovcf_core.imaging.sources import Source
from ovcf_core.indicators import LEVELS

DEFAULT_ERODE_MM = 3.0
MIN_CORE_VOXELS = 20


def ct_series(source: Source) -> Series:
    """Load the one CT series of a study, read as `ovcf measure` reads it.

    Parameters
    ----------
    source
        The study: a folder, a .zip or DICOM files.

    Returns
    -------
    Series
        Its CT series.

    Raises
    ------
    InputError
        Naming the study: no readable CT slices (with the first reasons), more than one CT series, or a
        series whose slices cannot be ordered unambiguously.
    """
    loaded = load_series(source)
    name = Path(source).name if isinstance(source, (str, Path)) else "the upload"
    found = [s for s in loaded.series if s.modality is Modality.CT]
    if not found:
        reasons = "; ".join(loaded.messages()[:3])
        raise InputError(
            f"holds no readable CT slices ({reasons})" if reasons else "holds no readable CT slices",
            file=name,
        )
    if len(found) > 1:
        raise InputError(
            f"holds {len(found)} CT series (SeriesInstanceUID); keep one series per study folder", file=name
        )
    series = found[0]
    if series.ambiguous:
        raise InputError(series.ambiguous, file=name)
    return series


def trabecular_core(
    mask: np.ndarray, zooms: tuple[float, ...], erode_mm: float = DEFAULT_ERODE_MM
) -> np.ndarray:
    """Return the vertebral body's trabecular bone: `mask` eroded, then its largest connected part.

    Eroding keeps the cortex and the partial-volume rim out of the mean HU.

    Parameters
    ----------
    mask
        Boolean mask of one vertebral body.
    zooms
        Voxel size in mm along each axis of `mask`.
    erode_mm
        Erosion radius in mm (an ellipsoid of whole voxels per axis; 0 keeps the mask).

    Returns
    -------
    numpy.ndarray
        Boolean core of `mask`'s shape (empty when the erosion leaves nothing).

    Raises
    ------
    InputError
        `erode_mm` is negative or not finite.
    """
    from scipy import ndimage

    if not (math.isfinite(erode_mm) and erode_mm >= 0):
        raise InputError(f"the erosion must be a finite number of mm, 0 or more (got {erode_mm!r})")
    radius = [max(0, int(np.floor(erode_mm / z + 1e-9))) for z in zooms[:3]]
    grid = np.ogrid[tuple(slice(-r, r + 1) for r in radius)]
    ball = np.asarray(sum((g / max(r, 1)) ** 2 for g, r in zip(grid, radius, strict=True)) <= 1.0)
    core = ndimage.binary_erosion(mask, structure=ball) if any(radius) else mask.copy()
    labels, count = ndimage.label(core)
    if count > 1:
        sizes = np.bincount(labels.ravel())[1:]
        core = labels == (1 + int(np.argmax(sizes)))
    return core


@dataclass(frozen=True)
class VertebraHu:
    """Mean and SD of HU in the trabecular core of one vertebra, and how much bone it covers."""

    label: str
    mean: float
    sd: float
    n_voxels: int
    volume_mm3: float
    slice: int

    def to_dict(self) -> dict:
        """Return plain values, as `ovcf measure` reports an ROI (n_pixels = voxels of the 3-D core)."""
        return {
            "mean": self.mean,
            "sd": self.sd,
            "n_pixels": self.n_voxels,
            "volume_mm3": self.volume_mm3,
            "slice": self.slice,
        }


def _core_in_box(mask: np.ndarray, zooms: tuple[float, ...], erode_mm: float) -> np.ndarray:
    """Return `trabecular_core` of `mask`, computed on its bounding box only, at full size.

    The voxels are the same; the work on a whole CT is much less.
    """
    box = []
    for axis in range(mask.ndim):
        hit = np.flatnonzero(mask.any(axis=tuple(a for a in range(mask.ndim) if a != axis)))
        box.append(slice(int(hit[0]), int(hit[-1]) + 1) if hit.size else slice(0, 0))
    full = np.zeros(mask.shape, dtype=bool)
    if all(b.stop > b.start for b in box):
        full[tuple(box)] = trabecular_core(mask[tuple(box)], zooms, erode_mm)
    return full


def trabecular_cores(
    label_map: LabelMap, ct: Series, *, erode_mm: float = DEFAULT_ERODE_MM, levels: tuple[str, ...] = LEVELS
) -> dict[str, np.ndarray]:
    """Return the trabecular core (3-D boolean, series grid) of each of `levels` the label map holds.

    Parameters
    ----------
    label_map
        Masks read onto the grid of `ct` (`mask_files.read_label_map`).
    ct
        The CT series.
    erode_mm
        Erosion in mm before the largest connected part is kept.
    levels
        The vertebrae wanted (default L1–L4).

    Returns
    -------
    dict
        Level -> core, for every level with a mask.

    Raises
    ------
    MaskError
        Not a CT, no mask of any level, an empty mask file, a core under `MIN_CORE_VOXELS` voxels, or a
        core on a slice with no image; the message names the mask file.
    """
    if ct.modality is not Modality.CT:
        raise MaskError(f"HU needs a CT series; this one is {ct.modality.value}", file=label_map.source)
    present = [level for level in levels if label_map.has(level) or level in label_map.empty]
    if not present:
        raise MaskError(
            f"has no vertebra mask of {', '.join(levels)} "
            f"(labels found: {', '.join(label_map.labels) or 'none'})",
            file=label_map.source,
        )
    label_map.require(present, "HU")
    cores: dict[str, np.ndarray] = {}
    for level in present:
        core = _core_in_box(label_map.mask(level), label_map.spacing, erode_mm)
        if core.sum() < MIN_CORE_VOXELS:
            raise MaskError(
                f"leaves {int(core.sum())} voxels after a {erode_mm:g} mm erosion: too small to measure",
                file=label_map.file_of(level),
            )
        for k in np.flatnonzero(core.any(axis=(1, 2))):
            slot = ct.slices[int(k)]
            if isinstance(slot, MissingSlice):
                raise MaskError(
                    f"covers slice {int(k)} of the CT series, which {slot.reason}",
                    file=label_map.file_of(level),
                )
        cores[level] = core
    return cores


def core_hu(
    ct: Series, cores: Mapping[str, np.ndarray], spacing: tuple[float, float, float]
) -> dict[str, VertebraHu]:
    """Measure the HU of each trabecular core, decoding only the slices the cores cover.

    Parameters
    ----------
    ct
        The CT series the cores lie on.
    cores
        Boolean cores on the series' grid, by level (`trabecular_cores`).
    spacing
        Voxel spacing in mm (between slices, rows, columns), for the volume.

    Returns
    -------
    dict of str to VertebraHu
        Mean and SD (n-1) of HU, voxel count, volume and median slice of each core.
    """
    voxel_mm3 = float(np.prod(spacing))
    results = {}
    for level, core in cores.items():
        slices = np.flatnonzero(core.any(axis=(1, 2)))
        values = np.concatenate([ct.pixels(int(k))[core[k]] for k in slices])  # HU, through the LUT
        idx = np.argwhere(core)
        results[level] = VertebraHu(
            label=level,
            mean=float(values.mean()),
            sd=float(values.std(ddof=1)) if values.size > 1 else 0.0,
            n_voxels=int(values.size),
            volume_mm3=float(core.sum() * voxel_mm3),
            slice=int(np.median(idx[:, 0])),
        )
    return results


def vertebra_hu(
    label_map: LabelMap, ct: Series, *, erode_mm: float = DEFAULT_ERODE_MM, levels: tuple[str, ...] = LEVELS
) -> dict[str, VertebraHu]:
    """HU of the trabecular core of each of `levels` that the label map holds (see the module's method).

    Parameters
    ----------
    label_map, ct, erode_mm, levels
        As `trabecular_cores`.

    Returns
    -------
    dict
        Level -> `VertebraHu`, for every level with a mask.

    Raises
    ------
    MaskError
        As `trabecular_cores`.
    """
    return core_hu(ct, trabecular_cores(label_map, ct, erode_mm=erode_mm, levels=levels), label_map.spacing)


def measure_vertebrae(
    series: Source | Series,
    masks: Any,
    *,
    erode_mm: float = DEFAULT_ERODE_MM,
    labels: Mapping[int, str] | str | None = None,
) -> dict[str, VertebraHu]:
    """HU of the trabecular core of each vertebra L1-L4 that has a mask (see the module's method).

    Parameters
    ----------
    series
        The study's CT (a folder, a .zip or files, read by `load_series`) or an already loaded Series.
    masks
        A folder of TotalSegmentator masks, a multi-label NIfTI, a DICOM SEG file, ``(name, bytes)``, or a
        `LabelMap` already read onto this series.
    erode_mm
        Erosion in mm (default 3).
    labels
        Value -> name table (or scheme) of a multi-label NIfTI, as `mask_files.read_label_map`.

    Returns
    -------
    dict
        Level -> `VertebraHu`.

    Raises
    ------
    InputError
        (MaskError for the masks) one line naming the study, the mask file and, on a misfit, the series.
    """
    ct = series if isinstance(series, Series) else ct_series(series)
    label_map = (
        masks if isinstance(masks, LabelMap) else read_label_map(masks, ct, labels=labels, names=LEVELS)
    )
    return vertebra_hu(label_map, ct, erode_mm=erode_mm)
