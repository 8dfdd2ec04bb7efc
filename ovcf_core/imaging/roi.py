"""Regions of interest (DESIGN §4): ellipse, polygon and rectangle masks, and their statistics.

Coordinates are pixel coordinates of the slice: x = column, y = row, pixel centres at integers. A pixel is
inside an ellipse when ((x-cx)/rx)^2 + ((y-cy)/ry)^2 <= 1; inside a polygon when its centre is inside
(even-odd rule) or on an edge; inside a rectangle (`"corners": [[x0, y0], [x1, y1]]`) when
x0 <= x <= x1 and y0 <= y <= y1. An ROI must lie within the image (pixel edges at -0.5 and size-0.5).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import Any

import numpy as np

from ovcf_core.errors import InputError

MAX_ROI_FILE_BYTES = 5 * 1024 * 1024
MAX_ROIS = 1000
"""Most ROIs one ROI file may hold (a study has a few dozen); more is refused before any is measured."""
MAX_POLYGON_POINTS = 10_000
"""Most points a polygon ROI may have (a freehand lasso has a few hundred); more is refused naming the ROI
before its points are even read."""
MAX_LABEL_CHARS = 64
"""Longest ROI label: labels appear in every message, table and JSON key."""
MAX_RASTER_WORK = 50_000_000
"""Most pixel tests a polygon's mask may take (each edge tests the rows it crosses and its bounding box):
a polygon zig-zagging thousands of times across the image is refused before any mask is allocated."""
_EDGE_TOLERANCE = 1e-9


class Shape(StrEnum):
    """ROI shapes of the ROI file."""

    ELLIPSE = "ellipse"
    POLYGON = "polygon"
    RECTANGLE = "rectangle"


@dataclass(frozen=True)
class Roi:
    """One ROI on one slice: ellipse (center, radii), polygon (points) or rectangle (corners)."""

    label: str
    slice: int
    shape: Shape
    center: tuple[float, float] | None = None
    radii: tuple[float, float] | None = None
    points: tuple[tuple[float, float], ...] | None = None

    def to_dict(self) -> dict[str, Any]:
        """Return the ROI as an entry of the ROI file (round-trips through `parse_roi`)."""
        out: dict[str, Any] = {"label": self.label, "slice": self.slice, "shape": self.shape.value}
        if self.shape is Shape.ELLIPSE:
            out["center"] = list(self.center or ())
            out["radii"] = list(self.radii or ())
        elif self.shape is Shape.RECTANGLE:
            out["corners"] = [list(p) for p in self.points or ()]
        else:
            out["points"] = [list(p) for p in self.points or ()]
        return out

    def extent(self) -> tuple[float, float, float, float]:
        """Return the shape's bounding box (x_min, x_max, y_min, y_max) in pixel coordinates."""
        if self.shape is Shape.ELLIPSE:
            (cx, cy), (rx, ry) = self.center, self.radii  # type: ignore[misc]  # an ellipse has both
            return cx - rx, cx + rx, cy - ry, cy + ry
        xs = [p[0] for p in self.points or ()]
        ys = [p[1] for p in self.points or ()]
        return min(xs), max(xs), min(ys), max(ys)

    def outline(self, n: int = 72) -> tuple[list[float], list[float]]:
        """Return a closed outline (xs, ys) for drawing over the image (`n` segments for an ellipse)."""
        if self.shape is Shape.ELLIPSE:
            (cx, cy), (rx, ry) = self.center, self.radii  # type: ignore[misc]  # an ellipse has both
            t = np.linspace(0, 2 * np.pi, n + 1)
            return list(cx + rx * np.cos(t)), list(cy + ry * np.sin(t))
        if self.shape is Shape.RECTANGLE:
            x0, x1, y0, y1 = self.extent()
            return [x0, x1, x1, x0, x0], [y0, y0, y1, y1, y0]
        pts = list(self.points or ())
        pts.append(pts[0])
        return [p[0] for p in pts], [p[1] for p in pts]


