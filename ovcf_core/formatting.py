"""One formatting policy for every number a person reads: tables, figure labels, the HTML/XLSX report.

What a journal prints, decided once here and used everywhere:

- p-values: three decimals, ``<0.001`` below that (`p_value`);
- odds ratios (and likelihood ratios): two significant digits below 1, at most two decimals from 1 to 10,
  one from 10 to 100, none above (`ratio`: 0.89, 2.35, 12.3, 1166);
- AUCs and other probabilities of concordance: three decimals (`auc`);
- a marker's value, and so its cut-off, with the marker's own decimals everywhere (`marker_value`):
  HU and FI one decimal, T-score, VBQ and rCSA two;
- percentages one decimal (`percent`);
- dimensionless coefficients (ICCs, Spearman's ρ, regression slopes) three decimals (`COEFFICIENT_DIGITS`);
- values of an indicator two methods measured (method agreement) in the indicator's decimals, HU of L1 as HU
  (`agreement_digits`);
- plotly axes drop needless trailing zeros (`axis_tickformat`: 50, 100 rather than 50.0, 100.0).

Odds ratios of a marker on a ratio scale per one unit are unreadable (VBQ: 1166 [131–10397] per 1.0, when
the whole cohort spans 2 units), so tables state them per a sensible unit (`display_unit`: 0.1 VBQ, 10 HU)
or per SD. The rescaling is exact: the OR per k units is OR₁ᵏ, and so are its CI bounds
(`rescale_odds_ratio`), since a logistic model refitted on x/k has the coefficient k·β.

Downloads of raw results (CSV of the numbers) keep full precision; these functions are for what is shown.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from ovcf_core.schema import AGE, BMI, Indicator

MISSING = "—"
"""What a table shows for a value that does not exist (never "None" or "nan")."""

P_DIGITS = 3
AUC_DIGITS = 3
PERCENT_DIGITS = 1
COEFFICIENT_DIGITS = 3
"""Decimals of a dimensionless coefficient: an ICC, a correlation, a regression slope."""

_MARKER_DIGITS: dict[str, int] = {
    Indicator.T_SCORE.column: 2,
    Indicator.HU.column: 1,
    Indicator.VBQ.column: 2,
    Indicator.RCSA.column: 2,
    Indicator.FI.column: 1,
    AGE: 1,
    BMI: 1,
}
"""Decimals per quantity, as the paper reports them (HU and FI to one decimal, ratios to two)."""

_DISPLAY_UNITS: dict[str, float] = {
    Indicator.T_SCORE.column: 1.0,
    Indicator.HU.column: 10.0,
    Indicator.VBQ.column: 0.1,
    Indicator.RCSA.column: 0.1,
    Indicator.FI.column: 1.0,
    AGE: 10.0,
    BMI: 1.0,
}
"""The step of each known quantity an odds ratio is stated per: about a tenth to a half of its SD in the
paper's cohort, a round number a clinician can picture (0.1 VBQ, 10 HU, 1 % fat)."""


def _missing(value: object) -> bool:
    """Tell whether `value` is None, NaN or ±inf (what a table shows as a dash)."""
    if value is None:
        return True
    try:
        return not math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return True


def _minus(text: str) -> str:
    """Replace the hyphen with a true minus sign, and write '-0.0' as '0.0'."""
    if text.startswith("-") and float(text) == 0:
        text = text[1:]
    return text.replace("-", "−")


def number(value: float | None, digits: int = 2) -> str:
    """Format `value` with fixed decimals and a true minus sign.

    Parameters
    ----------
    value : float or None
        The number; None, NaN or ±inf show as `MISSING`.
    digits : int
        Decimals to show.

    Returns
    -------
    str
        E.g. ``number(-1.234, 2) == "−1.23"``.
    """
    if _missing(value):
        return MISSING
    return _minus(f"{float(value):.{digits}f}")  # type: ignore[arg-type]


def p_value(p: float | None) -> str:
    """Format a p-value as journals print it: three decimals, ``<0.001`` below that.

    Parameters
    ----------
    p : float or None
        The p-value.

    Returns
    -------
    str
        ``"<0.001"``, ``"0.012"``, or `MISSING`.
    """
    if _missing(p):
        return MISSING
    p = float(p)  # type: ignore[arg-type]
    return "<0.001" if p < 0.001 else f"{p:.{P_DIGITS}f}"


def ratio_digits(value: float) -> int:
    """Decimals that show a ratio with 2–3 significant digits (two below 1, at most two decimals above).

    Parameters
    ----------
    value : float
        A positive ratio (an odds or likelihood ratio).

    Returns
    -------
    int
        0.0345 -> 4 (0.035), 0.89 -> 2, 2.35 -> 2, 12.34 -> 1, 1166 -> 0.
    """
    size = abs(value)
    if size == 0 or not math.isfinite(size):
        return 2
    if size >= 1:
        return max(0, 2 - math.floor(math.log10(size)))
    return 1 - math.floor(math.log10(size))


