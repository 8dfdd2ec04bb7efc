"""Cut-off rules, their bootstrap CIs and likelihood ratios, checked against a brute-force scan of every
threshold in exact fractions, the same seeded resamples recomputed by hand, and the log-method formulas."""

from __future__ import annotations

import itertools
import json
import math
from fractions import Fraction

import numpy as np
import pytest

from ovcf_core.errors import AnalysisError
from ovcf_core.report.figures import RocTrace, roc_cutoff_figure
from ovcf_core.schema import Direction
from ovcf_core.stats.cutoffs import (
    CutoffChoice,
    CutoffRule,
    choose_threshold,
    cutoff_analysis,
    likelihood_ratios,
)
from ovcf_core.stats.roc import roc_curve, youden_cutoff

Z = 1.959963984540054


def _sample(seed: int, n: int = 60, ties: bool = True):
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(float)
    y[:2], y[2:4] = 1, 0
    x = rng.normal(0, 1, n) + 1.0 * y
    return y, (np.round(x, 1) if ties else x)


def _scan(y, x, direction):
    """Every threshold between consecutive distinct values, with exact sensitivity and specificity."""
    values = sorted(set(x.tolist()))
    cases, controls = x[y == 1], x[y == 0]
    out = []
    for lo, hi in itertools.pairwise(values):
        t = (lo + hi) / 2
        pos_cases = (cases >= t) if direction == "higher" else (cases <= t)
        pos_controls = (controls >= t) if direction == "higher" else (controls <= t)
        sens = Fraction(int(pos_cases.sum()), len(cases))
        spec = Fraction(len(controls) - int(pos_controls.sum()), len(controls))
        out.append((t, sens, spec))
    return out


def _brute(y, x, direction, rule, target=None):
    """The rule's pick by exhaustive search in exact arithmetic; ties to the higher specificity, then
    sensitivity."""
    rows = _scan(y, x, direction)
    if rule == "sensitivity":
        rows = [r for r in rows if r[1] >= Fraction(target).limit_denominator(10**6)]
        key = lambda r: (r[2], r[2], r[1])  # noqa: E731
    elif rule == "specificity":
        rows = [r for r in rows if r[2] >= Fraction(target).limit_denominator(10**6)]
        key = lambda r: (r[1], r[2], r[1])  # noqa: E731
    elif rule == "youden":
        key = lambda r: (r[1] + r[2] - 1, r[2], r[1])  # noqa: E731
    else:
        key = lambda r: (-((1 - r[1]) ** 2 + (1 - r[2]) ** 2), r[2], r[1])  # noqa: E731
    return max(rows, key=key) if rows else None


RULES = [("youden", None), ("closest_topleft", None), ("sensitivity", 0.8), ("specificity", 0.9)]


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("direction", ["higher", "lower"])
@pytest.mark.parametrize(("rule", "target"), RULES)
def test_each_rule_picks_the_threshold_a_brute_force_scan_picks(seed, direction, rule, target):
    y, x = _sample(seed)
    if direction == "lower":
        x = -x
    best = _brute(y, x, direction, rule, target)
    assert choose_threshold(y, x, direction, CutoffChoice(rule, target)) == pytest.approx(best[0], abs=1e-12)
    result = cutoff_analysis(y, x, direction, CutoffChoice(rule, target), n_boot=0)
    assert (result.sensitivity, result.specificity) == (float(best[1]), float(best[2]))


@pytest.mark.parametrize("seed", range(4))
def test_the_youden_rule_agrees_with_roc_youden_cutoff(seed):
    y, x = _sample(seed, ties=False)
    assert choose_threshold(y, x, "higher", CutoffChoice("youden")) == youden_cutoff(y, x, "higher").threshold


