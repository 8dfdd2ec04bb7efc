"""One patient's fracture probability: 95% CI by the delta method, prior correction to a prevalence.

A model fitted on a case-control sample estimates risk at the sample's own case fraction. Given a
prevalence pi, the intercept is prior-corrected (King & Zeng 2001; DESIGN §4):

    logit(p) = x'b + log(pi / (1 - pi)) - log(n_cases / n_controls)

The CI comes from the coefficient covariance on the logit scale, var(x'b) = x' Cov(b) x, transformed to
probabilities; the prevalence is taken as known. Every input is checked against its plausible range
(`schema`). Values outside the training data's range are extrapolation: the prediction is still computed
(the JSON keeps it), but `extrapolated` names each such value and `edge` holds the estimate with those values
moved to the edge of the data, so a reader is shown that bound (`headline`) rather than a point estimate such
as "100.0% (95% CI 100.0% to 100.0%)" that the data cannot support.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE
from ovcf_core.constants import Z95
from ovcf_core.errors import InputError
from ovcf_core.model.variables import expit, variable_info
from ovcf_core.schema import AGE, SEX, SEX_VALUES

if TYPE_CHECKING:
    from ovcf_core.model.risk_model import RiskModel


# Default prevalence for the calculator. Wang et al., JAMA Netw Open 2021 (China Osteoporosis Prevalence
# Study): prevalence of any radiographic vertebral fracture among Chinese adults aged 40 and over was
# 10.5% (95% CI 9.0-12.0) in men and 9.7% (8.2-11.1) in women; 10% is the rounded midpoint. It is NOT the
# prevalence of surgically treated OVCF (the paper's cases), so users should set their own population's.
DEFAULT_PREVALENCE = 0.10
PREVALENCE_SOURCE = (
    "Default 10%: prevalence of any radiographic vertebral fracture in Chinese adults aged 40 and over "
    "(men 10.5%, 95% CI 9.0–12.0; women 9.7%, 8.2–11.1), Wang et al., JAMA Netw Open 2021 (China "
    "Osteoporosis Prevalence Study). It is not the prevalence of surgically treated OVCF; set your own."
)


def prior_correction(prevalence: float, n_cases: int, n_controls: int) -> float:
    """Compute King & Zeng's (2001) intercept offset, log(pi/(1-pi)) - log(n_cases/n_controls).

    Parameters
    ----------
    prevalence
        pi, the population's prevalence, strictly between 0 and 1.
    n_cases, n_controls
        The training sample's counts, whose ratio the raw intercept reflects.

    Returns
    -------
    float
        The offset added to the log-odds.
    """
    return math.log(prevalence / (1.0 - prevalence)) - math.log(n_cases / n_controls)


def check_prevalence(prevalence: Any) -> float | None:
    """Check a prevalence typed by a user.

    Parameters
    ----------
    prevalence
        A number or its text, or None for no correction.

    Returns
    -------
    float or None
        The prevalence, strictly between 0 and 1, or None.

    Raises
    ------
    InputError
        When it is not a number, or not strictly between 0 and 1 (the message shows 0.10 for 10%).
    """
    if prevalence is None:
        return None
    try:
        value = float(prevalence)
    except (TypeError, ValueError):
        raise InputError(f"prevalence '{prevalence}' is not a number (use a fraction such as 0.10)") from None
    if not 0.0 < value < 1.0:
        raise InputError(
            f"prevalence {value:g} must be a fraction strictly between 0 and 1 (e.g. 0.10 for 10%)"
        )
    return value


def _number(name: str, value: Any) -> float:
    """Parse a user's entry as a finite float (a decimal comma is accepted), or refuse it naming `name`."""
    if isinstance(value, bool):
        raise InputError(f"{name}: {value!r} is not a number")
    try:
        number = float(str(value).strip().replace(",", ".")) if isinstance(value, str) else float(value)
    except (TypeError, ValueError):
        raise InputError(f"{name}: '{value}' is not a number") from None
    if not math.isfinite(number):
        raise InputError(f"{name}: {value} is not a finite number")
    return number


def check_patient(patient: Mapping[str, Any], variables: tuple[str, ...]) -> dict[str, float | str]:
    """Parse and check each model variable of one patient against its plausible range.

    Parameters
    ----------
    patient
        Variable name to value as entered (numbers or text; sex as F/M in any case).
    variables
        The model's variables, all required.

    Returns
    -------
    dict
        Variable to a float, or to "F"/"M" for sex.

    Raises
    ------
    InputError
        Naming the variable, its unit and range, when a value is missing, not a number, or implausible.
    """
    values: dict[str, float | str] = {}
    for variable in variables:
        raw = patient.get(variable)
        info = variable_info(variable)
        if (
            raw is None
            or (isinstance(raw, str) and not raw.strip())
            or (isinstance(raw, float) and math.isnan(raw))
        ):
            raise InputError(f"{info['label']} ({variable}) is required by this model")
        if variable == SEX:
            sex = SEX_VALUES.get(str(raw).strip().lower())
            if sex is None:
                raise InputError(f"sex: '{raw}' is not a sex; use F or M")
            values[SEX] = sex
            continue
        number = _number(info["label"], raw)
        low, high = info["plausible_range"]
        if not low <= number <= high:
            unit = "" if info["unit"] == "ratio" else f" {info['unit']}"
            raise InputError(
                f"{info['label']} {number:g}{unit} is outside the plausible range {low:g} to {high:g}{unit}"
            )
        values[variable] = number
    return values


