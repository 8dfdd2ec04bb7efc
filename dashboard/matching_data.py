"""The Matching page's cached calls: the pool read and checked, and its case-control matching.

Cached on the upload's bytes or the pool's content digest (`analysis.digest`); the balance table is
`report.tables.balance_table`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from dashboard import components, state
from ovcf_core import io, paths
from ovcf_core.report import tables
from ovcf_core.schema import PATIENT_ID


@st.cache_data(show_spinner="Reading the pool…", max_entries=8)
def read_pool(data: bytes, name: str) -> pd.DataFrame:
    """Read a matching pool from an upload (cached on its bytes): validated, then `matching_pool`'s check."""
    from ovcf_core.stats.matching import matching_pool

    pool, _ = io.read_cohort(data, name)
    return matching_pool(pool, name)


POOL_TABLE = components.SampleTable(
    state.MATCHING_POOL, read_pool, paths.SAMPLE_POOL, "synthetic matching pool", "pool"
)


@dataclass(frozen=True)
class MatchView:
    """The Matching page's result: matched table, unmatched cases, balance table."""

    matched: pd.DataFrame
    unmatched: pd.DataFrame
    balance: pd.DataFrame
    n_matched: int
    caliper: float
    method: str = "optimal"
    ratio: int = 1


@st.cache_data(show_spinner="Matching…", max_entries=16)
def match_pool(
    _pool: pd.DataFrame, key: str, caliper: float, method: str = "optimal", ratio: int = 1
) -> MatchView:
    """Match the pool `key` 1:`ratio`, sex-exact and by age within `caliper` years (optimal or greedy)."""
    from ovcf_core.stats.matching import match_controls

    result = match_controls(_pool, caliper=caliper, method=method, ratio=ratio)
    balance = tables.balance_table(result.balance_frame())
    shown = [c for c in (PATIENT_ID, "age", "sex") if c in result.unmatched_cases.columns]
    unmatched = result.unmatched_cases[shown]
    return MatchView(result.matched, unmatched, balance, result.n_sets, caliper, method, ratio)


def use_matched_cohort(result: MatchView, source: dict) -> None:
    """Make the matched cohort the cohort of every page (keeps the pool's synthetic label)."""
    from ovcf_core.schema import ValidationReport

    state.set_cohort(
        result.matched,
        ValidationReport(n_rows=len(result.matched)),
        f"matched from {source['source']} ({result.n_matched} {'pairs' if result.ratio == 1 else 'sets'})",
        synthetic=bool(source["synthetic"]),
    )
    st.session_state.pop(state.ANALYSIS_SETTINGS, None)
