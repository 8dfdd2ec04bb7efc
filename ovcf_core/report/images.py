"""Figures as PNG or SVG files through kaleido (which drives a local Chromium, offline).

kaleido 1.x needs a Chrome/Chromium; Debian's `/usr/bin/chromium` is used when no BROWSER_PATH is set.
When no browser can be started, `figure_image` raises `ExportUnavailable` so a page can offer the
interactive HTML of the figure instead.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import plotly.graph_objects as go

from ovcf_core.errors import OvcfError

FORMATS = ("png", "svg")
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")


class ExportUnavailable(OvcfError):
    """PNG/SVG export needs Chromium, and none could be started here."""


def _ensure_browser() -> None:
    """Point kaleido at a local Chromium when the environment does not name one."""
    if os.environ.get("BROWSER_PATH"):
        return
    for candidate in (DEBIAN_CHROMIUM, shutil.which("chromium"), shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            os.environ["BROWSER_PATH"] = str(candidate)
            return


def figure_image(fig: go.Figure, fmt: str = "png", *, width: int = 1000, scale: float = 2.0) -> bytes:
    """The figure as PNG or SVG bytes (PNG at 2× for print)."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown image format '{fmt}' (png or svg)")
    try:
        import kaleido  # noqa: F401  (plotly's image export engine)
    except ImportError:
        raise ExportUnavailable(
            "PNG/SVG export needs the kaleido package (pip install 'kaleido>=1'); "
            "download the interactive HTML instead."
        ) from None
    _ensure_browser()
    height = fig.layout.height or 500
    try:
        return fig.to_image(format=fmt, width=width, height=height, scale=scale if fmt == "png" else 1)
    except Exception as exc:  # kaleido/choreographer raise several types when no browser starts
        raise ExportUnavailable(
            f"PNG/SVG export needs Chromium (set BROWSER_PATH); it failed here ({type(exc).__name__}). "
            "Download the interactive HTML instead."
        ) from exc


def figure_html(fig: go.Figure) -> bytes:
    """The figure as a self-contained interactive HTML file (plotly.js inlined; works offline)."""
    return fig.to_html(full_html=True, include_plotlyjs=True, config={"displaylogo": False}).encode("utf-8")
