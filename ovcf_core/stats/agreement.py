"""Agreement of two measurements of the same patients (Bland & Altman 1986, 1999).

The mean difference (bias) with its 95% CI, the 95% limits of agreement (bias ± 1.96 SD of the
differences) with their CIs, and the regression of the difference on the mean that shows a proportional
bias.

Used for two raters (inter-rater), two sessions of one rater (intra-rater) or two methods (by hand and from
a segmentation mask) beside the ICC, which says how well patients are told apart but not by how much two
measurements differ in the indicator's units.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike

from ovcf_core.stats.distributions import t_quantile
from ovcf_core.stats.estimates import CI, JsonResult

LIMIT_Z = 1.96
LOA_CI_METHODS = ("bland_altman_1999", "exact")
"""How the CIs of the limits of agreement are found: Bland & Altman (1999)'s standard error with a t
quantile, or exactly (for normal differences) from the noncentral t distribution (Carkeet 2015, each limit
considered on its own)."""


@dataclass(frozen=True)
class BlandAltman(JsonResult):
    """Bias (mean of first − second) with its CI, the SD of the differences and the limits with their CIs."""

    n: int
    bias: float
    bias_ci: CI
    sd: float
    lower: float
    upper: float
    lower_ci: CI
    upper_ci: CI
    level: float = 0.95
    loa_ci_method: str = "bland_altman_1999"

    def to_frame(self) -> pd.DataFrame:
        """Return one row: n, bias, its CI bounds, SD, lower and upper limits of agreement with their CIs."""
        return pd.DataFrame(
            [{"n": self.n, "bias": self.bias, "bias_ci_low": self.bias_ci[0], "bias_ci_high": self.bias_ci[1],
              "sd": self.sd, "lower": self.lower, "lower_ci_low": self.lower_ci[0],
              "lower_ci_high": self.lower_ci[1], "upper": self.upper, "upper_ci_low": self.upper_ci[0],
              "upper_ci_high": self.upper_ci[1]}]
        )  # fmt: skip


def _limit_cis(bias: float, sd: float, n: int, level: float, method: str) -> tuple[CI, CI]:
    """CIs of the lower and upper limits of agreement (bias ∓ 1.96 SD).

    `bland_altman_1999`: SE of either limit = SD·√(1/n + 1.96²/(2(n − 1))) (Bland & Altman 1999, §2.3;
    their 1986 paper rounded it to √(3/n)·SD), limit ± t(n − 1)·SE. `exact`: the upper limit estimates
    μ + 1.96σ, and √n·(μ + 1.96σ − bias)/SD follows a noncentral t with n − 1 df and noncentrality 1.96·√n,
    whose quantiles give the exact interval (Carkeet 2015, one-sided tolerance factors); the lower limit
    mirrors it.
    """
    nan = (float("nan"), float("nan"))
    if n < 2 or not np.isfinite(sd):
        return nan, nan
    lower, upper = bias - LIMIT_Z * sd, bias + LIMIT_Z * sd
    if method == "bland_altman_1999":
        half = t_quantile(0.5 + level / 2, n - 1) * sd * np.sqrt(1 / n + LIMIT_Z**2 / (2 * (n - 1)))
        return (float(lower - half), float(lower + half)), (float(upper - half), float(upper + half))
    if method == "exact":
        from scipy import stats

        quantiles = np.asarray(stats.nct.ppf([0.5 - level / 2, 0.5 + level / 2], n - 1, LIMIT_Z * np.sqrt(n)))
        k_low, k_high = float(quantiles[0]), float(quantiles[1])
        step = sd / np.sqrt(n)
        return (
            (float(bias - k_high * step), float(bias - k_low * step)),
            (float(bias + k_low * step), float(bias + k_high * step)),
        )
    raise ValueError(f"unknown CI method for the limits of agreement: {method!r} (use {LOA_CI_METHODS})")


def bland_altman(
    first: ArrayLike,
    second: ArrayLike,
    level: float = 0.95,
    loa_ci: str = "bland_altman_1999",
) -> BlandAltman:
    """Bias (first − second) and limits of agreement over the complete pairs, each with a CI.

    Parameters
    ----------
    first, second
        The two measurements of the same patients, in the same order; pairs with a missing or infinite
        value are left out (callers that must report them count them before).
    level
        Confidence level of the CIs (0.95).
    loa_ci
        How the limits' CIs are found: one of `LOA_CI_METHODS` (see `_limit_cis`).

    Returns
    -------
    BlandAltman
        The bias CI uses the t distribution (bias ± t(n − 1)·SD/√n); NaN where n is too small.
    """
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    diff = a[keep] - b[keep]
    n = int(diff.size)
    nan = float("nan")
    bias = float(diff.mean()) if n else nan
    sd = float(diff.std(ddof=1)) if n > 1 else nan
    if n > 1:
        half = t_quantile(0.5 + level / 2, n - 1) * sd / np.sqrt(n)
        ci = (float(bias - half), float(bias + half))
    else:
        ci = (nan, nan)
    lower_ci, upper_ci = _limit_cis(bias, sd, n, level, loa_ci)
    return BlandAltman(
        n, bias, ci, sd, bias - LIMIT_Z * sd, bias + LIMIT_Z * sd, lower_ci, upper_ci, level, loa_ci
    )


@dataclass(frozen=True)
class ProportionalBias(JsonResult):
    """Least-squares line difference = intercept + slope × mean of the pair, with CIs and the slope's p.

    A slope away from 0 means the methods disagree more at one end of the scale than at the other, so a
    single bias does not describe them (Bland & Altman 1999, §3.2).
    """

    n: int
    slope: float
    slope_ci: CI
    intercept: float
    intercept_ci: CI
    p_value: float
    r: float


def proportional_bias(first: ArrayLike, second: ArrayLike, level: float = 0.95) -> ProportionalBias:
    """Regress first − second on (first + second)/2 over the complete pairs (scipy's `linregress`).

    Parameters
    ----------
    first, second
        The two measurements of the same patients, in the same order.
    level
        Confidence level of the CIs (t with n − 2 df).

    Returns
    -------
    ProportionalBias
        NaN everywhere when fewer than 3 pairs or every pair has the same mean (no line can be fitted).
    """
    from scipy import stats

    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    diff, mean = a[keep] - b[keep], (a[keep] + b[keep]) / 2
    n = int(diff.size)
    nan = float("nan")
    if n < 3 or np.ptp(mean) == 0:
        return ProportionalBias(n, nan, (nan, nan), nan, (nan, nan), nan, nan)
    if np.ptp(diff) == 0:  # every difference the same: the line is flat and exact; r and p are undefined
        constant = float(diff[0])
        return ProportionalBias(n, 0.0, (0.0, 0.0), constant, (constant, constant), nan, nan)
    fit = stats.linregress(mean, diff)
    t = t_quantile(0.5 + level / 2, n - 2)
    slope, intercept = float(fit.slope), float(fit.intercept)
    se_slope, se_intercept = float(fit.stderr), float(fit.intercept_stderr)
    return ProportionalBias(
        n,
        slope,
        (slope - t * se_slope, slope + t * se_slope),
        intercept,
        (intercept - t * se_intercept, intercept + t * se_intercept),
        float(fit.pvalue),
        float(fit.rvalue),
    )