@dataclass(frozen=True)
class RoiMeasurement:
    """Statistics of one ROI: mean, SD (n-1, as ImageJ), pixel count and area, plus the pixel values."""

    label: str
    slice: int
    mean: float
    sd: float
    n_pixels: int
    area_mm2: float
    values: np.ndarray = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the ROI's entry of the `measure` JSON (DESIGN §4); the pixel values are left out."""
        return {
            "mean": self.mean,
            "sd": self.sd,
            "n_pixels": self.n_pixels,
            "area_mm2": self.area_mm2,
            "slice": self.slice,
        }


# ------------------------------------------------------------------------------------------------ masks


def _span(low: float, high: float, start: int, count: int) -> tuple[int, int]:
    """Return grid indices [a, b) of the coordinates start..start+count-1 within [low - 1, high + 1].

    One spare pixel on each side: the exact test is still made on every pixel of the span.
    """
    a = max(math.floor(low) - 1 - start, 0)
    b = min(math.ceil(high) + 2 - start, count)
    return a, max(a, b)


def _polygon_work(points: tuple[tuple[float, float], ...], rows: int, columns: int) -> int:
    """Count the pixel tests `_polygon_mask` makes on a rows × columns grid (checked before it runs)."""
    work = 0
    count = len(points)
    for i in range(count):
        (x1, y1), (x2, y2) = points[i], points[(i + 1) % count]
        span_rows = min(abs(y2 - y1) + 3, rows)
        work += int(span_rows * columns + span_rows * min(abs(x2 - x1) + 3, columns))
    return work


def _polygon_mask(xs: np.ndarray, ys: np.ndarray, points: tuple[tuple[float, float], ...]) -> np.ndarray:
    """Mark the pixel centres inside (even-odd) or on the edge of a polygon, vectorised over the grid.

    Each edge is tested only on the rows it crosses and within its bounding box (the same tests, less
    work).
    """
    inside = np.zeros(xs.shape, dtype=bool)
    on_edge = np.zeros(xs.shape, dtype=bool)
    row0, column0 = int(ys[0, 0]), int(xs[0, 0])
    n_rows, n_columns = xs.shape
    count = len(points)
    for i in range(count):
        x1, y1 = points[i]
        x2, y2 = points[(i + 1) % count]
        r_a, r_b = _span(min(y1, y2), max(y1, y2), row0, n_rows)
        if y1 != y2 and r_b > r_a:
            sub_y, sub_x = ys[r_a:r_b], xs[r_a:r_b]
            crosses = (y1 > sub_y) != (y2 > sub_y)
            x_cross = x1 + (sub_y - y1) * (x2 - x1) / (y2 - y1)
            inside[r_a:r_b] ^= crosses & (sub_x < x_cross)
        c_a, c_b = _span(min(x1, x2), max(x1, x2), column0, n_columns)
        if r_b <= r_a or c_b <= c_a:
            continue
        sub_y, sub_x = ys[r_a:r_b, c_a:c_b], xs[r_a:r_b, c_a:c_b]
        length = math.hypot(x2 - x1, y2 - y1)
        cross = (x2 - x1) * (sub_y - y1) - (y2 - y1) * (sub_x - x1)
        within = (
            (sub_x >= min(x1, x2) - _EDGE_TOLERANCE)
            & (sub_x <= max(x1, x2) + _EDGE_TOLERANCE)
            & (sub_y >= min(y1, y2) - _EDGE_TOLERANCE)
            & (sub_y <= max(y1, y2) + _EDGE_TOLERANCE)
        )
        on_edge[r_a:r_b, c_a:c_b] |= within & (np.abs(cross) <= _EDGE_TOLERANCE * max(length, 1.0))
    return inside | on_edge


