"""`analyze` at the edges (issue "Statistics that stay honest at the edges"): separation by a covariate
or by the marker, Firth's odds ratios, rank tests, partial AUC, adjusted p-values, counts, cut-offs
and reversed markers, each against an independent computation (scipy, statsmodels, scikit-learn, or
the library functions called directly on the same rows)."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from conftest import contract_problems
from scipy import stats
from sklearn.metrics import roc_auc_score
from stats_cohorts import paired_cohort
from statsmodels.stats.multitest import multipletests

from ovcf_core.stats import logistic
from ovcf_core.stats.analysis import analyze_cohort
from ovcf_core.stats.firth import fit_firth
from ovcf_core.stats.partial_auc import partial_auc
from ovcf_core.stats.roc import metrics_at


def _design(table: pd.DataFrame, terms: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """(y, X) of the complete rows, sex as 1 = M, written out here independently of the library."""
    rows = table[["ovcf", *terms]].dropna()
    X = np.column_stack(
        [(rows[t] == "M").to_numpy(float) if t == "sex" else rows[t].to_numpy(float) for t in terms]
    )
    return rows["ovcf"].to_numpy(float), X


def _age_separates() -> pd.DataFrame:
    """Every case older than every control: age alone separates, VBQ does not."""
    table = paired_cohort(40, seed=3)
    y = table["ovcf"].to_numpy()
    rng = np.random.default_rng(5)
    table["age"] = np.where(y == 1, rng.integers(76, 90, len(y)), rng.integers(55, 75, len(y))).astype(float)
    return table


@pytest.mark.parametrize(("marker", "adjust"), [("vbq", ["age"]), ("hu", ["age", "sex"])])
def test_separation_by_age_alone_names_age_and_gives_firths_finite_or(marker, adjust):
    table = _age_separates()
    out = analyze_cohort(table, markers=[marker], adjust=adjust, pair=None).to_dict()
    m = out["markers"][marker]
    assert "separation by age" in m["or_note"] and marker not in m["or_note"].split("by ")[1]
    assert any("separation by age" in note for note in out["messages"][marker])
    # the Wald fit's OR is never what is printed: Firth's, equal to fit_firth run directly on the same
    # rows. On the raw columns the profile CI of the intercept (≈ −250 at age's scale) takes more than
    # logistpl's 100 evaluations, so both run on standardised columns, where the slopes and their
    # profile bounds are the raw ones times the SD (Firth's estimate is equivariant under that change).
    assert m["or_method"] == "firth"
    y, X = _design(table, [marker, *adjust])
    sd = X.std(axis=0, ddof=1)
    direct = fit_firth(y, (X - X.mean(axis=0)) / sd, [marker, *adjust])
    assert np.isfinite(m["or_per_unit"])
    # each bound is fit_firth's, or (a profile with several local maxima) not reported, as there
    expected = [np.exp(direct.ci_lower[1] / sd[0]), np.exp(direct.ci_upper[1] / sd[0])]
    _assert_same_bounds_or_refused(m, "or_per_unit_ci", expected, direct.note(marker))
    assert m["or_per_sd"] == pytest.approx(np.exp(direct.coef[1]), rel=1e-6)
    assert m["or_p"] == pytest.approx(direct.p_value[1], rel=1e-5, abs=1e-12)
    assert 0 < m["or_p"] <= 1 and m["n_or"] == len(y)


def test_separation_by_the_marker_itself_gives_firth_equal_to_logistf_run_directly():
    table = paired_cohort(30, seed=11)
    y = table["ovcf"].to_numpy()
    table["split"] = np.where(y == 1, 5.0, 1.0) + np.random.default_rng(0).uniform(0, 1, len(y))
    out = analyze_cohort(table, markers=["split"], adjust=["age"], pair=None).to_dict()
    split = out["markers"]["split"]
    assert split["or_method"] == "firth" and "complete separation by split" in split["or_note"]
    yy, X = _design(table, ["split", "age"])
    direct = fit_firth(yy, X, ["split", "age"])
    assert split["or_per_unit"] == pytest.approx(np.exp(direct.coef[1]), rel=1e-6)
    # on these data the penalised likelihood with split's log-OR fixed has two branches beyond the
    # estimate; the profile is the higher one (its definition), which crosses at about 5.83 (checked
    # against a brute-force global profile in test_stats_firth), so the upper bound is reported
    assert 5.82 < direct.ci_upper[1] < 5.84
    expected = [np.exp(direct.ci_lower[1]), np.exp(direct.ci_upper[1])]
    _assert_same_bounds_or_refused(split, "or_per_unit_ci", expected, direct.note("split"))
    assert split["or_p"] == pytest.approx(direct.p_value[1], rel=1e-5, abs=1e-12)
    # per SD: the coefficient and its profile bounds times the SD (exact: see the scaling test below)
    sd = X[:, 0].std(ddof=1)
    assert split["or_per_sd"] == pytest.approx(np.exp(direct.coef[1] * sd), rel=1e-6)
    expected = [np.exp(direct.ci_lower[1] * sd), np.exp(direct.ci_upper[1] * sd)]
    _assert_same_bounds_or_refused(split, "or_per_sd_ci", expected, direct.note("split"))
    assert np.isfinite(split["or_per_unit"]) and split["n_or"] == len(yy)


def _assert_same_bounds_or_refused(marker: dict, key: str, expected: list[float], note: str | None) -> None:
    """analyze's CI bounds equal fit_firth's; a bound fit_firth refuses (NaN) is null in the output and
    analyze's or_note carries fit_firth's reason."""
    for got, want in zip(marker[key], expected, strict=True):
        if math.isnan(want):
            assert got is None or math.isnan(got)
            assert note and "not determined" in note and note in marker["or_note"]
        else:
            assert got == pytest.approx(want, rel=1e-5)


@pytest.mark.parametrize("scale", [0.01, 7.0])
def test_firth_profile_cis_scale_exactly_with_a_column(scale):
    """The per-SD transformation's premise: dividing one column by c multiplies its coefficient and
    both profile bounds by c, and leaves the PLR p unchanged."""
    table = paired_cohort(25, seed=2)
    y, X = _design(table, ["vbq", "bmi"])
    base = fit_firth(y, X, ["vbq", "bmi"])
    scaled = fit_firth(y, np.column_stack([X[:, 0] / scale, X[:, 1]]), ["vbq", "bmi"])
    assert scaled.coef[1] == pytest.approx(base.coef[1] * scale, rel=1e-6)
    assert scaled.ci_lower[1] == pytest.approx(base.ci_lower[1] * scale, rel=1e-5)
    assert scaled.ci_upper[1] == pytest.approx(base.ci_upper[1] * scale, rel=1e-5)
    assert scaled.p_value[1] == pytest.approx(base.p_value[1], rel=1e-5)


def test_firth_everywhere_equals_fit_firth_run_directly():
    table = paired_cohort(30, seed=4)
    out = analyze_cohort(table, markers=["hu", "vbq"], adjust=["age", "sex"], pair=None, firth=True).to_dict()
    for marker in ("hu", "vbq"):
        m = out["markers"][marker]
        y, X = _design(table, [marker, "age", "sex"])
        direct = fit_firth(y, X, [marker, "age", "sex"])
        assert m["or_method"] == "firth" and "requested" in m["or_note"]
        assert m["or_per_unit"] == pytest.approx(np.exp(direct.coef[1]), rel=1e-6)
        assert m["or_per_unit_ci"] == pytest.approx(
            [np.exp(direct.ci_lower[1]), np.exp(direct.ci_upper[1])], rel=1e-5
        )
    assert out["multivariable"]["method"] == "firth"


def test_one_control_above_one_case_is_not_called_separation():
    table = paired_cohort(30, seed=6)
    y = table["ovcf"].to_numpy()
    x = np.where(y == 1, 100.0, 0.0) + np.arange(len(y)) * 0.01
    x[np.flatnonzero(y == 1)[0]], x[np.flatnonzero(y == 0)[0]] = 40.0, 60.0  # one control above one case
    table["near"] = x
    out = analyze_cohort(table, markers=["near"], adjust=["age"], pair=None).to_dict()
    near = out["markers"]["near"]
    assert not any("separation" in m for m in out["messages"].get("near", []))
    assert near["or_method"] == "wald" and near["or_note"] is None
    yy, X = _design(table, ["near", "age"])
    ref = sm.Logit(yy, sm.add_constant(X)).fit(disp=0, maxiter=200)
    assert near["or_per_unit"] == pytest.approx(np.exp(ref.params[1]), rel=1e-4)
    assert np.isfinite(near["or_per_unit"])


def test_rank_tests_equal_scipy_on_the_same_rows():
    table = paired_cohort(40, seed=8)
    table.loc[table.index[[3, 50]], "vbq"] = np.nan  # one pair broken, one case missing
    out = analyze_cohort(table, markers=["vbq", "fi", "hu"], pair="pair_id").to_dict()
    for marker in ("vbq", "fi", "hu"):
        rows = table[["ovcf", "pair_id", marker]].dropna()
        cases, controls = rows[rows.ovcf == 1][marker], rows[rows.ovcf == 0][marker]
        m = out["markers"][marker]
        assert m["p_mannwhitney"] == pytest.approx(
            stats.mannwhitneyu(cases, controls, alternative="two-sided").pvalue, rel=1e-9
        )
        pairs = rows.pivot_table(index="pair_id", columns="ovcf", values=marker).dropna()
        assert m["p_wilcoxon"] == pytest.approx(stats.wilcoxon(pairs[1.0] - pairs[0.0]).pvalue, rel=1e-9)
    # Table 1's age and BMI rows too
    rows = out["table1"]["rows"]
    for variable in ("age", "bmi"):
        a, b = table[table.ovcf == 1][variable], table[table.ovcf == 0][variable]
        assert rows[variable]["p_mannwhitney"] == pytest.approx(
            stats.mannwhitneyu(a, b, alternative="two-sided").pvalue, rel=1e-9
        )


def test_small_groups_take_scipys_exact_mann_whitney():
    table = paired_cohort(6, seed=9)
    out = analyze_cohort(table, markers=["hu"], pair=None, adjust=()).to_dict()
    a, b = table[table.ovcf == 1]["hu"], table[table.ovcf == 0]["hu"]
    assert out["markers"]["hu"]["p_mannwhitney"] == pytest.approx(
        stats.mannwhitneyu(a, b, alternative="two-sided").pvalue, rel=1e-12
    )
    assert "p_wilcoxon" not in out["markers"]["hu"]


@pytest.mark.parametrize("span", [(0.9, 1.0), (0.8, 1.0)])
def test_partial_auc_equals_the_library_and_sklearns_max_fpr(span):
    table = paired_cohort(50, seed=10)
    out = analyze_cohort(table, markers=["vbq", "hu"], pair=None, pauc=span).to_dict()
    for marker in ("vbq", "hu"):
        m = out["markers"][marker]
        y, x = table["ovcf"].to_numpy(float), table[marker].to_numpy(float)
        assert (m["pauc"], m["pauc_corrected"]) == pytest.approx(partial_auc(y, x, m["direction"], span))
        oriented = x if m["direction"] == "higher" else -x
        assert m["pauc_corrected"] == pytest.approx(roc_auc_score(y, oriented, max_fpr=1 - span[0]), rel=1e-9)
        assert "pauc_ci" not in m


def test_partial_auc_with_bootstrap_has_a_ci_around_it():
    table = paired_cohort(30, seed=12)
    m = analyze_cohort(table, markers=["vbq"], pair=None, pauc=(0.9, 1.0), bootstrap=200).to_dict()
    vbq = m["markers"]["vbq"]
    assert vbq["pauc_corrected_ci"][0] <= vbq["pauc_corrected"] <= vbq["pauc_corrected_ci"][1]


@pytest.mark.parametrize("method", ["holm", "fdr_bh", "none"])
def test_adjusted_p_values_equal_statsmodels_multipletests(method):
    table = paired_cohort(40, seed=13)
    out = analyze_cohort(table, pair=None, p_adjust=method).to_dict()
    raw = [c["p_value"] for c in out["auc_comparisons"]]
    expected = raw if method == "none" else list(multipletests(raw, method=method)[1])
    assert [c["p_adjusted"] for c in out["auc_comparisons"]] == pytest.approx(expected, rel=1e-12)
    assert out["p_adjust"] == method and all(c["n"] == len(table) for c in out["auc_comparisons"])


def test_n_or_is_the_complete_case_count_with_a_covariate_missing():
    table = paired_cohort(40, seed=14)
    table.loc[table.index[::7], "bmi"] = np.nan
    table.loc[table.index[::11], "hu"] = np.nan
    out = analyze_cohort(table, markers=["hu", "vbq"], adjust=["age", "sex", "bmi"]).to_dict()
    for marker in ("hu", "vbq"):
        expected = len(table[["ovcf", marker, "age", "sex", "bmi"]].dropna())
        assert out["markers"][marker]["n_or"] == expected < out["markers"][marker]["n"] + 1
    assert out["markers"]["vbq"]["n_or"] < len(table)


def test_n_pairs_conditional_counts_the_pairs_used():
    table = paired_cohort(30, seed=15)
    table.loc[table.index[[0, 1]], "vbq"] = np.nan  # two pairs lose a member
    out = analyze_cohort(table, markers=["vbq"], conditional=True).to_dict()
    rows = table[["ovcf", "pair_id", "vbq", "bmi"]].dropna()
    counts = rows.groupby("pair_id")["ovcf"].agg(["size", "sum"])
    assert out["markers"]["vbq"]["n_pairs_conditional"] == int(
        ((counts["size"] == 2) & (counts["sum"] == 1)).sum()
    )


def test_a_reversed_marker_is_flagged_and_no_negative_youden_cutoff_is_reported():
    table = paired_cohort(40, seed=16)
    y = table["ovcf"].to_numpy()
    # T-score: lower means OVCF; here every case is higher than every control
    table["t_score"] = np.where(y == 1, 1.0, -3.0) + np.arange(len(y)) * 0.001
    out = analyze_cohort(table, markers=["t_score", "vbq"], pair=None).to_dict()
    t = out["markers"]["t_score"]
    assert t["auc"] < 0.5 and t["direction"] == "lower"
    assert t["cutoff"] is None and t["sensitivity"] is None
    assert any("against its direction" in m for m in out["messages"]["t_score"])
    assert any("Youden's J below 0" in m for m in out["messages"]["t_score"])


@pytest.mark.parametrize("seed", range(6))
def test_a_reported_cutoff_never_has_a_negative_youden_j(seed):
    table = paired_cohort(15, seed=seed)
    rng = np.random.default_rng(seed)
    table["t_score"] = np.round(-2 + 0.3 * table["ovcf"] + rng.normal(0, 0.8, len(table)), 1)
    out = analyze_cohort(table, markers=["t_score"], pair=None).to_dict()
    t = out["markers"]["t_score"]
    if t["cutoff"] is not None:
        metrics = metrics_at(
            table["ovcf"].to_numpy(float), table["t_score"].to_numpy(float), t["cutoff"], "lower"
        )
        assert metrics.sensitivity + metrics.specificity - 1 >= 0
    if t["auc"] < 0.5:
        assert any("against its direction" in m for m in out["messages"]["t_score"])


def test_a_dropped_multivariable_model_says_why():
    table = _age_separates()
    table["flat"] = 1.0
    out = analyze_cohort(table, markers=["vbq", "flat"], adjust=["age"], pair=None).to_dict()
    assert out["multivariable"] is None
    assert any("multivariable model not fitted" in m for m in out["messages"]["cohort"])


def test_the_lp_runs_on_large_samples_only_when_the_wald_fit_is_suspect(monkeypatch):
    rng = np.random.default_rng(17)
    n = logistic.LP_ALWAYS_ROWS + 5_000
    y = (rng.uniform(size=n) < 0.5).astype(float)
    table = pd.DataFrame({"ovcf": y, "m": rng.normal(size=n) + y, "age": rng.normal(70, 8, n)})
    calls = []
    original = logistic.check_separation
    monkeypatch.setattr(logistic, "check_separation", lambda *a: calls.append(1) or original(*a))
    fit = logistic.fit_logistic(table, ["m"], ["age"])
    assert calls == [] and fit.method == "wald"
    table["age"] = np.where(y == 1, 80.0, 60.0) + rng.uniform(0, 5, n)  # age separates
    fit = logistic.fit_logistic(table, ["m"], ["age"], firth="never")
    assert calls == [1] and fit.separated_by == ("age",) and np.isnan(fit.term("m").or_per_unit)


def test_cli_flags_write_the_contract_and_name_the_separating_variable(tmp_path, cli):
    table = _age_separates()
    path = tmp_path / "cohort.csv"
    table.to_csv(path, index=False)
    out = tmp_path / "out.json"
    proc = cli("analyze", path, "--markers", "vbq,hu", "--adjust", "age", "--pair", "pair_id",
               "--pauc", "0.9:1", "--p-adjust", "holm", "--json", out)  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    data = json.loads(out.read_text())
    assert contract_problems("analyze", data) == []
    assert "separation by age" in proc.stderr
    assert data["p_adjust"] == "holm" and "p_wilcoxon" in data["markers"]["vbq"]
    assert data["markers"]["vbq"]["pauc_corrected"] is not None
    bad = cli("analyze", path, "--pauc", "1:0.9", "--json", out)
    assert bad.returncode == 2 and "SP_LO < SP_HI" in bad.stderr and "Traceback" not in bad.stderr


def _reversed_cohort() -> pd.DataFrame:
    """A paired cohort whose T-score runs against its clinical direction (cases higher)."""
    table = paired_cohort(40, seed=18)
    y = table["ovcf"].to_numpy()
    table["t_score"] = np.round(-2 + 1.5 * y + np.random.default_rng(1).normal(0, 0.8, len(y)), 1)
    return table


def test_report_tables_show_rank_tests_counts_methods_and_flags():
    from ovcf_core.report import content, style, tables

    table = _reversed_cohort()
    analysis = analyze_cohort(table, markers=["vbq", "t_score"], pair="pair_id", p_adjust="holm")
    result = analysis.to_dict()
    t1 = tables.table1(analysis).set_index("Characteristic")
    vbq = result["markers"]["vbq"]
    rows = table[["ovcf", "vbq"]]
    p_mw = stats.mannwhitneyu(rows[rows.ovcf == 1].vbq, rows[rows.ovcf == 0].vbq).pvalue
    assert t1.loc["VBQ score", "p (Mann–Whitney)"] == style.fmt_p(p_mw)
    assert t1.loc["VBQ score", "p (Wilcoxon)"] == style.fmt_p(vbq["p_wilcoxon"])
    assert t1.loc["VBQ score", "n (OVCF/control)"] == "40/40"
    t2 = tables.table2(analysis).set_index("Indicator")
    assert t2.loc["VBQ score", "n (OR)"] == vbq["n_or"] and t2.loc["VBQ score", "Method"] == "Wald"
    auc = tables.auc_table(analysis).set_index("Indicator")
    assert "against its direction" in auc.loc[style.marker_label("t_score"), "Note"]
    assert auc.loc["VBQ score", "Note"] == ""
    delong = tables.delong_table(analysis)
    assert delong.iloc[0]["p (Holm)"] == style.fmt_p(result["auc_comparisons"][0]["p_adjusted"])
    roc_section = next(s for s in content.report_sections(analysis) if s.title == "ROC analysis")
    assert "runs against its direction" in (roc_section.caption or "")
    assert any("against its direction" in m for m in content.messages(analysis))


def test_roc_and_logistic_pages_say_what_the_analysis_flags():
    from test_pages import open_page, texts, upload

    data = _reversed_cohort().to_csv(index=False).encode()
    at = upload(open_page("pages/data.py"), "reversed.csv", data)
    at.switch_page("pages/roc.py").run()
    assert not at.exception, at.exception
    assert "runs against its direction" in texts(at)
    at.switch_page("pages/logistic.py").run()
    assert not at.exception, at.exception
    shown = at.dataframe[0].value
    assert {"n", "Method"} <= set(shown.columns)


@pytest.mark.parametrize("n", [20, 51, 300, 20_000])
def test_signed_rank_p_equals_scipy_wilcoxon_with_ties_and_zeros(n):
    from ovcf_core.stats.nonparametric import wilcoxon_p as signed_rank_p

    rng = np.random.default_rng(n)
    d = np.round(rng.normal(0.1, 1, n), 1)
    d[: n // 8] = 0.0
    assert signed_rank_p(d) == pytest.approx(stats.wilcoxon(d).pvalue, rel=1e-9)
    e = rng.normal(0.2, 1, n)  # no ties, no zeros (scipy's exact path up to 50)
    assert signed_rank_p(e) == pytest.approx(stats.wilcoxon(e).pvalue, rel=1e-9)


def test_a_separated_joint_model_names_the_variables_quickly_without_firth_unless_asked():
    """The multivariable model is not refitted by Firth automatically (its profile likelihood is
    multi-modal and slow with many terms on few patients): null odds ratios and the separating variables."""
    import time
    from pathlib import Path

    from ovcf_core.io import read_cohort

    # 24 patients, five markers and three covariates: hu, rcsa and fi separate the groups jointly
    table, _ = read_cohort(Path(__file__).parent / "bad_inputs" / "cohort_negative_age.csv")
    started = time.monotonic()
    out = analyze_cohort(table, adjust=["age", "sex", "bmi"], pair=None).to_dict()
    assert time.monotonic() - started < 30
    multi = out["multivariable"]
    assert multi["method"] != "firth" and multi["separated_by"]
    assert all(t["or_per_unit"] is None for t in multi["terms"].values())
    assert any("complete separation by" in m for m in out["messages"]["cohort"])
