"""CT: the modality LUT (RescaleSlope, RescaleIntercept) that turns stored pixel values into HU."""

from __future__ import annotations

import numpy as np


def to_hu(stored: np.ndarray, slope: float = 1.0, intercept: float = 0.0) -> np.ndarray:
    """HU from stored CT values: HU = stored × RescaleSlope + RescaleIntercept (PS3.3 C.11.1)."""
    return np.asarray(stored, dtype=np.float64) * float(slope) + float(intercept)
