"""HU per vertebra from TotalSegmentator-style NIfTI masks, without drawing ROIs.

Method (the paper draws an oval ROI of trabecular bone in the mid-axial slice; a segmentation replaces the
drawing for opportunistic screening of many CTs):

1. Read the mask `vertebrae_L1.nii.gz` ... `vertebrae_L4.nii.gz` (TotalSegmentator's names) with nibabel.
2. Erode it by `erode_mm` (default 3 mm, an ellipsoid in the mask's voxel spacing): the cortical shell,
   about 1 mm thick, and the partial-volume rim fall away, leaving trabecular bone.
3. Keep the largest connected part of what remains: the vertebral body. The posterior elements are thinner
   than twice the erosion and vanish or detach from it.
4. Map each remaining voxel through the NIfTI affine (RAS) to patient coordinates (DICOM's LPS) and then to
   the nearest pixel of the CT series, read by `series.load_series` as `ovcf measure` reads it (the same
   skipped files, missing and duplicate slices, size limits and messages); decode only the slices hit,
   in HU through the series' one RescaleSlope/RescaleIntercept conversion, and report the mean and SD over
   that volume. A voxel on a slice with no image (a skipped or missing file) refuses the mask, naming it.

The result is a 3-D trabecular mean rather than one mid-axial slice; it is the usual opportunistic-CT
approximation of the paper's ROI and is labelled with `n_voxels` and `volume_mm3` so it can be told apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ovcf_core.errors import InputError
from ovcf_core.imaging.header import Modality
from ovcf_core.imaging.series import MissingSlice, Series, SliceRef, load_series
from ovcf_core.imaging.sources import Source
from ovcf_core.indicators import LEVELS

DEFAULT_ERODE_MM = 3.0
MIN_CORE_VOXELS = 20


def _slice_origins(series: Series, normal: np.ndarray) -> np.ndarray:
    """(n, 3) ImagePositionPatient (LPS mm) of every slice of the series; a slice with no image takes the
    in-plane origin of the nearest image, moved along the normal to its own position."""
    known = [(k, s) for k, s in enumerate(series.slices) if isinstance(s, SliceRef) and s.origin is not None]
    if not known:
        return np.array([s.position * normal for s in series.slices], dtype=float)
    origins = np.empty((len(series.slices), 3))
    for k, slot in enumerate(series.slices):
        near = min(known, key=lambda item: abs(item[0] - k))[1]
        origins[k] = np.asarray(near.origin, dtype=float) + (slot.position - near.position) * normal
    return origins


def pixel_indices(series: Series, points_lps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(slice, row, column) indices of the series pixel nearest each LPS point, and which points lie inside
    the series (within half a slice spacing of a slice, and on the image)."""
    orientation = np.asarray(series.orientation, dtype=float)
    row_dir, col_dir = orientation[:3], orientation[3:]  # directions of increasing column, increasing row
    normal = np.cross(row_dir, col_dir)
    normal = normal / np.linalg.norm(normal)
    along = np.array([s.position for s in series.slices], dtype=float)  # sorted along the normal
    depth = points_lps @ normal
    above = np.clip(np.searchsorted(along, depth), 0, len(along) - 1)
    below = np.clip(above - 1, 0, len(along) - 1)
    pick = np.where(np.abs(along[below] - depth) < np.abs(along[above] - depth), below, above)
    gap = float(np.median(np.diff(along))) if len(along) > 1 else 1.0
    offset = points_lps - _slice_origins(series, normal)[pick]
    col = np.rint(offset @ row_dir / series.pixel_spacing[1]).astype(int)
    row = np.rint(offset @ col_dir / series.pixel_spacing[0]).astype(int)
    inside = (
        (np.abs(along[pick] - depth) <= gap / 2 + 1e-6)
        & (row >= 0)
        & (row < series.rows)
        & (col >= 0)
        & (col < series.columns)
    )
    return np.stack([pick, row, col], axis=1), inside


