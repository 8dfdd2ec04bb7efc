"""The risk model: a logistic model of OVCF on VBQ and HU, adjusted for age, sex and BMI.

Also its prediction for one patient with a confidence interval and prevalence correction, and its JSON
model file.

Research tool, not a medical device.
"""

from ovcf_core.model.persistence import SCHEMA_VERSION, load_model, model_from_dict, model_to_dict, save_model
from ovcf_core.model.prediction import DEFAULT_PREVALENCE, PREVALENCE_SOURCE, Prediction, predict
from ovcf_core.model.risk_model import RiskModel, TrainingSummary

__all__ = [
    "DEFAULT_PREVALENCE",
    "PREVALENCE_SOURCE",
    "SCHEMA_VERSION",
    "Prediction",
    "RiskModel",
    "TrainingSummary",
    "load_model",
    "model_from_dict",
    "model_to_dict",
    "predict",
    "save_model",
]
