"""HU per vertebra from TotalSegmentator-style NIfTI masks, without drawing ROIs.

Method (the paper draws an oval ROI of trabecular bone in the mid-axial slice; a segmentation replaces the
drawing for opportunistic screening of many CTs):

1. Read the mask `vertebrae_L1.nii.gz` ... `vertebrae_L4.nii.gz` (TotalSegmentator's names) with nibabel.
2. Erode it by `erode_mm` (default 3 mm, an ellipsoid in the mask's voxel spacing): the cortical shell,
   about 1 mm thick, and the partial-volume rim fall away, leaving trabecular bone.
3. Keep the largest connected part of what remains: the vertebral body. The posterior elements are thinner
   than twice the erosion and vanish or detach from it.
4. Map each remaining voxel through the NIfTI affine (RAS) to patient coordinates (DICOM's LPS) and then to
   the nearest pixel of the CT series (sorted along the slice normal, as `ovcf measure` does); decode only
   the slices hit, apply RescaleSlope/RescaleIntercept, and report the mean and SD in HU over that volume.

The result is a 3-D trabecular mean rather than one mid-axial slice; it is the usual opportunistic-CT
approximation of the paper's ROI and is labelled with `n_voxels` and `volume_mm3` so it can be told apart.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ovcf_core.errors import InputError

LEVELS: tuple[str, ...] = ("L1", "L2", "L3", "L4")
DEFAULT_ERODE_MM = 3.0
MIN_CORE_VOXELS = 20


@dataclass(frozen=True)
class CtSeries:
    """The slices of one CT series sorted along the slice normal, with the geometry to locate a point."""

    files: tuple[Path, ...]
    positions: np.ndarray  # (n, 3) ImagePositionPatient of each sorted slice, LPS mm
    row_dir: np.ndarray  # direction of increasing column index (first triplet of ImageOrientationPatient)
    col_dir: np.ndarray  # direction of increasing row index (second triplet)
    spacing: tuple[float, float]  # (between rows, between columns) in mm: PixelSpacing
    shape: tuple[int, int]  # (Rows, Columns)

    @property
    def normal(self) -> np.ndarray:
        """Unit normal of the slices (row direction x column direction)."""
        n = np.cross(self.row_dir, self.col_dir)
        return n / np.linalg.norm(n)

    def pixel_indices(self, points_lps: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(slice, row, column) indices of the nearest pixel to each point, and a mask of points inside."""
        along = self.positions @ self.normal
        depth = points_lps @ self.normal
        order = np.argsort(along)
        nearest = order[np.clip(np.searchsorted(along[order], depth), 0, len(along) - 1)]
        below = order[np.clip(np.searchsorted(along[order], depth) - 1, 0, len(along) - 1)]
        pick = np.where(np.abs(along[below] - depth) < np.abs(along[nearest] - depth), below, nearest)
        gap = np.median(np.diff(np.sort(along))) if len(along) > 1 else 1.0
        offset = points_lps - self.positions[pick]
        col = np.rint(offset @ self.row_dir / self.spacing[1]).astype(int)
        row = np.rint(offset @ self.col_dir / self.spacing[0]).astype(int)
        inside = (
            (np.abs(along[pick] - depth) <= gap / 2 + 1e-6)
            & (row >= 0)
            & (row < self.shape[0])
            & (col >= 0)
            & (col < self.shape[1])
        )
        return np.stack([pick, row, col], axis=1), inside


def _tag_value(header, keyword: str, file: Path):
    """A required DICOM attribute, or an InputError naming the file and the tag."""
    value = header.get(keyword)
    if value is None or value == "":
        from pydicom.datadict import tag_for_keyword

        tag = tag_for_keyword(keyword)
        code = f"({tag >> 16:04X},{tag & 0xFFFF:04X})" if tag is not None else ""
        raise InputError(f"missing {keyword} {code}".rstrip(), file=file.name)
    return value


