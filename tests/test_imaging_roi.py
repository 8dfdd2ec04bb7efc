"""ROI geometry against hand-computed masks, statistics, and ROI-file errors that name the ROI."""

from __future__ import annotations

import statistics

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ovcf_core.errors import InputError
from ovcf_core.imaging.roi import Roi, Shape, dumps_rois, loads_rois, measure_roi, parse_rois, roi_mask


def _grid(rows: list[str]) -> np.ndarray:
    return np.array([[c == "#" for c in row] for row in rows])


def test_ellipse_mask_matches_the_hand_computed_pixels():
    # centre (8, 8), radii (4, 3): rows 5..11 hold 1, 5, 7, 9, 7, 5, 1 pixels
    mask = roi_mask(Roi("E", 0, Shape.ELLIPSE, center=(8, 8), radii=(4, 3)), 16, 16)
    expected = np.zeros((16, 16), bool)
    expected[5, 8] = expected[11, 8] = True
    expected[6, 6:11] = expected[10, 6:11] = True
    expected[7, 5:12] = expected[9, 5:12] = True
    expected[8, 4:13] = True
    assert np.array_equal(mask, expected)
    assert mask.sum() == 35


def test_ellipse_boundary_pixels_are_inside_and_half_pixel_centres_work():
    # radius exactly 2 along x: (6, 4) and (2, 4) lie on the boundary and count
    mask = roi_mask(Roi("E", 0, Shape.ELLIPSE, center=(4, 4), radii=(2, 1)), 9, 9)
    assert mask[4, 2] and mask[4, 6] and mask[3, 4] and mask[5, 4]
    assert mask.sum() == 7
    quad = roi_mask(Roi("Q", 0, Shape.ELLIPSE, center=(2.5, 2.5), radii=(1, 1)), 6, 6)
    assert np.array_equal(np.argwhere(quad), [[2, 2], [2, 3], [3, 2], [3, 3]])


def test_polygon_mask_counts_centres_inside_and_on_the_edges():
    # right triangle (0,0), (4,0), (0,4): x >= 0, y >= 0, x + y <= 4 -> 15 pixel centres, edges included
    mask = roi_mask(Roi("T", 0, Shape.POLYGON, points=((0, 0), (4, 0), (0, 4))), 6, 6)
    expected = _grid(["#####.", "####..", "###...", "##....", "#.....", "......"])
    assert np.array_equal(mask, expected)


def test_concave_polygon_mask():
    # an L shape drawn along pixel edges (half-integers): no centre is on an edge
    points = ((0.5, 0.5), (4.5, 0.5), (4.5, 2.5), (2.5, 2.5), (2.5, 5.5), (0.5, 5.5))
    mask = roi_mask(Roi("L", 0, Shape.POLYGON, points=points), 7, 7)
    expected = _grid([".......", ".####..", ".####..", ".##....", ".##....", ".##....", "......."])
    assert np.array_equal(mask, expected)


def test_rectangle_includes_both_corners():
    mask = roi_mask(Roi("R", 0, Shape.RECTANGLE, points=((1, 2), (3, 3))), 5, 5)
    assert np.argwhere(mask).tolist() == [[2, 1], [2, 2], [2, 3], [3, 1], [3, 2], [3, 3]]


