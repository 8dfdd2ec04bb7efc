"""Markers chosen on the analysis pages themselves (issue 13 item 4): one choice shared by the Data, Cohort,
Correlations, ROC and Logistic pages, kept across navigation."""

from __future__ import annotations

import pytest

from dashboard import state
from tests import apptest_tools as tools

PICKER = "Markers"


def _picker(at):
    (picker,) = [m for m in at.multiselect if m.label == PICKER]
    return picker


@pytest.mark.parametrize("page", ["cohort", "correlations", "roc", "logistic"])
def test_each_analysis_page_offers_the_marker_choice(page):
    at = tools.open_page(f"dashboard/pages/{page}.py")
    assert not at.exception
    assert _picker(at).value == at.session_state[state.ANALYSIS_SETTINGS]["markers"]
    assert {"VBQ score", "Average HU (HU)"} <= set(_picker(at).options)  # shown with their labels


def test_a_choice_on_the_roc_page_is_the_choice_of_every_page():
    at = tools.open_page("dashboard/pages/roc.py")
    _picker(at).set_value(["hu", "vbq"])
    at = at.run()
    assert not at.exception and not at.error
    assert at.session_state[state.ANALYSIS_SETTINGS]["markers"] == ["hu", "vbq"]
    assert at.selectbox(key="roc_marker").options == ["Average HU (HU)", "VBQ score"]
    for page in ("cohort", "correlations", "logistic", "data"):
        at = at.switch_page(f"dashboard/pages/{page}.py").run()
        assert not at.exception, page
        assert _picker(at).value == ["hu", "vbq"], page
    at = at.switch_page("dashboard/pages/cohort.py").run()
    _picker(at).set_value(["fi"])
    at = at.run()
    assert not at.exception
    at = at.switch_page("dashboard/pages/roc.py").run()
    assert _picker(at).value == ["fi"]
    assert at.session_state[state.ANALYSIS_SETTINGS]["adjust"] == ["age", "sex", "bmi"]  # kept


def test_no_marker_left_says_so_without_an_error():
    at = tools.open_page("dashboard/pages/correlations.py")
    _picker(at).set_value([])
    at = at.run()
    assert not at.exception
    assert any("No marker is chosen" in w.value for w in at.warning)
