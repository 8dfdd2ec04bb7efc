"""Spearman correlation of each marker with the outcome (Table 2) and between markers (Table 3).

With p-values (scipy's t approximation) and a 95% CI by Fisher's z with SE 1/sqrt(n - 3).

Missing values are dropped pairwise. When no marker has a missing value the whole matrix is ranked once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ovcf_core.stats.distributions import normal_quantile, t_two_sided_p
from ovcf_core.stats.estimates import CI, JsonResult
from ovcf_core.stats.roc import midranks


def fisher_ci(rho: float, n: int, level: float = 0.95) -> CI:
    """CI of a correlation by Fisher's z transform (SE 1/sqrt(n - 3)); NaN when n <= 3 or rho is NaN."""
    if n <= 3 or not np.isfinite(rho):
        return (float("nan"), float("nan"))
    if abs(rho) >= 1:
        return (float(rho), float(rho))
    z = np.arctanh(rho)
    half = normal_quantile(0.5 + level / 2) / np.sqrt(n - 3)
    return (float(np.tanh(z - half)), float(np.tanh(z + half)))


@dataclass(frozen=True)
class SpearmanResult(JsonResult):
    """Spearman's rho with its two-sided p-value, Fisher-z 95% CI and the number of complete pairs."""

    rho: float
    p_value: float
    ci: CI
    n: int

    def to_frame(self) -> pd.DataFrame:
        """One row: rho, p, CI bounds, n."""
        return pd.DataFrame([{"rho": self.rho, "p_value": self.p_value, "ci_low": self.ci[0],
                              "ci_high": self.ci[1], "n": self.n}])  # fmt: skip


def spearman(x: np.ndarray, y: np.ndarray, level: float = 0.95) -> SpearmanResult:
    """Spearman correlation of x and y over the rows where both are finite (NaN when constant)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    n = int(ok.sum())
    if n < 3:
        nan = float("nan")
        return SpearmanResult(nan, nan, (nan, nan), n)
    xv, yv = x[ok], y[ok]
    binary = np.all((yv == 0) | (yv == 1))  # the midranks of a 0/1 variable are affine in it: no ranking
    return _rank_correlation(midranks(xv), yv if binary else midranks(yv), level)


def spearman_from_auc(
    auc_higher: float, n_cases: int, n_controls: int, tie_counts: np.ndarray, level: float = 0.95
) -> SpearmanResult:
    """Spearman's rho of a marker with a 0/1 outcome from its AUC (no ranking needed).

    With midranks, the cases' rank sum is the Mann-Whitney U plus m(m+1)/2 and U = AUC·m·k (ties one
    half), so the covariance of rank(x) with y is m·k·(AUC - 1/2) / N; the ranks' sum of squares is
    (N³ - N)/12 less Σ(t³ - t)/12 over the tie groups (`tie_counts`: how many patients share each value).
    `auc_higher` is P(case > control) + ½P(tie). p as scipy's spearmanr (t with N - 2 df).
    """
    m, k = float(n_cases), float(n_controls)
    n = n_cases + n_controls
    t = np.asarray(tie_counts, dtype=float)
    ss_ranks = (float(n) ** 3 - n - float(np.sum(t**3 - t))) / 12.0
    if n < 3 or m == 0 or k == 0 or ss_ranks <= 0:
        nan = float("nan")
        return SpearmanResult(nan, nan, (nan, nan), n)
    rho = float(np.clip(m * k * (auc_higher - 0.5) / np.sqrt(ss_ranks * m * k / n), -1.0, 1.0))
    return SpearmanResult(rho, _t_test_p(rho, n), fisher_ci(rho, n, level), n)


def _t_test_p(rho: float, n: int) -> float:
    """Compute scipy's spearmanr p-value: two-sided, t = rho·sqrt((n - 2) / (1 - rho²)) with n - 2 df."""
    if abs(rho) == 1.0:
        return 0.0
    t = rho * np.sqrt((n - 2) / ((1.0 + rho) * (1.0 - rho)))
    return t_two_sided_p(t, n - 2)


