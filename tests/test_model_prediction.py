"""One patient's prediction: statsmodels + the King & Zeng prior correction computed here, the delta-method
CI by hand, CI coverage by simulation, and the checks on every input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from model_cohorts import simulated_cohort, true_logit
from scipy.special import expit, logit

from ovcf_core.errors import InputError
from ovcf_core.model import DEFAULT_PREVALENCE, PREVALENCE_SOURCE, RiskModel

PATIENT = {"vbq": 3.6, "hu": 95.0, "age": 74.0, "sex": "F", "bmi": 22.5}


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return simulated_cohort(n=180, seed=23)


@pytest.fixture(scope="module")
def model(cohort) -> RiskModel:
    return RiskModel(n_bootstrap=0).fit(cohort)


@pytest.fixture(scope="module")
def reference(cohort):
    """statsmodels' own fit and the patient's exogenous row, built independently of ovcf_core."""
    X = sm.add_constant(
        pd.DataFrame(
            {
                "vbq": cohort["vbq"],
                "hu": cohort["hu"],
                "age": cohort["age"],
                "male": (cohort["sex"] == "M").astype(float),
                "bmi": cohort["bmi"],
            }
        )
    )
    result = sm.Logit(cohort["ovcf"], X).fit(disp=0)
    x = np.array([1.0, PATIENT["vbq"], PATIENT["hu"], PATIENT["age"], 0.0, PATIENT["bmi"]])
    return result, x


def test_probability_without_prevalence_equals_statsmodels_predict(model, reference):
    result, x = reference
    expected = float(result.predict(x.reshape(1, -1))[0])
    prediction = model.predict(PATIENT)
    assert prediction.probability == pytest.approx(expected, rel=1e-7)
    assert prediction.prevalence is None


@pytest.mark.parametrize("prevalence", [0.02, 0.10, 0.35])
def test_prior_corrected_probability_equals_king_zeng_formula(model, reference, cohort, prevalence):
    result, x = reference
    n_cases = int(cohort["ovcf"].sum())
    n_controls = len(cohort) - n_cases
    corrected_logit = (
        x @ result.params.to_numpy()
        + math.log(prevalence / (1 - prevalence))
        - math.log(n_cases / n_controls)
    )
    prediction = model.predict(PATIENT, prevalence=prevalence)
    assert prediction.probability == pytest.approx(1 / (1 + math.exp(-corrected_logit)), rel=1e-7)
    assert prediction.prevalence == prevalence


def test_ci_is_the_delta_method_on_the_logit_scale(model, reference):
    result, x = reference
    cov = result.cov_params().to_numpy()
    se = math.sqrt(sum(x[i] * cov[i, j] * x[j] for i in range(6) for j in range(6)))
    centre = x @ result.params.to_numpy()
    prediction = model.predict(PATIENT)
    assert prediction.se_logit == pytest.approx(se, rel=1e-6)
    assert prediction.ci[0] == pytest.approx(expit(centre - 1.959964 * se), rel=1e-5)
    assert prediction.ci[1] == pytest.approx(expit(centre + 1.959964 * se), rel=1e-5)
    assert prediction.ci[0] < prediction.probability < prediction.ci[1]


def test_ci_covers_the_true_probability_about_95_percent_of_the_time():
    """200 simulated cohorts from a known model: the 95% CI should hold the true probability ~95% of times."""
    patient = {"vbq": 3.7, "hu": 90.0}
    truth = expit(true_logit(np.array(3.7), np.array(90.0), np.array(68.0), np.array(0.0), np.array(24.0)))
    covered = 0
    for seed in range(200):
        table = simulated_cohort(n=250, seed=1000 + seed).assign(age=68.0, bmi=24.0, sex="F")
        fitted = RiskModel(features=("vbq", "hu"), adjust=(), n_bootstrap=0).fit(table)
        low, high = fitted.predict(patient).ci
        covered += low <= truth <= high
    assert 0.90 <= covered / 200 <= 0.99


def test_contributions_are_coefficient_times_distance_from_training_mean(model, cohort):
    prediction = model.predict(PATIENT)
    b = dict(zip(model.terms_, model.coef_, strict=True))
    assert prediction.contributions["vbq"] == pytest.approx(b["vbq"] * (3.6 - cohort["vbq"].mean()), rel=1e-9)
    male_fraction = (cohort["sex"] == "M").mean()
    assert prediction.contributions["sex_male"] == pytest.approx(
        b["sex_male"] * (0 - male_fraction), rel=1e-9
    )
    centre = model.coef_ @ model.means_
    assert prediction.logit == pytest.approx(centre + sum(prediction.contributions.values()), rel=1e-9)


def test_values_outside_the_training_range_are_used_with_a_warning(model, cohort):
    prediction = model.predict({**PATIENT, "hu": float(cohort["hu"].max() + 50)})
    assert any("hu" in w and "extrapolates" in w for w in prediction.warnings)
    assert not model.predict(PATIENT).warnings


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"vbq": 12.0}, "outside the plausible range 0.5 to 10"),
        ({"hu": -400}, "outside the plausible range -300 to 1500 HU"),
        ({"age": 12}, "outside the plausible range 18 to 120 years"),
        ({"bmi": "heavy"}, "'heavy' is not a number"),
        ({"hu": float("inf")}, "not a finite number"),
        ({"sex": "X"}, "'X' is not a sex"),
        ({"vbq": None}, "required"),
        ({"vbq": ""}, "required"),
    ],
)
def test_implausible_or_missing_inputs_are_refused_with_a_clear_message(model, change, message):
    with pytest.raises(InputError, match=message.replace("(", r"\(")):
        model.predict({**PATIENT, **change})


@pytest.mark.parametrize("prevalence", [0, 1, 1.5, -0.1, "ten"])
def test_prevalence_must_be_a_fraction_between_0_and_1(model, prevalence):
    with pytest.raises(InputError, match="prevalence"):
        model.predict(PATIENT, prevalence=prevalence)


def test_decimal_comma_and_sex_words_are_accepted(model):
    prediction = model.predict({**PATIENT, "vbq": "3,6", "sex": "female"})
    assert prediction.probability == pytest.approx(model.predict(PATIENT).probability)


def test_default_prevalence_is_documented_with_its_source_and_meaning():
    assert pytest.approx(0.10) == DEFAULT_PREVALENCE
    assert "JAMA Netw Open 2021" in PREVALENCE_SOURCE
    assert (
        "vertebral fracture" in PREVALENCE_SOURCE
        and "not the prevalence of surgically treated" in PREVALENCE_SOURCE
    )


def test_prediction_json_has_the_contract_keys(model):
    from conftest import contract_problems

    out = model.predict(PATIENT, prevalence=0.1).to_dict()
    assert contract_problems("predict", out) == []
    assert "not a medical device" in out["note"]
    assert logit(out["probability"]) == pytest.approx(out["logit"])
