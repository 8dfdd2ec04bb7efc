"""The shipped default model: trained on the synthetic sample cohort, saved as JSON with a model card.

JSON is the only form the tool writes or loads: no pickle is shipped.

Retrain it with `python -m ovcf_core.model.shipped` after the sample cohort changes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE, paths
from ovcf_core.errors import InputError
from ovcf_core.model.persistence import load_model, save_model
from ovcf_core.model.prediction import DEFAULT_PREVALENCE, PREVALENCE_SOURCE
from ovcf_core.model.risk_model import RiskModel

MODEL_CARD = paths.MODELS / "model_card.json"


def build_model_card(model: RiskModel) -> dict[str, Any]:
    """Describe the shipped model: what it is, what it was trained on, how well it did, what it is not for.

    Parameters
    ----------
    model
        The fitted default model.

    Returns
    -------
    dict
        The model card, written as model_card.json beside the model.
    """
    s = model.summary_
    return {
        "name": "OVCF risk model (VBQ + average HU, adjusted for age, sex, BMI)",
        "model_file": paths.DEFAULT_MODEL.name,
        "created": model.provenance_.get("created"),
        "trained_on": f"sample_data/{paths.SAMPLE_COHORT.name} (synthetic)",
        "synthetic": True,
        "synthetic_note": SYNTHETIC_NOTE,
        "note": RESEARCH_NOTE,
        "method": "logistic regression (maximum likelihood, stats.logistic.fit_logit); 95% CI by the delta "
        "method on the logit scale; intercept prior-corrected to a prevalence (King & Zeng 2001)",
        "terms": list(model.terms_),
        "n_cases": s.n_cases,
        "n_controls": s.n_controls,
        "performance": {
            "auc": s.auc,
            "auc_ci_delong": list(s.auc_ci),
            "auc_optimism_corrected": s.auc_corrected,
            "calibration_slope_optimism_corrected": s.slope_corrected,
            "brier": s.brier,
            "bootstrap_resamples": s.n_bootstrap,
            "seed": s.seed,
        },
        "default_prevalence": DEFAULT_PREVALENCE,
        "default_prevalence_source": PREVALENCE_SOURCE,
        "intended_use": "Demonstration of the method of Zhan et al. (BMC Musculoskelet Disord 2024) on "
        "synthetic data; retrain on your own cohort (`ovcf train`) before any research use.",
        "limitations": [
            "Trained on synthetic patients: its numbers describe the generator, not real patients.",
            "Case-control training data: probabilities need a prevalence to be interpretable.",
            "VBQ depends on MRI field strength and sequence; HU on the CT scanner and protocol.",
        ],
    }


def retrain_shipped_model(cohort: Path = paths.SAMPLE_COHORT, models: Path = paths.MODELS) -> RiskModel:
    """Fit the default model on the sample cohort; write default_model.json and model_card.json.

    Parameters
    ----------
    cohort
        The synthetic sample cohort to train on.
    models
        The folder the model file and its card are written to (created if missing).

    Returns
    -------
    RiskModel
        The fitted model.

    Raises
    ------
    AnalysisError
        When the cohort cannot support the model (too few cases or controls, separation).
    """
    from ovcf_core.io import read_cohort

    table, _ = read_cohort(cohort)
    model = RiskModel().fit(table, source=f"sample_data/{Path(cohort).name}", synthetic=True)
    models.mkdir(parents=True, exist_ok=True)
    save_model(model, models / paths.DEFAULT_MODEL.name)
    card = build_model_card(model)
    (models / MODEL_CARD.name).write_text(json.dumps(card, indent=2) + "\n", encoding="utf-8")
    return model


def load_shipped_model() -> RiskModel:
    """Load the shipped default model from its JSON file.

    Returns
    -------
    RiskModel
        The fitted model (trained on synthetic data).

    Raises
    ------
    InputError
        When the model file is missing or malformed.
    """
    return load_model(paths.DEFAULT_MODEL)


def load_model_card() -> dict[str, Any]:
    """Load the shipped model's card.

    Returns
    -------
    dict
        The card (see `build_model_card`).

    Raises
    ------
    InputError
        When model_card.json is missing.
    """
    try:
        return json.loads(MODEL_CARD.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{MODEL_CARD.name}: the shipped model card is missing") from None


if __name__ == "__main__":
    fitted = retrain_shipped_model()
    print(f"wrote {paths.DEFAULT_MODEL} and {MODEL_CARD.name}: AUC {fitted.summary_.auc:.3f}")
