"""Study planning: power and sample size for ROC studies, and for developing a prediction model.

ROC studies as pROC's `power.roc.test`; the minimum sample size for developing a prediction model with a
binary outcome as Riley et al. (2020), R's `pmsampsize`.

ROC formulas (pROC 1.18 `R/power.roc.test.R` and `R/obuchowski.R`, cited per function):

- one curve against AUC 0.5 (Obuchowski, McClish & Pepe 2004, formulas 2 and 3):
  n_cases = (z_a·sqrt(V0) + z_b·sqrt(VA))² / (AUC − 0.5)², V0 = 0.0792·(1 + 1/κ),
  VA = 0.0099·exp(−A²/2)·((5A² + 8) + (A² + 8)/κ) with A = 1.414·Φ⁻¹(AUC);
- two correlated curves (Obuchowski & McClish 1997, formulas 4 and 5): binormal variances and covariance of
  the two AUCs, VA = V1 + V2 − 2·C12 and, curve 1 taken as the null, V0 = 2·V1 − 2·C12. Formula 4 as
  published (and in pROC) leaves out the Cov(Â, B̂) term that formula 5 keeps; it is kept for parity.

z_a = Φ⁻¹(1 − α/2) (two-sided) or Φ⁻¹(1 − α), z_b = Φ⁻¹(power); κ = controls per case.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import numpy as np
from scipy import special

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.distributions import normal_quantile

__all__ = [
    "PmSampleSize",
    "RocPower",
    "binormal_auc_covariance",
    "binormal_auc_variance",
    "binormal_difference_variances",
    "obuchowski_variance",
    "pmsampsize_binary",
    "power_roc_test",
    "r2_cs_from_c_statistic",
    "solve_n_cases",
    "solve_power",
]

NULL_VARIANCE = 0.0792
"""Obuchowski et al. (2004)'s variance of an AUC of 0.5 per case at κ = 1 (times 1 + 1/κ in general)."""


def _ceil(x: float) -> int:
    """Round a sample size up, ignoring floating-point dust (29.000000000001 is 29)."""
    return math.ceil(round(x, 9))


def obuchowski_variance(auc: float, kappa: float) -> float:
    """Compute an AUC's variance times the number of cases, binormal with equal variances.

    Obuchowski (2004), formula 3; pROC's `var.theta.obuchowski`, including its constant 1.414.
    """
    a = normal_quantile(auc) * 1.414
    return 0.0099 * math.exp(-(a**2) / 2) * ((5 * a**2 + 8) + (a**2 + 8) / kappa)


def _f_g(a: float, b: float) -> tuple[float, float]:
    """Compute the derivatives f and g of the full AUC in A and B (pROC's `f.full`, `g.full`).

    Obuchowski & McClish (1997), table 1.
    """
    e = math.exp(-(a**2) / (2 * (1 + b**2)))
    f = e / math.sqrt(2 * math.pi * (1 + b**2))
    g = -e * a * b / math.sqrt(2 * math.pi * (1 + b**2) ** 3)
    return f, g


def binormal_auc_variance(a: float, b: float, kappa: float) -> float:
    """Compute a binormal (A, B) full AUC's variance times the number of cases.

    Obuchowski & McClish (1997), formula 4; pROC's `var.params.obuchowski`.
    """
    f, g = _f_g(a, b)
    return f**2 * (1 + b**2 / kappa + a**2 / 2) + g**2 * b**2 * (1 + kappa) / (2 * kappa)


def binormal_auc_covariance(
    a1: float, b1: float, a2: float, b2: float, rn: float, ra: float, kappa: float
) -> float:
    """Compute the covariance of two binormal full AUCs on the same patients times the number of cases.

    rn and ra are the correlations of the two tests in controls and cases (Obuchowski & McClish 1997,
    formula 5; pROC's `cov.params.obuchowski`).
    """
    f1, g1 = _f_g(a1, b1)
    f2, g2 = _f_g(a2, b2)
    return (
        f1 * f2 * (ra + rn * b1 * b2 / kappa + ra**2 * a1 * a2 / 2)
        + g1 * g2 * (b1 * b2 * (rn**2 + kappa * ra**2) / (2 * kappa))
        + f1 * g2 * (ra**2 * a1 * b2 / 2)
        + f2 * g1 * (ra**2 * a2 * b1 / 2)
    )


