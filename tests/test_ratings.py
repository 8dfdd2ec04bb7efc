"""Rater tables for the Reliability page: indicator or raw tables with a rater column, ICC per indicator."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ovcf_core import paths
from ovcf_core.errors import InputError
from ovcf_core.ratings import icc_per_indicator, ratings_from_table, read_ratings
from ovcf_core.stats.icc import icc_long


def _indicator_table() -> pd.DataFrame:
    rng = np.random.default_rng(1)
    truth = rng.normal(3.0, 0.5, 12)
    rows = []
    for rater, noise in (("A", 0.05), (" B ", 0.08)):
        for i, value in enumerate(truth):
            rows.append({"Patient_ID": f"p{i:02d}", "rater": rater, "vbq": value + rng.normal(0, noise)})
    return pd.DataFrame(rows).astype(str)


def test_indicator_table_gives_each_raters_values_aligned_by_patient():
    table = _indicator_table()
    ratings = ratings_from_table(table, "r.csv")
    assert ratings.raters == ("A", "B") and ratings.markers == ("vbq",) and ratings.patients == 12
    a, b = ratings.paired("vbq", "A", "B")
    assert np.allclose(a, table[table.rater == "A"].vbq.astype(float))
    assert np.allclose(b, table[table.rater == " B "].vbq.astype(float))


def test_icc_per_indicator_equals_icc_long_on_that_indicator():
    ratings = ratings_from_table(_indicator_table(), "r.csv")
    icc = icc_per_indicator(ratings)
    direct = icc_long(ratings.long, "patient_id", "rater", "value")
    assert icc.errors == {}
    assert icc.results["vbq"]["ICC2"].icc == pytest.approx(direct["ICC2"].icc)


def test_the_shipped_raw_two_rater_sample_gives_all_five_indicators():
    ratings = read_ratings(paths.SAMPLE_RAW, paths.SAMPLE_RAW.name)
    assert ratings.raters == ("A", "B")
    assert set(ratings.markers) == {"t_score", "hu", "vbq", "rcsa", "fi"}


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (pd.DataFrame({"rater": ["A", "B"], "vbq": ["1", "2"]}), "has no patient_id column"),
        (pd.DataFrame({"patient_id": ["p", "p"], "vbq": ["1", "2"]}), "has no rater column"),
        (pd.DataFrame({"patient_id": ["p", "q"], "rater": ["A", "A"], "vbq": ["1", "2"]}), "found 1"),
        (pd.DataFrame({"patient_id": ["p", "q"], "rater": ["A", "B"], "age": ["1", "2"]}), "no indicator"),
    ],
)
def test_unusable_rater_tables_are_refused_naming_the_problem(table, message):
    with pytest.raises(InputError, match=message):
        ratings_from_table(table, "r.csv")
