"""ROC tests beyond DeLong's, as pROC's `roc.test`, and adjustment of a list of p-values.

pROC's stratified bootstrap test of two correlated AUCs, Venkatraman's permutation test of two correlated
ROC curves (Venkatraman & Begg 1996; pROC), and Holm / Benjamini–Hochberg adjustment of p-values.

Both tests take two markers measured on the same patients, each oriented to its own direction first (a
`lower` marker is negated), so every AUC and curve is the one `ovcf_core.stats.roc` reports. The AUCs come
from the one AUC path (`roc.delong_components`); nothing here computes an AUC of its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ovcf_core.constants import ANALYSIS_SEED
from ovcf_core.errors import AnalysisError
from ovcf_core.stats.estimates import Progress, difference_z, resamples, stratified_resample
from ovcf_core.stats.roc import MIN_PER_GROUP, PairedScores, PairedTest, delong_components

ADJUST_METHODS = ("none", "holm", "fdr_bh")


def _paired(pair: PairedScores) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Return the outcome and the two oriented markers (higher = case) over patients with all three values."""
    y = pair.y
    a, b = pair.oriented()
    ok = np.isfinite(y) & np.isfinite(a) & np.isfinite(b) & np.isin(y, (0.0, 1.0))
    y, a, b = y[ok], a[ok], b[ok]
    if min(int((y == 1).sum()), int((y == 0).sum())) < MIN_PER_GROUP:
        raise AnalysisError(
            f"{pair.names[0]} vs {pair.names[1]}: needs at least {MIN_PER_GROUP} cases and {MIN_PER_GROUP} "
            "controls with both markers"
        )
    return y, a, b


