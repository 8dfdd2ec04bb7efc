"""Changes to a series' ROI set that never surprise: no silent replacement, and a history that can be undone.

Every change (add, move/resize, delete, replace, load a file, accept/reject/edit a mask region) is one
`RoiStep` of a `RoiHistory`, holding what changed, when (UTC) and the whole ROI set after it, so undoing to
any step is exact. An ROI whose label is already taken is refused (`LabelTaken`) unless the caller says
what to do: replace the old one, or keep both under a new label. No user names are recorded.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from ovcf_core.errors import InputError
from ovcf_core.imaging.roi import MAX_LABEL_CHARS, Roi, Shape


class LabelTaken(InputError):
    """An ROI is added under a label the series already has; the caller must choose what to do.

    The message names both ROIs and the choices; `label` is the label asked for, `existing` the ROI that
    has it, and `suggestion` the free copy label that KEEP_BOTH would use.
    """

    def __init__(self, label: str, existing: Roi, suggestion: str) -> None:
        super().__init__(
            f"an ROI labelled '{existing.label}' already exists ({describe_roi(existing)}): replace it, "
            f"keep both (the new one as '{suggestion}') or cancel"
        )
        self.label = label
        self.existing = existing
        self.suggestion = suggestion


class OnConflict(StrEnum):
    """What to do when an added ROI's label is taken."""

    REFUSE = "refuse"
    REPLACE = "replace"
    KEEP_BOTH = "keep both"


class Action(StrEnum):
    """Kinds of change to an ROI set, as they are listed (and exported)."""

    START = "start"
    ADD = "added"
    REPLACE = "replaced"
    MOVE = "moved/resized"
    RENAME = "renamed"
    DELETE = "deleted"
    LOAD = "loaded from a file"
    ACCEPT = "accepted mask region"
    REJECT = "rejected mask region"
    EDIT = "edited mask region"


