"""Mask regions as editable polygon ROIs, and edited ROIs back into a label map.

A region's outline is traced along pixel edges (coordinates at half pixels), so by the ROI rule of DESIGN
§4.4 (a pixel belongs to a polygon when its centre is inside, even-odd) the polygon holds exactly the
region's pixels: no pixel centre ever lies on an edge. Several parts and holes become one polygon whose
rings are joined by bridges along pixel edges, each walked there and back (so they cancel under the
even-odd rule); the ROI therefore rasterises back to the same pixels, voxel for voxel.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from ovcf_core.imaging.image_indicators import classify
from ovcf_core.imaging.label_maps import CODE, LABELS, LabelMap, MaskError
from ovcf_core.imaging.roi import Roi, Shape, check_within_image, roi_mask

Point = tuple[float, float]


def _boundary_edges(mask: np.ndarray) -> list[tuple[tuple[int, int], tuple[int, int]]]:
    """Return the directed edges between the region and the outside, the region on their right.

    An edge runs corner -> corner; corner (i, j) is the point x = i - 0.5, y = j - 0.5, and "right" is in
    image coordinates (y down).
    """
    padded = np.pad(mask.astype(bool), 1)
    inner = padded[1:-1, 1:-1]
    edges: list[tuple[tuple[int, int], tuple[int, int]]] = []
    for dr, dc, make in (
        (-1, 0, lambda r, c: ((c, r), (c + 1, r))),  # top
        (0, 1, lambda r, c: ((c + 1, r), (c + 1, r + 1))),  # right
        (1, 0, lambda r, c: ((c + 1, r + 1), (c, r + 1))),  # bottom
        (0, -1, lambda r, c: ((c, r + 1), (c, r))),  # left
    ):
        neighbour = padded[1 + dr : padded.shape[0] - 1 + dr, 1 + dc : padded.shape[1] - 1 + dc]
        for r, c in np.argwhere(inner & ~neighbour):
            edges.append(make(int(r), int(c)))
    return edges


def _rings(edges: list[tuple[tuple[int, int], tuple[int, int]]]) -> list[list[tuple[int, int]]]:
    """Chain the edges into closed rings of corners (every corner has as many edges in as out)."""
    outgoing: dict[tuple[int, int], list[tuple[int, int]]] = defaultdict(list)
    for start, end in edges:
        outgoing[start].append(end)
    rings = []
    for first in sorted(outgoing):
        while outgoing[first]:
            ring = [first]
            here = outgoing[first].pop()
            while here != first:
                ring.append(here)
                here = outgoing[here].pop()
            rings.append(_simplify(ring))
    return rings


def _simplify(ring: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Drop the ring's corners that lie in the middle of a straight run."""
    kept = []
    n = len(ring)
    for i in range(n):
        (x0, y0), (x1, y1), (x2, y2) = ring[i - 1], ring[i], ring[(i + 1) % n]
        same_line = (x1 - x0) * (y2 - y1) == (y1 - y0) * (x2 - x1)
        same_way = (x1 - x0) * (x2 - x1) + (y1 - y0) * (y2 - y1) > 0
        if not (same_line and same_way):
            kept.append(ring[i])
    return kept


def outline(mask: np.ndarray) -> tuple[Point, ...]:
    """One polygon (pixel coordinates, x = column, y = row) holding exactly the pixels of a 2-D mask.

    Parameters
    ----------
    mask
        Boolean (rows, columns) region; it may have several parts and holes.

    Returns
    -------
    tuple of (x, y)
        The polygon's points (not repeated at the end); empty when the mask is empty.
    """
    rings = _rings(_boundary_edges(mask))
    if not rings:
        return ()
    path: list[tuple[int, int]] = []
    starts = [ring[0] for ring in rings]
    for i, ring in enumerate(rings):
        if i:
            a, b = starts[i - 1], starts[i]
            path.append((b[0], a[1]))  # along the row edge of a, then the column edge of b
        path.extend(ring)
        path.append(ring[0])
    for i in range(len(rings) - 1, 0, -1):  # back along the same bridges
        a, b = starts[i - 1], starts[i]
        path.extend([(b[0], a[1]), a])
    path.pop()  # the polygon closes on its first point by itself
    points: list[Point] = []
    for x, y in path:
        point = (x - 0.5, y - 0.5)
        if not points or points[-1] != point:
            points.append(point)
    return tuple(points)


