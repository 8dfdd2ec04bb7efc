"""Plotly figures of the paper's analysis: group distributions, correlations, ROC, forest and agreement plots.

Every builder takes plain data (a cohort table, arrays, or a statistics result's numbers) and returns a
`plotly.graph_objects.Figure` styled once here, so the pages and the HTML report show the same figures.
Large cohorts are drawn from a reproducible subsample of points (the statistics use every patient) so a
100,000-patient cohort still draws quickly; the figure says when it does.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from ovcf_core import formatting
from ovcf_core.constants import MODEL_SEED
from ovcf_core.report import style
from ovcf_core.schema import OUTCOME, PAIR_ID
from ovcf_core.stats.agreement import bland_altman

MAX_POINTS = 1500  # points drawn per group in distribution and scatter plots
MAX_ROC_POINTS = 1000  # vertices drawn per ROC curve
MAX_PAIR_LINES = 400  # pairs drawn as connecting lines
SEED = MODEL_SEED


@functools.cache
def house_template() -> go.layout.Template:
    """Build plotly_white's look in the few properties these figures use (cached: one template).

    White background, light grid, blue-grey text. The whole plotly_white template validates the defaults
    of every trace type on each figure; this small one keeps page reruns fast (timings in the README's
    benchmark section).
    """
    axis = {"gridcolor": style.GRID_COLOR, "linecolor": style.GRID_COLOR, "zerolinecolor": style.GRID_COLOR,
            "zerolinewidth": 2, "ticks": "", "automargin": True, "title": {"standoff": 15}}  # fmt: skip
    return go.layout.Template(
        data={"heatmap": [{"colorbar": {"outlinewidth": 0, "ticks": ""}}]},
        layout={
            "paper_bgcolor": "white",
            "plot_bgcolor": "white",
            "font": {"color": style.TEXT_COLOR},
            "hovermode": "closest",
            "xaxis": axis,
            "yaxis": axis,
        },
    )


MODEBAR_STRIP = 32  # px at the top of every figure kept for plotly's modebar alone (it sits top right)
TITLE_ROW = 28  # px for the title, in its own row under the modebar's (so no width can make them meet)
LEGEND_ENTRY = 22  # px per entry of the legend, listed under the plot


def _legend_entries(fig: go.Figure) -> int:
    """Count the traces that would appear in the legend (plotly shows it from two entries on)."""
    return sum(1 for t in fig.data if t.showlegend is not False and t.name)


def _title(title: str | None, height: int) -> dict | None:
    """Place the title at the left of its row, under the modebar's strip.

    Its position is in pixels from the top, so the same at any exported height; `height` is kept for the
    callers.
    """
    if not title:
        return None
    return {
        "text": title, "x": 0.0, "xanchor": "left", "xref": "container", "y": 1.0, "yanchor": "top",
        "yref": "container", "pad": {"l": 10, "t": MODEBAR_STRIP + 4}, "font": {"size": 15},
    }  # fmt: skip


def _layout(fig: go.Figure, title: str | None = None, *, height: int = 420) -> go.Figure:
    """Apply the house style to `fig` and return it.

    White template, readable font, a strip at the top for plotly's modebar (top right), the title in its
    own row under it, and the legend as a list under the plot — so neither the modebar nor the legend ever
    covers the title, the legend or the curves, at any width. The figure grows by one row per legend
    entry, so the plot keeps its `height`.
    """
    fig.update_layout(
        template=house_template(),
        font={"family": style.FONT_FAMILY, "size": 13},
        title=_title(title, height),
        height=height,
        margin={"l": 60, "r": 20, "t": MODEBAR_STRIP + (TITLE_ROW if title else 0) + 4, "b": 50},
    )
    entries = _legend_entries(fig)
    if entries >= 2 and fig.layout.showlegend is not False:
        fig.update_layout(height=height + LEGEND_ENTRY * entries)
        legend_below(fig)
    return fig


def legend_below(fig: go.Figure, entries: int | None = None, *, axis_title: bool = True) -> go.Figure:
    """Move the legend of `fig` to a vertical list under the plot (never over the curves or the modebar).

    The bottom margin holds the x axis' tick labels and title, then one row per entry; the legend is
    anchored to the figure's bottom edge, so it stays below the axis at any exported height.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure, changed in place and returned.
    entries : int or None
        The legend's rows to make room for; None counts the traces the legend would show.
    axis_title : bool
        Whether the x axis has a title to keep room for under its tick labels.

    Returns
    -------
    plotly.graph_objects.Figure
        `fig` itself, for chaining.
    """
    rows = _legend_entries(fig) if entries is None else entries
    below_axis = 62 if axis_title else 36
    title = fig.layout.title.text
    fig.update_layout(
        title=_title(title, fig.layout.height),
        margin={"t": MODEBAR_STRIP + (TITLE_ROW if title else 0) + 4,
                "b": below_axis + LEGEND_ENTRY * rows + 8},
        legend={"orientation": "v", "yanchor": "bottom", "y": 0.0, "yref": "container", "xanchor": "left",
                "x": 0.0, "xref": "paper"},
    )  # fmt: skip
    return fig


def _subsample(index: pd.Index, limit: int, seed: int = SEED) -> pd.Index:
    """Pick at most `limit` labels of `index`, the same ones on every call (reproducible figures)."""
    if len(index) <= limit:
        return index
    rng = np.random.default_rng(seed)
    return index[np.sort(rng.choice(len(index), size=limit, replace=False))]


def _jitter(n: int, seed: int, width: float = 0.12) -> np.ndarray:
    """Draw deterministic horizontal offsets for points over a box (so paired lines meet their points)."""
    return np.random.default_rng(seed).uniform(-width, width, size=n)


def _tukey_box(values: np.ndarray) -> dict[str, float]:
    """Compute quartiles and Tukey whiskers (1.5 IQR, clipped to the data) for a precomputed plotly box."""
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    iqr = q3 - q1
    inside = values[(values >= q1 - 1.5 * iqr) & (values <= q3 + 1.5 * iqr)]
    return {
        "q1": q1,
        "median": median,
        "q3": q3,
        "lowerfence": float(inside.min()),
        "upperfence": float(inside.max()),
    }


def distribution_figure(
    table: pd.DataFrame,
    marker: str,
    *,
    outcome: str = OUTCOME,
    pair: str | None = PAIR_ID,
    kind: str = "box",
) -> go.Figure:
    """Plot `marker` in controls and OVCF cases as boxes (or violins) with every patient's point.

    A line joins the two members of each matched pair (as a paired design is analysed). Large groups are
    drawn from a reproducible subsample (`MAX_POINTS` per group, said in the title); a box is computed
    from every value, a violin from the points drawn.

    Parameters
    ----------
    table : pandas.DataFrame
        The cohort; rows without `marker` or `outcome` are left out.
    marker : str
        The column to plot.
    outcome : str
        The 0/1 outcome column (1 = OVCF).
    pair : str or None
        The matched-pair column; None, or a column not in `table`, draws no pair lines.
    kind : str
        "box" (Tukey whiskers) or "violin"; any other value draws boxes.

    Returns
    -------
    plotly.graph_objects.Figure
        A new figure in the house style.
    """
    data = table[[c for c in (marker, outcome, pair) if c and c in table.columns]].dropna(
        subset=[marker, outcome]
    )
    fig = go.Figure()
    digits = style.digits_for(marker)
    positions = {0: 0.0, 1: 1.0}
    points: dict[int, pd.DataFrame] = {}
    sampled = False
    for code, name in ((0, style.CONTROL_LABEL), (1, style.CASE_LABEL)):
        group = data[data[outcome] == code]
        if group.empty:
            continue
        values = group[marker].to_numpy(dtype=float)
        color = style.GROUP_COLORS[name]
        shown = group.loc[_subsample(group.index, MAX_POINTS, SEED + code)]
        sampled |= len(shown) < len(group)
        label = f"{name} (n={len(group)})"
        if kind == "violin":
            fig.add_trace(
                go.Violin(
                    x=np.full(len(shown), positions[code]),
                    y=shown[marker],
                    name=label,
                    line_color=color,
                    fillcolor=color,
                    opacity=0.35,
                    points=False,
                    box_visible=True,
                    meanline_visible=True,
                    width=0.6,
                    hoverinfo="skip",
                )
            )
        else:
            fig.add_trace(
                go.Box(
                    x=[positions[code]],
                    name=label,
                    marker_color=color,
                    fillcolor="rgba(0,0,0,0)",
                    line_width=2,
                    boxpoints=False,
                    width=0.5,
                    hoverinfo="skip",
                    **{k: [v] for k, v in _tukey_box(values).items()},
                )
            )
        xs = positions[code] + _jitter(len(shown), SEED + 10 + code)
        points[code] = pd.DataFrame({"x": xs, "y": shown[marker].to_numpy(dtype=float)}, index=shown.index)
        if pair and pair in shown.columns:
            points[code]["pair"] = shown[pair].to_numpy()
        fig.add_trace(
            go.Scattergl(
                x=xs,
                y=shown[marker],
                mode="markers",
                marker={"color": color, "size": 5, "opacity": 0.6},
                name=f"{name} patients",
                showlegend=False,
                hovertemplate=f"{name}: %{{y:.{digits}f}}<extra></extra>",
            )
        )
    if pair and 0 in points and 1 in points and "pair" in points[0].columns:
        joined = (
            points[0]
            .dropna(subset=["pair"])
            .merge(points[1].dropna(subset=["pair"]), on="pair", suffixes=("_c", "_o"))
            .drop_duplicates("pair")
            .head(MAX_PAIR_LINES)
        )
        if not joined.empty:
            xs = np.column_stack([joined["x_c"], joined["x_o"], np.full(len(joined), np.nan)]).ravel()
            ys = np.column_stack([joined["y_c"], joined["y_o"], np.full(len(joined), np.nan)]).ravel()
            fig.add_trace(
                go.Scattergl(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line={"color": "rgba(90,90,90,0.25)", "width": 1},
                    name=f"matched pairs ({len(joined)})",
                    hoverinfo="skip",
                )
            )
    title = style.marker_label(marker)
    if sampled:
        title += f" — {MAX_POINTS} points drawn per group"
    fig.update_xaxes(
        tickvals=[0, 1],
        ticktext=[style.CONTROL_LABEL, style.CASE_LABEL],
        range=[-0.6, 1.6],
        title=None,
    )
    fig.update_yaxes(title=style.marker_label(marker), tickformat=formatting.axis_tickformat(digits))
    return _layout(fig, title, height=380)


def correlation_heatmap(rho: pd.DataFrame, p: pd.DataFrame, title: str | None = None) -> go.Figure:
    """Draw the inter-marker Spearman correlation matrix, each cell labelled with rho and its p-value.

    `rho` and `p` are square frames indexed by marker in the same order (`tables.correlation_frames`).
    """
    labels = [style.marker_label(m, unit=False) for m in rho.columns]
    text = [
        [
            f"{style.fmt_number(rho.loc[a, b], 2)}<br>p {style.fmt_p(p.loc[a, b])}"
            if a != b
            else style.fmt_number(rho.loc[a, b], 2)
            for b in rho.columns
        ]
        for a in rho.index
    ]
    fig = go.Figure(
        go.Heatmap(
            z=rho.to_numpy(dtype=float),
            x=labels,
            y=labels,
            text=text,
            texttemplate="%{text}",
            colorscale=style.DIVERGING_SCALE,
            zmin=-1,
            zmax=1,
            zmid=0,
            colorbar={"title": "Spearman ρ"},
            hovertemplate="%{y} × %{x}: ρ = %{z:.3f}<extra></extra>",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title or "Correlation between indicators (Spearman ρ)", height=480)


def scatter_matrix(table: pd.DataFrame, markers: Sequence[str], *, outcome: str = OUTCOME) -> go.Figure:
    """Draw the scatter-plot matrix of `markers`, coloured by group (OVCF vs control)."""
    data = table.dropna(subset=[outcome])
    fig = go.Figure()
    sampled = False
    for code, name in ((0, style.CONTROL_LABEL), (1, style.CASE_LABEL)):
        group = data[data[outcome] == code]
        shown = group.loc[_subsample(group.index, MAX_POINTS, SEED + code)]
        sampled |= len(shown) < len(group)
        fig.add_trace(
            go.Splom(
                dimensions=[
                    {"label": style.marker_label(m, unit=False), "values": shown[m].astype(float)}
                    for m in markers
                ],
                name=f"{name} (n={len(group)})",
                marker={"color": style.GROUP_COLORS[name], "size": 4, "opacity": 0.55},
                diagonal_visible=False,
                showupperhalf=False,
            )
        )
    title = "Indicators against each other"
    if sampled:
        title += f" — {MAX_POINTS} points drawn per group"
    return _layout(fig, title, height=max(420, 150 * len(markers)))


LINE_DASHES = ("solid", "dash", "dot", "dashdot", "longdash")  # told apart in grey print too


@dataclass(frozen=True)
class RocTrace:
    """One ROC curve to draw: its points, AUC with 95% CI, and optionally the chosen cut-off's point.

    Attributes
    ----------
    label : str
        The marker's name in the legend.
    fpr, tpr : numpy.ndarray
        The curve's vertices, 1 − specificity and sensitivity in step order (thinned for drawing only).
    auc : float or None
        The AUC shown in the legend with `auc_ci`.
    color : str or None
        The line's colour; None takes the marker's (`style.marker_color`).
    cutoff_point : tuple of float or None
        (1 − specificity, sensitivity) of the chosen cut-off, drawn as an open circle.
    """

    label: str
    fpr: np.ndarray
    tpr: np.ndarray
    auc: float | None
    auc_ci: tuple[float | None, float | None] = (None, None)
    color: str | None = None
    cutoff_point: tuple[float, float] | None = None  # (1 - specificity, sensitivity)


def _thin_curve(fpr: np.ndarray, tpr: np.ndarray, limit: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most `limit` vertices of a step curve, both ends included (for drawing only)."""
    if len(fpr) <= limit:
        return fpr, tpr
    keep = np.unique(np.linspace(0, len(fpr) - 1, limit).round().astype(int))
    return fpr[keep], tpr[keep]


