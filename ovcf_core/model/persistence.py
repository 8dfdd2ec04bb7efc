"""The model file: plain JSON, read and written.

It holds the coefficients, covariance, features with units, training summary, provenance, created date and
schema version. Loading parses JSON only and checks every field, so a model file can never execute code;
pickle/joblib files are refused, whatever their name.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE, __version__
from ovcf_core.errors import InputError
from ovcf_core.model.risk_model import INTERCEPT, SEX, RiskModel, TrainingSummary, term_name, variable_info
from ovcf_core.output import write_json

FORMAT = "ovcf-risk-model"
SCHEMA_VERSION = 1
MAX_BYTES = 2_000_000  # a model file is a few kB; anything this large is not one
MAX_TEXT = 300  # longest free-text field (source, created) kept from a file


def model_to_dict(model: RiskModel) -> dict[str, Any]:
    """Convert a fitted or loaded model to the model file's content: all needed to predict and say what it is.

    Returns
    -------
    dict
        JSON-ready values: format, schema version, terms, coefficients, covariance, features with units
        and training ranges, training summary, provenance.

    Raises
    ------
    AnalysisError
        When the model is not fitted.
    """
    model.check_is_fitted()
    features = []
    for variable in model.variables:
        info = variable_info(variable)
        info["term"] = term_name(variable)
        info["role"] = "feature" if variable in model.features_ else "adjustment"
        info["training_range"] = list(model.ranges_[variable]) if variable in model.ranges_ else None
        features.append(info)
    provenance = dict(model.provenance_)
    return {
        "format": FORMAT,
        "schema_version": SCHEMA_VERSION,
        "created": provenance.get("created"),
        "software": {"ovcf_core": __version__},
        "note": RESEARCH_NOTE,
        "synthetic_note": SYNTHETIC_NOTE if provenance.get("synthetic") else None,
        "params": {
            "features": list(model.features_),
            "adjust": list(model.adjust_),
            "n_bootstrap": model.n_bootstrap,
            "random_state": model.random_state,
        },
        "features": features,
        "terms": list(model.terms_),
        "coefficients": {t: float(b) for t, b in zip(model.terms_, model.coef_, strict=True)},
        "covariance": [[float(v) for v in row] for row in model.cov_],
        "training_means": {t: float(m) for t, m in zip(model.terms_, model.means_, strict=True)},
        "n_cases": model.n_cases_,
        "n_controls": model.n_controls_,
        "training_summary": model.summary_.to_dict(),
        "provenance": provenance,
    }


def save_model(model: RiskModel, path: str | Path) -> Path:
    """Write `model` to `path` as a JSON file (NaN written as null), whole or not at all; return the path.

    Raises
    ------
    OutputError
        When the file cannot be written; AnalysisError when the model is not fitted.
    """
    target = Path(path)
    write_json(model_to_dict(model), target)
    return target


def _reject_constant(name: str) -> float:
    """Refuse NaN and Infinity, which are not numbers a model file may hold (a json.loads hook)."""
    raise InputError(
        f"the model file holds the non-number '{name}'; coefficients and covariance must be finite numbers"
    )


def _finite(value: Any, what: str) -> float:
    """Return a finite number from the file, or raise an InputError naming the field."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(float(value)):
        raise InputError(f"model file: {what} must be a finite number, not {str(value)[:40]!r}")
    return float(value)