def binormal_difference_variances(
    a1: float, b1: float, a2: float, b2: float, rn: float, ra: float, kappa: float
) -> tuple[float, float]:
    """Compute (V0, VA) of a difference of two AUCs per case, curve 1 taken as the null.

    V0 = 2·V1 − 2·C12 and VA = V1 + V2 − 2·C12 (pROC's `var0.delta.covvar` and `var.delta.covvar`).
    The parameters are `binormal_auc_covariance`'s.
    """
    v1 = binormal_auc_variance(a1, b1, kappa)
    v2 = binormal_auc_variance(a2, b2, kappa)
    c12 = binormal_auc_covariance(a1, b1, a2, b2, rn, ra, kappa)
    return 2 * v1 - 2 * c12, v1 + v2 - 2 * c12


def solve_n_cases(z_alpha: float, z_beta: float, v0: float, va: float, delta: float) -> float:
    """Cases needed: (z_a·sqrt(V0) + z_b·sqrt(VA))² / delta² (pROC's `solve.nd`; Obuchowski formula 2)."""
    return (z_alpha * math.sqrt(v0) + z_beta * math.sqrt(va)) ** 2 / delta**2


def solve_power(n_cases: float, z_alpha: float, v0: float, va: float, delta: float) -> float:
    """Power with n cases: Φ((sqrt(n·delta²) − z_a·sqrt(V0)) / sqrt(VA)) (pROC's `solve.zbeta`)."""
    return float(special.ndtr((math.sqrt(n_cases * delta**2) - z_alpha * math.sqrt(v0)) / math.sqrt(va)))


@dataclass(frozen=True)
class RocPower:
    """Power or sample size of an ROC study; n_* are unrounded, *_needed rounded up (DESIGN §4b)."""

    auc: float
    kappa: float
    alpha: float
    power: float
    n_cases: float
    n_controls: float
    n_cases_needed: int
    n_controls_needed: int
    auc2: float | None = None
    r: float | None = None
    alternative: str = "two.sided"
    method: str = "One ROC curve against AUC 0.5 (Obuchowski 2004)"

    def to_dict(self) -> dict:
        """Return the plain JSON-ready values (the CLI's `plan` output)."""
        return asdict(self)


def _check_open(name: str, value: float, lo: float = 0.0, hi: float = 1.0) -> None:
    if not (math.isfinite(value) and lo < value < hi):
        raise AnalysisError(f"{name} must be strictly between {lo:g} and {hi:g}, got {value:g}")


def _variances(auc: float, kappa: float, auc2: float | None, r: float | None) -> tuple[float, float, float]:
    """(V0, VA, delta): null and alternative variances per case, and the AUC difference tested."""
    if auc2 is None or r is None:  # (both or neither are given)
        return NULL_VARIANCE * (1 + 1 / kappa), obuchowski_variance(auc, kappa), auc - 0.5
    # two curves given their AUCs: binormal with B = 1, so A = sqrt(2)·Φ⁻¹(AUC); rn = ra = r
    a1, a2 = math.sqrt(2) * normal_quantile(auc), math.sqrt(2) * normal_quantile(auc2)
    v0, va = binormal_difference_variances(a1, 1.0, a2, 1.0, r, r, kappa)
    return v0, va, auc - auc2


