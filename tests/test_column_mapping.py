"""Which upload column is which cohort column: exact names first, then close names, each column used once."""

from __future__ import annotations

import pandas as pd

from ovcf_core.column_mapping import (
    TARGET_LABELS,
    TARGETS,
    apply_mapping,
    guess_mapping,
    outcome_needs_positive,
)


def test_exact_names_map_to_themselves():
    mapping = guess_mapping(["patient_id", "ovcf", "age", "sex", "bmi", "vbq", "hu"])
    assert {t: mapping[t] for t in ("patient_id", "ovcf", "age", "sex", "vbq", "hu")} == {
        t: t for t in ("patient_id", "ovcf", "age", "sex", "vbq", "hu")
    }
    assert mapping["fi"] is None and mapping["pair_id"] is None


def test_close_names_are_guessed():
    mapping = guess_mapping(["subject", "group", "gender", "hu_mean", "t-score", "fat_infiltration", "pair"])
    assert mapping["patient_id"] == "subject"
    assert mapping["ovcf"] == "group"
    assert mapping["sex"] == "gender"
    assert mapping["hu"] == "hu_mean"
    assert mapping["t_score"] == "t-score"
    assert mapping["fi"] == "fat_infiltration"
    assert mapping["pair_id"] == "pair"


def test_a_column_is_claimed_by_one_target_only_and_exact_names_win():
    mapping = guess_mapping(["ovcf", "group", "id"])
    assert mapping["ovcf"] == "ovcf"
    assert mapping["patient_id"] == "id"
    assert list(mapping.values()).count("ovcf") == 1


def test_every_target_has_a_form_label():
    assert set(TARGETS) <= set(TARGET_LABELS)


def test_apply_mapping_renames_and_drops_the_displaced_column():
    table = pd.DataFrame({"hu": ["1"], "hu_mean": ["2"], "subject": ["a"]})
    mapped = apply_mapping(table, {"hu": "hu_mean", "patient_id": "subject", "vbq": None})
    assert list(mapped.columns) == ["hu", "patient_id"]
    assert mapped.loc[0, "hu"] == "2"


def test_outcome_needs_positive_only_for_two_non_standard_values():
    assert outcome_needs_positive(pd.Series(["fx", "none", "NA", ".", "fx", ""])) == ["fx", "none"]
    assert outcome_needs_positive(pd.Series(["1", "0", "1"])) == []
    assert outcome_needs_positive(pd.Series(["ovcf", "control"])) == []
    assert outcome_needs_positive(pd.Series(["a", "b", "c"])) == []
