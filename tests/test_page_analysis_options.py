"""The analysis options on the ROC and Logistic pages (cut-off rule, partial AUC, p-value adjustment, Firth)
change the one analysis every page and the report show; checked against scikit-learn, statsmodels and the
library run directly. Also: the bootstrap AUC CIs are computed once and shown again without a replay."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score
from statsmodels.stats.multitest import multipletests
from test_pages import open_page

from dashboard import analysis, state
from ovcf_core import formatting
from ovcf_core.report import content, style
from ovcf_core.stats.analysis import analyze_cohort
from ovcf_core.stats.cutoffs import CutoffChoice, choose_threshold
from ovcf_core.stats.roc import bootstrap_auc_ci


def _frame_with(at, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _widget(widgets, label: str):
    return next(w for w in widgets if w.label == label)


@pytest.fixture
def roc_page():
    at = open_page("pages/roc.py")
    assert not at.exception, at.exception
    return at


def test_partial_auc_range_adds_mcclish_partial_aucs_equal_to_scikit_learn(roc_page):
    at = roc_page
    _widget(at.toggle, "Partial AUC").set_value(True).run()
    assert not at.exception, at.exception
    assert at.session_state[analysis.OPTIONS]["pauc"] == (0.8, 1.0)
    table = at.session_state[state.COHORT]
    shown = _frame_with(at, "pAUC (McClish)").set_index("Indicator")
    for marker, sign in (("vbq", 1), ("hu", -1)):
        rows = table[["ovcf", marker]].dropna()
        expected = roc_auc_score(rows["ovcf"], sign * rows[marker], max_fpr=0.2)  # McClish-standardised
        assert shown.loc[style.marker_label(marker), "pAUC (McClish)"] == formatting.auc(expected)
    assert "Partial AUC over specificity 0.80–1.00" in "\n".join(c.value for c in at.caption)


def test_p_adjustment_holm_equals_statsmodels_on_the_delong_p_values(roc_page):
    at = roc_page
    _widget(at.selectbox, "p-value adjustment").set_value("holm").run()
    assert not at.exception, at.exception
    table = at.session_state[state.COHORT]
    settings = state.default_settings(table)
    raw = analyze_cohort(
        table, markers=settings["markers"], adjust=tuple(settings["adjust"]), pair=settings["pair"]
    )
    p = [c.p_value for c in raw.auc_comparisons]
    expected = multipletests(p, method="holm")[1]
    shown = _frame_with(at, "p (Holm)")
    assert shown["p (Holm)"].tolist() == [formatting.p_value(v) for v in expected]


def test_cutoff_rule_changes_every_cutoff_of_the_analysis_and_the_wording(roc_page):
    at = roc_page
    _widget(at.selectbox, "Cut-off rule").set_value("closest_topleft").run()
    assert not at.exception, at.exception
    table = at.session_state[state.COHORT]
    shown = _frame_with(at, "Cut-off").set_index("Indicator")
    for marker, direction in (("vbq", "higher"), ("hu", "lower")):
        rows = table[["ovcf", marker]].dropna()
        y, x = rows["ovcf"].to_numpy(float), rows[marker].to_numpy(float)
        threshold = choose_threshold(y, x, direction, CutoffChoice("closest_topleft"))
        assert shown.loc[style.marker_label(marker), "Cut-off"] == formatting.marker_value(marker, threshold)
    captions = "\n".join(c.value for c in at.caption)
    assert "closest to (0, 1)" in captions and "Youden" not in captions
    # the option outlives the page: another page and back, it is still chosen
    at.switch_page("pages/logistic.py").run()
    at.switch_page("pages/roc.py").run()
    assert _widget(at.selectbox, "Cut-off rule").value == "closest_topleft"


def test_report_wording_names_the_methods_used():
    table = open_page("pages/roc.py").session_state[state.COHORT]
    result = analyze_cohort(table, markers=["vbq", "hu"], cutoff="sensitivity:0.9", p_adjust="fdr_bh")
    sections = {s.title: s for s in content.report_sections(result, table)}
    roc = sections["ROC analysis"].caption or ""
    assert "fixed sensitivity 90%" in roc and "Youden" not in roc
    comparison = next(s for t, s in sections.items() if t.startswith("Comparison of AUCs"))
    assert comparison.title == "Comparison of AUCs (DeLong's test)"
    assert "Benjamini–Hochberg" in (comparison.caption or "")
    table2 = "Table 2. Correlation with OVCF and adjusted odds ratios"
    assert "where a variable separates" in (sections[table2].caption or "")
    firth = dataclasses.replace(result, firth=True)  # the wording follows the analysis' own setting
    caption = next(s for s in content.report_sections(firth, table) if s.title == table2).caption or ""
    assert "Firth's penalised likelihood with profile-likelihood 95% CI for every model" in caption


def test_firth_toggle_fits_every_model_by_firth_as_the_library_does():
    at = open_page("pages/logistic.py")
    _widget(at.toggle, "Firth for every model").set_value(True).run()
    assert not at.exception, at.exception
    table = at.session_state[state.COHORT]
    settings = state.default_settings(table)
    direct = analyze_cohort(
        table,
        markers=settings["markers"],
        adjust=tuple(settings["adjust"]),
        pair=settings["pair"],
        firth=True,
    )
    shown = _frame_with(at, "OR per SD [95% CI]").set_index("Indicator")
    assert set(shown["Method"]) == {"Firth"}
    vbq = direct.marker("vbq").odds_ratio
    assert shown.loc["VBQ score", "OR per SD [95% CI]"] == formatting.odds_ratio_ci(
        vbq.or_per_sd, *vbq.or_per_sd_ci
    )
    assert "for every model" in "\n".join(c.value for c in at.caption)


def test_bootstrap_cis_are_computed_once_and_shown_again_without_a_replay(roc_page):
    at = roc_page
    _widget(at.select_slider, "Resamples").set_value(200).run()
    _widget(at.button, "Compute bootstrap CIs").click().run()
    assert not at.exception, at.exception
    table = at.session_state[state.COHORT]
    rows = table[["ovcf", "vbq"]].dropna()
    low, high = bootstrap_auc_ci(rows["ovcf"].to_numpy(float), rows["vbq"].to_numpy(float), "higher", 200)
    shown = _frame_with(at, "Bootstrap 95% CI").set_index("Indicator")
    assert shown.loc["VBQ score", "Bootstrap 95% CI"] == formatting.interval(low, high, 3)
    stored = dict(at.session_state[analysis.RESAMPLED])
    _widget(at.button, "Compute bootstrap CIs").click().run()  # asked again: from the session, no resampling
    assert not at.exception, at.exception
    assert dict(at.session_state[analysis.RESAMPLED]).keys() == stored.keys()
    assert _frame_with(at, "Bootstrap 95% CI").equals(shown.reset_index())
    assert np.isfinite(low) and low < high
