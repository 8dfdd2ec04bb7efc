"""The Logistic page's models: each marker alone, all together, or conditional within matched pairs.

`logistic_view` turns the page's `LogisticChoice` into what the page draws (`LogisticView`): the per-marker
models come from the cohort analysis (`analysis.cohort_analysis`), the joint and conditional fits from
`ovcf_core.stats.logistic`, cached on the cohort's digest and the choice.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd
import streamlit as st

from dashboard import analysis
from ovcf_core import formatting
from ovcf_core.errors import OvcfError
from ovcf_core.report import content, style, tables

if TYPE_CHECKING:
    from ovcf_core.stats.logistic import LogisticResult

MATCHED_ON = ("age", "sex")  # conditional models do not adjust for what the pairs are matched on


@dataclass(frozen=True)
class LogisticChoice:
    """The Logistic page's choices: model kind, markers, covariates, pair column and odds-ratio scale.

    One frozen value, so the cached fit is keyed on it (Streamlit hashes a dataclass by its fields).
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


def _logistic_table(forest: pd.DataFrame, scale: str) -> pd.DataFrame:
    """Format forest rows as the page's table, with each model's patients and estimation method."""
    label = "OR per SD [95% CI]" if scale == "sd" else "OR per stated unit [95% CI]"
    return pd.DataFrame(
        {
            "Indicator": forest["label"],
            label: [
                formatting.odds_ratio_ci(e, lo, hi)
                for e, lo, hi in zip(forest["or"], forest["low"], forest["high"], strict=True)
            ],
            "p": [style.fmt_p(p) for p in forest["p"]],
            "n": [style.MISSING if n is None or pd.isna(n) else int(n) for n in forest["n"]],
            "Method": [tables.METHOD_TEXT.get(m or "", style.MISSING) for m in forest["method"]],
        }
    )


def _forest_from_fit(fit: LogisticResult | None, markers: tuple[str, ...], scale: str) -> pd.DataFrame:
    """Make forest rows (marker, label, or, low, high, p) from the markers' terms of a LogisticResult."""
    rows = []
    for marker in markers:
        term = fit.term(marker)
        if term is None:
            continue
        label = style.marker_label(marker, unit=False)
        if scale == "sd":
            estimate, (low, high) = term.or_per_sd, term.or_per_sd_ci
        else:  # per the marker's stated unit (0.1 VBQ, 10 HU): the OR per 1 raised to it, exactly
            unit = formatting.display_unit(marker, term.sd)
            estimate, (low, high) = formatting.rescale_odds_ratio(term.or_per_unit, term.or_per_unit_ci, unit)
            label = f"{label} (per {formatting.unit_text(marker, unit)})"
        rows.append(
            {
                "marker": marker,
                "label": label,
                "or": estimate,
                "low": low,
                "high": high,
                "p": term.p_value,
                "n": fit.n,
                "method": term.method,
            }
        )
    frame = pd.DataFrame(rows, columns=["marker", "label", "or", "low", "high", "p", "n", "method"])
    return frame.astype({"or": float, "low": float, "high": float, "p": float})


@st.cache_resource(show_spinner="Fitting the model…", max_entries=32)
def _joint_model(
    _table: pd.DataFrame, key: str, choice: LogisticChoice, firth: bool = False
) -> tuple[pd.DataFrame, tuple[str, ...]]:
    """Fit the multivariable model, or one conditional model per marker, and return forest rows and warnings.

    The multivariable model uses Firth's likelihood always with `firth`, else only where separation is
    found. `key` is the cohort's content digest (the cache key in place of `_table`).
    """
    from ovcf_core.stats.logistic import FirthMode, fit_conditional, fit_logistic

    mode = FirthMode.ALWAYS if firth else FirthMode.AUTO
    if choice.model == "multivariable":
        fit = fit_logistic(_table, choice.markers, choice.adjust, firth=mode)
        if len(choice.markers) < 2:
            return _forest_from_fit(fit, choice.markers, choice.scale), (
                "Only one marker is chosen: this is the single-marker model.",
            )
        return _forest_from_fit(fit, choice.markers, choice.scale), (
            f"All indicators together: {fit.n} patients with every value ({fit.n_cases} cases, "
            f"{fit.n_controls} controls).",
            *fit.warnings,
        )
    frames, messages = [], []
    for marker in choice.markers:
        try:
            fit = fit_conditional(
                _table, [marker], choice.pair or "pair_id", [a for a in choice.adjust if a not in MATCHED_ON]
            )
        except OvcfError as exc:
            messages.append(f"{style.marker_label(marker)}: {exc}")
            continue
        frames.append(_forest_from_fit(fit, (marker,), choice.scale))
        messages.extend(f"{style.marker_label(marker)}: {w}" for w in fit.warnings)
    forest = pd.concat(frames, ignore_index=True) if frames else _forest_from_fit(None, (), choice.scale)
    return forest, tuple(messages)


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
            forest, messages = _joint_model(table, key, choice, firth)
        except OvcfError as exc:
            forest, messages = _forest_from_fit(None, (), choice.scale), (str(exc),)
        caption = (
            f"One model with all indicators, adjusted for {adjusted}; {how}."
            if choice.model == "multivariable"
            else "Conditional logistic regression within matched pairs, one model per indicator (age and sex "
            "are matched on, so only the other covariates are adjusted for); Wald 95% CI."
        )
    return LogisticView(forest, _logistic_table(forest, choice.scale), caption, messages)