def _count(value: Any, what: str, minimum: int = 1) -> int:
    """Return a whole number of at least `minimum` from the file, or raise an InputError naming the field."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InputError(f"model file: {what} must be a whole number of at least {minimum}")
    return value


def check_schema_version(version: object, supported: int, where: str, remedy: str = "") -> None:
    """Refuse a saved file whose `schema_version` this version of the tool cannot read.

    One check, one message for the model file and the project file alike.

    Parameters
    ----------
    version : object
        The file's `schema_version` field as read (None when absent); shown cut to 20 characters.
    supported : int
        The one version this code reads.
    where : str
        What the message starts with, naming the file and field (e.g. "model file:").
    remedy : str
        What the user can do, added in parentheses when given.

    Raises
    ------
    InputError
        If `version` is not `supported`.
    """
    if version != supported:
        hint = f" ({remedy})" if remedy else ""
        raise InputError(
            f"{where} schema_version {str(version)[:20]} is not supported; "
            f"this version reads schema_version {supported}{hint}"
        )


def _names(value: Any, what: str) -> list[str]:
    """Return a list of short variable names from the file, or raise an InputError naming the field."""
    if not isinstance(value, list) or not all(isinstance(v, str) and 0 < len(v) < 40 for v in value):
        raise InputError(f"model file: {what} must be a list of variable names")
    return value


def model_from_dict(data: Any) -> RiskModel:
    """Rebuild a fitted RiskModel from a parsed model file, after checking every field.

    Parameters
    ----------
    data
        The parsed JSON (anything: it is checked before use).

    Returns
    -------
    RiskModel
        A model ready to predict.

    Raises
    ------
    InputError
        Naming the field, when the data is not an ovcf risk model of this schema version, a field is
        missing or of the wrong kind, a number is not finite, or the covariance is not a symmetric
        positive-definite matrix of the right size.
    """
    if not isinstance(data, Mapping):
        raise InputError("model file: expected a JSON object (an ovcf risk model), found something else")
    required = (
        "format",
        "schema_version",
        "params",
        "features",
        "terms",
        "coefficients",
        "covariance",
        "training_means",
        "n_cases",
        "n_controls",
    )
    missing = [k for k in required if k not in data]
    if "format" in data and data["format"] != FORMAT:
        raise InputError(f"model file: not an ovcf risk model (its 'format' is not '{FORMAT}')")
    if "format" not in data:
        raise InputError(f"model file: not an ovcf risk model; missing field(s) {', '.join(missing)}")
    check_schema_version(
        data.get("schema_version"), SCHEMA_VERSION, "model file:", "retrain the model with `ovcf train`"
    )
    if missing:
        raise InputError(f"model file: missing field(s) {', '.join(missing)}")
    params = data["params"]
    if not isinstance(params, Mapping):
        raise InputError("model file: 'params' must be an object")
    model = RiskModel(
        features=tuple(_names(params.get("features"), "params.features")),
        adjust=tuple(_names(params.get("adjust", []), "params.adjust")),
        n_bootstrap=_count(params.get("n_bootstrap", 0), "params.n_bootstrap", 0),
        random_state=_count(params.get("random_state", 0), "params.random_state", 0),
    )
    model.features_, model.adjust_ = model._checked_params()
    terms = (INTERCEPT, *(term_name(v) for v in model.variables))
    if _names(data["terms"], "terms") != list(terms):
        raise InputError(
            f"model file: terms {data['terms']} do not match its variables (expected {list(terms)})"
        )
    coefficients, means = data["coefficients"], data["training_means"]
    for name, mapping in (("coefficients", coefficients), ("training_means", means)):
        if not isinstance(mapping, Mapping):
            raise InputError(f"model file: '{name}' must be an object of term: number")
        absent = [t for t in terms if t not in mapping]
        if absent:
            raise InputError(f"model file: {name} missing for feature(s) {', '.join(absent)}")
    k = len(terms)
    cov = data["covariance"]
    if (
        not isinstance(cov, list)
        or len(cov) != k
        or not all(isinstance(r, list) and len(r) == k for r in cov)
    ):
        raise InputError(f"model file: covariance must be a {k} x {k} matrix (one row and column per term)")
    model.terms_ = terms
    model.coef_ = np.array([_finite(coefficients[t], f"coefficient of {t}") for t in terms])
    model.means_ = np.array([_finite(means[t], f"training mean of {t}") for t in terms])
    model.cov_ = np.array([[_finite(v, "covariance entry") for v in row] for row in cov])
    if not np.allclose(model.cov_, model.cov_.T, rtol=1e-6, atol=1e-12) or np.any(np.diag(model.cov_) < 0):
        raise InputError("model file: covariance is not a symmetric matrix with non-negative variances")
    _check_positive_definite(model.cov_)
    model.n_cases_ = _count(data["n_cases"], "n_cases")
    model.n_controls_ = _count(data["n_controls"], "n_controls")
    model.ranges_ = _ranges(data.get("features"), model)
    model.provenance_ = _provenance(data.get("provenance"), data.get("created"))
    model.summary_ = _summary(data.get("training_summary"))
    return model


def _check_positive_definite(cov: np.ndarray) -> None:
    """Refuse a covariance that is not positive definite: it would give zero-width or imaginary CIs.

    A fitted logistic model's covariance is the inverse of its information matrix, so every eigenvalue is
    positive; one at or below 1e-12 of the largest means the file was edited or the fit had not converged.
    """
    eigenvalues = np.linalg.eigvalsh((cov + cov.T) / 2)
    largest = float(eigenvalues.max())
    if largest <= 0 or float(eigenvalues.min()) <= 1e-12 * largest:
        raise InputError(
            "model file: covariance is not positive definite (smallest eigenvalue "
            f"{float(eigenvalues.min()):.3g}): the confidence intervals would be wrong; refit the model"
        )


def _ranges(features: Any, model: RiskModel) -> dict[str, tuple[float, float]]:
    """Return the training ranges of the numeric variables from the file's feature list."""
    if not isinstance(features, list) or not all(isinstance(f, Mapping) for f in features):
        raise InputError("model file: 'features' must be a list of objects (name, unit, training_range)")
    by_name = {f.get("name"): f for f in features}
    absent = [v for v in model.variables if v not in by_name]
    if absent:
        raise InputError(f"model file: missing feature(s) {', '.join(absent)}")
    ranges = {}
    for variable in model.variables:
        if variable == SEX:
            continue
        bounds = by_name[variable].get("training_range")
        if not isinstance(bounds, list) or len(bounds) != 2:
            raise InputError(f"model file: feature '{variable}' needs a training_range [low, high]")
        low, high = (_finite(b, f"training range of {variable}") for b in bounds)
        ranges[variable] = (low, high)
    return ranges


