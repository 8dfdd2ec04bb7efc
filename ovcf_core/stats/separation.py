"""Detect (quasi-)complete separation in a logistic design by linear programming (Konis 2007).

As R's `detectseparation::detect_separation`, naming the coefficients whose ML estimates are infinite.

With s_i = +1 for cases and −1 for controls and X̄ = diag(s)·X, the program
  maximise 1'X̄b subject to X̄b ≥ 0, −1 ≤ b ≤ 1
has optimum 0 exactly when the ML estimate exists (detectseparation's test). Otherwise the likelihood
keeps rising along the direction b found. Any of many such directions may move bystanders too, so
variables are dropped (last first) while the rest still separate, and the coefficients reported ±inf are
those of the program on that minimal set: a marker that separates alone is named alone. Columns are first
divided by their largest absolute value, which keeps b's zero pattern but stops the box from hiding a
marker measured in large units (HU). `kind` tells complete (every patient strictly on its side) from
quasi-complete separation.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ovcf_core.errors import AnalysisError

__all__ = ["Separation", "detect_separation", "named_design"]


def named_design(
    y, X, names: list[str] | tuple[str, ...] | None, add_intercept: bool
) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Read a logistic design as float arrays, with named columns and the intercept first.

    The separation check and the Firth fit read their input alike, so they share this.

    Parameters
    ----------
    y : array-like
        The outcome, flattened to one value per row (checked by the caller).
    X : array-like
        The columns, one row per patient; a 1-D array is one column.
    names : sequence of str or None
        The columns' names; None names them x1, x2, ...
    add_intercept : bool
        Whether to put a column of ones named "(Intercept)" first.

    Returns
    -------
    (ndarray, ndarray, list of str)
        The outcome, the design matrix and its column names.

    Raises
    ------
    AnalysisError
        If the number of names is not the number of columns.
    """
    y = np.asarray(y, float).ravel()
    X = np.asarray(X, float)
    if X.ndim == 1:
        X = X[:, None]
    names = list(names) if names is not None else [f"x{i + 1}" for i in range(X.shape[1])]
    if len(names) != X.shape[1]:
        raise AnalysisError(f"{len(names)} names for {X.shape[1]} columns")
    if add_intercept:
        X = np.column_stack([np.ones(X.shape[0]), X])
        names = ["(Intercept)", *names]
    return y, X, names


@dataclass(frozen=True)
class Separation:
    """Whether the ML logistic estimates exist; which coefficients run to +inf or −inf if not."""

    separated: bool
    kind: str  # "none", "quasi-complete" or "complete"
    names: tuple[str, ...]
    beta: tuple[float, ...]  # 0 for a finite estimate, +inf / -inf for one that diverges

    @property
    def infinite(self) -> tuple[str, ...]:
        """Names of the coefficients whose ML estimates are infinite (the intercept included)."""
        return tuple(n for n, b in zip(self.names, self.beta, strict=True) if b != 0)

    @property
    def separated_by(self) -> tuple[str, ...]:
        """The variables (not the intercept) whose coefficients go to infinity."""
        return tuple(n for n in self.infinite if n != "(Intercept)")

    def message(self) -> str:
        """One line for a user: which variables separate the outcome."""
        if not self.separated:
            return "no separation: the maximum-likelihood estimates exist"
        who = ", ".join(self.separated_by) or "the intercept"
        return f"{self.kind} separation by {who}: maximum-likelihood estimates are infinite (use Firth)"

    def to_dict(self) -> dict:
        """Return JSON-ready values: each infinite estimate as "inf" / "-inf", a finite one as None."""
        return {
            "separated": self.separated,
            "kind": self.kind,
            "infinite": list(self.infinite),
            "beta": {
                n: (None if b == 0 else ("inf" if b > 0 else "-inf"))
                for n, b in zip(self.names, self.beta, strict=True)
            },
        }


def _direction(xbar: np.ndarray, columns: list[int], tolerance: float) -> np.ndarray | None:
    """Detectseparation's program on some columns: the direction b found, or None without separation."""
    from scipy.optimize import linprog

    sub = xbar[:, columns]
    found = linprog(
        -sub.sum(axis=0),
        A_ub=-sub,
        b_ub=np.zeros(len(sub)),
        bounds=[(-1.0, 1.0)] * len(columns),
        method="highs",
    )
    if found.status != 0 or found.x is None:  # (a solved program has its x)
        raise AnalysisError(f"the separation check failed: {found.message}")
    return found.x if np.any(np.abs(found.x) > tolerance) else None


def detect_separation(
    y,
    X,
    names: list[str] | tuple[str, ...] | None = None,
    *,
    add_intercept: bool = True,
    tolerance: float = 1e-3,
) -> Separation:
    """Check whether the ML logistic estimates exist, by Konis (2007)'s linear program on the whole design.

    Matches R's `detectseparation::detect_separation`; the columns are read as `named_design` reads them
    (intercept first when `add_intercept`).

    Parameters
    ----------
    tolerance : float
        A direction component above this in absolute value counts as moving its coefficient.

    Returns
    -------
    Separation
        Whether and how the outcome is separated, and which coefficients are infinite.

    Raises
    ------
    AnalysisError
        If the outcome is not one 0/1 value per row, the design has missing or infinite values, or the
        linear program fails.
    """
    from scipy.optimize import linprog

    y, X, names = named_design(y, X, names, add_intercept)
    if len(y) != X.shape[0] or not np.all(np.isin(y, (0.0, 1.0))):
        raise AnalysisError("the outcome must be one 0/1 value per row")
    if not np.all(np.isfinite(X)):
        raise AnalysisError("the design matrix has missing or infinite values")
    scale = np.max(np.abs(X), axis=0)
    scale[scale == 0] = 1.0
    xbar = (X / scale) * np.where(y == 1, 1.0, -1.0)[:, None]
    n, k = xbar.shape
    bounds = [(-1.0, 1.0)] * k
    direction = _direction(xbar, list(range(k)), tolerance)
    if direction is None:
        return Separation(False, "none", tuple(names), tuple(0.0 for _ in names))
    # a minimal set of variables that still separates: drop each one the separation survives without
    constant = [j for j in range(k) if np.all(X[0, j] == X[:, j])]
    keep = list(range(k))
    for j in reversed(range(k)):
        if j in constant:
            continue
        trial = [i for i in keep if i != j]
        if not trial:  # no columns cannot separate (and linprog refuses an empty program)
            continue
        smaller = _direction(xbar, trial, tolerance)
        if smaller is not None:
            keep, direction = trial, smaller
    beta = np.zeros(k)
    for i, value in zip(keep, direction, strict=True):
        if abs(value) > tolerance:
            beta[i] = np.sign(value) * np.inf
    # complete separation: some b puts every patient strictly on its side (maximise the smallest margin)
    margin = linprog(
        np.r_[np.zeros(k), -1.0],
        A_ub=np.column_stack([-xbar, np.ones(n)]),
        b_ub=np.zeros(n),
        bounds=[*bounds, (None, 1.0)],
        method="highs",
    )
    complete = margin.status == 0 and margin.fun is not None and -margin.fun > 1e-9
    kind = "complete" if complete else "quasi-complete"
    return Separation(True, kind, tuple(names), tuple(float(v) for v in beta))
