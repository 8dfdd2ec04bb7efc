"""MRI measurements: T1 signal intensity (SI) for VBQ, and T2 paraspinal muscle CSA and fat infiltration.

Fat infiltration (FI) of a muscle ROI is the percentage of its pixels brighter than a fat threshold
(ImageJ-style thresholding, as the paper). The threshold is chosen one of three documented ways:

* ``manual``: a fixed SI given by the reader (e.g. read off the image with the W/L tool);
* ``otsu``: Otsu's threshold of the pixels inside the muscle ROI itself (maximum between-class variance,
  computed exactly over the ROI's distinct values). On a muscle without fat Otsu still splits the noise,
  so prefer ``reference`` for lean muscles;
* ``reference``: a fraction (default 0.5) of the mean SI of a subcutaneous-fat reference ROI on the same
  slice level (label ``FAT_<level>``): a pixel at least half as bright as pure fat counts as fat.

CSA is the ROI's area in mm² (pixel count × row spacing × column spacing).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

from ovcf_core.errors import InputError


class FatMethod(StrEnum):
    """How the fat threshold of a muscle ROI is chosen (see the module docstring)."""

    MANUAL = "manual"
    OTSU = "otsu"
    REFERENCE = "reference"


@dataclass(frozen=True)
class FatThreshold:
    """A fat-threshold rule: the method, the manual SI, or the fraction of the reference fat SI."""

    method: FatMethod = FatMethod.REFERENCE
    value: float | None = None
    reference_fraction: float = 0.5

    def describe(self) -> str:
        """Say in one line how FI was thresholded (shown next to FI values)."""
        if self.method is FatMethod.MANUAL:
            return f"manual threshold SI > {self.value:g}"
        if self.method is FatMethod.OTSU:
            return "Otsu threshold inside each muscle ROI"
        return f"SI > {self.reference_fraction:g} × mean SI of the subcutaneous-fat ROI (FAT_<level>)"


def otsu_threshold(values: np.ndarray) -> float:
    """Compute Otsu's threshold t of `values` (fat = values > t), maximising between-class variance exactly.

    Candidates are the distinct values; t is the largest value of the darker class. With one distinct
    value there is nothing to split and t is that value (no pixel above it). Equally good splits (e.g.
    47, 53, 59) go to the lowest t, whatever the rounding of the two variances.

    Parameters
    ----------
    values
        The signal intensities of the ROI's pixels.

    Returns
    -------
    float
        The threshold.

    Raises
    ------
    InputError
        When there are no pixels.
    """
    values = np.asarray(values, dtype=np.float64).ravel()
    if values.size == 0:
        raise InputError("Otsu's threshold needs at least one pixel")
    levels, counts = np.unique(values, return_counts=True)
    if levels.size == 1:
        return float(levels[0])
    weights = counts / counts.sum()
    w0 = np.cumsum(weights)[:-1]
    mass = np.cumsum(weights * levels)
    mu0 = mass[:-1] / w0
    mu1 = (mass[-1] - mass[:-1]) / (1 - w0)
    between = w0 * (1 - w0) * (mu0 - mu1) ** 2
    best = between.max()
    return float(levels[int(np.flatnonzero(between >= best - 1e-13 * best)[0])])


def fat_percent(values: np.ndarray, threshold: float) -> float:
    """Compute FI (%), the share of ROI pixels whose SI is above `threshold`.

    Parameters
    ----------
    values
        The signal intensities of the ROI's pixels.
    threshold
        The fat threshold (pixels strictly above it count as fat).

    Returns
    -------
    float
        The percentage, 0 to 100.

    Raises
    ------
    InputError
        When there are no pixels.
    """
    values = np.asarray(values, dtype=np.float64)
    if values.size == 0:
        raise InputError("fat infiltration needs at least one pixel")
    return float(100.0 * np.count_nonzero(values > threshold) / values.size)


def muscle_threshold(
    values: np.ndarray, rule: FatThreshold, reference_mean: float | None, label: str
) -> float:
    """Choose the fat threshold of one muscle ROI under `rule`.

    Parameters
    ----------
    values
        The signal intensities of the muscle ROI's pixels (used by Otsu).
    rule
        How to choose the threshold.
    reference_mean
        Mean SI of the subcutaneous-fat ROI at the same level (used by ``reference``), None when absent.
    label
        The ROI's label, named in errors.

    Returns
    -------
    float
        The threshold in SI.

    Raises
    ------
    InputError
        Naming the ROI, when a manual rule has no finite value, or a reference rule has no fat ROI at
        that level.
    """
    if rule.method is FatMethod.MANUAL:
        if rule.value is None or not np.isfinite(rule.value):
            raise InputError(f"ROI '{label}': a manual fat threshold needs a value (SI)")
        return float(rule.value)
    if rule.method is FatMethod.OTSU:
        return otsu_threshold(values)
    if reference_mean is None:
        raise InputError(
            f"ROI '{label}': the reference fat threshold needs a subcutaneous-fat ROI on the same level "
            "(label FAT_<level>, e.g. FAT_L3L4)"
        )
    return float(rule.reference_fraction * reference_mean)
