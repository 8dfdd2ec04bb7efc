"""Tests of every two markers' ROC curves (ovcf_core.stats.marker_comparisons): the AUCs beside each test are
scikit-learn's on the patients having both markers, Venkatraman's E is the brute-force sum of its definition,
D's p is scipy's normal p, and the adjusted p-values are statsmodels' `multipletests`."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import roc_auc_score
from stats_cohorts import paired_cohort
from statsmodels.stats.multitest import multipletests

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.analysis import analyze_cohort
from ovcf_core.stats.marker_comparisons import compare_markers, comparison_rows, resampled_comparison
from ovcf_core.stats.roc import PairedScores

MARKERS = ["vbq", "hu", "fi"]


@pytest.fixture(scope="module")
def cohort():
    table = paired_cohort(50, seed=11)
    table.loc[table.index[:7], "vbq"] = np.nan  # the two markers miss different patients
    table.loc[table.index[-9:], "hu"] = np.nan
    return table


@pytest.fixture(scope="module")
def analysis(cohort):
    return analyze_cohort(cohort, markers=MARKERS, adjust=("age", "sex"), pair=None)


def _both(cohort, a, b):
    rows = cohort[["ovcf", a, b]].dropna()
    return rows["ovcf"].to_numpy(), rows[a].to_numpy(float), rows[b].to_numpy(float)


def venkatraman_e(y, a, b):
    """E by its definition: over every rank cut-off, |errors of b - errors of a| (ties ranked in order)."""

    def errors(score, cut):
        ranks = stats.rankdata(score, method="ordinal")
        return np.sum((ranks <= cut) & (y == 1)) + np.sum((ranks > cut) & (y == 0))

    return sum(abs(errors(b, cut) - errors(a, cut)) for cut in range(1, len(y) + 1))


def _vbq_hu(cohort, vbq) -> PairedScores:
    """The outcome with vbq (higher) against hu (lower), as the cohort's analysis orients them."""
    y, hu = cohort["ovcf"].to_numpy(float), cohort["hu"].to_numpy(float)
    return PairedScores(y, np.asarray(vbq, dtype=float), hu, "higher", "lower", ("vbq", "hu"))


def test_bootstrap_row_has_the_aucs_of_the_shared_patients_and_a_normal_p(cohort):
    y, vbq, hu = _both(cohort, "vbq", "hu")
    c = resampled_comparison(_vbq_hu(cohort, cohort["vbq"]), "bootstrap", 300)
    assert c is not None and (c.a, c.b, c.n) == ("vbq", "hu", len(y))
    assert c.auc_a == pytest.approx(roc_auc_score(y, vbq), abs=1e-12)
    assert c.auc_b == pytest.approx(roc_auc_score(y, -hu), abs=1e-12)
    assert c.p_value == pytest.approx(2 * stats.norm.sf(abs(c.z)), rel=1e-9)


def test_venkatraman_row_fills_in_the_aucs_on_the_patients_having_both_markers(cohort):
    y, vbq, hu = _both(cohort, "vbq", "hu")
    n_perm = 199
    c = resampled_comparison(_vbq_hu(cohort, cohort["vbq"]), "venkatraman", n_perm)
    assert c is not None and c.n == len(y) < len(cohort)
    assert c.auc_a == pytest.approx(roc_auc_score(y, vbq), abs=1e-12)  # not vbq's AUC on all its patients
    assert c.auc_a != pytest.approx(roc_auc_score(*cohort[["ovcf", "vbq"]].dropna().to_numpy().T), abs=1e-6)
    assert c.auc_b == pytest.approx(roc_auc_score(y, -hu), abs=1e-12)
    assert c.z == venkatraman_e(y, vbq, -hu)
    exceed = round(c.p_value * (1 + n_perm)) - 1  # p = (1 + exceedances) / (1 + permutations)
    assert 0 <= exceed <= n_perm and c.p_value == pytest.approx((1 + exceed) / (1 + n_perm))


def test_too_few_patients_give_no_row_and_an_unknown_method_is_refused(cohort):
    y = cohort["ovcf"].to_numpy(float)
    few = cohort["vbq"].to_numpy(float).copy()
    few[y == 1] = np.nan
    few[np.flatnonzero(y == 1)[0]] = 3.0
    pair = _vbq_hu(cohort, few)
    assert resampled_comparison(pair, "bootstrap", 50) is None
    assert resampled_comparison(pair, "venkatraman", 50) is None
    with pytest.raises(AnalysisError, match="unknown"):
        resampled_comparison(pair, "delong", 50)


def test_delong_rows_are_the_analysis_tests_adjusted_as_statsmodels_does(cohort, analysis):
    rows = compare_markers(cohort, analysis, "delong", "holm")
    assert [(r.a, r.b) for r in rows] == list(itertools.combinations(MARKERS, 2))
    assert [r.statistic for r in rows] == [c.z for c in analysis.auc_comparisons]
    expected = multipletests([r.p_value for r in rows], method="holm")[1]
    assert [r.p_adjusted for r in rows] == pytest.approx(list(expected), rel=1e-12)
    assert all(r.pauc_p is None for r in rows)
    assert [r.p_adjusted for r in comparison_rows(analysis)] == [c.p_value for c in analysis.auc_comparisons]


@pytest.mark.parametrize("method", ["bootstrap", "venkatraman"])
def test_resampled_rows_are_the_analysis_own_tests_with_the_same_seed(cohort, method):
    seed, n = 20240471, 120
    rows = compare_markers(cohort, analyze_cohort(cohort, markers=MARKERS), method, "fdr_bh", n, seed=seed)
    reference = analyze_cohort(cohort, markers=MARKERS, roc_test=method, bootstrap=n, seed=seed)
    assert [(r.a, r.b, r.n) for r in rows] == [(c.a, c.b, c.n) for c in reference.auc_comparisons]
    assert [r.statistic for r in rows] == pytest.approx([c.z for c in reference.auc_comparisons], rel=1e-12)
    assert [r.p_value for r in rows] == pytest.approx([c.p_value for c in reference.auc_comparisons])
    expected = multipletests([r.p_value for r in rows], method="fdr_bh")[1]
    assert [r.p_adjusted for r in rows] == pytest.approx(list(expected), rel=1e-12)
    for r in rows:
        y, a, b = _both(cohort, r.a, r.b)
        sign = {"vbq": 1, "hu": -1, "fi": 1}
        assert r.auc_a == pytest.approx(roc_auc_score(y, sign[r.a] * a), abs=1e-12)
        assert r.auc_b == pytest.approx(roc_auc_score(y, sign[r.b] * b), abs=1e-12)


def test_progress_rises_to_one_and_a_memo_runs_each_pair_once(cohort, analysis):
    seen: list[float] = []
    store: dict = {}
    runs: list[tuple] = []

    def memo(key, compute):
        if key not in store:
            runs.append(key)
            store[key] = compute()
        return store[key]

    first = compare_markers(cohort, analysis, "bootstrap", "none", 40, progress=seen.append, memo=memo)
    again = compare_markers(cohort, analysis, "bootstrap", "none", 40, memo=memo)
    assert first == again and len(runs) == 3
    assert runs[0] == (("vbq", "hu"), ("higher", "lower"), "bootstrap", 40)
    assert seen == sorted(seen) and seen[-1] == 1.0 and 0 < seen[0] < 1
    with pytest.raises(AnalysisError, match="unknown"):
        compare_markers(cohort, analysis, "wilcoxon")
