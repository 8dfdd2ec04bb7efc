"""Calibration of predicted probabilities against observed outcomes.

The two calibration GLMs (intercept with the linear predictor as offset, slope with it as covariate),
Hosmer–Lemeshow, and a smoothed calibration curve (restricted cubic spline of the logit on the logit scale)
with a 95% band and Austin & Steyerberg's ICI/E50/E90; and rms `val.prob`'s nonparametric errors
(Eavg/E90/Emax from lowess) with Spiegelhalter's z, so a result can be set beside R's. Every logistic fit
goes through the one engine, `ovcf_core.stats.logistic.fit_logit`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ovcf_core.constants import Z95
from ovcf_core.model.variables import expit

HL_GROUPS = 10
CURVE_POINTS = 50
HARRELL_KNOTS = {  # Harrell's default knot quantiles (Regression Modeling Strategies, Table 2.3)
    3: (0.10, 0.50, 0.90),
    4: (0.05, 0.35, 0.65, 0.95),
    5: (0.05, 0.275, 0.50, 0.725, 0.95),
}
LOWESS_SPAN = 2 / 3  # R lowess's f, which val.prob keeps
VAL_PROB_METHOD = "lowess(prediction, outcome, iter=0), f = 2/3, delta = 1% of the range, as rms val.prob"
HL_NOTE = (
    "Hosmer–Lemeshow depends on the number of groups, has little power in small samples and rejects "
    "trivial miscalibration in large ones; read it with the calibration curve, not instead of it."
)


def _wald(estimate: float, se: float) -> tuple[float, float]:
    """Return the Wald 95% CI, estimate ± 1.96 se."""
    return (float(estimate - Z95 * se), float(estimate + Z95 * se))


@dataclass(frozen=True)
class CalibrationFit:
    """Calibration-in-the-large a (logit P = a + offset(lp)) and slope b (logit P = a' + b lp), Wald CIs."""

    intercept: float
    intercept_se: float
    intercept_ci: tuple[float, float]
    slope: float
    slope_se: float
    slope_ci: tuple[float, float]
    slope_model_intercept: float  # a' of the slope model, used by logistic recalibration
    slope_model_intercept_se: float
    slope_model_covariance: float  # cov(a', b), which logistic recalibration's covariance needs

    def to_dict(self) -> dict[str, Any]:
        """Return the fit as JSON-ready values under the `ovcf validate` contract's key names."""
        return {
            "calibration_intercept": self.intercept,
            "calibration_intercept_se": self.intercept_se,
            "calibration_intercept_ci": list(self.intercept_ci),
            "calibration_slope": self.slope,
            "calibration_slope_se": self.slope_se,
            "calibration_slope_ci": list(self.slope_ci),
            "calibration_slope_model_intercept": self.slope_model_intercept,
        }


def calibration_glms(y: np.ndarray, lp: np.ndarray) -> CalibrationFit:
    """Fit the two calibration GLMs of the outcome on the linear predictor (logit of the predictions).

    Parameters
    ----------
    y
        Outcomes, 1 = fracture, 0 = control.
    lp
        The linear predictor (log-odds) of the predictions being judged.

    Returns
    -------
    CalibrationFit
        Calibration-in-the-large a (logit P = a + offset(lp)) and slope b (logit P = a' + b lp) with
        Wald CIs, and a' for logistic recalibration.

    Raises
    ------
    AnalysisError
        When a fit fails (the linear predictor separates the outcomes, or does not converge).
    """
    from ovcf_core.stats.logistic import fit_logit

    y = np.asarray(y, dtype=float)
    lp = np.asarray(lp, dtype=float)
    ones = np.ones((len(y), 1))
    a, cov_a = fit_logit(y, ones, offset=lp)
    b, cov_b = fit_logit(y, np.column_stack([ones[:, 0], lp]))
    se_a, se_b0, se_b = (float(np.sqrt(v)) for v in (cov_a[0, 0], cov_b[0, 0], cov_b[1, 1]))
    return CalibrationFit(
        intercept=float(a[0]),
        intercept_se=se_a,
        intercept_ci=_wald(a[0], se_a),
        slope=float(b[1]),
        slope_se=se_b,
        slope_ci=_wald(b[1], se_b),
        slope_model_intercept=float(b[0]),
        slope_model_intercept_se=se_b0,
        slope_model_covariance=float(cov_b[0, 1]),
    )


@dataclass(frozen=True)
class HosmerLemeshow:
    """Hosmer–Lemeshow statistic over groups of patients sorted by prediction (numpy.array_split)."""

    chi2: float
    df: int
    p: float
    groups: tuple[dict[str, float], ...] = ()
    note: str = HL_NOTE

    def to_dict(self) -> dict[str, Any]:
        """Return the contract's {chi2, df, p} plus the groups and the note on the test's weaknesses."""
        return {"chi2": self.chi2, "df": self.df, "p": self.p, "groups": list(self.groups), "note": self.note}


def hosmer_lemeshow(y: np.ndarray, prediction: np.ndarray, groups: int = HL_GROUPS) -> HosmerLemeshow:
    """Compute the Hosmer–Lemeshow statistic over groups of patients sorted by prediction.

    The statistic sums (O - E)^2 / E over the groups for cases and for controls and is referred to a
    chi-square with groups - 2 degrees of freedom.

    Parameters
    ----------
    y
        Outcomes, 1 = fracture, 0 = control.
    prediction
        Predicted probabilities, strictly between 0 and 1.
    groups
        Number of groups of nearly equal size (`numpy.array_split` of the sorted patients).

    Returns
    -------
    HosmerLemeshow
        The statistic, its df and p, the observed and expected counts per group, and the note on
        the test's weaknesses.
    """
    from scipy import stats

    y = np.asarray(y, dtype=float)
    p = np.asarray(prediction, dtype=float)
    order = np.argsort(p, kind="stable")
    chi2 = 0.0
    rows = []
    for g in np.array_split(order, groups):
        if len(g) == 0:
            continue
        observed, expected, n = float(y[g].sum()), float(p[g].sum()), len(g)
        chi2 += (observed - expected) ** 2 / expected + (observed - expected) ** 2 / (n - expected)
        rows.append({"n": n, "observed": observed, "expected": expected, "mean_predicted": expected / n})
    df = groups - 2
    return HosmerLemeshow(float(chi2), df, float(stats.chi2.sf(chi2, df)), tuple(rows))


def grouped_calibration(y: np.ndarray, prediction: np.ndarray, groups: int = HL_GROUPS) -> list[dict]:
    """Group patients by prediction for a calibration plot: mean predicted vs observed fraction.

    Parameters
    ----------
    y
        Outcomes, 1 = fracture, 0 = control.
    prediction
        Predicted probabilities.
    groups
        Number of groups of nearly equal size (fewer when there are fewer patients).

    Returns
    -------
    list of dict
        Per group, lowest risk first: ``predicted`` (mean), ``observed`` (fraction of cases), its Wilson
        95% CI ``lo``/``hi``, and ``n``.
    """
    from ovcf_core.stats.roc import wilson_ci

    y = np.asarray(y, dtype=float)
    p = np.asarray(prediction, dtype=float)
    order = np.argsort(p, kind="stable")
    out = []
    for g in np.array_split(order, min(groups, len(order))):
        if len(g):
            cases = int(y[g].sum())
            lo, hi = wilson_ci(cases, len(g))
            out.append({"predicted": float(p[g].mean()), "observed": cases / len(g), "lo": lo, "hi": hi,
                        "n": len(g)})  # fmt: skip
    return out


def rcs_knots(x: np.ndarray, n_knots: int = 4) -> np.ndarray:
    """Place restricted cubic spline knots at Harrell's quantiles of x.

    Parameters
    ----------
    x
        The values the spline is a function of (here the logit of the predictions).
    n_knots
        Knots wanted, 3 to 5; fewer are used when x has too few distinct values.

    Returns
    -------
    numpy.ndarray
        The knots; empty (a straight line) when even 3 distinct knots do not fit.
    """
    x = np.asarray(x, dtype=float)
    for k in range(n_knots, 2, -1):
        knots = np.unique(np.quantile(x, HARRELL_KNOTS[k]))
        if len(knots) == k and len(np.unique(x)) > k:
            return knots
    return np.array([])


def rcs_basis(x: np.ndarray, knots: np.ndarray) -> np.ndarray:
    """Build Harrell's restricted cubic spline basis [1, x, s_1..s_{k-2}], linear beyond the outer knots.

    The nonlinear terms are divided by (t_k - t_1)^2 as in rms::rcspline.eval(norm=2), so the coefficients
    are on the scale R's `rms` reports.

    Parameters
    ----------
    x
        Where to evaluate the basis.
    knots
        Knots from `rcs_knots`; fewer than 3 give the straight-line basis [1, x].

    Returns
    -------
    numpy.ndarray
        One row per value of x, k columns for k knots (2 with fewer than 3 knots).
    """
    x = np.asarray(x, dtype=float)
    columns = [np.ones_like(x), x]
    k = len(knots)
    if k >= 3:
        t = knots
        scale = (t[-1] - t[0]) ** 2

        def cube(v: np.ndarray) -> np.ndarray:
            return np.maximum(v, 0.0) ** 3

        for j in range(k - 2):
            s = (
                cube(x - t[j])
                - cube(x - t[-2]) * (t[-1] - t[j]) / (t[-1] - t[-2])
                + cube(x - t[-1]) * (t[-2] - t[j]) / (t[-1] - t[-2])
            )
            columns.append(s / scale)
    return np.column_stack(columns)


@dataclass(frozen=True)
class SmoothCalibration:
    """A smoothed calibration curve (observed against predicted probability) with its pointwise 95% band.

    It carries Austin & Steyerberg's (2019) integrated calibration index and error quantiles.
    """

    predicted: np.ndarray
    observed: np.ndarray
    lo: np.ndarray
    hi: np.ndarray
    ici: float
    e50: float
    e90: float
    emax: float
    knots: tuple[float, ...] = ()
    method: str = "restricted cubic spline of logit(prediction) in a logistic GLM"
    messages: tuple[str, ...] = field(default_factory=tuple)

    def to_records(self) -> list[dict[str, float]]:
        """Return the contract's `calibration_curve` list: predicted, observed, lo, hi per grid point."""
        return [
            {"predicted": float(p), "observed": float(o), "lo": float(a), "hi": float(b)}
            for p, o, a, b in zip(self.predicted, self.observed, self.lo, self.hi, strict=True)
        ]


def smoothed_calibration(
    y: np.ndarray, prediction: np.ndarray, lp: np.ndarray | None = None, n_points: int = CURVE_POINTS
) -> SmoothCalibration:
    """Fit logit P(y=1) = rcs(lp) (4 knots at Harrell's quantiles) and read it as a calibration curve.

    The curve is read on a grid of predictions between their 1st and 99th percentiles with a delta-method
    95% band on the logit scale; ICI = mean |smoothed - predicted| over the patients, E50/E90 its median
    and 90th percentile, Emax its maximum.

    Parameters
    ----------
    y
        Outcomes, 1 = fracture, 0 = control.
    prediction
        Predicted probabilities, strictly between 0 and 1.
    lp
        Their logit when the caller has it exactly (None: computed from `prediction`).
    n_points
        Grid points of the curve.

    Returns
    -------
    SmoothCalibration
        The curve, its band, ICI/E50/E90/Emax and the knots used.

    Raises
    ------
    AnalysisError
        When the spline fit fails (separation or no convergence).
    """
    from ovcf_core.stats.logistic import fit_logit

    y = np.asarray(y, dtype=float)
    p = np.asarray(prediction, dtype=float)
    lp = np.log(p / (1 - p)) if lp is None else np.asarray(lp, dtype=float)
    knots = rcs_knots(lp)
    coef, cov = fit_logit(y, rcs_basis(lp, knots))
    smoothed = expit(rcs_basis(lp, knots) @ coef)
    error = np.abs(smoothed - p)
    low, high = np.quantile(lp, [0.01, 0.99])
    grid = np.linspace(low, high, n_points) if high > low else np.array([low])
    basis = rcs_basis(grid, knots)
    eta = basis @ coef
    se = np.sqrt(np.maximum(np.einsum("ij,jk,ik->i", basis, cov, basis), 0.0))
    return SmoothCalibration(
        predicted=expit(grid),
        observed=expit(eta),
        lo=expit(eta - Z95 * se),
        hi=expit(eta + Z95 * se),
        ici=float(error.mean()),
        e50=float(np.median(error)),
        e90=float(np.quantile(error, 0.9)),
        emax=float(error.max()),
        knots=tuple(float(k) for k in knots),
    )


@dataclass(frozen=True)
class ValProbCalibration:
    """rms `val.prob`'s nonparametric calibration errors and Spiegelhalter's z, named as val.prob names them.

    Eavg, E90 and Emax are the mean, 90th percentile and maximum over the patients of |prediction -
    smoothed|, the smoothed value read off lowess(prediction, outcome, iter=0) at each patient's prediction;
    Spiegelhalter's z tests calibration patient by patient (val.prob's S:z and S:p). The curve is the
    lowess line read at evenly spaced predictions from the lowest to the highest (as val.probg's
    `evaluate`), for plotting beside the spline curve; it is not clipped to [0, 1], as R's is not.
    """

    eavg: float
    e90: float
    emax: float
    spiegelhalter_z: float
    spiegelhalter_p: float
    curve_predicted: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))
    curve_observed: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))
    method: str = VAL_PROB_METHOD

    def to_dict(self) -> dict[str, Any]:
        """Return the values under val.prob's names (Eavg, E90, Emax, S:z, S:p), the curve and the method."""
        return {
            "eavg": self.eavg,
            "e90": self.e90,
            "emax": self.emax,
            "spiegelhalter_z": self.spiegelhalter_z,
            "spiegelhalter_p": self.spiegelhalter_p,
            "curve": [
                {"predicted": float(x), "observed": float(y)}
                for x, y in zip(self.curve_predicted, self.curve_observed, strict=True)
            ],
            "method": self.method,
        }


