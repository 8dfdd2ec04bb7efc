"""The opening every cohort-analysis page shares: marker picker, the analysed cohort and its caption.

Cohort, Correlations, ROC and Logistic all analyse the current cohort with the markers chosen on any of
them; opening them through `analysed_cohort` keeps that sequence (and so the chosen markers and the cohort
line) the same on each page.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from dashboard import analysis, components, marker_picker

if TYPE_CHECKING:
    from ovcf_core.stats.analysis import CohortAnalysis


def analysed_cohort(picker_key: str) -> tuple[pd.DataFrame, dict, CohortAnalysis]:
    """Draw the marker picker and the cohort caption, and return the cohort, its settings and analysis.

    Parameters
    ----------
    picker_key
        The page's own key for the marker multiselect (see `marker_picker`).

    Returns
    -------
    tuple
        The cohort table, the analysis settings and the cached `CohortAnalysis` of `analysis.current`.
    """
    marker_picker.marker_picker(picker_key)
    table, settings, result = analysis.current()
    components.cohort_caption(table)
    return table, settings, result
