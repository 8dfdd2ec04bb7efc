"""A model validation as one self-contained HTML file, laid out by the TRIPOD items it covers.

The items are participants, missing data, model, discrimination, calibration, updating and clinical
utility, with the figures. Uses the report machinery of `ovcf_core.report.html` (its CSS, tables and
plotly.js inlined once).
"""

from __future__ import annotations

import html
from pathlib import Path

from ovcf_core import SYNTHETIC_NOTE
from ovcf_core.model import validation_figures as vf
from ovcf_core.model.validation import ValidationResult
from ovcf_core.output import write_text
from ovcf_core.report.html import _figure_html, _table_html, page_head

MAX_EXCLUDED_LISTED = 200


def _sections(result: ValidationResult) -> list[tuple[str, str]]:
    """Return (heading, HTML body) per TRIPOD item covered."""
    cal, dcurve = result.calibration, result.decision
    out = []
    participants = (
        f"<p>{result.n} patients of {html.escape(result.cohort)} were used: {result.n_cases} with OVCF and "
        f"{result.n_controls} controls ({result.n_cases / result.n:.1%} cases).</p>"
    )
    out.append(("Participants (TRIPOD 5, 13a)", participants))
    if result.n_excluded:
        listed = result.excluded_frame().head(MAX_EXCLUDED_LISTED)
        more = result.n_excluded - len(listed)
        body = (
            f"<p>{result.n_excluded} patients were left out for a missing outcome or model variable "
            "(complete-case analysis; no imputation).</p>" + _table_html(listed)
        )
        if more > 0:
            body += f'<p class="caption">… and {more} more (all listed in the JSON output).</p>'
    else:
        body = "<p>No patient lacked the outcome or a model variable.</p>"
    out.append(("Missing data (TRIPOD 9, 13b)", body))
    info = result.model_info
    model = (
        f"<p>Model terms: {html.escape(', '.join(info.get('terms', [])))}; trained on "
        f"{html.escape(str(info.get('trained_on')))} ({info.get('n_cases')} cases, {info.get('n_controls')} "
        "controls). "
        + (
            f"Predictions prior-corrected to a prevalence of {result.prevalence:g} (King &amp; Zeng 2001)."
            if result.prevalence is not None
            else "Predictions at the model's own case fraction (no prevalence correction)."
        )
        + "</p>"
    )
    if info.get("recalibrated"):
        model += f"<p>This model was recalibrated ({html.escape(str(info['recalibrated']))}).</p>"
    out.append(("Model (TRIPOD 15a)", model))
    out.append(
        (
            "Performance measures (TRIPOD 10d, 16)",
            _table_html(result.to_frame())
            + f'<p class="caption">{html.escape(result.hosmer_lemeshow.note)}</p>',
        )
    )
    markers = result.markers_frame()
    body = _figure_html(vf.model_vs_markers_roc(result), "figure-roc")
    if not markers.empty:
        body += _table_html(markers.round(4))
        body += (
            '<p class="caption">Each marker on the patients having it, in its clinical direction; z and p '
            "from DeLong's test of the model's AUC against the marker's.</p>"
        )
    out.append(("Discrimination (TRIPOD 16)", body))
    out.append(
        (
            "Calibration (TRIPOD 16)",
            _figure_html(vf.calibration_plot(result), "figure-calibration")
            + f'<p class="caption">Calibration intercept {cal.intercept:.3f} (logit P = a + offset(lp)); '
            f"slope {cal.slope:.3f} (logit P = a + b·lp). "
            f"Smoothed curve: {html.escape(result.smooth.method)}; "
            "ICI, E50 and E90 as Austin &amp; Steyerberg (2019). Eavg, E90 and Emax from "
            f"{html.escape(result.val_prob.method)}, with Spiegelhalter's z, for comparison with R.</p>",
        )
    )
    updating = (
        "<p>If the intercept or slope is off, `ovcf recalibrate COHORT --model MODEL.json --method "
        "intercept|logistic -o NEW.json` writes an updated model; validate it on new patients.</p>"
    )
    out.append(("Model updating (TRIPOD 17)", updating))
    curve = dcurve.to_frame()
    shown = curve[curve["threshold"].round(6).isin([0.05, 0.1, 0.15, 0.2, 0.3, 0.5])]
    out.append(
        (
            "Clinical utility: decision curve",
            _figure_html(vf.decision_curve_figure(result), "figure-dca")
            + _table_html(shown.round(4))
            + '<p class="caption">Net benefit (Vickers &amp; Elkin 2006) as the dcurves package computes it; '
            "a patient is positive when the prediction is at least the threshold.</p>",
        )
    )
    return out


def render_validation_report(result: ValidationResult, *, title: str = "OVCF model validation") -> str:
    """Render the validation report as one HTML document, plotly.js inlined once.

    Parameters
    ----------
    result
        The validation to report.
    title
        The page title and heading.

    Returns
    -------
    str
        The HTML; every value that came from a user (cohort name, model source) is escaped.
    """
    parts = page_head(title, "laid out by TRIPOD (Collins et al. 2015)")
    if result.synthetic or result.model_info.get("synthetic"):
        parts.append(f'<p class="synthetic">{html.escape(SYNTHETIC_NOTE)}</p>')
    if result.messages:
        parts.append('<ul class="messages">' + "".join(f"<li>{html.escape(m)}</li>" for m in result.messages)
                     + "</ul>")  # fmt: skip
    for heading, body in _sections(result):
        parts.append(f"<h2>{html.escape(heading)}</h2>")
        parts.append(body)
    parts.append("</body></html>")
    return "\n".join(parts)


def write_validation_report(result: ValidationResult, path: str | Path) -> Path:
    """Write the HTML validation report to `path`, whole or not at all.

    Parameters
    ----------
    result
        The validation to report.
    path
        The .html file to write.

    Returns
    -------
    pathlib.Path
        The path written.

    Raises
    ------
    OutputError
        When the file cannot be written (missing folder, no permission, disk full).
    """
    path = Path(path)
    write_text(path, render_validation_report(result))
    return path