def r_lowess(x: np.ndarray, y: np.ndarray, iterations: int = 3) -> np.ndarray:
    """Return R's ``lowess(x, y, iter=iterations)`` fitted values at each x, in the order given.

    R's defaults: span f = 2/3 and delta = 1% of the range of x, by statsmodels' lowess (the same
    algorithm, Cleveland 1979), which defaults to other values.
    """
    from statsmodels.nonparametric.smoothers_lowess import lowess

    x = np.asarray(x, dtype=float)
    delta = 0.01 * float(np.ptp(x))
    return lowess(
        np.asarray(y, dtype=float), x, frac=LOWESS_SPAN, it=iterations, delta=delta, return_sorted=False
    )


def val_prob_calibration(
    y: np.ndarray, prediction: np.ndarray, n_points: int = CURVE_POINTS
) -> ValProbCalibration:
    """Compute rms `val.prob`'s Eavg/E90/Emax and Spiegelhalter's z for predictions and outcomes.

    As val.prob: ``lowess(p, y, iter=0)`` (span 2/3, no robustness iterations, delta = 1% of the range of
    the predictions; statsmodels' lowess, which is R's algorithm), read at every patient's prediction; the
    90th percentile is R's default quantile (numpy's linear). When every prediction is the same, the
    smoothed value is the observed case fraction, as val.prob takes it.

    Parameters
    ----------
    y
        Outcomes, 1 = fracture, 0 = control.
    prediction
        Predicted probabilities.
    n_points
        Points of the plotted curve.

    Returns
    -------
    ValProbCalibration
        Eavg, E90, Emax, the curve and Spiegelhalter's z with its two-sided p (NaN when every prediction
        is 0.5, where the statistic is 0/0).
    """
    from scipy import stats

    y = np.asarray(y, dtype=float)
    p = np.asarray(prediction, dtype=float)
    smoothed = r_lowess(p, y, iterations=0) if np.ptp(p) > 0 else np.full_like(p, y.mean())
    error = np.abs(p - smoothed)
    at, inverse = np.unique(p, return_inverse=True)  # tied predictions share one value (R approx's ties=mean)
    line = np.bincount(inverse, weights=smoothed) / np.bincount(inverse)
    grid = np.linspace(at[0], at[-1], n_points) if len(at) > 1 else at
    variance = float(np.sum((1 - 2 * p) ** 2 * p * (1 - p)))
    if variance > 0:
        z = float(np.sum((y - p) * (1 - 2 * p)) / np.sqrt(variance))
        z_p = float(2 * stats.norm.sf(abs(z)))
    else:
        z = z_p = float("nan")
    return ValProbCalibration(
        eavg=float(error.mean()),
        e90=float(np.quantile(error, 0.9)),
        emax=float(error.max()),
        spiegelhalter_z=z,
        spiegelhalter_p=z_p,
        curve_predicted=grid,
        curve_observed=np.interp(grid, at, line),
    )
