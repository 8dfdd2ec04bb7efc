"""Table 1 pieces against scipy and statsmodels: sex by chi-square or McNemar, SMD, Spearman CI."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from stats_cohorts import paired_cohort
from statsmodels.stats.contingency_tables import mcnemar

from ovcf_core.stats.correlation import correlation_matrix, spearman
from ovcf_core.stats.groups import compare_sex, summarize, table1


def test_sex_chi_square_matches_scipy():
    table = paired_cohort()
    table.loc[table.index[:7], "sex"] = "F"
    result = compare_sex(table)
    grid = [
        [((table.ovcf == 1) & (table.sex == "F")).sum(), ((table.ovcf == 1) & (table.sex == "M")).sum()],
        [((table.ovcf == 0) & (table.sex == "F")).sum(), ((table.ovcf == 0) & (table.sex == "M")).sum()],
    ]
    chi2, p, _, _ = stats.chi2_contingency(grid)
    assert result.test == "chi_square"
    assert result.p_value == pytest.approx(p, rel=1e-10)
    assert result.statistic == pytest.approx(chi2, rel=1e-10)


def test_sex_mcnemar_over_pairs():
    table = paired_cohort(n_pairs=80)
    flip = table.index[(table.ovcf == 0).to_numpy()][:30]
    table.loc[flip, "sex"] = "F"
    result = compare_sex(table, pair="pair_id")
    case = table[table.ovcf == 1].set_index("pair_id").sex
    control = table[table.ovcf == 0].set_index("pair_id").sex.reindex(case.index)
    grid = [
        [((case == "F") & (control == "F")).sum(), ((case == "F") & (control == "M")).sum()],
        [((case == "M") & (control == "F")).sum(), ((case == "M") & (control == "M")).sum()],
    ]
    discordant = grid[0][1] + grid[1][0]
    expected = mcnemar(np.array(grid), exact=discordant < 25, correction=True)
    assert result.test == "mcnemar" and result.n_pairs == 80
    assert result.p_value == pytest.approx(expected.pvalue, rel=1e-10)


def test_table1_rows_and_smd():
    table = paired_cohort()
    result = table1(table, ["age", "bmi"], pair="pair_id")
    age = result.rows[0]
    a, b = table[table.ovcf == 1].age, table[table.ovcf == 0].age
    assert age.smd == pytest.approx((a.mean() - b.mean()) / np.sqrt((a.var() + b.var()) / 2))
    assert age.cases.median == pytest.approx(a.median())
    assert age.cases.q3 == pytest.approx(a.quantile(0.75))
    assert len(result.to_frame()) == 2 and result.sex is not None


def test_spearman_ci_by_fisher_z():
    rng = np.random.default_rng(2)
    x = rng.normal(size=200)
    y = x + rng.normal(size=200)
    r = spearman(x, y)
    rho = stats.spearmanr(x, y).statistic
    half = 1.959963984540054 / np.sqrt(197)
    assert r.rho == pytest.approx(rho)
    assert r.ci == pytest.approx((np.tanh(np.arctanh(rho) - half), np.tanh(np.arctanh(rho) + half)))


def test_correlation_matrix_pairwise_complete_matches_scipy():
    table = paired_cohort()
    table.loc[table.index[:5], "vbq"] = np.nan
    m = correlation_matrix(table, ["vbq", "hu", "fi"])
    ok = table[["vbq", "fi"]].dropna()
    assert m.rho[0, 2] == pytest.approx(stats.spearmanr(ok.vbq, ok.fi).statistic)
    assert m.n[0, 2] == len(ok) and m.n[1, 2] == len(table)
    full = correlation_matrix(paired_cohort(), ["hu", "fi"])
    assert full.rho[0, 1] == pytest.approx(stats.spearmanr(paired_cohort().hu, paired_cohort().fi).statistic)


def test_correlation_matrix_from_precomputed_midranks_equals_scipy():
    import pandas as pd
    from scipy import stats

    from ovcf_core.stats.roc import SortedScores

    rng = np.random.default_rng(11)
    base = rng.normal(size=200)
    table = pd.DataFrame(
        {"a": np.round(base, 1), "b": np.round(base + rng.normal(size=200), 0), "c": rng.normal(size=200)}
    )
    y = (rng.random(200) < 0.5).astype(float)
    ranks = {m: SortedScores.of(y, table[m].to_numpy()).midranks() for m in table.columns}
    fast = correlation_matrix(table, list(table.columns), ranks)
    reference = stats.spearmanr(table.to_numpy())
    np.testing.assert_allclose(fast.rho, reference.statistic, atol=1e-12)
    np.testing.assert_allclose(fast.p, reference.pvalue, rtol=1e-9, atol=1e-300)
    assert (fast.n == 200).all()


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5, 7, 10, 101, 1000, 100_001])
def test_quartiles_equal_numpy_percentile_exactly(n: int) -> None:
    """Table 1's quartiles come from one sort, and equal np.percentile's default method bit for bit."""
    rng = np.random.default_rng(n)
    for x in (rng.normal(100, 25, n), np.round(rng.normal(3, 0.5, n), 1), rng.exponential(7, n)):
        summary = summarize(x)
        assert (summary.q1, summary.median, summary.q3) == tuple(
            float(v) for v in np.percentile(x, [25, 50, 75])
        )
