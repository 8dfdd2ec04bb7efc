"""The scan figure: one slice in greyscale with window/level and every ROI outlined, for box/lasso drawing.

Axes are pixel coordinates (x = column, y = row, pixel centres at integers, y pointing down), so a plotly
box or lasso selection on it comes back in the ROI file's coordinates. Pixel aspect follows PixelSpacing.
"""

from __future__ import annotations

from collections.abc import Iterable
from enum import StrEnum

import numpy as np

from ovcf_core.imaging.roi import Roi
from ovcf_core.report.style import OKABE_ITO

# ROI outline colours: the one Okabe–Ito palette (`report.style`), without black (invisible on the scan)
ROI_COLOURS = tuple(colour for name, colour in OKABE_ITO.items() if name != "black")


class WindowPreset(StrEnum):
    """Window/level presets: CT bone and soft tissue (HU), and MR auto (1st-99th percentile of the slice)."""

    BONE = "bone"
    SOFT_TISSUE = "soft tissue"
    MR_AUTO = "MR auto"

    @classmethod
    def default_for(cls, modality: str) -> WindowPreset:
        """Return the preset a series opens with: bone for CT (trabecular HU), auto for MR."""
        return cls.BONE if modality == "CT" else cls.MR_AUTO


# (width, level) in HU
CT_WINDOWS = {WindowPreset.BONE: (1500.0, 300.0), WindowPreset.SOFT_TISSUE: (400.0, 40.0)}


def window_limits(image: np.ndarray, preset: WindowPreset | str) -> tuple[float, float]:
    """Return the (low, high) display limits of `image` for a window preset.

    Parameters
    ----------
    image
        The slice's values (HU or SI).
    preset
        A `WindowPreset` or its name.

    Returns
    -------
    tuple of float
        level ∓ width/2 for the CT presets; MR auto uses the slice's 1st and 99th percentiles (1 apart
        at least, so a flat slice still draws).

    Raises
    ------
    ValueError
        When `preset` is not a preset's name.
    """
    preset = WindowPreset(preset)
    if preset in CT_WINDOWS:
        width, level = CT_WINDOWS[preset]
        return level - width / 2, level + width / 2
    low, high = np.percentile(image, [1, 99])
    if high <= low:
        high = low + 1.0
    return float(low), float(high)


def _selection_grid(rows: int, columns: int, step: int) -> tuple[np.ndarray, np.ndarray]:
    """Return the x and y of every `step`-th pixel: invisible markers that make selections fire."""
    ys, xs = np.mgrid[0:rows:step, 0:columns:step]
    return xs.ravel(), ys.ravel()


