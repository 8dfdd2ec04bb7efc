"""ROC tests beyond DeLong (pROC's bootstrap and Venkatraman tests) and p-value adjustment, checked against
independent computations: scikit-learn AUCs on the same seeded resamples, a brute-force Venkatraman
statistic, and hand-computed Holm and Benjamini–Hochberg values."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.stats import norm, rankdata
from sklearn.metrics import roc_auc_score

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.roc import PairedScores
from ovcf_core.stats.roc_tests import (
    adjust_p,
    bootstrap_auc_test,
    venkatraman_statistic,
    venkatraman_test,
)


def _pair(seed: int, n: int = 120, effect_a: float = 1.2, effect_b: float = 0.6, ties: bool = False):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.45).astype(float)
    a = rng.normal(0, 1, n) + effect_a * y
    b = rng.normal(0, 1, n) + effect_b * y
    if ties:
        a, b = np.round(a, 1), np.round(b, 1)
    return y, a, b


# ---- bootstrap test -------------------------------------------------------------------------------------


def _bootstrap_d_by_hand(y, a, b, n_boot, seed):
    """pROC's D recomputed: the same stratified draws (cases then controls), scikit-learn's AUC."""
    rng = np.random.default_rng(seed)
    cases, controls = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    diffs = []
    for _ in range(n_boot):
        idx = np.concatenate(
            [
                rng.choice(cases, size=len(cases), replace=True),
                rng.choice(controls, size=len(controls), replace=True),
            ]
        )
        diffs.append(roc_auc_score(y[idx], a[idx]) - roc_auc_score(y[idx], b[idx]))
    d = (roc_auc_score(y, a) - roc_auc_score(y, b)) / np.std(diffs, ddof=1)
    return d, 2 * norm.sf(abs(d)), np.std(diffs, ddof=1)


@pytest.mark.parametrize("ties", [False, True])
def test_bootstrap_d_equals_a_recomputation_with_scikit_learn_on_the_same_resamples(ties):
    y, a, b = _pair(1, ties=ties)
    result = bootstrap_auc_test(
        PairedScores(y, a, b, "higher", "higher", names=("vbq", "hu")), n_boot=150, seed=7
    )
    d, p, sd = _bootstrap_d_by_hand(y, a, b, 150, 7)
    assert result.auc_a == pytest.approx(roc_auc_score(y, a), abs=1e-12)
    assert result.auc_b == pytest.approx(roc_auc_score(y, b), abs=1e-12)
    assert result.sd_difference == pytest.approx(sd, rel=1e-10)
    assert result.d == pytest.approx(d, rel=1e-10)
    assert result.p_value == pytest.approx(p, rel=1e-8)
    assert (result.a, result.b, result.n, result.n_boot) == ("vbq", "hu", len(y), 150)


def test_a_lower_marker_is_tested_in_its_direction_and_missing_values_drop_the_patient():
    y, a, b = _pair(2)
    b_lower = -b  # smaller values indicate a case
    a_gaps = a.copy()
    a_gaps[[3, 17]] = np.nan
    result = bootstrap_auc_test(PairedScores(y, a_gaps, b_lower, "higher", "lower"), n_boot=100, seed=3)
    keep = np.isfinite(a_gaps)
    d, p, _ = _bootstrap_d_by_hand(y[keep], a[keep], b[keep], 100, 3)
    assert result.n == keep.sum()
    assert result.d == pytest.approx(d, rel=1e-10)
    assert result.p_value == pytest.approx(p, rel=1e-8)


def test_identical_markers_give_d_zero_and_p_one():
    y, a, _ = _pair(3)
    result = bootstrap_auc_test(PairedScores(y, a, a, "higher", "higher"), n_boot=50, seed=1)
    assert (result.d, result.p_value) == (0.0, 1.0)


def test_bootstrap_test_is_seeded_reports_progress_and_refuses_too_little_data():
    pair = PairedScores(*_pair(4), "higher", "higher")
    calls: list[tuple[int, int]] = []
    first = bootstrap_auc_test(pair, n_boot=200, seed=11, progress=lambda i, n: calls.append((i, n)))
    again = bootstrap_auc_test(pair, n_boot=200, seed=11)
    other = bootstrap_auc_test(pair, n_boot=200, seed=12)
    assert first == again and first.d != other.d
    assert calls[-1] == (200, 200) and len(calls) == 100
    assert set(first.to_dict()) >= {"a", "b", "auc_a", "auc_b", "d", "p_value", "n", "n_boot", "seed"}
    with pytest.raises(AnalysisError, match="cases"):
        bootstrap_auc_test(
            PairedScores([1, 0, 0, 0], [1, 2, 3, 4], [1, 2, 3, 4], "higher", "higher"), n_boot=10
        )
    with pytest.raises(AnalysisError, match="resamples"):
        bootstrap_auc_test(pair, n_boot=1)


# ---- Venkatraman ----------------------------------------------------------------------------------------


def _venkatraman_e_brute(y, a, b):
    """pROC's venkatraman.paired.stat written out: ranks (ties first come first), a loop over cut-offs."""
    r = rankdata(a, method="ordinal")
    s = rankdata(b, method="ordinal")
    n = len(y)
    total = 0
    for x in range(1, n + 1):
        errors_r = sum(1 for i in range(n) if y[i] == 1 and r[i] <= x) + sum(
            1 for i in range(n) if y[i] == 0 and r[i] > x
        )
        errors_s = sum(1 for i in range(n) if y[i] == 1 and s[i] <= x) + sum(
            1 for i in range(n) if y[i] == 0 and s[i] > x
        )
        total += abs(errors_s - errors_r)
    return total


