"""Figures and the one-page summary of a prediction: they show the prediction's numbers, and escape text."""

from __future__ import annotations

import pytest
from model_cohorts import simulated_cohort

from ovcf_core.model import RiskModel
from ovcf_core.model import figures as model_figures
from ovcf_core.model.summary import prediction_summary_html
from ovcf_core.model.thresholds import PUBLISHED_THRESHOLDS, thresholds_for
from ovcf_core.schema import Direction

PATIENT = {"vbq": 3.6, "hu": 95.0, "age": 74.0, "sex": "F", "bmi": 22.5}


@pytest.fixture(scope="module")
def cohort():
    return simulated_cohort(n=120, seed=17)


@pytest.fixture(scope="module")
def model(cohort):
    return RiskModel(n_bootstrap=200).fit(cohort, source="<script>alert(1)</script>.csv")


def test_probability_figure_shows_the_probability_and_its_ci(model):
    prediction = model.predict(PATIENT, prevalence=0.1)
    bar = model_figures.probability_figure(prediction).data[0]
    low, high = prediction.ci
    assert bar.x[0] == pytest.approx(100 * prediction.probability)
    assert bar.error_x.array[0] == pytest.approx(100 * (high - prediction.probability))
    assert bar.error_x.arrayminus[0] == pytest.approx(100 * (prediction.probability - low))


def test_patient_and_cutoffs_are_drawn_on_the_cohort_distribution(cohort):
    cuts = [(t.value, t.label) for t in thresholds_for("vbq")]
    fig = model_figures.patient_on_distribution(cohort, "vbq", 3.6, cuts)
    lines = {
        trace.name: trace.y[0] for trace in fig.data if trace.type == "scatter" and trace.mode == "lines"
    }
    assert lines == {
        "VBQ 3.0 (Ehresman 2019)": 3.0,
        "VBQ 3.22 (Li 2023)": 3.22,
        "VBQ 3.32 (Wang 2024)": 3.32,
        "this patient: 3.60": 3.6,
    }
    # the legend is listed under the plot, inside the figure's bottom margin (never over the title/modebar)
    legend = fig.layout.legend
    assert (legend.yref, legend.yanchor, legend.y) == ("container", "bottom", 0.0)
    entries = sum(1 for t in fig.data if t.showlegend is not False and t.name)
    assert fig.layout.margin.b >= 22 * entries


def test_contribution_figure_has_one_bar_per_term(model):
    prediction = model.predict(PATIENT)
    bar = model_figures.contribution_figure(prediction).data[0]
    assert list(bar.x) == pytest.approx(list(prediction.contributions.values()))
    assert len(bar.y) == 5


def test_calibration_figure_plots_the_training_bins(model):
    fig = model_figures.calibration_figure(model.summary_)
    assert list(fig.data[1].y) == pytest.approx(model.summary_.calibration["observed"])


def test_published_thresholds_say_which_vertebrae_they_apply_to():
    l1 = thresholds_for("hu_l1")
    assert [t.value for t in l1] == [160.0, 110.0]
    assert all("L1 only" in t.applies_to and t.direction is Direction.LOWER for t in l1)
    assert {t.source for t in thresholds_for("vbq")} == {"Ehresman 2019", "Li 2023", "Wang 2024"}
    assert len(PUBLISHED_THRESHOLDS) == 5
    assert thresholds_for("vbq")[0].flags(3.1) is True and l1[1].flags(130.0) is False


def test_summary_html_holds_the_numbers_notes_and_escapes_the_source(model):
    prediction = model.predict(PATIENT, prevalence=0.1)
    page = prediction_summary_html(
        prediction, model.summary_, synthetic=True, model_source=model.provenance_["source"]
    )
    assert f"{prediction.probability:.1%}" in page
    assert f"{prediction.ci[0]:.1%} to {prediction.ci[1]:.1%}" in page
    assert "not a medical device" in page and "synthetic" in page.lower()
    assert "<script>" not in page and "&lt;script&gt;" in page


def test_threshold_table_compares_l1_hu_with_pickhardt_and_the_average_with_youden():
    from ovcf_core.model.thresholds import threshold_table

    table = threshold_table(3.1, 150.0, 105.0, {"vbq": 3.4, "hu": 140.0}).set_index("cut-off")
    assert table.loc["VBQ 3.0 (Ehresman 2019)", "this patient"] == "risk side"
    assert table.loc["VBQ 3.32 (Wang 2024)", "this patient"] == "not risk side"
    assert table.loc["L1 HU 110 (Pickhardt et al., Ann Intern Med 2013)", "this patient"] == "risk side"
    assert table.loc["Average HU 140 (Youden)", "this patient"] == "not risk side"
    assert table.loc["VBQ score 3.4 (Youden)", "this patient"] == "not risk side"
    no_l1 = threshold_table(3.1, 150.0, None, {}).set_index("cut-off")
    assert no_l1.loc["L1 HU 160 (Pickhardt et al., Ann Intern Med 2013)", "this patient"] == "not entered"
