"""`analyze --roc-test / --cutoff / --smooth`: the JSON equals the ROC library run directly on the same rows
(the library itself is tested against sklearn and brute force), counts and ratios are re-derived here by
hand, the schema holds the new keys, the CLI refuses bad values before reading, and the ROC page's widgets."""

from __future__ import annotations

import itertools
import json

import numpy as np
import pandas as pd
import pytest
from conftest import contract_problems, run_cli
from scipy import stats
from scipy.special import ndtr, ndtri
from stats_cohorts import paired_cohort

from ovcf_core.schema import Direction
from ovcf_core.stats import roc
from ovcf_core.stats.analysis import analyze_cohort
from ovcf_core.stats.binormal import binormal_roc
from ovcf_core.stats.cutoff_rules import CutoffRule, parse_cutoff_rule
from ovcf_core.stats.cutoffs import CutoffChoice, choose_threshold, cutoff_analysis
from ovcf_core.stats.partial_auc import compare_partial_auc
from ovcf_core.stats.partial_auc_delong import delong_partial_auc_test
from ovcf_core.stats.roc_tests import adjust_p, bootstrap_auc_test, venkatraman_test

MARKERS = ["hu", "vbq", "fi"]


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    table = paired_cohort(n_pairs=50, seed=21)
    table.loc[table.index[[3, 60, 71]], "fi"] = np.nan  # comparisons with fi use the patients having both
    return table


def _rows(table: pd.DataFrame, marker: str) -> tuple[np.ndarray, np.ndarray]:
    keep = table[marker].notna()
    return table.loc[keep, "ovcf"].to_numpy(float), table.loc[keep, marker].to_numpy(float)


def _counts(y: np.ndarray, x: np.ndarray, threshold: float, direction: str) -> tuple[int, int, int, int]:
    """TP, FN, FP, TN counted by hand."""
    positive = x >= threshold if direction == "higher" else x <= threshold
    tp, fp = int((positive & (y == 1)).sum()), int((positive & (y == 0)).sum())
    return tp, int((y == 1).sum()) - tp, fp, int((y == 0).sum()) - fp


# ---------------------------------------------------------------- ROC tests between markers


@pytest.mark.parametrize("method", ["bootstrap", "venkatraman"])
def test_comparisons_are_the_library_tests_on_the_same_rows_with_holm_on_top(cohort, method):
    data = analyze_cohort(
        cohort, markers=MARKERS, pair=None, roc_test=method, bootstrap=150, seed=4, p_adjust="holm"
    ).to_dict()
    directions = {m: data["markers"][m]["direction"] for m in MARKERS}
    y = cohort["ovcf"].to_numpy(float)
    shown = data["auc_comparisons"]
    assert [(c["a"], c["b"]) for c in shown] == list(itertools.combinations(MARKERS, 2))
    for c in shown:
        a, b = c["a"], c["b"]
        xa, xb = cohort[a].to_numpy(float), cohort[b].to_numpy(float)
        pair = roc.PairedScores(y, xa, xb, directions[a], directions[b], (a, b))
        if method == "bootstrap":
            direct = bootstrap_auc_test(pair, n_boot=150, seed=4)
        else:
            direct = venkatraman_test(pair, n_perm=150, seed=4)
        assert c["method"] == method
        assert c["p_value"] == direct.p_value
        assert c["z"] == (direct.d if method == "bootstrap" else direct.e)
        both = np.isfinite(xa) & np.isfinite(xb)
        assert c["n"] == int(both.sum()) == direct.n
        oriented = xa[both] if directions[a] == "higher" else -xa[both]
        u = stats.mannwhitneyu(oriented[y[both] == 1], oriented[y[both] == 0]).statistic
        assert c["auc_a"] == pytest.approx(u / ((y[both] == 1).sum() * (y[both] == 0).sum()), abs=1e-12)
    assert [c["p_adjusted"] for c in shown] == adjust_p([c["p_value"] for c in shown], "holm")
    assert data["settings"]["roc_test"] == method and data["settings"]["roc_test_resamples"] == 150
    assert contract_problems("analyze", data) == []


