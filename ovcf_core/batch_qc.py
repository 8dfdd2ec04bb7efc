"""Quality-control pictures for `ovcf batch --qc-dir QC/`: one PNG per measured study and an HTML index.

Each study's picture shows the slices that were measured, windowed for bone (CT) or by percentiles (MR),
with every region outlined and its value written beside it. The index lists every study, the ones most in
need of a look first, by simple flags:

* a region that is empty or tiny (fewer than `TINY_PIXELS` pixels);
* a vertebral HU outside -300..1500 or a VBQ outside 0.5..10 (the plausible ranges of `schema.Indicator`);
* vertebrae on the wrong level by position: L1 must lie above L2, L2 above L3, ... along the patient's
  head-foot axis (known from ImagePositionPatient/ImageOrientationPatient);
* a failed study (its one-line error).

Only the study's short name (its folder or zip name) and technical values appear in the PNG and the HTML;
all text in the HTML is escaped. The workers build a small `QcStudy` (8-bit thumbnails, at most
`MAX_PANEL_PIXELS` a side, and outlines); the parent process draws them with plotly and writes the PNGs
through kaleido (the repository's image export, `ovcf_core.report.images`) in one browser session.
"""

from __future__ import annotations

import contextlib
import html
import itertools
import json
import math
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import numpy as np

from ovcf_core.schema import Indicator

if TYPE_CHECKING:
    from ovcf_core.imaging.series import Series

TINY_PIXELS = 20
MAX_PANEL_PIXELS = 256
MAX_PANELS = 8
MAX_FLAG_LINES = 4
RECORD_SUFFIX = ".qc.json"
VERTEBRA = re.compile(r"^(?:vertebrae_)?([TL])(\d{1,2})$", re.IGNORECASE)


@dataclass(frozen=True)
class QcRegion:
    """One measured region as drawn: its outline in pixel coordinates of its slice, value and position.

    `z_mm` is the patient's head-foot coordinate (DICOM z, larger = towards the head) of the region's
    centre, None when the series gives no position.
    """

    label: str
    slice: int
    xs: tuple[float, ...]
    ys: tuple[float, ...]
    value: float | None
    unit: str
    n_pixels: int
    z_mm: float | None = None


@dataclass(frozen=True)
class QcPanel:
    """One measured slice as an 8-bit thumbnail; `step` original pixels make one thumbnail pixel."""

    slice: int
    image: np.ndarray
    step: int


@dataclass(frozen=True)
class QcStudy:
    """What the QC picture and index need of one measured study (no identifiers: the short name only)."""

    study: str
    modality: str
    unit: str
    panels: tuple[QcPanel, ...]
    regions: tuple[QcRegion, ...]
    indicators: dict[str, float] = field(default_factory=dict)
    protocol: str = ""

    @property
    def flags(self) -> tuple[str, ...]:
        """The quality flags of this study (empty when nothing looks wrong)."""
        return quality_flags(self.modality, self.regions, self.indicators)


def level_number(label: str) -> int | None:
    """Return a vertebra's place from the head down (T12 = 12, L1 = 13, ...), to check the levels' order.

    Parameters
    ----------
    label
        A region label (``L1``, ``T12``, ``PM_L`` ...).

    Returns
    -------
    int or None
        The number, or None when the label is not a vertebra.
    """
    match = VERTEBRA.match(label)
    if match is None:
        return None
    number = int(match.group(2))
    return number if match.group(1).upper() == "T" else 12 + number


def quality_flags(
    modality: str, regions: Sequence[QcRegion], indicators: Mapping[str, float]
) -> tuple[str, ...]:
    """Flag what looks wrong in a study: tiny or empty regions, implausible HU or VBQ, levels out of order.

    Parameters
    ----------
    modality : str
        "CT" or "MR"; HU ranges are checked on CT vertebrae only.
    regions : sequence of QcRegion
        The measured regions.
    indicators : mapping
        Indicators computed for the study ("hu", "vbq", ...).

    Returns
    -------
    tuple of str
        One short line per problem, most serious first.
    """
    flags: list[str] = []
    for region in regions:
        if region.n_pixels <= 0:
            flags.append(f"{region.label}: empty region")
        elif region.n_pixels < TINY_PIXELS:
            flags.append(f"{region.label}: tiny region ({region.n_pixels} pixels)")
    hu, vbq = Indicator.HU, Indicator.VBQ
    if modality == "CT":
        for region in regions:
            value = region.value
            if (
                level_number(region.label) is not None
                and value is not None
                and not hu.low <= value <= hu.high
            ):
                flags.append(f"{region.label}: HU {value:.0f} outside {hu.low:g}..{hu.high:g}")
    value = indicators.get("vbq")
    if value is not None and not vbq.low <= value <= vbq.high:
        flags.append(f"VBQ {value:.2f} outside {vbq.low:g}..{vbq.high:g}")
    flags.extend(_order_flags(regions))
    return tuple(flags)


