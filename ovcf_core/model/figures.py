"""Plotly figures of one prediction and of the model it came from.

The probability with its CI, the patient's values on the cohort's distributions against cut-offs, each
variable's contribution, and the model's calibration plot.

Styled through `ovcf_core.report` so the calculator page and its downloadable summary look the same.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
import plotly.graph_objects as go

from ovcf_core.model.prediction import Prediction
from ovcf_core.model.risk_model import TrainingSummary
from ovcf_core.report import style
from ovcf_core.report.figures import LEGEND_ENTRY, _layout, _legend_entries, distribution_figure, legend_below

TERM_LABELS = {"sex_male": "Sex (male)", "vbq": "VBQ score", "hu": "Average HU", "age": "Age", "bmi": "BMI"}
LABEL_ROW = 18  # px above the plot for the prevalence line's label, under the title's row


def probability_figure(prediction: Prediction) -> go.Figure:
    """Draw a 0-100% bar with the patient's probability, its 95% CI and, when corrected, the prevalence.

    Parameters
    ----------
    prediction
        The patient's prediction.

    Returns
    -------
    plotly.graph_objects.Figure
        The bar, titled with the probability and its CI.
    """
    low, high = prediction.ci
    p = prediction.probability
    fig = go.Figure()
    fig.add_trace(
        go.Bar(
            x=[100 * p],
            y=["probability"],
            orientation="h",
            marker_color=style.CASE_COLOR,
            opacity=0.75,
            error_x={
                "type": "data",
                "symmetric": False,
                "array": [100 * (high - p)],
                "arrayminus": [100 * (p - low)],
                "color": "black",
                "thickness": 2,
                "width": 12,
            },
            hovertemplate="%{x:.1f}%<extra></extra>",
            name="probability of OVCF",
        )
    )
    if prediction.prevalence is not None:
        fig.add_vline(
            x=100 * prediction.prevalence,
            line_dash="dot",
            line_color=style.CONTROL_COLOR,
            annotation_text=f"prevalence {prediction.prevalence:.0%}",
            annotation_position="top",
        )
    fig.update_xaxes(range=[0, 100], title="probability of OVCF (%)", ticksuffix="%")
    fig.update_yaxes(visible=False)
    fig.update_layout(showlegend=False)
    fig = _layout(fig, f"{p:.1%} (95% CI {low:.1%} to {high:.1%})", height=190)
    if prediction.prevalence is not None:  # a row for the prevalence label between the title and the bar
        fig.update_layout(height=190 + LABEL_ROW, margin={"t": fig.layout.margin.t + LABEL_ROW})
    return fig


def patient_on_distribution(
    table: pd.DataFrame,
    marker: str,
    value: float | None,
    cutoffs: Sequence[tuple[float, str]] = (),
    *,
    title: str | None = None,
) -> go.Figure:
    """Draw the cohort's marker in controls and cases with the patient's value and the cut-offs across it.

    Parameters
    ----------
    table
        The cohort (outcome ``ovcf`` and the marker column).
    marker
        The marker's column, e.g. ``vbq``.
    value
        The patient's value, drawn as a solid line; None draws none.
    cutoffs
        (value, label) of published cut-offs, each drawn dashed in the legend's order.
    title
        The figure's title (None: no title).

    Returns
    -------
    plotly.graph_objects.Figure
        The distribution figure with the lines and a legend under the plot.
    """
    fig = distribution_figure(table, marker, pair=None)
    dashes = ("dash", "dot", "dashdot", "longdash", "longdashdot")
    for i, (cutoff, label) in enumerate(cutoffs):
        fig.add_trace(
            go.Scatter(
                x=[-0.6, 1.6],
                y=[cutoff, cutoff],
                mode="lines",
                line={
                    "dash": dashes[i % len(dashes)],
                    "color": style.OKABE_ITO["bluish_green"],
                    "width": 1.5,
                },
                name=label,
                hovertemplate=f"{label}<extra></extra>",
            )
        )
    if value is not None:
        fig.add_trace(
            go.Scatter(
                x=[-0.6, 1.6],
                y=[value, value],
                mode="lines",
                line={"color": style.OKABE_ITO["black"], "width": 3},
                name=f"this patient: {style.fmt_value(marker, value)}",
            )
        )
    rows = _legend_entries(fig)
    fig.update_layout(height=380 + LEGEND_ENTRY * rows)
    if title:
        fig.update_layout(title={"text": title})
    return legend_below(fig, rows, axis_title=False)  # the house legend: a list under the plot, no overlap


def contribution_figure(prediction: Prediction, title: str | None = "What drives this estimate") -> go.Figure:
    """Draw each term's log-odds contribution relative to an average training patient (right = more risk).

    Parameters
    ----------
    prediction
        The patient's prediction (its `contributions`).
    title
        The figure's title (None: no title).

    Returns
    -------
    plotly.graph_objects.Figure
        Horizontal bars, risk-raising terms in the case colour.
    """
    terms = list(prediction.contributions)
    values = [prediction.contributions[t] for t in terms]
    colors = [style.CASE_COLOR if v > 0 else style.CONTROL_COLOR for v in values]
    fig = go.Figure(
        go.Bar(
            x=values,
            y=[TERM_LABELS.get(t, t) for t in terms],
            orientation="h",
            marker_color=colors,
            hovertemplate="%{y}: %{x:+.2f} log-odds<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_color="black", line_width=1)
    fig.update_xaxes(title="change in log-odds vs an average training patient (right = higher risk)")
    fig.update_yaxes(autorange="reversed")
    fig.update_layout(showlegend=False)
    return _layout(fig, title, height=60 + 45 * max(len(terms), 2))


def perfect_calibration_line() -> go.Scatter:
    """Return the dashed diagonal of a calibration plot (observed = predicted), shared by its figures."""
    return go.Scatter(
        x=[0, 1],
        y=[0, 1],
        mode="lines",
        line={"dash": "dash", "color": "grey"},
        name="perfect calibration",
        hoverinfo="skip",
    )


def calibration_figure(summary: TrainingSummary) -> go.Figure:
    """Plot the observed fraction of cases against the mean predicted probability in groups of equal size.

    Parameters
    ----------
    summary
        The model's training summary (its `calibration` groups and corrected slope).

    Returns
    -------
    plotly.graph_objects.Figure
        The grouped points with the diagonal of perfect calibration.
    """
    bins = summary.calibration
    fig = go.Figure()
    fig.add_trace(perfect_calibration_line())
    fig.add_trace(
        go.Scatter(
            x=bins.get("mean_predicted", []),
            y=bins.get("observed", []),
            mode="markers+lines",
            marker={"size": 9, "color": style.CASE_COLOR},
            text=[f"n = {n}" for n in bins.get("n", [])],
            hovertemplate="predicted %{x:.2f}, observed %{y:.2f} (%{text})<extra></extra>",
            name="model (training data)",
        )
    )
    fig.update_xaxes(title="mean predicted probability", range=[0, 1])
    fig.update_yaxes(title="observed fraction with OVCF", range=[0, 1])
    title = (
        f"Calibration on the training data (slope after optimism correction {summary.slope_corrected:.2f})"
    )
    return _layout(fig, title, height=380)