def ct_series(source: Source) -> Series:
    """The one CT series of a study (folder, .zip or files), read like `ovcf measure` reads it; a clear
    InputError naming the study when it holds no usable CT series or more than one."""
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
    """The vertebral body's trabecular bone: `mask` eroded by `erode_mm`, then its largest connected part."""
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
        """Plain values, as `ovcf measure` reports an ROI (n_pixels = voxels of the 3-D core)."""
        return {
            "mean": self.mean,
            "sd": self.sd,
            "n_pixels": self.n_voxels,
            "volume_mm3": self.volume_mm3,
            "slice": self.slice,
        }


def find_masks(mask_dir: str | Path) -> dict[str, Path]:
    """The vertebrae_L1..L4 mask files (.nii.gz or .nii) in `mask_dir` or its `segmentations/` folder."""
    mask_dir = Path(mask_dir)
    found: dict[str, Path] = {}
    for folder in (mask_dir, mask_dir / "segmentations"):
        for level in LEVELS:
            for suffix in (".nii.gz", ".nii"):
                path = folder / f"vertebrae_{level}{suffix}"
                if level not in found and path.is_file():
                    found[level] = path
    if not found:
        raise InputError("holds no vertebrae_L1 ... vertebrae_L4 NIfTI masks", file=mask_dir.name)
    return found


def measure_vertebrae(
    series: Source | Series, mask_dir: str | Path, *, erode_mm: float = DEFAULT_ERODE_MM
) -> dict[str, VertebraHu]:
    """HU of the trabecular core of each vertebra L1-L4 that has a mask (see the module's method).

    `series`: the study's CT (a folder, a .zip or files, read by `load_series`) or an already loaded Series.
    """
    import nibabel as nib
    from nibabel.spatialimages import SpatialImage

    ct = series if isinstance(series, Series) else ct_series(series)
    masks = find_masks(mask_dir)
    wanted: dict[str, np.ndarray] = {}
    volumes: dict[str, float] = {}
    for level, path in masks.items():
        try:
            image = nib.load(str(path))
            if not isinstance(image, SpatialImage):  # e.g. GIFTI: no voxel grid
                raise TypeError(type(image).__name__)
            data = np.asanyarray(image.dataobj)
        except Exception as exc:  # nibabel raises many types for a damaged or non-NIfTI file
            raise InputError(f"is not a readable NIfTI mask ({type(exc).__name__})", file=path.name) from None
        if data.ndim != 3:
            raise InputError(f"is a {data.ndim}-D image; a 3-D mask is expected", file=path.name)
        zooms = image.header.get_zooms()[:3]
        core = trabecular_core(data > 0, zooms, erode_mm)
        if core.sum() < MIN_CORE_VOXELS:
            raise InputError(
                f"leaves {int(core.sum())} voxels after a {erode_mm:g} mm erosion: too small to measure",
                file=path.name,
            )
        ijk = np.argwhere(core)
        ras = nib.affines.apply_affine(image.affine, ijk)
        lps = ras * np.array([-1.0, -1.0, 1.0])
        indices, inside = pixel_indices(ct, lps)
        if inside.mean() < 0.5:
            raise InputError(
                f"lies mostly outside the CT series ({inside.mean():.0%} of its voxels inside): "
                "is it the segmentation of this scan?",
                file=path.name,
            )
        wanted[level] = np.unique(indices[inside], axis=0)
        volumes[level] = float(core.sum() * np.prod(zooms))
        for k in np.unique(wanted[level][:, 0]):
            slot = ct.slices[int(k)]
            if isinstance(slot, MissingSlice):
                raise InputError(
                    f"covers slice {int(k)} of the CT series, which {slot.reason}", file=path.name
                )
    needed = sorted({int(k) for idx in wanted.values() for k in idx[:, 0]})
    pixels = {k: ct.pixels(k) for k in needed}  # HU, through the series' RescaleSlope/RescaleIntercept
    results = {}
    for level, idx in wanted.items():
        values = np.concatenate(
            [pixels[k][idx[idx[:, 0] == k, 1], idx[idx[:, 0] == k, 2]] for k in np.unique(idx[:, 0])]
        )
        results[level] = VertebraHu(
            label=level,
            mean=float(values.mean()),
            sd=float(values.std(ddof=1)) if values.size > 1 else 0.0,
            n_voxels=int(values.size),
            volume_mm3=volumes[level],
            slice=int(np.median(idx[:, 0])),
        )
    return results
