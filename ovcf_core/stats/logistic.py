"""Logistic regression of the outcome on markers adjusted for covariates, unconditional and conditional.

Odds ratios per unit and per SD with Wald 95% CIs, a multivariable model with a collinearity (VIF)
warning, and conditional logistic regression for matched pairs.

The unconditional model is fitted by Newton-Raphson in numpy (the same maximum-likelihood estimate,
Hessian and Wald statistics as statsmodels' `Logit`, tested against it) because at a million patients it
is about ten times faster. Sex enters as an indicator of male sex.

Separation is judged on the whole design matrix by Konis' linear program (`stats.separation`), never
by a heuristic, and a non-converged Wald OR is never reported. The program runs when the Wald fit is
suspect (no convergence, |coefficient x SD| > 10 for any term, or fitted probabilities within 1e-8 of 0
or 1 for at least 1% of rows, counted on evenly spaced rows of a large sample) and always on samples of
up to LP_ALWAYS_ROWS rows, where it is cheap. When it finds separation the model is refitted by Firth's
penalised likelihood (`stats.firth`, profile penalised-likelihood CIs as R logistf) unless Firth is
turned off; `firth="always"` uses Firth throughout.
"""

from __future__ import annotations

import enum
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd
from scipy import special

from ovcf_core.constants import Z95
from ovcf_core.errors import AnalysisError
from ovcf_core.schema import OUTCOME, SEX
from ovcf_core.stats import firth as firth_fit
from ovcf_core.stats.distributions import normal_two_sided_p
from ovcf_core.stats.estimates import CI, JsonResult
from ovcf_core.stats.separation import Separation, detect_separation

MAX_ITER = 50
TOL = 1e-10  # Newton stops when the step is below TOL x (1 + max |beta|) ...
GRADIENT_TOL = 1e-8  # ... or when every component of the score X'(y - p) is below this
LARGE_SAMPLE_ROWS = 200_000  # larger samples start from a subsample's fit and continue by chord steps
WARM_START_ROWS = 20_000  # ... the subsample's size (about)
MAX_CHORD_STEPS = 30
CHORD_MIN_SHRINK = 2.0  # each chord step at least this much shorter than the last, else plain Newton
INFORMATION_BLOCK = 32_768  # rows per block of the passes over a large design (a block stays in cache)
MAX_LOG_OR_PER_SD = 10.0  # a Wald fit with |coefficient x SD| above this for any term is suspect
EXTREME_FITTED = 1e-8  # ... as is one with fitted probabilities this close to 0 or 1
EXTREME_SHARE = 0.01  # ... for at least this share of the rows
LP_ALWAYS_ROWS = 20_000  # up to this many rows the separation program always runs (< 0.1 s)
VIF_WARNING = 5.0


class FirthMode(enum.StrEnum):
    """When Firth's penalised likelihood replaces maximum likelihood."""

    NEVER = "never"  # separation gives null odds ratios and a note
    AUTO = "auto"  # separation found on the design -> Firth
    ALWAYS = "always"  # every model by Firth (`--firth`)


@dataclass(frozen=True)
class OddsRatio(JsonResult):
    """One term's coefficient, Wald p and its OR per unit and per SD (SD of the term in the fitted sample)."""

    term: str
    coef: float
    se: float
    p_value: float
    sd: float
    or_per_unit: float
    or_per_unit_ci: CI
    or_per_sd: float
    or_per_sd_ci: CI
    method: str | None = "wald"  # "wald", "firth", or None when no estimate


def _odds(term: str, coef: float, se: float, ci: CI, p: float, sd: float, method: str) -> OddsRatio:
    """Exponentiate a coefficient and its CI on the log-odds scale, per unit and per `sd` units."""
    lo, hi = ci
    with np.errstate(over="ignore"):
        return OddsRatio(
            term, float(coef), float(se), float(p), float(sd),
            float(np.exp(coef)), (float(np.exp(lo)), float(np.exp(hi))),
            float(np.exp(coef * sd)), (float(np.exp(lo * sd)), float(np.exp(hi * sd))), method,
        )  # fmt: skip