def test_an_exact_target_is_reached_and_an_unreachable_one_is_refused():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 0], dtype=float)
    x = np.array([0.5, 2, 3, 4, 1, 1.5, 1.8, 2.5, 0.9])  # the lowest value belongs to a case
    at_sensitivity = choose_threshold(y, x, "higher", CutoffChoice("sensitivity", 0.75))
    assert at_sensitivity == pytest.approx(1.9)  # spec 3/5
    with pytest.raises(AnalysisError, match="calling every patient positive"):
        choose_threshold(y, x, "higher", CutoffChoice("sensitivity", 1.0))
    # the choice is checked when it is made, before any data
    assert CutoffChoice() == CutoffChoice(CutoffRule.YOUDEN, None)
    assert CutoffChoice("specificity", 0.9).rule is CutoffRule.SPECIFICITY
    with pytest.raises(AnalysisError, match="target"):
        CutoffChoice("specificity", None)
    with pytest.raises(AnalysisError, match="target"):
        CutoffChoice("specificity", 1.5)
    with pytest.raises(AnalysisError, match="unknown cut-off rule"):
        CutoffChoice("best")
    with pytest.raises(AnalysisError, match="cases"):
        choose_threshold([1, 0, 0], [1, 2, 3], "higher")


# ---- likelihood ratios ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("tp", "fn", "fp", "tn"), [(40, 10, 15, 85), (7, 3, 2, 18), (61, 17, 20, 58)])
def test_likelihood_ratios_match_the_log_method_by_hand(tp, fn, fp, tn):
    sens, spec = tp / (tp + fn), tn / (fp + tn)
    lr_pos, lr_neg = sens / (1 - spec), (1 - sens) / spec
    se_pos = math.sqrt((1 - sens) / tp + spec / fp)  # Simel et al. 1991, written via sens and spec
    se_neg = math.sqrt(sens / fn + (1 - spec) / tn)
    lrs = likelihood_ratios(tp, fn, fp, tn)
    assert lrs.positive == pytest.approx(lr_pos, rel=1e-12)
    assert lrs.negative == pytest.approx(lr_neg, rel=1e-12)
    assert lrs.positive_ci == pytest.approx((lr_pos * math.exp(-Z * se_pos), lr_pos * math.exp(Z * se_pos)))
    assert lrs.negative_ci == pytest.approx((lr_neg * math.exp(-Z * se_neg), lr_neg * math.exp(Z * se_neg)))


def test_likelihood_ratios_at_zero_cells_are_honest():
    no_false_positive = likelihood_ratios(30, 10, 0, 40)
    assert no_false_positive.positive == math.inf and all(map(math.isnan, no_false_positive.positive_ci))
    assert no_false_positive.negative == pytest.approx(0.25)
    no_true_positive = likelihood_ratios(0, 10, 5, 35)
    assert no_true_positive.positive == 0.0 and all(map(math.isnan, no_true_positive.positive_ci))
    nothing = likelihood_ratios(0, 0, 5, 5)
    assert math.isnan(nothing.positive) and math.isnan(nothing.negative)
    wide = likelihood_ratios(40, 10, 15, 85, level=0.99)
    assert wide.positive_ci[0] < likelihood_ratios(40, 10, 15, 85).positive_ci[0]


# ---- bootstrap CIs ---------------------------------------------------------------------------------------


def _resamples(y, n_boot, seed):
    rng = np.random.default_rng(seed)
    cases, controls = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    for _ in range(n_boot):
        yield np.concatenate(
            [
                rng.choice(cases, size=len(cases), replace=True),
                rng.choice(controls, size=len(controls), replace=True),
            ]
        )