def roc_figure(curves: Sequence[RocTrace], title: str | None = None) -> go.Figure:
    """Overlay ROC curves with 'AUC [95% CI]' in the legend and the chance diagonal.

    Each curve has its marker's colour and a dash pattern of its own (`LINE_DASHES`), so curves are told
    apart in grey print too; `title` defaults to "ROC curves".
    """
    fig = go.Figure()
    fig.add_trace(
        go.Scatter(
            x=[0, 1],
            y=[0, 1],
            mode="lines",
            line={"color": "#999999", "dash": "dot", "width": 1},
            name="chance",
            hoverinfo="skip",
            showlegend=False,
        )
    )
    for i, curve in enumerate(curves):
        color = curve.color or style.marker_color(curve.label, i)
        fpr, tpr = _thin_curve(np.asarray(curve.fpr, float), np.asarray(curve.tpr, float), MAX_ROC_POINTS)
        auc = style.fmt_estimate_ci(curve.auc, *curve.auc_ci, digits=3)
        fig.add_trace(
            go.Scatter(
                x=fpr,
                y=tpr,
                mode="lines",
                line={"color": color, "width": 2.5, "shape": "hv", "dash": LINE_DASHES[i % len(LINE_DASHES)]},
                name=f"{curve.label}: AUC {auc}",
                hovertemplate=f"{curve.label}<br>1 − specificity %{{x:.3f}}<br>"
                "sensitivity %{y:.3f}<extra></extra>",
            )
        )
        if curve.cutoff_point is not None:
            fig.add_trace(
                go.Scatter(
                    x=[curve.cutoff_point[0]],
                    y=[curve.cutoff_point[1]],
                    mode="markers",
                    marker={"color": color, "size": 10, "symbol": "circle-open", "line": {"width": 2}},
                    name=f"{curve.label} cut-off",
                    showlegend=False,
                    hovertemplate=f"{curve.label} cut-off<br>sensitivity %{{y:.3f}}<extra></extra>",
                )
            )
    fig.update_xaxes(title="1 − specificity", range=[-0.01, 1.01], constrain="domain")
    fig.update_yaxes(title="Sensitivity", range=[-0.01, 1.01], scaleanchor="x", scaleratio=1)
    return _layout(fig, title or "ROC curves", height=520)