def _rank_correlation(rx: np.ndarray, ry: np.ndarray, level: float) -> SpearmanResult:
    """Compute Spearman's rho as Pearson's r of the ranks (NaN when either is constant).

    p as scipy's spearmanr (t distribution with n - 2 df).
    """
    n = len(rx)
    rx, ry = rx - rx.mean(), ry - ry.mean()
    denom = np.sqrt(np.dot(rx, rx) * np.dot(ry, ry))
    if denom == 0:
        nan = float("nan")
        return SpearmanResult(nan, nan, (nan, nan), n)
    rho = float(np.clip(np.dot(rx, ry) / denom, -1.0, 1.0))
    return SpearmanResult(rho, _t_test_p(rho, n), fisher_ci(rho, n, level), n)


@dataclass(frozen=True)
class CorrelationMatrix:
    """Spearman rho, p and n between every two markers (pairwise complete)."""

    markers: tuple[str, ...]
    rho: np.ndarray
    p: np.ndarray
    n: np.ndarray

    def to_dict(self) -> dict:
        """DESIGN §4's `marker_correlations`: {"rho": {a: {b: r}}, "p": {a: {b: p}}} (NaN as None)."""

        def nested(values: np.ndarray) -> dict:
            return {
                a: {b: (float(values[i, j]) if np.isfinite(values[i, j]) else None)
                    for j, b in enumerate(self.markers)}
                for i, a in enumerate(self.markers)
            }  # fmt: skip

        return {"rho": nested(self.rho), "p": nested(self.p)}

    def to_frame(self) -> pd.DataFrame:
        """Long table: one row per unordered pair a < b with rho, p, n."""
        rows = [
            {"a": a, "b": b, "rho": self.rho[i, j], "p_value": self.p[i, j], "n": int(self.n[i, j])}
            for i, a in enumerate(self.markers)
            for j, b in enumerate(self.markers)
            if i < j
        ]
        return pd.DataFrame(rows, columns=["a", "b", "rho", "p_value", "n"])


def correlation_matrix(
    table: pd.DataFrame,
    markers: list[str] | tuple[str, ...],
    ranks: dict[str, np.ndarray] | None = None,
) -> CorrelationMatrix:
    """Spearman matrix of `markers` in `table`; the diagonal is 1 (p 0) for markers with any variation.

    `ranks` may hold markers' midranks over all rows of `table` (as `SortedScores.midranks` gives them);
    when no value is missing they are used instead of ranking again.
    """
    markers = tuple(markers)
    k = len(markers)
    rho, p, n = np.full((k, k), np.nan), np.full((k, k), np.nan), np.zeros((k, k), dtype=int)
    columns = [table[m].to_numpy(float) for m in markers]  # views of the table's columns, not a copy
    rows = len(table)
    complete = k >= 2 and rows > 3 and all(np.isfinite(c).all() and c.min() != c.max() for c in columns)
    if complete:
        given = ranks or {}
        ranked = np.column_stack(
            [given[m] if m in given else midranks(c) for m, c in zip(markers, columns, strict=True)]
        )
        rho = np.clip(np.corrcoef(ranked, rowvar=False), -1.0, 1.0)
        del ranked
        p = np.array([[_t_test_p(float(r), rows) for r in row] for row in rho])
        np.fill_diagonal(rho, 1.0)
        np.fill_diagonal(p, 0.0)
        n[:] = rows
    else:
        for i in range(k):
            for j in range(i, k):
                r = spearman(columns[i], columns[j])
                rho[i, j] = rho[j, i] = r.rho
                p[i, j] = p[j, i] = r.p_value
                n[i, j] = n[j, i] = r.n
    return CorrelationMatrix(markers, rho, p, n)