@pytest.mark.parametrize(("rule", "target"), RULES)
def test_bootstrap_cis_equal_a_recomputation_on_the_same_resamples(rule, target):
    y, x = _sample(11, n=50)
    n_boot, seed = 40, 5
    result = cutoff_analysis(y, x, "higher", CutoffChoice(rule, target), n_boot=n_boot, seed=seed)
    t0 = result.threshold
    fixed, rechosen = [], []
    for idx in _resamples(y, n_boot, seed):
        yi, xi = y[idx], x[idx]
        fixed.append(((xi[yi == 1] >= t0).mean(), (xi[yi == 0] < t0).mean()))
        best = _brute(yi, xi, "higher", rule, target)
        if best is not None:
            rechosen.append((best[0], float(best[1]), float(best[2])))
    fixed_a, rechosen_a = np.array(fixed), np.array(rechosen)
    q = [0.025, 0.975]
    assert result.sensitivity_ci == pytest.approx(tuple(np.quantile(fixed_a[:, 0], q)), abs=1e-12)
    assert result.specificity_ci == pytest.approx(tuple(np.quantile(fixed_a[:, 1], q)), abs=1e-12)
    assert result.threshold_ci == pytest.approx(tuple(np.quantile(rechosen_a[:, 0], q)), abs=1e-12)
    assert result.rechosen_sensitivity_ci == pytest.approx(tuple(np.quantile(rechosen_a[:, 1], q)), abs=1e-12)
    assert result.rechosen_specificity_ci == pytest.approx(tuple(np.quantile(rechosen_a[:, 2], q)), abs=1e-12)
    assert result.n_undefined == n_boot - len(rechosen)


def test_resamples_without_a_qualifying_threshold_are_counted_not_used():
    y, x = _sample(12, n=30)
    x[2], x[0] = -10.0, -9.0  # lowest a control, next a case: resamples without that control fail
    result = cutoff_analysis(y, x, "higher", CutoffChoice("sensitivity", 1.0), n_boot=60, seed=2)
    expected = sum(_brute(y[i], x[i], "higher", "sensitivity", 1.0) is None for i in _resamples(y, 60, 2))
    assert result.n_undefined == expected > 0
    assert all(np.isfinite(result.threshold_ci))


def test_result_is_seeded_serialisable_and_tabulated():
    y, x = _sample(13)
    calls: list[tuple[int, int]] = []
    result = cutoff_analysis(
        y, x, Direction.HIGHER, CutoffChoice("closest_topleft", 0.5), n_boot=50, seed=3,
        progress=lambda i, n: calls.append((i, n)),
    )  # fmt: skip
    assert result == cutoff_analysis(y, x, "higher", CutoffChoice("closest_topleft", None), n_boot=50, seed=3)
    assert result.target is None and calls[-1] == (50, 50)
    data = json.loads(json.dumps(result.to_dict()))
    assert data["rule"] == "closest_topleft" and data["direction"] == "higher"
    assert data["likelihood_ratios"]["positive"] == result.likelihood_ratios.positive
    frame = result.to_frame()
    assert list(frame.columns) == ["quantity", "estimate", "ci_low", "ci_high"]
    assert frame.set_index("quantity").loc["threshold", "ci_low"] == result.threshold_ci[0]
    tp, fn = result.true_positive, result.false_negative
    assert result.sensitivity == tp / (tp + fn)
    bare = cutoff_analysis(y, x, "higher", CutoffChoice(CutoffRule.SPECIFICITY, 0.9), n_boot=0)
    assert bare.threshold_ci is None and bare.target == 0.9
    assert bare.to_frame()["ci_low"].iloc[:5].isna().all()


def test_the_figure_marks_the_cut_off_on_the_roc_curve():
    y, x = _sample(14)
    result = cutoff_analysis(y, x, "higher", CutoffChoice("youden"), n_boot=30, seed=1)
    curve = roc_curve(y, x, "higher")
    trace = RocTrace("vbq", 1 - curve.specificity, curve.sensitivity, 0.8, (0.7, 0.9))
    fig = roc_cutoff_figure(
        trace,
        threshold=result.threshold,
        sensitivity=result.sensitivity,
        specificity=result.specificity,
        rule="Youden",
        sensitivity_ci=result.sensitivity_ci,
        specificity_ci=result.specificity_ci,
        smooth=(np.linspace(0, 1, 5), np.linspace(0, 1, 5) ** 0.5),
    )
    point = fig.data[-1]
    assert point.x[0] == pytest.approx(1 - result.specificity) and point.y[0] == result.sensitivity
    assert point.error_y.arrayminus[0] == pytest.approx(result.sensitivity - result.sensitivity_ci[0])
    assert point.error_x.array[0] == pytest.approx(result.specificity - result.specificity_ci[0])
    assert any("binormal" in (t.name or "") for t in fig.data)
    assert "Youden" in point.name
