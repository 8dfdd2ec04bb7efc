"""What a fitted `RiskModel`'s terms mean: each term's odds ratio per a stated step, with its Wald 95% CI.

The Calculator explains an estimate in words; the numbers it quotes come from here, from the model's own
coefficients and covariance (`RiskModel.coefficients_frame`), so the page only formats them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ovcf_core import formatting
from ovcf_core.errors import InputError
from ovcf_core.schema import AGE

if TYPE_CHECKING:
    from ovcf_core.model.risk_model import RiskModel


@dataclass(frozen=True)
class TermOddsRatio:
    """A model term's odds ratio per `per` units of it, its Wald 95% CI and the terms it is adjusted for."""

    term: str
    per: float
    odds_ratio: float
    ci: tuple[float, float]
    adjusted_for: tuple[str, ...]


def term_odds_ratio(model: RiskModel, term: str, per: float = 1.0) -> TermOddsRatio:
    """Return the odds ratio of `term` per `per` units with its Wald 95% CI, adjusted for the other terms.

    Per `per` units the odds ratio is exp(per·β) and its bounds exp(per·(β ± 1.96·SE)): the per-unit ones
    raised to `per` (`formatting.rescale_odds_ratio`).

    Parameters
    ----------
    model : RiskModel
        A fitted model.
    term : str
        One of its terms (``model.terms_``, e.g. ``"age"`` or ``"sex_male"``), not the intercept.
    per : float
        The step the odds ratio is stated per (1 year, 10 HU...).

    Returns
    -------
    TermOddsRatio
        The odds ratio, its CI and the model's other terms.

    Raises
    ------
    InputError
        When `term` is not a term of the model (or is the intercept).
    AnalysisError
        When the model is not fitted.
    ValueError
        When `per` is not a positive number.
    """
    frame = model.coefficients_frame()
    terms = list(frame["term"])
    if term not in terms[1:]:
        raise InputError(f"'{term}' is not a term of the model (its terms: {', '.join(terms[1:])})")
    row = frame.iloc[terms.index(term)]
    estimate, (low, high) = formatting.rescale_odds_ratio(
        float(row["odds_ratio"]), (float(row["or_ci_low"]), float(row["or_ci_high"])), per
    )
    return TermOddsRatio(
        term, per, float("nan") if estimate is None else estimate,
        (float("nan") if low is None else low, float("nan") if high is None else high),
        tuple(t for t in terms[1:] if t != term),
    )  # fmt: skip


def age_lowers_the_odds(model: RiskModel) -> TermOddsRatio | None:
    """Return the odds ratio per year of age when the model's age term lowers the odds, else None.

    In a case-control training sample a negative age coefficient reflects how the controls were chosen
    (matching, older controls), not a protective effect of ageing; the Calculator says so when this is not
    None.

    Parameters
    ----------
    model : RiskModel
        A fitted model.

    Returns
    -------
    TermOddsRatio or None
        Age's odds ratio per year (below 1), or None when the model has no age term or it does not lower
        the odds.
    """
    if AGE not in model.terms_:
        return None
    odds = term_odds_ratio(model, AGE)
    return odds if odds.odds_ratio < 1 else None
