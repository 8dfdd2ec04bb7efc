"""Separation detection (ovcf_core.stats.separation) on constructed cohorts: complete separation by one
marker or by age alone, quasi-complete separation, and none when one control lies above one case; each
verdict is checked independently by whether maximum likelihood runs away (statsmodels' Logit)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.separation import detect_separation

NAMES = ["hu", "age", "vbq"]


def _cohort(seed: int = 2):
    rng = np.random.default_rng(seed)
    y = np.r_[np.zeros(30), np.ones(30)]
    hu = np.r_[rng.normal(135, 25, 30), rng.normal(80, 25, 30)]
    age = np.r_[rng.uniform(55, 75, 30), rng.uniform(60, 85, 30)]
    vbq = np.r_[rng.normal(3.0, 0.4, 30), rng.normal(3.4, 0.4, 30)]
    return y, hu, age, vbq


def _ml_diverges(y: np.ndarray, X: np.ndarray, column: int) -> bool:
    """Independent check: unpenalised ML's coefficient keeps growing with more iterations."""
    import statsmodels.api as sm

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fits = [
            sm.Logit(y, sm.add_constant(X)).fit(method="newton", maxiter=m, disp=0, warn_convergence=False)
            for m in (25, 60)
        ]
    return abs(fits[1].params[column + 1]) > abs(fits[0].params[column + 1]) + 1


def test_complete_separation_by_one_marker_names_that_marker():
    y, hu, age, vbq = _cohort()
    hu = np.where(y == 1, np.minimum(hu, 100), np.maximum(hu, 101))  # every case below every control
    X = np.column_stack([hu, age, vbq])
    found = detect_separation(y, X, NAMES)
    assert found.separated and found.kind == "complete"
    assert found.separated_by == ("hu",)
    assert found.beta[1] == -np.inf  # lower HU, more risk
    assert "complete separation by hu" in found.message()
    assert _ml_diverges(y, X, 0)


def test_complete_separation_by_age_alone():
    y, hu, age, vbq = _cohort(3)
    age = np.where(y == 1, 71 + np.abs(age - 70), 69 - np.abs(age - 70))
    found = detect_separation(y, np.column_stack([hu, age, vbq]), NAMES)
    assert found.kind == "complete" and found.separated_by == ("age",)
    assert found.beta[2] == np.inf


def test_quasi_complete_separation_by_a_binary_marker():
    # every patient with the sign is a case; cases without it overlap the controls
    y, _, _, vbq = _cohort(4)
    sign = np.r_[np.zeros(30), np.arange(30) % 2].astype(float)
    X = np.column_stack([sign, vbq])
    found = detect_separation(y, X, ["sign", "vbq"])
    assert found.separated and found.kind == "quasi-complete"
    assert found.infinite == ("sign",) and found.beta[1] == np.inf
    assert _ml_diverges(y, X, 0)
    assert found.to_dict()["beta"] == {"(Intercept)": None, "sign": "inf", "vbq": None}


def test_quasi_complete_separation_with_a_tie_at_the_boundary():
    y = np.r_[np.zeros(10), np.ones(10)]
    x = np.r_[np.arange(10), np.arange(9, 19)].astype(float)  # one control and one case share 9
    found = detect_separation(y, x, ["marker"])
    assert found.kind == "quasi-complete" and found.separated_by == ("marker",)


def test_one_control_above_one_case_is_not_separation():
    y = np.r_[np.zeros(10), np.ones(10)]
    x = np.r_[np.arange(9), 12, np.arange(10, 20)].astype(float)  # control at 12 above the case at 10
    found = detect_separation(y, x, ["marker"])
    assert not found.separated and found.kind == "none" and found.infinite == ()
    assert not _ml_diverges(y, x[:, None], 0)


def test_overlapping_realistic_cohort_is_not_separated():
    y, hu, age, vbq = _cohort()
    found = detect_separation(y, np.column_stack([hu, age, vbq]), NAMES)
    assert not found.separated and found.message().startswith("no separation")


def test_large_units_do_not_hide_a_separating_marker():
    y = np.r_[np.zeros(10), np.ones(10)]
    x = np.r_[np.linspace(20_000, 30_000, 10), np.linspace(30_001, 40_000, 10)]
    assert detect_separation(y, x, ["big"]).separated_by == ("big",)


@pytest.mark.parametrize(("y", "X"), [([0, 1, 2], [[1], [2], [3]]), ([0, 1], [[1], [np.inf]])])
def test_bad_input_is_refused(y, X):
    with pytest.raises(AnalysisError):
        detect_separation(np.array(y, float), np.array(X, float))


@pytest.mark.parametrize(
    ("x", "kind", "sign"),
    [
        ([-3, -2, -1, 1, 2, 3], "complete", np.inf),
        ([3, 2, 1, -1, -2, -3], "complete", -np.inf),
        ([-3, -2, 0, 0, 2, 3], "quasi-complete", np.inf),
    ],
)
def test_one_column_without_an_intercept(x, kind, sign):
    """A no-intercept logit on one column: x·b ≥ 0 for cases and ≤ 0 for controls separates (no
    empty program is handed to linprog when the one column is tried for dropping)."""
    y = np.array([0, 0, 0, 1, 1, 1], float)
    found = detect_separation(y, np.array(x, float), ["x"], add_intercept=False)
    assert found.separated and found.kind == kind
    assert found.beta == (sign,) and found.separated_by == ("x",)
    mixed = detect_separation(y, np.array([-1, 2, -3, 1, -2, 3], float), ["x"], add_intercept=False)
    assert not mixed.separated and mixed.beta == (0.0,)