def utc_now() -> str:
    """Return the current time in UTC, to the second, ISO 8601 (e.g. 2026-12-02T15:04:05Z)."""
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _number(value: float) -> str:
    """Write a coordinate with at most one decimal and no trailing zeros."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def describe_roi(roi: Roi) -> str:
    """Describe an ROI in one short line: shape, slice and position.

    E.g. "ellipse on slice 5, at (32, 36), radii 4 × 3"; a rectangle or polygon gives its extent in x and
    y, a polygon its number of points too.
    """
    if roi.shape is Shape.ELLIPSE and roi.center and roi.radii:
        (cx, cy), (rx, ry) = roi.center, roi.radii
        where = f"at ({_number(cx)}, {_number(cy)}), radii {_number(rx)} × {_number(ry)}"
    else:
        x0, x1, y0, y1 = roi.extent()
        where = f"x {_number(x0)}–{_number(x1)}, y {_number(y0)}–{_number(y1)}"
        if roi.shape is Shape.POLYGON:
            where = f"{len(roi.points or ())} points, {where}"
    return f"{roi.shape.value} on slice {roi.slice}, {where}"


def _geometry(roi: Roi) -> dict[str, str]:
    """Name the parts of an ROI's geometry that a change can alter (an ellipse's centre and radii)."""
    if roi.shape is Shape.ELLIPSE and roi.center and roi.radii:
        (cx, cy), (rx, ry) = roi.center, roi.radii
        return {"centre": f"({_number(cx)}, {_number(cy)})", "radii": f"{_number(rx)} × {_number(ry)}"}
    return {"outline": describe_roi(roi).split(", ", 1)[1]}


def describe_change(old: Roi, new: Roi) -> str:
    """Say what differs between two versions of an ROI, e.g. "slice 5 → 7; centre (32, 36) → (30, 36)".

    The text is "unchanged" when nothing differs.
    """
    parts = []
    if old.label != new.label:
        parts.append(f"label '{old.label}' → '{new.label}'")
    if old.slice != new.slice:
        parts.append(f"slice {old.slice} → {new.slice}")
    if old.shape is not new.shape:
        parts.append(f"{describe_roi(old).split(' on ')[0]} → {describe_roi(new)}")
    else:
        before, after = _geometry(old), _geometry(new)
        parts += [f"{name} {before[name]} → {after[name]}" for name in before if before[name] != after[name]]
    return "; ".join(parts) or "unchanged"


def check_label(label: str) -> str:
    """Return the label stripped of surrounding spaces, after the checks of DESIGN §4.4.

    Raises
    ------
    InputError
        When the label is empty, longer than `MAX_LABEL_CHARS` or not printable on one line.
    """
    text = label.strip()
    if not text:
        raise InputError("the ROI needs a label (e.g. L1, CSF_L3, PM_L_L3L4)")
    if len(text) > MAX_LABEL_CHARS or not text.isprintable():
        raise InputError(f"ROI label must be one line of at most {MAX_LABEL_CHARS} printable characters")
    return text


def next_free_label(existing: Iterable[str], preferred: Iterable[str] = ()) -> str:
    """Return the first of `preferred` not yet used (case-insensitive), else the first free ROI<n>.

    The numbered labels are tried from ROI1 up, so a new ROI never takes a label the series has.
    """
    taken = {label.upper() for label in existing}
    for label in preferred:
        if label.upper() not in taken:
            return label
    number = 1
    while f"ROI{number}" in taken:
        number += 1
    return f"ROI{number}"


def copy_label(label: str, existing: Iterable[str]) -> str:
    """Return a free label for a second ROI named `label`: `label_2`, `label_3`, … (within the length cap)."""
    taken = {name.upper() for name in existing}
    number = 2
    while True:
        suffix = f"_{number}"
        candidate = label[: MAX_LABEL_CHARS - len(suffix)] + suffix
        if candidate.upper() not in taken:
            return candidate
        number += 1


def _relabelled(roi: Roi, label: str) -> Roi:
    """Copy `roi` under another label."""
    return Roi(label, roi.slice, roi.shape, center=roi.center, radii=roi.radii, points=roi.points)


def find(rois: Iterable[Roi], label: str) -> Roi | None:
    """Find the ROI labelled `label` (case-insensitive, as the indicators read labels), or None."""
    return next((r for r in rois if r.label.upper() == label.upper()), None)


@dataclass(frozen=True)
class Change:
    """One change to apply: the ROI set after it and how it is listed."""

    action: Action
    rois: tuple[Roi, ...]
    labels: tuple[str, ...]
    detail: str


def add(rois: Iterable[Roi], roi: Roi, on_conflict: OnConflict = OnConflict.REFUSE) -> Change:
    """Add `roi` to the set, saying what to do when its label is taken.

    Parameters
    ----------
    rois : iterable of Roi
        The current set (not changed).
    roi : Roi
        The ROI to add; its label is checked and stripped (`check_label`).
    on_conflict : OnConflict
        For a taken label (case-insensitive): REFUSE raises LabelTaken, REPLACE puts `roi` in the old
        ROI's place, KEEP_BOTH adds it under the next free copy label (`copy_label`).

    Returns
    -------
    Change
        The set after the addition and how it is listed (added, or replaced).

    Raises
    ------
    InputError
        When the label is empty, too long or not printable.
    LabelTaken
        The label exists and `on_conflict` is REFUSE (the message names both ROIs and the choices).
    """
    current = tuple(rois)
    label = check_label(roi.label)
    roi = _relabelled(roi, label) if label != roi.label else roi
    old = find(current, label)
    if old is None:
        return Change(Action.ADD, (*current, roi), (label,), describe_roi(roi))
    if on_conflict is OnConflict.REPLACE:
        after = tuple(roi if r is old else r for r in current)
        return Change(Action.REPLACE, after, (old.label,), f"{old.label}: {describe_change(old, roi)}")
    new_label = copy_label(label, (r.label for r in current))
    if on_conflict is OnConflict.KEEP_BOTH:
        kept = _relabelled(roi, new_label)
        detail = f"{describe_roi(kept)} (kept next to '{old.label}')"
        return Change(Action.ADD, (*current, kept), (new_label,), detail)
    raise LabelTaken(label, old, new_label)


def update(rois: Iterable[Roi], label: str, new: Roi) -> Change:
    """Replace the ROI `label` by `new` where it stands: a move, resize or redraw, or a rename.

    The change is listed as renamed when the slice, shape and geometry are unchanged, else as
    moved/resized.

    Raises
    ------
    InputError
        When there is no ROI labelled `label`, or `new`'s label is empty, too long or not printable.
    LabelTaken
        When `new`'s label belongs to another ROI of the set.
    """
    current = tuple(rois)
    old = find(current, label)
    if old is None:
        raise InputError(f"there is no ROI labelled '{label}'")
    new_label = check_label(new.label)
    other = find([r for r in current if r is not old], new_label)
    if other is not None:
        raise LabelTaken(new_label, other, copy_label(new_label, (r.label for r in current)))
    new = _relabelled(new, new_label)
    after = tuple(new if r is old else r for r in current)
    same_place = (old.slice, old.shape, old.center, old.radii, old.points) == (
        new.slice,
        new.shape,
        new.center,
        new.radii,
        new.points,
    )
    action = Action.RENAME if same_place else Action.MOVE
    return Change(action, after, (old.label,), f"{old.label}: {describe_change(old, new)}")


def delete(rois: Iterable[Roi], labels: Iterable[str]) -> Change:
    """Remove the ROIs with these labels (case-insensitive) in one change.

    Raises
    ------
    InputError
        When none of `labels` is in the set.
    """
    current = tuple(rois)
    wanted = {label.upper() for label in labels}
    gone = tuple(r.label for r in current if r.label.upper() in wanted)
    if not gone:
        raise InputError("no ROI chosen to delete")
    after = tuple(r for r in current if r.label.upper() not in wanted)
    return Change(Action.DELETE, after, gone, ", ".join(gone))


def load(rois: Iterable[Roi], loaded: Iterable[Roi], file_name: str) -> Change:
    """Take the ROIs of an ROI file named `file_name` into the set, in one change.

    Those with a new label are added and those whose label exists replace it (the file is the user's
    explicit choice, so no LabelTaken); the change's detail says which were which.

    Returns
    -------
    Change
        The set after loading, listed as loaded from the file, with the labels added then replaced.
    """
    current = list(rois)
    replaced, added = [], []
    for roi in loaded:
        old = find(current, roi.label)
        if old is None:
            current.append(roi)
            added.append(roi.label)
        else:
            current[current.index(old)] = roi
            replaced.append(roi.label)
    parts = [f"{len(added) + len(replaced)} ROI(s) from {file_name}"]
    if added:
        parts.append("added " + ", ".join(added))
    if replaced:
        parts.append("replaced " + ", ".join(replaced))
    return Change(Action.LOAD, tuple(current), tuple(added + replaced), "; ".join(parts))


@dataclass(frozen=True)
class RoiStep:
    """One entry of the history: step number, what was done to which labels, when (UTC), the set after."""

    step: int
    action: Action
    labels: tuple[str, ...]
    detail: str
    when: str
    rois: tuple[Roi, ...] = field(repr=False)

    def to_dict(self) -> dict[str, Any]:
        """Return the step as listed in an export: {step, when, action, labels, detail} (no user names)."""
        return {
            "step": self.step,
            "when": self.when,
            "action": self.action.value,
            "labels": list(self.labels),
            "detail": self.detail,
        }


@dataclass
class RoiHistory:
    """Every change to one series' ROI set since it was opened; step 0 is the starting set."""

    steps: list[RoiStep]

    @classmethod
    def start(cls, rois: Iterable[Roi], detail: str, when: str | None = None) -> RoiHistory:
        """Start a history whose step 0 is `rois` (e.g. the phantom's ROI file, or none), at `when` or now."""
        rois = tuple(rois)
        labels = tuple(r.label for r in rois)
        return cls([RoiStep(0, Action.START, labels, detail, when or utc_now(), rois)])

    @property
    def rois(self) -> tuple[Roi, ...]:
        """The current ROI set (after the last step)."""
        return self.steps[-1].rois

    def apply(self, change: Change, when: str | None = None) -> RoiStep:
        """Record `change` as the next step, at `when` (ISO 8601 UTC) or now, and return the step."""
        step = RoiStep(
            len(self.steps), change.action, change.labels, change.detail, when or utc_now(), change.rois
        )
        self.steps.append(step)
        return step

    def undo_to(self, step: int) -> tuple[Roi, ...]:
        """Go back to the ROI set after `step`, dropping the later steps; return that set.

        Raises
        ------
        InputError
            When there is no such step.
        """
        if not 0 <= step < len(self.steps):
            raise InputError(f"there is no step {step} to go back to (steps 0 to {len(self.steps) - 1})")
        del self.steps[step + 1 :]
        return self.rois

    def undo_last(self) -> tuple[Roi, ...]:
        """Undo the last change and return the set before it.

        Raises
        ------
        InputError
            At the starting set: there is nothing to undo.
        """
        if len(self.steps) == 1:
            raise InputError("nothing to undo: the ROIs are as they were when the series was opened")
        return self.undo_to(len(self.steps) - 2)

    def changes(self) -> list[dict[str, Any]]:
        """Every step after the start as plain dicts (what changed and when), for lists and exports."""
        return [s.to_dict() for s in self.steps[1:]]