def _order_flags(regions: Sequence[QcRegion]) -> list[str]:
    """Vertebrae whose head-foot position contradicts their names (L1 must be above L2, ...)."""
    placed = sorted(
        (number, region.z_mm, region.label)
        for region in regions
        if (number := level_number(region.label)) is not None and region.z_mm is not None
    )
    flags = []
    for (_, z_upper, upper), (_, z_lower, lower) in itertools.pairwise(placed):
        if z_upper <= z_lower:
            flags.append(f"wrong level by position: {upper} is not above {lower}")
    return flags


def region_z(series: Series, slice_index: int, x: float, y: float) -> float | None:
    """Return the patient z (mm, towards the head) of pixel (x, y) on slice `slice_index`.

    Parameters
    ----------
    series
        A loaded Series.
    slice_index, x, y
        The slice and the pixel (column, row) on it.

    Returns
    -------
    float or None
        DICOM z of the pixel, or None when the slice has no image or no position.
    """
    from ovcf_core.imaging.series import SliceRef

    slot = series.slices[slice_index]
    if not isinstance(slot, SliceRef) or slot.origin is None:
        return None
    orientation = series.orientation
    row_spacing, column_spacing = series.pixel_spacing
    z = slot.origin[2] + x * column_spacing * orientation[2] + y * row_spacing * orientation[5]
    return float(z) if math.isfinite(z) else None


def thumbnail(image: np.ndarray, window: tuple[float, float]) -> tuple[np.ndarray, int]:
    """Make an 8-bit copy of `image` in the display window, at most MAX_PANEL_PIXELS a side.

    Parameters
    ----------
    image
        The slice's pixel values (HU or SI).
    window
        (low, high) values shown as black and white.

    Returns
    -------
    tuple
        The copy (every step-th pixel of every step-th row) and the step.
    """
    step = max(1, math.ceil(max(image.shape) / MAX_PANEL_PIXELS))
    low, high = window
    scaled = (image[::step, ::step] - low) / max(high - low, 1e-9)
    return np.clip(np.rint(scaled * 255), 0, 255).astype(np.uint8), step


def panels_for(series: Series, slices: Iterable[int], modality: str) -> tuple[QcPanel, ...]:
    """Make thumbnails of the measured slices (at most MAX_PANELS), windowed for bone (CT) or MR auto.

    Parameters
    ----------
    series
        The loaded series.
    slices
        The slices measured (repeats are drawn once, in slice order).
    modality
        ``"CT"`` or ``"MR"``, which picks the window.

    Returns
    -------
    tuple of QcPanel
        One per slice.
    """
    from ovcf_core.imaging.figures import WindowPreset, window_limits

    preset = WindowPreset.default_for(modality)
    out = []
    for index in sorted(set(slices))[:MAX_PANELS]:
        image = series.pixels(index)
        small, step = thumbnail(image, window_limits(image, preset))
        out.append(QcPanel(index, small, step))
    return tuple(out)


def _number(value: float | None, unit: str) -> str:
    if value is None or not math.isfinite(value):
        return "–"
    return f"{value:.0f} {unit}" if unit == "HU" else f"{value:.4g} {unit}"


def _plain(text: str) -> str:
    """Escape text so a plotly label shows it literally (plotly reads some HTML tags, and &lt; &gt; &amp;)."""
    return html.escape(text, quote=False)


