"""Method agreement (`ovcf_core.method_agreement`, `stats.agreement`): Bland–Altman bias and limits with CIs
against Bland & Altman's published PEFR example and hand formulas (scipy t quantiles), exact limit CIs by
simulated coverage, proportional bias against statsmodels OLS, ICCs against ANOVA mean squares computed
here, cut-offs translated in the stated direction, and the two table layouts with their bad inputs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from ovcf_core import paths
from ovcf_core.errors import AnalysisError, InputError
from ovcf_core.method_agreement import (
    SAMPLE_FILE,
    method_agreement,
    pairs_from_long,
    pairs_from_wide,
    read_method_pairs,
    synthetic_pairs,
)
from ovcf_core.stats.agreement import bland_altman, proportional_bias

# Bland & Altman (1986), Lancet i:307-310, Table 1: PEFR (l/min) of 17 people, first reading with the
# Wright and with the mini Wright peak flow meter (transcribed identically in three public repositories).
WRIGHT = [494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267, 478, 178, 423, 427]
MINI = [512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260, 477, 259, 350, 451]


def wide_table(a, b, ids=None) -> pd.DataFrame:
    """A wide table as `io.read_table` gives it: text cells, indexed by spreadsheet row (header = 1)."""
    ids = ids or [f"P{i:02d}" for i in range(len(a))]
    text = [["" if v is None else str(v) for v in col] for col in (a, b)]
    table = pd.DataFrame({"patient_id": ids, "manual": text[0], "mask": text[1]})
    table.index = range(2, len(table) + 2)
    return table


def hand_icc(x: np.ndarray, alpha: float = 0.05) -> dict:
    """ICC(2,1) and ICC(3,1) with CIs from two-way ANOVA mean squares (Shrout & Fleiss 1979; McGraw & Wong
    1996 for the ICC(2,1) interval), written out with loops, independently of `stats.icc`."""
    n, k = x.shape
    grand = sum(sum(row) for row in x) / (n * k)
    row_means = [sum(row) / k for row in x]
    col_means = [sum(x[i][j] for i in range(n)) / n for j in range(k)]
    ss_rows = k * sum((m - grand) ** 2 for m in row_means)
    ss_cols = n * sum((m - grand) ** 2 for m in col_means)
    ss_total = sum((x[i][j] - grand) ** 2 for i in range(n) for j in range(k))
    msr, msc = ss_rows / (n - 1), ss_cols / (k - 1)
    mse = (ss_total - ss_rows - ss_cols) / ((n - 1) * (k - 1))
    icc2 = (msr - mse) / (msr + (k - 1) * mse + k * (msc - mse) / n)
    icc3 = (msr - mse) / (msr + (k - 1) * mse)
    f = msr / mse
    df1, df2 = n - 1, (n - 1) * (k - 1)
    fl, fu = f / stats.f.ppf(1 - alpha / 2, df1, df2), f * stats.f.ppf(1 - alpha / 2, df2, df1)
    ci3 = ((fl - 1) / (fl + k - 1), (fu - 1) / (fu + k - 1))
    a, b = k * icc2 / (n * (1 - icc2)), 1 + k * icc2 * (n - 1) / (n * (1 - icc2))
    v = (a * msc + b * mse) ** 2 / ((a * msc) ** 2 / (k - 1) + (b * mse) ** 2 / ((n - 1) * (k - 1)))
    fs, fi = stats.f.ppf(1 - alpha / 2, n - 1, v), stats.f.ppf(1 - alpha / 2, v, n - 1)
    low = n * (msr - fs * mse) / (fs * (k * msc + (k * n - k - n) * mse) + n * msr)
    high = n * (fi * msr - mse) / (k * msc + (k * n - k - n) * mse + n * fi * msr)
    return {"ICC2": (icc2, (low, high)), "ICC3": (icc3, ci3)}


# ---------------------------------------------------------------- Bland–Altman numbers


def test_pefr_bias_and_sd_match_bland_and_altman_1986():
    result = bland_altman(WRIGHT, MINI)  # Wright − mini, as in the paper
    assert result.n == 17
    assert round(result.bias, 1) == -2.1
    assert round(result.sd, 1) == 38.8


def test_bias_and_limit_cis_follow_the_t_formulas_of_bland_and_altman_1999():
    d = np.subtract(WRIGHT, MINI, dtype=float)
    n, mean, sd = d.size, d.mean(), d.std(ddof=1)
    t = stats.t.ppf(0.975, n - 1)
    se_limit = sd * np.sqrt(1 / n + 1.96**2 / (2 * (n - 1)))
    result = bland_altman(WRIGHT, MINI)
    assert result.bias_ci == pytest.approx((mean - t * sd / np.sqrt(n), mean + t * sd / np.sqrt(n)))
    assert (result.lower, result.upper) == pytest.approx((mean - 1.96 * sd, mean + 1.96 * sd))
    assert result.lower_ci == pytest.approx(
        (mean - 1.96 * sd - t * se_limit, mean - 1.96 * sd + t * se_limit)
    )
    assert result.upper_ci == pytest.approx(
        (mean + 1.96 * sd - t * se_limit, mean + 1.96 * sd + t * se_limit)
    )
    # by hand from the published summary: −2.1 ± t(16) 2.12 × SE 9.4 (not checked against the paper's text)
    assert round(result.bias_ci[0], 1) == -22.0 and round(result.bias_ci[1], 1) == 17.8


def test_exact_limit_cis_cover_the_true_limits_95_percent_of_the_time():
    rng = np.random.default_rng(7)
    n, mu, sigma, runs = 10, 5.0, 3.0, 2000
    true_lower, true_upper = mu - 1.96 * sigma, mu + 1.96 * sigma
    covered_lower = covered_upper = 0
    for _ in range(runs):
        d = rng.normal(mu, sigma, n)
        result = bland_altman(d, np.zeros(n), loa_ci="exact")
        covered_lower += result.lower_ci[0] <= true_lower <= result.lower_ci[1]
        covered_upper += result.upper_ci[0] <= true_upper <= result.upper_ci[1]
    assert covered_lower / runs == pytest.approx(0.95, abs=0.02)
    assert covered_upper / runs == pytest.approx(0.95, abs=0.02)


def test_exact_limit_cis_are_wider_outward_than_the_1999_approximation_for_small_samples():
    approx = bland_altman(WRIGHT, MINI)
    exact = bland_altman(WRIGHT, MINI, loa_ci="exact")
    assert exact.upper_ci[1] > approx.upper_ci[1] and exact.lower_ci[0] < approx.lower_ci[0]


def test_proportional_bias_matches_statsmodels_ols_of_difference_on_mean():
    import statsmodels.api as sm

    a, b = np.array(WRIGHT, float), np.array(MINI, float)
    fit = sm.OLS(a - b, sm.add_constant((a + b) / 2)).fit()
    result = proportional_bias(a, b)
    assert (result.intercept, result.slope) == pytest.approx(tuple(fit.params))
    assert result.slope_ci == pytest.approx(tuple(fit.conf_int()[1]))
    assert result.intercept_ci == pytest.approx(tuple(fit.conf_int()[0]))
    assert result.p_value == pytest.approx(fit.pvalues[1])


def test_identical_differences_give_a_flat_exact_line_without_warnings():
    with np.errstate(all="raise"):
        result = proportional_bias([10.0, 20.0, 30.0], [7.0, 17.0, 27.0])
    assert (result.slope, result.slope_ci, result.intercept) == (0.0, (0.0, 0.0), 3.0)


# ---------------------------------------------------------------- method agreement


def test_direction_is_method_b_minus_method_a():
    pairs = pairs_from_wide(wide_table(MINI, WRIGHT), "patient_id", "manual", "mask")
    result = method_agreement(pairs)
    assert result.difference == "mask − manual"
    assert round(result.bland_altman.bias, 1) == -2.1  # mask column holds Wright: Wright − mini


def test_iccs_match_anova_mean_squares_computed_by_hand():
    pairs = pairs_from_wide(wide_table(WRIGHT, MINI), "patient_id", "manual", "mask")
    result = method_agreement(pairs)
    expected = hand_icc(np.column_stack([WRIGHT, MINI]).astype(float))
    for form in (result.icc2, result.icc3):
        icc, ci = expected[form.form]
        assert form.icc == pytest.approx(icc)
        assert form.ci == pytest.approx(ci)


def test_published_hu_cutoffs_are_translated_by_the_bias_and_its_ci():
    rng = np.random.default_rng(3)
    manual = rng.normal(120, 35, 40)
    mask = manual + 9 + rng.normal(0, 6, 40)
    result = method_agreement(
        pairs_from_wide(wide_table(manual.round(2), mask.round(2)), "patient_id", "manual", "mask"),
        indicator="hu_l1",
    )
    d = mask.round(2) - manual.round(2)
    half = stats.t.ppf(0.975, 39) * d.std(ddof=1) / np.sqrt(40)
    by_value = {c.threshold.value: c for c in result.cutoffs}
    assert set(by_value) == {110.0, 160.0}
    assert by_value[110.0].value_b == pytest.approx(110 + d.mean())
    assert by_value[110.0].value_b_ci == pytest.approx((110 + d.mean() - half, 110 + d.mean() + half))
    text = result.to_dict()["cutoffs"][1]["statement"]
    assert text.startswith("L1 110 HU by manual ≈ ") and text.split(" by ")[2].startswith("mask")


def test_regression_translation_solves_the_fitted_line_at_the_cutoff():
    rng = np.random.default_rng(5)
    manual = rng.uniform(40, 220, 50)
    mask = 1.1 * manual - 4 + rng.normal(0, 3, 50)
    result = method_agreement(
        pairs_from_wide(wide_table(manual, mask), "patient_id", "manual", "mask"), indicator="hu_l1"
    )
    pb = result.proportional
    for cutoff in result.cutoffs:
        a, b = cutoff.threshold.value, cutoff.value_b_regression
        assert b - a == pytest.approx(pb.intercept + pb.slope * (a + b) / 2)
    assert any("proportional bias" in w for w in result.warnings)


def test_average_hu_gets_the_l1_cutoffs_with_a_warning_and_other_indicators_none():
    pairs = pairs_from_wide(wide_table(WRIGHT, MINI), "patient_id", "manual", "mask")
    assert any("L1 alone" in w for w in method_agreement(pairs, indicator="hu").warnings)
    assert method_agreement(pairs, indicator="fi").cutoffs == ()
    assert [c.threshold.value for c in method_agreement(pairs, indicator="vbq").cutoffs] == [3.0, 3.22, 3.32]


# ---------------------------------------------------------------- layouts and bad input


def test_missing_values_are_dropped_and_counted_with_their_rows():
    a = [100, 110, None, 130, 140, "abc", 160]
    b = [104, None, 121, 133, 146, 150, None]
    pairs = pairs_from_wide(wide_table(a, b), "patient_id", "manual", "mask", file="t.csv")
    assert pairs.n == 3
    assert [(d.rows, d.reason) for d in pairs.dropped] == [
        ((3,), "no value of 'mask'"), ((4,), "no value of 'manual'"), ((7,), "no value of 'manual'"),
        ((8,), "no value of 'mask'"),
    ]  # fmt: skip
    assert any("row 7, column 'manual': 'abc' is not a number" in n for n in pairs.notes)
    result = method_agreement(pairs)
    assert result.to_dict()["n_dropped"] == 4
    assert result.bland_altman.bias == pytest.approx(np.mean([4, 3, 6]))


def test_fewer_than_three_pairs_are_refused_in_one_line():
    pairs = pairs_from_wide(wide_table([1, 2, None], [1, 3, 4]), "patient_id", "manual", "mask")
    with pytest.raises(AnalysisError) as err:
        method_agreement(pairs)
    assert "at least 3" in str(err.value) and "has 2" in str(err.value) and "\n" not in str(err.value)


def test_long_table_gives_the_same_result_as_the_wide_one():
    wide = wide_table(WRIGHT, MINI)
    long = pd.concat(
        [
            pd.DataFrame({"patient_id": wide["patient_id"], "method": "Manual", "value": wide["manual"]}),
            pd.DataFrame({"patient_id": wide["patient_id"], "method": "mask", "value": wide["mask"]}),
            pd.DataFrame({"patient_id": ["P00"], "method": ["other"], "value": ["1"]}),
        ],
        ignore_index=True,
    )
    long.index = range(2, len(long) + 2)
    from_long = pairs_from_long(long, "patient_id", "method", "value", "manual", "MASK")
    from_wide = pairs_from_wide(wide, "patient_id", "manual", "mask")
    assert from_long.a == from_wide.a and from_long.b == from_wide.b
    assert (from_long.method_a, from_long.method_b) == ("manual", "MASK")
    assert any("1 row(s) of other methods (other)" in n for n in from_long.notes)


def test_long_table_patient_with_one_method_is_dropped_with_its_row():
    long = pd.DataFrame(
        {"id": ["a", "a", "b", "c", "c", "d", "d"], "m": ["x", "y", "x", "x", "y", "x", "y"],
         "v": ["1", "2", "3", "4", "5", "6", ""]}
    )  # fmt: skip
    long.index = range(2, 9)
    pairs = pairs_from_long(long, "id", "m", "v", "x", "y")
    assert pairs.a == (1.0, 4.0) and pairs.b == (2.0, 5.0)
    assert [(d.rows, d.reason) for d in pairs.dropped] == [
        ((4,), "no value of method 'y'"),
        ((7, 8), "no value of method 'y'"),
    ]


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: pairs_from_wide(t, "patient_id", "manual", "nope"), "no column 'nope'"),
        (lambda t: pairs_from_wide(t, "patient_id", "manual", "manual"), "the same column"),
        (lambda t: pairs_from_wide(pd.concat([t, t.iloc[:1]]).set_axis(range(2, 20)), "patient_id", "manual",
                                   "mask"), "rows 2, 19 hold the same patient"),
    ],
)  # fmt: skip
def test_wide_table_problems_are_one_line_errors(call, message):
    with pytest.raises(InputError) as err:
        call(wide_table(WRIGHT, MINI))
    assert message in str(err.value) and "\n" not in str(err.value)


def test_long_table_unknown_method_and_repeated_rows_are_refused():
    long = pd.DataFrame({"id": ["a", "a", "a"], "m": ["x", "y", "y"], "v": ["1", "2", "3"]}, index=[2, 3, 4])
    with pytest.raises(InputError, match=r"no rows of method 'z' .*has: x, y"):
        pairs_from_long(long, "id", "m", "v", "x", "z")
    with pytest.raises(InputError, match="rows 3, 4 hold the same patient and method"):
        pairs_from_long(long, "id", "m", "v", "x", "y")


def test_reading_a_csv_with_decimal_commas_and_mixed_case_headers(tmp_path):
    path = tmp_path / "pairs.csv"
    path.write_text("Patient_ID;Manual;Mask\nA;100,5;104\nB;110;113,5\nC;120;122\nD;;130\n", encoding="utf-8")
    pairs = read_method_pairs(path, "pairs.csv", "patient_id", "MANUAL", "mask")
    assert pairs.a == (100.5, 110.0, 120.0) and pairs.b == (104.0, 113.5, 122.0)
    assert [d.rows for d in pairs.dropped] == [(5,)]


def test_the_shipped_sample_is_the_seeded_synthetic_generator_output():
    shipped = pd.read_csv(paths.SAMPLE_DATA / SAMPLE_FILE)
    pd.testing.assert_frame_equal(shipped, synthetic_pairs(), check_dtype=False)
    assert shipped["patient_id"].str.startswith("SYN").all() and "synthetic" in SAMPLE_FILE


def test_identical_values_give_zero_bias_no_icc_and_a_valid_contract():
    from conftest import contract_problems

    pairs = pairs_from_wide(wide_table([100] * 4, [100] * 4), "patient_id", "manual", "mask")
    with np.errstate(all="raise"):
        result = method_agreement(pairs, indicator="hu_l1")
    assert (result.bland_altman.bias, result.bland_altman.sd) == (0.0, 0.0)
    assert result.icc2 is None and any("ICC not computed" in w for w in result.warnings)
    from ovcf_core.output import json_safe

    assert contract_problems("agreement", json_safe(result.to_dict())) == []


def test_implausible_values_are_used_with_a_warning_and_overflow_is_refused():
    pairs = pairs_from_wide(wide_table([100, 2000, 120], [104, 1990, 118]), "patient_id", "manual", "mask")
    result = method_agreement(pairs, indicator="hu_l1")
    assert result.bland_altman.n == 3
    assert any("1 value(s) of manual outside the plausible -300 to 1500 HU" in w for w in result.warnings)
    huge = pairs_from_wide(wide_table([-1e308, 0, 1], [1e308, 0, 2]), "patient_id", "manual", "mask")
    with pytest.raises(AnalysisError, match="overflow"):
        method_agreement(huge)
