"""The whole analysis as one self-contained HTML file: Tables 1-3, ROC curves, forest plot, correlations.

Plotly's JavaScript is inlined once in the document head (no CDN, works offline), and every figure is the
same object the dashboard shows (`ovcf_core.report.figures`). Text from the user's files (column names)
is HTML-escaped.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go

from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE, __version__
from ovcf_core.output import write_text
from ovcf_core.report import content

if TYPE_CHECKING:
    from ovcf_core.stats.analysis import CohortAnalysis

CSS = """
body { font-family: Inter, 'Source Sans Pro', Arial, sans-serif; color: #1b2631; margin: 0 auto;
       max-width: 1100px; padding: 24px 32px 64px; line-height: 1.45; }
h1 { font-size: 1.7rem; margin-bottom: 0.2rem; } h2 { margin-top: 2.2rem; border-bottom: 1px solid #d5dde3;
padding-bottom: 0.2rem; } .note { background: #eef3f6; border-left: 4px solid #1f6f8b; padding: 8px 12px; }
.synthetic { background: #fff4e0; border-left: 4px solid #E69F00; padding: 8px 12px; }
table { border-collapse: collapse; margin: 0.6rem 0 0.3rem; font-size: 0.9rem; }
th { border-top: 2px solid #1b2631; border-bottom: 1px solid #1b2631; text-align: left; padding: 4px 10px; }
td { padding: 3px 10px; border-bottom: 1px solid #eef0f2; }
tr:last-child td { border-bottom: 2px solid #1b2631; }
.caption { color: #55636e; font-size: 0.85rem; } .meta { color: #55636e; font-size: 0.85rem; }
ul.messages { color: #8a4b00; }
"""


def _table_html(table: pd.DataFrame) -> str:
    """Render a table in the paper's three-rule style (values escaped)."""
    return table.to_html(index=False, escape=True, border=0, na_rep="—")


def _figure_html(fig: go.Figure, div_id: str) -> str:
    """Render a figure as a div that uses the document's one copy of plotly.js."""
    return fig.to_html(full_html=False, include_plotlyjs=False, div_id=div_id, config={"displaylogo": False})


def page_head(title: str, basis: str) -> list[str]:
    """Open a self-contained report page: head with the CSS and plotly.js, title, byline, research note.

    The cohort report and the validation report start the same way, so they share this.

    Parameters
    ----------
    title : str
        The page title and heading (escaped here).
    basis : str
        What the report follows, ending the byline after the version and time (e.g. the paper's method).

    Returns
    -------
    list of str
        The HTML pieces up to and including the research-tool note; the caller appends the body.
    """
    from plotly.offline import get_plotlyjs

    return [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{html.escape(title)}</title>",
        '<meta name="viewport" content="width=device-width, initial-scale=1">',
        f"<style>{CSS}</style>",
        f'<script type="text/javascript">{get_plotlyjs()}</script>',
        "</head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">ovcf-screening {__version__} · generated '
        f"{dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC')} · {basis}</p>",
        f'<p class="note">{html.escape(RESEARCH_NOTE)}</p>',
    ]


def render_report(
    analysis: CohortAnalysis,
    table: pd.DataFrame | None = None,
    *,
    title: str = "OVCF indicator analysis",
    synthetic: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> str:
    """Render the report of a `CohortAnalysis` as one HTML document, plotly.js inlined once.

    Parameters
    ----------
    analysis : CohortAnalysis
        The analysis whose tables, figures, captions and messages the report shows.
    table : pandas.DataFrame or None
        The analysed cohort, for the ROC curves; None uses the analysis' own table when it keeps one
        (`content.analysed_table`), else the report has no ROC curves.
    title : str
        The document's title and heading (HTML-escaped).
    synthetic : bool
        Whether the data are the synthetic sample: adds the synthetic-data note.
    progress : callable or None
        `progress(done, total)` is told before each section and once at the end (a page's progress bar).

    Returns
    -------
    str
        The whole HTML document, self-contained (works offline); text from the user's files is escaped.
    """
    sections = content.report_sections(analysis, table)
    parts = page_head(title, "method of Zhan et al., BMC Musculoskeletal Disorders 25:471 (2024)")
    if synthetic:
        parts.append(f'<p class="synthetic">{html.escape(SYNTHETIC_NOTE)}</p>')
    parts.append(f"<p>{html.escape(content.cohort_sentence(analysis))}</p>")
    messages = content.messages(analysis)
    if messages:
        parts.append(
            '<ul class="messages">' + "".join(f"<li>{html.escape(m)}</li>" for m in messages) + "</ul>"
        )
    for i, section in enumerate(sections):
        if progress is not None:
            progress(i, len(sections))
        parts.append(f"<h2>{html.escape(section.title)}</h2>")
        if section.table is not None:
            parts.append(_table_html(section.table))
        if section.figure is not None:
            parts.append(_figure_html(section.figure, f"figure-{i}"))
        if section.caption:
            parts.append(f'<p class="caption">{html.escape(section.caption)}</p>')
    parts.append("</body></html>")
    if progress is not None:
        progress(len(sections), len(sections))
    return "\n".join(parts)


def write_report(
    analysis: CohortAnalysis, path: str | Path, table: pd.DataFrame | None = None, *, synthetic: bool = False
) -> Path:
    """Write the HTML report of `analysis` to `path` (UTF-8), whole or not at all.

    Parameters
    ----------
    analysis, table, synthetic
        As for `render_report`.
    path : str or Path
        The file to write.

    Returns
    -------
    Path
        The file written.

    Raises
    ------
    OutputError
        When the file cannot be written (`output.write_text`).
    """
    path = Path(path)
    write_text(path, render_report(analysis, table, synthetic=synthetic))
    return path