def ratio(value: float | None) -> str:
    """Format an odds ratio or likelihood ratio with 2–3 significant digits (see `ratio_digits`).

    Parameters
    ----------
    value : float or None
        The ratio.

    Returns
    -------
    str
        E.g. ``"0.89"``, ``"2.35"``, ``"12.3"``, ``"1166"``.
    """
    if _missing(value):
        return MISSING
    digits = ratio_digits(float(value))  # type: ignore[arg-type]
    rounded = round(float(value), digits)  # type: ignore[arg-type]
    return number(value, min(digits, ratio_digits(rounded)) if rounded else digits)  # 9.999 -> 10.0


def auc(value: float | None) -> str:
    """Format an AUC (or a partial AUC, a concordance) with three decimals."""
    return number(value, AUC_DIGITS)


def marker_digits(marker: str) -> int:
    """Decimals to show for values of `marker` (2 for a marker the tool does not know).

    Parameters
    ----------
    marker : str
        A cohort column name (``"hu"``, ``"vbq"``, ``"age"``...).

    Returns
    -------
    int
        The marker's decimals.
    """
    return _MARKER_DIGITS.get(marker, 2)


def marker_value(marker: str, value: float | None) -> str:
    """Format a value of `marker` (a measurement or a cut-off) with the marker's decimals.

    Parameters
    ----------
    marker : str
        The column name.
    value : float or None
        The value.

    Returns
    -------
    str
        E.g. ``marker_value("hu", 90.77) == "90.8"`` — the same text on every page and in the report.
    """
    return number(value, marker_digits(marker))


def agreement_digits(indicator: str | None) -> int:
    """Decimals to show for values (and bias, limits, cut-offs) of an indicator two methods measured.

    Parameters
    ----------
    indicator : str or None
        What the values are (`method_agreement.INDICATORS`: ``"hu_l1"``, an indicator's column), or None
        when not named.

    Returns
    -------
    int
        The indicator's decimals (`marker_digits`), HU of L1 alone as HU (1); 2 when not named.
    """
    return marker_digits(Indicator.HU.column if indicator == "hu_l1" else indicator or "")


def rounded_marker_value(marker: str, value: float) -> float:
    """`value` rounded as `marker_value` shows it (for widgets that must show the same number)."""
    return round(float(value), marker_digits(marker))


def percent(fraction: float | None, digits: int = PERCENT_DIGITS) -> str:
    """Format a fraction as a percentage, e.g. 0.8125 -> ``"81.3%"``."""
    if _missing(fraction):
        return MISSING
    return f"{number(100 * float(fraction), digits)}%"  # type: ignore[arg-type]


def interval(low: float | None, high: float | None, digits: int | None = None) -> str:
    """Format a confidence interval as ``"low–high"``.

    Parameters
    ----------
    low, high : float or None
        The bounds; either missing gives `MISSING`.
    digits : int or None
        Fixed decimals; None formats each bound as a ratio (`ratio`).

    Returns
    -------
    str
        E.g. ``"0.84–0.94"``.
    """
    if _missing(low) or _missing(high):
        return MISSING
    if digits is None:
        return f"{ratio(low)}–{ratio(high)}"
    return f"{number(low, digits)}–{number(high, digits)}"


def estimate_interval(
    estimate: float | None, low: float | None, high: float | None, digits: int | None = None
) -> str:
    """Format an estimate with its 95% CI, e.g. ``"0.89 [0.84–0.94]"``.

    Parameters
    ----------
    estimate : float or None
        The point estimate (missing gives `MISSING`).
    low, high : float or None
        The CI bounds (missing: the estimate alone).
    digits : int or None
        Fixed decimals; None formats the estimate and bounds as ratios (`ratio`).

    Returns
    -------
    str
        The text.
    """
    if _missing(estimate):
        return MISSING
    shown = ratio(estimate) if digits is None else number(estimate, digits)
    ci = interval(low, high, digits)
    return shown if ci == MISSING else f"{shown} [{ci}]"


def odds_ratio_ci(estimate: float | None, low: float | None, high: float | None) -> str:
    """Format an odds ratio with its 95% CI by the ratio rule, e.g. ``"2.35 [1.41–3.92]"``."""
    return estimate_interval(estimate, low, high, None)


def mean_sd(mean: float | None, sd: float | None, digits: int = 2) -> str:
    """Format mean ± SD as in the paper's Table 1."""
    if _missing(mean):
        return MISSING
    return f"{number(mean, digits)} ± {number(sd, digits)}"


def count_text(value: object) -> str:
    """Format a count (a patient number) as an integer, or `MISSING` when it is absent."""
    if _missing(value):
        return MISSING
    return str(int(float(value)))  # type: ignore[arg-type]


def axis_tickformat(digits: int) -> str:
    """Return a d3 tick format with at most `digits` decimals and no needless trailing zeros (plotly axes).

    Parameters
    ----------
    digits : int
        The most decimals a tick may need.

    Returns
    -------
    str
        E.g. ``".1~f"``: 50, 100, 12.5 rather than 50.0, 100.0, 12.5.
    """
    return f".{digits}~f"


