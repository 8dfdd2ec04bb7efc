"""A cohort's own Youden-optimal cut-offs of VBQ and HU, shown beside the published cut-offs."""

from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from ovcf_core.schema import OUTCOME, Indicator


def youden_cutoffs(
    table: pd.DataFrame, indicators: Iterable[Indicator] = (Indicator.VBQ, Indicator.HU)
) -> dict[str, float]:
    """Find each indicator's cut-off maximising Youden's J in `table`, in its clinical direction.

    Parameters
    ----------
    table
        A validated cohort with the outcome ``ovcf``.
    indicators
        The indicators wanted (default VBQ and HU).

    Returns
    -------
    dict of str to float
        Cut-off by column name; an indicator missing from the table, or whose patients with a value are
        all of one group, has none.
    """
    from ovcf_core.stats.roc import youden_cutoff

    out: dict[str, float] = {}
    for ind in indicators:
        if ind.column in table.columns:
            data = table[[OUTCOME, ind.column]].dropna()
            if data[OUTCOME].nunique() == 2:
                cutoff = youden_cutoff(data[OUTCOME].to_numpy(), data[ind.column].to_numpy(), ind.direction)
                out[ind.column] = float(cutoff.threshold)
    return out
