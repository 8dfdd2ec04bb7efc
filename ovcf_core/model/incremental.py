"""Incremental value of a marker: whether adding VBQ to HU (or any markers to a base model) helps.

Both logistic models are fitted (the one engine, `fit_logit`) on the patients having every variable of the
larger one. Reported: the likelihood-ratio test, the AUC gain with DeLong's paired test, and Pencina's
continuous NRI and IDI (2008, 2011) with seeded bootstrap percentile CIs (both models refitted on each
resample, progress reported).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from ovcf_core.constants import MODEL_SEED
from ovcf_core.errors import AnalysisError, InputError
from ovcf_core.schema import OUTCOME
from ovcf_core.stats.estimates import CI, JsonResult, Progress

if TYPE_CHECKING:
    import pandas as pd


def log_likelihood(y: np.ndarray, eta: np.ndarray) -> float:
    """Compute the Bernoulli log-likelihood of a logistic model with linear predictor `eta`.

    Parameters
    ----------
    y, eta
        Each patient's outcome (1 = fracture) and log-odds under the model.

    Returns
    -------
    float
        sum(y * eta - log(1 + e^eta)), computed without overflow.
    """
    return float(np.sum(y * eta - np.logaddexp(0.0, eta)))


def nri_idi(y: np.ndarray, p_old: np.ndarray, p_new: np.ndarray) -> tuple[float, float, float, float]:
    """Compute Pencina's continuous NRI (with its two parts) and IDI of new over old predicted risks.

    NRI = [P(up|event) - P(down|event)] + [P(down|non-event) - P(up|non-event)];
    IDI = [mean p_new - mean p_old over events] - [the same over non-events].

    Parameters
    ----------
    y
        Outcomes, 1 = event (fracture), 0 = non-event.
    p_old, p_new
        Predicted risks of the base model and of the extended model for the same patients.

    Returns
    -------
    tuple of float
        (NRI, its events part, its non-events part, IDI).
    """
    up, down = p_new > p_old, p_new < p_old
    events, non = y == 1, y == 0
    nri_events = float(up[events].mean() - down[events].mean())
    nri_non = float(down[non].mean() - up[non].mean())
    idi = float((p_new[events] - p_old[events]).mean() - (p_new[non] - p_old[non]).mean())
    return nri_events + nri_non, nri_events, nri_non, idi


@dataclass(frozen=True)
class IncrementalValue(JsonResult):
    """Base model vs base + added markers on the same patients."""

    base: tuple[str, ...]
    added: tuple[str, ...]
    n: int
    n_cases: int
    lr_chi2: float
    lr_df: int
    lr_p: float
    auc_base: float
    auc_new: float
    delta_auc: float
    delta_auc_ci: CI
    delta_auc_p: float
    nri: float
    nri_events: float
    nri_non_events: float
    nri_ci: CI
    idi: float
    idi_ci: CI
    n_bootstrap: int
    n_bootstrap_failed: int
    seed: int

    def to_frame(self) -> pd.DataFrame:
        """Return the comparison as a table, one row per measure: estimate, 95% CI, p."""
        import pandas as pd

        from ovcf_core.report.style import fmt_ci, fmt_p

        rows = [
            ("Likelihood-ratio χ² (df)", f"{self.lr_chi2:.2f} ({self.lr_df})", "", fmt_p(self.lr_p)),
            ("AUC base → with added", f"{self.auc_base:.3f} → {self.auc_new:.3f}", "", ""),
            ("ΔAUC (DeLong)", f"{self.delta_auc:.3f}", fmt_ci(*self.delta_auc_ci, 3),
             fmt_p(self.delta_auc_p)),
            ("Continuous NRI (events + non-events)", f"{self.nri:.3f} ({self.nri_events:.3f} + "
             f"{self.nri_non_events:.3f})", fmt_ci(*self.nri_ci, 3), ""),
            ("IDI", f"{self.idi:.4f}", fmt_ci(*self.idi_ci, 4), ""),
        ]  # fmt: skip
        return pd.DataFrame(rows, columns=["measure", "estimate", "95% CI", "p"])


def _percentile_ci(values: list[float]) -> CI:
    """Return the bootstrap percentile 95% CI (NaN, NaN when no resample succeeded)."""
    if not values:
        return (float("nan"), float("nan"))
    low, high = np.percentile(values, [2.5, 97.5])
    return (float(low), float(high))


def incremental_value(
    table: pd.DataFrame,
    base: Sequence[str],
    added: Sequence[str],
    *,
    n_bootstrap: int = 200,
    seed: int = MODEL_SEED,
    progress: Progress | None = None,
) -> IncrementalValue:
    """Compare `outcome ~ base` with `outcome ~ base + added` on the patients having all of them.

    Parameters
    ----------
    table
        The cohort, with the outcome ``ovcf`` and every named column.
    base
        The variables of the base model (may be empty: an intercept-only model).
    added
        The markers added to it.
    n_bootstrap
        Resamples for the NRI and IDI percentile CIs (both models refitted on each).
    seed
        Seed of the resampling.
    progress
        Called as ``progress(done, total)`` after each resample.

    Returns
    -------
    IncrementalValue
        The likelihood-ratio test, the AUC gain with DeLong's paired test and CI, NRI and IDI with
        bootstrap CIs; failed resamples (one class, separation) are counted.

    Raises
    ------
    InputError
        When nothing is added, a marker is both in the base and added, or a column is missing.
    AnalysisError
        When fewer than 10 cases or controls have every variable, or a model cannot be fitted.
    """
    import pandas as pd
    from scipy import stats
    from scipy.special import expit

    from ovcf_core.constants import Z95
    from ovcf_core.stats.logistic import design_matrix, fit_logit
    from ovcf_core.stats.roc import compare_correlated, delong_covariance

    base, added = tuple(base), tuple(added)
    if not added:
        raise InputError("name at least one marker to add to the base model")
    if set(base) & set(added):
        raise InputError("a marker is both in the base model and among those added")
    for column in (OUTCOME, *base, *added):
        if column not in table.columns:
            raise InputError(f"no column '{column}'", column=column)
    y_all = pd.to_numeric(table[OUTCOME], errors="coerce").to_numpy(dtype=float)
    X_new_all = design_matrix(table, [*base, *added])
    ok = np.isfinite(y_all) & np.all(np.isfinite(X_new_all), axis=1)
    y, X_new = y_all[ok], X_new_all[ok]
    X_old = X_new[:, : 1 + len(base)]
    n_cases = int((y == 1).sum())
    if min(n_cases, len(y) - n_cases) < 10:
        raise AnalysisError(
            f"too few patients with every variable ({n_cases} cases, {len(y) - n_cases} controls)"
        )
    b_old, _ = fit_logit(y, X_old)
    b_new, _ = fit_logit(y, X_new)
    eta_old, eta_new = X_old @ b_old, X_new @ b_new
    lr = 2 * (log_likelihood(y, eta_new) - log_likelihood(y, eta_old))
    df = len(added)
    aucs, cov = delong_covariance(np.vstack([eta_new[y == 1], eta_old[y == 1]]),
                                  np.vstack([eta_new[y == 0], eta_old[y == 0]]))  # fmt: skip
    test = compare_correlated(aucs, cov, 0, 1, ("base + added", "base"), len(y))
    delta = float(aucs[0] - aucs[1])
    se = float(np.sqrt(max(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1], 0.0)))
    nri, nri_e, nri_n, idi = nri_idi(y, expit(eta_old), expit(eta_new))
    rng = np.random.default_rng(seed)
    boot_nri: list[float] = []
    boot_idi: list[float] = []
    failed = 0
    for b in range(n_bootstrap):
        index = rng.integers(0, len(y), size=len(y))
        yb = y[index]
        try:
            if yb.min() == yb.max():
                raise AnalysisError("one class")
            c_old, _ = fit_logit(yb, X_old[index])
            c_new, _ = fit_logit(yb, X_new[index])
        except AnalysisError:
            failed += 1
        else:
            r = nri_idi(yb, expit(X_old[index] @ c_old), expit(X_new[index] @ c_new))
            boot_nri.append(r[0])
            boot_idi.append(r[3])
        if progress is not None:
            progress(b + 1, n_bootstrap)
    return IncrementalValue(
        base=base, added=added, n=len(y), n_cases=n_cases,
        lr_chi2=float(lr), lr_df=df, lr_p=float(stats.chi2.sf(lr, df)),
        auc_base=float(aucs[1]), auc_new=float(aucs[0]), delta_auc=delta,
        delta_auc_ci=(delta - Z95 * se, delta + Z95 * se), delta_auc_p=test.p_value,
        nri=nri, nri_events=nri_e, nri_non_events=nri_n, nri_ci=_percentile_ci(boot_nri),
        idi=idi, idi_ci=_percentile_ci(boot_idi), n_bootstrap=n_bootstrap, n_bootstrap_failed=failed,
        seed=seed,
    )  # fmt: skip