def confusion_figure(tp: int, fp: int, fn: int, tn: int, title: str | None = None) -> go.Figure:
    """Draw the 2×2 confusion matrix (rows: true group, columns: test result), counts and row percentages.

    `tp`, `fp`, `fn` and `tn` are the counts of true and false positives and negatives at a cut-off; a
    group with no patient shows 0% rather than dividing by zero.
    """
    counts = np.array([[tp, fn], [fp, tn]], dtype=float)
    totals = counts.sum(axis=1, keepdims=True)
    shares = np.divide(counts, totals, out=np.zeros_like(counts), where=totals > 0)
    text = [
        [f"{int(counts[r, c])}<br>({style.fmt_percent(shares[r, c])})" for c in range(2)] for r in range(2)
    ]
    fig = go.Figure(
        go.Heatmap(
            z=shares,
            x=["test positive", "test negative"],
            y=[
                f"{style.CASE_LABEL} (n={int(totals[0, 0])})",
                f"{style.CONTROL_LABEL} (n={int(totals[1, 0])})",
            ],
            text=text,
            texttemplate="%{text}",
            colorscale=[[0, "#f7fbff"], [1, style.CONTROL_COLOR]],
            zmin=0,
            zmax=1,
            showscale=False,
            hoverinfo="skip",
        )
    )
    fig.update_yaxes(autorange="reversed")
    return _layout(fig, title or "Confusion matrix", height=300)


