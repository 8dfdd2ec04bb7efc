"""Mask-region review (ovcf_core.imaging.roi_corrections): statuses from the history, edits that change only
their region's pixels (checked by counting pixels with numpy), and exports that list every correction."""

from __future__ import annotations

import io
import json

import numpy as np
import pydicom
import pytest

from ovcf_core.errors import InputError
from ovcf_core.imaging import load_series, loads_rois
from ovcf_core.imaging.label_maps import CODE
from ovcf_core.imaging.mask_files import read_label_map
from ovcf_core.imaging.mask_outlines import region_roi
from ovcf_core.imaging.phantoms import t1_mask_phantom
from ovcf_core.imaging.roi import Roi, Shape, roi_mask
from ovcf_core.imaging.roi_corrections import (
    Review,
    accept,
    corrected_label_map,
    corrected_seg,
    corrections_document,
    derived_ellipse,
    erase,
    paint,
    reject,
    review_status,
    threshold,
)
from ovcf_core.imaging.roi_edits import RoiHistory, find, load
from ovcf_core.imaging.seg import read_seg

SIZE = 32


def _square(label: str, x0: int, x1: int, y0: int, y1: int, index: int = 0) -> Roi:
    mask = np.zeros((SIZE, SIZE), dtype=bool)
    mask[y0 : y1 + 1, x0 : x1 + 1] = True
    roi = region_roi(mask, label, index)
    assert roi is not None
    return roi


REGIONS = (_square("L1", 4, 11, 4, 11), _square("L2", 16, 27, 16, 23))


def _pixels(roi: Roi) -> np.ndarray:
    return roi_mask(roi, SIZE, SIZE)


def test_statuses_follow_the_last_accept_reject_or_edit_and_undo_takes_them_back():
    history = RoiHistory.start((), "no ROI")
    history.apply(load(history.rois, REGIONS, "mask seg.dcm"))
    history.apply(accept(history.rois, "L1"))
    brush = Roi("brush", 0, Shape.RECTANGLE, points=((26.0, 16.0), (30.0, 20.0)))
    history.apply(erase(history.rois, "L2", brush, SIZE, SIZE))
    assert review_status(history, ["L1", "L2"]) == {"L1": Review.ACCEPTED, "L2": Review.EDITED}
    history.apply(reject(history.rois, "L1"))
    assert review_status(history, ["L1", "L2"])["L1"] is Review.REJECTED
    assert find(history.rois, "L1") is None
    history.undo_to(2)
    assert review_status(history, ["L1", "L2"]) == {"L1": Review.ACCEPTED, "L2": Review.TO_REVIEW}


def test_paint_erase_and_threshold_change_exactly_the_pixels_asked_and_nothing_else():
    brush = Roi("brush", 0, Shape.RECTANGLE, points=((24.0, 20.0), (30.0, 26.0)))
    painted = paint(REGIONS, "L2", brush, SIZE, SIZE)
    expected = _pixels(REGIONS[1]) | _pixels(brush)
    assert np.array_equal(_pixels(find(painted.rois, "L2")), expected)
    assert find(painted.rois, "L1") == REGIONS[0]  # the other region is the same object's value
    erased = erase(REGIONS, "L2", brush, SIZE, SIZE)
    assert np.array_equal(_pixels(find(erased.rois, "L2")), _pixels(REGIONS[1]) & ~_pixels(brush))
    assert erased.detail == "erased: L2 96 → 80 pixels on slice 0"  # 12 × 8 minus the 4 × 4 corner
    image = np.zeros((SIZE, SIZE))
    image[:, 20:] = 500.0
    kept = threshold(REGIONS, "L2", image, 100.0, 1000.0)
    assert np.array_equal(_pixels(find(kept.rois, "L2")), _pixels(REGIONS[1]) & (image >= 100))
    with pytest.raises(InputError, match="without a pixel: reject it instead"):
        threshold(REGIONS, "L1", image, 100.0, 1000.0)


def test_derived_ellipse_of_a_filled_ellipse_is_that_ellipse_and_of_a_box_stays_inside_it():
    truth = Roi("L3", 0, Shape.ELLIPSE, center=(15.0, 14.0), radii=(8.0, 5.0))
    region = region_roi(_pixels(truth), "L3", 0)
    derived = derived_ellipse(region, SIZE, SIZE)
    assert derived.center == (15.0, 14.0)
    assert derived.radii == pytest.approx((8.0, 5.0), abs=0.2)  # pixel moments of a digitised ellipse
    assert not (_pixels(derived) & ~_pixels(truth)).any()
    overlap = (_pixels(derived) & _pixels(truth)).sum() / _pixels(truth).sum()
    assert overlap > 0.9
    inside = derived_ellipse(REGIONS[1], SIZE, SIZE)
    assert not (_pixels(inside) & ~_pixels(REGIONS[1])).any() and _pixels(inside).sum() > 48


def test_the_roi_export_lists_every_correction_and_reads_back_as_an_roi_file():
    history = RoiHistory.start((), "no ROI", when="2026-12-02T15:00:00Z")
    history.apply(load(history.rois, REGIONS, "mask seg.dcm"), when="2026-12-02T15:01:00Z")
    history.apply(reject(history.rois, "L1"), when="2026-12-02T15:02:00Z")
    text = corrections_document(history.rois, history, "seg.dcm")
    document = json.loads(text)
    assert document["masks"] == "seg.dcm"
    assert [(c["when"], c["action"], c["labels"]) for c in document["corrections"]] == [
        ("2026-12-02T15:01:00Z", "loaded from a file", ["L1", "L2"]),
        ("2026-12-02T15:02:00Z", "rejected mask region", ["L1"]),
    ]
    assert [r.label for r in loads_rois(text)] == ["L2"]


def test_the_corrected_seg_clears_rejected_regions_keeps_edits_and_lists_corrections():
    phantom = t1_mask_phantom()
    series = load_series(phantom.phantom.uploads()).series[0]
    label_map = read_label_map(list(phantom.nifti_files().items()), series)
    regions = tuple(
        roi for name in ("L1", "L2", "L3") if (roi := region_roi(label_map.slice_mask(name, 1), name, 1))
    )
    history = RoiHistory.start((), "no ROI")
    history.apply(load(history.rois, regions, "mask masks"))
    history.apply(reject(history.rois, "L1"))
    brush = Roi("brush", 1, Shape.RECTANGLE, points=((36.0, 42.0), (45.0, 50.0)))
    history.apply(erase(history.rois, "L2", brush, series.rows, series.columns))
    rejected = [regions[0]]
    corrected, left_out = corrected_label_map(label_map, history.rois, rejected)
    assert left_out == []
    assert not corrected.slice_mask("L1", 1).any() and corrected.slice_mask("L1", 0).any()
    expected_l2 = label_map.slice_mask("L2", 1) & ~roi_mask(brush, series.rows, series.columns)
    assert np.array_equal(corrected.slice_mask("L2", 1), expected_l2)
    assert np.array_equal(corrected.mask("L3"), label_map.mask("L3"))
    data = corrected_seg(label_map, series, history.rois, history, rejected)
    back = read_seg(("seg.dcm", data), series)
    assert np.array_equal(back.data == CODE["L2"], corrected.data == CODE["L2"])
    dataset = pydicom.dcmread(io.BytesIO(data))
    assert "rejected mask region L1" in dataset.ImageComments
    assert "erased: L2" in dataset.ImageComments and "->" not in dataset.ImageComments.split("erased")[0]
    assert "PatientName" not in dataset or "PLANTED" not in str(dataset.PatientName)
