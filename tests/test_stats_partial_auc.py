"""Partial AUC over a specificity range (pROC's partial.auc, focus on specificity, McClish correction),
checked against scikit-learn's standardised partial AUC, the full DeLong AUC and a brute-force integral."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score
from sklearn.metrics import roc_curve as sk_roc_curve

from ovcf_core.errors import AnalysisError
from ovcf_core.schema import Direction
from ovcf_core.stats.partial_auc import (
    compare_partial_auc,
    parse_specificity_range,
    partial_auc,
    partial_auc_with_ci,
)
from ovcf_core.stats.roc import PairedScores, delong_auc


def _sample(seed: int, n: int = 300, ties: bool = False) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = (rng.random(n) < 0.4).astype(float)
    x = rng.normal(0, 1, n) + 1.2 * y
    return y, (np.round(x, 1) if ties else x)


@pytest.mark.parametrize("ties", [False, True])
@pytest.mark.parametrize("max_fpr", [0.05, 0.1, 0.2, 0.5])
def test_mcclish_corrected_pauc_equals_scikit_learn_standardised_partial_auc(max_fpr, ties):
    y, x = _sample(3, ties=ties)
    _, corrected = partial_auc(y, x, Direction.HIGHER, (1 - max_fpr, 1.0))
    assert corrected == pytest.approx(roc_auc_score(y, x, max_fpr=max_fpr), abs=1e-12)


def test_lower_direction_is_the_higher_direction_of_the_negated_marker():
    y, x = _sample(4)
    assert partial_auc(y, x, Direction.LOWER, (0.8, 1.0)) == pytest.approx(
        partial_auc(y, -x, Direction.HIGHER, (0.8, 1.0)), abs=1e-15
    )


@pytest.mark.parametrize("ties", [False, True])
def test_the_whole_range_is_the_auc_and_ranges_add_up(ties):
    y, x = _sample(5, ties=ties)
    full, corrected = partial_auc(y, x, Direction.HIGHER, (0.0, 1.0))
    assert full == pytest.approx(delong_auc(y, x, "higher").auc, abs=1e-12)
    assert corrected == pytest.approx(full, abs=1e-12)
    parts = [partial_auc(y, x, Direction.HIGHER, r)[0] for r in ((0.0, 0.35), (0.35, 0.8), (0.8, 1.0))]
    assert sum(parts) == pytest.approx(full, abs=1e-12)


def test_pauc_over_an_inner_range_equals_a_brute_force_integral_of_scikit_learns_curve():
    y, x = _sample(6, ties=True)
    fpr, tpr, _ = sk_roc_curve(y, x, drop_intermediate=False)
    grid = np.linspace(0.25, 0.6, 700_001)  # specificity 0.4 to 0.75
    # the curve's upper envelope is what the area sees; at a vertical piece take its top (right limit)
    values = np.interp(grid, fpr, tpr)
    brute = float(np.sum((values[1:] + values[:-1]) / 2 * np.diff(grid)))
    assert partial_auc(y, x, Direction.HIGHER, (0.4, 0.75))[0] == pytest.approx(brute, abs=1e-7)


def test_a_useless_marker_scores_one_half_and_a_perfect_one_scores_one():
    y = np.array([0, 0, 0, 0, 1, 1, 1, 1], float)
    assert partial_auc(y, np.zeros(8), Direction.HIGHER, (0.9, 1.0))[1] == pytest.approx(0.5)
    assert partial_auc(y, y + 0.0, Direction.HIGHER, (0.9, 1.0))[1] == pytest.approx(1.0)


def test_bootstrap_ci_is_seeded_and_brackets_the_estimate():
    y, x = _sample(7)
    first = partial_auc_with_ci(y, x, "higher", (0.9, 1.0), n_boot=300, seed=1)
    again = partial_auc_with_ci(y, x, "higher", (0.9, 1.0), n_boot=300, seed=1)
    assert first == again
    assert first.ci[0] <= first.pauc <= first.ci[1]
    assert first.corrected_ci[0] <= first.corrected <= first.corrected_ci[1]


def test_bootstrap_test_of_two_paucs_follows_pROCs_formula():
    y, x = _sample(8)
    rng = np.random.default_rng(9)
    other = x + rng.normal(0, 1.5, len(x))
    result = compare_partial_auc(
        PairedScores(y, x, other, "higher", "higher", ("x", "other")),
        specificity=(0.8, 1.0),
        n_boot=400,
        seed=2,
    )
    # the same stratified resamples, recomputed here: D = observed difference / SD of resampled differences
    rng = np.random.default_rng(2)
    cases, controls = np.flatnonzero(y == 1), np.flatnonzero(y == 0)
    diffs = []
    for _ in range(400):
        i = np.concatenate([rng.choice(cases, len(cases)), rng.choice(controls, len(controls))])
        diffs.append(roc_auc_score(y[i], x[i], max_fpr=0.2) - roc_auc_score(y[i], other[i], max_fpr=0.2))
    observed = roc_auc_score(y, x, max_fpr=0.2) - roc_auc_score(y, other, max_fpr=0.2)
    assert result.d == pytest.approx(observed / np.std(diffs, ddof=1), rel=1e-9)
    assert result.p_value < 0.05 and result.pauc_a > result.pauc_b


@pytest.mark.parametrize("text", ["0.9", "1:0.9", "a:b", "-0.1:1", "0.5:1.5"])
def test_a_bad_range_is_refused_saying_why(text):
    with pytest.raises(ValueError, match=text.replace(".", r"\.")):
        parse_specificity_range(text)


def test_too_few_patients_is_an_analysis_error():
    with pytest.raises(AnalysisError, match="too few"):
        partial_auc_with_ci(np.array([1.0, 0.0]), np.array([1.0, 0.0]), "higher", (0.9, 1.0))
