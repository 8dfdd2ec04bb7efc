"""The synthetic sample meets its targets (DESIGN §5), computed independently with scipy and scikit-learn."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import roc_auc_score

from ovcf_core import paths
from ovcf_core.schema import validate_cohort
from ovcf_core.synthetic import CohortSpec, matching_pool, raw_measurements, sample, true_cohort

MARKERS = ("vbq", "hu", "fi", "t_score", "rcsa")  # the paper's order of |rho| with OVCF
LOWER_IS_RISK = {"hu", "t_score", "rcsa"}


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return pd.read_csv(paths.SAMPLE_COHORT)


def _auc(table: pd.DataFrame, marker: str) -> float:
    both = table[["ovcf", marker]].dropna()
    sign = -1 if marker in LOWER_IS_RISK else 1
    return roc_auc_score(both["ovcf"], sign * both[marker])


def test_sample_cohort_is_78_cases_28_men_50_women_and_78_matched_controls(cohort):
    cases, controls = cohort[cohort["ovcf"] == 1], cohort[cohort["ovcf"] == 0]
    assert len(cases) == len(controls) == 78
    assert (cases["sex"] == "M").sum() == 28 and (cases["sex"] == "F").sum() == 50
    assert cohort["age"].min() >= 50
    for _, pair in cohort.groupby("pair_id"):
        assert sorted(pair["ovcf"]) == [0, 1]
        assert pair["sex"].nunique() == 1
        assert pair["age"].max() - pair["age"].min() <= 2


def test_sample_cohort_validates_without_errors_and_ids_are_synthetic(cohort):
    table, report = validate_cohort(cohort)
    assert report.ok and len(table) == 156
    assert cohort["patient_id"].str.fullmatch(r"S\d{4}").all()


def test_correlations_with_ovcf_have_the_papers_sign_and_order(cohort):
    rho = {m: spearmanr(*cohort[["ovcf", m]].dropna().to_numpy().T).statistic for m in MARKERS}
    assert rho["vbq"] > 0 and rho["fi"] > 0
    assert rho["hu"] < 0 and rho["t_score"] < 0 and rho["rcsa"] < 0
    magnitudes = [abs(rho[m]) for m in MARKERS]
    assert magnitudes == sorted(magnitudes, reverse=True)


def test_vbq_auc_is_near_the_papers_and_the_largest(cohort):
    aucs = {m: _auc(cohort, m) for m in MARKERS}
    assert 0.85 <= aucs["vbq"] <= 0.93
    assert max(aucs, key=aucs.get) == "vbq"
    assert [aucs[m] for m in MARKERS] == sorted(aucs.values(), reverse=True)


def test_hu_t_score_and_vbq_fi_are_the_strongest_marker_pairs_near_0_93_and_0_92(cohort):
    pairs = {}
    for i, a in enumerate(MARKERS):
        for b in MARKERS[i + 1 :]:
            both = cohort[[a, b]].dropna()
            pairs[frozenset((a, b))] = spearmanr(both[a], both[b]).statistic
    strongest = sorted(pairs, key=lambda k: -abs(pairs[k]))[:2]
    assert set(strongest) == {frozenset(("hu", "t_score")), frozenset(("vbq", "fi"))}
    assert pairs[frozenset(("hu", "t_score"))] == pytest.approx(0.926, abs=0.03)
    assert pairs[frozenset(("vbq", "fi"))] == pytest.approx(0.919, abs=0.03)
    assert pairs[frozenset(("hu", "rcsa"))] > 0 and pairs[frozenset(("t_score", "rcsa"))] > 0


def test_joint_logistic_model_finds_only_hu_and_vbq_significant(cohort):
    import statsmodels.api as sm

    complete = cohort.dropna(subset=list(MARKERS))
    z = (complete[list(MARKERS)] - complete[list(MARKERS)].mean()) / complete[list(MARKERS)].std()
    exog = pd.concat(
        [complete[["age", "bmi"]], (complete["sex"] == "M").astype(float).rename("male"), z], axis=1
    )
    fit = sm.Logit(complete["ovcf"].astype(float), sm.add_constant(exog)).fit(disp=0)
    assert fit.pvalues["hu"] < 0.05 and fit.pvalues["vbq"] < 0.05
    assert all(fit.pvalues[m] > 0.05 for m in ("fi", "t_score", "rcsa"))


def test_fat_infiltration_is_higher_in_women_among_controls(cohort):
    controls = cohort[cohort["ovcf"] == 0]
    by_sex = controls.groupby("sex")["fi"].mean()
    assert by_sex["F"] > by_sex["M"]
    assert 11 <= by_sex["F"] <= 17 and 8 <= by_sex["M"] <= 13


def test_raters_agree_with_icc_above_0_8():
    raw = pd.read_csv(paths.SAMPLE_RAW)
    both = raw.groupby("patient_id").filter(lambda g: len(g) == 2)
    for column in ("hu_L3", "t_L2", "si_L2", "csa_mf_l_L4L5", "fi_mf_l_L4L5"):
        wide = both.pivot(index="patient_id", columns="rater", values=column).dropna().to_numpy()
        n, k = wide.shape
        grand = wide.mean()
        msr = k * ((wide.mean(1) - grand) ** 2).sum() / (n - 1)
        msc = n * ((wide.mean(0) - grand) ** 2).sum() / (k - 1)
        mse = ((wide - wide.mean(1, keepdims=True) - wide.mean(0) + grand) ** 2).sum() / ((n - 1) * (k - 1))
        icc21 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
        assert icc21 > 0.8, column


def test_raw_table_has_fractures_in_cases_only_and_csf_fallbacks():
    raw = pd.read_csv(paths.SAMPLE_RAW, keep_default_na=False)
    cases = raw[raw["ovcf"] == 1]
    assert (cases["fractured"] != "").all() and (raw.loc[raw["ovcf"] == 0, "fractured"] == "").all()
    assert (cases["fractured"].str.count(";") >= 1).any()  # some cases have two fractured vertebrae
    assert (raw["si_csf_L3"] == "").any() and (raw["si_csf_L2"] != "").any()


def test_generator_is_deterministic_for_a_seed_and_varies_with_it():
    first, again = true_cohort(CohortSpec(seed=5)), true_cohort(CohortSpec(seed=5))
    pd.testing.assert_frame_equal(first, again)
    assert not np.allclose(first["hu"], true_cohort(CohortSpec(seed=6))["hu"])


def test_the_cohort_is_computed_from_the_raw_table_it_ships_with():
    data = sample(CohortSpec(seed=3))
    assert len(data.cohort) == 156
    raw = raw_measurements(true_cohort(CohortSpec(seed=3)))
    assert set(raw["patient_id"]) == set(data.cohort["patient_id"])


def test_matching_pool_has_the_cases_and_400_varied_controls():
    pool = matching_pool(CohortSpec(seed=3))
    controls = pool[pool["ovcf"] == 0]
    assert (pool["ovcf"] == 1).sum() == 78 and len(controls) == 400
    assert controls["age"].between(50, 92).all() and controls["age"].std() > 7
    assert set(controls["sex"]) == {"F", "M"}
    shipped = pd.read_csv(paths.SAMPLE_POOL)
    assert (shipped["ovcf"] == 1).sum() == 78 and (shipped["ovcf"] == 0).sum() == 400
