"""ROI set changes (ovcf_core.imaging.roi_edits): taken labels refused or resolved as asked, free labels,
a history whose undo restores the exact earlier set, and the drawing guide's labels (roi_guide)."""

from __future__ import annotations

import pytest

from ovcf_core.errors import InputError
from ovcf_core.imaging.image_indicators import classify
from ovcf_core.imaging.roi import Roi, Shape
from ovcf_core.imaging.roi_edits import (
    Action,
    LabelTaken,
    OnConflict,
    RoiHistory,
    add,
    copy_label,
    delete,
    load,
    next_free_label,
    update,
)
from ovcf_core.imaging.roi_guide import drawing_guide, expected_labels


def _ellipse(label: str, slice_index: int = 5, cx: float = 32.0) -> Roi:
    return Roi(label, slice_index, Shape.ELLIPSE, center=(cx, 36.0), radii=(4.0, 3.0))


START = (_ellipse("L1", 7), _ellipse("L2", 5))


def test_a_taken_label_is_refused_naming_the_existing_roi_and_the_choices():
    with pytest.raises(LabelTaken) as caught:
        add(START, _ellipse("l2", 7))
    assert caught.value.existing == START[1] and caught.value.suggestion == "l2_2"
    assert "'L2' already exists (ellipse on slice 5, at (32, 36), radii 4 × 3)" in str(caught.value)


def test_replace_keeps_the_position_in_the_list_and_says_what_changed():
    change = add(START, _ellipse("L2", 7, cx=30.0), OnConflict.REPLACE)
    assert change.action is Action.REPLACE
    assert [r.slice for r in change.rois] == [7, 7] and change.rois[1].center == (30.0, 36.0)
    assert change.detail == "L2: slice 5 → 7; centre (32, 36) → (30, 36)"


def test_keep_both_adds_under_the_next_free_copy_label():
    change = add((*START, _ellipse("L2_2")), _ellipse("L2"), OnConflict.KEEP_BOTH)
    assert [r.label for r in change.rois] == ["L1", "L2", "L2_2", "L2_3"]
    assert copy_label("X" * 64, ["X" * 64]) == "X" * 62 + "_2"  # stays within 64 characters


def test_next_free_label_follows_the_preferred_order_then_numbers():
    assert next_free_label(["l1", "L2"], ["L1", "L2", "L3"]) == "L3"
    assert next_free_label(["L1", "L2", "ROI1"], ["L1", "L2"]) == "ROI2"


def test_update_refuses_a_rename_onto_another_rois_label_and_tells_a_rename_from_a_move():
    with pytest.raises(LabelTaken):
        update(START, "L1", _ellipse("L2", 7))
    assert update(START, "L1", _ellipse("L9", 7)).action is Action.RENAME
    assert update(START, "L1", _ellipse("L1", 6)).action is Action.MOVE
    with pytest.raises(InputError, match="no ROI labelled 'L7'"):
        update(START, "L7", _ellipse("L7"))


def test_history_undo_restores_the_exact_earlier_sets_and_lists_changes_with_utc_times():
    history = RoiHistory.start(START, "phantom")
    history.apply(add(history.rois, _ellipse("L3", 3)), when="2026-12-02T15:00:00Z")
    history.apply(delete(history.rois, ["L1", "L3"]), when="2026-12-02T15:01:00Z")
    history.apply(load(history.rois, [_ellipse("L2", 1), _ellipse("L4", 1)], "a.json"))
    assert [r.label for r in history.rois] == ["L2", "L4"] and history.rois[0].slice == 1
    assert history.changes()[1] == {
        "step": 2,
        "when": "2026-12-02T15:01:00Z",
        "action": "deleted",
        "labels": ["L1", "L3"],
        "detail": "L1, L3",
    }
    assert "added L4; replaced L2" in history.changes()[2]["detail"]
    assert [r.label for r in history.undo_last()] == ["L2"]
    assert history.undo_to(0) == START and len(history.steps) == 1
    with pytest.raises(InputError, match="nothing to undo"):
        history.undo_last()


@pytest.mark.parametrize(
    ("modality", "plane", "kinds"),
    [("CT", "axial", {"vertebra"}), ("MR", "sagittal", {"vertebra", "csf"}),
     ("MR", "axial", {"muscle", "disc", "fat"})],
)  # fmt: skip
def test_every_label_the_guide_asks_for_is_one_the_indicators_read(modality, plane, kinds):
    labels = expected_labels(modality, plane)
    assert {classify(label)[0] for label in labels} == kinds
    assert len(set(labels)) == len(labels) and drawing_guide(modality, plane)
