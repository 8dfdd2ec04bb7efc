"""The ROC page's comparisons of every two indicators' curves by the bootstrap or Venkatraman's test show
scikit-learn's AUCs, Venkatraman's E by its definition and statsmodels' Holm p-values; the resampled tests
run once per session and are shown again without resampling."""

from __future__ import annotations

from sklearn.metrics import roc_auc_score
from statsmodels.stats.multitest import multipletests
from test_stats_marker_comparisons import venkatraman_e

from dashboard import analysis, state
from ovcf_core import formatting
from ovcf_core.stats.marker_comparisons import compare_markers
from tests.apptest_tools import open_page


def _widget(widgets, key: str):
    return next(w for w in widgets if w.key == key)


def _comparisons(at):
    assert not at.exception, at.exception
    return next(d.value for d in at.dataframe if "Comparison" in d.value.columns).set_index("Comparison")


def test_venkatraman_comparisons_show_sklearn_aucs_and_the_defined_e_and_run_once():
    at = open_page("dashboard/pages/roc.py")
    at.session_state["roc_compare_n"] = 200  # the slider is disabled until a resampled test is chosen
    _widget(at.radio, "roc_compare_method").set_value("venkatraman").run()
    shown = _comparisons(at)
    table = at.session_state[state.COHORT]
    rows = table[["ovcf", "vbq", "hu"]].dropna()
    y = rows["ovcf"].to_numpy()
    row = shown.loc["Average HU vs VBQ score"]
    assert row["AUC A"] == formatting.auc(roc_auc_score(y, -rows["hu"]))
    assert row["AUC B"] == formatting.auc(roc_auc_score(y, rows["vbq"]))
    assert row["E"] == formatting.number(venkatraman_e(y, -rows["hu"].to_numpy(), rows["vbq"].to_numpy()), 2)
    stored = dict(at.session_state[analysis.RESAMPLED])
    at.run()  # a rerun shows the remembered tests, resampling nothing
    assert _comparisons(at).equals(shown)
    assert dict(at.session_state[analysis.RESAMPLED]).keys() == stored.keys()


def test_bootstrap_comparisons_are_adjusted_by_holm_as_statsmodels_does():
    at = open_page("dashboard/pages/roc.py")
    next(s for s in at.selectbox if s.label == "p-value adjustment").set_value("holm").run()
    at.session_state["roc_compare_n"] = 200  # the slider is disabled until a resampled test is chosen
    _widget(at.radio, "roc_compare_method").set_value("bootstrap").run()
    shown = _comparisons(at)
    table = at.session_state[state.COHORT]
    settings = state.analysis_settings(table)
    result = analysis.cohort_analysis(
        table, at.session_state[state.COHORT_KEY], tuple(settings["markers"]), tuple(settings["adjust"]),
        settings["pair"], analysis.options_key(analysis.DEFAULT_OPTIONS),
    )  # fmt: skip
    rows = compare_markers(table, result, "bootstrap", "none", 200)
    holm = multipletests([r.p_value for r in rows], method="holm")[1]
    assert list(shown["D"]) == [formatting.number(r.statistic, 2) for r in rows]
    assert list(shown["p (Holm)"]) == [formatting.p_value(p) for p in holm]
