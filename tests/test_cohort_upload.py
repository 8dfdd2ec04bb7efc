"""An upload told apart as raw or cohort table, raw measurements made a validated cohort, a patient added."""

from __future__ import annotations

import pandas as pd

from ovcf_core import paths
from ovcf_core.cohort_cutoffs import youden_cutoffs
from ovcf_core.cohort_upload import add_patient, cohort_from_raw_table, is_raw_table, read_upload_table
from ovcf_core.io import read_cohort
from ovcf_core.stats.roc import youden_cutoff


def test_raw_tables_are_told_from_cohort_tables_wide_and_long():
    assert is_raw_table(["patient_id", "rater", "hu_l1"])
    assert is_raw_table(pd.DataFrame(columns=["patient_id", "quantity", "value"]))
    assert not is_raw_table(["patient_id", "ovcf", "hu", "vbq"])


def test_raw_sample_becomes_the_shipped_cohort_with_one_report():
    raw = read_upload_table(paths.SAMPLE_RAW.read_bytes(), paths.SAMPLE_RAW.name)
    assert is_raw_table(raw)
    cohort, report = cohort_from_raw_table(raw, paths.SAMPLE_RAW.name)
    shipped, _ = read_cohort(paths.SAMPLE_COHORT)
    assert len(cohort) == len(shipped) and report.n_rows >= len(cohort)
    assert list(cohort.index[:2]) == [2, 3]


def test_a_patient_is_appended_and_validated_like_an_upload():
    cohort, _ = read_cohort(paths.SAMPLE_COHORT)
    row = {"patient_id": "scan-1", "ovcf": 1, "age": 70, "sex": "F", "bmi": 24.0, "vbq": 3.1}
    table, _ = add_patient(cohort, row)
    assert len(table) == len(cohort) + 1 and table["patient_id"].iloc[-1] == "scan-1"
    started, _ = add_patient(pd.DataFrame(), row)
    assert len(started) == 1


def test_youden_cutoffs_are_those_of_the_roc_module_per_indicator():
    cohort, _ = read_cohort(paths.SAMPLE_COHORT)
    found = youden_cutoffs(cohort)
    data = cohort[["ovcf", "vbq"]].dropna()
    assert found["vbq"] == youden_cutoff(data.ovcf.to_numpy(), data.vbq.to_numpy(), "higher").threshold
    assert set(found) == {"vbq", "hu"}
    assert youden_cutoffs(cohort[cohort.ovcf == 1]) == {}
