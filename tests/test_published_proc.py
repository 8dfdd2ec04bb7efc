"""ROC study planning (ovcf_core.stats.power) against published pROC `power.roc.test` results.

pROC's example data (aSAH) is GPL-3 and is not shipped; only results that need no data are used.

Sources:

[P] pROC's test suite, xrobin/pROC tests/testthat/test-power.roc.test.R (commit
    12cf024984a86ded984bc2264d0c2306beaeaa4d), the checks that call `power.roc.test` with numbers only:
    - "power.roc.test with given auc function": `power.roc.test(ncases = 41, ncontrols = 72, auc = 0.73,
      sig.level = 0.05)` has power 0.9897453;
    - "can determine sig.level": the same with power = 0.95 and sig.level = NULL gives 0.009238584;
    - "can determine AUC": ncases = 41, ncontrols = 72, sig.level = 0.05, power = 0.95 gives AUC
      0.6961054. pROC solves this one with `uniroot()` at its default tolerance, .Machine$double.eps^0.25
      ≈ 1.2e-4 (R/power.roc.test.R), so its printed AUC is the root only to that tolerance.
    All three are checked there with tolerance 1e-6.
[T] Obuchowski (2004)'s Table 4 (the paper whose formula 3, p. 1123, pROC's R/obuchowski.R cites for the
    variance used here): cases and controls needed to show an AUC above 0.5,
    one-sided α = 0.05, power 0.9, for AUC 0.6–0.95 and κ = 0.25–4 controls per case, at least 10 per
    group; as transcribed in the same pROC test ("power.roc.test returns correct results from
    litterature", "Check results in Obuchowski 2004 Table 4"), with pROC's two noted corrections
    (κ = 4, AUC 0.6: 340 controls, not 339; κ = 0.5, AUC 0.6: 202 cases, not 201) and pROC's rule for
    the table's floor of 10 per group.
"""

from __future__ import annotations

import math

import pytest
from scipy import optimize

from ovcf_core.stats.power import power_roc_test

KAPPA = 72 / 41  # pROC's ncontrols / ncases


def test_power_of_one_auc_against_half_matches_proc():
    result = power_roc_test(0.73, kappa=KAPPA, n_cases=41, alpha=0.05)
    assert result.power == pytest.approx(0.9897453, rel=1e-6)
    assert result.n_controls == pytest.approx(72)


def test_significance_level_for_a_given_power_matches_proc():
    # the α at which 41 cases and 72 controls give power 0.95 for AUC 0.73: solved here by brentq on
    # the library's power (pROC solves the same quadratic in z_α in closed form)
    alpha = optimize.brentq(
        lambda a: power_roc_test(0.73, kappa=KAPPA, n_cases=41, alpha=a).power - 0.95, 1e-6, 0.5, xtol=1e-15
    )
    assert alpha == pytest.approx(0.009238584, rel=1e-6)


def test_detectable_auc_matches_proc_to_its_root_finders_tolerance():
    auc = optimize.brentq(
        lambda u: power_roc_test(u, kappa=KAPPA, n_cases=41, alpha=0.05).power - 0.95, 0.51, 0.99, xtol=1e-15
    )
    assert auc == pytest.approx(0.6961054, abs=1.22e-4)  # uniroot's default tol (ε^¼)
    # and the power at pROC's printed AUC is 0.95 to the same precision
    assert power_roc_test(0.6961054, kappa=KAPPA, n_cases=41).power == pytest.approx(0.95, abs=1e-4)


KAPPAS = (0.25, 0.5, 1, 2, 4)
AUCS = (0.6, 0.7, 0.8, 0.9, 0.95)
# [T]: rows κ, columns AUC
TABLE4_CONTROLS = (
    (84, 20, 10, 10, 10),
    (101, 25, 10, 10, 10),
    (135, 33, 14, 10, 10),
    (203, 50, 21, 20, 20),
    (340, 84, 40, 40, 40),
)
TABLE4_CASES = (
    (334, 80, 40, 40, 40),
    (202, 49, 20, 20, 20),
    (135, 33, 14, 10, 10),
    (102, 25, 11, 10, 10),
    (85, 21, 10, 10, 10),
)


@pytest.mark.parametrize(("row", "kappa"), list(enumerate(KAPPAS)))
@pytest.mark.parametrize(("column", "auc"), list(enumerate(AUCS)))
def test_sample_sizes_reproduce_obuchowski_2004_table_4(row, kappa, column, auc):
    plan = power_roc_test(auc, kappa=kappa, alpha=0.05, power=0.9, alternative="one.sided")
    cases, controls = math.ceil(plan.n_cases), math.ceil(plan.n_controls)
    assert (cases, controls) == (plan.n_cases_needed, plan.n_controls_needed)
    # the table's floor: at least 10 per group, the other group raised to keep κ (pROC's reading of it)
    table_controls = max(10, (10 if cases < 10 else 0) * kappa, controls)
    table_cases = max(10, (10 if controls < 10 else 0) / kappa, cases)
    assert table_controls == TABLE4_CONTROLS[row][column]
    assert table_cases == TABLE4_CASES[row][column]
