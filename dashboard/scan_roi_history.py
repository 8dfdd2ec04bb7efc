"""The Scans page's ROI sets per series, with every change recorded and an undo list.

Changes are recorded in `RoiHistory`; when an added ROI's label is taken the reader is asked (replace / keep
both / cancel) — never a silent replace.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ovcf_core.errors import OvcfError
from ovcf_core.imaging import Roi, Series
from ovcf_core.imaging.measure import check_roi
from ovcf_core.imaging.roi_edits import Change, LabelTaken, OnConflict, RoiHistory, add

ROIS = "scan_rois"  # dict: "<phantom|upload>:<series uid>" -> list[Roi] (the current set)
HISTORY = "scan_roi_history"  # dict: the same keys -> RoiHistory, kept in step with ROIS
PENDING = "scan_roi_pending"  # (key, Roi, LabelTaken) waiting for the reader's choice
SOURCE = "scan_roi_source"  # "phantom" or "upload": the ROIs of a phantom never appear on an upload
NOTICE = "scan_roi_notice"  # the last change, shown once after the rerun it caused


def key(series: Series) -> str:
    """Return the store key of this series' ROIs: its source (phantom or upload) and SeriesInstanceUID."""
    return f"{st.session_state.get(SOURCE, 'upload')}:{series.uid}"


def current_rois(series: Series, defaults: tuple[Roi, ...], *, synthetic: bool) -> list[Roi]:
    """Return the series' ROIs in the session (`defaults` on first view), with a history from them.

    A phantom and an upload of the same series keep separate sets (the phantom's ROI file is not the
    reader's work).
    """
    st.session_state[SOURCE] = "phantom" if synthetic else "upload"
    store = st.session_state.setdefault(ROIS, {})
    histories = st.session_state.setdefault(HISTORY, {})
    name = key(series)
    if name not in store:
        store[name] = list(defaults)
    history = histories.get(name)
    if history is None or list(history.rois) != store[name]:  # e.g. a project file restored the set
        rois = store[name]
        source = "the phantom's ROI file" if synthetic else "the session"
        histories[name] = RoiHistory.start(rois, f"{len(rois)} ROI(s) from {source}" if rois else "no ROI")
    return store[name]


def history(series: Series) -> RoiHistory:
    """Return the change history of this series' ROIs (after `current_rois`)."""
    return st.session_state[HISTORY][key(series)]


def _set(series: Series, rois: tuple[Roi, ...]) -> None:
    st.session_state[ROIS][key(series)][:] = list(rois)  # in place: the list is shared by the page


def apply(series: Series, change: Change) -> None:
    """Check every new or changed ROI lies on the series, record the change and rerun (or show why not)."""
    before = set(history(series).rois)
    try:
        for roi in change.rois:
            if roi not in before:
                check_roi(series, roi)
    except OvcfError as exc:
        st.error(str(exc))
        return
    step = history(series).apply(change)
    _set(series, change.rois)
    st.session_state[NOTICE] = (
        f"Step {step.step}: {step.action.value} {', '.join(step.labels)} — {step.detail}"
    )
    st.rerun()


def submit(series: Series, roi: Roi) -> None:
    """Add `roi`; when its label is taken, keep it pending and ask what to do (`label_conflict`)."""
    try:
        check_roi(series, roi)
        change = add(history(series).rois, roi)
    except LabelTaken as taken:
        st.session_state[PENDING] = (key(series), roi, taken)
        st.rerun()
    except OvcfError as exc:
        st.error(str(exc))
        return
    apply(series, change)


def label_conflict(series: Series) -> None:
    """Ask about the pending ROI whose label is taken: replace the old one, keep both, or cancel."""
    pending = st.session_state.get(PENDING)
    if not pending or pending[0] != key(series):
        return
    _, roi, taken = pending
    st.warning(f"Not added yet: {taken}.", icon=":material/help:")
    replace, keep, cancel = st.columns(3)
    choice = None
    if replace.button(f"Replace {taken.existing.label}", key="scan_conflict_replace"):
        choice = OnConflict.REPLACE
    if keep.button(f"Keep both (new one as {taken.suggestion})", key="scan_conflict_keep"):
        choice = OnConflict.KEEP_BOTH
    if cancel.button("Cancel", key="scan_conflict_cancel"):
        del st.session_state[PENDING]
        st.rerun()
    if choice is not None:
        del st.session_state[PENDING]
        apply(series, add(history(series).rois, roi, choice))


def notice() -> None:
    """Say the change just made, once (so no change happens without a word)."""
    message = st.session_state.pop(NOTICE, None)
    if message:
        st.success(message, icon=":material/check:")


def changes_table(steps: list[dict]) -> pd.DataFrame:
    """Tabulate the change list for reading (step, time, change, ROIs, detail)."""
    return pd.DataFrame(
        [
            {
                "Step": s["step"],
                "When (UTC)": s["when"].replace("T", " ").rstrip("Z"),
                "Change": s["action"],
                "ROIs": ", ".join(s["labels"]),
                "Detail": s["detail"],
            }
            for s in steps
        ],
        columns=["Step", "When (UTC)", "Change", "ROIs", "Detail"],
    )


def undo_list(series: Series) -> None:
    """List every change since the series was opened, with undo-last and go-back-to-a-step buttons."""
    log = history(series)
    count = len(log.steps) - 1
    with st.expander(f"Changes to the ROIs ({count}) — undo", expanded=count > 0):
        start = log.steps[0]
        st.caption(f"Step 0 (start, {start.when.replace('T', ' ').rstrip('Z')} UTC): {start.detail}.")
        if not count:
            st.caption("No change yet: every added, moved, deleted or replaced ROI will be listed here.")
            return
        st.dataframe(
            changes_table(log.changes()),
            hide_index=True,
            width="stretch",
            column_config={
                "Step": st.column_config.NumberColumn(width="small"),
                "Detail": st.column_config.TextColumn(width="large"),
            },
        )
        left, middle, right = st.columns([1, 2, 1], vertical_alignment="bottom")
        if left.button("Undo the last change", key="scan_undo_last"):
            _undo(series, lambda: log.undo_last(), "the last change")
        target = middle.selectbox(
            "Go back to the ROIs as they were after step",
            list(range(count)),
            format_func=lambda k: f"{k}: {log.steps[k].action.value} {', '.join(log.steps[k].labels)}"[:80],
            index=count - 1,
            key=f"scan_undo_step_{count}",
        )
        if right.button("Go back", key="scan_undo_to"):
            _undo(series, lambda: log.undo_to(int(target)), f"step {target}")


def _undo(series: Series, action, what: str) -> None:
    try:
        rois = action()
    except OvcfError as exc:
        st.error(str(exc))
        return
    _set(series, rois)
    st.session_state[NOTICE] = f"Undone back to {what}: {len(rois)} ROI(s)."
    st.rerun()
