"""A fitted RiskModel's odds ratio per a stated step of a term (ovcf_core.model.explain) is statsmodels'
`Logit` of the same table: exp(step·β) with Wald bounds exp(step·(β ± 1.96·SE)); and the Calculator's note
on a negative age effect appears exactly when that odds ratio is below 1."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from stats_cohorts import paired_cohort

from ovcf_core.errors import InputError
from ovcf_core.model import RiskModel
from ovcf_core.model.explain import age_lowers_the_odds, term_odds_ratio

Z = stats.norm.ppf(0.975)


@pytest.fixture(scope="module")
def cohort():
    return paired_cohort(80, seed=3)


def _statsmodels(table: pd.DataFrame):
    X = table[["vbq", "hu", "age", "bmi"]].assign(sex_male=(table["sex"] == "M").astype(float))
    return sm.Logit(table["ovcf"], sm.add_constant(X)).fit(disp=0)


@pytest.mark.parametrize(("term", "per"), [("age", 1.0), ("age", 10.0), ("hu", 10.0), ("sex_male", 1.0)])
def test_term_odds_ratio_per_step_is_statsmodels_with_its_wald_ci(cohort, term, per):
    model = RiskModel(n_bootstrap=0).fit(cohort)
    reference = _statsmodels(cohort)
    found = term_odds_ratio(model, term, per)
    beta, se = reference.params[term], reference.bse[term]
    assert found.odds_ratio == pytest.approx(math.exp(per * beta), rel=1e-6)
    assert found.ci == pytest.approx(
        (math.exp(per * (beta - Z * se)), math.exp(per * (beta + Z * se))), rel=1e-5
    )
    assert term not in found.adjusted_for and len(found.adjusted_for) == 4


def test_an_unknown_term_is_refused(cohort):
    model = RiskModel(n_bootstrap=0).fit(cohort)
    with pytest.raises(InputError, match="not a term"):
        term_odds_ratio(model, "const")
    with pytest.raises(InputError, match="not a term"):
        term_odds_ratio(model, "fi")


def test_the_age_note_is_given_exactly_when_age_lowers_the_odds(cohort):
    older_controls = cohort.assign(age=cohort["age"] + 15 * (1 - cohort["ovcf"]))  # controls chosen older
    for table in (cohort, older_controls):
        model = RiskModel(n_bootstrap=0).fit(table)
        beta = _statsmodels(table).params["age"]
        found = age_lowers_the_odds(model)
        assert (found is not None) == (beta < 0)
        if found is not None:
            assert found.odds_ratio == pytest.approx(math.exp(beta), rel=1e-6) and found.per == 1.0
    assert age_lowers_the_odds(RiskModel(n_bootstrap=0).fit(older_controls)) is not None
    assert age_lowers_the_odds(RiskModel(adjust=("sex", "bmi"), n_bootstrap=0).fit(older_controls)) is None
