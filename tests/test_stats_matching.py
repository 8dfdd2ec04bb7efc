"""Matching: exact sex, caliper, no control reused, reproducible; greedy equal to a brute-force greedy match
(optimal matching is checked in test_matching_optimal.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ovcf_core.errors import AnalysisError, InputError
from ovcf_core.stats.matching import match_controls, matching_pool


def _patients(n_cases=40, n_pool=300, seed=3):
    rng = np.random.default_rng(seed)
    n = n_cases + n_pool
    return pd.DataFrame(
        {
            "ovcf": np.r_[np.ones(n_cases), np.zeros(n_pool)],
            "age": np.r_[rng.normal(76, 7, n_cases), rng.normal(66, 9, n_pool)].round(),
            "sex": rng.choice(["F", "M"], n),
            "bmi": rng.normal(24, 3, n),
        },
        index=pd.RangeIndex(2, n + 2, name="row"),
    )


def _brute_force(table, caliper, seed):
    """Reference greedy matcher: O(cases x pool), same case order and tie rule (younger, then file order)."""
    cases = table[table.ovcf == 1]
    cases = cases.iloc[np.random.default_rng(seed).permutation(len(cases))]
    free = table[table.ovcf == 0].copy()
    pairs = {}
    for row, case in cases.iterrows():
        same = free[free.sex == case.sex]
        if same.empty:
            continue
        dist = (same.age - case.age).abs()
        best = dist[dist == dist.min()]
        if best.iloc[0] > caliper:
            continue
        ages = same.loc[best.index, "age"]
        pick = ages[ages == ages.min()].index
        pick = pick[-1] if ages.min() < case.age else pick[0]
        pairs[row] = pick
        free = free.drop(pick)
    return pairs


@pytest.mark.parametrize("method", ["optimal", "greedy"])
def test_matches_are_exact_on_sex_within_caliper_and_unique(method):
    result = match_controls(_patients(), caliper=3, method=method)
    m = result.matched
    cases, controls = m[m.ovcf == 1].set_index("pair_id"), m[m.ovcf == 0].set_index("pair_id")
    assert (cases.sex == controls.sex.reindex(cases.index)).all()
    assert ((cases.age - controls.age.reindex(cases.index)).abs() <= 3).all()
    assert not m.index.duplicated().any()
    assert result.n_pairs + len(result.unmatched_cases) == 40
    assert abs(result.balance_after["age"]) < abs(result.balance_before["age"])


def test_same_pairs_as_brute_force_greedy():
    table = _patients()
    result = match_controls(table, caliper=2, seed=11, method="greedy")
    m = result.matched
    got = dict(zip(m.index[m.ovcf == 1], m.index[m.ovcf == 0], strict=True))
    expected = _brute_force(table, 2, 11)
    assert {k: got[k] for k in got} == {k: int(v) for k, v in expected.items()}


@pytest.mark.parametrize("method", ["optimal", "greedy"])
def test_reproducible_with_a_seed(method):
    a = match_controls(_patients(), seed=5, method=method).matched
    b = match_controls(_patients(), seed=5, method=method).matched
    pd.testing.assert_frame_equal(a, b)


@pytest.mark.parametrize("method", ["optimal", "greedy"])
def test_no_controls_of_one_sex_leaves_those_cases_unmatched(method):
    table = _patients()
    table = table[~((table.ovcf == 0) & (table.sex == "M"))]
    result = match_controls(table, caliper=50, method=method)
    assert set(result.unmatched_cases.sex) == {"M"}
    assert set(result.matched.sex) == {"F"}


def test_one_class_is_an_error():
    with pytest.raises(AnalysisError):
        match_controls(_patients().query("ovcf == 1"))


def test_matching_pool_leaves_out_rows_without_age_or_sex():
    table = _patients(5, 20)
    table.loc[table.index[0], "age"] = np.nan
    pool = matching_pool(table, "pool.csv")
    assert len(pool) == len(table) - 1 and table.index[0] not in pool.index


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.iloc[:0], "pool.csv: no usable rows"),
        (lambda t: t.drop(columns="sex"), "pool.csv, column 'sex': has no sex column to match on"),
        (lambda t: t.assign(age=np.nan), "has no age column to match on"),
        (lambda t: t[t.ovcf == 1], "needs both cases \\(ovcf = 1\\) and possible controls \\(ovcf = 0\\)"),
    ],
)
def test_matching_pool_refuses_a_pool_that_cannot_be_matched(change, message):
    with pytest.raises(InputError, match=message):
        matching_pool(change(_patients(5, 20)), "pool.csv")
