"""Binormal smoothing as pROC's smooth(method="binormal"), checked against numpy.polyfit on ROC points taken
independently from scikit-learn, the closed-form AUC of simulated binormal data with known a and b, and a
numerical integral of the smoothed curve."""

from __future__ import annotations

import json

import numpy as np
import pytest
from scipy.stats import norm
from sklearn.metrics import roc_curve as sk_roc_curve

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.binormal import binormal_points, binormal_roc


def _binormal_sample(seed: int, n: int, mu: float, sigma: float, ties: bool = False):
    """Controls N(0, 1), cases N(mu, sigma^2): a = mu / sigma, b = 1 / sigma."""
    rng = np.random.default_rng(seed)
    y = np.r_[np.ones(n), np.zeros(n)]
    x = np.r_[rng.normal(mu, sigma, n), rng.normal(0.0, 1.0, n)]
    return y, (np.round(x, 1) if ties else x)


def _sklearn_points(y, x):
    """(qnorm(sens), qnorm(spec)) at every distinct threshold, ends with a 0 or 1 dropped."""
    fpr, tpr, _ = sk_roc_curve(y, x, drop_intermediate=False)
    sens, spec = tpr, 1 - fpr
    keep = (sens > 0) & (sens < 1) & (spec > 0) & (spec < 1)
    return norm.ppf(sens[keep]), norm.ppf(spec[keep])


@pytest.mark.parametrize("ties", [False, True])
def test_the_fit_equals_numpy_polyfit_of_qnorm_specificity_on_qnorm_sensitivity(ties):
    y, x = _binormal_sample(1, 150, 1.0, 1.3, ties=ties)
    z_se, z_sp = _sklearn_points(y, x)
    slope, intercept = np.polyfit(z_se, z_sp, 1)
    fit = binormal_roc(y, x, "higher")
    assert fit.n_points == len(z_se)
    assert fit.slope == pytest.approx(slope, rel=1e-10)
    assert fit.intercept == pytest.approx(intercept, rel=1e-10)
    assert fit.auc == pytest.approx(norm.cdf(intercept / np.sqrt(1 + slope**2)), rel=1e-10)
    # the same line in the usual form qnorm(se) = a + b qnorm(1 - sp)
    assert fit.b == pytest.approx(-1 / slope, rel=1e-10)
    assert fit.a == pytest.approx(-intercept / slope, rel=1e-10)
    assert fit.auc == pytest.approx(norm.cdf(fit.a / np.sqrt(1 + fit.b**2)), rel=1e-10)
    points = binormal_points(y, x, "higher")
    assert np.sort(points[0]) == pytest.approx(np.sort(z_se), abs=1e-12)


@pytest.mark.parametrize(("mu", "sigma"), [(1.0, 1.0), (1.5, 2.0), (0.8, 0.7)])
def test_simulated_binormal_data_recover_a_b_and_the_closed_form_auc(mu, sigma):
    y, x = _binormal_sample(2, 5000, mu, sigma)
    fit = binormal_roc(y, x, "higher")
    a, b = mu / sigma, 1 / sigma
    assert fit.a == pytest.approx(a, abs=0.08)
    assert fit.b == pytest.approx(b, abs=0.08)
    assert fit.auc == pytest.approx(norm.cdf(a / np.sqrt(1 + b * b)), abs=0.015)


def test_the_smoothed_curve_follows_the_line_and_its_area_is_the_auc():
    y, x = _binormal_sample(3, 400, 1.2, 1.5)
    fit = binormal_roc(y, x, "higher", n=20001)
    inner = slice(1, -1)
    expected = norm.cdf(fit.intercept + fit.slope * norm.ppf(fit.sensitivity[inner]))
    assert fit.specificity[inner] == pytest.approx(expected, abs=1e-12)
    assert (fit.sensitivity[0], fit.specificity[0]) == (0.0, 1.0)
    assert (fit.sensitivity[-1], fit.specificity[-1]) == (1.0, 0.0)
    fpr = 1 - fit.specificity
    area = float(np.sum((fit.sensitivity[1:] + fit.sensitivity[:-1]) / 2 * np.diff(fpr)))
    assert area == pytest.approx(fit.auc, abs=2e-4)
    frame = fit.to_frame()
    assert list(frame.columns) == ["sensitivity", "specificity", "fpr"] and len(frame) == 20001


def test_a_lower_marker_is_the_higher_marker_negated():
    y, x = _binormal_sample(4, 200, 1.0, 1.2)
    up, down = binormal_roc(y, x, "higher"), binormal_roc(y, -x, "lower")
    assert (down.slope, down.intercept, down.auc) == pytest.approx(
        (up.slope, up.intercept, up.auc), rel=1e-12
    )
    assert json.loads(json.dumps(down.to_dict()))["direction"] == "lower"


def test_curves_with_too_few_inner_points_are_refused():
    y = np.array([1, 1, 1, 0, 0, 0], dtype=float)
    with pytest.raises(AnalysisError, match="not smoothable"):
        binormal_roc(y, np.array([4, 5, 6, 1, 2, 3.0]), "higher")  # perfect separation: only corners
    with pytest.raises(AnalysisError, match="cases"):
        binormal_roc(np.array([1, 0, 0.0]), np.array([1, 2, 3.0]), "higher")
    with pytest.raises(AnalysisError, match="at least 2"):
        binormal_roc(y, np.array([1, 5, 2, 4, 3, 6.0]), "higher", n=1)
