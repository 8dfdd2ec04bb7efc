"""The Scans page's drawing guide: what to draw on this series.

With the labels the indicators read (`ovcf_core.imaging.roi_guide`), open and highlighted while the series has
no ROI.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ovcf_core.imaging import Roi, Series
from ovcf_core.imaging.roi_edits import find
from ovcf_core.imaging.roi_guide import drawing_guide


def guide_table(series: Series, rois: list[Roi]) -> pd.DataFrame:
    """Tabulate the drawing steps: the indicator, where to draw, its labels and which are drawn already."""
    rows = []
    for step in drawing_guide(series.modality.value, series.plane.value):
        done = [label for label in step.labels if find(rois, label) is not None]
        rows.append(
            {
                "For": step.indicator,
                "Draw": step.what,
                "Labels": step.label_text(),
                "Drawn": f"{len(done)} of {len(step.labels)}",
            }
        )
    return pd.DataFrame(rows, columns=["For", "Draw", "Labels", "Drawn"])


def show_guide(series: Series, rois: list[Roi]) -> None:
    """Show what to draw on this series: an info box when nothing is drawn yet, else a closed expander."""
    if not rois:
        st.info(
            f"No ROI on this {series.modality.value} {series.plane.value} series yet. Draw a box or lasso on "
            "the image (or give an ellipse by numbers) and label it as below: the label says what it is.",
            icon=":material/draw:",
        )
    with st.expander("What to draw, and how to label it", expanded=not rois):
        st.dataframe(
            guide_table(series, rois),
            hide_index=True,
            width="stretch",
            column_config={"Draw": st.column_config.TextColumn(width="large")},
        )
        st.caption(
            "Labels are case-insensitive; any other label is measured and listed but not used in an "
            "indicator. Muscles: PM psoas major, MF multifidus, ES erector spinae; L/R the patient's side."
        )