def qc_figure(qc: QcStudy) -> Any:
    """Draw the study's QC picture: one panel per measured slice, regions outlined with their values.

    Parameters
    ----------
    qc
        The study's QC content (an empty black panel when it has no slice).

    Returns
    -------
    plotly.graph_objects.Figure
        The figure, with the study, its protocol, indicators and flags written above the panels.
    """
    import plotly.graph_objects as go
    from plotly.subplots import make_subplots

    from ovcf_core.imaging.figures import ROI_COLOURS

    panels = qc.panels or (QcPanel(0, np.zeros((8, 8), dtype=np.uint8), 1),)
    figure = make_subplots(rows=1, cols=len(panels), horizontal_spacing=0.02)
    for column, panel in enumerate(panels, start=1):
        figure.add_trace(
            go.Heatmap(z=panel.image, zmin=0, zmax=255, colorscale="gray", showscale=False),
            row=1,
            col=column,
        )
        rows, columns = panel.image.shape
        for index, region in enumerate(r for r in qc.regions if r.slice == panel.slice):
            colour = ROI_COLOURS[index % len(ROI_COLOURS)]
            xs = [x / panel.step for x in region.xs]
            ys = [y / panel.step for y in region.ys]
            figure.add_trace(
                go.Scatter(x=xs, y=ys, mode="lines", line={"color": colour, "width": 2}, showlegend=False),
                row=1,
                col=column,
            )
            if not xs:  # a region known by its slice only (a 3-D mask): its value in the corner
                place: dict[str, Any] = {
                    "x": 2,
                    "y": 2 + 14 * index / panel.image.shape[0] * rows,
                    "xanchor": "left",
                    "yanchor": "top",
                }
            else:
                place = {"x": min(max(sum(xs) / len(xs), 0), columns - 1), "y": max(min(ys) - 2, 0)}
            figure.add_annotation(
                **place,
                text=_plain(f"{region.label} {_number(region.value, region.unit)}"),
                showarrow=False,
                font={"color": colour, "size": 12},
                bgcolor="rgba(0,0,0,0.6)",
                row=1,
                col=column,
            )
        figure.add_annotation(
            x=0,
            y=rows - 1,
            xanchor="left",
            yanchor="bottom",
            text=f"slice {panel.slice}",
            showarrow=False,
            font={"color": "white", "size": 12},
            bgcolor="rgba(0,0,0,0.6)",
            row=1,
            col=column,
        )
        figure.update_xaxes(range=[-0.5, columns - 0.5], visible=False, row=1, col=column)
        figure.update_yaxes(
            range=[rows - 0.5, -0.5],
            visible=False,
            scaleanchor=f"x{column if column > 1 else ''}",
            row=1,
            col=column,
        )
    title = f"{qc.study} — {qc.modality}" + (f" ({qc.protocol})" if qc.protocol else "")
    values = ", ".join(f"{k} {v:.4g}" for k, v in qc.indicators.items())
    flags = list(qc.flags)
    shown = flags[:MAX_FLAG_LINES] + (
        [f"... and {len(flags) - MAX_FLAG_LINES} more"] if len(flags) > MAX_FLAG_LINES else []
    )
    lines = [values] if values else []
    lines += [f"QC: {flag}" for flag in shown] or ["QC: no flag"]
    top = 30 + 17 * len(lines)
    text = f"<b>{_plain(title)}</b><br>" + "<br>".join(_plain(line) for line in lines)
    figure.add_annotation(
        xref="paper",
        yref="paper",
        x=0,
        y=1,
        xanchor="left",
        yanchor="bottom",
        yshift=6,
        align="left",
        text=text,
        showarrow=False,
        font={"size": 13},
    )
    figure.update_layout(
        width=max(420, 320 * len(panels)),
        height=360 + top,
        margin={"l": 10, "r": 10, "t": top, "b": 10},
        paper_bgcolor="white",
        plot_bgcolor="black",
    )
    return figure


def file_stem(study: str) -> str:
    """Return the file name a study's PNG and record get: its id with any path separator as ``_``.

    Parameters
    ----------
    study
        The study id.

    Returns
    -------
    str
        The stem of ``<stem>.png`` and ``<stem>.qc.json``.
    """
    return study.replace("/", "_").replace("\\", "_")


def write_qc_images(qc_dir: str | Path, studies: Sequence[QcStudy]) -> list[str]:
    """Write `QC/<study>.png` and a small `QC/<study>.qc.json` record for each study.

    Parameters
    ----------
    qc_dir : str or Path
        The QC folder (created when missing).
    studies : sequence of QcStudy
        The studies measured in this run.

    Returns
    -------
    list of str
        Problems, one line each (e.g. no Chromium for the PNG export); the records are written anyway so
        that the index lists every study.
    """
    from ovcf_core.output import write_bytes

    folder = Path(qc_dir)
    folder.mkdir(parents=True, exist_ok=True)
    problems = _write_pngs(folder, studies)
    for qc in studies:
        record = {
            "study": qc.study,
            "modality": qc.modality,
            "protocol": qc.protocol,
            "indicators": qc.indicators,
            "flags": list(qc.flags),
            "regions": [{k: v for k, v in asdict(r).items() if k not in ("xs", "ys")} for r in qc.regions],
            "png": f"{file_stem(qc.study)}.png" if (folder / f"{file_stem(qc.study)}.png").exists() else None,
        }
        write_bytes(folder / f"{file_stem(qc.study)}{RECORD_SUFFIX}", json.dumps(record, indent=1).encode())
    return problems