def log_axis_ticks(low: float, high: float) -> tuple[list[float], list[str]]:
    """Choose readable ticks for a log-scaled odds-ratio axis spanning [`low`, `high`].

    1-2-5 steps per decade, thinned to about eight, always including 1 (no effect) when it is in range;
    a non-positive or non-finite span gets the one tick 1.

    Parameters
    ----------
    low, high : float
        The smallest and largest value the axis must show (positive).

    Returns
    -------
    (values, labels)
        Tick positions and their texts (formatted by `ratio`).
    """
    low, high = (min(low, high), max(low, high))
    if not (low > 0 and math.isfinite(low) and math.isfinite(high)):
        return [1.0], ["1"]
    decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
    inside: list[float] = []
    for mantissas in ((1, 2, 5), (1, 5), (1,)):  # 1-2-5 steps, then 1-5, then decades only
        inside = [m * 10.0**e for e in decades for m in mantissas if low <= m * 10.0**e <= high]
        if len(inside) <= 8:
            break
    if len(inside) > 8:  # many decades: every k-th one
        inside = inside[:: math.ceil(len(inside) / 8)]
    if not inside:
        inside = [low, high]
    if low <= 1 <= high and 1.0 not in inside:
        inside = sorted([*inside, 1.0])
    return inside, [_tick_text(v) for v in inside]


def _tick_text(value: float) -> str:
    """Write a log-axis tick: 0.05, 0.2, 1, 20, 500 (no trailing zeros)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return text or "0"


def display_unit(marker: str, sd: float | None = None) -> float:
    """Choose the step of `marker` an odds ratio is stated per.

    A known quantity has its round unit (0.1 VBQ, 10 HU); any other marker the power of ten at or below its
    SD (so the OR stays between about 0.3 and 3).

    Parameters
    ----------
    marker : str
        The column name.
    sd : float or None
        The marker's SD in the analysed cohort, for markers the tool does not know.

    Returns
    -------
    float
        The unit (1.0 when nothing better is known).
    """
    if marker in _DISPLAY_UNITS:
        return _DISPLAY_UNITS[marker]
    if sd is None or _missing(sd) or sd <= 0:
        return 1.0
    return 10.0 ** math.floor(math.log10(sd))


def unit_text(marker: str, unit: float) -> str:
    """Name the step an OR is stated per: '0.1 VBQ score', '10 HU', '1% FI', '10 years'.

    `marker` is the column name and `unit` the step (from `display_unit`); the text is the step with the
    quantity's unit, with the marker's name for a dimensionless ratio or an SD score, and with the column
    name for a marker the tool does not know.
    """
    step = _tick_text(unit)
    indicator = Indicator.from_column(marker)
    if indicator is not None:
        name = indicator.label.removeprefix("Average ")
        if indicator.unit == "ratio":
            return f"{step} {name}"
        if indicator.unit == "SD":
            return f"{step} {name} unit"
        if indicator.unit == "%":
            return f"{step}% {name}"
        return f"{step} {indicator.unit}"
    units = {AGE: "years", BMI: "kg/m²"}
    return f"{step} {units.get(marker, marker)}"


def rescale_odds_ratio(
    odds_ratio: float | None, ci: Sequence[float | None] | None, unit: float
) -> tuple[float | None, tuple[float | None, float | None]]:
    """Rescale an odds ratio (and CI) per 1 to one per `unit`: OR₁ᵘⁿⁱᵗ, each bound likewise.

    Exact for a logistic model: refitted on x / unit, the coefficient is unit·β and its SE unit·SE, so the
    Wald CI exp(unit·β ± z·unit·SE) is the per-1 CI raised to `unit` (and a profile-likelihood CI maps the
    same way, being invariant to a rescaled covariate).

    Parameters
    ----------
    odds_ratio : float or None
        The odds ratio per one unit of the marker.
    ci : sequence of two floats, or None
        Its 95% CI bounds.
    unit : float
        The new step (0.1 for "per 0.1 VBQ").

    Returns
    -------
    (odds_ratio, (low, high))
        The rescaled odds ratio and bounds (None where the input is missing or not positive).

    Raises
    ------
    ValueError
        When `unit` is not a positive finite number.
    """
    if not (math.isfinite(unit) and unit > 0):
        raise ValueError(f"the unit of an odds ratio must be a positive number, not {unit!r}")

    def power(value: float | None) -> float | None:
        """Raise a ratio to `unit`, or None when it is missing or not positive."""
        if _missing(value) or float(value) <= 0:  # type: ignore[arg-type]
            return None
        return math.exp(unit * math.log(float(value)))  # type: ignore[arg-type]

    low, high = (ci[0], ci[1]) if ci is not None and len(ci) == 2 else (None, None)
    return power(odds_ratio), (power(low), power(high))
