"""Review and correct mask-derived regions, and export the corrected regions with every correction listed.

One region is accepted, rejected or edited (an ellipse derived from it, a redrawn outline, pixels painted
or erased, a threshold); each region has a review status; the corrected regions are exported as an ROI
file listing every correction, or as a label map for DICOM SEG.

Regions are ROIs (`mask_outlines.region_roi`: polygons holding exactly a mask's pixels), so an edited
region is measured by the same code as a drawn ROI. Every function returns a `roi_edits.Change`, so each
correction is a step of the ROI history: listed with its UTC time, undoable, and exported.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterable
from enum import StrEnum
from typing import Any

import numpy as np

from ovcf_core.errors import InputError
from ovcf_core.imaging.label_maps import CODE, LabelMap
from ovcf_core.imaging.mask_outlines import region_roi, rois_to_label_map, structure_of
from ovcf_core.imaging.roi import Roi, Shape, dumps_rois, roi_mask
from ovcf_core.imaging.roi_edits import Action, Change, RoiHistory, describe_roi, find, update
from ovcf_core.imaging.series import Series


class Review(StrEnum):
    """Review status of one mask region."""

    TO_REVIEW = "to review"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    EDITED = "edited"


_STATUS = {Action.ACCEPT: Review.ACCEPTED, Action.REJECT: Review.REJECTED, Action.EDIT: Review.EDITED}


def review_status(history: RoiHistory, regions: Iterable[str]) -> dict[str, Review]:
    """Read each region's review status from the history: its last accept, reject or edit.

    A move/resize or redraw in the ROI editor counts as an edit and a deletion as a rejection; a region
    (re)loaded from a mask starts over as to review, and so does a region with no such step. Labels are
    matched case-insensitively.

    Parameters
    ----------
    history : RoiHistory
        The series' ROI history.
    regions : iterable of str
        The labels of the mask's regions.

    Returns
    -------
    dict of str to Review
        Each label of `regions`, as given, with its status.
    """
    status = {label: Review.TO_REVIEW for label in regions}
    wanted = {label.upper(): label for label in status}
    for step in history.steps[1:]:
        if step.action is Action.LOAD and "mask" in step.detail:
            for label in step.labels:  # regions (re)loaded from a mask start over
                if label.upper() in wanted:
                    status[wanted[label.upper()]] = Review.TO_REVIEW
            continue
        found = _STATUS.get(step.action)
        if found is None and step.action in (Action.MOVE, Action.REPLACE):
            found = Review.EDITED
        if found is None and step.action is Action.DELETE:
            found = Review.REJECTED
        if found is None:
            continue
        for label in step.labels:
            if label.upper() in wanted:
                status[wanted[label.upper()]] = found
    return status


def _region(rois: Iterable[Roi], label: str) -> Roi:
    """Find the region `label` among the current ROIs, or raise an InputError saying it is gone."""
    roi = find(rois, label)
    if roi is None:
        raise InputError(f"region '{label}' is not among the current ROIs (rejected or deleted?)")
    return roi


def accept(rois: Iterable[Roi], label: str) -> Change:
    """Accept a region as segmented (the ROI set is unchanged; the acceptance is recorded).

    Like every correction below, it returns the `Change` to record in the ROI history and raises an
    InputError when `label` is not among the current ROIs (rejected or deleted before).
    """
    current = tuple(rois)
    roi = _region(current, label)
    return Change(
        Action.ACCEPT, current, (roi.label,), f"{roi.label} accepted as segmented ({describe_roi(roi)})"
    )


def reject(rois: Iterable[Roi], label: str) -> Change:
    """Reject a region: it leaves the ROI set, so it is measured no more (and cleared from the SEG)."""
    current = tuple(rois)
    roi = _region(current, label)
    after = tuple(r for r in current if r is not roi)
    return Change(Action.REJECT, after, (roi.label,), f"{roi.label} rejected ({describe_roi(roi)})")


def _edited(rois: tuple[Roi, ...], label: str, new: Roi, how: str) -> Change:
    """Replace region `label` by `new` (`roi_edits.update`), listed as a mask-region edit saying `how`."""
    change = update(rois, label, new)
    return Change(Action.EDIT, change.rois, change.labels, f"{how}: {change.detail}")


def derived_ellipse(roi: Roi, rows: int, columns: int) -> Roi:
    """Derive the axis-aligned ellipse with the region's centroid and second moments.

    For a filled ellipse about its own centre and radii, variance = radius² / 4, so the radii are twice
    the pixels' SDs (at least half a pixel), kept within the image. The ellipse is then shrunk in steps of
    5% until every pixel it holds is one of the region's (the oval stays inside the structure, as the
    paper's trabecular oval); when no step fits, the smallest (5%) is returned.

    Parameters
    ----------
    roi : Roi
        The region, on an image of `rows` × `columns` pixels.
    rows, columns : int
        The image's size.

    Returns
    -------
    Roi
        An ellipse with the region's label and slice (not yet in the ROI set: see `as_ellipse`).

    Raises
    ------
    InputError
        When the region holds no pixel of the image.
    """
    mask = roi_mask(roi, rows, columns)
    ys, xs = np.nonzero(mask)
    if xs.size == 0:
        raise InputError(f"region '{roi.label}' holds no pixel")
    cx, cy = round(float(xs.mean()), 2), round(float(ys.mean()), 2)
    rx = min(max(2.0 * float(xs.std()), 0.5), cx + 0.5, columns - 0.5 - cx)
    ry = min(max(2.0 * float(ys.std()), 0.5), cy + 0.5, rows - 0.5 - cy)
    ellipse = roi
    for scale in np.arange(1.0, 0.04, -0.05):
        radii = (math.floor(rx * scale * 100) / 100, math.floor(ry * scale * 100) / 100)  # inwards
        ellipse = Roi(roi.label, roi.slice, Shape.ELLIPSE, center=(cx, cy), radii=radii)
        inside = roi_mask(ellipse, rows, columns)
        if inside.any() and not (inside & ~mask).any():
            return ellipse
    return ellipse


def as_ellipse(rois: Iterable[Roi], label: str, ellipse: Roi) -> Change:
    """Replace a region by an ellipse (e.g. its derived ellipse, moved or resized).

    Raises
    ------
    InputError
        When `label` is not among the current ROIs, or the ellipse's label is invalid.
    LabelTaken
        When the ellipse's label belongs to another ROI (`roi_edits.update`).
    """
    return _edited(tuple(rois), label, ellipse, "ellipse")


def redraw(rois: Iterable[Roi], label: str, outline: Roi) -> Change:
    """Replace a region by a new outline (a lasso polygon, a box) drawn on the image.

    It refuses as `as_ellipse` does.
    """
    return _edited(tuple(rois), label, outline, "redrawn")


def _from_pixels(roi: Roi, pixels: np.ndarray, how: str, rois: tuple[Roi, ...]) -> Change:
    """Replace `roi` by the region holding exactly `pixels`, refused when none is left."""
    new = region_roi(pixels, roi.label, roi.slice)
    if new is None:
        raise InputError(f"{how} would leave region '{roi.label}' without a pixel: reject it instead")
    change = update(rois, roi.label, new)
    before = int(roi_mask(roi, *pixels.shape).sum())
    return Change(
        Action.EDIT,
        change.rois,
        change.labels,
        f"{how}: {roi.label} {before} → {int(pixels.sum())} pixels on slice {roi.slice}",
    )


def paint(rois: Iterable[Roi], label: str, brush: Roi, rows: int, columns: int) -> Change:
    """Add the pixels of `brush` (a drawn box or lasso) to a region, on an image of `rows` × `columns`."""
    current = tuple(rois)
    roi = _region(current, label)
    pixels = roi_mask(roi, rows, columns) | roi_mask(brush, rows, columns)
    return _from_pixels(roi, pixels, "painted", current)


def erase(rois: Iterable[Roi], label: str, brush: Roi, rows: int, columns: int) -> Change:
    """Remove the pixels of `brush` (a drawn box or lasso) from a region, on an image of `rows` × `columns`.

    Raises
    ------
    InputError
        When `label` is not among the current ROIs, or no pixel of the region would be left (reject it
        instead).
    """
    current = tuple(rois)
    roi = _region(current, label)
    pixels = roi_mask(roi, rows, columns) & ~roi_mask(brush, rows, columns)
    return _from_pixels(roi, pixels, "erased", current)


def threshold(rois: Iterable[Roi], label: str, image: np.ndarray, low: float, high: float) -> Change:
    """Keep only the region's pixels whose value in `image` (the slice's HU or SI) is within [low, high].

    Raises
    ------
    InputError
        When `low` is above `high`, `label` is not among the current ROIs, or no pixel would be left.
    """
    if not low <= high:
        raise InputError(f"the threshold's lower value {low:g} is above its upper value {high:g}")
    current = tuple(rois)
    roi = _region(current, label)
    pixels = roi_mask(roi, *image.shape) & (image >= low) & (image <= high)
    return _from_pixels(roi, pixels, f"threshold {low:g} to {high:g}", current)


def corrected_label_map(
    label_map: LabelMap, rois: Iterable[Roi], rejected: Iterable[Roi]
) -> tuple[LabelMap, list[str]]:
    """Apply the review to the mask.

    Each rejected region's structure is cleared on its slice and each current ROI naming a structure is
    put in its place (`mask_outlines.rois_to_label_map`); ROIs naming no structure (e.g. "ROI1") are left
    out and listed.

    Returns
    -------
    (LabelMap, list of str)
        The corrected map, and the labels of the ROIs left out.

    Raises
    ------
    MaskError
        When a rejected region names no structure.
    InputError
        When a kept ROI lies off the image or the series.
    """
    rejected = tuple(rejected)
    data = label_map.data.copy()
    for roi in rejected:
        plane = data[roi.slice]
        plane[plane == CODE[structure_of(roi.label)]] = 0
    kept, left_out = [], []
    for roi in rois:
        try:
            structure_of(roi.label)
            kept.append(roi)
        except InputError:
            left_out.append(roi.label)
    cleared = label_map.with_data(data, "rejected regions cleared" if rejected else None)
    return rois_to_label_map(kept, cleared, "reviewed regions"), left_out


def corrections_document(rois: Iterable[Roi], history: RoiHistory, masks: str | None = None) -> str:
    """Write the ROI file (DESIGN §4.4) of the corrected regions with the review added.

    The additions are `"masks"` (the mask file reviewed, when given) and `"corrections"` (every change:
    step, UTC time, action, labels, what changed — no user names). `loads_rois` reads it like any ROI
    file.
    """
    document: dict[str, Any] = json.loads(dumps_rois(tuple(rois)))
    if masks:
        document["masks"] = masks
    document["corrections"] = history.changes()
    return json.dumps(document, indent=2, ensure_ascii=False)


def corrections_text(history: RoiHistory, limit: int = 10240, *, ascii_only: bool = False) -> str:
    """Write the corrections as lines of text, one per change.

    Parameters
    ----------
    history : RoiHistory
        Whose steps after the start are listed, in order.
    limit : int
        The most characters (10240, DICOM's LT); a longer text is cut, ending with a note that the ROI
        JSON export has the rest.
    ascii_only : bool
        Write DICOM's default character repertoire (arrows and dashes in ASCII, anything else as "?"),
        which a PACS shows whatever its character set.

    Returns
    -------
    str
        Lines such as "step 2, 2026-12-02T15:04:05Z: edited mask region L2 — ...", or "no correction".
    """
    lines = [
        f"step {c['step']}, {c['when']}: {c['action']} {', '.join(c['labels'])} — {c['detail']}"
        for c in history.changes()
    ]
    text = "\n".join(lines) or "no correction"
    if ascii_only:  # DICOM's default character repertoire: a PACS shows it whatever its character set
        for symbol, plain in (("→", "->"), ("—", "-"), ("–", "-"), ("×", "x"), ("…", "..."), ("²", "2")):
            text = text.replace(symbol, plain)
        text = text.encode("ascii", "replace").decode("ascii")
    if len(text) > limit:
        note = "\n... (more corrections in the ROI JSON export)"
        text = text[: limit - len(note)] + note
    return text


def corrected_seg(
    label_map: LabelMap, series: Series, rois: Iterable[Roi], history: RoiHistory, rejected: Iterable[Roi]
) -> bytes:
    """Write the corrected regions as DICOM SEG bytes whose ImageComments list every correction.

    The SEG is `seg.write_seg` of `corrected_label_map` (no patient identifiers); the comments are
    `corrections_text` in ASCII.

    Raises
    ------
    MaskError
        Nothing left to write, the map does not fit the series, or a rejected region names no structure.
    InputError
        When a kept ROI lies off the image or the series.
    """
    import pydicom

    from ovcf_core.imaging.seg import write_seg

    corrected, _ = corrected_label_map(label_map, rois, rejected)
    count = len(history.steps) - 1
    data = write_seg(corrected, series, description=f"OVCF regions, reviewed ({count} corrections)")
    dataset = pydicom.dcmread(io.BytesIO(data))
    dataset.ImageComments = corrections_text(history, ascii_only=True)
    buffer = io.BytesIO()
    dataset.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
