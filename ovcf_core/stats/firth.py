"""Firth's penalised-likelihood logistic regression with profile penalised-likelihood CIs, as R `logistf`.

Heinze & Schemper (2002): maximise l*(b) = l(b) + ½·log det I(b), I(b) = X'WX, whose modified score is
U*(b) = X'(y − p + h·(½ − p)) with h the diagonal of the hat matrix W^½X(X'WX)⁻¹X'W^½. Estimates stay
finite under separation. As logistf's defaults (`pl = TRUE`): CIs are where the profile of l* drops by
χ²₁(1 − α)/2, and p-values are penalised likelihood-ratio tests; a restricted fit keeps the whole design
in the penalty and refits the other coefficients.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.distributions import chi2_sf, normal_quantile

__all__ = ["FirthFit", "fit_firth", "penalised_loglik"]


@dataclass(frozen=True)
class FirthFit:
    """A Firth logistic fit: per coefficient the estimate, SE (from I(b)⁻¹), profile CI and PL p-value."""

    names: tuple[str, ...]
    coef: tuple[float, ...]
    se: tuple[float, ...]
    ci_lower: tuple[float, ...]
    ci_upper: tuple[float, ...]
    p_value: tuple[float, ...]
    loglik: float
    n: int
    iterations: int
    alpha: float = 0.05
    method: str = "Firth penalised likelihood, profile penalised-likelihood CIs (logistf)"

    def to_dict(self) -> dict:
        return {
            "method": self.method,
            "n": self.n,
            "alpha": self.alpha,
            "loglik": self.loglik,
            "iterations": self.iterations,
            "coefficients": {
                name: {"coef": b, "se": s, "ci": [lo, hi], "p_value": p}
                for name, b, s, lo, hi, p in zip(
                    self.names, self.coef, self.se, self.ci_lower, self.ci_upper, self.p_value, strict=True
                )
            },
        }

    def to_frame(self):
        """The coefficient table (pandas), one row per term, as `summary(logistf(...))`."""
        import pandas as pd

        return pd.DataFrame(
            {
                "coef": self.coef,
                "se": self.se,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
                "p_value": self.p_value,
            },
            index=list(self.names),
        )

    def odds_ratio(self, name: str) -> tuple[float, float, float]:
        """(OR, CI low, CI high) of one term."""
        i = self.names.index(name)
        return math.exp(self.coef[i]), math.exp(self.ci_lower[i]), math.exp(self.ci_upper[i])


def _parts(beta: np.ndarray, y: np.ndarray, X: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(l*(b), modified score U*(b), Fisher information I(b)); l* is −inf where I(b) is singular."""
    eta = X @ beta
    p = 1.0 / (1.0 + np.exp(-eta))
    w = p * (1.0 - p)
    info = X.T @ (X * w[:, None])
    sign, logdet = np.linalg.slogdet(info)
    loglik = float(np.sum(y * eta - np.logaddexp(0.0, eta)))
    if sign <= 0 or not np.isfinite(logdet):
        return -math.inf, np.zeros_like(beta), info
    inv = np.linalg.inv(info)
    h = w * np.einsum("ij,jk,ik->i", X, inv, X)
    score = X.T @ (y - p + h * (0.5 - p))
    return loglik + 0.5 * logdet, score, info


def penalised_loglik(beta: np.ndarray, y: np.ndarray, X: np.ndarray) -> float:
    """Firth's penalised log-likelihood l(b) + ½·log det(X'WX) (logistf's `loglik`)."""
    return _parts(np.asarray(beta, float), np.asarray(y, float), np.asarray(X, float))[0]


def _maximise(
    y: np.ndarray,
    X: np.ndarray,
    beta: np.ndarray,
    free: np.ndarray,
    *,
    max_iter: int = 200,
    max_step: float = 5.0,
    tol: float = 1e-11,
) -> tuple[np.ndarray, float, int]:
    """Newton–Raphson on the free coefficients with step halving (logistf.fit's scheme, maxstep 5)."""
    beta = beta.copy()
    value, score, info = _parts(beta, y, X)
    for iteration in range(1, max_iter + 1):
        if not free.any():
            return beta, value, iteration
        sub = info[np.ix_(free, free)]
        try:
            step = np.linalg.solve(sub, score[free])
        except np.linalg.LinAlgError:
            raise AnalysisError("the Firth fit did not converge (singular information matrix)") from None
        biggest = np.max(np.abs(step))
        if biggest > max_step:
            step *= max_step / biggest
        for _ in range(60):
            trial = beta.copy()
            trial[free] += step
            new_value, new_score, new_info = _parts(trial, y, X)
            if new_value >= value - 1e-9 * max(1.0, abs(value)):  # l* is only this exact near p = 0 or 1
                break
            step /= 2
        beta, value, score, info = trial, new_value, new_score, new_info
        if np.max(np.abs(score[free])) < 1e-8 or np.max(np.abs(step)) < tol:
            return beta, value, iteration
    raise AnalysisError(f"the Firth fit did not converge in {max_iter} iterations")


