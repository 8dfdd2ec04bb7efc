"""Mann-Whitney and Wilcoxon p-values equal scipy.stats' defaults, from values and from U and tie counts."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from ovcf_core.stats.nonparametric import mann_whitney_p, wilcoxon_p


def _samples(seed: int, n1: int, n2: int, ties: bool) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    a, b = rng.normal(0.3, 1, n1), rng.normal(0, 1, n2)
    return (np.round(a, 1), np.round(b, 1)) if ties else (a, b)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize(("n1", "n2"), [(3, 4), (5, 9), (8, 8), (9, 9), (30, 45), (400, 350)])
def test_mann_whitney_p_equals_scipy_from_values(n1, n2, ties):
    for seed in range(5):
        a, b = _samples(seed, n1, n2, ties)
        assert mann_whitney_p(a, b) == pytest.approx(stats.mannwhitneyu(a, b).pvalue, rel=1e-10, abs=1e-300)


def test_mann_whitney_p_from_u_and_tie_counts_equals_scipy():
    a, b = _samples(11, 500, 700, ties=True)
    u = stats.mannwhitneyu(a, b).statistic  # the cases' U, computed independently
    _, counts = np.unique(np.concatenate([a, b]), return_counts=True)
    p = mann_whitney_p(None, None, u_cases=float(u), tie_counts=counts, n_cases=500, n_controls=700)
    assert p == pytest.approx(stats.mannwhitneyu(a, b).pvalue, rel=1e-10)


def test_u_is_auc_times_group_sizes():
    from sklearn.metrics import roc_auc_score

    a, b = _samples(12, 60, 80, ties=True)
    y = np.r_[np.ones(60), np.zeros(80)]
    auc = roc_auc_score(y, np.r_[a, b])
    assert auc * 60 * 80 == pytest.approx(stats.mannwhitneyu(a, b).statistic)


def test_all_values_tied_gives_p_1_as_scipy():
    assert (
        mann_whitney_p(np.ones(10), np.ones(12)) == stats.mannwhitneyu(np.ones(10), np.ones(12)).pvalue == 1.0
    )


@pytest.mark.parametrize("n", [5, 13, 14, 20, 50, 51, 300, 20_000])
@pytest.mark.parametrize("kind", ["distinct", "ties", "zeros"])
def test_wilcoxon_p_equals_scipy(n, kind):
    rng = np.random.default_rng(n)
    d = rng.normal(0.2, 1, n)
    if kind == "ties":
        d = np.round(d, 1)
    if kind == "zeros":
        d[: max(1, n // 10)] = 0.0
    assert wilcoxon_p(d) == pytest.approx(stats.wilcoxon(d).pvalue, rel=1e-9, abs=1e-300)


def test_wilcoxon_on_a_million_pairs_does_not_import_scipy_stats():
    import subprocess
    import sys

    code = (
        "import sys, numpy as np; from ovcf_core.stats.nonparametric import wilcoxon_p; "
        "p = wilcoxon_p(np.random.default_rng(1).normal(0.001, 1, 1_000_000)); "
        "print(0 < p < 1, 'scipy.stats' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.split() == ["True", "False"]


def test_wilcoxon_without_differences_is_nan():
    assert math.isnan(wilcoxon_p(np.zeros(6)))
    assert math.isnan(wilcoxon_p(np.array([])))
