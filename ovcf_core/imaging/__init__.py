"""DICOM series loading and ROI measurement: CT HU, MR T1 SI -> VBQ, MR T2 fat -> FI, CSA -> rCSA.

Imports stay light (numpy and pydicom only, loaded when used), so `ovcf measure` starts fast.
"""

from ovcf_core.imaging.measure import MeasureResult, as_rois, measure_on, measure_series
from ovcf_core.imaging.roi import Roi, RoiMeasurement, Shape, dumps_rois, loads_rois, read_roi_file
from ovcf_core.imaging.series import LoadedSeries, Modality, Plane, Series, Skipped, load_series

__all__ = [
    "LoadedSeries",
    "MeasureResult",
    "Modality",
    "Plane",
    "Roi",
    "RoiMeasurement",
    "Series",
    "Shape",
    "Skipped",
    "as_rois",
    "dumps_rois",
    "load_series",
    "loads_rois",
    "measure_on",
    "measure_series",
    "read_roi_file",
]
