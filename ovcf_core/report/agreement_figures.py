"""The method-agreement Bland–Altman figure (plotly): differences B − A against the pair means.

The bias and both limits of agreement are lines with their CIs as shaded bands, each labelled inside the
plot so no label is cut off, and the regression line is drawn when the bias is proportional.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ovcf_core import formatting
from ovcf_core.method_agreement import PROPORTIONAL_P, MethodAgreement
from ovcf_core.report import style
from ovcf_core.report.figures import house_template
from ovcf_core.stats.agreement import BlandAltman

LINE_COLOR = "#444444"
BAND_COLOR = style.OKABE_ITO["sky_blue"]
POINT_COLOR = style.OKABE_ITO["blue"]
REGRESSION_COLOR = style.OKABE_ITO["vermillion"]


def method_agreement_figure(result: MethodAgreement, *, digits: int = 1, height: int = 440) -> go.Figure:
    """Draw the Bland–Altman plot of a method agreement.

    Parameters
    ----------
    result
        The agreement (its pairs give the points; every difference is B − A).
    digits
        Decimals of the numbers in the labels (1 for HU, 2–3 for ratios).
    height
        Figure height in pixels.

    Returns
    -------
    plotly.graph_objects.Figure
        Points, bias and limits of agreement with shaded CIs and labels such as 'lower limit −9.6
        [−13.9, −5.3]'; the y range is widened so every band and label stays inside the plot.
    """
    a, b = np.asarray(result.pairs.a, dtype=float), np.asarray(result.pairs.b, dtype=float)
    mean, diff = (a + b) / 2, b - a
    ba, unit = result.bland_altman, f" ({result.unit})" if result.unit else ""
    fig = go.Figure(
        go.Scatter(
            x=mean,
            y=diff,
            mode="markers",
            marker={"color": POINT_COLOR, "size": 7, "opacity": 0.75},
            name="patients",
            hovertemplate=f"mean %{{x:.{digits}f}}<br>{result.difference} %{{y:.{digits}f}}<extra></extra>",
            showlegend=False,
        )
    )
    level = f"{ba.level:.0%}"
    lines = (
        (ba.upper, ba.upper_ci, "upper limit", "dash", "top right"),
        (ba.bias, ba.bias_ci, "bias", "solid", "top right"),
        (ba.lower, ba.lower_ci, "lower limit", "dash", "bottom right"),
    )
    for value, ci, name, dash, position in lines:
        if not np.isfinite(value):
            continue
        if np.all(np.isfinite(ci)) and ci[1] > ci[0]:
            fig.add_hrect(y0=ci[0], y1=ci[1], fillcolor=BAND_COLOR, opacity=0.18, line_width=0, layer="below")
        fig.add_hline(
            y=value,
            line={"color": LINE_COLOR, "dash": dash, "width": 1.5},
            annotation_text=f"{name} {with_ci(value, ci, digits)}",
            annotation_position=position,
            annotation_font={"size": 12, "color": LINE_COLOR},
            annotation_bgcolor="rgba(255,255,255,0.7)",
        )
    pb = result.proportional
    if np.isfinite(pb.p_value) and pb.p_value < PROPORTIONAL_P:
        xs = np.array([mean.min(), mean.max()])
        fig.add_trace(
            go.Scatter(
                x=xs,
                y=pb.intercept + pb.slope * xs,
                mode="lines",
                line={"color": REGRESSION_COLOR, "dash": "dot", "width": 1.5},
                name=f"proportional bias: slope {pb.slope:.3g} (p {formatting.p_value(pb.p_value)})",
            )
        )
    fig.update_yaxes(range=_y_range(diff, ba), title=f"{result.difference}{unit}", zeroline=True)
    fig.update_xaxes(title=f"mean of {result.pairs.method_a} and {result.pairs.method_b}{unit}")
    fig.update_layout(
        template=house_template(),
        font={"family": style.FONT_FAMILY, "size": 13},
        title={
            "text": f"Bland–Altman: {result.difference} (n={ba.n}; lines with {level} CI bands)",
            "x": 0.0,
            "xref": "paper",
            "xanchor": "left",
        },
        height=height,
        margin={"l": 70, "r": 30, "t": 70, "b": 60},
        legend={"orientation": "h", "yanchor": "top", "y": -0.18, "xanchor": "left", "x": 0.0},
    )
    return fig


def with_ci(value: float, ci: tuple[float, float], digits: int) -> str:
    """Format a value with its CI as '−9.6 [−13.9, −5.3]' (the figure's labels and the page's tables).

    A comma, not the dash of `formatting.interval`, separates the bounds: differences are often negative,
    and '−13.9–−5.3' reads badly.

    Parameters
    ----------
    value
        The estimate.
    ci
        Its (low, high) bounds; when either is not finite only the value is shown.
    digits
        Decimals, as `formatting.number`.

    Returns
    -------
    str
        The text, with true minus signs.
    """
    if not np.all(np.isfinite(ci)):
        return formatting.number(value, digits)
    low, high = (formatting.number(v, digits) for v in ci)
    return f"{formatting.number(value, digits)} [{low}, {high}]"


def _y_range(diff: np.ndarray, ba: BlandAltman) -> list[float]:
    """Return the y range: every point and CI band, plus room above and below for the limits' labels."""
    values = [*diff, ba.bias, ba.lower, ba.upper, *ba.lower_ci, *ba.upper_ci]
    finite = [v for v in values if np.isfinite(v)]
    low, high = min(finite), max(finite)
    pad = 0.18 * (high - low) if high > low else max(abs(high), 1.0)
    return [low - pad, high + pad]