def power_roc_test(
    auc: float,
    *,
    kappa: float = 1.0,
    alpha: float = 0.05,
    power: float | None = None,
    n_cases: float | None = None,
    auc2: float | None = None,
    r: float | None = None,
    alternative: str = "two.sided",
) -> RocPower:
    """Compute the power (given `n_cases`) or the cases and controls needed (given `power`).

    Matches pROC's `power.roc.test`. One curve: AUC against 0.5 (pROC's numeric method). With `auc2` and
    `r`: two correlated AUCs on the same patients, as pROC's list method with binormal parameters
    A_i = sqrt(2)·Φ⁻¹(AUC_i), B_i = 1, rn = ra = r and delta = auc − auc2. pROC's `solve.nd` /
    `solve.zbeta`: n = (z_a·sqrt(V0) + z_b·sqrt(VA))² / delta²; power = Φ((sqrt(n·delta²) − z_a·sqrt(V0))
    / sqrt(VA)).

    Parameters
    ----------
    auc : float
        The AUC expected (above 0.5).
    kappa : float
        Controls per case.
    alpha : float
        The significance level.
    power, n_cases : float, optional
        Exactly one: the power wanted (solve for cases) or the cases available (solve for power).
    auc2, r : float, optional
        Both or neither: the second marker's AUC and the two markers' correlation.
    alternative : str
        "two.sided" or "one.sided", as pROC.

    Returns
    -------
    RocPower
        The power and the cases and controls, unrounded and rounded up.

    Raises
    ------
    AnalysisError
        If neither or both of `power` and `n_cases` are given, only one of `auc2` and `r`, equal AUCs, or
        a value out of range (AUCs in (0.5, 1), alpha and power in (0, 1), r in (-1, 1), kappa and
        n_cases above 0).
    """
    if (power is None) == (n_cases is None):
        raise AnalysisError("give either the power wanted or the number of cases, not both")
    if (auc2 is None) != (r is None):
        raise AnalysisError("comparing two AUCs needs both the second AUC and their correlation")
    if alternative not in ("two.sided", "one.sided"):
        raise AnalysisError(f"alternative must be 'two.sided' or 'one.sided', got '{alternative}'")
    _check_open("AUC", auc, 0.5)
    _check_open("alpha", alpha)
    if not (math.isfinite(kappa) and kappa > 0):
        raise AnalysisError(f"kappa (controls per case) must be above 0, got {kappa:g}")
    if auc2 is not None and r is not None:  # (both or neither, checked above)
        _check_open("the second AUC", auc2, 0.5)
        _check_open("the correlation r", r, -1.0)
        if auc == auc2:
            raise AnalysisError("the two AUCs are equal: there is no difference to detect")
    v0, va, delta = _variances(auc, kappa, auc2, r)
    z_alpha = normal_quantile(1 - (alpha / 2 if alternative == "two.sided" else alpha))
    if power is not None:
        _check_open("power", power)
        n = solve_n_cases(z_alpha, normal_quantile(power), v0, va, delta)
    else:
        assert n_cases is not None  # exactly one of power and n_cases (checked above)
        n = float(n_cases)
        if not (math.isfinite(n) and n > 0):
            raise AnalysisError(f"the number of cases must be above 0, got {n:g}")
        power = solve_power(n, z_alpha, v0, va, delta)
    method = (
        "One ROC curve against AUC 0.5 (Obuchowski 2004)"
        if auc2 is None
        else "Two correlated ROC curves, binormal B = 1 (Obuchowski & McClish 1997)"
    )
    return RocPower(
        auc=float(auc),
        kappa=float(kappa),
        alpha=float(alpha),
        power=float(power),
        n_cases=n,
        n_controls=kappa * n,
        n_cases_needed=_ceil(n),
        n_controls_needed=_ceil(kappa * n),
        auc2=None if auc2 is None else float(auc2),
        r=None if r is None else float(r),
        alternative=alternative,
        method=method,
    )


# ------------------------------------------------------------------ prediction-model development (Riley)


def r2_cs_from_c_statistic(c_statistic: float, prevalence: float, nodes: int = 200) -> float:
    """Cox–Snell R² implied by a C-statistic at a prevalence (Riley, Van Calster & Collins 2021).

    Their assumption: the linear predictor is N(μ, 1) in events and N(0, 1) in non-events, μ = √2·Φ⁻¹(C),
    so the logistic model on it is exactly right. pmsampsize fits it to 1,000,000 simulated patients; here
    its large-sample value, 1 − exp(−2·I) with I the expected log-likelihood gain per patient, is
    integrated by Gauss–Hermite quadrature.
    """
    _check_open("C-statistic", c_statistic, 0.5)
    _check_open("prevalence", prevalence)
    mu = math.sqrt(2) * normal_quantile(c_statistic)
    x, w = np.polynomial.hermite_e.hermegauss(nodes)
    w = w / w.sum()
    logit0 = math.log(prevalence / (1 - prevalence)) - mu**2 / 2
    # log P(y=1 | lp) for events (lp = μ + x) and log P(y=0 | lp) for non-events (lp = x)
    gain_events = float(np.sum(w * -np.logaddexp(0.0, -(logit0 + mu * (mu + x)))))
    gain_controls = float(np.sum(w * -np.logaddexp(0.0, logit0 + mu * x)))
    null = prevalence * math.log(prevalence) + (1 - prevalence) * math.log(1 - prevalence)
    info = prevalence * gain_events + (1 - prevalence) * gain_controls - null
    return float(1 - math.exp(-2 * info))


@dataclass(frozen=True)
class PmCriterion:
    """One of Riley et al.'s criteria: the sample size it needs and the shrinkage it assumes."""

    criterion: str
    n: int
    shrinkage: float


