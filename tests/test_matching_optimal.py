"""Optimal 1:K matching checked against independent solvers: brute force over every matching, a MILP
(scipy/HiGHS), scipy's linear_sum_assignment and networkx's max-weight matching; seed-free; beats greedy."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.optimize import Bounds, LinearConstraint, linear_sum_assignment, milp

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.matching import match_controls


def _pool(n_cases, n_controls, rng, span=8, decimals=0, sexes=("F", "M")):
    n = n_cases + n_controls
    return pd.DataFrame(
        {
            "ovcf": np.r_[np.ones(n_cases), np.zeros(n_controls)],
            "age": (70 + rng.uniform(0, span, n)).round(decimals),
            "sex": rng.choice(list(sexes), n),
            "bmi": rng.normal(24, 3, n),
        },
        index=pd.RangeIndex(2, n + 2, name="row"),
    )


def _allowed(table, caliper):
    """Every allowed (case row, control row, |age difference|): same sex, within the caliper."""
    cases, controls = table[table.ovcf == 1], table[table.ovcf == 0]
    return [
        (i, j, abs(a.age - b.age))
        for i, a in cases.iterrows()
        for j, b in controls.iterrows()
        if a.sex == b.sex and abs(a.age - b.age) <= caliper
    ]


def _sets(result):
    """{case row: control rows} and the total distance of a match result."""
    m = result.matched
    out, total = {}, 0.0
    for _, group in m.groupby("pair_id", sort=False):
        case = group[group.ovcf == 1]
        controls = group[group.ovcf == 0]
        assert len(case) == 1 and len(controls) == result.ratio
        out[case.index[0]] = sorted(controls.index)
        total += float((controls.age - case.age.iloc[0]).abs().sum())
    return out, total


def _check_valid(table, result, caliper):
    sets, _ = _sets(result)
    used = [j for js in sets.values() for j in js]
    assert len(used) == len(set(used)), "a control is used twice"
    for i, js in sets.items():
        for j in js:
            assert table.sex[i] == table.sex[j]
            assert abs(table.age[i] - table.age[j]) <= caliper
    cases = set(table.index[table.ovcf == 1])
    assert set(result.unmatched_cases.index) == cases - set(sets)


def _brute_force(table, caliper, k):
    """Best (complete sets, -total distance) over every way to give each case K controls or none."""
    from itertools import combinations

    options = {}
    for i, j, d in _allowed(table, caliper):
        options.setdefault(i, []).append((j, d))
    cases = list(options)

    def search(c, used):
        if c == len(cases):
            return (0, 0.0)
        best = search(c + 1, used)  # case c unmatched
        for combo in combinations(options[cases[c]], k):
            if any(j in used for j, _ in combo):
                continue
            sets, neg = search(c + 1, used | {j for j, _ in combo})
            cand = (sets + 1, neg - sum(d for _, d in combo))
            if cand[0] > best[0] or (cand[0] == best[0] and cand[1] > best[1] + 1e-9):
                best = cand
        return best

    sets, neg = search(0, frozenset())
    return sets, -neg


def _milp(table, caliper, k):
    """(complete sets, least total distance) by a mixed-integer programme: x_ij, y_i binary,
    sum_j x_ij = K y_i, sum_i x_ij <= 1; two stages (most sets, then least distance with that many)."""
    edges = _allowed(table, caliper)
    cases = sorted({i for i, _, _ in edges})
    controls = sorted({j for _, j, _ in edges})
    ne, nc = len(edges), len(cases)
    if ne == 0:
        return 0, 0.0
    a_case = np.zeros((nc, ne + nc))
    a_control = np.zeros((len(controls), ne + nc))
    for e, (i, j, _) in enumerate(edges):
        a_case[cases.index(i), e] = 1
        a_control[controls.index(j), e] = 1
    for c in range(nc):
        a_case[c, ne + c] = -k
    cons = [LinearConstraint(a_case, 0, 0), LinearConstraint(a_control, 0, 1)]
    integrality = np.ones(ne + nc)
    bounds = Bounds(0, 1)
    first = milp(np.r_[np.zeros(ne), -np.ones(nc)], constraints=cons, integrality=integrality, bounds=bounds)
    n_sets = round(-first.fun)
    count = LinearConstraint(np.r_[np.zeros(ne), np.ones(nc)][None, :], n_sets, n_sets)
    dist = np.r_[[d for _, _, d in edges], np.zeros(nc)]
    second = milp(dist, constraints=[*cons, count], integrality=integrality, bounds=bounds)
    return n_sets, float(second.fun)


def _assert_as_good_as(reference, table, caliper: float, k: int, tolerance: float) -> None:
    """The optimal 1:k matching is valid, with as many sets and the same total distance as `reference`."""
    result = match_controls(table, caliper=caliper, ratio=k)
    _check_valid(table, result, caliper)
    sets, total = _sets(result)
    best_sets, best_total = reference(table, caliper, k)
    assert len(sets) == best_sets
    assert total == pytest.approx(best_total, abs=tolerance)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_optimal_equals_a_brute_force_over_every_matching(k):
    rng = np.random.default_rng(100 + k)
    sizes = {1: (6, 8), 2: (5, 8), 3: (4, 8)}[k]
    for _ in range(25):
        table = _pool(*sizes, rng, span=6, decimals=int(rng.integers(0, 2)), sexes=("F", "F", "M"))
        caliper = float(rng.choice([0.5, 1, 1.5, 2, 3]))
        _assert_as_good_as(_brute_force, table, caliper, k, tolerance=1e-9)


@pytest.mark.parametrize("k", [1, 2, 3])
def test_optimal_equals_a_mixed_integer_programme_on_medium_pools(k):
    rng = np.random.default_rng(200 + k)
    for _ in range(3):
        table = _pool(25, 25 * k + 15, rng, span=15, decimals=1)
        caliper = float(rng.choice([0.5, 1.0, 2.0]))
        _assert_as_good_as(_milp, table, caliper, k, tolerance=1e-6)


def test_one_to_one_equals_linear_sum_assignment():
    """K = 1: forbidden pairs cost `big`; each allowed pair |d| - M with M above any total distance."""
    rng = np.random.default_rng(7)
    for _ in range(10):
        table = _pool(60, 150, rng, span=25, decimals=1)
        caliper = float(rng.choice([0.3, 1.0, 2.5]))
        cases, controls = table[table.ovcf == 1], table[table.ovcf == 0]
        d = np.abs(cases.age.to_numpy()[:, None] - controls.age.to_numpy()[None, :])
        ok = (d <= caliper) & (cases.sex.to_numpy()[:, None] == controls.sex.to_numpy()[None, :])
        big_m = d.shape[0] * caliper + 1
        cost = np.where(ok, d - big_m, 0.0)
        r, c = linear_sum_assignment(cost)
        keep = ok[r, c]
        result = match_controls(table, caliper=caliper)
        _check_valid(table, result, caliper)
        sets, total = _sets(result)
        assert len(sets) == keep.sum()
        assert total == pytest.approx(d[r[keep], c[keep]].sum(), abs=1e-6)


def test_one_to_one_equals_networkx_max_weight_matching():
    import networkx as nx

    rng = np.random.default_rng(8)
    for _ in range(3):
        table = _pool(40, 90, rng, span=20, decimals=1)
        caliper = 1.0
        edges = _allowed(table, caliper)
        big_m = 40 * caliper + 1
        graph = nx.Graph()
        graph.add_weighted_edges_from((("case", i), ("control", j), big_m - d) for i, j, d in edges)
        best = nx.max_weight_matching(graph, maxcardinality=True)
        dist = {(i, j): d for i, j, d in edges}
        pairs = [(u[1], v[1]) if u[0] == "case" else (v[1], u[1]) for u, v in best]
        result = match_controls(table, caliper=caliper)
        sets, total = _sets(result)
        assert len(sets) == len(pairs)
        assert total == pytest.approx(sum(dist[p] for p in pairs), abs=1e-6)


def test_greedy_can_find_fewer_pairs_than_optimal_which_finds_the_most():
    """Case A (71.5) is nearest to control 71, which case B (70) needs; greedy taking A first loses B."""
    table = pd.DataFrame(
        {"ovcf": [1, 1, 0, 0], "age": [71.5, 70.0, 71.0, 72.5], "sex": ["F"] * 4},
        index=pd.RangeIndex(2, 6, name="row"),
    )
    greedy = {match_controls(table, caliper=1, seed=s, method="greedy").n_sets for s in range(10)}
    assert greedy == {1, 2}
    for s in range(10):
        result = match_controls(table, caliper=1, seed=s)
        assert result.n_sets == 2 and _sets(result)[0] == {2: [5], 3: [4]}


def test_optimal_output_does_not_depend_on_the_seed():
    table = _pool(80, 300, np.random.default_rng(1), span=30, decimals=1)
    for k in (1, 2):
        first = match_controls(table, caliper=1.5, seed=1, ratio=k)
        for seed in (2, 12345, 2**32 - 1):
            other = match_controls(table, caliper=1.5, seed=seed, ratio=k)
            pd.testing.assert_frame_equal(first.matched, other.matched)
            pd.testing.assert_frame_equal(first.unmatched_cases, other.unmatched_cases)
            assert first.balance_after == other.balance_after


def test_one_to_k_table_shape_each_case_followed_by_its_controls():
    table = _pool(30, 200, np.random.default_rng(2), span=20)
    result = match_controls(table, caliper=3, ratio=3)
    m = result.matched
    assert len(m) == 4 * result.n_sets and list(m.columns) == [*table.columns, "pair_id"]
    assert (m.ovcf.to_numpy()[::4] == 1).all() and (m.groupby("pair_id", sort=False).size() == 4).all()
    assert list(m.pair_id.unique()) == [f"m{i + 1}" for i in range(result.n_sets)]
    assert result.to_dict()["ratio"] == 3 and result.to_dict()["method"] == "optimal"


def test_greedy_one_to_k_gives_complete_sets_only():
    table = _pool(30, 70, np.random.default_rng(4), span=10)
    result = match_controls(table, caliper=1, ratio=2, method="greedy", seed=3)
    _check_valid(table, result, 1)
    assert result.n_sets + len(result.unmatched_cases) == 30


@pytest.mark.parametrize(
    ("kwargs", "message"), [({"method": "best"}, "optimal or greedy"), ({"ratio": 0}, "at least 1")]
)
def test_bad_method_or_ratio_is_an_analysis_error(kwargs, message):
    with pytest.raises(AnalysisError, match=message):
        match_controls(_pool(3, 5, np.random.default_rng(0)), **kwargs)


def test_five_thousand_cases_and_twenty_thousand_controls_match_in_seconds():
    rng = np.random.default_rng(5)
    n_cases, n_controls = 5000, 20000
    n = n_cases + n_controls
    table = pd.DataFrame(
        {
            "ovcf": np.r_[np.ones(n_cases), np.zeros(n_controls)],
            "age": np.r_[rng.normal(74, 8, n_cases), rng.normal(66, 10, n_controls)].round(),
            "sex": rng.choice(["F", "M"], n, p=[0.65, 0.35]),
        }
    )
    start = time.perf_counter()
    result = match_controls(table, caliper=5)
    seconds = time.perf_counter() - start
    assert result.n_sets > 4500
    assert seconds < 30, seconds


def test_one_to_k_rule_complete_sets_first_then_least_distance_no_partial_sets():
    """K = 2: a case that can get only one control is left unmatched; two sets beat one closer set."""
    ages = {"A": 70.0, "B": 72.0, "C": 80.0, "k1": 69.0, "k2": 70.5, "k3": 71.0, "k4": 73.0, "k5": 79.0}
    table = pd.DataFrame(
        {"ovcf": [1, 1, 1, 0, 0, 0, 0, 0], "age": list(ages.values()), "sex": ["F"] * 8},
        index=pd.Index(list(ages), name="row"),
    )
    result = match_controls(table, caliper=2, ratio=2)
    sets, total = _sets(result)
    assert sets == {"A": ["k1", "k2"], "B": ["k3", "k4"]} and total == pytest.approx(3.5)
    assert list(result.unmatched_cases.index) == ["C"]


def test_matching_page_offers_the_method_and_controls_per_case():
    from streamlit.testing.v1 import AppTest

    from dashboard import state

    app = str(Path(__file__).resolve().parents[1] / "dashboard" / "app.py")
    at = AppTest.from_file(app, default_timeout=120).run().switch_page("pages/matching.py").run()
    assert not at.exception, at.exception
    pool = at.session_state[state.MATCHING_POOL]["table"]
    n_cases = int((pool.ovcf == 1).sum())
    assert at.radio(key="matching_method").value == "optimal"
    assert at.number_input(key="matching_ratio").value == 1
    for method, k in (("optimal", 1), ("greedy", 2), ("optimal", 3)):
        at.radio(key="matching_method").set_value(method)
        at.number_input(key="matching_ratio").set_value(k)
        at.run()
        assert not at.exception, at.exception
        expected = match_controls(pool, caliper=2.0, method=method, ratio=k)
        metrics = {m.label: m.value for m in at.metric}
        assert metrics["Cases matched"] == f"{expected.n_sets} of {n_cases}"
        assert metrics["Controls used"] == str(expected.n_sets * k)
        assert metrics["Cases left unmatched"] == str(len(expected.unmatched_cases))
    next(b for b in at.button if b.label.startswith("Analyse the matched")).click().run()
    assert len(at.session_state[state.COHORT]) == 4 * expected.n_sets