@pytest.mark.parametrize("seed", [0, 1, 2, 3])
def test_venkatraman_statistic_equals_a_brute_force_count(seed):
    y, a, b = _pair(seed, n=14, ties=True)
    y[:2], y[2:4] = 1, 0  # both groups present
    result = venkatraman_test(PairedScores(y, a, b, "higher", "higher"), n_perm=5, seed=1)
    assert result.e == _venkatraman_e_brute(y, a, b)
    # the O(n) statistic on arbitrary rank permutations
    rng = np.random.default_rng(seed)
    for _ in range(5):
        r, s = rng.permutation(14) + 1, rng.permutation(14) + 1
        assert venkatraman_statistic(r, s, y == 1) == _venkatraman_e_brute(y, r, s)


def test_venkatraman_orients_a_lower_marker_before_ranking():
    y, a, b = _pair(5, n=40)
    higher = venkatraman_test(PairedScores(y, a, b, "higher", "higher"), n_perm=50, seed=2)
    lower = venkatraman_test(PairedScores(y, a, -b, "higher", "lower"), n_perm=50, seed=2)
    assert lower.e == _venkatraman_e_brute(y, a, b) == higher.e


def test_identical_curves_give_e_zero_and_p_one():
    y, a, _ = _pair(6, n=60)
    same = venkatraman_test(PairedScores(y, a, a, "higher", "higher"), n_perm=100, seed=3)
    same_ranks = PairedScores(y, a, np.exp(a), "higher", "higher")
    monotone = venkatraman_test(same_ranks, n_perm=100, seed=3)
    for result in (same, monotone):
        assert result.e == 0 and result.n_exceed == 100 and result.p_value == 1.0


def test_equally_good_markers_give_a_large_p_and_very_different_ones_a_small_p():
    alike = venkatraman_test(
        PairedScores(*_pair(7, n=150, effect_a=1.0, effect_b=1.0), "higher", "higher"), n_perm=300, seed=4
    )
    assert alike.p_value > 0.2
    unlike = venkatraman_test(
        PairedScores(*_pair(8, n=150, effect_a=2.0, effect_b=0.0), "higher", "higher"), n_perm=300, seed=4
    )
    assert unlike.n_exceed == 0 and unlike.p_value == pytest.approx(1 / 301)


def test_venkatraman_p_values_are_roughly_uniform_when_the_curves_are_alike():
    p = [
        venkatraman_test(
            PairedScores(*_pair(s, n=150, effect_a=1.0, effect_b=1.0), "higher", "higher"), n_perm=100, seed=s
        ).p_value
        for s in range(30)
    ]
    assert 0.35 < np.mean(p) < 0.65
    assert 0.0 < np.mean(np.asarray(p) <= 0.2) < 0.4


def test_venkatraman_is_seeded_and_reports_progress():
    pair = PairedScores(*_pair(9, n=60, effect_b=1.0), "higher", "higher")
    calls: list[tuple[int, int]] = []
    first = venkatraman_test(pair, n_perm=120, seed=5, progress=lambda i, n: calls.append((i, n)))
    assert first == venkatraman_test(pair, n_perm=120, seed=5)
    assert calls[-1] == (120, 120)
    assert first.p_value == pytest.approx((1 + first.n_exceed) / 121)
    assert first.to_dict()["e"] == first.e
    with pytest.raises(AnalysisError, match="permutation"):
        venkatraman_test(pair, n_perm=0)


# ---- p-value adjustment ---------------------------------------------------------------------------------


def test_holm_and_benjamini_hochberg_match_hand_computations():
    p = [0.01, 0.04, 0.03, 0.005]
    # Holm: sorted 0.005, 0.01, 0.03, 0.04 times 4, 3, 2, 1 = 0.02, 0.03, 0.06, 0.04; running max 0.06
    assert adjust_p(p, "holm") == pytest.approx([0.03, 0.06, 0.06, 0.02])
    # BH: p * 4 / rank = 0.02, 0.02, 0.04, 0.04; running min from the largest rank down
    assert adjust_p(p, "fdr_bh") == pytest.approx([0.02, 0.04, 0.04, 0.02])
    assert adjust_p(p, "none") == p
    assert adjust_p([0.3, 0.6], "holm") == pytest.approx([0.6, 0.6])  # capped at 1 only when above it
    assert adjust_p([0.6, 0.9], "holm") == pytest.approx([1.0, 1.0])


def test_missing_p_values_stay_missing_and_are_not_counted():
    out = adjust_p([0.01, float("nan"), 0.04], "holm")
    assert out[0] == pytest.approx(0.02) and math.isnan(out[1]) and out[2] == pytest.approx(0.04)
    assert adjust_p([], "fdr_bh") == []


def test_bad_adjustment_requests_are_refused():
    with pytest.raises(AnalysisError, match="unknown"):
        adjust_p([0.1], "bonferroni-ish")
    with pytest.raises(AnalysisError, match="between 0 and 1"):
        adjust_p([1.2], "holm")
