"""analyze_cohort's options: conditional logistic regression over the pairs (against statsmodels'
ConditionalLogit fitted here) and the stratified bootstrap AUC CI (against a resampling loop written here)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from stats_cohorts import paired_cohort
from statsmodels.discrete.conditional_models import ConditionalLogit

from ovcf_core.stats.analysis import analyze_cohort


@pytest.fixture(scope="module")
def cohort():
    return paired_cohort(n_pairs=80, seed=13)


def test_conditional_odds_ratio_equals_statsmodels_conditional_logit(cohort):
    data = analyze_cohort(cohort, markers=["hu"], pair="pair_id", conditional=True).to_dict()
    hu = data["markers"]["hu"]
    # sex is the same within each pair (matched), so only age and BMI can enter the conditional model
    fit = ConditionalLogit(
        cohort["ovcf"].to_numpy(),
        cohort[["hu", "age", "bmi"]].to_numpy(),
        groups=cohort["pair_id"].to_numpy(),
    ).fit(disp=0)
    lo, hi = fit.conf_int()[0]
    assert hu["conditional_or_per_unit"] == pytest.approx(np.exp(fit.params[0]), rel=1e-5)
    assert hu["conditional_or_per_unit_ci"] == pytest.approx([np.exp(lo), np.exp(hi)], rel=1e-5)
    assert hu["conditional_or_p"] == pytest.approx(fit.pvalues[0], rel=1e-4)
    assert hu["conditional_or_per_sd"] < 1  # lower HU, more risk
    assert any("sex does not vary within any pair" in m for m in data["messages"]["hu"])


def test_conditional_without_pairs_is_a_message_not_an_error(cohort):
    data = analyze_cohort(cohort, markers=["vbq"], pair=None, conditional=True).to_dict()
    assert "conditional_or_per_unit" not in data["markers"]["vbq"]
    assert any("needs a pair column" in m for m in data["messages"]["cohort"])


def test_bootstrap_ci_is_a_seeded_stratified_percentile_interval(cohort):
    data = analyze_cohort(cohort, markers=["vbq"], pair=None, bootstrap=400, seed=5).to_dict()
    lo, hi = data["markers"]["vbq"]["auc_ci_bootstrap"]
    y, x = cohort["ovcf"].to_numpy(), cohort["vbq"].to_numpy()
    cases, controls = x[y == 1], x[y == 0]
    rng = np.random.default_rng(5)
    aucs = []
    for _ in range(400):
        a = rng.choice(cases, size=len(cases), replace=True)
        b = rng.choice(controls, size=len(controls), replace=True)
        aucs.append(roc_auc_score(np.r_[np.ones(len(a)), np.zeros(len(b))], np.r_[a, b]))
    assert (lo, hi) == pytest.approx(tuple(np.quantile(aucs, [0.025, 0.975])), abs=1e-12)
    again = analyze_cohort(cohort, markers=["vbq"], pair=None, bootstrap=400, seed=5).to_dict()
    assert again["markers"]["vbq"]["auc_ci_bootstrap"] == [lo, hi]