def _provenance(value: Any, created: Any) -> dict[str, Any]:
    """Return where the model came from: source, synthetic flag and created date (short text only)."""
    if not isinstance(value, Mapping):
        raise InputError("model file: 'provenance' must be an object (source, synthetic)")
    out: dict[str, Any] = {}
    for key, item in value.items():
        if isinstance(key, str) and isinstance(item, (str, int, float, bool)) and len(key) < 40:
            out[key] = item[:MAX_TEXT] if isinstance(item, str) else item
    out["synthetic"] = bool(out.get("synthetic", False))
    if isinstance(created, str):
        out.setdefault("created", created[:MAX_TEXT])
    return out


def _summary(value: Any) -> TrainingSummary:
    """Rebuild and type-check the training summary."""
    if not isinstance(value, Mapping):
        raise InputError("model file: 'training_summary' must be an object")
    try:
        clean = {k: (float("nan") if v is None else v) for k, v in value.items()}
        summary = TrainingSummary.from_dict(clean)
    except (KeyError, TypeError, ValueError) as exc:
        raise InputError(f"model file: training_summary is incomplete or malformed ({exc})") from None
    for name in ("n_cases", "n_controls", "n_excluded", "n_bootstrap"):
        if isinstance(getattr(summary, name), bool) or not isinstance(getattr(summary, name), int):
            raise InputError(f"model file: training_summary.{name} must be a whole number")
    return summary


def load_model(path: str | Path | bytes, *, name: str | None = None) -> RiskModel:
    """Read a JSON model file (a path or the bytes of an upload) into a fitted RiskModel.

    Only JSON is parsed; a pickle/joblib or any other file is refused with a clear InputError.

    Parameters
    ----------
    path
        The model file, or the bytes of an uploaded one.
    name
        The name used in messages (default: the file's name, or "uploaded model" for bytes).

    Returns
    -------
    RiskModel
        As `model_from_dict`.

    Raises
    ------
    InputError
        Starting with the file's name, when the file is missing, a folder, empty, larger than 2 MB, a
        pickle/joblib or other binary file, not valid JSON, or not a valid model file (see
        `model_from_dict`).
    """
    if isinstance(path, bytes):
        raw, display = path, name or "uploaded model"
    else:
        file = Path(path)
        display = name or file.name
        try:
            if file.stat().st_size > MAX_BYTES:
                raise InputError(f"{display}: too large to be a model file (a model file is a few kB)")
            raw = file.read_bytes()
        except FileNotFoundError:
            raise InputError(f"{display}: model file not found") from None
        except IsADirectoryError:
            raise InputError(f"{display}: is a folder, not a model file") from None
    if len(raw) > MAX_BYTES:
        raise InputError(f"{display}: too large to be a model file (a model file is a few kB)")
    if not raw.strip():
        raise InputError(f"{display}: the file is empty, not a model file (model files are JSON)")
    if raw[:1] == b"\x80" or raw[:2] == b"PK":
        raise InputError(
            f"{display}: looks like a pickle/joblib file; model files are JSON and pickles are never loaded"
        )
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text, parse_constant=_reject_constant)
    except UnicodeDecodeError:
        raise InputError(
            f"{display}: not a JSON model file (binary content; pickle/joblib is never loaded)"
        ) from None
    except json.JSONDecodeError as exc:
        raise InputError(f"{display}: not a JSON model file ({exc.msg} at line {exc.lineno})") from None
    except RecursionError:
        raise InputError(f"{display}: not a model file (JSON nested too deeply)") from None
    except InputError as exc:
        raise InputError(f"{display}: {exc}") from None
    try:
        return model_from_dict(data)
    except InputError as exc:
        raise InputError(f"{display}: {exc}") from None
