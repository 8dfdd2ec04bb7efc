"""Rank tests beside the t tests of Table 1, with scipy's defaults (markers such as FI are skewed).

The Mann-Whitney U test of cases against controls and the Wilcoxon signed-rank test of matched pairs.

The Mann-Whitney p is computed from U and the tie counts the ROC analysis already has (U = AUC x n1 x n0,
ties counting one half), so a million patients cost nothing extra; it is scipy's `mannwhitneyu(...,
alternative="two-sided")` with its default method: exact for a group of 8 or fewer without ties (scipy
itself computes that), otherwise the normal approximation with tie and continuity corrections.
"""

from __future__ import annotations

import math

import numpy as np

from ovcf_core.stats.distributions import normal_two_sided_p

EXACT_MAX_GROUP = 8  # scipy's 'auto': exact when a group has 8 or fewer values and nothing is tied


def mann_whitney_p(
    cases: np.ndarray | None,
    controls: np.ndarray | None,
    *,
    u_cases: float | None = None,
    tie_counts: np.ndarray | None = None,
    n_cases: int | None = None,
    n_controls: int | None = None,
) -> float:
    """Two-sided Mann-Whitney p of cases against controls, equal to scipy's default.

    Give the values, or (for speed) `u_cases` (the cases' U statistic), the sizes of every group of tied
    values and the two group sizes; the values are still needed for scipy's exact small-sample path.
    """
    n1 = len(cases) if cases is not None else n_cases
    n2 = len(controls) if controls is not None else n_controls
    if n1 is None or n2 is None or n1 == 0 or n2 == 0:
        return math.nan
    if u_cases is None or tie_counts is None:
        if cases is None or controls is None:
            raise ValueError("give the values, or u_cases with tie_counts and the group sizes")
        u_cases, tie_counts = _u_and_ties(np.asarray(cases, float), np.asarray(controls, float))
    ties = bool(np.any(np.asarray(tie_counts) > 1))
    if min(n1, n2) <= EXACT_MAX_GROUP and not ties:
        if cases is None or controls is None:
            raise ValueError("small groups without ties need the values (scipy's exact test)")
        from scipy.stats import mannwhitneyu

        return float(mannwhitneyu(cases, controls, alternative="two-sided").pvalue)
    u = max(u_cases, n1 * n2 - u_cases)
    n = n1 + n2
    t = np.asarray(tie_counts, dtype=float)
    spread = math.sqrt(n1 * n2 / 12 * ((n + 1) - float(np.sum(t**3 - t)) / (n * (n - 1))))
    if spread == 0:
        return 1.0  # every value tied: U is its mean, z = -0.5 / 0, and scipy's p is 1
    z = (u - n1 * n2 / 2 - 0.5) / spread
    return float(min(1.0, normal_two_sided_p(z)))


def _u_and_ties(cases: np.ndarray, controls: np.ndarray) -> tuple[float, np.ndarray]:
    """Return the cases' U (each control below a case counts 1, a tie 1/2) and the sizes of tied groups.

    From sorts and sorted searches only (no argsort, no ranks in the original order): U is the number of
    (case, control) pairs with the case above, plus half the tied ones, which equals the rank-sum form
    R1 - n1(n1 + 1)/2 with midranks.
    """
    ordered = np.sort(controls)
    cases = np.sort(cases)
    below = np.searchsorted(ordered, cases, "left")
    at_or_below = np.searchsorted(ordered, cases, "right")
    u_cases = float(np.sum(below + at_or_below, dtype=np.int64)) / 2.0
    both = np.sort(np.concatenate([cases, ordered]))
    starts = np.flatnonzero(np.r_[True, both[1:] != both[:-1]])
    return u_cases, np.diff(np.r_[starts, both.size])


def wilcoxon_p(differences: np.ndarray) -> float:
    """Compute the two-sided Wilcoxon signed-rank p of paired differences (case minus control).

    scipy's default (`zero_method="wilcox"`, no continuity correction, method 'auto'); NaN when every
    difference is zero.

    Where scipy's 'auto' takes the normal approximation (more than 50 differences, or ties or zeros among
    more than 13) it is computed here from the ranks, without importing scipy.stats (half a second) — a
    million pairs cost one sort; smaller samples go to scipy's exact or permutation test.
    """
    d = np.asarray(differences, dtype=float)
    d = d[np.isfinite(d)]
    if d.size == 0 or not np.any(d != 0):
        return math.nan
    nonzero = d[d != 0]
    sizes = np.sort(np.abs(nonzero))
    starts = np.flatnonzero(np.r_[True, sizes[1:] != sizes[:-1]])
    counts = np.diff(np.r_[starts, sizes.size])
    ties_or_zeros = bool(np.any(counts > 1)) or nonzero.size < d.size
    if d.size <= 50 and (not ties_or_zeros or d.size <= 13):
        from scipy.stats import wilcoxon

        return float(wilcoxon(d).pvalue)
    distinct = sizes[starts]
    positive = np.sort(nonzero[nonzero > 0])  # per distinct |d|, how many of its differences are positive
    n_positive = np.searchsorted(positive, distinct, "right") - np.searchsorted(positive, distinct, "left")
    r_plus = float(np.sum((starts + (counts + 1) / 2) * n_positive))  # each group's 1-based midrank
    n = float(nonzero.size)
    t = counts.astype(float)
    spread = math.sqrt((n * (n + 1) * (2 * n + 1) - float(np.sum(t**3 - t)) / 2) / 24)
    z = (r_plus - n * (n + 1) / 4) / spread
    return float(min(1.0, normal_two_sided_p(z)))