def test_delong_stays_the_default_and_says_so(cohort):
    data = analyze_cohort(cohort, markers=MARKERS, pair=None).to_dict()
    y = cohort["ovcf"].to_numpy(float)
    first = data["auc_comparisons"][0]
    direct = roc.delong_test(
        roc.PairedScores(y, cohort["hu"], cohort["vbq"], "lower", "higher", ("hu", "vbq"))
    )
    assert first["method"] == "delong" and first["z"] == pytest.approx(direct.z, rel=1e-12)
    assert "pauc_p" not in first and data["settings"]["roc_test_resamples"] is None


def test_resampled_tests_default_to_2000_when_no_bootstrap_is_given(cohort):
    data = analyze_cohort(cohort, markers=["hu", "vbq"], pair=None, roc_test="venkatraman", seed=2).to_dict()
    y = cohort["ovcf"].to_numpy(float)
    direct = venkatraman_test(
        roc.PairedScores(y, cohort["hu"], cohort["vbq"], "lower", "higher", ("hu", "vbq")), seed=2
    )
    assert direct.n_perm == 2000 and data["auc_comparisons"][0]["p_value"] == direct.p_value
    assert data["settings"]["roc_test_resamples"] == 2000
    assert "auc_ci_bootstrap" not in data["markers"]["hu"]  # --bootstrap 0 still means no AUC bootstrap


def test_partial_auc_comparisons_come_with_the_bootstrap_and_delong_tests(cohort):
    data = analyze_cohort(
        cohort, markers=MARKERS, pair=None, roc_test="bootstrap", bootstrap=120, seed=9, pauc=(0.8, 1.0)
    ).to_dict()
    y = cohort["ovcf"].to_numpy(float)
    direction = {m: data["markers"][m]["direction"] for m in MARKERS}
    for c in data["auc_comparisons"]:
        a, b = c["a"], c["b"]
        pair = roc.PairedScores(y, cohort[a], cohort[b], direction[a], direction[b], (a, b))
        direct = compare_partial_auc(pair, specificity=(0.8, 1.0), n_boot=120, seed=9)
        assert c["pauc_p"] == direct.p_value
    delong = analyze_cohort(cohort, markers=MARKERS, pair=None, pauc=(0.8, 1.0)).to_dict()
    for c in delong["auc_comparisons"]:  # DeLong: the DeLong-type test of the partial AUCs
        a, b = c["a"], c["b"]
        pair = roc.PairedScores(y, cohort[a], cohort[b], direction[a], direction[b])
        direct = delong_partial_auc_test(pair, specificity=(0.8, 1.0))
        assert c["pauc_p"] == direct.p_value


def test_progress_reaches_one_and_only_grows(cohort):
    seen: list[float] = []
    analyze_cohort(
        cohort, markers=["hu", "vbq"], pair=None, roc_test="bootstrap", bootstrap=100, progress=seen.append
    )
    assert seen == sorted(seen) and seen[-1] == pytest.approx(1.0)


# ---------------------------------------------------------------- cut-off rules


@pytest.mark.parametrize("text", ["youden", "closest_topleft", "sensitivity:0.9", "specificity:0.85"])
def test_cutoff_of_each_rule_is_the_library_choice_with_hand_counted_rates_and_ratios(cohort, text):
    data = analyze_cohort(cohort, markers=MARKERS, pair=None, cutoff=text).to_dict()
    rule, target = parse_cutoff_rule(text)
    for marker in MARKERS:
        m = data["markers"][marker]
        y, x = _rows(cohort, marker)
        threshold = choose_threshold(y, x, m["direction"], CutoffChoice(rule, target))
        assert m["cutoff"] == threshold and m["cutoff_rule"] == text
        tp, fn, fp, tn = _counts(y, x, threshold, m["direction"])
        sens, spec = tp / (tp + fn), tn / (tn + fp)
        assert (m["sensitivity"], m["specificity"]) == (sens, spec)
        if rule is CutoffRule.SENSITIVITY:
            assert sens >= 0.9
        if rule is CutoffRule.SPECIFICITY:
            assert spec >= 0.85
        assert m["lr_positive"] == pytest.approx(sens / (1 - spec), rel=1e-12)
        assert m["lr_negative"] == pytest.approx((1 - sens) / spec, rel=1e-12)
        se = np.sqrt(1 / tp - 1 / (tp + fn) + 1 / fp - 1 / (fp + tn))
        expected = sens / (1 - spec) * np.exp(np.array([-1, 1]) * stats.norm.ppf(0.975) * se)
        assert m["lr_positive_ci"] == pytest.approx(expected, rel=1e-9)
        assert "cutoff_ci" not in m
    assert contract_problems("analyze", data) == []


