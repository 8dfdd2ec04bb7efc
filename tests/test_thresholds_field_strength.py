"""Published VBQ cut-offs know the field strength they were derived at, and warn when it does not match."""

from __future__ import annotations

import math

import pytest

from ovcf_core.model.thresholds import (
    PublishedThreshold,
    derived_at,
    field_strength_warning,
    field_strength_warnings,
    threshold_table,
    thresholds_for,
)
from ovcf_core.schema import Direction

AT_15 = PublishedThreshold("vbq", 3.1, Direction.HIGHER, "fracture", "VBQ score of L1-L4", "Test 2020", 1.5)


def test_the_cited_sources_do_not_report_a_field_strength_and_none_is_invented():
    vbq = thresholds_for("vbq")
    assert len(vbq) == 3 and all(t.field_strength_t is None for t in vbq)
    assert {derived_at(t) for t in vbq} == {"not reported"}
    assert {derived_at(t) for t in thresholds_for("hu_l1")} == {""}


def test_a_cut_off_applied_at_its_own_field_strength_gives_no_warning():
    assert field_strength_warning(AT_15, 1.5) is None
    assert field_strength_warning(AT_15, 1.494) is None, "1.494 T scanners are 1.5 T"
    assert derived_at(AT_15) == "1.5 T"


def test_another_field_strength_is_warned_naming_both_and_the_evidence():
    warning = field_strength_warning(AT_15, 3.0)
    assert warning.startswith("VBQ 3.1 (Test 2020) was derived at 1.5 T; this scan is 3 T")
    assert "2.77" in warning and "2.20" in warning and "J Orthop Surg Res 2023" in warning
    assert "field strength is unknown" in field_strength_warning(AT_15, None)
    assert "field strength is unknown" in field_strength_warning(AT_15, math.nan)


@pytest.mark.parametrize("scan", [1.5, 3.0, None])
def test_an_unreported_field_strength_is_always_a_warning(scan):
    warnings = field_strength_warnings(scan)
    assert set(warnings) == {t.label for t in thresholds_for("vbq")}
    assert all("does not report" in w for w in warnings.values())
    if scan is not None:
        assert all(f"this scan is {scan:g} T" in w for w in warnings.values())


def test_hu_cut_offs_never_get_a_field_strength_warning():
    assert all(field_strength_warning(t, 3.0) is None for t in thresholds_for("hu_l1"))


def test_the_calculator_table_shows_the_field_strength_of_each_vbq_cut_off():
    table = threshold_table(3.1, 150.0, 105.0, {"vbq": 3.4}).set_index("cut-off")
    assert table.loc["VBQ 3.22 (Li 2023)", "field strength"] == "not reported"
    assert table.loc["L1 HU 110 (Pickhardt et al., Ann Intern Med 2013)", "field strength"] == ""
    assert list(table.columns) == ["detects", "applies to", "field strength", "this patient"]
