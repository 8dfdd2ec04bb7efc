"""The Scans page's image viewer: slice slider, window preset and the scan figure with its ROIs.

The reader draws a box or lasso on the figure.
"""

from __future__ import annotations

import streamlit as st

from ovcf_core.errors import OvcfError
from ovcf_core.imaging import Roi, Series
from ovcf_core.imaging.figures import WindowPreset, scan_figure, window_limits

GOTO = "scan_goto_slice"  # a slice to show on the next run (set after the slider is drawn, e.g. masks read)


def first_slice(series: Series, rois: list[Roi]) -> int:
    """Return the slice shown first: that of the first ROI, else the middle slice that has an image."""
    missing = set(series.missing)  # slices with no image (a skipped or absent file) keep their index
    shown = [i for i in range(len(series)) if i not in missing] or [0]
    middle = min(shown, key=lambda i: abs(i - len(series) // 2))
    return rois[0].slice if rois and rois[0].slice < len(series) else middle


def show_slice(series: Series, rois: list[Roi]) -> tuple[int, dict]:
    """Draw the chosen slice with its ROIs; (slice index, the box/lasso selection drawn on it).

    Stops the page when the slice's pixels cannot be read.
    """
    a, b = st.columns([3, 1])
    start = first_slice(series, rois)
    key = f"scan_slice_{series.uid}"  # also set by the mask review's region stepper
    goto = st.session_state.pop(GOTO, None)
    if goto is not None or key not in st.session_state or not 0 <= st.session_state[key] < len(series):
        st.session_state[key] = start if goto is None else goto
    slice_index = (
        a.slider("Slice (sorted by position)", 0, len(series) - 1, key=key) if len(series) > 1 else 0
    )
    presets = [p.value for p in WindowPreset]
    preset = b.radio(
        "Window",
        presets,
        index=presets.index(WindowPreset.default_for(series.modality.value)),
        key=f"scan_window_{series.modality.value}",
    )
    try:
        image = series.pixels(slice_index)
    except OvcfError as exc:
        st.error(str(exc))
        st.stop()
    on_slice = [r for r in rois if r.slice == slice_index]
    figure = scan_figure(
        image,
        on_slice,
        window=window_limits(image, preset),
        pixel_spacing=series.pixel_spacing,
        unit=series.unit,
        invert=series.photometric == "MONOCHROME1",
    )
    event = st.plotly_chart(
        figure,
        on_select="rerun",
        selection_mode=("box", "lasso"),
        key=f"scan_figure_{series.uid}_{slice_index}",
    )
    others = sorted({r.slice for r in rois} - {slice_index})
    if others:
        st.caption(f"ROIs on other slices: {', '.join(map(str, others))}.")
    return slice_index, dict(getattr(event, "selection", None) or {})
