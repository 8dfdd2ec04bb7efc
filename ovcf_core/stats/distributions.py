"""The few distribution functions and classical tests the cohort analysis needs, from `scipy.special`.

Importing `scipy.stats` takes 1-2 s (it parses every distribution's docstring and pulls in
`scipy.spatial`); `scipy.special` takes a fraction of that, and these are the same special functions
scipy.stats evaluates. Each is tested against its scipy.stats / statsmodels counterpart.
"""

from __future__ import annotations

from typing import overload

import numpy as np
from scipy import special


def normal_quantile(q: float) -> float:
    """Return the standard normal quantile (`scipy.stats.norm.ppf`)."""
    return float(special.ndtri(q))


@overload
def normal_two_sided_p(z: float) -> float: ...
@overload
def normal_two_sided_p(z: np.ndarray) -> np.ndarray: ...
def normal_two_sided_p(z: float | np.ndarray) -> float | np.ndarray:
    """Two-sided p of a standard normal statistic: 2·P(Z > |z|) (`2 * norm.sf(abs(z))`)."""
    out = 2.0 * special.ndtr(-np.abs(z))
    return float(out) if np.ndim(out) == 0 else out


def t_two_sided_p(t: float, df: float) -> float:
    """Two-sided p of a Student t statistic with `df` degrees of freedom (`2 * t.sf(abs(t), df)`)."""
    if np.isnan(t) or not df > 0:
        return float("nan")
    return float(2.0 * special.stdtr(df, -abs(t)))


def t_quantile(q: float, df: float) -> float:
    """Return the Student t quantile with `df` degrees of freedom (`scipy.stats.t.ppf`)."""
    return float(special.stdtrit(df, q))


def chi2_sf(x: float, df: float) -> float:
    """Upper tail of the chi-square distribution (`scipy.stats.chi2.sf`)."""
    return float(special.chdtrc(df, x))


def _t_statistic(difference: float, se: float) -> float:
    """Divide the difference by se; with no spread, ±inf for a difference and NaN for none (as scipy)."""
    if se == 0:
        return float("nan") if difference == 0 else float(np.copysign(np.inf, difference))
    return float(difference / se)


def paired_t(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Paired t-test of a - b against 0: (t, two-sided p), as `scipy.stats.ttest_rel`."""
    d = np.asarray(a, float) - np.asarray(b, float)
    n = len(d)
    if n < 2:
        return float("nan"), float("nan")
    t = _t_statistic(float(np.mean(d)), float(np.std(d, ddof=1)) / np.sqrt(n))
    return t, t_two_sided_p(t, n - 1)


def welch_t(a: np.ndarray, b: np.ndarray) -> tuple[float, float]:
    """Welch's unequal-variance t-test: (t, two-sided p), as `scipy.stats.ttest_ind(equal_var=False)`."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    na, nb = len(a), len(b)
    if na < 2 or nb < 2:
        return float("nan"), float("nan")
    va, vb = float(np.var(a, ddof=1)) / na, float(np.var(b, ddof=1)) / nb
    diff = float(np.mean(a) - np.mean(b))
    se2 = va + vb
    t = _t_statistic(diff, np.sqrt(se2))
    df = se2**2 / (va**2 / (na - 1) + vb**2 / (nb - 1)) if se2 > 0 else na + nb - 2
    return t, t_two_sided_p(t, df)


def chi2_contingency_2x2(table: np.ndarray) -> tuple[float, float]:
    """Test a 2×2 table by Pearson's chi-square with Yates' continuity correction: (chi², p).

    As `scipy.stats.chi2_contingency` (each cell moved at most 0.5 towards its expected count).
    """
    observed = np.asarray(table, float)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    diff = expected - observed
    corrected = observed + np.sign(diff) * np.minimum(0.5, np.abs(diff))
    chi2 = float(np.sum((corrected - expected) ** 2 / expected))
    return chi2, chi2_sf(chi2, 1)


def mcnemar(discordant_a: int, discordant_b: int, exact: bool) -> tuple[float, float]:
    """McNemar's test from the two discordant counts: (statistic, p), as statsmodels' `mcnemar`.

    Exact: the statistic is the smaller count and p = 2·P(Binomial(n, ½) <= it), at most 1.
    Otherwise: chi-square with continuity correction, (|b - c| - 1)² / (b + c) on 1 df.
    """
    b, c = int(discordant_a), int(discordant_b)
    n = b + c
    if exact:
        k = min(b, c)
        return float(k), min(1.0, float(2.0 * special.bdtr(k, n, 0.5)))
    stat = (abs(b - c) - 1.0) ** 2 / n if n else float("nan")
    return float(stat), chi2_sf(stat, 1) if n else float("nan")