def percent(probability: float) -> str:
    """Format a probability as a percentage with one decimal, never rounded to a certain 0% or 100%."""
    if probability < 0.0005:
        return "<0.1%"
    if probability > 0.9995:
        return ">99.9%"
    return f"{probability:.1%}"


@dataclass(frozen=True)
class Extrapolation:
    """One input outside the range of the model's training data, and the edge of that range."""

    variable: str
    value: float
    training_range: tuple[float, float]

    def shown(self, value: float) -> str:
        """Write a value of this variable as a reader would, e.g. 'Average HU 5 HU', 'VBQ score 8'."""
        info = variable_info(self.variable)
        unit = "" if info["unit"] in ("ratio", "") else f" {info['unit']}"
        return f"{info['label']} {value:.4g}{unit}"

    @property
    def edge(self) -> float:
        """The nearest end of the training range."""
        low, high = self.training_range
        return low if self.value < low else high

    def to_dict(self) -> dict[str, Any]:
        """Return the JSON form: value, training range and the edge used for the bound."""
        return {"value": self.value, "training_range": list(self.training_range), "edge": self.edge}


@dataclass(frozen=True)
class Estimate:
    """A probability with its 95% CI and the log-odds it comes from."""

    probability: float
    ci: tuple[float, float]
    logit: float
    se_logit: float


@dataclass(frozen=True)
class Prediction:
    """A patient's probability of OVCF with its 95% CI, how it was corrected, and why it is what it is.

    `contributions` are each term's b_j * (x_j - training mean of x_j) on the log-odds scale: how far this
    patient's value moves the log-odds from an average training patient's.
    """

    probability: float
    ci: tuple[float, float]
    logit: float
    se_logit: float
    prevalence: float | None
    sample_case_fraction: float
    offset: float
    features: dict[str, float | str]
    contributions: dict[str, float]
    warnings: tuple[str, ...] = ()
    model: dict[str, Any] = field(default_factory=dict)
    extrapolated: tuple[Extrapolation, ...] = ()
    edge: Estimate | None = None  # the estimate with the out-of-range inputs at the data's edge

    @property
    def edge_direction(self) -> str | None:
        """'above' or 'below' when the model puts this patient beyond the edge estimate, else None.

        The log-odds are linear in every input, so moving the out-of-range inputs from the edge back to the
        patient's values shifts the log-odds by sum_j b_j (x_j - edge_j); its sign says which side of the
        edge estimate the model's own extrapolation lies (None when there is no edge or the shift is 0).
        """
        if self.edge is None:
            return None
        shift = self.logit - self.edge.logit
        if shift > 1e-12:
            return "above"
        if shift < -1e-12:
            return "below"
        return None

    def headline(self) -> str:
        """Say in one line a clinician cannot misread what the model estimates for this patient.

        That is the estimate with its CI or, outside the model's data, no point estimate but the estimate
        at the data's edge and on which side of it the patient lies.
        """
        at = (
            f"at a prevalence of {percent(self.prevalence)}"
            if self.prevalence is not None
            else f"at the training sample's case fraction of {percent(self.sample_case_fraction)}"
        )
        if not self.extrapolated or self.edge is None:
            low, high = self.ci
            return (
                f"Probability of OVCF: {percent(self.probability)} "
                f"(95% CI {percent(low)} to {percent(high)}) {at}"
            )
        outside = "; ".join(
            f"{e.shown(e.value)}, data {e.training_range[0]:.4g} to {e.training_range[1]:.4g}"
            for e in self.extrapolated
        )
        edges = ", ".join(e.shown(e.edge) for e in self.extrapolated)
        p, (low, high) = self.edge.probability, self.edge.ci
        side = {"above": "higher than", "below": "lower than"}.get(
            self.edge_direction or "", "different from"
        )
        return (
            f"No estimate: outside the model's data ({outside}). At the edge of the data ({edges}) the "
            f"probability of OVCF is {percent(p)} (95% CI {percent(low)} to {percent(high)}) {at}; the model "
            f"would put this patient {side} that, but it has no patients there to support a number"
        )

    def to_dict(self) -> dict[str, Any]:
        """Return the `ovcf predict` JSON (DESIGN §4) plus the details behind it."""
        return {
            "probability": self.probability,
            "ci": list(self.ci),
            "prevalence": self.prevalence,
            "features": dict(self.features),
            "model": dict(self.model),
            "logit": self.logit,
            "se_logit": self.se_logit,
            "sample_case_fraction": self.sample_case_fraction,
            "prior_offset": self.offset,
            "contributions": dict(self.contributions),
            "warnings": list(self.warnings),
            "extrapolated": {e.variable: e.to_dict() for e in self.extrapolated},
            "edge_estimate": None
            if self.edge is None
            else {"probability": self.edge.probability, "ci": list(self.edge.ci)},
            "note": RESEARCH_NOTE,
        }