def _write_pngs(folder: Path, studies: Sequence[QcStudy]) -> list[str]:
    """Draw every study and write the PNGs in one kaleido session (temporary names, then os.replace).

    Drawing runs outside the export's error handling: a drawing bug surfaces as itself, not as a missing
    browser. Only the export (kaleido and Chromium) is reported as one problem line.
    """
    if not studies:
        return []
    jobs = []
    for qc in studies:
        figure = qc_figure(qc)
        temporary = folder / f".{file_stem(qc.study)}.{os.getpid()}.png"
        opts = {"format": "png", "width": figure.layout.width, "height": figure.layout.height}
        jobs.append({"fig": figure, "path": str(temporary), "opts": opts})
    try:
        import kaleido

        from ovcf_core.report import images

        images._ensure_browser()  # the repository's one place that finds a local Chromium
        kaleido.write_fig_from_object_sync(jobs)
    except Exception as exc:  # kaleido or Chromium missing or failing: say so, keep the records and index
        reason = f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
        return [f"QC pictures not written: the PNG export (kaleido, Chromium) failed ({reason})"]
    problems = []
    for qc, job in zip(studies, jobs, strict=True):
        temporary = Path(job["path"])
        if not temporary.exists():
            problems.append(f"{qc.study}: QC picture not written (the PNG export gave no file)")
            continue
        try:
            os.replace(temporary, folder / f"{file_stem(qc.study)}.png")
        except OSError as exc:
            problems.append(f"{qc.study}: QC picture not written ({exc.strerror or exc})")
    return problems


def read_records(qc_dir: str | Path) -> list[dict]:
    """Read the QC records in a QC folder (this run's and earlier runs'); unreadable ones are left out.

    Parameters
    ----------
    qc_dir
        The QC folder.

    Returns
    -------
    list of dict
        The records, by file name.
    """
    records = []
    for path in sorted(Path(qc_dir).glob(f"*{RECORD_SUFFIX}")):
        with contextlib.suppress(OSError, ValueError):
            record = json.loads(path.read_text(encoding="utf-8"))
            if isinstance(record, dict) and isinstance(record.get("study"), str):
                records.append(record)
    return records


def index_html(records: Sequence[Mapping], failed: Sequence[tuple[str, str]] = ()) -> str:
    """Write the QC index page: every study, failed ones first, then the most flags first, then by name.

    Parameters
    ----------
    records : sequence of mapping
        QC records (`read_records`).
    failed : sequence of (study, message)
        Studies that failed, with their one-line error.

    Returns
    -------
    str
        A self-contained HTML page; every text is escaped.
    """
    esc = html.escape
    measured = {r["study"] for r in records}
    entries: list[tuple[int, str, list[str], Any, Any, str]] = [
        (2, s, [f"failed: {m}"], None, {}, "") for s, m in failed if s not in measured
    ]
    for r in records:
        flags = [str(f) for f in r.get("flags") or []]
        entries.append(
            (
                1 if flags else 0,
                r["study"],
                flags,
                r.get("png"),
                r.get("indicators") or {},
                r.get("protocol") or "",
            )
        )
    entries.sort(key=lambda e: (-e[0], -len(e[2]), e[1]))
    rows = []
    for severity, study, flags, png, indicators, protocol in entries:
        link = (
            f'<a href="{esc(quote(png))}"><img src="{esc(quote(png))}" alt="{esc(study)}" height="120"></a>'
            if png
            else "no picture"
        )
        values = ", ".join(f"{esc(str(k))} {float(v):.4g}" for k, v in indicators.items())
        status = ("failed", "check", "ok")[2 - severity]
        rows.append(
            f'<tr class="{status}"><td>{esc(study)}</td><td>{status}</td>'
            f"<td>{'<br>'.join(esc(f) for f in flags) or '–'}</td><td>{values or '–'}</td>"
            f"<td>{esc(protocol) or '–'}</td><td>{link}</td></tr>"
        )
    counts = {k: sum(1 for e in entries if e[0] == v) for k, v in (("failed", 2), ("check", 1), ("ok", 0))}
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>ovcf batch QC</title>'
        "<style>body{font-family:sans-serif;margin:1em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px;vertical-align:top}tr.failed{background:#fbe3e3}"
        "tr.check{background:#fff4d6}</style></head><body>"
        "<h1>ovcf batch — quality control</h1>"
        f"<p>{len(entries)} studies: {counts['failed']} failed, {counts['check']} flagged, {counts['ok']} "
        "without a flag. Flags: tiny or empty region, HU outside -300..1500, VBQ outside 0.5..10, "
        "vertebrae on the wrong level by position. Research tool, not a medical device.</p>"
        "<table><thead><tr><th>study</th><th>status</th><th>flags</th><th>indicators</th>"
        "<th>protocol</th><th>picture</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table></body></html>\n"
    )


def write_index(qc_dir: str | Path, failed: Sequence[tuple[str, str]] = ()) -> Path:
    """Write `QC/index.html` over every record in the folder and the failed studies.

    Parameters
    ----------
    qc_dir
        The QC folder.
    failed
        (study, message) of the studies that failed.

    Returns
    -------
    Path
        The index written.

    Raises
    ------
    OutputError
        The index cannot be written.
    """
    from ovcf_core.output import write_bytes

    path = Path(qc_dir) / "index.html"
    write_bytes(path, index_html(read_records(qc_dir), failed).encode("utf-8"))
    return path