def region_roi(mask: np.ndarray, label: str, index: int) -> Roi | None:
    """Outline `mask` as the polygon ROI `label` on slice `index`, holding exactly its pixels.

    Parameters
    ----------
    mask
        Boolean ``(rows, columns)`` pixels of one region.
    label, index
        The ROI's label and 0-based slice.

    Returns
    -------
    Roi or None
        The polygon, or None when `mask` has no pixel.
    """
    points = outline(mask)
    return Roi(label, index, Shape.POLYGON, points=points) if points else None


def label_rois(label_map: LabelMap, index: int, names: Iterable[str] | None = None) -> tuple[Roi, ...]:
    """One polygon ROI per canonical label on slice `index` (ROI label = canonical name), for overlays.

    Parameters
    ----------
    label_map
        The masks on the series' grid.
    index
        0-based slice (sorted along the normal, as the series).
    names
        Canonical labels to outline (default: every label on the slice).

    Returns
    -------
    tuple of Roi
        In `LABELS` order.

    Raises
    ------
    MaskError
        `index` is not a slice of the map.
    """
    if not 0 <= index < label_map.data.shape[0]:
        raise MaskError(
            f"slice {index} does not exist (0 to {label_map.data.shape[0] - 1})", file=label_map.source
        )
    plane = label_map.data[index]
    wanted = set(LABELS if names is None else names)
    rois = []
    for name in LABELS:
        if name in wanted:
            roi = region_roi(plane == CODE[name], name, index)
            if roi is not None:
                rois.append(roi)
    return tuple(rois)


def structure_of(label: str) -> str:
    """Return the canonical label an ROI label stands for.

    That is the label itself (``L1``, ``PM_L``, ``CSF``) or the structure of an indicator label
    (``PM_L_L3L4`` -> ``PM_L``, ``CSF_L3`` -> ``CSF``, ``FAT_L3L4`` -> ``FAT``).

    Parameters
    ----------
    label
        An ROI label (any case).

    Returns
    -------
    str
        One of `LABELS`.

    Raises
    ------
    MaskError
        When the label names no structure of `LABELS`.
    """
    upper = label.strip().upper()
    if upper in CODE:
        return upper
    kind, level, muscle, side = classify(label)
    if kind == "muscle" and muscle and side:
        return f"{muscle.upper()}_{side.upper()}"
    if kind == "csf":
        return "CSF"
    if kind == "fat":
        return "FAT"
    if kind == "disc" and level:
        return f"DISC_{level}"
    raise MaskError(f"ROI '{label}' names no structure of the label table ({', '.join(LABELS)})")


def rois_to_label_map(rois: Iterable[Roi], label_map: LabelMap, note: str | None = None) -> LabelMap:
    """Replace each ROI's structure on the ROI's slice by the ROI's pixels, in a copy of `label_map`.

    For every (structure, slice) that some ROI gives, the structure's old pixels on that slice are cleared
    and the union of those ROIs' pixels takes their place (over any other label there: the ROI is the
    latest word). Other slices and structures are kept. ``CSF_L2``, ``CSF_L3`` … all stand for ``CSF``:
    together they replace the canal on their slice. Start from `label_maps.empty_label_map` to build a
    map from ROIs alone.

    Parameters
    ----------
    rois
        Edited ROIs (canonical or indicator labels), on the map's grid.
    label_map
        The map to edit.
    note
        What to record in the map's `notes` (default: the structures and slices replaced).

    Returns
    -------
    LabelMap
        A new map (`label_map` is left as it was) with `note` added to its notes.

    Raises
    ------
    MaskError
        An ROI naming no structure.
    InputError
        An ROI off the image or the series (naming it).
    """
    slices, rows, columns = label_map.data.shape
    groups: dict[tuple[str, int], np.ndarray] = {}
    for roi in rois:
        name = structure_of(roi.label)
        check_within_image(roi, rows, columns, slices)  # off the image or the series: refused, naming it
        pixels = roi_mask(roi, rows, columns)
        key = (name, roi.slice)
        groups[key] = groups[key] | pixels if key in groups else pixels
    data = label_map.data.copy()
    for (name, index), pixels in groups.items():
        plane = data[index]
        plane[plane == CODE[name]] = 0
        plane[pixels] = CODE[name]
    changed = ", ".join(
        f"{name} on slice {index}" for name, index in sorted(groups, key=lambda g: (g[1], g[0]))
    )
    return label_map.with_data(data, note or (f"replaced from ROIs: {changed}" if changed else None))
