"""The method-agreement tables (report.tables) and their decimals (formatting.agreement_digits): the bias
with its t CI, the proportional bias's slope (scipy's `linregress`), the ICC(2,1) (Shrout & Fleiss's ANOVA
formula, computed here) and the cut-offs translated by the bias, each written in the one policy's digits."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from test_method_agreement import hand_icc

from ovcf_core import formatting
from ovcf_core.method_agreement import method_agreement, pairs_from_wide, synthetic_pairs
from ovcf_core.report import tables


@pytest.fixture(scope="module")
def sample():
    table = synthetic_pairs().dropna()
    table.index = pd.RangeIndex(2, len(table) + 2)
    pairs = pairs_from_wide(table, "patient_id", "hu_l1_manual", "hu_l1_mask")
    return table, method_agreement(pairs, indicator="hu_l1")


@pytest.mark.parametrize(
    ("indicator", "digits"), [("hu_l1", 1), ("hu", 1), ("fi", 1), ("vbq", 2), ("t_score", 2), (None, 2)]
)
def test_agreement_values_have_the_indicator_decimals_hu_of_l1_as_hu(indicator, digits):
    assert formatting.agreement_digits(indicator) == digits


def test_summary_table_is_the_hand_bias_slope_and_anova_icc_in_their_decimals(sample):
    table, result = sample
    a, b = table["hu_l1_manual"].to_numpy(float), table["hu_l1_mask"].to_numpy(float)
    d = b - a
    half = stats.t.ppf(0.975, d.size - 1) * d.std(ddof=1) / np.sqrt(d.size)
    shown = tables.agreement_summary_table(result, formatting.agreement_digits("hu_l1"))
    rows = dict(zip(shown["statistic"], shown["estimate [95% CI]"], strict=True))
    assert rows["pairs"] == str(d.size)
    bias = f"{formatting.number(d.mean(), 1)} [{formatting.number(d.mean() - half, 1)}, "
    assert rows["bias (hu_l1_mask − hu_l1_manual)"] == f"{bias}{formatting.number(d.mean() + half, 1)}]"
    fit = stats.linregress((a + b) / 2, d)
    slope = next(v for k, v in rows.items() if "slope" in k)
    assert slope.startswith(f"{formatting.number(fit.slope, 3)} [")  # dimensionless: three decimals
    icc, (low, high) = hand_icc(np.column_stack([a, b]))["ICC2"]
    assert rows["ICC(2,1) absolute agreement"] == f"{icc:.3f} [{low:.3f}, {high:.3f}]"


def test_cutoff_table_adds_the_bias_to_each_published_cutoff(sample):
    table, result = sample
    d = (table["hu_l1_mask"] - table["hu_l1_manual"]).to_numpy(float)
    shown = tables.agreement_cutoff_table(result, 1)
    assert list(shown.columns) == [
        "cut-off", "by hu_l1_manual", "by hu_l1_mask [95% CI]", "by hu_l1_mask (regression)"
    ]  # fmt: skip
    for published, translated in zip(shown["by hu_l1_manual"], shown["by hu_l1_mask [95% CI]"], strict=True):
        assert translated.startswith(f"{formatting.number(float(published) + d.mean(), 1)} [")
    assert len(shown) == len(result.cutoffs) > 0
