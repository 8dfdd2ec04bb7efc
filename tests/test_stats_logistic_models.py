"""The joint models (ovcf_core.stats.logistic_models) and their forest rows and tables (report.tables): the
multivariable model is statsmodels' `Logit`, the conditional ones statsmodels' `ConditionalLogit` without
the matched-on covariates, and the forest's odds ratios per SD or per stated unit are exp(coef·step)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from stats_cohorts import paired_cohort
from statsmodels.discrete.conditional_models import ConditionalLogit

from ovcf_core import formatting
from ovcf_core.errors import AnalysisError
from ovcf_core.report import tables
from ovcf_core.stats.logistic_models import MATCHED_ON, conditional_covariates, joint_models

MARKERS = ("vbq", "hu")
ADJUST = ("age", "sex", "bmi")


@pytest.fixture(scope="module")
def cohort():
    return paired_cohort(60, seed=5)


def _design(table: pd.DataFrame, terms) -> pd.DataFrame:
    return pd.DataFrame({t: (table[t] == "M").astype(float) if t == "sex" else table[t] for t in terms})


def test_the_multivariable_model_is_statsmodels_logit_of_every_marker_and_covariate(cohort):
    models = joint_models(cohort, "multivariable", MARKERS, ADJUST)
    reference = sm.Logit(cohort["ovcf"], sm.add_constant(_design(cohort, (*MARKERS, *ADJUST)))).fit(disp=0)
    ((markers, fit),) = models.fits
    assert markers == MARKERS and models.kind == "multivariable"
    for marker in MARKERS:
        assert fit.term(marker).or_per_unit == pytest.approx(math.exp(reference.params[marker]), rel=1e-6)
        assert fit.term(marker).p_value == pytest.approx(reference.pvalues[marker], rel=1e-5)
    assert (
        models.messages[0]
        == f"All indicators together: {len(cohort)} patients with every value (60 cases, 60 controls)."
    )


def test_one_marker_is_the_single_marker_model_and_firth_can_be_asked_for(cohort):
    models = joint_models(cohort, "multivariable", ["vbq"], ADJUST, firth=True)
    assert models.messages == ("Only one marker is chosen: this is the single-marker model.",)
    assert models.fits[0][1].term("vbq").method == "firth"


def test_conditional_models_fit_each_marker_within_pairs_without_the_matched_covariates(cohort):
    assert set(MATCHED_ON) == {"age", "sex"} and conditional_covariates(ADJUST) == ["bmi"]
    models = joint_models(cohort, "conditional", MARKERS, ADJUST, "pair_id")
    assert [m for m, _ in models.fits] == [("vbq",), ("hu",)]
    for (marker,), fit in models.fits:
        assert fit.conditional and set(fit.covariates) <= {marker, "bmi"}
        reference = ConditionalLogit(
            cohort["ovcf"], _design(cohort, (marker, "bmi")), groups=cohort["pair_id"]
        )
        params = reference.fit(disp=0).params
        assert fit.term(marker).or_per_unit == pytest.approx(math.exp(params[marker]), rel=1e-5)


def test_a_marker_whose_conditional_model_fails_is_named_and_left_out(cohort):
    table = cohort.copy()
    table["flat"] = np.nan
    models = joint_models(table, "conditional", ("vbq", "flat"), ("age",), "pair_id")
    assert [m for m, _ in models.fits] == [("vbq",)]
    assert any(message.startswith("flat: ") for message in models.messages)
    with pytest.raises(AnalysisError, match="unknown joint model"):
        joint_models(cohort, "stepwise", MARKERS)


def test_forest_rows_of_fits_per_sd_and_per_stated_unit_are_the_fits_odds_ratios(cohort):
    models = joint_models(cohort, "multivariable", MARKERS, ADJUST)
    reference = sm.Logit(cohort["ovcf"], sm.add_constant(_design(cohort, (*MARKERS, *ADJUST)))).fit(disp=0)
    per_sd = tables.forest_from_fits(models.fits, "sd").set_index("marker")
    per_unit = tables.forest_from_fits(models.fits, "unit").set_index("marker")
    for marker, unit, text in (
        ("vbq", 0.1, "VBQ score (per 0.1 VBQ score)"),
        ("hu", 10.0, "Average HU (per 10 HU)"),
    ):
        sd = cohort[marker].std(ddof=1)
        assert per_sd.loc[marker, "or"] == pytest.approx(math.exp(reference.params[marker] * sd), rel=1e-6)
        assert per_unit.loc[marker, "or"] == pytest.approx(
            math.exp(reference.params[marker] * unit), rel=1e-6
        )
        low, high = reference.conf_int().loc[marker]
        assert per_unit.loc[marker, ["low", "high"]].tolist() == pytest.approx(
            [math.exp(low * unit), math.exp(high * unit)], rel=1e-5
        )
        assert per_unit.loc[marker, "label"] == text and per_unit.loc[marker, "n"] == len(cohort)
    assert tables.forest_from_fits((), "sd").empty


def test_forest_table_formats_each_row_by_the_one_policy(cohort):
    forest = tables.forest_from_fits(joint_models(cohort, "multivariable", MARKERS, ADJUST).fits, "sd")
    shown = tables.forest_table(forest, "sd").set_index("Indicator")
    row = forest.set_index("label").loc["VBQ score"]
    assert shown.loc["VBQ score", "OR per SD [95% CI]"] == formatting.odds_ratio_ci(
        row["or"], row["low"], row["high"]
    )
    assert (
        shown.loc["VBQ score", "p"] == formatting.p_value(row["p"])
        and shown.loc["VBQ score", "Method"] == "Wald"
    )
    assert tables.PER_UNIT_COLUMN in tables.forest_table(forest, "unit").columns


def test_balance_table_names_the_covariates_as_every_table_does():
    balance = pd.DataFrame(
        {
            "variable": ["female", "age", "bmi"],
            "smd_before": [0.1234, -0.5, np.nan],
            "smd_after": [0.0, 0.01, 0.2],
        }
    )
    shown = tables.balance_table(balance)
    assert shown["Variable"].tolist() == ["Women (proportion)", "Age (years)", "BMI (kg/m²)"]
    assert shown["SMD before"].tolist() == ["0.123", "−0.500", "—"]