def read_ct_series(folder: str | Path) -> CtSeries:
    """Headers of the CT slices in `folder`, sorted by position along the slice normal (pixels not read)."""
    import pydicom
    from pydicom.errors import InvalidDicomError

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(
            "is not a folder of DICOM files (NIfTI masks need the series unpacked)", file=folder.name
        )
    slices = []
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        try:
            header = pydicom.dcmread(path, stop_before_pixels=True)
        except (InvalidDicomError, OSError, ValueError, EOFError):
            continue
        if "ImagePositionPatient" not in header and "PixelSpacing" not in header:
            continue
        if str(header.get("Modality", "CT")) != "CT":
            continue
        slices.append((path, header))
    if not slices:
        raise InputError("holds no readable CT slices", file=folder.name)
    uids = {str(h.get("SeriesInstanceUID", "")) for _, h in slices}
    if len(uids) > 1:
        raise InputError(
            f"holds {len(uids)} CT series (SeriesInstanceUID); keep one series per study folder",
            file=folder.name,
        )
    path0, first = slices[0]
    orientation = np.asarray(_tag_value(first, "ImageOrientationPatient", path0), dtype=float)
    spacing = np.asarray(_tag_value(first, "PixelSpacing", path0), dtype=float)
    positions = np.asarray(
        [np.asarray(_tag_value(h, "ImagePositionPatient", p), dtype=float) for p, h in slices]
    )
    row_dir, col_dir = orientation[:3], orientation[3:]
    normal = np.cross(row_dir, col_dir)
    order = np.argsort(positions @ normal, kind="stable")
    return CtSeries(
        files=tuple(slices[i][0] for i in order),
        positions=positions[order],
        row_dir=row_dir,
        col_dir=col_dir,
        spacing=(float(spacing[0]), float(spacing[1])),
        shape=(int(_tag_value(first, "Rows", path0)), int(_tag_value(first, "Columns", path0))),
    )


def trabecular_core(
    mask: np.ndarray, zooms: tuple[float, ...], erode_mm: float = DEFAULT_ERODE_MM
) -> np.ndarray:
    """The vertebral body's trabecular bone: `mask` eroded by `erode_mm`, then its largest connected part."""
    from scipy import ndimage

    if not (math.isfinite(erode_mm) and erode_mm >= 0):
        raise InputError(f"the erosion must be a finite number of mm, 0 or more (got {erode_mm!r})")
    radius = [max(0, int(np.floor(erode_mm / z + 1e-9))) for z in zooms[:3]]
    grid = np.ogrid[tuple(slice(-r, r + 1) for r in radius)]
    ball = sum((g / max(r, 1)) ** 2 for g, r in zip(grid, radius, strict=True)) <= 1.0
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
    series: str | Path | CtSeries, mask_dir: str | Path, *, erode_mm: float = DEFAULT_ERODE_MM
) -> dict[str, VertebraHu]:
    """HU of the trabecular core of each vertebra L1-L4 that has a mask (see the module's method)."""
    import nibabel as nib
    import pydicom

    ct = series if isinstance(series, CtSeries) else read_ct_series(series)
    masks = find_masks(mask_dir)
    wanted: dict[str, np.ndarray] = {}
    volumes: dict[str, float] = {}
    for level, path in masks.items():
        try:
            image = nib.load(str(path))
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
        indices, inside = ct.pixel_indices(lps)
        if inside.mean() < 0.5:
            raise InputError(
                f"lies mostly outside the CT series ({inside.mean():.0%} of its voxels inside): "
                "is it the segmentation of this scan?",
                file=path.name,
            )
        wanted[level] = np.unique(indices[inside], axis=0)
        volumes[level] = float(core.sum() * np.prod(zooms))
    needed = sorted({int(k) for idx in wanted.values() for k in idx[:, 0]})
    pixels: dict[int, np.ndarray] = {}
    for k in needed:
        path = ct.files[k]
        try:
            ds = pydicom.dcmread(path)
            array = ds.pixel_array.astype(np.float64)
        except Exception as exc:  # decoders raise many types for damaged or unsupported pixel data
            raise InputError(f"pixel data cannot be decoded ({type(exc).__name__})", file=path.name) from None
        pixels[k] = array * float(ds.get("RescaleSlope", 1) or 1) + float(ds.get("RescaleIntercept", 0) or 0)
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