def roi_mask(roi: Roi, rows: int, columns: int) -> np.ndarray:
    """Build the mask of the pixels whose centres are inside `roi` (rules in the module docstring).

    Parameters
    ----------
    roi
        The ROI.
    rows, columns
        The image's size.

    Returns
    -------
    numpy.ndarray
        A boolean (rows, columns) mask; the part of the ROI outside the image is cut off.

    Raises
    ------
    InputError
        Naming the ROI, when it is a polygon with too many points or too complex to rasterise.
    """
    _check_complexity(roi, rows, columns)
    x_min, x_max, y_min, y_max = roi.extent()
    mask = np.zeros((rows, columns), dtype=bool)
    c0, c1 = max(math.ceil(x_min), 0), min(math.floor(x_max), columns - 1)
    r0, r1 = max(math.ceil(y_min), 0), min(math.floor(y_max), rows - 1)
    if c1 < c0 or r1 < r0:
        return mask
    ys, xs = np.mgrid[r0 : r1 + 1, c0 : c1 + 1].astype(np.float64)
    if roi.shape is Shape.ELLIPSE:
        (cx, cy), (rx, ry) = roi.center, roi.radii  # type: ignore[misc]  # an ellipse has both
        box = ((xs - cx) / rx) ** 2 + ((ys - cy) / ry) ** 2 <= 1.0
    elif roi.shape is Shape.RECTANGLE:
        box = np.ones(xs.shape, dtype=bool)
    else:
        box = _polygon_mask(xs, ys, roi.points or ())
    mask[r0 : r1 + 1, c0 : c1 + 1] = box
    return mask


def _check_complexity(roi: Roi, rows: int, columns: int) -> None:
    """Refuse a polygon with too many points or too much rasterising work, before any mask is allocated.

    The limits are MAX_POLYGON_POINTS points and MAX_RASTER_WORK pixel tests; the error names the ROI.
    """
    if roi.shape is not Shape.POLYGON:
        return
    points = roi.points or ()
    if len(points) > MAX_POLYGON_POINTS:
        raise InputError(
            f"ROI '{roi.label}' has {len(points)} points, more than the {MAX_POLYGON_POINTS} allowed: "
            "simplify the outline"
        )
    if _polygon_work(points, rows, columns) > MAX_RASTER_WORK:
        raise InputError(
            f"ROI '{roi.label}': its {len(points)}-point outline crosses the {columns}×{rows} image too "
            f"many times to rasterise (more than {MAX_RASTER_WORK} pixel tests): simplify the outline"
        )


def check_within_image(roi: Roi, rows: int, columns: int, n_slices: int | None = None) -> None:
    """Check that an ROI lies on a slice of the series and within the image, from its numbers alone.

    Parameters
    ----------
    roi, rows, columns
        The ROI and the size of the image it is drawn on.
    n_slices
        Slices in the series (None: the slice is not checked).

    Raises
    ------
    InputError
        Naming the ROI, when it is on a missing slice, has coordinates that are not finite, reaches
        outside the image, or is too complex a polygon to rasterise (checked before any mask is
        allocated).
    """
    if n_slices is not None and not 0 <= roi.slice < n_slices:
        raise InputError(
            f"ROI '{roi.label}' is on slice {roi.slice}, but the series has slices 0 to {n_slices - 1}"
        )
    x_min, x_max, y_min, y_max = roi.extent()
    if not all(math.isfinite(v) for v in (x_min, x_max, y_min, y_max)):
        raise InputError(f"ROI '{roi.label}' has coordinates that are not finite numbers")
    if x_min < -0.5 or y_min < -0.5 or x_max > columns - 0.5 or y_max > rows - 0.5:
        raise InputError(
            f"ROI '{roi.label}' reaches outside the {columns}×{rows} image "
            f"(x {x_min:g} to {x_max:g}, y {y_min:g} to {y_max:g}; pixel centres 0 to {columns - 1} "
            f"and 0 to {rows - 1})"
        )
    _check_complexity(roi, rows, columns)


def measure_roi(image: np.ndarray, roi: Roi, pixel_spacing: tuple[float, float]) -> RoiMeasurement:
    """Measure `image` inside `roi`: mean, SD (ddof=1, as ImageJ; 0 for one pixel), pixel count and area.

    Parameters
    ----------
    image
        One slice's values (HU for CT, SI for MR), rows × columns.
    roi
        The ROI on that slice.
    pixel_spacing
        Row and column spacing in mm, for the area in mm².

    Returns
    -------
    RoiMeasurement
        The statistics and the pixel values inside the ROI.

    Raises
    ------
    InputError
        Naming the ROI, when it leaves the image, is too complex, or contains no pixel centre.
    """
    rows, columns = image.shape
    check_within_image(roi, rows, columns)
    values = image[roi_mask(roi, rows, columns)]
    if values.size == 0:
        raise InputError(f"ROI '{roi.label}' contains no pixel centre: make it larger")
    sd = float(np.std(values, ddof=1)) if values.size > 1 else 0.0
    return RoiMeasurement(
        label=roi.label,
        slice=roi.slice,
        mean=float(np.mean(values)),
        sd=sd,
        n_pixels=int(values.size),
        area_mm2=float(values.size * pixel_spacing[0] * pixel_spacing[1]),
        values=values,
    )


