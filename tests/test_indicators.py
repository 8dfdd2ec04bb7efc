"""The five indicators on hand-worked examples (numbers worked out by hand in the comments)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ovcf_core.errors import InputError
from ovcf_core.indicators import (
    average_fi,
    average_hu,
    average_rcsa,
    average_t_score,
    parse_fractured,
    vbq_score,
)


def test_two_fractured_vertebrae_are_excluded_from_average_hu():
    # L2 and L3 fractured (their compressed bone reads high): (100 + 80) / 2 = 90
    hu = {"L1": 100.0, "L2": 250.0, "L3": 240.0, "L4": 80.0}
    result = average_hu(hu, fractured=["L2", "L3"])
    assert result.value == pytest.approx(90.0)
    assert result.used == ("L1", "L4")
    assert result.reason is None


def test_one_fracture_gives_the_papers_divide_by_three():
    # paper: average T-score = T of the unfractured L1-L4 / 3; (-2.1 - 1.8 - 2.4) / 3 = -2.1
    t = {"L1": 0.5, "L2": -2.1, "L3": -1.8, "L4": -2.4}
    assert average_t_score(t, "L1").value == pytest.approx(-2.1)


def test_missing_level_is_left_out_of_the_t_score_average():
    # L3 not measured, nothing fractured: (-1.0 - 2.0 - 3.0) / 3 = -2.0
    assert average_t_score({"L1": -1.0, "L2": -2.0, "L3": None, "L4": -3.0}).value == pytest.approx(-2.0)
    assert average_t_score({"L1": -1.0, "L2": -2.0, "L3": math.nan, "L4": -3.0}).used == ("L1", "L2", "L4")


def test_every_vertebra_fractured_gives_a_missing_value_with_its_reason():
    result = average_hu({"L1": 80, "L2": 85, "L3": 90, "L4": 95}, "L1;L2;L3;L4")
    assert result.value is None
    assert "every vertebra L1-L4 is fractured" in result.reason


def test_a_fracture_outside_l1_l4_excludes_nothing():
    assert average_hu({"L1": 100, "L2": 110, "L3": 120, "L4": 130}, "T12").value == pytest.approx(115.0)


def test_vbq_uses_the_median_of_unfractured_vertebrae_over_csf_at_l3():
    # L4 fractured: median(400, 460, 500) = 460; / CSF L3 115 = 4.0
    si = {"L1": 400.0, "L2": 500.0, "L3": 460.0, "L4": 900.0}
    result = vbq_score(si, {"L3": 115.0, "L2": 200.0}, fractured=["L4"])
    assert result.value == pytest.approx(4.0)
    assert result.used == ("L1", "L2", "L3", "CSF L3")


def test_vbq_falls_back_to_csf_at_l2_then_l4_when_l3_is_blocked():
    # median(300, 320, 340, 360) = (320 + 340) / 2 = 330
    si = {"L1": 300.0, "L2": 320.0, "L3": 340.0, "L4": 360.0}
    assert vbq_score(si, {"L3": None, "L2": 110.0, "L4": 150.0}).value == pytest.approx(3.0)
    assert vbq_score(si, {"L4": 100.0}).value == pytest.approx(3.3)
    missing = vbq_score(si, {})
    assert missing.value is None and "CSF" in missing.reason


def test_rcsa_sums_three_muscles_per_side_over_the_disc_and_averages_sides_and_levels():
    # L3L4 left: (500 + 300 + 700) / 1000 = 1.5; right: (600 + 300 + 700) / 1000 = 1.6
    # L4L5 left: (900 + 400 + 500) / 1200 = 1.5; right side has no ES -> left out
    # mean of the three usable (level, side) units: (1.5 + 1.6 + 1.5) / 3 = 1.5333...
    csa = {
        ("pm", "l", "L3L4"): 500, ("mf", "l", "L3L4"): 300, ("es", "l", "L3L4"): 700,
        ("pm", "r", "L3L4"): 600, ("mf", "r", "L3L4"): 300, ("es", "r", "L3L4"): 700,
        ("pm", "l", "L4L5"): 900, ("mf", "l", "L4L5"): 400, ("es", "l", "L4L5"): 500,
        ("pm", "r", "L4L5"): 900, ("mf", "r", "L4L5"): 400,
    }  # fmt: skip
    result = average_rcsa(csa, {"L3L4": 1000, "L4L5": 1200})
    assert result.value == pytest.approx(4.6 / 3)
    assert result.used == ("L3L4 l", "L3L4 r", "L4L5 l")


def test_rcsa_without_a_disc_area_is_missing():
    csa = {("pm", "l", "L3L4"): 500, ("mf", "l", "L3L4"): 300, ("es", "l", "L3L4"): 700}
    result = average_rcsa(csa, {})
    assert result.value is None and "disc" in result.reason


def test_fi_is_the_mean_over_muscles_sides_and_levels():
    # 6 values at L4L5 + 2 at L3L4: (10 + 20 + 30 + 12 + 18 + 30 + 8 + 16) / 8 = 18
    fi = {
        ("pm", "l", "L4L5"): 10, ("mf", "l", "L4L5"): 20, ("es", "l", "L4L5"): 30,
        ("pm", "r", "L4L5"): 12, ("mf", "r", "L4L5"): 18, ("es", "r", "L4L5"): 30,
        ("mf", "l", "L3L4"): 8, ("mf", "r", "L3L4"): 16,
    }  # fmt: skip
    assert average_fi(fi).value == pytest.approx(18.0)
    assert average_fi({}).value is None


def test_parse_fractured_reads_separators_and_case():
    assert parse_fractured("L1;L3") == {"L1", "L3"}
    assert parse_fractured(" l2 , L4 ") == {"L2", "L4"}
    assert parse_fractured("") == frozenset()
    assert parse_fractured(None) == frozenset()


@pytest.mark.parametrize("text", ["L7", "L1;X", "vertebra 3"])
def test_unknown_fractured_level_is_an_input_error_naming_the_column(text):
    with pytest.raises(InputError) as info:
        parse_fractured(text)
    assert info.value.column == "fractured"
    assert "unknown fractured level" in str(info.value)


positive = st.floats(min_value=1.0, max_value=5000.0, allow_nan=False)


@given(
    si=st.lists(positive, min_size=4, max_size=4),
    csf=positive,
    scale=st.floats(min_value=0.01, max_value=100.0),
    fractured=st.sets(st.sampled_from(["L1", "L2", "L3", "L4"]), max_size=3),
)
def test_scaling_every_si_including_csf_leaves_vbq_unchanged(si, csf, scale, fractured):
    levels = dict(zip(["L1", "L2", "L3", "L4"], si, strict=True))
    base = vbq_score(levels, {"L3": csf}, fractured).value
    scaled = vbq_score({k: v * scale for k, v in levels.items()}, {"L3": csf * scale}, fractured).value
    assert scaled == pytest.approx(base, rel=1e-9)


@given(
    values=st.lists(st.floats(min_value=-300, max_value=1500), min_size=4, max_size=4),
    order=st.permutations(["L1", "L2", "L3", "L4"]),
)
def test_average_hu_does_not_depend_on_the_order_levels_are_given(values, order):
    forward = dict(zip(["L1", "L2", "L3", "L4"], values, strict=True))
    shuffled = {level: forward[level] for level in order}
    assert average_hu(shuffled, ["L2"]).value == pytest.approx(average_hu(forward, ["L2"]).value)
