"""Study planning page (AppTest): the numbers shown are the library's, which the stats tests check against
pROC and pmsampsize; switching modes and bad combinations give results or a one-line message."""

from __future__ import annotations

import pytest

from ovcf_core.stats.power import pmsampsize_binary, power_roc_test
from tests import apptest_tools as tools

PAGE = "dashboard/pages/planning.py"


def _metrics(at) -> dict[str, str]:
    return {m.label: m.value for m in at.metric}


def _number(at, label: str):
    return next(n for n in at.number_input if n.label == label)


@pytest.fixture(scope="module")
def opened():
    at = tools.open_page(PAGE)
    assert not at.exception and not at.error
    return at


def test_default_plan_shows_the_library_sample_sizes(opened):
    plan = power_roc_test(0.8, kappa=1.0, alpha=0.05, power=0.9)
    shown = _metrics(opened)
    assert shown["Cases needed"] == str(plan.n_cases_needed)
    assert shown["Controls needed"] == str(plan.n_controls_needed)
    model = pmsampsize_binary(0.174, 24, r2_cs=0.288)
    assert shown["Patients needed"] == "662" == str(model.n)
    assert "Riley et al. (2020)" in tools.shown_text(opened)


def test_power_mode_and_a_second_auc():
    at = tools.open_page(PAGE)
    at.radio[0].set_value("Power (give the cases)")
    at = at.run()
    _number(at, "Cases available").set_value(41)
    _number(at, "Anticipated AUC").set_value(0.73)
    _number(at, "Controls per case (κ)").set_value(1.7)
    at = at.run()
    assert not at.exception and not at.error
    expected = power_roc_test(0.73, kappa=1.7, n_cases=41)
    assert _metrics(at)["Power"] == f"{expected.power:.1%}"
    at.checkbox[0].check()
    at = at.run()
    expected = power_roc_test(0.73, kappa=1.7, n_cases=41, auc2=0.7, r=0.5)
    assert _metrics(at)["Power"] == f"{expected.power:.1%}"


def test_c_statistic_input_and_an_impossible_r2_message():
    at = tools.open_page(PAGE)
    at.radio[1].set_value("C-statistic (AUC)")
    at = at.run()
    assert _metrics(at)["Patients needed"] == str(pmsampsize_binary(0.174, 24, c_statistic=0.8).n)
    at.radio[1].set_value("Cox-Snell R²")
    at = at.run()
    _number(at, "Outcome prevalence").set_value(0.02)
    _number(at, "Cox-Snell R²").set_value(0.5)
    at = at.run()
    assert not at.exception
    assert "below its maximum" in at.error[0].value
    assert "Cases needed" in _metrics(at)  # the ROC part still shows
