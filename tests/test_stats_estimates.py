"""The shared pieces of the statistics' results: JSON-ready to_dict, percentile CIs, the z of a difference."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from scipy import stats

from ovcf_core.schema import Direction
from ovcf_core.stats.cutoffs import CutoffResult, CutoffRule, LikelihoodRatios
from ovcf_core.stats.estimates import difference_z, json_ready, percentile_ci, resamples
from ovcf_core.stats.roc import AucResult


def test_to_dict_gives_fields_in_order_with_lists_and_enum_names():
    out = AucResult(0.8, 0.05, (0.7, 0.9), Direction.LOWER, 10, 12).to_dict()
    assert list(out) == ["auc", "se", "ci", "direction", "n_cases", "n_controls"]
    assert out == {"auc": 0.8, "se": 0.05, "ci": [0.7, 0.9], "direction": "lower", "n_cases": 10,
                   "n_controls": 12}  # fmt: skip
    assert type(out["direction"]) is str
    lrs = LikelihoodRatios(2.0, (1.5, 3.0), 0.5, (0.25, 0.75))
    cut = CutoffResult(CutoffRule.YOUDEN, None, Direction.HIGHER, 1.5, 0.8, 0.7, 8, 2, 3, 7, lrs).to_dict()
    assert cut["rule"] == "youden" and type(cut["rule"]) is str
    assert cut["likelihood_ratios"] == {"positive": 2.0, "positive_ci": [1.5, 3.0], "negative": 0.5,
                                        "negative_ci": [0.25, 0.75]}  # fmt: skip
    assert cut["sensitivity_ci"] is None
    assert json.loads(json.dumps(cut)) == cut  # nothing but JSON types


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


def test_resamples_reports_about_every_percent_after_each_round_has_run():
    done: list[int] = []
    calls: list[tuple[int, int, int]] = []
    for i in resamples(250, lambda k, total: calls.append((k, total, len(done)))):
        done.append(i)
    assert done == list(range(250))
    assert [k for k, _, _ in calls] == list(range(2, 251, 2))  # every 1% of 250 is 2 rounds
    assert all(total == 250 and seen == k for k, total, seen in calls)  # after round k's body
    assert list(resamples(3)) == [0, 1, 2]
    assert [c[0] for c in _calls(50)] == list(range(1, 51))  # fewer than 100: every round


def _calls(total: int) -> list[tuple[int, int]]:
    calls: list[tuple[int, int]] = []
    for _ in resamples(total, lambda k, n: calls.append((k, n))):
        pass
    return calls
