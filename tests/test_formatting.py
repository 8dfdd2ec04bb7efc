"""The one formatting policy (ovcf_core.formatting): what journals print, applied to every table and figure,
and the exact rescaling of odds ratios per a sensible unit, checked against statsmodels refits."""

from __future__ import annotations

import json
import re

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from ovcf_core import formatting, io, paths
from ovcf_core.report import content, figures, tables
from ovcf_core.stats.analysis import analyze_cohort
from ovcf_core.stats.logistic import fit_logistic


@pytest.mark.parametrize(
    ("p", "text"),
    [(0.0004, "<0.001"), (0.000999, "<0.001"), (0.001, "0.001"), (0.04449, "0.044"), (0.5, "0.500"),
     (None, "—"), (float("nan"), "—")],
)  # fmt: skip
def test_p_values_are_below_0001_or_three_decimals(p, text):
    assert formatting.p_value(p) == text


@pytest.mark.parametrize(
    ("value", "text"),
    [(0.0345, "0.035"), (0.891, "0.89"), (2.349, "2.35"), (12.34, "12.3"), (1166.2, "1166"),
     (9.999, "10.0"), (0.0999, "0.10"), (float("inf"), "—")],
)  # fmt: skip
def test_odds_ratios_have_two_to_three_significant_digits(value, text):
    assert formatting.ratio(value) == text


def test_auc_three_decimals_hu_one_and_a_cutoff_the_same_everywhere():
    assert formatting.auc(0.89512) == "0.895"
    assert formatting.marker_value("hu", 90.77) == "90.8"
    assert formatting.marker_value("vbq", 3.2449) == "3.24"
    assert formatting.rounded_marker_value("hu", 90.77) == 90.8
    assert formatting.number(-0.0001, 2) == "0.00" and formatting.number(-1.5, 1) == "−1.5"


def test_axis_ticks_have_no_needless_decimals():
    cohort, _ = io.read_cohort(paths.SAMPLE_COHORT)
    fig = figures.distribution_figure(cohort, "hu")
    assert fig.layout.yaxis.tickformat == ".1~f"  # d3: 50, 100, 12.5 — not 50.0, 100.0


@pytest.mark.parametrize(("low", "high"), [(0.3, 3.0), (0.05, 1200.0), (1e-6, 1e8), (1.2, 1.9), (0.8, 1.1)])
def test_log_axis_ticks_are_few_readable_and_include_no_effect(low, high):
    values, labels = formatting.log_axis_ticks(low, high)
    assert 1 <= len(values) <= 9
    if low <= 1 <= high:
        assert 1.0 in values
    assert values == sorted(values)
    assert all(not re.search(r"\.\d*0$", t) for t in labels), labels  # no trailing zeros


def _sample_cohort() -> pd.DataFrame:
    cohort, _ = io.read_cohort(paths.SAMPLE_COHORT)
    return cohort


def _statsmodels_or(table: pd.DataFrame, marker: str, scale: float) -> tuple[float, float, float]:
    """OR and Wald 95% CI of `marker` / `scale` adjusted for age, sex, BMI, fitted by statsmodels."""
    rows = table.dropna(subset=[marker, "age", "sex", "bmi", "ovcf"])
    x = pd.DataFrame(
        {
            "const": 1.0,
            "marker": rows[marker].to_numpy(float) / scale,
            "age": rows["age"].to_numpy(float),
            "male": (rows["sex"].astype(str) == "M").to_numpy(float),
            "bmi": rows["bmi"].to_numpy(float),
        }
    )
    fit = sm.Logit(rows["ovcf"].to_numpy(float), x).fit(disp=0, method="newton", tol=1e-12, maxiter=100)
    low, high = np.exp(fit.conf_int().loc["marker"].to_numpy())
    return float(np.exp(fit.params["marker"])), float(low), float(high)


