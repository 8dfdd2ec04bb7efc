"""A one-page HTML summary of one prediction (no patient identifiers: the calculator never takes any).

Plain HTML and CSS, no scripts: the probability bar is drawn with CSS, so the page prints and opens offline.
Every value that came from a user (numbers, model source text) is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html

import pandas as pd

from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE, __version__
from ovcf_core.model.prediction import PREVALENCE_SOURCE, Prediction
from ovcf_core.model.risk_model import TrainingSummary
from ovcf_core.report.html import CSS

BAR_CSS = """
.bar { position: relative; height: 26px; background: #eef0f2; border-radius: 4px; margin: 10px 0 4px; }
.ci { position: absolute; top: 0; height: 26px; background: rgba(213,94,0,0.30); }
.point { position: absolute; top: -4px; width: 3px; height: 34px; background: #D55E00; }
.big { font-size: 2rem; font-weight: 600; margin: 0.3rem 0; }
"""


def _table(frame: pd.DataFrame) -> str:
    """Render a table as escaped HTML, missing values as a dash."""
    return frame.to_html(index=False, escape=True, border=0, na_rep="—")


def prediction_summary_html(
    prediction: Prediction,
    summary: TrainingSummary,
    *,
    thresholds: pd.DataFrame | None = None,
    synthetic: bool = False,
    model_source: str = "",
) -> str:
    """Render one prediction as a printable HTML page.

    The page holds the probability with its CI bar, the inputs and what drives the estimate, the published
    cut-offs and the model it came from.

    Parameters
    ----------
    prediction
        The patient's prediction.
    summary
        The model's training summary (cases, controls, AUC, calibration).
    thresholds
        Published cut-offs to list (None or empty: none).
    synthetic
        Whether the model was trained on synthetic data (the page then says so).
    model_source
        What the model was trained on, as shown to the user (escaped).

    Returns
    -------
    str
        A self-contained HTML document with no scripts and no patient identifiers.
    """
    low, high = prediction.ci
    p = prediction.probability
    if prediction.prevalence is None:
        scale = (
            f"at the training sample's case fraction ({prediction.sample_case_fraction:.1%}); not corrected"
        )
    else:
        scale = f"corrected to a prevalence of {prediction.prevalence:.1%} (King &amp; Zeng 2001)"
    inputs = pd.DataFrame({"input": list(prediction.features), "value": list(prediction.features.values())})
    drivers = pd.DataFrame(
        {
            "term": list(prediction.contributions),
            "log-odds vs average training patient": [f"{v:+.2f}" for v in prediction.contributions.values()],
        }
    )
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8"><title>OVCF risk estimate</title>',
        f"<style>{CSS}{BAR_CSS}</style></head><body>",
        "<h1>OVCF risk estimate</h1>",
        f'<p class="meta">ovcf-screening {__version__} · generated '
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} · no patient identifiers are recorded</p>",
        f'<p class="note">{html.escape(RESEARCH_NOTE)}</p>',
    ]
    if synthetic:
        parts.append(
            f'<p class="synthetic">Model trained on synthetic data. {html.escape(SYNTHETIC_NOTE)}</p>'
        )
    parts += [
        f'<p class="big">{p:.1%} <span class="meta">(95% CI {low:.1%} to {high:.1%})</span></p>',
        f'<div class="bar"><div class="ci" style="left:{100 * low:.2f}%;width:{100 * (high - low):.2f}%">'
        f'</div><div class="point" style="left:{100 * p:.2f}%"></div></div>',
        f"<p>Probability of an osteoporotic vertebral compression fracture, {scale}.</p>",
        f'<p class="caption">{html.escape(PREVALENCE_SOURCE)}</p>',
    ]
    if prediction.warnings:
        parts.append(
            '<ul class="messages">'
            + "".join(f"<li>{html.escape(w)}</li>" for w in prediction.warnings)
            + "</ul>"
        )
    parts += ["<h2>Inputs</h2>", _table(inputs), "<h2>What drives the estimate</h2>", _table(drivers)]
    if thresholds is not None and not thresholds.empty:
        parts += ["<h2>Published cut-offs</h2>", _table(thresholds)]
    parts += [
        "<h2>Model</h2>",
        f"<p>Logistic model trained on {html.escape(model_source or 'an unnamed table')}: "
        f"{summary.n_cases} cases, {summary.n_controls} controls; AUC {summary.auc:.3f} "
        f"(DeLong 95% CI {summary.auc_ci[0]:.3f}–{summary.auc_ci[1]:.3f}), optimism-corrected "
        f"{summary.auc_corrected:.3f}; calibration slope after correction {summary.slope_corrected:.2f}.</p>",
        "</body></html>",
    ]
    return "\n".join(parts)
