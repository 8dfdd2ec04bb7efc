"""The Logistic page's joint and conditional models (dashboard/logistic_view.py) show the odds ratios of
ovcf_core's own fits of the same cohort, covariates and markers (the page only draws them)."""

from __future__ import annotations

from dashboard import state
from ovcf_core import formatting
from ovcf_core.stats.logistic import fit_conditional, fit_logistic
from tests.apptest_tools import open_page

OR_SD = "OR per SD [95% CI]"


def _choose_model(at, model: str):
    next(r for r in at.radio if r.key == "logistic_model").set_value(model).run()
    assert not at.exception, at.exception
    return at.dataframe[0].value.set_index("Indicator")


def test_all_indicators_together_shows_the_multivariable_fit():
    at = open_page("dashboard/pages/logistic.py")
    table = at.session_state[state.COHORT]
    settings = state.analysis_settings(table)
    shown = _choose_model(at, "multivariable")
    fit = fit_logistic(table, settings["markers"], settings["adjust"])
    for marker, label in (("vbq", "VBQ score"), ("hu", "Average HU")):
        expected = formatting.ratio(fit.term(marker).or_per_sd)
        assert shown.loc[label, OR_SD].startswith(f"{expected} ["), (marker, shown.loc[label, OR_SD])
    assert set(shown["n"]) == {fit.n}


def test_conditional_model_fits_each_marker_within_pairs_without_the_matched_covariates():
    at = open_page("dashboard/pages/logistic.py")
    table = at.session_state[state.COHORT]
    settings = state.analysis_settings(table)
    assert settings["pair"], "the synthetic sample is 1:1 matched"
    shown = _choose_model(at, "conditional")
    unmatched = [a for a in settings["adjust"] if a not in ("age", "sex")]
    for marker, label in (("vbq", "VBQ score"), ("fi", "Average FI")):
        fit = fit_conditional(table, [marker], settings["pair"], unmatched)
        expected = formatting.ratio(fit.term(marker).or_per_sd)
        assert shown.loc[label, OR_SD].startswith(f"{expected} ["), (marker, shown.loc[label, OR_SD])
