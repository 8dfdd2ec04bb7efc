"""Logistic regression of the outcome on markers adjusted for covariates: odds ratios per unit and per SD
with Wald 95% CIs, a multivariable model with a collinearity (VIF) warning, and conditional logistic
regression for matched pairs.

The unconditional model is fitted by Newton-Raphson in numpy (the same maximum-likelihood estimate,
Hessian and Wald statistics as statsmodels' `Logit`, tested against it) because at a million patients it
is about ten times faster. Separation is detected, never reported as a huge OR: a marker that alone splits
cases from controls, a fit that does not converge, or a coefficient whose OR per SD exceeds e^10.
Sex enters as an indicator of male sex.
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import special

from ovcf_core.constants import Z95
from ovcf_core.errors import AnalysisError
from ovcf_core.schema import OUTCOME, SEX
from ovcf_core.stats.distributions import normal_two_sided_p

MAX_ITER = 50
TOL = 1e-10
SINGLE_PRECISION_HESSIAN_ROWS = 200_000  # larger samples take Newton steps with a float32 Hessian
WARM_START_ROWS = 20_000  # ... starting from the fit to a subsample of about this many rows
MAX_LOG_OR_PER_SD = 10.0
VIF_WARNING = 5.0


@dataclass(frozen=True)
class OddsRatio:
    """One term's coefficient, Wald p and its OR per unit and per SD (SD of the term in the fitted sample)."""

    term: str
    coef: float
    se: float
    p_value: float
    sd: float
    or_per_unit: float
    or_per_unit_ci: tuple[float, float]
    or_per_sd: float
    or_per_sd_ci: tuple[float, float]

    def to_dict(self) -> dict:
        out = asdict(self)
        out["or_per_unit_ci"] = list(self.or_per_unit_ci)
        out["or_per_sd_ci"] = list(self.or_per_sd_ci)
        return out


