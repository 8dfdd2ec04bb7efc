"""One colour-blind-safe palette (Okabe & Ito 2008) and one way of formatting numbers, for every view.

Pages, figures, tables and reports all format through these helpers, so a VBQ score shows the same number
of decimals on the ROC page, in Table 1 and in the downloaded report.
"""

from __future__ import annotations

import math

from ovcf_core.schema import AGE, BMI, Indicator

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
    Indicator.FI.column: OKABE_ITO["orange"],
    Indicator.T_SCORE.column: OKABE_ITO["bluish_green"],
    Indicator.RCSA.column: OKABE_ITO["reddish_purple"],
}
_OTHER_COLORS = (OKABE_ITO["sky_blue"], OKABE_ITO["black"], OKABE_ITO["yellow"])
# Diverging scale for correlations (ColorBrewer RdBu, colour-blind safe), blue = positive.
DIVERGING_SCALE = "RdBu"
GRID_COLOR = "#EBF0F8"  # plotly_white's grid and axis lines (see `figures.house_template`)
TEXT_COLOR = "#2a3f5f"  # plotly_white's text
FONT_FAMILY = "Inter, 'Source Sans Pro', Arial, sans-serif"

# Decimals per quantity: as the paper reports them (HU and FI to one decimal, ratios to two).
_DIGITS: dict[str, int] = {
    Indicator.T_SCORE.column: 2,
    Indicator.HU.column: 1,
    Indicator.VBQ.column: 2,
    Indicator.RCSA.column: 2,
    Indicator.FI.column: 1,
    AGE: 1,
    BMI: 1,
}
COVARIATE_LABELS: dict[str, str] = {AGE: "Age (years)", BMI: "BMI (kg/m²)", "sex": "Sex"}
MISSING = "—"


def marker_color(marker: str, position: int = 0) -> str:
    """The colour of a marker in every figure (indicators fixed; other markers by position)."""
    return MARKER_COLORS.get(marker, _OTHER_COLORS[position % len(_OTHER_COLORS)])


def marker_label(marker: str, *, unit: bool = True) -> str:
    """Display name of a marker: the indicator's label (with unit), else the column name as typed."""
    indicator = Indicator.from_column(marker)
    if indicator is None:
        return COVARIATE_LABELS.get(marker, marker) if unit else marker
    return indicator.label_with_unit if unit else indicator.label


def digits_for(marker: str) -> int:
    """Decimals to show for values of `marker` (2 for markers the tool does not know)."""
    return _DIGITS.get(marker, 2)


def _missing(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and not math.isfinite(value))


def fmt_number(value: float | None, digits: int = 2) -> str:
    """A number with fixed decimals and a true minus sign; an em dash when missing."""
    if value is None or _missing(value):
        return MISSING
    text = f"{float(value):.{digits}f}"
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text.replace("-", "−")


def fmt_value(marker: str, value: float | None) -> str:
    """A value of `marker` with the marker's decimals."""
    return fmt_number(value, digits_for(marker))


def fmt_p(p: float | None) -> str:
    """A p-value as journals print it: three decimals, '<0.001' below that."""
    if p is None or _missing(p):
        return MISSING
    return "<0.001" if p < 0.001 else f"{p:.3f}"


def fmt_ci(low: float | None, high: float | None, digits: int = 2) -> str:
    """A confidence interval as 'low–high'."""
    if _missing(low) or _missing(high):
        return MISSING
    return f"{fmt_number(low, digits)}–{fmt_number(high, digits)}"


def fmt_estimate_ci(estimate: float | None, low: float | None, high: float | None, digits: int = 2) -> str:
    """An estimate with its 95% CI, e.g. '0.89 [0.84–0.94]'."""
    if _missing(estimate):
        return MISSING
    ci = fmt_ci(low, high, digits)
    return fmt_number(estimate, digits) if ci == MISSING else f"{fmt_number(estimate, digits)} [{ci}]"


def fmt_mean_sd(mean: float | None, sd: float | None, digits: int = 2) -> str:
    """Mean ± SD as in the paper's Table 1."""
    if _missing(mean):
        return MISSING
    return f"{fmt_number(mean, digits)} ± {fmt_number(sd, digits)}"


def fmt_percent(fraction: float | None, digits: int = 1) -> str:
    """A fraction as a percentage, e.g. 0.8125 -> '81.3%'."""
    if fraction is None or _missing(fraction):
        return MISSING
    return f"{fmt_number(100 * fraction, digits)}%"