def forest_plot(
    rows: pd.DataFrame,
    *,
    estimate: str = "or",
    low: str = "low",
    high: str = "high",
    label: str = "label",
    title: str | None = None,
    xlabel: str = "Odds ratio (95% CI, log scale)",
) -> go.Figure:
    """Draw a forest plot of odds ratios with 95% CIs on a log axis and the line of no effect at 1.

    Parameters
    ----------
    rows : pandas.DataFrame
        One row per odds ratio, drawn top to bottom in the frame's order; rows without an estimate are
        left out. A "marker" column, when present, picks each row's colour.
    estimate, low, high, label : str
        The columns of the odds ratio, its CI bounds and the row's label.
    title : str or None
        The title; None says "Adjusted odds ratios".
    xlabel : str
        The x axis' title.

    Returns
    -------
    plotly.graph_objects.Figure
        A new figure whose height grows with the number of rows.
    """
    data = rows.dropna(subset=[estimate]).iloc[::-1]
    colors = [style.marker_color(str(m), i) for i, m in enumerate(data.get("marker", data[label]))]
    text = [
        formatting.odds_ratio_ci(e, lo, hi)
        for e, lo, hi in zip(data[estimate], data[low], data[high], strict=True)
    ]
    fig = go.Figure(
        go.Scatter(
            x=data[estimate],
            y=data[label],
            mode="markers",
            marker={"color": colors, "size": 11, "symbol": "square"},
            error_x={
                "type": "data",
                "symmetric": False,
                "array": (data[high] - data[estimate]).to_numpy(dtype=float),
                "arrayminus": (data[estimate] - data[low]).to_numpy(dtype=float),
                "color": "#444444",
                "thickness": 1.5,
            },
            text=text,
            hovertemplate="%{y}: OR %{text}<extra></extra>",
            showlegend=False,
        )
    )
    fig.add_vline(x=1, line={"color": "#777777", "dash": "dash", "width": 1})
    span = pd.concat([data[low], data[high], data[estimate]]).to_numpy(dtype=float)
    span = span[np.isfinite(span) & (span > 0)]
    ticks, labels = (
        formatting.log_axis_ticks(min(span.min(), 1.0), max(span.max(), 1.0)) if span.size else ([1.0], ["1"])
    )
    fig.update_xaxes(type="log", title=xlabel, tickvals=ticks, ticktext=labels, minor={"showgrid": False})
    fig.update_yaxes(title=None, automargin=True)
    return _layout(fig, title or "Adjusted odds ratios", height=140 + 48 * max(len(data), 1))


