"""One colour-blind-safe palette (Okabe & Ito 2008) and one way of formatting numbers, for every view.

The number formatting itself is `ovcf_core.formatting` (the one policy); the `fmt_*` names here are that
module's functions under the names figures and tables have used, so every caller formats alike.
"""

from __future__ import annotations

from ovcf_core import formatting
from ovcf_core.schema import AGE, BMI, Indicator

MISSING = formatting.MISSING
digits_for = formatting.marker_digits
fmt_value = formatting.marker_value
fmt_mean_sd = formatting.mean_sd
fmt_number = formatting.number
fmt_p = formatting.p_value
fmt_percent = formatting.percent
fmt_ratio = formatting.ratio

# Okabe & Ito, "Color Universal Design" (2008): distinguishable with every common colour-vision deficiency.
OKABE_ITO: dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
}
CASE_COLOR = OKABE_ITO["vermillion"]
CONTROL_COLOR = OKABE_ITO["blue"]
GROUP_COLORS: dict[str, str] = {"OVCF": CASE_COLOR, "Control": CONTROL_COLOR}
CASE_LABEL = "OVCF"
CONTROL_LABEL = "Control"
MARKER_COLORS: dict[str, str] = {
    Indicator.VBQ.column: OKABE_ITO["vermillion"],
    Indicator.HU.column: OKABE_ITO["blue"],
    Indicator.FI.column: OKABE_ITO["sky_blue"],  # not orange: beside VBQ's vermillion it looked the same
    Indicator.T_SCORE.column: OKABE_ITO["bluish_green"],
    Indicator.RCSA.column: OKABE_ITO["reddish_purple"],
}
_OTHER_COLORS = (OKABE_ITO["orange"], OKABE_ITO["black"], OKABE_ITO["yellow"])
# Diverging scale for correlations (ColorBrewer RdBu, colour-blind safe), blue = positive.
DIVERGING_SCALE = "RdBu"
GRID_COLOR = "#EBF0F8"  # plotly_white's grid and axis lines (see `figures.house_template`)
TEXT_COLOR = "#2a3f5f"  # plotly_white's text
FONT_FAMILY = "Inter, 'Source Sans Pro', Arial, sans-serif"

COVARIATE_LABELS: dict[str, str] = {AGE: "Age (years)", BMI: "BMI (kg/m²)", "sex": "Sex"}


def marker_color(marker: str, position: int = 0) -> str:
    """Return the colour of a marker in every figure (indicators fixed; other markers by position)."""
    return MARKER_COLORS.get(marker, _OTHER_COLORS[position % len(_OTHER_COLORS)])


def marker_label(marker: str, *, unit: bool = True) -> str:
    """Display name of a marker: the indicator's label (with unit), else the column name as typed."""
    indicator = Indicator.from_column(marker)
    if indicator is None:
        return COVARIATE_LABELS.get(marker, marker) if unit else marker
    return indicator.label_with_unit if unit else indicator.label


def fmt_ci(low: float | None, high: float | None, digits: int = 2) -> str:
    """Format a confidence interval as 'low–high' with fixed decimals (`formatting.interval`)."""
    return formatting.interval(low, high, digits)


def fmt_estimate_ci(estimate: float | None, low: float | None, high: float | None, digits: int = 2) -> str:
    """Format an estimate with its 95% CI with fixed decimals, e.g. '0.89 [0.84–0.94]' (`formatting`)."""
    return formatting.estimate_interval(estimate, low, high, digits)
