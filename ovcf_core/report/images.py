"""Figures as PNG or SVG files through kaleido (which drives a local Chromium, offline).

kaleido 1.x needs a Chrome/Chromium; Debian's `/usr/bin/chromium` is used when no BROWSER_PATH is set.
When no browser can be started, `figure_image` raises `ExportUnavailable` so a page can offer the
interactive HTML of the figure instead.
"""

from __future__ import annotations

import os
import shutil
import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import plotly.graph_objects as go

from ovcf_core.errors import OvcfError

FORMATS = ("png", "svg")
DEBIAN_CHROMIUM = Path("/usr/bin/chromium")


class ExportUnavailable(OvcfError):
    """PNG/SVG export needs Chromium, and none could be started here."""


# kaleido's page can be asked to draw before its script has loaded; the same call again then succeeds
EXPORT_ATTEMPTS = 3


def _to_image(fig: go.Figure, fmt: str, width: int, height: int, scale: float) -> bytes:
    """Run kaleido's export, again after a JavaScript error (up to EXPORT_ATTEMPTS), else ExportUnavailable.

    On a loaded machine kaleido 1.x sometimes runs the export before its page has defined
    `kaleido_scopes` (seen once in CI as "ReferenceError: kaleido_scopes is not defined"); the same call a
    moment later succeeds. Any other failure (no browser, a closed browser) is reported at once.
    """
    from kaleido.errors import JavascriptError

    for _ in range(EXPORT_ATTEMPTS):
        try:
            return fig.to_image(format=fmt, width=width, height=height, scale=scale)
        except JavascriptError as exc:
            last = exc
        except Exception as exc:  # kaleido/choreographer raise several types when no browser starts
            raise ExportUnavailable(
                f"PNG/SVG export needs Chromium (set BROWSER_PATH); it failed here ({type(exc).__name__}). "
                "Download the interactive HTML instead."
            ) from exc
    raise ExportUnavailable(
        f"PNG/SVG export failed in Chromium {EXPORT_ATTEMPTS} times (JavascriptError: {last}). "
        "Download the interactive HTML instead."
    ) from last


def _ensure_browser() -> None:
    """Point kaleido at a local Chromium when the environment does not name one."""
    if os.environ.get("BROWSER_PATH"):
        return
    for candidate in (DEBIAN_CHROMIUM, shutil.which("chromium"), shutil.which("google-chrome")):
        if candidate and Path(candidate).exists():
            os.environ["BROWSER_PATH"] = str(candidate)
            return


CSS_DPI = 96.0  # plotly lays a figure out in CSS pixels, 96 to the inch
MM_PER_INCH = 25.4
JOURNAL_WIDTHS_MM = {
    "single column (85 mm)": 85.0,
    "1.5 columns (120 mm)": 120.0,
    "double column (174 mm)": 174.0,
}
"""Figure widths most journals ask for (Elsevier, BMC, Springer: about 85, 120 and 174 mm)."""


@dataclass(frozen=True)
class PrintSize:
    """A figure's size on paper and its resolution: what a journal asks for (e.g. 85 mm wide at 300 dpi)."""

    width_mm: float
    height_mm: float
    dpi: int = 300

    def __post_init__(self) -> None:
        """Refuse a size outside 10–600 mm or a resolution outside 72–1200 dpi (a ValueError naming it)."""
        if not (10 <= self.width_mm <= 600 and 10 <= self.height_mm <= 600):
            raise ValueError(
                f"a figure size of {self.width_mm:g} × {self.height_mm:g} mm is outside 10–600 mm"
            )
        if not 72 <= self.dpi <= 1200:
            raise ValueError(f"a resolution of {self.dpi} dpi is outside 72–1200 dpi")

    @property
    def layout_px(self) -> tuple[int, int]:
        """The layout size in CSS pixels (fonts keep their point size on paper)."""
        return (round(self.width_mm / MM_PER_INCH * CSS_DPI), round(self.height_mm / MM_PER_INCH * CSS_DPI))

    @property
    def scale(self) -> float:
        """How many image pixels per CSS pixel give `dpi`."""
        return self.dpi / CSS_DPI

    @property
    def pixels(self) -> tuple[int, int]:
        """The PNG's size in pixels."""
        width, height = self.layout_px
        return round(width * self.scale), round(height * self.scale)


def figure_image(
    fig: go.Figure, fmt: str = "png", *, width: int = 1000, scale: float = 2.0, size: PrintSize | None = None
) -> bytes:
    """Export the figure as PNG or SVG bytes.

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
        The figure (not changed).
    fmt : str
        "png" or "svg".
    width, scale : int, float
        Screen export: the layout width in px and the PNG's pixel scale (ignored when `size` is given).
    size : PrintSize or None
        Print export: the size in mm and the resolution; the PNG then records its dpi (pHYs chunk), so a
        journal's system reads it as, e.g., 85 mm at 300 dpi.

    Returns
    -------
    bytes
        The image.

    Raises
    ------
    ValueError
        For an unknown format.
    ExportUnavailable
        When kaleido or a Chromium is missing (the page then offers the interactive HTML).
    """
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
    if size is not None:
        (width, height), scale = size.layout_px, size.scale
    else:
        height = fig.layout.height or 500
    image = _to_image(fig, fmt, width, height, scale if fmt == "png" else 1)
    return with_png_dpi(image, size.dpi) if size is not None and fmt == "png" else image


def with_png_dpi(png: bytes, dpi: int) -> bytes:
    """Record a resolution in a PNG: a pHYs chunk after IHDR, replacing any there was.

    The pixels are not touched: `png` (a PNG file's bytes) comes back the same image, saying `dpi` dots per
    inch (stored as dots per metre), so a journal's system reads its size on paper.

    Raises
    ------
    ValueError
        When `png` does not start with the PNG signature.
    """
    signature = b"\x89PNG\r\n\x1a\n"
    if not png.startswith(signature):
        raise ValueError("not a PNG file")
    chunks, at = [], len(signature)
    while at < len(png):
        (length,) = struct.unpack(">I", png[at : at + 4])
        kind = png[at + 4 : at + 8]
        end = at + 12 + length
        if kind != b"pHYs":
            chunks.append(png[at:end])
        at = end
    per_metre = round(dpi / 0.0254)
    body = b"pHYs" + struct.pack(">IIB", per_metre, per_metre, 1)
    phys = struct.pack(">I", 9) + body + struct.pack(">I", zlib.crc32(body) & 0xFFFFFFFF)
    return signature + chunks[0] + phys + b"".join(chunks[1:])


def figure_html(fig: go.Figure) -> bytes:
    """Export the figure as a self-contained interactive HTML file (plotly.js inlined; works offline)."""
    return fig.to_html(full_html=True, include_plotlyjs=True, config={"displaylogo": False}).encode("utf-8")
