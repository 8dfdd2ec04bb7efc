"""analyze_cohort against independent computations (scipy, statsmodels, scikit-learn) and its messages
for degenerate markers."""

from __future__ import annotations

import numpy as np
import pytest
import statsmodels.api as sm
from scipy import stats
from sklearn.metrics import roc_auc_score
from stats_cohorts import paired_cohort

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.analysis import analyze_cohort


@pytest.fixture(scope="module")
def cohort():
    table = paired_cohort()
    table.loc[table.index[5], "hu"] = np.nan
    return table


@pytest.fixture(scope="module")
def result(cohort):
    return analyze_cohort(cohort, pair="pair_id")


def test_counts_and_contract_shape(result):
    from conftest import contract_problems

    out = result.to_dict()
    assert out["n"] == {"cases": 60, "controls": 60, "pairs": 60}
    assert contract_problems("analyze", out) == []
    assert set(out["markers"]) == {"t_score", "hu", "vbq", "rcsa", "fi"}


def test_group_tests_match_scipy(cohort, result):
    m = result.to_dict()["markers"]["vbq"]
    case = cohort[cohort.ovcf == 1].set_index("pair_id")["vbq"]
    control = cohort[cohort.ovcf == 0].set_index("pair_id")["vbq"].reindex(case.index)
    assert m["test"] == "paired_t"
    assert m["p_value"] == pytest.approx(stats.ttest_rel(case, control).pvalue, rel=1e-10)
    welch = analyze_cohort(cohort, pair=None).to_dict()["markers"]["vbq"]
    assert welch["test"] == "welch_t"
    expected = stats.ttest_ind(case, control, equal_var=False).pvalue
    assert welch["p_value"] == pytest.approx(expected, rel=1e-10)
    assert m["mean_cases"] == pytest.approx(case.mean())
    assert m["sd_controls"] == pytest.approx(control.std(ddof=1))


def test_paired_t_drops_the_pair_with_a_missing_value(cohort, result):
    m = result.to_dict()["markers"]["hu"]
    assert m["n"] == 119
    assert m["n_pairs"] == 59


def test_spearman_auc_and_or_match_references(cohort, result):
    out = result.to_dict()["markers"]
    ok = cohort["hu"].notna()
    y, x = cohort.loc[ok, "ovcf"].to_numpy(), cohort.loc[ok, "hu"].to_numpy()
    hu = out["hu"]
    rho, p = stats.spearmanr(x, y)
    assert hu["spearman_rho"] == pytest.approx(rho, rel=1e-10)
    assert hu["spearman_p"] == pytest.approx(p, rel=1e-8)
    assert hu["direction"] == "lower"
    assert hu["auc"] == pytest.approx(roc_auc_score(y, -x), rel=1e-12)
    sub = cohort.loc[ok]
    exog = sm.add_constant(
        np.column_stack([sub.hu, sub.age, (sub.sex == "M").astype(float), sub.bmi]).astype(float)
    )
    fit = sm.Logit(y.astype(float), exog).fit(disp=0)
    assert hu["or_per_unit"] == pytest.approx(np.exp(fit.params[1]), rel=1e-6)
    lo, hi = np.exp(fit.conf_int()[1])
    assert hu["or_per_unit_ci"] == pytest.approx([lo, hi], rel=1e-6)
    assert hu["or_p"] == pytest.approx(fit.pvalues[1], rel=1e-5)
    sd = sub.hu.std(ddof=1)
    assert hu["or_per_sd"] == pytest.approx(np.exp(fit.params[1] * sd), rel=1e-6)


def test_auc_comparisons_cover_every_pair_and_match_delong_test(cohort, result):
    from ovcf_core.stats.roc import PairedScores, delong_test

    comps = result.to_dict()["auc_comparisons"]
    assert len(comps) == 10
    vf = next(c for c in comps if {c["a"], c["b"]} == {"vbq", "fi"})
    ref = delong_test(PairedScores(cohort.ovcf, cohort[vf["a"]], cohort[vf["b"]], "higher", "higher"))
    assert vf["z"] == pytest.approx(ref.z, rel=1e-10)
    assert vf["p_value"] == pytest.approx(ref.p_value, rel=1e-10)


def test_marker_correlations_match_scipy(cohort, result):
    corr = result.to_dict()["marker_correlations"]
    ok = cohort[["vbq", "hu"]].dropna()
    rho, p = stats.spearmanr(ok.vbq, ok.hu)
    assert corr["rho"]["vbq"]["hu"] == pytest.approx(rho, rel=1e-10)
    assert corr["p"]["hu"]["vbq"] == pytest.approx(p, rel=1e-8)


def test_degenerate_markers_get_messages_while_others_are_reported(cohort):
    table = cohort.copy()
    table["rcsa"] = 1.0
    table["fi"] = np.nan
    table["extra"] = np.where(table.ovcf == 1, 5.0, np.nan)
    table["few"] = np.nan
    table.loc[table.index[[0, 1, 2, -1, -2, -3]], "few"] = [1, 2, 3, 4, 5, 6]
    table["ties"] = np.where(np.arange(len(table)) % 5 == 0, 2.0, 1.0)
    out = analyze_cohort(table, markers=["vbq", "rcsa", "fi", "extra", "few", "ties"]).to_dict()
    from conftest import contract_problems

    assert contract_problems("analyze", out) == []
    assert out["markers"]["vbq"]["auc"] > 0.7
    assert "constant" in out["messages"]["rcsa"][0]
    assert out["markers"]["rcsa"]["auc"] is None
    assert "no values" in out["messages"]["fi"][0]
    assert "only cases" in out["messages"]["extra"][0]
    assert "at least 10" in out["messages"]["few"][0]
    assert any("heavy ties" in m for m in out["messages"]["ties"])
    assert out["markers"]["ties"]["auc"] is not None


def test_perfect_separation_is_reported_not_a_huge_or(cohort):
    table = cohort.copy()
    table["split"] = np.where(table.ovcf == 1, 10.0, 0.0) + np.arange(len(table)) / 1000
    out = analyze_cohort(table, markers=["vbq", "split"]).to_dict()
    split = out["markers"]["split"]  # separation found on the design -> Firth, never a huge Wald OR
    assert split["or_method"] in ("firth", None) and "separation by split" in split["or_note"]
    assert split["or_per_unit"] is None or split["or_per_unit"] < 1e3
    assert any("separation by split" in m for m in out["messages"]["split"])
    assert out["markers"]["split"]["auc"] == 1.0


def test_one_class_cohort_is_an_error(cohort):
    with pytest.raises(AnalysisError, match="both groups"):
        analyze_cohort(cohort[cohort.ovcf == 1])
