"""The scan figure: window/level presets, ROIs drawn, and box/lasso selections turned into ROIs."""

from __future__ import annotations

import numpy as np
import pytest

from ovcf_core.imaging.figures import WindowPreset, roi_from_selection, scan_figure, window_limits
from ovcf_core.imaging.roi import Roi, Shape


def test_window_presets():
    image = np.arange(100, dtype=float).reshape(10, 10)
    assert window_limits(image, WindowPreset.BONE) == (-450.0, 1050.0)
    assert window_limits(image, "soft tissue") == (-160.0, 240.0)
    low, high = window_limits(image, WindowPreset.MR_AUTO)
    assert (low, high) == pytest.approx((np.percentile(image, 1), np.percentile(image, 99)))
    assert WindowPreset.default_for("CT") is WindowPreset.BONE
    assert WindowPreset.default_for("MR") is WindowPreset.MR_AUTO


def test_every_roi_is_outlined_in_pixel_coordinates_with_y_down():
    rois = [
        Roi("L1", 0, Shape.ELLIPSE, center=(8, 8), radii=(3, 2)),
        Roi("MF", 0, Shape.POLYGON, points=((1, 1), (5, 1), (3, 4))),
    ]
    figure = scan_figure(np.zeros((16, 20)), rois, window=(0, 1), pixel_spacing=(0.5, 1.0))
    names = [t.name for t in figure.data if t.type == "scatter" and t.mode == "lines"]
    assert names == ["L1", "MF"]
    polygon = next(t for t in figure.data if t.name == "MF")
    assert list(polygon.x) == [1, 5, 3, 1] and list(polygon.y) == [1, 1, 4, 1]
    assert tuple(figure.layout.yaxis.range) == (15.5, -0.5)
    assert figure.layout.yaxis.scaleratio == 0.5
    assert figure.layout.dragmode == "select"


def test_box_selection_becomes_an_inscribed_ellipse_or_a_rectangle_clipped_to_the_image():
    selection = {"box": [{"x": [2.0, 10.0], "y": [12.0, 4.0]}], "lasso": [], "points": []}
    ellipse = roi_from_selection(selection, "L2", 3, rows=16, columns=16)
    assert ellipse == Roi("L2", 3, Shape.ELLIPSE, center=(6.0, 8.0), radii=(4.0, 4.0))
    rectangle = roi_from_selection(
        {"box": [{"x": [-5, 30], "y": [1, 3]}]}, "R", 0, rows=16, columns=16, box_shape="rectangle"
    )
    assert rectangle.points == ((-0.5, 1.0), (15.5, 3.0))


def test_lasso_selection_becomes_a_polygon_and_empty_selections_give_nothing():
    lasso = {"lasso": [{"x": [1, 5, 3], "y": [1, 1, 4]}]}
    assert roi_from_selection(lasso, "MF_L_L3L4", 2, 16, 16).points == ((1.0, 1.0), (5.0, 1.0), (3.0, 4.0))
    assert roi_from_selection({}, "x", 0, 16, 16) is None
    assert roi_from_selection({"box": [{"x": [3, 3], "y": [1, 5]}]}, "x", 0, 16, 16) is None


def test_monochrome1_series_is_shown_inverted_and_measured_unchanged(tmp_path):
    import io

    import pydicom

    from ovcf_core.imaging.series import load_series
    from tests.imaging_helpers import ordered_series, write_files

    files = []
    for name, data in ordered_series(3):
        ds = pydicom.dcmread(io.BytesIO(data))
        ds.PhotometricInterpretation = "MONOCHROME1"
        buffer = io.BytesIO()
        ds.save_as(buffer)
        files.append((name, buffer.getvalue()))
    series = load_series(write_files(tmp_path / "m1", files)).pick()
    assert series.photometric == "MONOCHROME1"
    assert np.all(series.pixels(0) == 100)  # values as stored (rank 1): only the display is inverted
    figure = scan_figure(series.pixels(0), invert=series.photometric == "MONOCHROME1")
    assert figure.data[0].reversescale is True
    assert scan_figure(series.pixels(0)).data[0].reversescale is False
