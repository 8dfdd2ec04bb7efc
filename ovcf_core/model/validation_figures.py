"""Plotly figures of a model validation.

The calibration plot (spline curve with its 95% band, val.prob's lowess line and the grouped points),
the decision curve, and the model's ROC beside each single marker's. Styled through `ovcf_core.report` so
the page and the HTML report show the same figures.
"""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go

from ovcf_core.model.figures import perfect_calibration_line
from ovcf_core.model.validation import ValidationResult
from ovcf_core.report import style
from ovcf_core.report.figures import RocTrace, _layout, roc_figure

MODEL_COLOR = style.OKABE_ITO["black"]


def calibration_plot(result: ValidationResult, title: str | None = None) -> go.Figure:
    """Plot observed against predicted probability: spline curve with 95% band, lowess, tenths, the diagonal.

    Parameters
    ----------
    result
        The validation (its smoothed curve, grouped points and calibration GLMs).
    title
        The figure's title (None: the calibration intercept, slope and ICI).

    Returns
    -------
    plotly.graph_objects.Figure
        The calibration plot, legend below.
    """
    s = result.smooth
    fig = go.Figure()
    fig.add_trace(perfect_calibration_line())
    fig.add_trace(
        go.Scatter(
            x=np.concatenate([s.predicted, s.predicted[::-1]]),
            y=np.concatenate([s.hi, s.lo[::-1]]),
            fill="toself",
            fillcolor="rgba(0,114,178,0.18)",
            line={"width": 0},
            name="95% band",
            hoverinfo="skip",
        )
    )
    fig.add_trace(
        go.Scatter(
            x=s.predicted,
            y=s.observed,
            mode="lines",
            line={"color": style.CONTROL_COLOR, "width": 2.5},
            name="smoothed (restricted cubic spline)",
            hovertemplate="predicted %{x:.3f}<br>observed %{y:.3f}<extra></extra>",
        )
    )
    v = result.val_prob
    fig.add_trace(
        go.Scatter(
            x=v.curve_predicted,
            y=v.curve_observed,
            mode="lines",
            line={"color": style.CONTROL_COLOR, "width": 1.5, "dash": "dot"},
            name="lowess, as rms val.prob",
            hovertemplate="predicted %{x:.3f}<br>lowess %{y:.3f}<extra></extra>",
        )
    )
    groups = result.groups
    fig.add_trace(
        go.Scatter(
            x=[g["predicted"] for g in groups],
            y=[g["observed"] for g in groups],
            mode="markers",
            marker={"size": 9, "color": style.CASE_COLOR},
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [g["hi"] - g["observed"] for g in groups],
                "arrayminus": [g["observed"] - g["lo"] for g in groups],
                "color": style.CASE_COLOR,
            },
            text=[f"n = {g['n']}" for g in groups],
            hovertemplate="predicted %{x:.3f}, observed %{y:.3f} (%{text})<extra></extra>",
            name="tenths of predicted risk (Wilson 95% CI)",
        )
    )
    fig.update_xaxes(title="predicted probability", range=[0, 1])
    fig.update_yaxes(title="observed fraction with OVCF", range=[0, 1])
    cal = result.calibration
    title = title or (
        f"Calibration: intercept {cal.intercept:.2f}, slope {cal.slope:.2f}, ICI {result.smooth.ici:.3f}"
    )
    return _layout(fig, title, height=520)


def decision_curve_figure(result: ValidationResult, title: str | None = None) -> go.Figure:
    """Plot the net benefit of the model, of treating all and of treating none against the threshold.

    Parameters
    ----------
    result
        The validation (its decision curve).
    title
        The figure's title (None: says which prevalence the net benefit is at).

    Returns
    -------
    plotly.graph_objects.Figure
        The decision curve, legend below.
    """
    d = result.decision
    t = d.thresholds
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=t, y=np.zeros_like(t), mode="lines", name="treat none",
                             line={"color": "grey", "width": 1.5}))  # fmt: skip
    fig.add_trace(go.Scatter(x=t, y=d.net_benefit_all, mode="lines", name="treat all",
                             line={"color": style.OKABE_ITO["orange"], "dash": "dash"}))  # fmt: skip
    fig.add_trace(
        go.Scatter(
            x=t,
            y=d.net_benefit,
            mode="lines",
            name="model",
            line={"color": MODEL_COLOR, "width": 2.5},
            customdata=d.interventions_avoided_per_100,
            hovertemplate="threshold %{x:.2f}<br>net benefit %{y:.4f}<br>"
            "interventions avoided per 100: %{customdata:.1f}<extra></extra>",
        )
    )
    top = max(d.prevalence, float(np.nanmax(d.net_benefit)) if len(t) else d.prevalence)
    fig.update_yaxes(title="net benefit", range=[-0.05 * top - 0.01, 1.1 * top + 0.01])
    fig.update_xaxes(title="threshold probability", range=[float(t.min()), float(t.max())])
    where = "given prevalence" if d.prevalence_given else "cohort's case fraction"
    return _layout(fig, title or f"Decision curve (π = {d.prevalence:.3f}, {where})", height=480)


def model_vs_markers_roc(result: ValidationResult, title: str | None = None) -> go.Figure:
    """Plot the model's ROC curve beside each single marker's (each on the patients having it).

    Parameters
    ----------
    result
        The validation (the model's ROC points and the marker comparisons).
    title
        The figure's title (None: a default).

    Returns
    -------
    plotly.graph_objects.Figure
        One curve per model and marker, each labelled with its AUC.
    """
    traces = [RocTrace("model", result.roc_fpr, result.roc_tpr, result.auc, result.auc_ci, MODEL_COLOR)]
    for m in result.markers:
        traces.append(RocTrace(m.marker, m.fpr, m.tpr, m.auc, m.auc_ci))
    return roc_figure(traces, title or "ROC: the model beside each single marker")
