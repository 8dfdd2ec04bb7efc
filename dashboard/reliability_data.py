"""The Reliability page's cached calls: two raters' measurements read, their ICCs and Bland–Altman figures.

Cached on the upload's bytes or the ratings' content digest (`analysis.digest`), so a widget never
recomputes them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import plotly.graph_objects as go
import streamlit as st

from dashboard import components, state
from ovcf_core import paths
from ovcf_core.report import figures, tables

if TYPE_CHECKING:
    from ovcf_core.ratings import Ratings


@st.cache_data(show_spinner="Reading the measurements…", max_entries=8)
def read_ratings(data: bytes, name: str) -> Ratings:
    """Read ratings from an upload with `ovcf_core.ratings.read_ratings`, cached on its bytes."""
    from ovcf_core import ratings  # imported when used: it loads scipy.stats (see `warm_up`)

    return ratings.read_ratings(data, name)


RATINGS_TABLE = components.SampleTable(
    state.RATINGS, read_ratings, paths.SAMPLE_RAW, "synthetic two-rater sample", "measurements"
)


@dataclass(frozen=True)
class IccView:
    """The Reliability page's ICC table (one row per indicator) and any warnings."""

    table: pd.DataFrame
    messages: tuple[str, ...]


@st.cache_resource(max_entries=64)
def bland_altman(_ratings: Ratings, key: str, marker: str, first: str, second: str) -> go.Figure:
    """Build the Bland–Altman figure of one indicator between two raters (once per ratings)."""
    a, b = _ratings.paired(marker, first, second)
    return figures.bland_altman_figure(a, b, marker, names=(first, second))


@st.cache_data(show_spinner="Computing ICCs…", max_entries=8)
def icc_table(_ratings: Ratings, key: str) -> IccView:
    """Compute the ICC of every indicator (Shrout & Fleiss forms with 95% CIs) from the raters' values."""
    from ovcf_core import ratings

    icc = ratings.icc_per_indicator(_ratings)
    return IccView(tables.icc_table(icc.results), tuple(tables.icc_messages(icc)))