def bland_altman_figure(
    first: Sequence[float],
    second: Sequence[float],
    marker: str,
    *,
    names: tuple[str, str] = ("rater 1", "rater 2"),
) -> go.Figure:
    """Draw a Bland–Altman plot: difference against mean of two measurements, bias and limits of agreement.

    Parameters
    ----------
    first, second : sequence of float
        The two measurements of each patient, in the same order; pairs missing either are left out.
    marker : str
        The indicator measured (its colour, decimals and label).
    names : tuple of str
        What the two measurements are (the axis titles and the difference's sign: first − second).

    Returns
    -------
    plotly.graph_objects.Figure
        A new figure; the bias line carries its 95% CI when it is finite (`stats.agreement.bland_altman`).
    """
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    a, b = a[keep], b[keep]
    agreement = bland_altman(a, b)
    digits = style.digits_for(marker)
    fig = go.Figure(
        go.Scattergl(
            x=(a + b) / 2,
            y=a - b,
            mode="markers",
            marker={"color": style.marker_color(marker), "size": 6, "opacity": 0.7},
            name="patients",
            hovertemplate=f"mean %{{x:.{digits}f}}<br>difference %{{y:.{digits}f}}<extra></extra>",
            showlegend=False,
        )
    )
    bias_ci = " [" + ", ".join(style.fmt_number(v, digits) for v in agreement.bias_ci) + "]"
    for value, text, dash, extra in (
        (agreement.bias, "bias", "solid", bias_ci if np.all(np.isfinite(agreement.bias_ci)) else ""),
        (agreement.lower, "−1.96 SD", "dash", ""),
        (agreement.upper, "+1.96 SD", "dash", ""),
    ):
        if np.isfinite(value):
            fig.add_hline(
                y=value,
                line={"color": "#444444", "dash": dash, "width": 1},
                annotation_text=f"{text} {style.fmt_number(value, digits)}{extra}",
                annotation_position="top right",
                annotation_font={"size": 12},
                annotation_bgcolor="rgba(255,255,255,0.8)",
            )
    label = style.marker_label(marker)
    fig.update_xaxes(title=f"Mean of {names[0]} and {names[1]} — {label}")
    fig.update_yaxes(title=f"{names[0]} − {names[1]}")
    return _layout(
        fig, f"Bland–Altman: {style.marker_label(marker, unit=False)} (n={agreement.n})", height=380
    )