def _two_aucs(y: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Compute the AUCs of the two oriented markers (the one AUC path of `roc`)."""
    case = y == 1
    return delong_components(np.vstack([a[case], b[case]]), np.vstack([a[~case], b[~case]]))[0]


@dataclass(frozen=True)
class BootstrapAucTest(PairedTest):
    """Hold pROC's `roc.test(method="bootstrap")` for two correlated AUCs.

    D = (AUC_a - AUC_b) / SD of the resampled differences, with a two-sided normal p.
    """

    auc_a: float
    auc_b: float
    d: float
    p_value: float
    sd_difference: float
    n: int
    n_boot: int
    seed: int


def bootstrap_auc_test(
    pair: PairedScores,
    *,
    n_boot: int = 2000,
    seed: int = ANALYSIS_SEED,
    progress: Progress | None = None,
) -> BootstrapAucTest:
    """Test two AUCs on the same patients by pROC's stratified bootstrap (`roc.test(method="bootstrap")`).

    Patients are resampled in pairs, cases and controls separately (pROC's boot.stratified=TRUE), with the
    same indices for both markers.

    Parameters
    ----------
    pair : PairedScores
        The outcome, the two markers (a patient missing either is left out), their directions and names.
    n_boot : int
        Number of resamples (pROC's default is 2000).
    seed : int
        Seed of the resampling, so that a run can be repeated exactly.
    progress : callable, optional
        Called with (done, total) about every 1% of the resamples.

    Returns
    -------
    BootstrapAucTest
        The observed AUCs, D, its two-sided p and the SD of the resampled differences.

    Raises
    ------
    AnalysisError
        If `n_boot` < 2, or fewer than MIN_PER_GROUP cases or controls have both markers.
    """
    if n_boot < 2:
        raise AnalysisError(f"the bootstrap test needs at least 2 resamples (got {n_boot})")
    y, a, b = _paired(pair)
    observed = _two_aucs(y, a, b)
    rng = np.random.default_rng(seed)
    differences = np.empty(n_boot)
    for i in resamples(n_boot, progress):
        index = stratified_resample(rng, y)
        aucs = _two_aucs(y[index], a[index], b[index])
        differences[i] = aucs[0] - aucs[1]
    spread = float(np.std(differences, ddof=1))
    d, p = difference_z(float(observed[0] - observed[1]), spread)
    return BootstrapAucTest(
        *pair.names, float(observed[0]), float(observed[1]), d, p, spread, len(y), n_boot, seed
    )


def _ordinal_ranks(values: np.ndarray) -> np.ndarray:
    """Rank 1-based with ties in order of appearance (R's rank(ties.method="first"))."""
    ranks = np.empty(len(values), dtype=np.int64)
    ranks[np.argsort(values, kind="stable")] = np.arange(1, len(values) + 1)
    return ranks


def venkatraman_statistic(rank_a: np.ndarray, rank_b: np.ndarray, is_case: np.ndarray) -> float:
    """Compute Venkatraman & Begg's E, the sum over rank cut-offs of the two markers' error difference.

    Over every rank cut-off x = 1..n, |errors of b - errors of a| is summed, where errors are false
    negatives (cases ranked <= x) plus false positives (controls ranked > x). `rank_a`, `rank_b` are
    permutations of 1..n (pROC's `venkatraman.paired.stat`, O(n)).
    """
    is_case = np.asarray(is_case, dtype=bool)
    n_controls = int((~is_case).sum())

    def errors(ranks: np.ndarray) -> np.ndarray:
        by_rank = np.empty(len(ranks), dtype=bool)
        by_rank[np.asarray(ranks) - 1] = is_case
        false_negative = np.cumsum(by_rank)
        false_positive = n_controls - np.cumsum(~by_rank)
        return false_negative + false_positive

    return float(np.abs(errors(rank_b) - errors(rank_a)).sum())


@dataclass(frozen=True)
class VenkatramanTest(PairedTest):
    """Hold Venkatraman's permutation test that two ROC curves on the same patients are the same curve.

    Not just equal AUCs: crossing curves with one AUC differ. E is pROC's statistic; `n_exceed` of the
    `n_perm` permuted statistics were >= E. `p_value` is (1 + n_exceed) / (1 + n_perm), never 0 (Phipson &
    Smyth 2010); pROC reports n_exceed / n_perm.
    """

    e: float
    p_value: float
    n_exceed: int
    n_perm: int
    n: int
    seed: int


def venkatraman_test(
    pair: PairedScores,
    *,
    n_perm: int = 2000,
    seed: int = ANALYSIS_SEED,
    progress: Progress | None = None,
) -> VenkatramanTest:
    """Test two paired curves as pROC's `roc.test(method="venkatraman")`, with its permutation scheme.

    Ranks are taken with ties in order of appearance. Each permutation jitters the ranks by U(-1/2, 1/2)
    and, for each patient with probability 1/2, swaps the two markers' ranks (the swapped ones unjittered,
    as pROC does), then ranks again. Markers are oriented to their directions first; pROC ranks the raw
    values, which is the same for two `higher` markers. Parameters are those of `bootstrap_auc_test`,
    with `n_perm` permutations in place of resamples.

    Returns
    -------
    VenkatramanTest
        E, the permutation p (1 + n_exceed) / (1 + n_perm), and the counts behind it.

    Raises
    ------
    AnalysisError
        If `n_perm` < 1, or for the same data refusals as `bootstrap_auc_test`.
    """
    if n_perm < 1:
        raise AnalysisError(f"the permutation test needs at least 1 permutation (got {n_perm})")
    y, a, b = _paired(pair)
    is_case = y == 1
    rank_a, rank_b = _ordinal_ranks(a), _ordinal_ranks(b)
    observed = venkatraman_statistic(rank_a, rank_b, is_case)
    rng = np.random.default_rng(seed)
    n = len(y)
    exceed = 0
    for _ in resamples(n_perm, progress):
        jitter_a = rank_a + rng.random(n) - 0.5
        jitter_b = rank_b + rng.random(n) - 0.5
        keep = rng.random(n) < 0.5  # pROC: q = 1 - round(runif(n)); q = 1 keeps the patient's pair
        permuted_a = np.where(keep, jitter_a, rank_b)
        permuted_b = np.where(keep, jitter_b, rank_a)
        statistic = venkatraman_statistic(_ordinal_ranks(permuted_a), _ordinal_ranks(permuted_b), is_case)
        exceed += statistic >= observed
    p = (1 + exceed) / (1 + n_perm)
    return VenkatramanTest(*pair.names, observed, p, int(exceed), n_perm, n, seed)


def adjust_p(p_values: Sequence[float], method: str = "holm") -> list[float]:
    """Adjust p-values for multiple testing by statsmodels' `multipletests`.

    Parameters
    ----------
    p_values : sequence of float
        The p-values; missing ones (NaN) stay missing and do not count as tests.
    method : str
        `none`, `holm` or `fdr_bh` (Benjamini–Hochberg).

    Returns
    -------
    list of float
        The adjusted p-values, in the order given.

    Raises
    ------
    AnalysisError
        If `method` is unknown or a p-value lies outside [0, 1].
    """
    if method not in ADJUST_METHODS:
        raise AnalysisError(f"unknown p-value adjustment '{method}' (use one of {', '.join(ADJUST_METHODS)})")
    values = np.asarray(p_values, dtype=float).reshape(-1)
    known = np.isfinite(values)
    if np.any((values[known] < 0) | (values[known] > 1)):
        raise AnalysisError("p-values must lie between 0 and 1")
    out = values.copy()
    if method != "none" and known.any():
        from statsmodels.stats.multitest import multipletests

        out[known] = multipletests(values[known], method=method)[1]
    return [float(v) for v in out]