def test_default_youden_cutoff_is_todays(cohort):
    data = analyze_cohort(cohort, markers=MARKERS, pair=None).to_dict()
    for marker in MARKERS:
        y, x = _rows(cohort, marker)
        today = roc.youden_cutoff(y, x, data["markers"][marker]["direction"])
        assert data["markers"][marker]["cutoff"] == today.threshold
        assert data["markers"][marker]["cutoff_rule"] == "youden"


def test_bootstrap_adds_the_cutoff_cis_of_the_library(cohort):
    data = analyze_cohort(
        cohort, markers=MARKERS, pair=None, cutoff="closest_topleft", bootstrap=150, seed=6
    ).to_dict()
    for marker in MARKERS:
        m = data["markers"][marker]
        y, x = _rows(cohort, marker)
        direct = cutoff_analysis(
            y, x, m["direction"], CutoffChoice("closest_topleft", None), n_boot=150, seed=6
        )
        assert direct.threshold == m["cutoff"]
        assert m["cutoff_ci"] == list(direct.threshold_ci)
        assert m["sensitivity_ci_bootstrap"] == list(direct.sensitivity_ci)
        assert m["specificity_ci_bootstrap"] == list(direct.specificity_ci)
        assert m["cutoff_ci"][0] <= m["cutoff"] <= m["cutoff_ci"][1]
    assert contract_problems("analyze", data) == []


def test_an_unreachable_fixed_sensitivity_is_a_message_not_an_error():
    table = paired_cohort(n_pairs=20, seed=3)
    data = analyze_cohort(table, markers=["vbq"], pair=None, cutoff="sensitivity:1").to_dict()
    m = data["markers"]["vbq"]
    y, x = _rows(table, "vbq")
    assert m["sensitivity"] == 1.0 or (m["cutoff"] is None and any("no cut-off" in s for s in m["messages"]))
    assert m["cutoff"] is None or m["cutoff"] == choose_threshold(
        y, x, m["direction"], CutoffChoice("sensitivity", 1.0)
    )


@pytest.mark.parametrize(
    "text", ["best", "sensitivity", "sensitivity:0", "specificity:1.5", "youden:0.9", "x:1"]
)
def test_bad_cutoff_rules_are_refused(text):
    with pytest.raises(ValueError):
        parse_cutoff_rule(text)


# ---------------------------------------------------------------- binormal smoothing


def test_binormal_auc_is_the_least_squares_line_through_the_probit_roc_points(cohort):
    data = analyze_cohort(cohort, markers=MARKERS, pair=None, smooth="binormal").to_dict()
    for marker in MARKERS:
        m = data["markers"][marker]
        y, x = _rows(cohort, marker)
        assert m["binormal_auc"] == binormal_roc(y, x, m["direction"]).auc
        # independently: every threshold between distinct values, rates counted, qnorm, linregress
        values = np.unique(x)
        points = [
            _counts(y, x, t, m["direction"]) for t in np.r_[(values[:-1] + values[1:]) / 2]
        ]  # fmt: skip
        se = np.array([tp / (tp + fn) for tp, fn, _, _ in points])
        sp = np.array([tn / (tn + fp) for _, _, fp, tn in points])
        keep = (se > 0) & (se < 1) & (sp > 0) & (sp < 1)
        fit = stats.linregress(ndtri(se[keep]), ndtri(sp[keep]))
        assert m["binormal_auc"] == pytest.approx(ndtr(fit.intercept / np.sqrt(1 + fit.slope**2)), rel=1e-9)
        assert m["binormal_b"] == pytest.approx(-1 / fit.slope, rel=1e-9)
        assert m["binormal_a"] == pytest.approx(-fit.intercept / fit.slope, rel=1e-9)
    assert contract_problems("analyze", data) == []
    assert "binormal_auc" not in analyze_cohort(cohort, markers=["hu"], pair=None).to_dict()["markers"]["hu"]