def roc_cutoff_figure(
    curve: RocTrace,
    *,
    threshold: float,
    sensitivity: float,
    specificity: float,
    rule: str,
    sensitivity_ci: tuple[float, float] | None = None,
    specificity_ci: tuple[float, float] | None = None,
    smooth: tuple[np.ndarray, np.ndarray] | None = None,
    title: str | None = None,
    marker: str | None = None,
) -> go.Figure:
    """Draw one ROC curve with the chosen cut-off marked, its sensitivity and specificity CIs as error bars.

    Parameters
    ----------
    curve : RocTrace
        The empirical curve.
    threshold, sensitivity, specificity : float
        The cut-off and its statistics (the marked point).
    rule : str
        The rule that chose the cut-off, shown in the title and the legend.
    sensitivity_ci, specificity_ci : tuple of float or None
        The error bars; None or a non-finite bound draws none.
    smooth : tuple of numpy.ndarray or None
        The smoothed binormal curve as (1 − specificity, sensitivity) arrays, drawn dashed.
    title : str or None
        The title; None names the curve and the rule.
    marker : str or None
        The indicator, whose decimals write the cut-off (`formatting.marker_value`), as in every table;
        None writes three decimals.

    Returns
    -------
    plotly.graph_objects.Figure
        A new figure (`roc_figure` of `curve`, with the cut-off and the smooth curve added).
    """
    fig = roc_figure([curve], title or f"ROC: {curve.label} cut-off ({rule})")
    shown = formatting.marker_value(marker, threshold) if marker else formatting.number(threshold, 3)
    color = curve.color or style.marker_color(curve.label, 0)
    if smooth is not None:
        fig.add_trace(
            go.Scatter(
                x=np.asarray(smooth[0], float),
                y=np.asarray(smooth[1], float),
                mode="lines",
                line={"color": color, "width": 1.5, "dash": "dash"},
                name=f"{curve.label}: binormal smooth",
                hoverinfo="skip",
            )
        )

    def bar(estimate: float, ci: tuple[float, float] | None, flip: bool) -> dict | None:
        """Turn a CI into plotly's error bar around `estimate` (`flip`: on 1 − the value), or None."""
        if ci is None or not np.all(np.isfinite(ci)):
            return None
        low, high = (1 - ci[1], 1 - ci[0]) if flip else ci
        value = 1 - estimate if flip else estimate
        return {"type": "data", "symmetric": False, "array": [high - value], "arrayminus": [value - low]}

    fig.add_trace(
        go.Scatter(
            x=[1 - specificity],
            y=[sensitivity],
            mode="markers",
            marker={"color": color, "size": 12, "symbol": "diamond", "line": {"width": 1, "color": "white"}},
            error_x=bar(specificity, specificity_ci, flip=True),
            error_y=bar(sensitivity, sensitivity_ci, flip=False),
            name=f"cut-off {shown} ({rule})",
            hovertemplate=f"cut-off {shown} ({rule})<br>sensitivity %{{y:.3f}}"
            "<br>1 − specificity %{x:.3f}<extra></extra>",
        )
    )
    return _layout(fig, fig.layout.title.text, height=520)
