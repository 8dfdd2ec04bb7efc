"""`measure_series`: ROIs measured on a sorted DICOM series, decoding only the slices the ROIs are on."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ovcf_core.errors import InputError
from ovcf_core.imaging.protocol import Protocol, read_protocol
from ovcf_core.imaging.roi import (
    Roi,
    RoiMeasurement,
    check_within_image,
    loads_rois,
    measure_roi,
    parse_rois,
    read_roi_file,
)
from ovcf_core.imaging.series import LoadedSeries, MissingSlice, Modality, Series, Skipped, load_series
from ovcf_core.imaging.sources import Source


@dataclass(frozen=True)
class MeasureResult:
    """Every ROI measured on one series; `to_dict()` is the `ovcf measure` JSON (DESIGN §4)."""

    modality: Modality
    plane: str
    pixel_spacing: tuple[float, float]
    measurements: tuple[RoiMeasurement, ...]
    skipped: tuple[Skipped, ...] = ()
    protocol: Protocol | None = None  # kVp, contrast, field strength, ... of the series (`imaging.protocol`)

    @property
    def unit(self) -> str:
        """HU for CT, SI for MR."""
        return self.modality.unit

    def __getitem__(self, label: str) -> RoiMeasurement:
        """Return the measurement of the ROI `label` (KeyError when there is none)."""
        for measurement in self.measurements:
            if measurement.label == label:
                return measurement
        raise KeyError(label)

    def labels(self) -> list[str]:
        """Return the ROI labels in input order."""
        return [m.label for m in self.measurements]

    def to_dict(self) -> dict[str, Any]:
        """Return the `ovcf measure` JSON (DESIGN §4b).

        ``{"modality", "unit", "rois": {label: {mean, sd, n_pixels, area_mm2, slice}}}``, plus "protocol"
        (the series' acquisition attributes) and "warnings" when the protocol was read.
        """
        out: dict[str, Any] = {
            "modality": self.modality.value,
            "unit": self.unit,
            "rois": {m.label: m.to_dict() for m in self.measurements},
        }
        if self.protocol is not None:
            out["protocol"] = self.protocol.to_dict()
            out["warnings"] = list(self.protocol.warnings())
        return out

    def to_frame(self) -> Any:
        """Return one row per ROI (label, slice, mean, sd, n_pixels, area_mm2, unit) as a DataFrame."""
        import pandas as pd

        return pd.DataFrame(
            [{"label": m.label, **m.to_dict(), "unit": self.unit} for m in self.measurements],
            columns=["label", "slice", "mean", "sd", "n_pixels", "area_mm2", "unit"],
        )


def as_rois(rois: Any) -> tuple[Roi, ...]:
    """Read ROIs from whatever form the caller has them in.

    Parameters
    ----------
    rois
        An ROI file path (Path or str), its JSON text or bytes, a parsed ``{"rois": [...]}`` document, or
        a list of ROI entries.

    Returns
    -------
    tuple of Roi
        The ROIs, validated (`roi.parse_rois`).

    Raises
    ------
    InputError
        Any other type, or an ROI file or entry that is not valid (naming it).
    """
    if isinstance(rois, Path):
        return read_roi_file(rois)
    if isinstance(rois, str):
        if rois.lstrip().startswith(("{", "[")):
            return loads_rois(rois)
        return read_roi_file(rois)
    if isinstance(rois, bytes):
        return loads_rois(rois)
    if isinstance(rois, dict):
        return parse_rois(rois)
    if isinstance(rois, Iterable):
        return parse_rois(list(rois))
    raise InputError(f"ROIs must be an ROI file or a list of ROIs, not {type(rois).__name__}")


def check_roi(series: Series, roi: Roi) -> None:
    """Refuse an ROI that cannot be measured on `series`, before any pixel is decoded.

    Parameters
    ----------
    series
        The loaded series.
    roi
        The ROI to check.

    Raises
    ------
    InputError
        Naming the ROI: off the image or the series, or on a slice with no image (a skipped or missing
        file); or any ROI when the series' slice indices are ambiguous (a skipped file the positions
        cannot place).
    """
    if series.ambiguous:
        raise InputError(series.ambiguous)
    check_within_image(roi, series.rows, series.columns, len(series))
    slot = series.slices[roi.slice]
    if isinstance(slot, MissingSlice):
        raise InputError(f"ROI '{roi.label}' is on slice {roi.slice}, which {slot.reason}")


def measure_on(series: Series, rois: Iterable[Roi], skipped: tuple[Skipped, ...] = ()) -> MeasureResult:
    """Measure ROIs on an already loaded series; every ROI is checked before any pixel is decoded.

    Parameters
    ----------
    series
        The loaded series.
    rois
        The ROIs; only the slices they are on are decoded.
    skipped
        Files left out when loading, kept in the result for the report.

    Returns
    -------
    MeasureResult
        The ROIs' statistics in input order, with the series' protocol.

    Raises
    ------
    InputError
        As `check_roi`, for the first ROI that cannot be measured.
    """
    rois = tuple(rois)
    for roi in rois:
        check_roi(series, roi)
    by_slice: dict[int, list[Roi]] = defaultdict(list)
    for roi in rois:
        by_slice[roi.slice].append(roi)
    results: dict[str, RoiMeasurement] = {}
    for index in sorted(by_slice):
        image = series.pixels(index)
        for roi in by_slice[index]:
            results[roi.label] = measure_roi(image, roi, series.pixel_spacing)
    return MeasureResult(
        modality=series.modality,
        plane=series.plane.value,
        pixel_spacing=series.pixel_spacing,
        measurements=tuple(results[r.label] for r in rois),
        skipped=skipped,
        protocol=read_protocol(series),
    )


def measure_series(
    source: Source | Series | LoadedSeries, rois: Any, series_uid: str | None = None
) -> MeasureResult:
    """Load `source` (folder, .zip, files or uploads), pick the series and measure `rois` on it.

    Only the slices the ROIs are on are decoded.

    Parameters
    ----------
    source
        A folder, .zip, files or uploads; a `LoadedSeries`; or a `Series`, measured as it is.
    rois
        As `as_rois`.
    series_uid
        The series to measure when `source` holds several (default: the only one).

    Returns
    -------
    MeasureResult
        With the files that could not be used in `skipped`.

    Raises
    ------
    InputError
        Naming the file, ROI or tag, when nothing can be measured.
    """
    roi_tuple = as_rois(rois)
    if isinstance(source, Series):
        return measure_on(source, roi_tuple)
    loaded = source if isinstance(source, LoadedSeries) else load_series(source)
    name = Path(source).name if isinstance(source, (str, Path)) else "the upload"
    series = loaded.pick(series_uid, name)
    return measure_on(series, roi_tuple, loaded.skipped)
