"""Indicators from masks: HU (CT), VBQ (T1 sagittal), CSA/rCSA and FI (T2 axial) — DESIGN §2.

The masks choose the regions; the measuring and the formulas are the ones used for drawn ROIs
(`measure.measure_on`, `image_indicators.image_indicators`, `ovcf_core.indicators`), so a mask and a
hand-drawn ROI of the same pixels give the same number.

* **CT — HU**: the 3-D trabecular core of each of L1–L4 (`masks.vertebra_hu`: 3 mm erosion, largest
  part), averaged over the unfractured levels by `indicators.average_hu`.
* **T1 sagittal — VBQ**: the mid-sagittal slice is the slice nearest the centroid of the L1–L4 masks
  (along the slice normal). On it each vertebra's SI is the mean SI of its mask (ROI ``L1`` … ``L4``) and
  the CSF SI at a level is the mean SI of the CSF mask pixels lying between the top and bottom of that
  vertebra's mask on the slice (ROI ``CSF_L3``, also ``CSF_L2`` and ``CSF_L4``). VBQ = median SI of the
  measured, unfractured L1–L4 ÷ CSF SI at L3 (L2, then L4, if L3 has none), by `indicators.vbq_score`.
* **T2 axial — CSA/rCSA, FI**: for each disc label (``DISC_L1L2`` … ``DISC_L4L5``) the mid-disc slice is
  the slice nearest the disc mask's centroid. On it each muscle and side mask is one ROI
  (``PM_L_L3L4`` …; area = pixels × row × column spacing), the disc is ``DISC_L3L4`` (the rCSA
  denominator) and the subcutaneous-fat mask, if any, ``FAT_L3L4`` (the reference fat threshold). rCSA per
  (level, side) = (PM + MF + ES CSA) ÷ disc CSA, averaged (`indicators.average_rcsa`); FI = share of each
  muscle's pixels above the fat threshold (`mri.fat_percent`), averaged (`indicators.average_fi`).
  TotalSegmentator's ``autochthon`` (erector spinae with multifidus) and ``iliopsoas`` (psoas with
  iliacus) are not the paper's muscles and are not substituted for them.

Each result carries the ROIs it measured (polygons holding exactly the mask's pixels), so a page can show
and edit them and re-measure with `measure.measure_on`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ovcf_core.imaging.header import Modality
from ovcf_core.imaging.image_indicators import ImageIndicators, StructureRow, image_indicators
from ovcf_core.imaging.label_maps import LabelMap, MaskError, series_geometry
from ovcf_core.imaging.mask_outlines import region_roi
from ovcf_core.imaging.masks import DEFAULT_ERODE_MM, VertebraHu, core_hu, trabecular_cores
from ovcf_core.imaging.measure import MeasureResult, measure_on
from ovcf_core.imaging.mri import FatMethod, FatThreshold
from ovcf_core.imaging.roi import Roi
from ovcf_core.imaging.series import Plane, Series
from ovcf_core.indicators import CSF_LEVELS, DISC_LEVELS, LEVELS, average_hu, parse_fractured

PAPER_MUSCLES = ("PM", "MF", "ES")


def _fractured_set(fractured: Iterable[str] | str) -> frozenset[str]:
    """Fractured levels from a cell text ("L1;L3") or an iterable of level names, upper-cased."""
    if isinstance(fractured, str):
        return parse_fractured(fractured)
    return frozenset(str(level).strip().upper() for level in fractured)


@dataclass(frozen=True)
class MaskIndicators:
    """Indicators computed from one series' masks, the regions measured, and how.

    `image` holds the per-structure table and the indicator values (as for drawn ROIs); `rois` the
    regions (polygons, or for CT each core's section on its middle slice); `slices` which slice was used
    for what (``{"mid_sagittal": 7}``, ``{"L3L4": 12}``, ``{"L1": 30}``).
    """

    method: str
    image: ImageIndicators
    rois: tuple[Roi, ...]
    slices: dict[str, int]
    measurement: MeasureResult | None = None
    vertebrae_hu: dict[str, VertebraHu] = field(default_factory=dict)

    def values(self) -> dict[str, float]:
        """Return the indicators that could be computed, as plain numbers (e.g. {"vbq": 3.1})."""
        return self.image.values()

    def reasons(self) -> dict[str, str]:
        """Return why each indicator is missing or what it used, one line each."""
        return self.image.reasons()

    def to_frame(self) -> Any:
        """Return one row per structure measured (pandas DataFrame)."""
        return self.image.to_frame()

    def to_dict(self) -> dict[str, Any]:
        """Return plain JSON values: method, indicators (value, reason, used), slices and structures."""
        return {
            "method": self.method,
            "modality": self.image.modality,
            "unit": self.image.unit,
            "indicators": {k: v.to_dict() for k, v in self.image.indicators.items()},
            "slices": dict(self.slices),
            "structures": [
                {
                    k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                    for k, v in row.__dict__.items()
                }
                for row in self.image.rows
            ],
        }


def _centroid_slice(mask: np.ndarray) -> int:
    """Return the slice nearest the centroid of a 3-D mask along the slice axis (halves round up)."""
    counts = mask.sum(axis=(1, 2)).astype(float)
    return math.floor(float(np.average(np.arange(mask.shape[0]), weights=counts)) + 0.5)


def ct_indicators(
    label_map: LabelMap,
    series: Series,
    *,
    fractured: Iterable[str] | str = (),
    erode_mm: float = DEFAULT_ERODE_MM,
) -> MaskIndicators:
    """Compute the average HU from the trabecular cores of the L1–L4 masks of a CT (module docstring).

    Parameters
    ----------
    label_map, series
        CT masks read onto the CT series (`mask_files.read_label_map`).
    fractured
        Fractured levels, left out of the average ("L1;L3" as in a cohort cell, or level names).
    erode_mm
        Erosion of each body's mask before its largest connected part is kept (away from the cortex).

    Returns
    -------
    MaskIndicators
        The per-level HU rows, the average HU of the unfractured levels, each core's section on its median
        slice as an ROI, and each level's 3-D core statistics in `vertebrae_hu`.

    Raises
    ------
    MaskError
        No L1–L4 mask, an empty or too small one, or one on a slice with no image (naming the file).
    """
    broken = _fractured_set(fractured)
    core_masks = trabecular_cores(label_map, series, erode_mm=erode_mm)
    cores = core_hu(series, core_masks, label_map.spacing)
    rows = tuple(  # a 3-D core has a volume (vertebrae_hu[level].volume_mm3), not an area
        StructureRow.measured(level, hu.slice, hu.mean, hu.sd, hu.n_voxels, float("nan"), broken)
        for level, hu in cores.items()
    )
    rois = []
    for level, hu in cores.items():
        roi = region_roi(
            core_masks[level][hu.slice], level, hu.slice
        )  # the core's section: what was measured
        if roi is not None:
            rois.append(roi)
    image = ImageIndicators(
        modality="CT",
        unit="HU",
        rows=rows,
        indicators={"hu": average_hu({k: v.mean for k, v in cores.items()}, broken)},
    )
    return MaskIndicators(
        method=f"mask: trabecular core ({erode_mm:g} mm erosion, largest part), 3-D mean HU",
        image=image,
        rois=tuple(rois),
        slices={level: hu.slice for level, hu in cores.items()},
        vertebrae_hu=cores,
    )


def _superior(series: Series, label_map: LabelMap) -> tuple[float, float]:
    """(mm up per row, mm up per column) on a slice: the LPS z change of one step along each."""
    affine = series_geometry(series, label_map.source).affine
    return float(affine[2, 1]), float(affine[2, 2])


def vbq_rois(label_map: LabelMap, series: Series, index: int | None = None) -> tuple[tuple[Roi, ...], int]:
    """Return the ROIs VBQ measures on the mid-sagittal slice and that slice.

    The ROIs are ``L1`` … ``L4`` and the CSF at the levels present (``CSF_L2`` … ``CSF_L4``).

    Parameters
    ----------
    label_map, series
        T1 sagittal masks and their series.
    index
        The slice to use (default: nearest the centroid of the L1–L4 masks).

    Returns
    -------
    tuple
        The ROIs sorted by label, and the slice index.

    Raises
    ------
    MaskError
        No L1–L4 or no CSF label, or none of them on the slice.
    """
    present = [level for level in LEVELS if label_map.has(level)]
    if not present:
        raise MaskError(
            "has no L1, L2, L3 or L4 vertebral body label (needed for VBQ); labels found: "
            + (", ".join(label_map.labels) or "none"),
            file=label_map.source,
        )
    label_map.require(["CSF"], "VBQ (the CSF in the spinal canal)")
    if index is not None and not 0 <= index < len(series):
        raise MaskError(f"slice {index} does not exist: the series has slices 0 to {len(series) - 1}")
    bodies = np.zeros(label_map.data.shape, dtype=bool)
    for level in present:
        bodies |= label_map.mask(level)
    k = _centroid_slice(bodies) if index is None else int(index)
    up_row, up_col = _superior(series, label_map)
    rois: list[Roi] = []
    csf = label_map.slice_mask("CSF", k)
    grid = np.indices(csf.shape).astype(float)
    height = np.asarray(grid[0] * up_row + grid[1] * up_col)  # mm towards the head, up to a constant
    for level in present:
        body = label_map.slice_mask(level, k)
        roi = region_roi(body, level, k)
        if roi is None:
            continue
        rois.append(roi)
        if level in CSF_LEVELS:
            low, high = height[body].min(), height[body].max()
            part = csf & (height >= low - 1e-6) & (height <= high + 1e-6)
            csf_roi = region_roi(part, f"CSF_{level}", k)
            if csf_roi is not None:
                rois.append(csf_roi)
    if not any(r.label in LEVELS for r in rois):
        raise MaskError(f"has no L1–L4 vertebral body on the mid-sagittal slice {k}", file=label_map.source)
    return tuple(sorted(rois, key=lambda r: r.label)), k


def vbq_indicators(
    label_map: LabelMap, series: Series, *, fractured: Iterable[str] | str = (), index: int | None = None
) -> MaskIndicators:
    """Compute VBQ from T1 sagittal masks of L1–L4 and the CSF (see the module docstring).

    Parameters
    ----------
    label_map, series, index
        As `vbq_rois`.
    fractured
        As `ct_indicators`: levels left out of VBQ.

    Returns
    -------
    MaskIndicators
        VBQ with the ROIs measured and the mid-sagittal slice used.

    Raises
    ------
    MaskError
        Required labels missing (naming the mask), or a region on a slice with no image.
    """
    rois, k = vbq_rois(label_map, series, index)
    measurement = measure_on(series, rois)
    image = image_indicators(measurement, _fractured_set(fractured))
    return MaskIndicators(
        method="mask: mean SI of each body and of the CSF at its level on the mid-sagittal slice",
        image=image,
        rois=rois,
        slices={"mid_sagittal": k},
        measurement=measurement,
    )


def muscle_rois(label_map: LabelMap, series: Series) -> tuple[tuple[Roi, ...], dict[str, int]]:
    """Return the ROIs rCSA and FI measure at each mid-disc slice, and those slices.

    Parameters
    ----------
    label_map, series
        T2 axial masks and their series.

    Returns
    -------
    tuple
        The ROIs (muscles, disc and fat on each mid-disc slice), and the slices by level
        (``{"L3L4": 12, ...}``).

    Raises
    ------
    MaskError
        No disc label of L1-2 … L4-5, or no PM/MF/ES muscle label.
    """
    discs = [f"DISC_{level}" for level in DISC_LEVELS if label_map.has(f"DISC_{level}")]
    if not discs:
        raise MaskError(
            "has no disc label of L1-2 … L4-5 (needed for rCSA and to find the mid-disc slices); labels "
            f"found: {', '.join(label_map.labels) or 'none'}",
            file=label_map.source,
        )
    muscles = [f"{m}_{s}" for m in PAPER_MUSCLES for s in ("L", "R") if label_map.has(f"{m}_{s}")]
    if not muscles:
        found = ", ".join(label_map.labels) or "none"
        raise MaskError(
            "has no psoas major, multifidus or erector spinae label (PM_L … ES_R; TotalSegmentator's "
            f"autochthon/iliopsoas are other muscles); labels found: {found}",
            file=label_map.source,
        )
    rois: list[Roi] = []
    slices: dict[str, int] = {}
    for disc in discs:
        level = disc.removeprefix("DISC_")
        k = _centroid_slice(label_map.mask(disc))
        slices[level] = k
        for name in (disc, *muscles, "FAT"):
            label = disc if name == disc else f"FAT_{level}" if name == "FAT" else f"{name}_{level}"
            roi = region_roi(label_map.slice_mask(name, k), label, k) if label_map.has(name) else None
            if roi is not None:
                rois.append(roi)
    return tuple(rois), slices


def muscle_indicators(
    label_map: LabelMap, series: Series, *, fat: FatThreshold | None = None
) -> MaskIndicators:
    """Compute CSA/rCSA and FI from T2 axial masks of the paraspinal muscles, discs and fat.

    See the module docstring for the method.

    Parameters
    ----------
    label_map, series
        As `muscle_rois`.
    fat
        The fat-threshold rule for FI (default: half the subcutaneous fat's SI, which needs a FAT label).

    Returns
    -------
    MaskIndicators
        CSA, rCSA and FI with the ROIs measured and the mid-disc slices used.

    Raises
    ------
    MaskError
        Required labels missing (naming the mask), e.g. no FAT label for the default reference threshold.
    """
    fat = fat or FatThreshold()
    rois, slices = muscle_rois(label_map, series)
    if fat.method is FatMethod.REFERENCE:
        without = [level for level in slices if not any(r.label == f"FAT_{level}" for r in rois)]
        if without:
            raise MaskError(
                f"has no subcutaneous-fat (FAT) region on the mid-disc slice of {', '.join(without)}, needed "
                "for the reference fat threshold: add a FAT label or choose the Otsu or a manual threshold",
                file=label_map.source,
            )
    measurement = measure_on(series, rois)
    image = image_indicators(measurement, (), fat)
    return MaskIndicators(
        method="mask: each muscle, side and disc on the mid-disc slice of each disc level",
        image=image,
        rois=rois,
        slices=slices,
        measurement=measurement,
    )


def mask_indicators(
    label_map: LabelMap,
    series: Series,
    *,
    fractured: Iterable[str] | str = (),
    fat: FatThreshold | None = None,
    erode_mm: float = DEFAULT_ERODE_MM,
) -> MaskIndicators:
    """Every indicator the series and its masks allow: HU (CT), VBQ (MR sagittal), rCSA and FI (MR axial).

    Parameters
    ----------
    label_map
        Masks read onto `series` (`mask_files.read_label_map`).
    series
        The loaded series.
    fractured
        Fractured levels (e.g. ``{"L2"}`` or ``"L2;L3"``), left out of HU and VBQ.
    fat
        The FI fat-threshold rule (default: half the mean SI of the FAT region at that level).
    erode_mm
        CT only: erosion of the vertebra masks.

    Returns
    -------
    MaskIndicators

    Raises
    ------
    MaskError
        The labels the series' indicators need are missing, or a region cannot be measured.
    """
    if label_map.series_uid != series.uid or label_map.data.shape != (
        len(series),
        series.rows,
        series.columns,
    ):
        raise MaskError("was read onto another series than the one given", file=label_map.source)
    if series.modality is Modality.CT:
        return ct_indicators(label_map, series, fractured=fractured, erode_mm=erode_mm)
    if series.plane is Plane.SAGITTAL:
        return vbq_indicators(label_map, series, fractured=fractured)
    if series.plane is Plane.AXIAL:
        return muscle_indicators(label_map, series, fat=fat)
    raise MaskError(
        f"gives no indicator on an MR {series.plane.value} series: VBQ needs a sagittal T1 with L1–L4 and "
        "CSF labels, rCSA/FI an axial T2 with disc and muscle labels",
        file=label_map.source,
    )