# ---------------------------------------------------------------- the CLI


def test_cli_writes_every_new_key_in_its_schema_with_progress_on_stderr(cohort, tmp_path):
    path = tmp_path / "cohort.csv"
    cohort.to_csv(path, index=False)
    proc = run_cli(
        "analyze", path, "--markers", "hu,vbq", "--roc-test", "bootstrap", "--bootstrap", "60", "--seed", "3",
        "--pauc", "0.9:1", "--cutoff", "specificity:0.8", "--smooth", "binormal", "--p-adjust", "fdr_bh",
        "--json", "-",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    out = json.loads(proc.stdout)
    assert contract_problems("analyze", out) == []
    comparison = out["auc_comparisons"][0]
    assert comparison["method"] == "bootstrap" and "pauc_p" in comparison
    vbq = out["markers"]["vbq"]
    assert vbq["cutoff_rule"] == "specificity:0.8" and vbq["specificity"] >= 0.8
    assert {"cutoff_ci", "sensitivity_ci_bootstrap", "binormal_auc", "lr_negative_ci"} <= set(vbq)
    progress = [line for line in proc.stderr.splitlines() if "resampling" in line]
    assert progress == [f"cohort.csv: resampling {p}% done" for p in range(10, 101, 10)]


@pytest.mark.parametrize(
    ("option", "value"), [("--cutoff", "best"), ("--cutoff", "sensitivity:2"), ("--roc-test", "wilcoxon"),
                          ("--smooth", "loess")],
)  # fmt: skip
def test_cli_refuses_a_bad_value_in_one_line_before_reading(tmp_path, option, value):
    proc = run_cli("analyze", tmp_path / "not_there.csv", option, value, "--json", "-")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and option in lines[0] and "not_there" not in lines[0]


def test_directions_are_respected_by_the_resampled_tests():
    """A `lower` marker against its own negation: the same curve, so E = 0 and D = 0 (p = 1)."""
    table = paired_cohort(n_pairs=30, seed=5).assign(neg_hu=lambda t: -t["hu"])
    data = analyze_cohort(table, markers=["hu", "neg_hu"], pair=None, roc_test="venkatraman", bootstrap=50)
    c = data.to_dict()["auc_comparisons"][0]
    assert data.marker("hu").auc.direction is Direction.LOWER
    assert data.marker("neg_hu").auc.direction is Direction.HIGHER
    assert c["z"] == 0.0 and c["auc_a"] == c["auc_b"]


# ---------------------------------------------------------------- the ROC page


def _frame_with(at, column: str) -> pd.DataFrame:
    return next(d.value for d in at.dataframe if column in d.value.columns)


@pytest.fixture(scope="module")
def roc_page():
    from test_pages import open_page

    at = open_page("pages/roc.py")
    assert not at.exception, at.exception
    next(s for s in at.selectbox if s.label == "Indicator").set_value("vbq").run()
    return at


def test_page_cutoff_rule_picker_marks_the_library_cutoff_with_lr_and_bootstrap_cis(roc_page):
    from dashboard import state
    from ovcf_core.report import style

    at = roc_page
    table = at.session_state[state.COHORT]
    y, x = _rows(table, "vbq")
    next(s for s in at.selectbox if s.label == "Cut-off rule").set_value("sensitivity").run()
    next(n for n in at.number_input if n.label.startswith("Target sensitivity")).set_value(85.0).run()
    assert not at.exception, at.exception
    threshold = choose_threshold(y, x, "higher", CutoffChoice("sensitivity", 0.85))
    tp, fn, fp, tn = _counts(y, x, threshold, "higher")
    shown = _frame_with(at, "Quantity").set_index("Quantity")
    assert shown.loc["Cut-off", "Estimate"] == style.fmt_value("vbq", threshold)
    assert shown.loc["Sensitivity", "Estimate"] == style.fmt_percent(tp / (tp + fn))
    assert shown.loc["LR+", "Estimate"] == style.fmt_number((tp / (tp + fn)) / (fp / (fp + tn)))
    assert shown.loc["Sensitivity", "95% CI"] == style.MISSING  # no resampling before the button
    figure = json.loads(at.get("plotly_chart")[1].proto.spec)
    marked = [t for t in figure["data"] if t.get("name", "").startswith("cut-off")]
    assert marked and marked[0]["y"] == [pytest.approx(tp / (tp + fn))]
    next(s for s in at.select_slider if s.label == "Cut-off resamples").set_value(200).run()
    next(b for b in at.button if b.label == "Bootstrap CIs of the cut-off").click().run()
    assert not at.exception, at.exception
    direct = cutoff_analysis(y, x, "higher", CutoffChoice("sensitivity", 0.85), n_boot=200)
    shown = _frame_with(at, "Quantity").set_index("Quantity")
    low, high = direct.sensitivity_ci
    assert shown.loc["Sensitivity", "95% CI"] == f"{style.fmt_percent(low)}–{style.fmt_percent(high)}"
    assert shown.loc["Cut-off", "95% CI"] == style.fmt_ci(
        *direct.threshold_ci, digits=style.digits_for("vbq")
    )
    figure = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert next(t for t in figure["data"] if t.get("name", "").startswith("cut-off"))["error_y"]["array"]


def test_page_binormal_toggle_draws_the_smoothed_curve_and_its_auc(roc_page):
    from dashboard import state
    from ovcf_core.report import style

    at = roc_page
    y, x = _rows(at.session_state[state.COHORT], "vbq")
    next(t for t in at.toggle if t.label == "Binormal smoothing").set_value(True).run()
    assert not at.exception, at.exception
    auc = binormal_roc(y, x, "higher").auc
    assert f"Binormal AUC {style.fmt_number(auc, 3)}" in "\n".join(c.value for c in at.caption)
    figure = json.loads(at.get("plotly_chart")[1].proto.spec)
    assert any("binormal smooth" in t.get("name", "") for t in figure["data"])


def test_page_compare_curves_by_venkatraman_with_holm_equals_the_library(roc_page):
    from dashboard import state
    from ovcf_core.report import style

    at = roc_page
    table = at.session_state[state.COHORT]
    assert "z" in _frame_with(at, "Comparison").columns  # DeLong first
    next(r for r in at.radio if r.label == "Compare curves").set_value("venkatraman").run()
    next(s for s in at.select_slider if s.label == "Resamples / permutations").set_value(200).run()
    next(s for s in at.selectbox if s.label == "p-value adjustment").set_value("holm").run()
    assert not at.exception, at.exception
    shown = _frame_with(at, "Comparison")
    settings = state.default_settings(table)
    result = analyze_cohort(
        table, markers=settings["markers"], adjust=tuple(settings["adjust"]), pair=settings["pair"]
    )
    markers = [m.marker for m in result.markers if m.auc is not None]
    y = table["ovcf"].to_numpy(float)
    p = []
    for a, b in itertools.combinations(markers, 2):
        da, db = (str(result.marker(m).auc.direction) for m in (a, b))
        p.append(
            venkatraman_test(roc.PairedScores(y, table[a], table[b], da, db, (a, b)), n_perm=200).p_value
        )
    assert shown["p"].tolist() == [style.fmt_p(v) for v in p]
    assert shown["p (Holm)"].tolist() == [style.fmt_p(v) for v in adjust_p(p, "holm")]
    assert "E" in shown.columns
