"""Each marker's bootstrap CI of the AUC (ovcf_core.stats.marker_aucs) agrees with a stratified percentile
bootstrap written here with scikit-learn's AUC (another random stream, so within Monte Carlo error), is the
analysis' own bootstrap CI with the same seed, and is tabulated beside the DeLong CI (report.tables)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from stats_cohorts import paired_cohort

from ovcf_core import formatting
from ovcf_core.report import tables
from ovcf_core.stats.analysis import analyze_cohort
from ovcf_core.stats.marker_aucs import bootstrap_aucs

MARKERS = ["vbq", "hu"]


@pytest.fixture(scope="module")
def cohort():
    table = paired_cohort(40, seed=9)
    table.loc[table.index[:5], "hu"] = np.nan
    return table


def _sklearn_bootstrap(y, score, n_boot, seed):
    rng = np.random.default_rng(seed)
    cases, controls = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    aucs = []
    for _ in range(n_boot):
        index = np.r_[rng.choice(cases, cases.size), rng.choice(controls, controls.size)]
        aucs.append(roc_auc_score(y[index], score[index]))
    return np.percentile(aucs, [2.5, 97.5])


def test_bootstrap_cis_agree_with_a_sklearn_bootstrap_and_the_analysis_own(cohort):
    n_boot, seed = 1000, 20240471
    analysis = analyze_cohort(cohort, markers=MARKERS)
    rows = bootstrap_aucs(cohort, analysis, n_boot, seed=seed)
    own = analyze_cohort(cohort, markers=MARKERS, bootstrap=200, seed=seed)  # its cut-off CIs resample too
    fewer = bootstrap_aucs(cohort, analysis, 200, seed=seed)
    assert [r.marker for r in rows] == MARKERS
    for r, sign in zip(rows, (1, -1), strict=True):
        complete = cohort[["ovcf", r.marker]].dropna()
        y, x = complete["ovcf"].to_numpy(), sign * complete[r.marker].to_numpy(float)
        assert r.auc.auc == pytest.approx(roc_auc_score(y, x), abs=1e-12)
        assert r.bootstrap_ci == pytest.approx(_sklearn_bootstrap(y, x, n_boot, 1), abs=0.02)
    for r in fewer:
        assert r.bootstrap_ci == pytest.approx(own.marker(r.marker).auc_ci_bootstrap, abs=1e-12)


def test_progress_memo_and_the_table_of_both_cis(cohort):
    analysis = analyze_cohort(cohort, markers=MARKERS)
    seen: list[float] = []
    store: dict = {}

    def memo(key, compute):
        return store[key] if key in store else store.setdefault(key, compute())

    rows = bootstrap_aucs(cohort, analysis, 100, progress=seen.append, memo=memo)
    assert sorted(store) == [("hu", "lower", 100), ("vbq", "higher", 100)]
    assert seen == sorted(seen) and seen[-1] == 1.0
    assert bootstrap_aucs(cohort, analysis, 100, memo=lambda key, compute: store[key]) == rows
    shown = tables.bootstrap_auc_table(rows).set_index("Indicator")
    vbq = rows[0]
    assert shown.loc["VBQ score", "AUC"] == formatting.auc(vbq.auc.auc)
    assert shown.loc["VBQ score", "DeLong 95% CI"] == formatting.interval(*vbq.auc.ci, digits=3)
    assert shown.loc["VBQ score", "Bootstrap 95% CI"] == formatting.interval(*vbq.bootstrap_ci, digits=3)


def test_a_marker_whose_resampling_fails_has_no_ci_and_says_why(cohort):
    analysis = analyze_cohort(cohort, markers=MARKERS)

    def failing(key, compute):
        from ovcf_core.errors import AnalysisError

        raise AnalysisError("too few cases")

    rows = bootstrap_aucs(cohort, analysis, 50, memo=failing)
    assert [(r.bootstrap_ci, r.error) for r in rows] == [(None, "too few cases")] * 2
    assert set(tables.bootstrap_auc_table(rows)["Bootstrap 95% CI"]) == {formatting.MISSING}