@pytest.mark.parametrize(("marker", "unit"), [("vbq", 0.1), ("hu", 10.0), ("rcsa", 0.1)])
def test_rescaled_odds_ratio_equals_a_statsmodels_refit_on_the_rescaled_marker(marker, unit):
    table = _sample_cohort()
    per_one = _statsmodels_or(table, marker, 1.0)
    refit = _statsmodels_or(table, marker, unit)
    estimate, (low, high) = formatting.rescale_odds_ratio(per_one[0], per_one[1:], unit)
    assert (estimate, low, high) == pytest.approx(refit, rel=1e-7)
    # and from the library's own per-unit fit, as Table 2 and the Logistic page use it
    term = fit_logistic(table, [marker], ["age", "sex", "bmi"]).term(marker)
    assert term is not None and term.method == "wald"
    estimate, (low, high) = formatting.rescale_odds_ratio(term.or_per_unit, term.or_per_unit_ci, unit)
    assert (estimate, low, high) == pytest.approx(refit, rel=1e-5)


def test_rescaling_refuses_a_unit_that_is_not_positive_and_keeps_missing_bounds_missing():
    with pytest.raises(ValueError, match="positive"):
        formatting.rescale_odds_ratio(2.0, (1.0, 3.0), 0.0)
    assert formatting.rescale_odds_ratio(None, (None, 3.0), 0.1) == (None, (None, 3.0**0.1))


def test_display_units_are_stated_with_their_unit():
    assert formatting.unit_text("vbq", formatting.display_unit("vbq")) == "0.1 VBQ score"
    assert formatting.unit_text("hu", formatting.display_unit("hu")) == "10 HU"
    assert formatting.unit_text("fi", formatting.display_unit("fi")) == "1% FI"
    assert formatting.display_unit("crp", sd=37.0) == 10.0  # an unknown marker: a power of ten below its SD


P_TEXT = re.compile(r"^(<0\.001|[01]\.\d{3}|—)$")
AUC_TEXT = re.compile(r"^(\d\.\d{3}( \[\d\.\d{3}–\d\.\d{3}\])?|—)$")


def _report_tables() -> dict[str, pd.DataFrame]:
    table = _sample_cohort()
    result = analyze_cohort(table, pair="pair_id", p_adjust="holm", pauc=(0.8, 1.0))
    found = {s.title: s.table for s in content.report_sections(result, table) if s.table is not None}
    found["AUC comparisons"] = tables.delong_table(result)
    found["forest"] = tables.forest_rows(result, "unit")[["label"]]
    return found


def test_every_report_table_follows_the_policy_and_shows_no_raw_keys_or_none():
    for title, frame in _report_tables().items():
        cells = frame.astype(str).to_numpy().ravel().tolist() + [str(c) for c in frame.columns]
        assert not [c for c in cells if c in ("None", "nan", "NaN", "<NA>")], title
        assert not [c for c in frame.columns if re.fullmatch(r"[a-z]+(_[a-z]+)+", str(c))], title  # raw keys
        for column in frame.columns:
            if column == "p" or str(column).startswith("p (") or column.startswith("p adjusted"):
                bad = [v for v in frame[column] if not P_TEXT.match(str(v))]
                assert not bad, (title, column, bad)
            if str(column).startswith("AUC") or column in ("pAUC (McClish)",):
                bad = [v for v in frame[column] if not AUC_TEXT.match(str(v))]
                assert not bad, (title, column, bad)


def test_a_cutoff_is_written_the_same_in_the_auc_table_the_cutoff_table_and_the_figure():
    table = _sample_cohort()
    result = analyze_cohort(table, markers=["hu"], pair="pair_id")
    threshold = result.marker("hu").cutoff.threshold
    shown = formatting.marker_value("hu", threshold)
    assert tables.auc_table(result).iloc[0]["Cut-off"] == shown
    from ovcf_core.stats.cutoffs import CutoffChoice, cutoff_analysis

    cut = cutoff_analysis(
        table["ovcf"].to_numpy(float), table["hu"].to_numpy(float), "lower", CutoffChoice("youden", None)
    )
    assert tables.cutoff_table(cut, "hu").set_index("Quantity").loc["Cut-off", "Estimate"] == shown
    trace = content.roc_traces(result, table)[0]
    fig = figures.roc_cutoff_figure(
        trace, threshold=cut.threshold, sensitivity=cut.sensitivity, specificity=cut.specificity,
        rule="Youden's J", marker="hu",
    )  # fmt: skip
    names = [t["name"] for t in json.loads(fig.to_json())["data"] if t.get("name", "").startswith("cut-off")]
    assert names == [f"cut-off {shown} (Youden's J)"]