def odds_ratio(term: str, coef: float, se: float, sd: float) -> OddsRatio:
    """ORs with Wald 95% CIs from a coefficient and its SE; `sd` scales the per-SD OR."""
    p = normal_two_sided_p(coef / se) if se > 0 else float("nan")
    return _odds(term, coef, se, (coef - Z95 * se, coef + Z95 * se), p, sd, "wald")


def firth_odds_ratio(term: str, coef: float, se: float, ci: CI, p: float, sd: float) -> OddsRatio:
    """ORs from a Firth coefficient with its profile penalised-likelihood CI and PLR p.

    Per SD the coefficient and both bounds are multiplied by `sd`: dividing a column by c multiplies
    log det(X'WX) by a constant, so the penalised profile of c·b is exactly that of b (tested).
    """
    return _odds(term, coef, se, ci, p, sd, "firth")


def _no_odds(term: str, sd: float) -> OddsRatio:
    """Make the OddsRatio of a term that cannot be estimated (every number NaN, method None)."""
    return replace(odds_ratio(term, float("nan"), float("nan"), sd), method=None)


@dataclass(frozen=True)
class LogisticResult:
    """A fitted logistic model: one OddsRatio per term (intercept left out), sample sizes and warnings."""

    terms: tuple[OddsRatio, ...]
    n: int
    n_cases: int
    n_controls: int
    covariates: tuple[str, ...]
    conditional: bool
    vif: dict[str, float]
    warnings: tuple[str, ...]
    method: str | None = "wald"  # "wald", "firth", or None when the ORs could not be estimated
    note: str | None = None  # why the ORs are null or penalised
    separated_by: tuple[str, ...] = ()  # the variables the separation program found

    def term(self, name: str) -> OddsRatio | None:
        """Return the OddsRatio of `name`, or None when it was not in the model."""
        return next((t for t in self.terms if t.term == name), None)

    def to_dict(self) -> dict:
        """Return DESIGN §4's JSON of the model: the terms by name, sizes, method, notes and warnings."""
        return {
            "terms": {t.term: t.to_dict() for t in self.terms},
            "n": self.n,
            "n_cases": self.n_cases,
            "n_controls": self.n_controls,
            "covariates": list(self.covariates),
            "conditional": self.conditional,
            "vif": dict(self.vif),
            "warnings": list(self.warnings),
            "method": self.method,
            "note": self.note,
            "separated_by": list(self.separated_by),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per term: coefficient, SE, p, OR per unit and per SD with CIs, VIF."""
        rows = []
        for t in self.terms:
            rows.append(
                {"term": t.term, "coef": t.coef, "se": t.se, "p_value": t.p_value,
                 "or_per_unit": t.or_per_unit, "or_per_unit_low": t.or_per_unit_ci[0],
                 "or_per_unit_high": t.or_per_unit_ci[1], "or_per_sd": t.or_per_sd,
                 "or_per_sd_low": t.or_per_sd_ci[0], "or_per_sd_high": t.or_per_sd_ci[1],
                 "vif": self.vif.get(t.term, float("nan"))}
            )  # fmt: skip
        return pd.DataFrame(rows)


def _term_columns(table: pd.DataFrame, terms: Sequence[str]) -> list[np.ndarray]:
    """Each term of a table as a float column: numbers as they are (text -> NaN), sex as 1 = M, 0 = F."""
    columns = []
    for term in terms:
        if term == SEX:
            sex = table[SEX]
            columns.append(np.where(sex.isna(), np.nan, (sex == "M").to_numpy(float)))
        else:
            column = table[term]
            if not pd.api.types.is_numeric_dtype(column):
                column = pd.to_numeric(column, errors="coerce")
            columns.append(column.to_numpy(float))
    return columns


def design_matrix(table: pd.DataFrame, terms: Sequence[str]) -> np.ndarray:
    """Build the model matrix [1, terms...] of every row of a table (NaN where a value is missing)."""
    return np.column_stack([np.ones(len(table)), *_term_columns(table, terms)])


def design(table: pd.DataFrame, terms: list[str], outcome: str = OUTCOME) -> tuple[np.ndarray, np.ndarray]:
    """(y, X) over the complete rows of `terms` (no intercept column), X column-major for `newton_logit`.

    X is a view of `model_matrix`'s columns after the intercept (one array, no copy).
    """
    y, model = model_matrix(table, terms, outcome)
    return y, model[:, 1:]


def model_matrix(
    table: pd.DataFrame, terms: Sequence[str], outcome: str = OUTCOME
) -> tuple[np.ndarray, np.ndarray]:
    """(y, [1, terms...]) over the complete rows of `terms`, column-major (as `newton_logit` reads it)."""
    columns = _term_columns(table, terms)
    y = table[outcome].to_numpy(float)
    ok = np.isfinite(y)
    for column in columns:
        ok &= np.isfinite(column)
    rows = slice(None) if ok.all() else ok
    model = np.empty((int(ok.sum()), len(columns) + 1), order="F")
    model[:, 0] = 1.0
    for i, column in enumerate(columns):
        model[:, i + 1] = column[rows]
    return y[rows], model


def information(X: np.ndarray, p: np.ndarray) -> np.ndarray:
    """Compute the Fisher information X'WX, W = p(1 - p), in double precision.

    Summed over blocks of rows, so no n x k temporary is made.
    """
    k = X.shape[1]
    info = np.zeros((k, k))
    for start in range(0, len(p), INFORMATION_BLOCK):
        block = slice(start, start + INFORMATION_BLOCK)
        Xb, pb = X[block], p[block]
        info += Xb.T @ (Xb * (pb * (1.0 - pb))[:, None])
    return info


def newton_logit(
    y: np.ndarray, X: np.ndarray, offset: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum-likelihood logistic fit (X includes the intercept column): (coef, covariance, converged).

    `offset` is a known term added to the linear predictor (coefficient fixed at 1), as statsmodels'.

    On large samples (LARGE_SAMPLE_ROWS rows or more) the iteration starts from the fit to an evenly
    spaced subsample of about WARM_START_ROWS rows, which lies within a few standard errors of the
    maximum, and continues by `_chord`: Newton steps that keep the information matrix of the start and
    compute only the gradient again (one blocked pass over the rows, `_one_pass`, per step). All
    in double precision; the iteration stops on the same criteria as Newton's, so it stops at the same
    maximum, and the covariance is the inverse information at that maximum. If it does not converge
    fast, the fit is redone by plain Newton-Raphson from zero.
    """
    X = np.asfortranarray(X)  # column-major: the products over all rows read each column contiguously
    if len(y) >= LARGE_SAMPLE_ROWS:
        every = len(y) // WARM_START_ROWS
        sub_offset = None if offset is None else offset[::every]
        start, _, ok = _newton(y[::every], X[::every], None, sub_offset)
        if ok and np.all(np.isfinite(start)):
            fit = _chord(y, X, start, offset)
            if fit[2]:
                return fit
    return _newton(y, X, None, offset)


def _converged(grad: np.ndarray, step: np.ndarray, beta: np.ndarray) -> bool:
    """Newton's stopping rule: the score is zero to 1e-8, or the step is below TOL relative to beta."""
    return bool(
        np.max(np.abs(grad)) < GRADIENT_TOL or np.max(np.abs(step)) < TOL * (1 + np.max(np.abs(beta)))
    )


def _one_pass(
    y: np.ndarray,
    X: np.ndarray,
    beta: np.ndarray,
    offset: np.ndarray | None,
    info: np.ndarray | None = None,
) -> np.ndarray:
    """Compute the score X'(y - p) at `beta` in one pass over blocks of INFORMATION_BLOCK rows.

    Each block of X is read once while it is in cache and no n-long temporary (linear predictor, p,
    residual) is made; when `info` (k x k zeros) is given, the information X'WX at `beta` is added into it
    in the same pass. Double precision throughout.
    """
    grad = np.zeros(X.shape[1])
    for start in range(0, len(y), INFORMATION_BLOCK):
        block = slice(start, start + INFORMATION_BLOCK)
        Xb = X[block]
        eta = Xb @ beta
        if offset is not None:
            eta += offset[block]
        p = _logistic_in_place(eta)
        grad += Xb.T @ (y[block] - p)
        if info is not None:
            info += Xb.T @ (Xb * (p * (1.0 - p))[:, None])
    return grad


def _logistic_in_place(eta: np.ndarray) -> np.ndarray:
    """Overwrite `eta` with 1 / (1 + exp(-eta)) and return it (the logistic function, as `special.expit`).

    numpy's exp is vectorised (SIMD) and `expit` is not: a quarter of the time on a large sample's
    passes. Overflow-free in effect: exp(-eta) = inf for eta < -709 gives exactly 0, as `expit` does.
    """
    np.negative(eta, out=eta)
    with np.errstate(over="ignore"):
        np.exp(eta, out=eta)
    eta += 1.0
    return np.reciprocal(eta, out=eta)


def _chord(
    y: np.ndarray, X: np.ndarray, start: np.ndarray, offset: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Newton steps from `start` with the information matrix of `start` kept (the chord method).

    Near the maximum the information changes little, so each step still shrinks the distance to the
    maximum by a large factor (linearly, at a rate set by how far `start` is); only the gradient
    X'(y - p) is computed again at each step (`_one_pass`). The stopping rule is Newton's, so the
    estimate is the maximum-likelihood one to the same tolerance; the covariance is the inverse of the
    information recomputed at the estimate. Not converged (the third tuple item False) when the steps
    do not shrink at least CHORD_MIN_SHRINK-fold or MAX_CHORD_STEPS are not enough.
    """
    beta = np.array(start, dtype=float)
    info = np.zeros((len(beta), len(beta)))
    grad = _one_pass(y, X, beta, offset, info)
    nan = np.full((len(beta), len(beta)), np.nan)
    try:
        inverse = np.linalg.inv(info)
    except np.linalg.LinAlgError:
        return beta, nan, False
    previous = np.inf
    for _ in range(MAX_CHORD_STEPS):
        step = inverse @ grad
        size = float(np.max(np.abs(step)))
        if not np.isfinite(size) or size > previous / CHORD_MIN_SHRINK:
            return beta, inverse, False
        beta = beta + step
        if _converged(grad, step, beta):
            info = np.zeros_like(info)
            _one_pass(y, X, beta, offset, info)  # the information at the estimate
            try:
                return beta, np.linalg.inv(info), True
            except np.linalg.LinAlgError:
                return beta, nan, False
        previous = size
        grad = _one_pass(y, X, beta, offset)
    return beta, inverse, False


def _newton(
    y: np.ndarray,
    X: np.ndarray,
    start: np.ndarray | None = None,
    offset: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Newton-Raphson iterations from `start` (else zero), in double precision (see `newton_logit`)."""
    beta = np.zeros(X.shape[1]) if start is None else np.array(start, dtype=float)
    converged = False
    hess = None
    grad = np.full(X.shape[1], np.inf)
    for _ in range(MAX_ITER):
        eta = X @ beta if offset is None else X @ beta + offset
        p = special.expit(eta)  # the logistic function, overflow-free
        hess = information(X, p)
        grad = X.T @ (y - p)
        if np.max(np.abs(grad)) < GRADIENT_TOL:  # already at the maximum: `hess` is the information there
            converged = True
            break
        try:
            step = np.linalg.solve(hess, grad)
        except np.linalg.LinAlgError:
            break
        beta = beta + step
        if not np.all(np.isfinite(beta)):
            break
        if np.max(np.abs(step)) < TOL * (1 + np.max(np.abs(beta))):
            converged = True
            break
    if not converged or hess is None or np.max(np.abs(grad)) >= GRADIENT_TOL:
        hess = information(X, special.expit(X @ beta if offset is None else X @ beta + offset))
    try:
        cov = np.linalg.inv(hess)
    except np.linalg.LinAlgError:
        cov = np.full_like(hess, np.nan)
    return beta, cov, converged


def fit_logit(
    y: np.ndarray, X: np.ndarray, *, offset: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Maximum-likelihood logistic fit (X with its intercept column): (coefficients, covariance).

    The one engine behind the cohort analysis, the risk model and calibration. Perfect separation
    (fitted probabilities equal to the outcomes, statsmodels' criterion), a singular design or no
    convergence raise AnalysisError: such coefficients are not usable.
    """
    y = np.asarray(y, dtype=float)
    X = np.asarray(X, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        coef, cov, converged = newton_logit(y, X, offset)
        eta = X @ coef if offset is None else X @ coef + offset
        fitted = special.expit(eta)
    if np.all(np.isfinite(fitted)) and np.allclose(fitted, y):
        raise AnalysisError(
            "perfect separation: a combination of the variables splits cases from controls exactly, "
            "so the odds ratios are infinite; use fewer variables or more patients"
        )
    if not np.all(np.isfinite(cov)):
        raise AnalysisError("the variables are collinear (singular design); drop one of them")
    if not converged or not np.all(np.isfinite(coef)):
        raise AnalysisError("the logistic model did not converge (near-separation or collinear variables)")
    return coef, cov


def vif(X: np.ndarray, names: list[str]) -> dict[str, float]:
    """Variance inflation factors: the diagonal of the inverse correlation matrix of the predictors."""
    return _vif_of(centred_cross_products(X), names)


def centred_cross_products(X: np.ndarray) -> np.ndarray:
    """Return (X - mean)'(X - mean), summed block by block (no n x k temporary).

    Its diagonal over n - 1 is each column's variance (`np.var(ddof=1)`'s two-pass formula); the matrix
    as a correlation gives the VIFs.
    """
    mean = X.mean(axis=0)
    cross = np.zeros((X.shape[1], X.shape[1]))
    for start in range(0, len(X), INFORMATION_BLOCK):
        block = X[start : start + INFORMATION_BLOCK] - mean
        cross += block.T @ block
    return cross


def _vif_of(cross: np.ndarray, names: list[str]) -> dict[str, float]:
    """Return the VIFs from the centred cross-products of the predictors (`centred_cross_products`)."""
    if cross.shape[0] < 2:
        return {n: 1.0 for n in names}
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = np.sqrt(np.diag(cross))
        corr = cross / np.outer(scale, scale)
    if not np.all(np.isfinite(corr)):
        return {n: float("nan") for n in names}
    try:
        diag = np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        diag = np.full(len(names), np.inf)
    return {n: float(v) for n, v in zip(names, diag, strict=True)}


def _suspect(
    model: np.ndarray,
    y: np.ndarray,
    beta: np.ndarray,
    se: np.ndarray,
    converged: bool,
    sds: np.ndarray,
    names: list[str],
) -> str | None:
    """Say why a Wald fit is suspect of separation, or None when it is not.

    Suspect: no convergence, a huge |coefficient x SD|, or many fitted probabilities within
    EXTREME_FITTED of 0 or 1.
    """
    if not converged or not np.all(np.isfinite(beta)) or not np.all(np.isfinite(se)):
        return "the maximum-likelihood fit did not converge"
    huge = [n for n, b, sd in zip(names, beta[1:], sds, strict=True) if abs(b * sd) > MAX_LOG_OR_PER_SD]
    if huge:
        return f"odds ratio per SD beyond e^{MAX_LOG_OR_PER_SD:g} for {', '.join(huge)}"
    every = max(1, len(y) // WARM_START_ROWS)  # the share, on evenly spaced rows of a large sample
    with np.errstate(over="ignore"):
        eta = model[::every] @ beta
    extreme = int(np.count_nonzero(np.abs(eta) > -np.log(EXTREME_FITTED)))
    if extreme >= max(1, EXTREME_SHARE * len(eta)):
        share = extreme / len(eta)
        return f"fitted probabilities within {EXTREME_FITTED:g} of 0 or 1 for {share:.0%} of patients"
    return None


def check_separation(y: np.ndarray, X: np.ndarray, names: list[str]) -> Separation | None:
    """Run the separation program on the design (terms without the intercept); None if it cannot run."""
    try:
        return detect_separation(y, X, names)
    except AnalysisError:
        return None


def separation_text(separation: Separation) -> str:
    """'quasi-complete separation by age': the kind and the variables the program names."""
    who = ", ".join(separation.separated_by) or "the intercept"
    return f"{separation.kind} separation by {who}"


def complete_rows(
    table: pd.DataFrame, markers: Sequence[str], adjust: Sequence[str] = (), outcome: str = OUTCOME
) -> int:
    """How many rows a model of `outcome ~ markers + adjust` would use (complete cases)."""
    terms = list(markers) + [c for c in adjust if c in table.columns and c not in markers]
    ok = np.isfinite(table[outcome].to_numpy(float))
    for column in _term_columns(table, terms):
        ok &= np.isfinite(column)
    return int(ok.sum())


def fit_logistic(
    table: pd.DataFrame,
    markers: list[str] | tuple[str, ...],
    adjust: list[str] | tuple[str, ...] = (),
    outcome: str = OUTCOME,
    *,
    firth: FirthMode | str = FirthMode.AUTO,
) -> LogisticResult:
    """Fit `outcome ~ markers + adjust` over complete rows, as statsmodels' `Logit` or R's `logistf`.

    Maximum likelihood with Wald CIs (statsmodels' `Logit`, tested against it); Firth's penalised
    likelihood (R's `logistf`) when `firth` is "always", or "auto" and the separation program finds
    separation (see the module docstring for when it runs). Covariates that do not vary are dropped, with
    a note.

    Parameters
    ----------
    table : DataFrame
        The cohort; rows missing the outcome or a term are left out.
    markers : sequence of str
        The markers whose odds ratios are wanted.
    adjust : sequence of str
        Covariates to adjust for; those missing from the table or among the markers are skipped.
    outcome : str
        The 0/1 outcome column.
    firth : FirthMode or str
        "auto" (Firth only under separation), "always", or "never" (then separated ORs are NaN).

    Returns
    -------
    LogisticResult
        One OddsRatio per term (per unit and per SD), sample sizes, VIFs, method and warnings; ORs that
        cannot be estimated are NaN (method None) and `note` and `warnings` say why.

    Raises
    ------
    AnalysisError
        If the model cannot be fitted at all: fewer than two cases or controls, or no more patients than
        terms plus two.
    """
    mode = FirthMode(firth)
    markers = list(markers)
    covariates = [c for c in adjust if c in table.columns and c not in markers]
    y, model = model_matrix(table, markers + covariates, outcome)  # intercept + terms, column-major
    n_cases, n_controls = int((y == 1).sum()), int((y == 0).sum())
    if n_cases < 2 or n_controls < 2:
        raise AnalysisError(f"logistic regression needs cases and controls (has {n_cases} and {n_controls})")
    notes: list[str] = []
    keep = [i for i in range(model.shape[1] - 1) if model[:, i + 1].min() != model[:, i + 1].max()]
    for i in range(model.shape[1] - 1):
        if i not in keep:
            name = (markers + covariates)[i]
            notes.append(f"{name} does not vary in the sample and was left out of the model")
    names = [(markers + covariates)[i] for i in keep]
    if len(keep) < model.shape[1] - 1:
        model = np.asfortranarray(model[:, [0, *(i + 1 for i in keep)]])
    X = model[:, 1:]  # the terms: a view, not a copy
    if len(y) <= X.shape[1] + 2:
        raise AnalysisError(f"logistic regression needs more patients than terms (has {len(y)})")
    cross = centred_cross_products(X)  # the SDs now, the VIFs at the end: one pass for both
    sds = np.sqrt(np.clip(np.diag(cross), 0, None) / (len(y) - 1))
    method: str | None = "wald"
    note: str | None = None
    separated_by: tuple[str, ...] = ()
    if mode is FirthMode.ALWAYS:
        terms, method, note = _firth_terms(y, X, names, sds, "Firth's penalised likelihood (requested)")
    else:
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            beta, cov, converged = newton_logit(y, model)
        se = np.sqrt(np.clip(np.diag(cov), 0, None))
        suspect = _suspect(model, y, beta, se, converged, sds, names)
        separation = check_separation(y, X, names) if suspect or len(y) <= LP_ALWAYS_ROWS else None
        wald = [odds_ratio(name, beta[i + 1], se[i + 1], sds[i]) for i, name in enumerate(names)]
        if separation is not None and separation.separated:
            separated_by = separation.separated_by
            found = f"{separation_text(separation)}: maximum-likelihood odds ratios are infinite"
            if mode is FirthMode.AUTO:
                terms, method, note = _firth_terms(y, X, names, sds, found)
            else:
                terms, method = [_no_odds(n, sd) for n, sd in zip(names, sds, strict=True)], None
                note = f"{found}; no odds ratio reported"
        elif suspect and (not converged or not np.all(np.isfinite(se))):
            verdict = "no variable separates the groups" if separation else "separation could not be checked"
            terms, method = [_no_odds(n, sd) for n, sd in zip(names, sds, strict=True)], None
            note = (
                f"{suspect} although {verdict} (collinear or badly scaled variables?); no odds ratio reported"
            )
        else:
            terms = wald
            if suspect:
                notes.append(f"Wald fit converged with {suspect}; the separation check finds none")
    factors = _vif_of(cross, names)
    high = [m for m in names if m in markers and factors[m] > VIF_WARNING]
    if len(markers) > 1 and high:
        notes.append(
            "collinearity: VIF "
            + ", ".join(f"{m} {factors[m]:.1f}" for m in high)
            + f" (> {VIF_WARNING:g}); these markers' odds ratios are unstable together"
        )
    return LogisticResult(
        tuple(terms), len(y), n_cases, n_controls, tuple(c for c in covariates if c in names), False,
        factors, tuple(([note] if note else []) + notes), method, note, separated_by,
    )  # fmt: skip


def _firth_terms(
    y: np.ndarray, X: np.ndarray, names: list[str], sds: np.ndarray, reason: str
) -> tuple[list[OddsRatio], str | None, str]:
    """Every term by Firth's penalised likelihood: (odds ratios, method, note); NaN if the fit fails.

    The fit runs on the columns as they are and, should that fail, on the columns centred and divided
    by their SDs. Firth's estimate and each slope's profile are equivariant under that change (it
    multiplies det(X'WX) by a constant and only moves the intercept), so slopes, SEs and CI bounds
    divide by the SD exactly. A CI bound or p that Firth's fit could not determine (a penalised likelihood
    with several local maxima) stays NaN and the note says so.
    """
    failure: Exception | None = None
    for scale in (np.ones(len(sds)), sds):
        design_ = X if scale is not sds else (X - X.mean(axis=0)) / sds
        try:
            fit = firth_fit.fit_firth(y, design_, names)
        except (AnalysisError, ValueError, np.linalg.LinAlgError) as exc:
            failure = exc
            continue
        terms = []
        for i, name in enumerate(names):
            c = scale[i]
            ci = (fit.ci_lower[i + 1] / c, fit.ci_upper[i + 1] / c)
            terms.append(
                firth_odds_ratio(name, fit.coef[i + 1] / c, fit.se[i + 1] / c, ci, fit.p_value[i + 1], sds[i])
            )
        undetermined = "".join(f"; {name}: {fit.note(name)}" for name in names if fit.note(name))
        return (
            terms,
            "firth",
            f"{reason}; Firth's penalised likelihood used (profile-likelihood CIs, p by PLR){undetermined}",
        )
    return (
        [_no_odds(n, sd) for n, sd in zip(names, sds, strict=True)],
        None,
        f"{reason}; the Firth fit failed too ({failure}); no odds ratio reported",
    )


def _pair_separation(y: np.ndarray, X: np.ndarray, groups: np.ndarray, names: list[str]) -> Separation:
    """Konis's LP on the within-pair differences d = case − control.

    For 1:1 pairs the conditional likelihood is a no-intercept logit of 1 on d, whose estimates are
    infinite exactly when some b ≠ 0 has d'b ≥ 0 throughout; with the mirror rows (−d, 0) added, a
    separating (a, b) of the design with an intercept needs d'b ≥ |a|, so the two are the same.
    """
    frame = pd.DataFrame(X).assign(_y=y, _g=groups)
    case = frame[frame["_y"] == 1].set_index("_g").drop(columns="_y")
    control = frame[frame["_y"] == 0].set_index("_g").drop(columns="_y")
    d = (case - control.loc[case.index]).to_numpy(float)
    return detect_separation(np.r_[np.ones(len(d)), np.zeros(len(d))], np.vstack([d, -d]), names)


def fit_conditional(
    table: pd.DataFrame,
    markers: list[str] | tuple[str, ...],
    pair: str = "pair_id",
    adjust: list[str] | tuple[str, ...] = (),
    outcome: str = OUTCOME,
) -> LogisticResult:
    """Fit a conditional logistic regression stratified on 1:1 `pair`s (statsmodels' `ConditionalLogit`).

    Only pairs of exactly one case and one control with every term are used; terms that do not vary
    within any pair are left out (noted). `markers`, `adjust` and `outcome` are as in `fit_logistic`.

    Returns
    -------
    LogisticResult
        With `conditional` set; ORs per SD use the term's SD over the pairs' rows.

    Raises
    ------
    AnalysisError
        If fewer than two complete 1:1 pairs remain.
    """
    from statsmodels.discrete.conditional_models import ConditionalLogit

    markers = list(markers)
    terms = markers + [c for c in adjust if c in table.columns and c not in markers]
    rows = table[[pair, outcome, *[t for t in terms if t != SEX], *([SEX] if SEX in terms else [])]]
    rows = rows.dropna()
    counts = rows.groupby(pair, sort=False)[outcome].agg(["size", "sum"])
    good = counts.index[(counts["size"] == 2) & (counts["sum"] == 1)]
    rows = rows[rows[pair].isin(good)].sort_values(pair)
    y, X = design(rows, terms, outcome)
    groups = rows[pair].to_numpy()
    if len(good) < 2:
        raise AnalysisError(f"conditional logistic regression needs matched pairs (has {len(good)})")
    diff_sd = []
    keep = []
    for i in range(len(terms)):
        grouped = pd.Series(X[:, i]).groupby(groups)
        within = grouped.max() - grouped.min()
        if (within > 0).any():
            keep.append(i)
        diff_sd.append(float(X[:, i].std(ddof=1)))
    notes = [
        f"{terms[i]} does not vary within any pair and was left out"
        for i in range(len(terms))
        if i not in keep
    ]
    names = [terms[i] for i in keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        res = ConditionalLogit(y, X[:, keep], groups=groups).fit(disp=0)
    params, bse = np.asarray(res.params), np.asarray(res.bse)
    converged = bool(getattr(res, "mle_retvals", {}).get("converged", True))
    sep = not converged or not np.all(np.isfinite(bse))
    sep = sep or any(abs(params[j] * diff_sd[i]) > MAX_LOG_OR_PER_SD for j, i in enumerate(keep))
    separated = _pair_separation(y, X[:, keep], groups, names)
    if sep or separated.separated:
        head = "the conditional model did not converge to finite odds ratios"
        if separated.separated:
            notes.insert(
                0, f"{head}: {separated.kind} separation by {', '.join(separated.separated_by)} within pairs"
            )
        else:
            notes.insert(0, f"{head} (no separation of the within-pair differences was found)")
        sep = True
    out = [
        odds_ratio(
            name, float("nan") if sep else params[j], float("nan") if sep else bse[j], diff_sd[keep[j]]
        )
        for j, name in enumerate(names)
    ]
    factors = vif(X[:, keep], names)
    return LogisticResult(
        tuple(out), len(y), int((y == 1).sum()), int((y == 0).sum()),
        tuple(n for n in names if n not in markers), True, factors, tuple(notes),
    )  # fmt: skip
