"""The Logistic page's models: each marker alone, all together, or conditional within matched pairs.

`logistic_view` turns the page's `LogisticChoice` into what the page draws (`LogisticView`): the per-marker
models come from the cohort analysis (`analysis.cohort_analysis`), the joint and conditional fits from
`ovcf_core.stats.logistic_models`, cached on the cohort's digest and the choice; the rows and table from
`ovcf_core.report.tables`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from dashboard import analysis
from ovcf_core.errors import OvcfError
from ovcf_core.report import content, style, tables

if TYPE_CHECKING:
    from ovcf_core.stats.logistic_models import JointModels


@dataclass(frozen=True)
class LogisticChoice:
    """The Logistic page's choices: model kind, markers, covariates, pair column and odds-ratio scale.

    One frozen value; the cached fits are keyed on its fields but the scale (a new scale refits nothing).
    """

    model: str
    markers: tuple[str, ...]
    adjust: tuple[str, ...]
    pair: str | None
    scale: str


@dataclass(frozen=True)
class LogisticView:
    """What the Logistic page draws: forest rows, the table, its caption and any warnings."""

    forest: pd.DataFrame
    table: pd.DataFrame
    caption: str
    messages: tuple[str, ...]


@st.cache_resource(show_spinner="Fitting the model…", max_entries=32)
def _joint_models(
    _table: pd.DataFrame, key: str, model: str, markers: tuple[str, ...], adjust: tuple[str, ...],
    pair: str | None, firth: bool = False,
) -> JointModels:  # fmt: skip
    """Fit `logistic_models.joint_models` once per cohort digest `key` and choice (not per OR scale)."""
    from ovcf_core.stats.logistic_models import joint_models

    return joint_models(_table, model, markers, adjust, pair, firth=firth)


def logistic_view(table: pd.DataFrame, key: str, choice: LogisticChoice) -> LogisticView:
    """Compute the chosen logistic model's odds ratios, table and caption for the Logistic page."""
    adjusted = ", ".join(style.COVARIATE_LABELS.get(a, a) for a in choice.adjust) or "nothing"
    firth = bool(analysis.options()["firth"])
    how = (
        "Firth's penalised likelihood with profile-likelihood 95% CI for every model"
        if firth
        else "Wald 95% CI, or Firth's penalised likelihood with profile-likelihood CI where a variable "
        "separates the groups (Method)"
    )
    if choice.model == "each":
        result = analysis.cohort_analysis(
            table, key, choice.markers, choice.adjust, choice.pair, analysis.options_key(analysis.options())
        )
        forest = tables.forest_rows(result, choice.scale)
        caption = (
            f"One model per indicator, adjusted for {adjusted}, on its n patients with every value; {how}."
        )
        messages = tuple(content.messages(result))
    else:
        try:
            models = _joint_models(
                table, key, choice.model, choice.markers, choice.adjust, choice.pair, firth
            )
            forest, messages = tables.forest_from_fits(models.fits, choice.scale), models.messages
        except OvcfError as exc:
            forest, messages = tables.forest_from_fits((), choice.scale), (str(exc),)
        caption = (
            f"One model with all indicators, adjusted for {adjusted}; {how}."
            if choice.model == "multivariable"
            else "Conditional logistic regression within matched pairs, one model per indicator (age and sex "
            "are matched on, so only the other covariates are adjusted for); Wald 95% CI."
        )
    return LogisticView(forest, tables.forest_table(forest, choice.scale), caption, messages)
