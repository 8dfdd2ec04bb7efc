"""T2 fat thresholds (manual, Otsu, subcutaneous-fat reference), FI and CSA, and labels -> structures."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ovcf_core.errors import InputError
from ovcf_core.imaging import measure_series
from ovcf_core.imaging.image_indicators import classify, image_indicators
from ovcf_core.imaging.mri import FatMethod, FatThreshold, fat_percent, muscle_threshold, otsu_threshold
from ovcf_core.imaging.phantoms import ct_lumbar_phantom, mr_t2_axial_phantom


def _otsu_by_within_class_variance(values: np.ndarray) -> float:
    """Independent Otsu: every split of the distinct values; minimise weighted within-class variance."""
    best, best_t = np.inf, None
    for t in np.unique(values)[:-1]:
        low, high = values[values <= t], values[values > t]
        within = low.size * low.var() + high.size * high.var()
        if within < best - 1e-9:
            best, best_t = within, t
    return float(best_t)


@settings(max_examples=40, deadline=None)
@given(st.lists(st.integers(0, 60), min_size=2, max_size=80).filter(lambda v: len(set(v)) > 1))
def test_otsu_matches_the_within_class_variance_definition(values):
    values = np.asarray(values, dtype=float)
    assert otsu_threshold(values) == _otsu_by_within_class_variance(values)


def test_otsu_breaks_an_exact_tie_towards_the_lower_threshold():
    assert otsu_threshold(np.array([47.0, 53.0, 59.0])) == 47.0  # 47 | 53 59 and 47 53 | 59 are equal


def test_otsu_splits_muscle_from_fat_and_fi_is_the_share_above():
    values = np.array([80.0] * 90 + [400.0] * 10)
    threshold = otsu_threshold(values)
    assert 80 <= threshold < 400
    assert fat_percent(values, threshold) == 10.0
    assert otsu_threshold(np.full(5, 7.0)) == 7.0 and fat_percent(np.full(5, 7.0), 7.0) == 0.0


def test_threshold_rules_and_their_errors_name_the_roi():
    values = np.array([10.0, 20.0, 300.0])
    assert muscle_threshold(values, FatThreshold(FatMethod.MANUAL, value=15), None, "PM_L_L3L4") == 15
    assert muscle_threshold(values, FatThreshold(FatMethod.REFERENCE), 420.0, "PM_L_L3L4") == 210.0
    assert (
        muscle_threshold(values, FatThreshold(FatMethod.REFERENCE, reference_fraction=0.25), 400, "x") == 100
    )
    with pytest.raises(InputError, match=r"ROI 'PM_L_L3L4'.*FAT_<level>"):
        muscle_threshold(values, FatThreshold(FatMethod.REFERENCE), None, "PM_L_L3L4")
    with pytest.raises(InputError, match="ROI 'MF_R_L4L5': a manual fat threshold needs a value"):
        muscle_threshold(values, FatThreshold(FatMethod.MANUAL), None, "MF_R_L4L5")


@pytest.mark.parametrize(
    "rule",
    [
        FatThreshold(FatMethod.MANUAL, value=200.0),
        FatThreshold(FatMethod.OTSU),
        FatThreshold(FatMethod.REFERENCE),
    ],
    ids=["manual", "otsu", "reference"],
)
def test_every_fat_rule_recovers_the_phantom_fat_percent_and_csa(rule):
    phantom = mr_t2_axial_phantom()
    found = image_indicators(measure_series(phantom.uploads(), phantom.rois), fat=rule)
    rows = {r.label: r for r in found.rows}
    for label, fi in phantom.fat_percent.items():
        assert rows[label].fi_percent == pytest.approx(fi)
        assert rows[label].area_mm2 == pytest.approx(phantom.area_mm2[label])
        assert rows[label].kind == "muscle"


@pytest.mark.parametrize(
    ("label", "expected"),
    [
        ("L1", ("vertebra", "L1", None, None)),
        ("l4", ("vertebra", "L4", None, None)),
        ("CSF_L3", ("csf", "L3", None, None)),
        ("PM_L_L3L4", ("muscle", "L3L4", "pm", "l")),
        ("es_r_l4l5", ("muscle", "L4L5", "es", "r")),
        ("DISC_L1L2", ("disc", "L1L2", None, None)),
        ("FAT_L2L3", ("fat", "L2L3", None, None)),
        ("L5", ("other", None, None, None)),
        ("PM_X_L3L4", ("other", None, None, None)),
        ("DISC_L1L3", ("other", None, None, None)),  # not a disc level (the levels are `indicators`')
        ("MF_L_L4L5", ("muscle", "L4L5", "mf", "l")),
    ],
)
def test_roi_labels_name_their_structures(label, expected):
    assert classify(label) == expected


def test_average_hu_from_images_leaves_fractured_vertebrae_out():
    from ovcf_core import indicators as formulas

    phantom = ct_lumbar_phantom()
    found = image_indicators(measure_series(phantom.uploads(), phantom.rois), fractured={"L2"})
    assert found.values()["hu"] == pytest.approx((152 + 121 + 109) / 3)
    assert found.values()["hu"] == pytest.approx(
        formulas.average_hu({"L1": 152.0, "L2": 138.0, "L3": 121.0, "L4": 109.0}, {"L2"}).value
    )
    assert [r.fractured for r in found.rows] == [False, True, False, False]


def test_vbq_rcsa_and_fi_from_the_mr_phantoms():
    from ovcf_core import indicators as formulas
    from ovcf_core.imaging.phantoms import mr_t1_sagittal_phantom

    t1 = mr_t1_sagittal_phantom()
    vbq = image_indicators(measure_series(t1.uploads(), t1.rois)).values()["vbq"]
    assert vbq == pytest.approx(np.median([320, 330, 345, 360]) / 100)
    t2 = mr_t2_axial_phantom()
    found = image_indicators(measure_series(t2.uploads(), t2.rois)).values()
    csa = {}
    for label, area in t2.area_mm2.items():
        kind, level, muscle, side = classify(label)
        if kind == "muscle":
            csa[(muscle, side, level)] = area
    discs = {classify(k)[1]: v for k, v in t2.area_mm2.items() if k.startswith("DISC")}
    by_hand = [
        sum(csa[(m, side, level)] for m in ("pm", "mf", "es")) / discs[level]
        for level in ("L3L4", "L4L5")
        for side in ("l", "r")
    ]
    assert found["rcsa"] == pytest.approx(np.mean(by_hand))
    assert found["rcsa"] == pytest.approx(formulas.average_rcsa(csa, discs).value)
    assert found["fi"] == pytest.approx(np.mean(list(t2.fat_percent.values())))