def odds_ratio(term: str, coef: float, se: float, sd: float) -> OddsRatio:
    """ORs with Wald 95% CIs from a coefficient and its SE; `sd` scales the per-SD OR."""
    p = normal_two_sided_p(coef / se) if se > 0 else float("nan")
    lo, hi = coef - Z95 * se, coef + Z95 * se
    with np.errstate(over="ignore"):
        return OddsRatio(
            term, float(coef), float(se), p, float(sd),
            float(np.exp(coef)), (float(np.exp(lo)), float(np.exp(hi))),
            float(np.exp(coef * sd)), (float(np.exp(lo * sd)), float(np.exp(hi * sd))),
        )  # fmt: skip


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

    def term(self, name: str) -> OddsRatio | None:
        """The OddsRatio of `name`, or None when it was not in the model."""
        return next((t for t in self.terms if t.term == name), None)

    def to_dict(self) -> dict:
        return {
            "terms": {t.term: t.to_dict() for t in self.terms},
            "n": self.n,
            "n_cases": self.n_cases,
            "n_controls": self.n_controls,
            "covariates": list(self.covariates),
            "conditional": self.conditional,
            "vif": dict(self.vif),
            "warnings": list(self.warnings),
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
    """The model matrix [1, terms...] of every row of a table (NaN where a value is missing)."""
    return np.column_stack([np.ones(len(table)), *_term_columns(table, terms)])


def design(table: pd.DataFrame, terms: list[str], outcome: str = OUTCOME) -> tuple[np.ndarray, np.ndarray]:
    """(y, X) over the complete rows of `terms` (no intercept column), X column-major for `newton_logit`."""
    columns = _term_columns(table, terms)
    y = table[outcome].to_numpy(float)
    ok = np.isfinite(y)
    for column in columns:
        ok &= np.isfinite(column)
    rows = slice(None) if ok.all() else ok
    X = np.empty((int(ok.sum()), len(columns)), order="F")  # column-major, as `newton_logit` wants it
    for i, column in enumerate(columns):
        X[:, i] = column[rows]
    return y[rows], X


def newton_logit(
    y: np.ndarray, X: np.ndarray, offset: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Maximum-likelihood logistic fit (X includes the intercept column): (coef, covariance, converged).

    `offset` is a known term added to the linear predictor (coefficient fixed at 1), as statsmodels'.

    On large samples the iteration starts from the fit to an evenly spaced subsample of about
    WARM_START_ROWS rows (close to the maximum, so a few full-size steps remain) and the steps use a
    single-precision Hessian (half the memory traffic of the costliest product); the gradient stays double,
    so the iteration stops at the same maximum, and the covariance is always the double-precision inverse
    information there. If that does not converge, the fit is redone in double precision from zero.
    """
    X = np.asfortranarray(X)  # column-major: the products over all rows read each column contiguously
    if len(y) >= SINGLE_PRECISION_HESSIAN_ROWS:
        every = len(y) // WARM_START_ROWS
        sub_offset = None if offset is None else offset[::every]
        start, _, ok = _newton(y[::every], X[::every], np.float64, None, sub_offset)
        fit = _newton(y, X, np.float32, start if ok and np.all(np.isfinite(start)) else None, offset)
        if fit[2]:
            return fit
    return _newton(y, X, np.float64, None, offset)


def _newton(
    y: np.ndarray,
    X: np.ndarray,
    hessian_dtype: type,
    start: np.ndarray | None = None,
    offset: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray, bool]:
    """Newton-Raphson iterations from `start` (else zero) with the Hessian's products in `hessian_dtype`
    (see `newton_logit`).

    Why a float32 Hessian still finds the exact maximum: the Hessian only sets each step's length and
    direction; the iteration stops when the double-precision score X'(y - p) is below 1e-8, which holds
    only at the maximum-likelihood estimate, whatever Hessian led there. The covariance returned is
    always the inverse of the double-precision information matrix at that estimate.
    """
    Xh = X if hessian_dtype is np.float64 else X.astype(hessian_dtype)
    beta = np.zeros(X.shape[1]) if start is None else np.array(start, dtype=float)
    converged = False
    hess = None
    for _ in range(MAX_ITER):
        eta = X @ beta if offset is None else X @ beta + offset
        p = special.expit(eta)  # the logistic function, overflow-free
        w = (p * (1 - p)).astype(hessian_dtype, copy=False)
        hess = (Xh.T @ (Xh * w[:, None])).astype(np.float64)
        grad = X.T @ (y - p)
        if np.max(np.abs(grad)) < 1e-8:  # already at the maximum: `hess` is the information there
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
    if not converged or hess is None or np.max(np.abs(grad)) >= 1e-8 or hessian_dtype is not np.float64:
        p = special.expit(X @ beta if offset is None else X @ beta + offset)
        hess = X.T @ (X * (p * (1 - p))[:, None])
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


def separating(y: np.ndarray, x: np.ndarray) -> str | None:
    """'perfect'/'quasi' when x alone splits cases from controls (no / only tied overlap), else None."""
    cases, controls = x[y == 1], x[y == 0]
    if len(cases) == 0 or len(controls) == 0:
        return None
    gaps = (cases.min() - controls.max(), controls.min() - cases.max())
    if max(gaps) > 0:
        return "perfect"
    if max(gaps) == 0:
        return "quasi"
    return None


def vif(X: np.ndarray, names: list[str]) -> dict[str, float]:
    """Variance inflation factors: the diagonal of the inverse correlation matrix of the predictors."""
    if X.shape[1] < 2:
        return {n: 1.0 for n in names}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        corr = np.corrcoef(X, rowvar=False)
    try:
        diag = np.diag(np.linalg.inv(corr))
    except np.linalg.LinAlgError:
        diag = np.full(len(names), np.inf)
    return {n: float(v) for n, v in zip(names, diag, strict=True)}


def fit_logistic(
    table: pd.DataFrame,
    markers: list[str] | tuple[str, ...],
    adjust: list[str] | tuple[str, ...] = (),
    outcome: str = OUTCOME,
) -> LogisticResult:
    """`outcome ~ markers + adjust` over complete rows; covariates that do not vary are dropped (noted).

    Raises AnalysisError when the model cannot be fitted at all (one class, too few rows). Separation gives
    a result whose marker ORs are NaN and whose `warnings` say why.
    """
    markers = list(markers)
    covariates = [c for c in adjust if c in table.columns and c not in markers]
    y, X = design(table, markers + covariates, outcome)
    n_cases, n_controls = int((y == 1).sum()), int((y == 0).sum())
    if n_cases < 2 or n_controls < 2:
        raise AnalysisError(f"logistic regression needs cases and controls (has {n_cases} and {n_controls})")
    notes: list[str] = []
    keep = [i for i in range(X.shape[1]) if X[:, i].min() != X[:, i].max()]
    for i in range(X.shape[1]):
        if i not in keep:
            name = (markers + covariates)[i]
            notes.append(f"{name} does not vary in the sample and was left out of the model")
    names = [(markers + covariates)[i] for i in keep]
    X = X[:, keep]
    if len(y) <= X.shape[1] + 2:
        raise AnalysisError(f"logistic regression needs more patients than terms (has {len(y)})")
    sds = X.std(axis=0, ddof=1)
    separated = [
        f"{name}: {kind} separation (the marker alone splits cases from controls); "
        "the odds ratio cannot be estimated"
        for i, name in enumerate(names)
        if name in markers and (kind := separating(y, X[:, i]))
    ]
    model = np.empty((len(y), X.shape[1] + 1), order="F")  # intercept + terms, column-major
    model[:, 0] = 1.0
    model[:, 1:] = X
    beta, cov, converged = newton_logit(y, model)
    se = np.sqrt(np.clip(np.diag(cov), 0, None))[1:]
    coef = beta[1:]
    unstable = not converged or not np.all(np.isfinite(se))
    for i, name in enumerate(names):
        if name in markers and abs(coef[i] * sds[i]) > MAX_LOG_OR_PER_SD:
            unstable = True
    if unstable and not separated:
        separated.append(
            "the model did not converge to finite odds ratios (quasi-complete separation); "
            "the odds ratios cannot be estimated"
        )
    terms = []
    for i, name in enumerate(names):
        if separated:
            terms.append(odds_ratio(name, float("nan"), float("nan"), sds[i]))
        else:
            terms.append(odds_ratio(name, coef[i], se[i], sds[i]))
    factors = vif(X, names)
    high = [m for m in names if m in markers and factors[m] > VIF_WARNING]
    if len(markers) > 1 and high:
        notes.append(
            "collinearity: VIF "
            + ", ".join(f"{m} {factors[m]:.1f}" for m in high)
            + f" (> {VIF_WARNING:g}); these markers' odds ratios are unstable together"
        )
    return LogisticResult(
        tuple(terms), len(y), n_cases, n_controls, tuple(c for c in covariates if c in names), False,
        factors, tuple(separated + notes),
    )  # fmt: skip


def fit_conditional(
    table: pd.DataFrame,
    markers: list[str] | tuple[str, ...],
    pair: str = "pair_id",
    adjust: list[str] | tuple[str, ...] = (),
    outcome: str = OUTCOME,
) -> LogisticResult:
    """Conditional logistic regression stratified on `pair` (statsmodels ConditionalLogit), 1:1 pairs."""
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
    if sep:
        notes.insert(0, "the conditional model did not converge to finite odds ratios (separation)")
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
