"""rms `val.prob`'s nonparametric calibration (Eavg/E90/Emax from lowess) and Spiegelhalter's z.

Checked against R's printed `lowess(cars)`, a brute-force lowess written here from Cleveland's definition,
and the Brier-score form of Spiegelhalter's test (rms `val.probg`'s B ChiSq), not against the code's own
output.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from scipy.special import expit

from ovcf_core.model.calibration import r_lowess, val_prob_calibration
from ovcf_core.model.validation import validate_model
from ovcf_core.model.validation_figures import calibration_plot
from tests.test_model_validation import simulated, with_coefficients


def _numbers(text: str) -> np.ndarray:
    return np.array([float(value) for value in text.split()])


# R's built-in `cars` data (Ezekiel 1930): speed (mph) and stopping distance (ft) of 50 cars
SPEED = _numbers(
    "4 4 7 7 8 9 10 10 10 11 11 12 12 12 12 13 13 13 13 14 14 14 14 15 15 15 16 16 17 17 17 18 18 18 18 19 "
    "19 19 20 20 20 20 20 22 23 24 24 24 24 25"
)
DIST = _numbers(
    "2 10 4 22 16 10 18 26 34 17 28 14 20 24 28 26 34 34 46 26 36 60 80 20 26 54 32 40 32 40 50 42 56 76 84 "
    "36 46 68 32 48 52 56 64 66 54 70 92 93 120 85"
)
# the first ten fitted values R prints for `lowess(cars)` (f = 2/3, iter = 3, delta = 1% of the range)
R_LOWESS_CARS = _numbers(
    "4.965459 4.965459 13.124495 13.124495 15.858633 18.579691 21.280313 21.280313 21.280313 24.129277"
)


def test_r_lowess_gives_rs_printed_lowess_of_cars():
    np.testing.assert_allclose(r_lowess(SPEED, DIST)[:10], R_LOWESS_CARS, atol=5e-7)


def test_r_lowess_keeps_the_order_it_was_given():
    order = np.random.default_rng(0).permutation(len(SPEED))
    np.testing.assert_allclose(r_lowess(SPEED[order], DIST[order]), r_lowess(SPEED, DIST)[order], rtol=1e-12)


def brute_force_lowess(x: np.ndarray, y: np.ndarray, span: float = 2 / 3) -> np.ndarray:
    """Cleveland's lowess without robustness steps, point by point: tricube weights over the
    round-down(span * n) nearest neighbours, a weighted straight line read at the point."""
    n = len(x)
    k = int(span * n + 1e-7)
    fitted = np.empty(n)
    for i in range(n):
        distance = np.abs(x - x[i])
        h = np.sort(distance)[k - 1]
        u = distance / h
        w = np.where(u < 0.999, (1 - np.clip(u, 0, 1) ** 3) ** 3, 0.0)
        w[u <= 0.001] = 1.0
        design = np.column_stack([np.ones(n), x - x[i]])
        coef = np.linalg.lstsq(design * np.sqrt(w)[:, None], y * np.sqrt(w), rcond=None)[0]
        fitted[i] = coef[0]
    return fitted


def test_eavg_e90_emax_equal_a_brute_force_lowess_read_at_each_patient():
    rng = np.random.default_rng(7)
    # 80 distinct predictions spaced more than delta (1% of their range) apart, so no point is interpolated
    p = np.linspace(0.05, 0.95, 80) + rng.uniform(-0.001, 0.001, 80)
    y = (rng.random(80) < expit(1.5 * (p - 0.5) * 4)).astype(float)
    order = rng.permutation(80)
    result = val_prob_calibration(y[order], p[order])
    error = np.abs(p - brute_force_lowess(p, y))
    assert result.eavg == pytest.approx(error.mean(), abs=1e-12)
    assert result.emax == pytest.approx(error.max(), abs=1e-12)
    assert result.e90 == pytest.approx(np.percentile(error, 90), abs=1e-12)  # R's type-7 quantile
    # the plotted line: the same lowess, read at evenly spaced predictions from the lowest to the highest
    assert result.curve_predicted[0] == p.min() and result.curve_predicted[-1] == p.max()
    expected = np.interp(result.curve_predicted, p, brute_force_lowess(p, y))  # p is sorted here
    np.testing.assert_allclose(result.curve_observed, expected, atol=1e-12)


def test_spiegelhalter_z_squared_is_the_brier_score_test():
    rng = np.random.default_rng(3)
    p = rng.uniform(0.02, 0.9, 300)
    y = (rng.random(300) < np.clip(p * 1.2, 0, 1)).astype(float)
    result = val_prob_calibration(y, p)
    n = len(p)
    brier = np.mean((p - y) ** 2)
    expected = np.mean(p * (1 - p))
    variance = np.sum((1 - 2 * p) ** 2 * p * (1 - p)) / n / n
    z = (brier - expected) / np.sqrt(variance)  # rms val.probg's B ChiSq is z²
    assert result.spiegelhalter_z == pytest.approx(z, rel=1e-10)
    assert result.spiegelhalter_p == pytest.approx(stats.chi2.sf(z**2, 1), rel=1e-8)


def test_one_prediction_for_everybody_is_read_as_val_prob_reads_it():
    y = np.array([1.0, 0, 0, 1, 0, 0, 0, 1])
    result = val_prob_calibration(y, np.full(8, 0.2))
    assert result.eavg == result.emax == result.e90 == pytest.approx(abs(0.2 - 3 / 8))
    half = val_prob_calibration(y, np.full(8, 0.5))
    assert np.isnan(half.spiegelhalter_z) and np.isnan(half.spiegelhalter_p)


def test_validation_reports_val_prob_beside_the_spline_curve_and_a_miscalibrated_model_shows_it():
    table, model = simulated(n=3000, seed=11)
    good = validate_model(model, table)
    coef = dict(zip(model.terms_, model.coef_, strict=True))
    shifted = validate_model(with_coefficients(model, {**coef, "const": coef["const"] + 1.0}), table)
    assert good.val_prob.eavg < 0.02 and abs(good.val_prob.spiegelhalter_z) < 3
    assert shifted.val_prob.eavg > 3 * good.val_prob.eavg
    assert shifted.val_prob.spiegelhalter_p < 1e-6
    out = good.to_dict()["val_prob"]
    assert set(out) == {"eavg", "e90", "emax", "spiegelhalter_z", "spiegelhalter_p", "curve", "method"}
    assert len(out["curve"]) == 50 and set(out["curve"][0]) == {"predicted", "observed"}
    assert "rms val.prob" in out["method"]
    measures = good.to_frame()["measure"].tolist()
    assert "Eavg / E90 / Emax (lowess, as rms val.prob)" in measures
    assert "Spiegelhalter z, p" in measures
    figure = calibration_plot(good)
    (line,) = [t for t in figure.data if t.name == "lowess, as rms val.prob"]
    np.testing.assert_allclose(line.y, good.val_prob.curve_observed)