def scan_figure(
    image: np.ndarray,
    rois: Iterable[Roi] = (),
    *,
    window: tuple[float, float] | None = None,
    pixel_spacing: tuple[float, float] = (1.0, 1.0),
    title: str | None = None,
    unit: str = "",
    height: int = 560,
    invert: bool = False,
) -> object:
    """Draw one slice with `rois` outlined and labelled; drag mode is box select.

    A sparse invisible marker grid makes box and lasso selections fire in every browser; the selection's
    geometry is in pixel coordinates.

    Parameters
    ----------
    image
        The slice's values, rows × columns.
    rois
        ROIs to outline, each in its own Okabe–Ito colour.
    window
        (low, high) display limits (None: MR auto, the 1st to 99th percentile).
    pixel_spacing
        Row and column spacing, so the pixel aspect is true.
    title
        The figure's title.
    unit
        Unit shown with the value under the cursor (HU or SI).
    height
        Figure height in pixels.
    invert
        Show low values white (DICOM MONOCHROME1); the values under the cursor and in every
        measurement are unchanged.

    Returns
    -------
    plotly.graph_objects.Figure
        The figure (typed `object` so importing this module does not import plotly).
    """
    import plotly.graph_objects as go

    rows, columns = image.shape
    low, high = window if window is not None else window_limits(image, WindowPreset.MR_AUTO)
    figure = go.Figure()
    figure.add_trace(
        go.Heatmap(
            z=image,
            zmin=low,
            zmax=high,
            colorscale="gray",
            reversescale=invert,
            showscale=False,
            hovertemplate=f"x %{{x}}, y %{{y}}: %{{z:.1f}} {unit}<extra></extra>",
        )
    )
    xs, ys = _selection_grid(rows, columns, max(1, max(rows, columns) // 64))
    figure.add_trace(
        go.Scatter(
            x=xs, y=ys, mode="markers", marker={"size": 2, "opacity": 0}, hoverinfo="skip", showlegend=False
        )
    )
    for index, roi in enumerate(rois):
        colour = ROI_COLOURS[index % len(ROI_COLOURS)]
        ox, oy = roi.outline()
        figure.add_trace(
            go.Scatter(
                x=ox,
                y=oy,
                mode="lines",
                line={"color": colour, "width": 2},
                name=roi.label,
                hoverinfo="name",
            )
        )
        x0, x1, y0, _ = roi.extent()
        figure.add_annotation(
            x=(x0 + x1) / 2, y=y0, text=roi.label, showarrow=False, yshift=8, font={"color": colour}
        )
    figure.update_xaxes(range=[-0.5, columns - 0.5], showgrid=False, zeroline=False, constrain="domain")
    figure.update_yaxes(
        range=[rows - 0.5, -0.5],
        showgrid=False,
        zeroline=False,
        scaleanchor="x",
        scaleratio=pixel_spacing[0] / pixel_spacing[1],
        constrain="domain",
    )
    figure.update_layout(
        title=title,
        dragmode="select",
        height=height,
        margin={"l": 10, "r": 10, "t": 40 if title else 10, "b": 10},
        legend={"orientation": "h"},
        plot_bgcolor="black",
    )
    return figure


def roi_from_selection(
    selection: dict, label: str, slice_index: int, rows: int, columns: int, box_shape: str = "ellipse"
) -> Roi | None:
    """Turn a plotly selection on `scan_figure` (the last box or lasso) into an ROI, clipped to the image.

    Parameters
    ----------
    selection
        Streamlit's plotly selection state (its ``box`` and ``lasso`` lists).
    label
        The new ROI's label.
    slice_index
        The slice it is drawn on.
    rows, columns
        The image's size, to clip the selection to.
    box_shape
        What a box becomes: ``ellipse`` (the inscribed ellipse, default) or ``rectangle``.

    Returns
    -------
    Roi or None
        A polygon for a lasso, an ellipse or rectangle for a box; None when the selection holds no
        usable box or lasso (or a box without area).
    """
    from ovcf_core.imaging.roi import Shape

    def clip(values: Iterable[float], size: int) -> list[float]:
        """Keep each coordinate within the image's pixel edges."""
        return [float(min(max(v, -0.5), size - 0.5)) for v in values]

    lasso = [s for s in selection.get("lasso") or [] if len(s.get("x") or []) >= 3]
    boxes = [s for s in selection.get("box") or [] if len(s.get("x") or []) >= 2]
    if lasso:
        last = lasso[-1]
        points = tuple(zip(clip(last["x"], columns), clip(last["y"], rows), strict=True))
        return Roi(label, slice_index, Shape.POLYGON, points=points)
    if boxes:
        last = boxes[-1]
        xs, ys = clip(last["x"], columns), clip(last["y"], rows)
        x0, x1, y0, y1 = min(xs), max(xs), min(ys), max(ys)
        if x1 <= x0 or y1 <= y0:
            return None
        if box_shape == "rectangle":
            return Roi(label, slice_index, Shape.RECTANGLE, points=((x0, y0), (x1, y1)))
        return Roi(
            label,
            slice_index,
            Shape.ELLIPSE,
            center=((x0 + x1) / 2, (y0 + y1) / 2),
            radii=((x1 - x0) / 2, (y1 - y0) / 2),
        )
    return None