@dataclass(frozen=True)
class PmSampleSize:
    """Minimum sample size to develop a logistic prediction model (Riley et al. 2020, as pmsampsize)."""

    n: int
    events: float
    epp: float
    shrinkage: float
    r2_cs: float
    max_r2_cs: float
    nagelkerke_r2: float
    prevalence: float
    parameters: int
    criteria: tuple[PmCriterion, ...]

    def to_dict(self) -> dict:
        """Return JSON-ready values, each criterion as an object."""
        out = asdict(self)
        out["criteria"] = [asdict(c) for c in self.criteria]
        return out


def _n_for_shrinkage(parameters: int, r2_cs: float, shrinkage: float) -> float:
    """Riley et al. (2020) equation for criterion (i): n = p / ((S − 1)·ln(1 − R²_CS / S))."""
    return parameters / ((shrinkage - 1) * math.log(1 - r2_cs / shrinkage))


def pmsampsize_binary(
    prevalence: float,
    parameters: int,
    *,
    r2_cs: float | None = None,
    c_statistic: float | None = None,
    shrinkage: float = 0.9,
    optimism: float = 0.05,
    margin: float = 0.05,
) -> PmSampleSize:
    """Find the minimum sample size to develop a binary-outcome model, as R's `pmsampsize(type = "b")`.

    The larger of Riley et al.'s three sample sizes: (i) expected uniform shrinkage ≥ `shrinkage`; (ii)
    apparent minus adjusted Nagelkerke R² ≤ `optimism`; (iii) overall risk estimated within ± `margin`
    (95%).

    Parameters
    ----------
    prevalence : float
        The outcome's expected prevalence.
    parameters : int
        Candidate predictor parameters (degrees of freedom), at least 1.
    r2_cs, c_statistic : float, optional
        Exactly one: the anticipated Cox–Snell R², or a C-statistic to derive it from
        (`r2_cs_from_c_statistic`).
    shrinkage, optimism, margin : float
        The three criteria's targets, pmsampsize's defaults.

    Returns
    -------
    PmSampleSize
        The sample size, events, events per parameter and each criterion's need.

    Raises
    ------
    AnalysisError
        If a value is out of range, neither or both of `r2_cs` and `c_statistic` are given, or R² is not
        below its maximum at this prevalence.
    """
    _check_open("prevalence", prevalence)
    if int(parameters) != parameters or parameters < 1:
        raise AnalysisError(
            f"the number of candidate parameters must be a whole number above 0, got {parameters}"
        )
    if (r2_cs is None) == (c_statistic is None):
        raise AnalysisError("give either the anticipated Cox-Snell R² or the C-statistic, not both")
    for name, value in (("shrinkage", shrinkage), ("optimism", optimism), ("margin", margin)):
        _check_open(name, value)
    if c_statistic is not None:
        r2_cs = r2_cs_from_c_statistic(c_statistic, prevalence)
    assert r2_cs is not None  # given, or derived from the C-statistic (exactly one, checked above)
    null_loglik = prevalence * math.log(prevalence) + (1 - prevalence) * math.log(1 - prevalence)
    max_r2 = 1 - math.exp(2 * null_loglik)
    if not (math.isfinite(r2_cs) and 0 < r2_cs < max_r2):
        raise AnalysisError(
            f"the Cox-Snell R² must be above 0 and below its maximum {max_r2:.3f} at this prevalence, "
            f"got {r2_cs:g}"
        )
    n1 = _ceil(_n_for_shrinkage(parameters, r2_cs, shrinkage))
    s2 = r2_cs / (r2_cs + optimism * max_r2)
    n2 = _ceil(_n_for_shrinkage(parameters, r2_cs, s2))
    n3 = _ceil((normal_quantile(0.975) / margin) ** 2 * prevalence * (1 - prevalence))
    final_shrinkage = max(shrinkage, s2)
    criteria = (
        PmCriterion("shrinkage", n1, shrinkage),
        PmCriterion("optimism in Nagelkerke R2", n2, s2),
        PmCriterion("precise overall risk", n3, final_shrinkage),
    )
    n = max(n1, n2, n3)
    return PmSampleSize(
        n=n,
        events=n * prevalence,
        epp=n * prevalence / parameters,
        shrinkage=final_shrinkage,
        r2_cs=float(r2_cs),
        max_r2_cs=max_r2,
        nagelkerke_r2=r2_cs / max_r2,
        prevalence=float(prevalence),
        parameters=int(parameters),
        criteria=criteria,
    )