def _profile_bound(
    y: np.ndarray, X: np.ndarray, beta_hat: np.ndarray, j: int, target: float, direction: int, scale: float
) -> float:
    """Where the profile penalised log-likelihood of coefficient j falls to `target`, on one side."""
    from scipy.optimize import brentq

    free = np.ones(len(beta_hat), bool)
    free[j] = False
    start = {"beta": beta_hat.copy()}

    def gap(value: float) -> float:
        beta = start["beta"].copy()
        beta[j] = value
        beta, loglik, _ = _maximise(y, X, beta, free)
        start["beta"] = beta
        return loglik - target

    inner, step = beta_hat[j], scale
    outer = inner + direction * step
    for _ in range(60):  # the penalty makes l* fall to -inf as |b_j| grows, so a bracket exists
        if gap(outer) < 0:
            break
        inner, step = outer, step * 2
        outer = inner + direction * step
    else:
        return direction * math.inf
    start["beta"] = beta_hat.copy()
    return float(brentq(gap, min(inner, outer), max(inner, outer), xtol=1e-10, rtol=1e-12))


def fit_firth(
    y,
    X,
    names: list[str] | tuple[str, ...] | None = None,
    *,
    add_intercept: bool = True,
    alpha: float = 0.05,
) -> FirthFit:
    """Fit Firth's logistic regression of 0/1 `y` on the columns of `X` (plus an intercept, first).

    Returns estimates, SEs, profile penalised-likelihood CIs and penalised likelihood-ratio p-values as
    `logistf(y ~ ., pl = TRUE)`; finite even when a column separates the outcome.
    """
    y = np.asarray(y, float).ravel()
    X = np.asarray(X, float)
    if X.ndim == 1:
        X = X[:, None]
    names = list(names) if names is not None else [f"x{i + 1}" for i in range(X.shape[1])]
    if len(names) != X.shape[1]:
        raise AnalysisError(f"{len(names)} names for {X.shape[1]} columns")
    if len(y) != X.shape[0]:
        raise AnalysisError(f"{len(y)} outcomes for {X.shape[0]} rows")
    if add_intercept:
        X = np.column_stack([np.ones(len(y)), X])
        names = ["(Intercept)", *names]
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise AnalysisError("the outcome must be 0 or 1")
    if not np.all(np.isfinite(X)):
        raise AnalysisError("the design matrix has missing or infinite values")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be strictly between 0 and 1, got {alpha:g}")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise AnalysisError("the columns are collinear (or constant beside the intercept)")
    k = X.shape[1]
    free = np.ones(k, bool)
    beta, loglik, iterations = _maximise(y, X, np.zeros(k), free)
    _, _, info = _parts(beta, y, X)
    se = np.sqrt(np.diag(np.linalg.inv(info)))
    drop = normal_quantile(1 - alpha / 2) ** 2 / 2  # χ²₁(1 − α) / 2
    lower, upper, p_values = [], [], []
    for j in range(k):
        lower.append(_profile_bound(y, X, beta, j, loglik - drop, -1, max(se[j], 0.1)))
        upper.append(_profile_bound(y, X, beta, j, loglik - drop, +1, max(se[j], 0.1)))
        at_zero = beta.copy()
        at_zero[j] = 0.0
        restricted = np.ones(k, bool)
        restricted[j] = False
        _, loglik0, _ = _maximise(y, X, at_zero, restricted)
        p_values.append(chi2_sf(max(2 * (loglik - loglik0), 0.0), 1))
    return FirthFit(
        names=tuple(names),
        coef=tuple(float(b) for b in beta),
        se=tuple(float(s) for s in se),
        ci_lower=tuple(lower),
        ci_upper=tuple(upper),
        p_value=tuple(float(p) for p in p_values),
        loglik=loglik,
        n=len(y),
        iterations=iterations,
        alpha=alpha,
    )