def _model_info(model: RiskModel) -> dict[str, Any]:
    """Describe the model a prediction came from (`RiskModel.describe`), its date and synthetic label."""
    info = {**model.describe(), "created": model.provenance_.get("created")}
    if info["synthetic"]:
        info["note"] = SYNTHETIC_NOTE
    return info


def range_warnings(model: RiskModel, values: Mapping[str, float | str]) -> tuple[str, ...]:
    """Warn about values outside the range seen in training (the model extrapolates there).

    Parameters
    ----------
    model
        The fitted model (its training ranges).
    values
        The patient's checked values (`check_patient`).

    Returns
    -------
    tuple of str
        One line per value outside its training range, and one for an age below 50 (outside the
        population the model is for).
    """
    out = []
    for variable, (low, high) in model.ranges_.items():
        value = values.get(variable)
        if isinstance(value, float) and not low <= value <= high:
            out.append(
                f"{variable} = {value:g} is outside the training data's range {low:g} to {high:g}: "
                "the model extrapolates"
            )
    age = values.get(AGE)
    if isinstance(age, float) and age < 50:
        out.append(f"age {age:g} is under 50; the model is meant for patients aged 50 and over")
    return tuple(out)


def _estimate(model: RiskModel, values: Mapping[str, float | str], offset: float) -> Estimate:
    """Estimate the probability with its delta-method 95% CI for checked input values."""
    x = _design_row(model, values)
    with np.errstate(over="ignore", invalid="ignore"):
        logit = float(x @ model.coef_) + offset
        variance = float(x @ model.cov_ @ x)
    if not (math.isfinite(logit) and math.isfinite(variance)):
        raise InputError(
            "the model's coefficients give no finite log-odds for this patient (the model file holds "
            "extreme values); refit the model"
        )
    se = math.sqrt(max(variance, 0.0))
    low, high = (float(expit(logit + s * Z95 * se)) for s in (-1.0, 1.0))
    return Estimate(float(expit(logit)), (low, high), logit, se)


def _design_row(model: RiskModel, values: Mapping[str, float | str]) -> np.ndarray:
    """Build the design row: the intercept then each variable (sex as 1 = male), in the model's term order."""
    return np.array(
        [1.0, *(float(values[v] == "M") if v == SEX else float(values[v]) for v in model.variables)]
    )


def extrapolations(model: RiskModel, values: Mapping[str, float | str]) -> tuple[Extrapolation, ...]:
    """List the inputs outside the range of the model's training data, in the model's variable order.

    Parameters
    ----------
    model
        The fitted model (its training ranges; sex has none).
    values
        The patient's checked values.

    Returns
    -------
    tuple of Extrapolation
        Each out-of-range value with its training range and the edge it is moved to.
    """
    out = []
    for variable, (low, high) in model.ranges_.items():
        value = values.get(variable)
        if isinstance(value, float) and not low <= value <= high:
            out.append(Extrapolation(variable, value, (float(low), float(high))))
    return tuple(out)


def predict(model: RiskModel, patient: Mapping[str, Any], prevalence: float | None = None) -> Prediction:
    """Predict one patient's probability with a 95% CI (delta method on the logit scale).

    Inputs outside the training range are listed in `extrapolated`, and `edge` is the estimate with them
    moved to the edge of the training range.

    Parameters
    ----------
    model
        A fitted or loaded model.
    patient
        Variable name to value as entered; names are matched case-insensitively.
    prevalence
        Prior-correct the intercept to this prevalence (King & Zeng 2001); None keeps the training
        sample's case fraction.

    Returns
    -------
    Prediction
        The probability, its CI, how it was corrected, each term's contribution and the warnings.

    Raises
    ------
    InputError
        When a variable is missing, not a number or implausible, or the prevalence is not a fraction.
    AnalysisError
        When the model is not fitted.
    """
    model.check_is_fitted()
    prevalence = check_prevalence(prevalence)
    values = check_patient({str(k).strip().lower(): v for k, v in patient.items()}, model.variables)
    offset = 0.0 if prevalence is None else prior_correction(prevalence, model.n_cases_, model.n_controls_)
    estimate = _estimate(model, values, offset)
    outside = extrapolations(model, values)
    edge = None
    if outside:
        at_edge = {**values, **{e.variable: e.edge for e in outside}}
        edge = _estimate(model, at_edge, offset)
    x = _design_row(model, values)
    contributions = {
        term: float(model.coef_[j] * (x[j] - model.means_[j])) for j, term in enumerate(model.terms_) if j > 0
    }
    return Prediction(
        probability=estimate.probability,
        ci=estimate.ci,
        logit=estimate.logit,
        se_logit=estimate.se_logit,
        prevalence=prevalence,
        sample_case_fraction=model.n_cases_ / (model.n_cases_ + model.n_controls_),
        offset=offset,
        features=values,
        contributions=contributions,
        warnings=range_warnings(model, values),
        model=_model_info(model),
        extrapolated=outside,
        edge=edge,
    )