@settings(max_examples=60, deadline=None)
@given(
    cx=st.floats(2, 13),
    cy=st.floats(2, 13),
    rx=st.floats(0.3, 2),
    ry=st.floats(0.3, 2),
)
def test_ellipse_mask_equals_the_definition_checked_pixel_by_pixel(cx, cy, rx, ry):
    mask = roi_mask(Roi("E", 0, Shape.ELLIPSE, center=(cx, cy), radii=(rx, ry)), 16, 16)
    for y in range(16):
        for x in range(16):
            assert mask[y, x] == (((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1.0)


def test_statistics_are_mean_sample_sd_count_and_area_with_row_and_column_spacing():
    image = np.arange(36, dtype=float).reshape(6, 6)
    roi = Roi("T", 0, Shape.POLYGON, points=((0, 0), (4, 0), (0, 4)))
    result = measure_roi(image, roi, pixel_spacing=(0.5, 0.8))
    inside = [float(image[y, x]) for y in range(6) for x in range(6) if x + y <= 4]
    assert result.n_pixels == 15
    assert result.mean == pytest.approx(statistics.fmean(inside))
    assert result.sd == pytest.approx(statistics.stdev(inside))
    assert result.area_mm2 == pytest.approx(15 * 0.5 * 0.8)
    assert result.to_dict() == {
        "mean": result.mean,
        "sd": result.sd,
        "n_pixels": 15,
        "area_mm2": result.area_mm2,
        "slice": 0,
    }


def test_one_pixel_roi_has_sd_zero():
    result = measure_roi(np.ones((4, 4)), Roi("P", 0, Shape.ELLIPSE, center=(1, 1), radii=(0.5, 0.5)), (1, 1))
    assert (result.n_pixels, result.sd) == (1, 0.0)


@pytest.mark.parametrize(
    "roi",
    [
        Roi("L1", 0, Shape.ELLIPSE, center=(14, 8), radii=(3, 3)),
        Roi("L1", 0, Shape.ELLIPSE, center=(-500, -500), radii=(3, 3)),
        Roi("L1", 0, Shape.POLYGON, points=((1, 1), (20, 1), (1, 5))),
    ],
)
def test_roi_leaving_the_image_is_an_error_naming_it(roi):
    with pytest.raises(InputError, match=r"ROI 'L1' reaches outside the 16×16 image"):
        measure_roi(np.zeros((16, 16)), roi, (1, 1))


def test_roi_between_pixel_centres_is_an_error():
    with pytest.raises(InputError, match="ROI 'tiny' contains no pixel centre"):
        measure_roi(
            np.zeros((8, 8)), Roi("tiny", 0, Shape.ELLIPSE, center=(2.5, 2.5), radii=(0.2, 0.2)), (1, 1)
        )


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"label": "L2", "slice": 1, "shape": "ellipse", "radii": [1, 1]}, "ROI 'L2': 'center'"),
        (
            {"label": "L2", "slice": 1, "shape": "ellipse", "center": [1, 1], "radii": [0, 1]},
            "ROI 'L2': 'radii'",
        ),
        (
            {"label": "L2", "slice": -1, "shape": "ellipse", "center": [1, 1], "radii": [1, 1]},
            "ROI 'L2': 'slice'",
        ),
        (
            {"label": "L2", "slice": 1.5, "shape": "ellipse", "center": [1, 1], "radii": [1, 1]},
            "ROI 'L2': 'slice'",
        ),
        (
            {"label": "L2", "slice": True, "shape": "ellipse", "center": [1, 1], "radii": [1, 1]},
            "ROI 'L2': 'slice'",
        ),
        ({"label": "MF", "slice": 1, "shape": "polygon", "points": [[1, 1], [2, 2]]}, "ROI 'MF': 'points'"),
        (
            {"label": "MF", "slice": 1, "shape": "polygon", "points": [[1, 1], [2, 2], ["a", 3]]},
            "ROI 'MF': 'points'",
        ),
        ({"label": "R", "slice": 1, "shape": "rectangle", "corners": [[1, 1]]}, "ROI 'R': 'corners'"),
        (
            {"label": "R", "slice": 1, "shape": "rectangle", "corners": [[1, 1], [1, 4]]},
            "ROI 'R': the rectangle",
        ),
        ({"label": "X", "slice": 1, "shape": "circle"}, "ROI 'X': unknown shape 'circle'"),
        ({"slice": 1, "shape": "ellipse"}, r"rois\[0\] needs a non-empty text 'label'"),
        ("L1", r"rois\[0\] must be an object"),
    ],
)
def test_roi_file_errors_name_the_roi_and_the_field(entry, message):
    with pytest.raises(InputError, match=message):
        parse_rois({"rois": [entry]}, "rois.json")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"", "rois.json: is empty"),
        (b"\xff\xfe\x00\x01", "rois.json: is not text"),
        (b"{rois: }", r"rois.json: is not valid JSON \(line 1, column 2\)"),
        (b'{"regions": []}', 'rois.json: needs a list of ROIs under "rois"'),
        (b'{"rois": []}', 'rois.json: "rois" is empty'),
        (b"[" * 20000 + b"]" * 20000, "rois.json: is nested too deeply"),
        (
            b'{"rois": [{"label": "L1", "slice": 0, "shape": "ellipse", "center": [1, 1], "radii": [1, 1]},'
            b'{"label": "L1", "slice": 1, "shape": "ellipse", "center": [1, 1], "radii": [1, 1]}]}',
            "ROI 'L1' appears twice",
        ),
    ],
)
def test_unreadable_roi_files_give_one_line_naming_the_file(text, message):
    with pytest.raises(InputError, match=message) as info:
        loads_rois(text, "rois.json")
    assert "\n" not in str(info.value)


def test_roi_file_round_trips():
    rois = (
        Roi("L1", 7, Shape.ELLIPSE, center=(10.5, 20), radii=(4, 3)),
        Roi("MF_L_L3L4", 3, Shape.POLYGON, points=((1, 1), (5, 1), (3, 4))),
        Roi("BOX", 0, Shape.RECTANGLE, points=((1, 2), (3, 4))),
    )
    assert loads_rois(dumps_rois(rois)) == rois
