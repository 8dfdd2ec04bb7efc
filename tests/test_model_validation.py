"""Model validation, decision curves, recalibration and incremental value, each checked against an
independent computation: statsmodels GLMs, the dcurves package, sklearn's AUC and hand formulas."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy import stats
from scipy.special import expit, logit

from ovcf_core import paths
from ovcf_core.errors import InputError
from ovcf_core.io import read_cohort
from ovcf_core.model import load_model, model_from_dict, model_to_dict, save_model
from ovcf_core.model.calibration import rcs_basis, rcs_knots, smoothed_calibration
from ovcf_core.model.decision_curve import decision_curve, parse_thresholds, threshold_grid
from ovcf_core.model.incremental import incremental_value, nri_idi
from ovcf_core.model.recalibration import recalibrate
from ovcf_core.model.validation import score_cohort, split_cohort, validate_model

TRUE_COEF = {"const": 0.0, "vbq": 1.2, "hu": -0.02, "age": 0.03, "sex_male": -0.3, "bmi": -0.05}


def simulated(n: int = 5000, seed: int = 2024) -> tuple[pd.DataFrame, object]:
    """n patients whose outcome follows a known logistic model, and that model as a RiskModel."""
    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "patient_id": [f"S{i:05d}" for i in range(n)],
            "vbq": np.clip(rng.normal(3.2, 0.5, n), 1.0, 8.0),
            "hu": np.clip(rng.normal(120, 35, n), 20, 400),
            "age": rng.uniform(50, 90, n),
            "sex": rng.choice(["F", "M"], n),
            "bmi": np.clip(rng.normal(24, 3, n), 15, 40),
        }
    )
    coef = dict(TRUE_COEF)
    coef["const"] = -(1.2 * 3.2 - 0.02 * 120 + 0.03 * 70 - 0.3 * 0.5 - 0.05 * 24) - 0.4
    model = with_coefficients(load_model(paths.DEFAULT_MODEL), coef)
    lp = model.linear_predictor(table)
    table["ovcf"] = (rng.random(n) < expit(lp)).astype(int)
    return table, model


def with_coefficients(model, coef: dict[str, float]):
    """A copy of `model` with the given coefficients (same terms)."""
    data = model_to_dict(model)
    data["coefficients"] = {t: float(coef[t]) for t in data["terms"]}
    return model_from_dict(data)


@pytest.fixture(scope="module")
def sim():
    return simulated()


def statsmodels_calibration(y, lp):
    """The two calibration GLMs by statsmodels: (intercept fit, slope fit)."""
    ones = np.ones((len(y), 1))
    a = sm.GLM(y, ones, family=sm.families.Binomial(), offset=lp).fit(tol=1e-12)
    b = sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit(tol=1e-12)
    return a, b


def test_the_true_model_is_calibrated_within_its_cis(sim):
    table, model = sim
    result = validate_model(model, table)
    lo, hi = result.calibration.intercept_ci
    assert lo < 0 < hi
    lo, hi = result.calibration.slope_ci
    assert lo < 1 < hi
    assert result.n == 5000 and result.n_excluded == 0


def test_calibration_glms_equal_statsmodels(sim):
    table, model = sim
    result = validate_model(model, table)
    lp = model.linear_predictor(table)
    y = table["ovcf"].to_numpy(float)
    a, b = statsmodels_calibration(y, lp)
    cal = result.calibration
    assert cal.intercept == pytest.approx(a.params[0], abs=1e-6)
    assert cal.slope == pytest.approx(b.params[1], abs=1e-6)
    assert cal.slope_model_intercept == pytest.approx(b.params[0], abs=1e-6)
    np.testing.assert_allclose(cal.intercept_ci, a.conf_int()[0], atol=1e-6)
    np.testing.assert_allclose(cal.slope_ci, b.conf_int()[1], atol=1e-6)


def test_an_over_predicting_model_has_intercept_minus_one_and_intercept_recalibration_fixes_it(sim):
    table, model = sim
    coef = dict(zip(model.terms_, model.coef_, strict=True))
    shifted = with_coefficients(model, {**coef, "const": coef["const"] + 1.0})
    result = validate_model(shifted, table)
    assert result.calibration.intercept == pytest.approx(-1.0, abs=0.15)
    assert result.observed_expected < 1
    fixed = recalibrate(shifted, table, "intercept")
    again = validate_model(fixed, table)
    assert again.calibration.intercept == pytest.approx(0.0, abs=1e-6)
    assert again.calibration.slope == pytest.approx(result.calibration.slope, abs=1e-6)


def test_a_too_extreme_model_has_slope_0_7_and_logistic_recalibration_gives_0_and_1(sim, tmp_path):
    table, model = sim
    extreme = with_coefficients(model, {t: b / 0.7 for t, b in zip(model.terms_, model.coef_, strict=True)})
    result = validate_model(extreme, table)
    assert result.calibration.slope == pytest.approx(0.7, abs=0.05)
    fixed = recalibrate(extreme, table, "logistic")
    path = save_model(fixed, tmp_path / "recalibrated.json")
    loaded = load_model(path)  # the calculator loads it like any model file
    again = validate_model(loaded, table)
    assert again.calibration.intercept == pytest.approx(0.0, abs=1e-6)
    assert again.calibration.slope == pytest.approx(1.0, abs=1e-6)
    assert loaded.provenance_["recalibration"] == "logistic"
    assert loaded.n_cases_ == int(table["ovcf"].sum())
    patient = {"vbq": 3.4, "hu": 95, "age": 70, "sex": "F", "bmi": 24}
    prediction = loaded.predict(patient, prevalence=0.1)
    assert 0 < prediction.ci[0] < prediction.probability < prediction.ci[1] < 1


def test_brier_observed_expected_and_hosmer_lemeshow_equal_hand_formulas(sim):
    table, model = sim
    result = validate_model(model, table)
    y = table["ovcf"].to_numpy(float)
    p = expit(model.linear_predictor(table))
    assert result.brier == pytest.approx(sum((pi - yi) ** 2 for pi, yi in zip(p, y, strict=True)) / len(y))
    assert result.brier_scaled == pytest.approx(1 - result.brier / (y.mean() * (1 - y.mean())))
    assert result.observed_expected == pytest.approx(y.sum() / p.sum())
    order = sorted(range(len(p)), key=lambda i: p[i])
    chi2 = 0.0
    for group in np.array_split(np.array(order), 10):
        n_g, o, pbar = len(group), y[group].sum(), p[group].mean()
        chi2 += (o - n_g * pbar) ** 2 / (n_g * pbar * (1 - pbar))
    hl = result.hosmer_lemeshow
    assert hl.chi2 == pytest.approx(chi2, rel=1e-10)
    assert hl.df == 8
    assert hl.p == pytest.approx(stats.chi2.sf(chi2, 8), rel=1e-10)


def test_auc_equals_sklearn_and_markers_are_compared_on_the_same_patients(sim):
    from sklearn.metrics import roc_auc_score

    table, model = sim
    table = table.assign(vbq_copy=table["vbq"])
    result = validate_model(model, table)
    p = expit(model.linear_predictor(table))
    assert result.auc == pytest.approx(roc_auc_score(table["ovcf"], p), abs=1e-12)
    by_marker = {m.marker: m for m in result.markers}
    assert by_marker["hu"].auc == pytest.approx(roc_auc_score(table["ovcf"], -table["hu"]), abs=1e-12)
    assert by_marker["vbq"].auc == pytest.approx(roc_auc_score(table["ovcf"], table["vbq"]), abs=1e-12)
    assert by_marker["vbq"].model_auc == pytest.approx(result.auc)


def test_smoothed_calibration_equals_a_statsmodels_natural_spline_fit(sim):
    import patsy

    table, model = sim
    y = table["ovcf"].to_numpy(float)
    lp = model.linear_predictor(table)
    p = expit(lp)
    smooth = smoothed_calibration(y, p, lp)
    knots = np.quantile(lp, [0.05, 0.35, 0.65, 0.95])
    design = patsy.dmatrix(
        "cr(x, knots=inner, lower_bound=lo, upper_bound=hi) - 1",
        {"x": lp, "inner": knots[1:3], "lo": knots[0], "hi": knots[3]},
    )
    fit = sm.GLM(y, np.asarray(design), family=sm.families.Binomial()).fit(tol=1e-12)
    smoothed = fit.predict(np.asarray(design))
    error = np.abs(smoothed - p)
    assert smooth.ici == pytest.approx(error.mean(), abs=1e-7)
    assert smooth.e50 == pytest.approx(np.median(error), abs=1e-7)
    assert smooth.e90 == pytest.approx(np.quantile(error, 0.9), abs=1e-7)
    grid = logit(smooth.predicted)
    values = {"x": grid, "inner": knots[1:3], "lo": knots[0], "hi": knots[3]}
    on_grid = patsy.build_design_matrices([design.design_info], values)[0]
    frame = fit.get_prediction(np.asarray(on_grid)).summary_frame()
    np.testing.assert_allclose(smooth.observed, frame["mean"], atol=1e-7)
    np.testing.assert_allclose(smooth.lo, frame["mean_ci_lower"], atol=1e-6)
    np.testing.assert_allclose(smooth.hi, frame["mean_ci_upper"], atol=1e-6)


def test_rcs_knots_fall_back_to_a_line_for_few_distinct_values():
    assert len(rcs_knots(np.array([0.0, 1.0] * 50))) == 0
    assert rcs_basis(np.array([0.0, 1.0]), np.array([])).shape == (2, 2)


def dcurves_data(name: str) -> pd.DataFrame:
    import dcurves

    return pd.read_csv(os.path.join(dcurves.data, name))


@pytest.mark.parametrize("model_column", ["cancerpredmarker", "marker", "famhistory"])
def test_net_benefit_equals_dcurves_on_its_binary_example(model_column):
    from dcurves import dca

    data = dcurves_data("df_binary.csv")
    thresholds = threshold_grid(0.01, 0.99, 0.01)
    if model_column == "marker":  # dcurves wants probabilities; rescale the raw marker to (0, 1)
        data["marker"] = data["marker"] / (data["marker"].max() + 1)
    ref = dca(data=data, outcome="cancer", modelnames=[model_column], thresholds=thresholds)
    ours = decision_curve(
        data["cancer"].astype(float).to_numpy(), data[model_column].to_numpy(float), thresholds
    )
    model_rows = ref[ref["model"] == model_column].sort_values("threshold")
    all_rows = ref[ref["model"] == "all"].sort_values("threshold")
    np.testing.assert_allclose(ours.net_benefit, model_rows["net_benefit"], atol=1e-9, rtol=0)
    np.testing.assert_allclose(ours.net_benefit_all, all_rows["net_benefit"], atol=1e-9, rtol=0)
    np.testing.assert_allclose(
        ours.interventions_avoided_per_100, 100 * model_rows["net_intervention_avoided"], atol=1e-7, rtol=0
    )


def test_net_benefit_equals_dcurves_on_its_case_control_example_with_prevalence():
    from dcurves import dca

    data = dcurves_data("df_case_control.csv")
    thresholds = threshold_grid(0.01, 0.99, 0.01)
    ref = dca(data=data, outcome="casecontrol", modelnames=["cancerpredmarker"], thresholds=thresholds,
              prevalence=0.20)  # fmt: skip
    ours = decision_curve(data["casecontrol"].to_numpy(float), data["cancerpredmarker"].to_numpy(float),
                          thresholds, prevalence=0.20)  # fmt: skip
    np.testing.assert_allclose(
        ours.net_benefit, ref[ref["model"] == "cancerpredmarker"]["net_benefit"], atol=1e-9, rtol=0
    )
    np.testing.assert_allclose(
        ours.net_benefit_all, ref[ref["model"] == "all"]["net_benefit"], atol=1e-9, rtol=0
    )


def test_net_benefit_without_prevalence_is_tp_minus_weighted_fp():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 2, 300).astype(float)
    p = rng.random(300)
    curve = decision_curve(y, p, np.array([0.1, 0.3, 0.5]))
    for t, nb in zip(curve.thresholds, curve.net_benefit, strict=True):
        tp = np.sum((p >= t) & (y == 1))
        fp = np.sum((p >= t) & (y == 0))
        assert nb == pytest.approx(tp / 300 - fp / 300 * t / (1 - t), abs=1e-12)


def test_threshold_grids():
    grid = parse_thresholds("0.01:0.99:0.01")
    assert len(grid) == 99 and grid[0] == 0.01 and grid[-1] == 0.99
    assert list(parse_thresholds("0.1:0.3:0.1")) == [0.1, 0.2, 0.3]
    for bad in ("0:0.5:0.1", "0.1:1:0.1", "0.5:0.1:0.1", "a:b:c", "0.1:0.2"):
        with pytest.raises(InputError):
            parse_thresholds(bad)


def test_nri_and_idi_equal_a_worked_example():
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0], dtype=float)
    old = np.array([0.2, 0.4, 0.6, 0.8, 0.2, 0.4, 0.6, 0.8])
    new = np.array([0.3, 0.5, 0.5, 0.8, 0.1, 0.3, 0.7, 0.8])
    # events: up 2, down 1, same 1 -> (2 - 1)/4 = 0.25; non-events: down 2, up 1 -> (2 - 1)/4 = 0.25
    # IDI: events mean change (0.1 + 0.1 - 0.1 + 0)/4 = 0.025; non-events (-0.1 - 0.1 + 0.1 + 0)/4 = -0.025
    nri, nri_events, nri_non, idi = nri_idi(y, old, new)
    assert nri_events == pytest.approx(0.25)
    assert nri_non == pytest.approx(0.25)
    assert nri == pytest.approx(0.5)
    assert idi == pytest.approx(0.05)


def test_incremental_value_lr_test_equals_statsmodels_llr():
    table, _ = read_cohort(paths.SAMPLE_COHORT)
    progress = []
    result = incremental_value(table, ["hu", "age"], ["vbq"], n_bootstrap=200, seed=5,
                               progress=lambda d, t: progress.append(d))  # fmt: skip
    data = table[["ovcf", "hu", "age", "vbq"]].dropna()
    full = sm.Logit(data["ovcf"], sm.add_constant(data[["hu", "age", "vbq"]])).fit(disp=0)
    base = sm.Logit(data["ovcf"], sm.add_constant(data[["hu", "age"]])).fit(disp=0)
    assert result.lr_chi2 == pytest.approx(2 * (full.llf - base.llf), abs=1e-6)
    nested = sm.Logit(data["ovcf"], sm.add_constant(data[["hu", "age", "vbq"]])).fit(disp=0)
    assert result.lr_p == pytest.approx(stats.chi2.sf(2 * (nested.llf - base.llf), 1), rel=1e-6)
    assert result.lr_df == 1 and result.n == len(data)
    _, nri_e, nri_n, idi = nri_idi(data["ovcf"].to_numpy(float), base.predict(), full.predict())
    assert result.nri == pytest.approx(nri_e + nri_n, abs=1e-9)
    assert result.idi == pytest.approx(idi, abs=1e-7)
    assert result.nri_ci[0] <= result.nri <= result.nri_ci[1]
    assert progress[-1] == 200
    again = incremental_value(table, ["hu", "age"], ["vbq"], n_bootstrap=200, seed=5)
    assert again.nri_ci == result.nri_ci  # seeded


def test_incremental_value_lr_equals_statsmodels_llr_attribute():
    table, _ = read_cohort(paths.SAMPLE_COHORT)
    result = incremental_value(table, [], ["vbq", "hu"], n_bootstrap=0)
    data = table[["ovcf", "hu", "vbq"]].dropna()
    fit = sm.Logit(data["ovcf"], sm.add_constant(data[["vbq", "hu"]])).fit(disp=0)
    assert result.lr_chi2 == pytest.approx(fit.llr, abs=1e-6)
    assert result.lr_p == pytest.approx(fit.llr_pvalue, rel=1e-6)


def test_missing_values_are_counted_and_listed(sim):
    table, model = sim
    table = table.copy()
    table.loc[[3, 10], "hu"] = np.nan
    table.loc[7, "sex"] = None
    result = validate_model(model, table)
    assert result.n == 4997
    assert [e["patient_id"] for e in result.excluded] == ["S00003", "S00007", "S00010"]
    assert result.excluded[1]["missing"] == ["sex"]
    assert list(result.excluded_frame()["missing"]) == ["hu", "sex", "hu"]


@pytest.mark.parametrize(
    ("change", "column"),
    [
        (lambda t: t.drop(columns="ovcf"), "ovcf"),
        (lambda t: t.assign(ovcf=1), "ovcf"),
        (lambda t: t.drop(columns="hu"), "hu"),
        (lambda t: t.assign(bmi=np.nan), "bmi"),
    ],
)
def test_bad_cohorts_get_one_line_naming_the_column(sim, change, column):
    table, model = sim
    with pytest.raises(InputError) as info:
        score_cohort(model, change(table.head(200)), file="c.csv")
    message = str(info.value)
    assert f"column '{column}'" in message and "c.csv" in message and "\n" not in message


def test_split_is_stratified_and_seeded(sim):
    table, _ = sim
    development, validation = split_cohort(table, 0.3, seed=1)
    assert len(development) + len(validation) == len(table)
    assert set(development.index).isdisjoint(validation.index)
    cases = table["ovcf"].sum()
    assert validation["ovcf"].sum() == round(0.3 * cases)
    assert split_cohort(table, 0.3, seed=1)[1].index.equals(validation.index)


def test_validation_at_a_prevalence_scores_as_predict_does():
    table, _ = read_cohort(paths.SAMPLE_COHORT)
    model = load_model(paths.DEFAULT_MODEL)
    scored = score_cohort(model, table, 0.1)
    row = table.iloc[0]
    patient = {k: row[k] for k in ("vbq", "hu", "age", "sex", "bmi")}
    assert scored.prediction[0] == pytest.approx(
        model.predict(patient, prevalence=0.1).probability, rel=1e-12
    )
    result = validate_model(model, table, prevalence=0.1)
    assert result.decision.prevalence == 0.1
    assert any("prevalence" in m for m in result.messages)
