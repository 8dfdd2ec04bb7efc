"""The shared pieces of the statistics' results: JSON-ready to_dict, percentile CIs, the z of a difference."""

from __future__ import annotations

import enum
import json
import math
from dataclasses import dataclass

import numpy as np
import pytest
from scipy import stats

from ovcf_core.stats.estimates import CI, JsonResult, difference_z, json_ready, percentile_ci


class Colour(enum.StrEnum):
    RED = "red"


@dataclass(frozen=True)
class Inner(JsonResult):
    value: float
    ci: CI


@dataclass(frozen=True)
class Outer(JsonResult):
    name: str
    colour: Colour
    ci: CI | None
    inner: Inner
    labels: tuple[str, ...] = ()


def test_to_dict_gives_fields_in_order_with_lists_and_enum_names():
    result = Outer("x", Colour.RED, (0.1, 0.2), Inner(1.5, (1.0, 2.0)), ("a", "b"))
    out = result.to_dict()
    assert list(out) == ["name", "colour", "ci", "inner", "labels"]
    assert out == {
        "name": "x",
        "colour": "red",
        "ci": [0.1, 0.2],
        "inner": {"value": 1.5, "ci": [1.0, 2.0]},
        "labels": ["a", "b"],
    }
    assert type(out["colour"]) is str
    assert json.loads(json.dumps(out)) == out  # nothing but JSON types
    assert Outer("x", Colour.RED, None, Inner(1.5, (1.0, 2.0))).to_dict()["ci"] is None


def test_json_ready_leaves_numbers_and_none_alone():
    assert json_ready({"a": (1, (2, 3)), "b": None, "c": 2.5}) == {"a": [1, [2, 3]], "b": None, "c": 2.5}


def test_percentile_ci_is_the_type_7_quantile():
    draws = np.arange(1.0, 11.0)  # 1..10: type 7 puts the p-quantile at 1 + 9p
    low, high = percentile_ci(draws, 0.9)
    assert low == pytest.approx(1 + 9 * 0.05)
    assert high == pytest.approx(1 + 9 * 0.95)
    rng = np.random.default_rng(1)
    values = rng.normal(size=501)
    assert percentile_ci(values) == pytest.approx(tuple(np.percentile(values, [2.5, 97.5])), abs=1e-12)
    assert all(type(v) is float for v in percentile_ci(values))


@pytest.mark.parametrize(("difference", "sd"), [(0.3, 0.1), (-0.05, 0.2), (1e-3, 1e-2)])
def test_difference_z_is_the_normal_test(difference, sd):
    z, p = difference_z(difference, sd)
    assert z == pytest.approx(difference / sd)
    assert p == pytest.approx(2 * stats.norm.sf(abs(difference / sd)), rel=1e-12)


def test_difference_z_without_spread():
    assert difference_z(0.0, 0.0) == (0.0, 1.0)
    assert difference_z(0.2, 0.0) == (math.inf, 0.0)
    assert difference_z(-0.2, -0.0) == (-math.inf, 0.0)
    z, p = difference_z(0.1, float("nan"))
    assert math.isnan(z) and math.isnan(p)
