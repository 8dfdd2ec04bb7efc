"""Study planning (ovcf_core.stats.power, `ovcf power`): pROC's published power.roc.test results, Obuchowski
2004's Table 4, an independent Monte Carlo check of the two-curve variances, and pmsampsize's example
recomputed by hand from Riley et al. (2020)'s formulas."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from conftest import contract_problems, run_cli
from scipy import integrate, optimize, stats

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.power import (
    binormal_auc_covariance,
    binormal_auc_variance,
    obuchowski_variance,
    pmsampsize_binary,
    power_roc_test,
    r2_cs_from_c_statistic,
)

# ------------------------------------------------------------------ one curve: pROC's own test values


def test_power_of_one_curve_matches_proc_test_suite():
    # pROC tests/testthat/test-power.roc.test.R: power.roc.test(ncases=41, ncontrols=72, auc=0.73)
    result = power_roc_test(0.73, n_cases=41, kappa=72 / 41)
    assert result.power == pytest.approx(0.9897453, abs=1e-6)
    assert result.n_cases == 41 and result.n_controls == pytest.approx(72)
    assert (result.n_cases_needed, result.n_controls_needed) == (41, 72)


def test_significance_level_and_detectable_auc_of_one_curve_match_proc_test_suite():
    """pROC tests/testthat/test-power.roc.test.R (12cf024): "can determine sig.level" (41 cases, 72 controls,
    AUC 0.73, power 0.95 -> sig.level 0.009238584) and "can determine AUC" (sig.level 0.05, power 0.95 ->
    AUC 0.6961054, which pROC finds by `uniroot` at its default tolerance, about 1.2e-4)."""
    # the α at which 41 cases and 72 controls give power 0.95 for AUC 0.73: solved here by brentq on
    # the library's power (pROC solves the same quadratic in z_α in closed form)
    alpha = optimize.brentq(
        lambda a: power_roc_test(0.73, kappa=72 / 41, n_cases=41, alpha=a).power - 0.95, 1e-6, 0.5, xtol=1e-15
    )
    assert alpha == pytest.approx(0.009238584, rel=1e-6)
    auc = optimize.brentq(
        lambda u: power_roc_test(u, kappa=72 / 41, n_cases=41, alpha=0.05).power - 0.95,
        0.51,
        0.99,
        xtol=1e-15,
    )
    assert auc == pytest.approx(0.6961054, abs=1.22e-4)  # uniroot's default tol (ε^¼)
    # and the power at pROC's printed AUC is 0.95 to the same precision
    assert power_roc_test(0.6961054, kappa=72 / 41, n_cases=41).power == pytest.approx(0.95, abs=1e-4)


# Obuchowski, McClish & Pepe (2004) Table 4 (one-sided alpha 0.05, power 0.9, at least 10 per group), with
# the two corrections pROC's test suite makes; rows kappa, columns AUC.
KAPPAS = (0.25, 0.5, 1, 2, 4)
THETAS = (0.6, 0.7, 0.8, 0.9, 0.95)
TABLE4 = [  # each cell (controls, cases)
    [(84, 334), (20, 80), (10, 40), (10, 40), (10, 40)],
    [(101, 202), (25, 49), (10, 20), (10, 20), (10, 20)],
    [(135, 135), (33, 33), (14, 14), (10, 10), (10, 10)],
    [(203, 102), (50, 25), (21, 11), (20, 10), (20, 10)],
    [(340, 85), (84, 21), (40, 10), (40, 10), (40, 10)],
]


@pytest.mark.parametrize("i", range(len(KAPPAS)))
def test_sample_sizes_reproduce_obuchowski_2004_table_4(i):
    kappa = KAPPAS[i]
    for j, theta in enumerate(THETAS):
        r = power_roc_test(theta, kappa=kappa, power=0.9, alternative="one.sided")
        # the table's rule (as pROC's test): at least 10 per group, the other group scaled by kappa
        controls = max(10, (10 if r.n_cases_needed < 10 else 0) * kappa, r.n_controls_needed)
        cases = max(10, (10 if r.n_controls_needed < 10 else 0) / kappa, r.n_cases_needed)
        assert (controls, cases) == TABLE4[i][j], (kappa, theta)


def _closed_form_one_curve(auc: float, kappa: float, alpha: float, power: float) -> float:
    """Obuchowski 2004 formulas 2-3 written out separately: n by root finding on power(n) = target."""
    a = 1.414 * stats.norm.ppf(auc)
    va = 0.0099 * np.exp(-(a**2) / 2) * ((5 * a**2 + 8) + (a**2 + 8) / kappa)
    v0 = 0.0792 * (1 + 1 / kappa)
    za = stats.norm.isf(alpha / 2)

    def gap(n: float) -> float:
        return stats.norm.cdf((np.sqrt(n) * (auc - 0.5) - za * np.sqrt(v0)) / np.sqrt(va)) - power

    return optimize.brentq(gap, 1e-6, 1e7, xtol=1e-12)


PLANS = [(0.8, 1, 0.05, 0.9), (0.73, 1.7, 0.05, 0.95), (0.65, 3, 0.01, 0.8), (0.95, 0.5, 0.1, 0.99)]


@pytest.mark.parametrize(("auc", "kappa", "alpha", "power"), PLANS)
def test_sample_size_equals_root_of_the_power_function(auc, kappa, alpha, power):
    result = power_roc_test(auc, kappa=kappa, alpha=alpha, power=power)
    assert result.n_cases == pytest.approx(_closed_form_one_curve(auc, kappa, alpha, power), rel=1e-9)
    assert result.n_controls == pytest.approx(kappa * result.n_cases)
    assert result.n_cases_needed == math.ceil(result.n_cases)
    assert result.n_controls_needed == math.ceil(result.n_controls)


def test_obuchowski_2004_variance_is_the_binormal_variance_with_equal_spreads():
    # formula 3's constants are 1/(32·pi) ≈ 0.0099 and sqrt(2) ≈ 1.414 of the general B = 1 formula
    for auc in (0.6, 0.75, 0.9):
        for kappa in (0.5, 1, 3):
            general = binormal_auc_variance(math.sqrt(2) * stats.norm.ppf(auc), 1.0, kappa)
            assert obuchowski_variance(auc, kappa) == pytest.approx(general, rel=5e-3)


# ------------------------------------------------------------------ two curves


def _auc_derivatives(a: float, b: float, step: float = 1e-6) -> tuple[float, float]:
    """f = dAUC/dA and g = dAUC/dB of the binormal AUC Φ(A / sqrt(1 + B²)), by central differences."""
    auc = lambda a_, b_: stats.norm.cdf(a_ / np.sqrt(1 + b_**2))  # noqa: E731
    f = (auc(a + step, b) - auc(a - step, b)) / (2 * step)
    g = (auc(a, b + step) - auc(a, b - step)) / (2 * step)
    return f, g


@pytest.mark.parametrize(("a", "b", "kappa"), [(1.2, 1.0, 1.0), (2.0, 0.7, 2.5), (0.6, 1.4, 0.5)])
def test_binormal_variance_is_the_delta_method_of_obuchowski_mcclish_formula_4(a, b, kappa):
    # formula 4: Var = f²·Var(Â) + g²·Var(B̂), Var(Â) = 1 + B²/κ + A²/2, Var(B̂) = B²(1 + κ)/(2κ) per case,
    # with f and g taken here numerically rather than from table 1
    f, g = _auc_derivatives(a, b)
    expected = f**2 * (1 + b**2 / kappa + a**2 / 2) + g**2 * b**2 * (1 + kappa) / (2 * kappa)
    assert binormal_auc_variance(a, b, kappa) == pytest.approx(expected, rel=1e-7)


def test_binormal_covariance_of_one_test_read_twice_is_its_variance_plus_the_a_b_term():
    # formula 5 with r = 1 is f²·Var(Â) + g²·Var(B̂) + 2fg·Cov(Â, B̂), Cov(Â, B̂) = AB/2 per case: formula 4
    # (as published and in pROC) leaves that last term out, so the two differ by exactly f·g·A·B
    for a, b, kappa in [(1.2, 1.0, 1.0), (2.0, 0.7, 2.5)]:
        f, g = _auc_derivatives(a, b)
        cov = binormal_auc_covariance(a, b, a, b, 1.0, 1.0, kappa)
        assert cov == pytest.approx(binormal_auc_variance(a, b, kappa) + f * g * a * b, rel=1e-7)
        assert binormal_auc_covariance(a, b, a, b, 0.0, 0.0, kappa) == 0


def test_two_curve_power_and_sample_size_are_inverse_and_follow_obuchowski_mcclish():
    result = power_roc_test(0.85, kappa=1.5, power=0.9, auc2=0.75, r=0.6)
    a1, a2 = math.sqrt(2) * stats.norm.ppf(0.85), math.sqrt(2) * stats.norm.ppf(0.75)
    v1, v2 = binormal_auc_variance(a1, 1, 1.5), binormal_auc_variance(a2, 1, 1.5)
    c12 = binormal_auc_covariance(a1, 1, a2, 1, 0.6, 0.6, 1.5)
    za, zb = stats.norm.isf(0.025), stats.norm.ppf(0.9)
    expected = (za * np.sqrt(2 * v1 - 2 * c12) + zb * np.sqrt(v1 + v2 - 2 * c12)) ** 2 / 0.1**2
    assert result.n_cases == pytest.approx(expected, rel=1e-10)
    back = power_roc_test(0.85, kappa=1.5, n_cases=result.n_cases, auc2=0.75, r=0.6)
    assert back.power == pytest.approx(0.9, abs=1e-10)
    # a higher correlation between the tests needs fewer patients
    assert power_roc_test(0.85, kappa=1.5, power=0.9, auc2=0.75, r=0.8).n_cases < result.n_cases


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"auc": 0.5, "power": 0.9}, "AUC must be strictly between 0.5 and 1"),
        ({"auc": 0.8}, "either the power wanted or the number of cases"),
        ({"auc": 0.8, "power": 0.9, "n_cases": 10}, "either the power wanted"),
        ({"auc": 0.8, "power": 0.9, "auc2": 0.7}, "needs both"),
        ({"auc": 0.8, "power": 0.9, "auc2": 0.8, "r": 0.5}, "equal"),
        ({"auc": 0.8, "power": 0.9, "kappa": 0}, "kappa"),
        ({"auc": 0.8, "n_cases": -3}, "above 0"),
    ],
)
def test_impossible_requests_are_refused_with_one_line(kwargs, message):
    auc = kwargs.pop("auc")
    with pytest.raises(AnalysisError, match=message):
        power_roc_test(auc, **kwargs)


# ------------------------------------------------------------------ pmsampsize (Riley et al. 2020)


def test_pmsampsize_documented_binary_example():
    # pmsampsize(type = "b", csrsquared = 0.288, parameters = 24, prevalence = 0.174): 623, 662, 221 -> 662,
    # here recomputed by hand from Riley et al. (2020) equations 11, 20-21 and 5
    phi, p, r2 = 0.174, 24, 0.288
    max_r2 = 1 - np.exp(2 * (phi * np.log(phi) + (1 - phi) * np.log(1 - phi)))
    n1 = p / ((0.9 - 1) * np.log(1 - r2 / 0.9))
    s2 = r2 / (r2 + 0.05 * max_r2)
    n2 = p / ((s2 - 1) * np.log(1 - r2 / s2))
    n3 = (stats.norm.ppf(0.975) / 0.05) ** 2 * phi * (1 - phi)
    assert [math.ceil(n1), math.ceil(n2), math.ceil(n3)] == [623, 662, 221]
    result = pmsampsize_binary(phi, p, r2_cs=r2)
    assert [c.n for c in result.criteria] == [623, 662, 221]
    assert result.n == 662
    assert result.shrinkage == pytest.approx(s2) and round(result.shrinkage, 3) == 0.905
    assert result.max_r2_cs == pytest.approx(max_r2)
    assert result.epp == pytest.approx(662 * 0.174 / 24)


def test_the_chosen_size_meets_all_three_criteria_and_one_less_does_not():
    result = pmsampsize_binary(0.3, 10, r2_cs=0.15)
    n = result.n
    phi, max_r2 = 0.3, result.max_r2_cs

    def expected_shrinkage(size: float) -> float:  # Riley 2020 eq. 10: S = 1 + p / (n·ln(1 − R²_CS / S))
        return optimize.brentq(lambda s: 1 + 10 / (size * np.log(1 - 0.15 / s)) - s, 0.16, 1 - 1e-12)

    def criteria(size: float) -> list[bool]:
        s = expected_shrinkage(size)
        return [
            s >= 0.9 - 1e-12,
            0.15 / max_r2 - s * 0.15 / max_r2 <= 0.05 + 1e-12,  # optimism in Nagelkerke R² (Riley eq. 20)
            stats.norm.ppf(0.975) * np.sqrt(phi * (1 - phi) / size) <= 0.05,
        ]

    assert all(criteria(n))
    assert not all(criteria(n - 1))


def test_r2_from_c_statistic_matches_a_large_simulated_logistic_fit():
    # Riley, Van Calster & Collins (2021): LP ~ N(mu, 1) in events, N(0, 1) otherwise, mu = sqrt(2)·Φ⁻¹(C)
    rng = np.random.default_rng(3)
    c, phi, n = 0.8, 0.2, 400_000
    y = rng.random(n) < phi
    lp = rng.normal(0, 1, n) + y * np.sqrt(2) * stats.norm.ppf(c)
    X = np.column_stack([np.ones(n), lp])
    beta = np.zeros(2)
    for _ in range(30):  # ML logistic fit by Newton's method
        p = 1 / (1 + np.exp(-X @ beta))
        beta += np.linalg.solve(X.T @ (X * (p * (1 - p))[:, None]), X.T @ (y - p))
    p = 1 / (1 + np.exp(-X @ beta))
    loglik = np.sum(np.where(y, np.log(p), np.log1p(-p)))
    null = n * (y.mean() * np.log(y.mean()) + (1 - y.mean()) * np.log(1 - y.mean()))
    simulated = 1 - np.exp(-2 * (loglik - null) / n)
    assert r2_cs_from_c_statistic(c, phi) == pytest.approx(simulated, abs=0.004)


def test_r2_from_c_statistic_by_direct_integration():
    c, phi = 0.7, 0.1
    mu = np.sqrt(2) * stats.norm.ppf(c)
    b0 = np.log(phi / (1 - phi)) - mu**2 / 2

    def term(x: float) -> float:
        p1 = 1 / (1 + np.exp(-(b0 + mu * x)))
        dens1, dens0 = stats.norm.pdf(x, mu), stats.norm.pdf(x)
        return phi * dens1 * np.log(p1) + (1 - phi) * dens0 * np.log(1 - p1)

    info = integrate.quad(term, -12, 14, limit=200)[0] - (phi * np.log(phi) + (1 - phi) * np.log(1 - phi))
    assert r2_cs_from_c_statistic(c, phi) == pytest.approx(1 - np.exp(-2 * info), rel=1e-8)


def test_pmsampsize_refuses_impossible_r2():
    with pytest.raises(AnalysisError, match="below its maximum"):
        pmsampsize_binary(0.05, 10, r2_cs=0.5)


# ------------------------------------------------------------------ the command


def test_cli_power_follows_its_contract():
    done = run_cli("power", "--auc", "0.73", "--kappa", str(72 / 41), "--n-cases", "41", "--json", "-")
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert contract_problems("power", out) == []
    assert out["power"] == pytest.approx(0.9897453, abs=1e-6)
    assert (out["n_cases_needed"], out["n_controls_needed"]) == (41, 72)


def test_cli_power_adds_the_model_development_size():
    done = run_cli("power", "--auc", "0.89", "--power", "0.9", "--parameters", "24", "--prevalence", "0.174",
                   "--r2-cs", "0.288")  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert contract_problems("power", out) == []
    assert out["prediction_model"]["n"] == 662


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--auc", "0.8"], "one of the arguments --power --n-cases is required"),
        (["--auc", "0.45", "--power", "0.9"], "'0.45' must be strictly between 0.5 and 1"),
        (["--auc", "0.8", "--power", "90"], "give a fraction"),
        (["--auc", "0.8", "--power", "0.9", "--auc2", "0.7"], "--auc2 and --r go together"),
        (
            ["--auc", "0.8", "--power", "0.9", "--parameters", "5"],
            "--parameters and --prevalence go together",
        ),
    ],
)
def test_cli_power_refuses_bad_arguments_in_one_line(argv, message):
    done = run_cli("power", *argv)
    assert done.returncode == 2
    assert message in done.stderr and len(done.stderr.strip().splitlines()) == 1
