"""ICC: the published Shrout & Fleiss (1979) example and F statistics from independent ANOVAs."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.anova import anova_lm

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.icc import icc_long, icc_wide

# Shrout & Fleiss (1979), Table 2: 6 targets rated by 4 judges
SF = np.array([[9, 2, 5, 8], [6, 1, 3, 2], [8, 4, 6, 8], [7, 1, 2, 6], [10, 5, 6, 9], [6, 2, 4, 7]])
PUBLISHED = {"ICC1": 0.17, "ICC2": 0.29, "ICC3": 0.71, "ICC1k": 0.44, "ICC2k": 0.62, "ICC3k": 0.91}


def test_shrout_fleiss_published_values():
    result = icc_wide(SF)
    for form, value in PUBLISHED.items():
        assert round(result[form].icc, 2) == value, form
        lo, hi = result[form].ci
        assert lo < result[form].icc < hi


def test_f_statistics_match_anova():
    result = icc_wide(SF)
    one_way = stats.f_oneway(*SF)  # subjects as groups
    assert result["ICC1"].f == pytest.approx(one_way.statistic, rel=1e-10)
    assert result["ICC1"].p_value == pytest.approx(one_way.pvalue, rel=1e-8)
    long = pd.DataFrame(
        [(s, j, SF[s, j]) for s in range(6) for j in range(4)], columns=["subject", "judge", "y"]
    )
    table = anova_lm(smf.ols("y ~ C(subject) + C(judge)", long).fit())
    assert result["ICC3"].f == pytest.approx(table.loc["C(subject)", "F"], rel=1e-10)


def test_long_table_drops_incomplete_subjects_and_averages_repeats():
    long = pd.DataFrame(
        [(f"s{s}", f"j{j}", float(SF[s, j])) for s in range(6) for j in range(4)],
        columns=["subject", "rater", "value"],
    )
    extra = pd.DataFrame([("s9", "j0", 3.0), ("s0", "j0", 9.0)], columns=long.columns)
    result = icc_long(pd.concat([long, extra]), "subject", "rater", "value")
    assert result.n_subjects == 6 and result.n_raters == 4
    assert round(result["ICC3"].icc, 2) == 0.71
    assert any("left out" in w for w in result.warnings)
    assert any("averaged" in w for w in result.warnings)


def test_degenerate_ratings_raise():
    with pytest.raises(AnalysisError):
        icc_wide(np.ones((5, 2)))
    with pytest.raises(AnalysisError):
        icc_wide(SF[:1])


# 10 subjects x 2 raters (McGraw & Wong 1996, Table 6) and the estimates and 95% CIs R prints for them
# (est, lower, upper; 3 decimals), as quoted in the header of a public MATLAB f_ICC implementation.
MCGRAW = np.array(
    [[103, 119], [82, 65], [116, 106], [102, 102], [99, 105], [98, 100], [104, 107], [62, 85], [97, 101],
     [107, 110]],
)  # fmt: skip
R_PRINTED = {
    "ICC1": (0.722, 0.241, 0.922),
    "ICC2": (0.720, 0.228, 0.922),
    "ICC3": (0.714, 0.197, 0.920),
    "ICC1k": (0.838, 0.389, 0.959),
    "ICC2k": (0.837, 0.371, 0.959),
    "ICC3k": (0.833, 0.329, 0.959),
}


@pytest.mark.parametrize("form", list(R_PRINTED))
def test_estimates_and_f_based_cis_match_r_printed_values(form):
    result = icc_wide(MCGRAW)[form]
    assert (result.icc, *result.ci) == pytest.approx(R_PRINTED[form], abs=6e-4)


def test_f_tests_match_r_printed_values():
    result = icc_wide(MCGRAW)
    assert (result["ICC1"].f, result["ICC1"].df1, result["ICC1"].df2) == pytest.approx(
        (6.18, 9, 10), abs=5e-3
    )
    assert result["ICC1"].p_value == pytest.approx(0.00437, abs=5e-6)
    assert (result["ICC3"].f, result["ICC3"].p_value) == pytest.approx((6.00, 0.00677), abs=5e-3)


def test_raters_in_exact_agreement_give_icc_one_with_no_numpy_warning():
    import warnings

    from ovcf_core.stats.icc import icc_wide

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = icc_wide(np.array([[1.0, 1.0], [2.0, 2.0], [3.5, 3.5], [4.0, 4.0]]))
    for form in result.forms:
        assert form.icc == 1.0 and form.ci == (1.0, 1.0), form
