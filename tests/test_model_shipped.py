"""The shipped default model: JSON and model card agree, no pickle is shipped, it is labelled synthetic,
and retraining on the sample cohort reproduces it (so it cannot silently drift from the sample data)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import contract_problems, run_cli

from ovcf_core import paths
from ovcf_core.io import read_cohort
from ovcf_core.model import RiskModel
from ovcf_core.model.shipped import MODEL_CARD, load_model_card, load_shipped_model


@pytest.fixture(scope="module")
def shipped():
    return load_shipped_model()


def test_shipped_model_is_labelled_synthetic_everywhere(shipped):
    card = load_model_card()
    assert shipped.is_synthetic and card["synthetic"] is True
    assert "synthetic" in card["trained_on"] and "not a medical device" in card["note"]
    assert json.loads(paths.DEFAULT_MODEL.read_text())["synthetic_note"]


def test_retraining_on_the_sample_cohort_reproduces_the_shipped_model(shipped):
    table, _ = read_cohort(paths.SAMPLE_COHORT)
    refit = RiskModel().fit(table)
    stale = "models/ is out of date with sample_data/cohort.csv: run `python -m ovcf_core.model.shipped`"
    np.testing.assert_allclose(refit.coef_, shipped.coef_, rtol=1e-8, err_msg=stale)
    np.testing.assert_allclose(refit.cov_, shipped.cov_, rtol=1e-6, err_msg=stale)
    assert refit.summary_.auc_corrected == pytest.approx(shipped.summary_.auc_corrected, abs=1e-9)


def test_model_card_matches_the_json_model_and_no_pickle_is_shipped(shipped):
    assert sorted(p.name for p in paths.MODELS.iterdir()) == ["default_model.json", "model_card.json"]
    card = json.loads(MODEL_CARD.read_text())
    assert card["terms"] == list(shipped.terms_)
    assert card["performance"]["auc"] == pytest.approx(shipped.summary_.auc)
    assert (card["n_cases"], card["n_controls"]) == (shipped.n_cases_, shipped.n_controls_)


def test_predict_without_model_option_uses_the_shipped_model(shipped):
    done = run_cli(
        "predict", "--vbq", "3.4", "--hu", "105", "--age", "71", "--sex", "F", "--bmi", "23.5", "--json", "-"
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout)
    assert contract_problems("predict", out) == []
    expected = shipped.predict({"vbq": 3.4, "hu": 105, "age": 71, "sex": "F", "bmi": 23.5})
    assert out["probability"] == pytest.approx(expected.probability, rel=1e-12)
    assert out["model"]["synthetic"] is True and out["prevalence"] is None