# ------------------------------------------------------------------------------------------------ parsing


def _number(value: Any) -> float | None:
    """Return a finite JSON number as a float, or None (booleans and text are not numbers)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def _pair(value: Any) -> tuple[float, float] | None:
    """Return two finite numbers [a, b] as a tuple, or None."""
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        return None
    a, b = _number(value[0]), _number(value[1])
    return None if a is None or b is None else (a, b)


def parse_roi(entry: Any, index: int) -> Roi:
    """Parse one ROI from its ROI-file entry.

    Parameters
    ----------
    entry
        The parsed JSON entry: label, slice, shape and the shape's numbers.
    index
        Its position in the file, named in errors when the label itself is unusable.

    Returns
    -------
    Roi
        The ROI; a rectangle's corners are ordered (low, high).

    Raises
    ------
    InputError
        Naming the ROI (its label, else its position), when the entry is not an object, the label is
        empty, too long or not printable, the slice is not a whole number >= 0, the shape is unknown, or
        its numbers are missing or invalid (radii not positive, a rectangle without area, a polygon with
        fewer than 3 or more than MAX_POLYGON_POINTS points).
    """
    if not isinstance(entry, dict):
        raise InputError(f"rois[{index}] must be an object with label, slice and shape")
    label = entry.get("label")
    if not isinstance(label, str) or not label.strip():
        raise InputError(f"rois[{index}] needs a non-empty text 'label'")
    label = label.strip()
    if len(label) > MAX_LABEL_CHARS or not label.isprintable():
        raise InputError(
            f"rois[{index}]: 'label' must be one line of at most {MAX_LABEL_CHARS} printable characters "
            f"(got {len(label)} characters)"
        )
    name = f"ROI '{label}'"
    slice_value = entry.get("slice")
    if (
        isinstance(slice_value, bool)
        or not isinstance(slice_value, (int, float))
        or not math.isfinite(slice_value)
        or slice_value != int(slice_value)
        or slice_value < 0
    ):
        raise InputError(f"{name}: 'slice' must be a whole number >= 0 (0-based, sorted by position)")
    shape_value = str(entry.get("shape", "")).lower()
    try:
        shape = Shape(shape_value)
    except ValueError:
        raise InputError(
            f"{name}: unknown shape '{entry.get('shape')}' (use ellipse, polygon or rectangle)"
        ) from None
    if shape is Shape.ELLIPSE:
        center, radii = _pair(entry.get("center")), _pair(entry.get("radii"))
        if center is None:
            raise InputError(f"{name}: 'center' must be two numbers [x, y], got {entry.get('center')!r:.60}")
        if radii is None or min(radii) <= 0:
            raise InputError(
                f"{name}: 'radii' must be two positive numbers [rx, ry], got {entry.get('radii')!r:.60}"
            )
        return Roi(label, int(slice_value), shape, center=center, radii=radii)
    key = "corners" if shape is Shape.RECTANGLE else "points"
    raw = entry.get(key)
    if isinstance(raw, list) and len(raw) > MAX_POLYGON_POINTS:
        raise InputError(
            f"{name}: {len(raw)} points, more than the {MAX_POLYGON_POINTS} allowed: simplify the outline"
        )
    points = [_pair(p) for p in raw] if isinstance(raw, list) else None
    if shape is Shape.RECTANGLE:
        if points is None or len(points) != 2 or None in points:
            raise InputError(f"{name}: 'corners' must be two points [[x0, y0], [x1, y1]]")
        (x0, y0), (x1, y1) = points  # type: ignore[misc]  # two points, none None (checked above)
        if x0 == x1 or y0 == y1:
            raise InputError(f"{name}: the rectangle has no area")
        corners = ((min(x0, x1), min(y0, y1)), (max(x0, x1), max(y0, y1)))
        return Roi(label, int(slice_value), shape, points=corners)
    if points is None or len(points) < 3 or None in points:
        raise InputError(f"{name}: 'points' must be at least 3 points [[x, y], ...]")
    # `None in points` was refused above, which mypy cannot see
    return Roi(label, int(slice_value), shape, points=tuple(points))  # type: ignore[arg-type]


def parse_rois(document: Any, file_name: str | None = None) -> tuple[Roi, ...]:
    """Parse the ROIs of a parsed ROI file ({"rois": [...]}) or a bare list.

    Parameters
    ----------
    document
        The parsed JSON, or a list of entries (already parsed `Roi` objects are kept as they are).
    file_name
        The file's name, which starts every error message when given.

    Returns
    -------
    tuple of Roi
        The ROIs in file order.

    Raises
    ------
    InputError
        When there is no list of ROIs, it is empty or longer than MAX_ROIS, a label appears twice, or an
        entry is refused by `parse_roi`.
    """
    entries = document.get("rois") if isinstance(document, dict) else document
    try:
        if not isinstance(entries, list):
            raise InputError('needs a list of ROIs under "rois": {"rois": [{"label": ..., ...}]}')
        if not entries:
            raise InputError('"rois" is empty: nothing to measure')
        if len(entries) > MAX_ROIS:
            raise InputError(f"holds {len(entries)} ROIs, more than the {MAX_ROIS} allowed")
        rois = tuple(
            entry if isinstance(entry, Roi) else parse_roi(entry, i) for i, entry in enumerate(entries)
        )
        seen: set[str] = set()
        for roi in rois:
            if roi.label in seen:
                raise InputError(f"ROI '{roi.label}' appears twice: labels must be unique")
            seen.add(roi.label)
    except InputError as exc:
        if file_name:
            raise InputError(exc.message, file=file_name) from None
        raise
    return rois


def loads_rois(data: bytes | str, file_name: str = "ROI file") -> tuple[Roi, ...]:
    """Parse the ROIs from the text of an ROI file (JSON), with one clear error naming the file.

    Parameters
    ----------
    data
        The file's bytes (UTF-8, with or without BOM) or text.
    file_name
        The name used in messages.

    Returns
    -------
    tuple of Roi
        As `parse_rois`.

    Raises
    ------
    InputError
        Naming the file, when it is larger than MAX_ROI_FILE_BYTES, empty, binary, not valid JSON,
        nested too deeply, or not a valid ROI list (see `parse_rois`).
    """
    if len(data) > MAX_ROI_FILE_BYTES:
        raise InputError(f"larger than {MAX_ROI_FILE_BYTES // 2**20} MB: not an ROI file", file=file_name)
    if not data.strip():
        raise InputError('is empty: expected JSON like {"rois": [...]}', file=file_name)
    try:
        text = data.decode("utf-8-sig") if isinstance(data, bytes) else data
        document = json.loads(text)
    except UnicodeDecodeError:
        raise InputError("is not text (binary bytes): expected an ROI JSON file", file=file_name) from None
    except json.JSONDecodeError as exc:
        raise InputError(
            f'is not valid JSON (line {exc.lineno}, column {exc.colno}): expected {{"rois": [...]}}',
            file=file_name,
        ) from None
    except RecursionError:
        raise InputError("is nested too deeply to be an ROI file", file=file_name) from None
    return parse_rois(document, file_name)


def read_roi_file(path: str | Path) -> tuple[Roi, ...]:
    """Read the ROIs from an ROI JSON file on disk (`loads_rois` on its bytes, named by the file's name).

    Raises
    ------
    InputError
        When the file cannot be read or is too large, besides `loads_rois`' refusals.
    """
    path = Path(path)
    try:
        size = path.stat().st_size
        if size > MAX_ROI_FILE_BYTES:
            raise InputError(f"larger than {MAX_ROI_FILE_BYTES // 2**20} MB: not an ROI file", file=path.name)
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"cannot be read ({exc.strerror or exc})", file=path.name) from None
    return loads_rois(data, path.name)


def dumps_rois(rois: tuple[Roi, ...] | list[Roi]) -> str:
    """Write `rois` as ROI file text (round-trips through `loads_rois`).

    Parameters
    ----------
    rois
        The ROIs to save.

    Returns
    -------
    str
        Indented JSON, ``{"rois": [...]}``.
    """
    return json.dumps({"rois": [r.to_dict() for r in rois]}, indent=2)
