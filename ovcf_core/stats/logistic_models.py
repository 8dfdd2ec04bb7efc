"""The Logistic page's joint models: all markers in one model, or one conditional model per marker.

Beside each marker's own adjusted model (the cohort analysis), a reader may ask for one multivariable
model of every chosen marker, or conditional logistic regression within matched pairs. Both are chosen
and fitted here, with the messages a reader needs, so the dashboard only draws them
(`report.tables.forest_from_fits` makes them forest rows).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import pandas as pd

from ovcf_core.errors import AnalysisError, OvcfError
from ovcf_core.report import style
from ovcf_core.schema import AGE, SEX
from ovcf_core.stats.logistic import FirthMode, LogisticResult, fit_conditional, fit_logistic

MATCHED_ON: tuple[str, ...] = (AGE, SEX)
"""What the matched pairs are matched on: a conditional model does not adjust for it (constant within pairs
by design)."""
JOINT_MODELS = ("multivariable", "conditional")
DEFAULT_PAIR = "pair_id"


@dataclass(frozen=True)
class JointModels:
    """The fitted joint models and what the reader should know about them.

    `fits` pairs each model with the markers whose odds ratios it gives: one model of every marker
    (multivariable), or one model per marker (conditional; markers whose model failed are left out and
    named in `messages`).
    """

    kind: str
    fits: tuple[tuple[tuple[str, ...], LogisticResult], ...]
    messages: tuple[str, ...]


def conditional_covariates(adjust: Sequence[str]) -> list[str]:
    """Return the covariates a conditional model within matched pairs adjusts for: those not matched on."""
    return [a for a in adjust if a not in MATCHED_ON]


def _multivariable(
    table: pd.DataFrame, markers: tuple[str, ...], adjust: tuple[str, ...], firth: bool
) -> JointModels:
    """Fit every marker in one model (Firth always with `firth`, else where separation is found)."""
    fit = fit_logistic(table, markers, adjust, firth=FirthMode.ALWAYS if firth else FirthMode.AUTO)
    if len(markers) < 2:
        messages: tuple[str, ...] = ("Only one marker is chosen: this is the single-marker model.",)
    else:
        messages = (
            f"All indicators together: {fit.n} patients with every value ({fit.n_cases} cases, "
            f"{fit.n_controls} controls).",
            *fit.warnings,
        )
    return JointModels("multivariable", ((markers, fit),), messages)


def _conditional(
    table: pd.DataFrame, markers: tuple[str, ...], adjust: tuple[str, ...], pair: str
) -> JointModels:
    """Fit one conditional model per marker within `pair`s; a marker that cannot be fitted gets a message."""
    fits, messages = [], []
    covariates = conditional_covariates(adjust)
    for marker in markers:
        try:
            fit = fit_conditional(table, [marker], pair, covariates)
        except OvcfError as exc:
            messages.append(f"{style.marker_label(marker)}: {exc}")
            continue
        fits.append(((marker,), fit))
        messages.extend(f"{style.marker_label(marker)}: {w}" for w in fit.warnings)
    return JointModels("conditional", tuple(fits), tuple(messages))


def joint_models(
    table: pd.DataFrame,
    kind: str,
    markers: Sequence[str],
    adjust: Sequence[str] = (),
    pair: str | None = None,
    *,
    firth: bool = False,
) -> JointModels:
    """Fit the multivariable model of every marker, or one conditional model per marker within pairs.

    The multivariable model (`fit_logistic`) uses Firth's penalised likelihood always with `firth`, else
    only where separation is found. The conditional models (`fit_conditional`, Wald) adjust only for the
    covariates not matched on (`MATCHED_ON`).

    Parameters
    ----------
    table : pandas.DataFrame
        The cohort.
    kind : str
        "multivariable" or "conditional" (`JOINT_MODELS`).
    markers : sequence of str
        The markers whose odds ratios are wanted.
    adjust : sequence of str
        The covariates to adjust for.
    pair : str or None
        The matched pairs' column of a conditional model (`DEFAULT_PAIR` when None).
    firth : bool
        Whether the multivariable model always uses Firth's likelihood (`--firth`).

    Returns
    -------
    JointModels
        The fits with their markers, and the messages to show (patients used, warnings, failed markers).

    Raises
    ------
    AnalysisError
        For an unknown `kind`, or when the multivariable model cannot be fitted (e.g. too few patients).
    """
    chosen, covariates = tuple(markers), tuple(adjust)
    if kind == "multivariable":
        return _multivariable(table, chosen, covariates, firth)
    if kind == "conditional":
        return _conditional(table, chosen, covariates, pair or DEFAULT_PAIR)
    raise AnalysisError(f"unknown joint model '{kind}' (use one of {', '.join(JOINT_MODELS)})")
