"""The Scans page's measurement table as a reader sees it.

Words for column names and kinds, units in the headers, one decimal, blanks (not "None") where a value does
not apply, and empty columns left out.
"""

from __future__ import annotations

import pandas as pd
from pandas.io.formats.style import Styler

KINDS = {
    "vertebra": "vertebral body",
    "csf": "CSF",
    "muscle": "muscle",
    "disc": "disc",
    "fat": "subcutaneous fat",
    "other": "other (not in an indicator)",
}
MUSCLES = {"pm": "psoas major", "mf": "multifidus", "es": "erector spinae"}
SIDES = {"l": "left", "r": "right"}


def column_names(unit: str) -> dict[str, str]:
    """Name each column of `ImageIndicators.to_frame()` for a reader (units in brackets)."""
    return {
        "label": "ROI",
        "kind": "Structure",
        "level": "Level",
        "muscle": "Muscle",
        "side": "Side",
        "slice": "Slice",
        "mean": f"Mean ({unit})",
        "sd": f"SD ({unit})",
        "n_pixels": "Pixels",
        "area_mm2": "Area (mm²)",
        "fractured": "Fractured",
        "fat_threshold": f"Fat threshold ({unit})",
        "fi_percent": "Fat (%)",
    }


def readable(table: pd.DataFrame, unit: str) -> pd.DataFrame:
    """Rename and recode the measurement table for reading; drop columns with no value at all."""
    shown = table.copy()
    shown["kind"] = shown["kind"].map(KINDS).fillna(shown["kind"])
    shown["muscle"] = shown["muscle"].map(MUSCLES)
    shown["side"] = shown["side"].map(SIDES)
    shown["fractured"] = shown["fractured"].map({True: "yes", False: None})
    for column in ("fat_threshold", "fi_percent"):
        shown[column] = pd.to_numeric(shown[column], errors="coerce")
    shown = shown.dropna(axis="columns", how="all")
    return shown.rename(columns=column_names(unit))


def styled(table: pd.DataFrame, unit: str) -> Styler:
    """Style `readable(table)`: one decimal for values and areas, whole pixels, and blanks for missing."""
    shown = readable(table, unit)
    decimals = [c for c in shown.columns if c.startswith(("Mean", "SD", "Area", "Fat"))]
    return shown.style.format({column: "{:.1f}" for column in decimals}, na_rep="")
