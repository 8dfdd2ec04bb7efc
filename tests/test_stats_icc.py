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
