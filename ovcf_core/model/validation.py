"""Validate a risk model on a cohort with the outcome: is this probability right for my population.

Scores the cohort exactly as `ovcf predict` would (the same prior correction to `prevalence`), then reports
discrimination (AUC with DeLong CI; the model's ROC next to each single marker on the same patients, with
DeLong comparisons), calibration (the two calibration GLMs, Brier and scaled Brier, observed/expected,
Hosmer–Lemeshow, a smoothed curve with ICI/E50/E90) and clinical utility (a decision curve). Patients
missing a model variable are counted and listed by spreadsheet row (DESIGN §4b `ovcf validate`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE
from ovcf_core.constants import MODEL_SEED
from ovcf_core.errors import InputError
from ovcf_core.model.calibration import (
    CalibrationFit,
    HosmerLemeshow,
    SmoothCalibration,
    ValProbCalibration,
    calibration_glms,
    grouped_calibration,
    hosmer_lemeshow,
    smoothed_calibration,
    val_prob_calibration,
)
from ovcf_core.model.decision_curve import DecisionCurve, decision_curve
from ovcf_core.model.variables import expit
from ovcf_core.schema import OUTCOME, PATIENT_ID, SEX, SEX_CATEGORIES, Direction, Indicator

if TYPE_CHECKING:
    import pandas as pd

    from ovcf_core.model.risk_model import RiskModel

MIN_PER_CLASS = 2  # DeLong needs two of each; the CLI warns below 10 events
FEW_EVENTS = 100  # below this many cases or controls, validation estimates are imprecise (Collins 2016)
MAX_ROC_POINTS = 1000  # ROC vertices kept per curve for the figures
SPLIT_SEED = MODEL_SEED


@dataclass(frozen=True)
class ScoredCohort:
    """The model's predictions on the usable patients, and who was left out (missing a model variable)."""

    y: np.ndarray
    prediction: np.ndarray
    lp: np.ndarray
    rows: np.ndarray  # the table's index (spreadsheet row numbers) of the patients used
    excluded: tuple[dict[str, Any], ...]
    markers: dict[str, np.ndarray]  # indicator values of the patients used (NaN where missing)
    design: np.ndarray  # the patients' model matrix [1, variables...] (for recalibration's covariance)


def score_cohort(
    model: RiskModel, table: pd.DataFrame, prevalence: float | None = None, *, file: str | None = None
) -> ScoredCohort:
    """Score every patient with the outcome and all model variables, as `ovcf predict` would.

    Parameters
    ----------
    model
        A fitted or loaded model.
    table
        The cohort, with the outcome ``ovcf`` and the model's variables.
    prevalence
        Prior-correct the predictions to this prevalence (as `predict` does); None keeps the model's
        training case fraction.
    file
        The table's file name, for the error messages.

    Returns
    -------
    ScoredCohort
        Outcomes, predictions and log-odds of the usable patients, their indicator values, and the
        patients left out (spreadsheet row, patient id, what was missing).

    Raises
    ------
    InputError
        Naming the column, when the outcome or a model variable is missing or empty, no patient has an
        outcome, fewer than 2 cases or controls are usable, or the prevalence is not a fraction.
    AnalysisError
        When the model is not fitted.
    """
    import pandas as pd

    from ovcf_core.model.prediction import check_prevalence, prior_correction
    from ovcf_core.stats.logistic import design_matrix

    model.check_is_fitted()
    prevalence = check_prevalence(prevalence)
    if OUTCOME not in table.columns:
        raise InputError("no outcome column: validation needs 'ovcf' (1 = fracture, 0 = control)",
                         file=file, column=OUTCOME)  # fmt: skip
    for variable in model.variables:
        if variable not in table.columns:
            raise InputError(f"the model needs '{variable}' and the cohort has no such column",
                             file=file, column=variable)  # fmt: skip
        if table[variable].isna().all():
            raise InputError(f"every patient is missing '{variable}', which the model needs",
                             file=file, column=variable)  # fmt: skip
    y_all = pd.to_numeric(table[OUTCOME], errors="coerce").to_numpy(dtype=float)
    if not np.isfinite(y_all).any():
        raise InputError("no patient has an outcome", file=file, column=OUTCOME)
    offset = 0.0 if prevalence is None else prior_correction(prevalence, model.n_cases_, model.n_controls_)
    design_all = design_matrix(table, model.variables)
    lp_all = design_all @ model.coef_ + offset  # model.linear_predictor, keeping the matrix
    ok = np.isfinite(y_all) & np.isfinite(lp_all)
    excluded = []
    if not ok.all():
        missing_cols = [OUTCOME, *model.variables]
        absent = table.loc[~ok, missing_cols].isna()
        if SEX in absent.columns:  # sex other than F/M counts as missing too
            absent[SEX] |= ~table.loc[~ok, SEX].isin(SEX_CATEGORIES)
        ids = (
            table.loc[~ok, PATIENT_ID] if PATIENT_ID in table.columns else pd.Series(None, index=absent.index)
        )
        for (row, flags), pid in zip(absent.iterrows(), ids, strict=True):
            excluded.append({"row": int(row) if isinstance(row, (int, np.integer)) else str(row),
                             "patient_id": None if pd.isna(pid) else str(pid),
                             "missing": [c for c in missing_cols if flags[c]]})  # fmt: skip
    y, lp = y_all[ok], lp_all[ok]
    n_cases, n_controls = int((y == 1).sum()), int((y == 0).sum())
    if min(n_cases, n_controls) < MIN_PER_CLASS:
        only = "cases" if n_controls < MIN_PER_CLASS else "controls"
        raise InputError(
            f"{n_cases} case(s) and {n_controls} control(s) among the {len(y)} usable patients: nearly only "
            f"{only}; validation needs at least {MIN_PER_CLASS} of each", file=file, column=OUTCOME,
        )  # fmt: skip
    markers = {}
    for indicator in Indicator:
        column = indicator.column
        if column in table.columns:
            values = pd.to_numeric(table[column], errors="coerce").to_numpy(dtype=float)[ok]
            if np.isfinite(values).sum() > 0:
                markers[column] = values
    rows = table.index.to_numpy()[ok]
    return ScoredCohort(y, expit(lp), lp, rows, tuple(excluded), markers, design_all[ok])


@dataclass(frozen=True)
class MarkerComparison:
    """One marker's AUC (in its clinical direction) beside the model's, on the patients having both."""

    marker: str
    direction: str
    n: int
    auc: float
    auc_ci: tuple[float, float]
    model_auc: float
    z: float
    p_value: float
    fpr: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))
    tpr: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))

    def to_dict(self) -> dict[str, Any]:
        """Return JSON-ready values (the ROC points are left out)."""
        return {
            "marker": self.marker, "direction": self.direction, "n": self.n, "auc": self.auc,
            "auc_ci": list(self.auc_ci), "model_auc": self.model_auc, "z": self.z, "p_value": self.p_value,
        }  # fmt: skip


def _thin(fpr: np.ndarray, tpr: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Keep at most MAX_ROC_POINTS evenly spaced vertices, so a figure of a large cohort stays small."""
    if len(fpr) <= MAX_ROC_POINTS:
        return fpr, tpr
    keep = np.unique(np.linspace(0, len(fpr) - 1, MAX_ROC_POINTS).round().astype(int))
    return fpr[keep], tpr[keep]


def _roc_points(y: np.ndarray, score: np.ndarray, direction: str) -> tuple[np.ndarray, np.ndarray]:
    """Return the (thinned) false- and true-positive rates of the ROC curve, for the figures."""
    from ovcf_core.stats.roc import roc_curve

    curve = roc_curve(y, score, direction)
    return _thin(1 - curve.specificity, curve.sensitivity)


def compare_markers(y: np.ndarray, prediction: np.ndarray, markers: dict[str, np.ndarray]) -> list:
    """Compare each marker's AUC with the model's by DeLong's test, on the patients having the marker.

    Parameters
    ----------
    y
        Outcomes of the scored patients, 1 = fracture.
    prediction
        The model's predictions for them.
    markers
        Indicator column to values (NaN where missing); an indicator is read in its clinical direction.

    Returns
    -------
    list of MarkerComparison
        One per marker with at least 2 cases and 2 controls among the patients having it.
    """
    from ovcf_core.stats.roc import PairedScores, delong_auc, delong_test

    out = []
    for name, values in markers.items():
        indicator = Indicator.from_column(name)
        direction = str(indicator.direction) if indicator is not None else None
        has = np.isfinite(values)
        yy = y[has]
        if min((yy == 1).sum(), (yy == 0).sum()) < MIN_PER_CLASS:
            continue
        result = delong_auc(yy, values[has], direction=direction)
        direction = str(result.direction)
        pair = PairedScores(
            yy, prediction[has], values[has], Direction.HIGHER, result.direction, ("model", name)
        )
        test = delong_test(pair)
        fpr, tpr = _roc_points(yy, values[has], direction)
        out.append(MarkerComparison(name, direction, int(has.sum()), result.auc, result.ci, test.auc_a,
                                    test.z, test.p_value, fpr, tpr))  # fmt: skip
    return out


@dataclass(frozen=True)
class ValidationResult:
    """Everything `ovcf validate` reports about one model on one cohort (DESIGN §4b)."""

    n: int
    n_cases: int
    n_controls: int
    prevalence: float | None
    auc: float
    auc_se: float
    auc_ci: tuple[float, float]
    calibration: CalibrationFit
    brier: float
    brier_scaled: float
    observed_expected: float
    mean_prediction: float
    hosmer_lemeshow: HosmerLemeshow
    smooth: SmoothCalibration
    val_prob: ValProbCalibration
    groups: tuple[dict[str, float], ...]
    decision: DecisionCurve
    markers: tuple[MarkerComparison, ...]
    excluded: tuple[dict[str, Any], ...]
    model_info: dict[str, Any]
    messages: tuple[str, ...]
    roc_fpr: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))
    roc_tpr: np.ndarray = field(repr=False, default_factory=lambda: np.array([]))
    cohort: str = "cohort"
    synthetic: bool = False

    @property
    def n_excluded(self) -> int:
        """Return how many patients were left out for a missing outcome or model variable."""
        return len(self.excluded)

    def to_dict(self) -> dict[str, Any]:
        """Return the `ovcf validate` JSON: the contract's keys first (DESIGN §4b), then the extra ones."""
        cal = self.calibration
        out = {
            "n": self.n,
            "n_cases": self.n_cases,
            "prevalence": self.prevalence,
            "auc": self.auc,
            "auc_ci": list(self.auc_ci),
            "calibration_intercept": cal.intercept,
            "calibration_intercept_ci": list(cal.intercept_ci),
            "calibration_slope": cal.slope,
            "calibration_slope_ci": list(cal.slope_ci),
            "brier": self.brier,
            "observed_expected": self.observed_expected,
            "hosmer_lemeshow": self.hosmer_lemeshow.to_dict(),
            "calibration_curve": self.smooth.to_records(),
            "decision_curve": self.decision.to_records(),
            # extra keys
            "n_controls": self.n_controls,
            "n_excluded": self.n_excluded,
            "excluded": list(self.excluded),
            "auc_se": self.auc_se,
            "calibration_intercept_se": cal.intercept_se,
            "calibration_slope_se": cal.slope_se,
            "brier_scaled": self.brier_scaled,
            "mean_prediction": self.mean_prediction,
            "ici": self.smooth.ici,
            "e50": self.smooth.e50,
            "e90": self.smooth.e90,
            "emax": self.smooth.emax,
            "calibration_curve_method": self.smooth.method,
            "calibration_curve_knots": list(self.smooth.knots),
            "val_prob": self.val_prob.to_dict(),
            "calibration_groups": list(self.groups),
            "decision_curve_prevalence": self.decision.prevalence,
            "markers": [m.to_dict() for m in self.markers],
            "model": dict(self.model_info),
            "cohort": self.cohort,
            "messages": list(self.messages),
            "note": RESEARCH_NOTE,
        }
        if self.synthetic or self.model_info.get("synthetic"):
            out["synthetic_note"] = SYNTHETIC_NOTE
        return out

    def to_frame(self) -> pd.DataFrame:
        """Return the metrics table: measure, estimate, 95% CI, what perfect looks like."""
        import pandas as pd

        from ovcf_core.report.style import fmt_ci

        cal, hl, s, v = self.calibration, self.hosmer_lemeshow, self.smooth, self.val_prob
        rows = [
            ("Patients used (cases / controls)", f"{self.n} ({self.n_cases} / {self.n_controls})", "", ""),
            ("Patients excluded (missing values)", str(self.n_excluded), "", "0"),
            ("AUC", f"{self.auc:.3f}", fmt_ci(*self.auc_ci, digits=3), "1"),
            (
                "Calibration intercept (in the large)",
                f"{cal.intercept:.3f}",
                fmt_ci(*cal.intercept_ci, 3),
                "0",
            ),
            ("Calibration slope", f"{cal.slope:.3f}", fmt_ci(*cal.slope_ci, digits=3), "1"),
            ("Observed / expected", f"{self.observed_expected:.3f}", "", "1"),
            ("Brier score", f"{self.brier:.4f}", "", "0"),
            ("Scaled Brier score", f"{self.brier_scaled:.3f}", "", "1"),
            ("ICI / E50 / E90", f"{s.ici:.4f} / {s.e50:.4f} / {s.e90:.4f}", "", "0"),
            (
                "Eavg / E90 / Emax (lowess, as rms val.prob)",
                f"{v.eavg:.4f} / {v.e90:.4f} / {v.emax:.4f}",
                "",
                "0",
            ),
            ("Spiegelhalter z, p", f"{v.spiegelhalter_z:.2f}, p = {v.spiegelhalter_p:.3g}", "", "0"),
            ("Hosmer–Lemeshow χ² (df), p", f"{hl.chi2:.2f} ({hl.df}), p = {hl.p:.3g}", "", ""),
        ]
        return pd.DataFrame(rows, columns=["measure", "estimate", "95% CI", "perfect"])

    def excluded_frame(self) -> pd.DataFrame:
        """Return the patients left out: spreadsheet row, patient id, what was missing."""
        import pandas as pd

        return pd.DataFrame(
            [{"row": e["row"], "patient_id": e["patient_id"], "missing": ", ".join(e["missing"])}
             for e in self.excluded], columns=["row", "patient_id", "missing"],
        )  # fmt: skip

    def markers_frame(self) -> pd.DataFrame:
        """Return the model's AUC beside each marker's on the same patients, with DeLong's test, as text.

        The AUC has 3 decimals with its DeLong 95% CI, p is printed as journals print it.
        """
        import pandas as pd

        from ovcf_core.report.style import fmt_estimate_ci, fmt_number, fmt_p

        return pd.DataFrame(
            [
                {
                    "marker": m.marker,
                    "direction": f"{m.direction} = OVCF",
                    "patients": m.n,
                    "marker AUC [95% CI]": fmt_estimate_ci(m.auc, *m.auc_ci, digits=3),
                    "model AUC": fmt_number(m.model_auc, 3),
                    "z (DeLong)": fmt_number(m.z, 2),
                    "p": fmt_p(m.p_value),
                }
                for m in self.markers
            ]
        )


def _messages(n_cases: int, n_controls: int, prevalence: float | None, n_excluded: int, n: int) -> list[str]:
    """Say what limits the reading of a validation: few events, a prior correction, patients left out."""
    out = []
    if min(n_cases, n_controls) < FEW_EVENTS:
        out.append(
            f"only {min(n_cases, n_controls)} {'cases' if n_cases <= n_controls else 'controls'}: "
            f"validation estimates are imprecise below about {FEW_EVENTS} events (wide CIs)"
        )
    if prevalence is not None:
        out.append(
            f"predictions are corrected to a prevalence of {prevalence:g}; on a case-control cohort the "
            "calibration intercept and observed/expected reflect the sampling, not the model"
        )
    if n_excluded:
        out.append(
            f"{n_excluded} of {n + n_excluded} patients left out for a missing outcome or model variable"
        )
    return out


def validate_predictions(
    y: np.ndarray,
    prediction: np.ndarray,
    lp: np.ndarray | None = None,
    *,
    prevalence: float | None = None,
    thresholds: np.ndarray | None = None,
    markers: dict[str, np.ndarray] | None = None,
    excluded: tuple[dict[str, Any], ...] = (),
    model_info: dict[str, Any] | None = None,
    cohort: str = "cohort",
    synthetic: bool = False,
) -> ValidationResult:
    """Compute every validation measure of predicted probabilities against the 0/1 outcome.

    Parameters
    ----------
    y
        Outcomes, 1 = fracture, 0 = control.
    prediction
        Predicted probabilities, strictly between 0 and 1.
    lp
        Their logit, when the caller has it exactly (None: computed from `prediction`).
    prevalence
        The prevalence the predictions were corrected to (reported, and used as the decision curve's).
    thresholds
        Decision-curve threshold probabilities (None: 0.01 to 0.99 by 0.01).
    markers
        Indicator values to compare with the model by DeLong's test.
    excluded, model_info, cohort, synthetic
        Passed through to the result: who was left out, what the model is, the cohort's name, and
        whether it is synthetic.

    Returns
    -------
    ValidationResult
        Discrimination, calibration (GLMs, Brier, O/E, Hosmer–Lemeshow, smoothed curve), the decision
        curve, marker comparisons, and messages on what limits them.

    Raises
    ------
    AnalysisError
        When a calibration fit fails (e.g. the predictions separate the outcomes perfectly).
    """
    from ovcf_core.stats.roc import delong_auc

    y = np.asarray(y, dtype=float)
    p = np.asarray(prediction, dtype=float)
    lp = np.log(p / (1 - p)) if lp is None else np.asarray(lp, dtype=float)
    n_cases, n_controls = int((y == 1).sum()), int((y == 0).sum())
    auc = delong_auc(y, p, direction="higher")
    fpr, tpr = _roc_points(y, p, "higher")
    ybar = float(y.mean())
    brier = float(np.mean((p - y) ** 2))
    return ValidationResult(
        n=len(y),
        n_cases=n_cases,
        n_controls=n_controls,
        prevalence=prevalence,
        auc=auc.auc,
        auc_se=auc.se,
        auc_ci=auc.ci,
        calibration=calibration_glms(y, lp),
        brier=brier,
        brier_scaled=1.0 - brier / (ybar * (1 - ybar)),
        observed_expected=ybar / float(p.mean()),
        mean_prediction=float(p.mean()),
        hosmer_lemeshow=hosmer_lemeshow(y, p),
        smooth=smoothed_calibration(y, p, lp),
        val_prob=val_prob_calibration(y, p),
        groups=tuple(grouped_calibration(y, p)),
        decision=decision_curve(y, p, thresholds, prevalence),
        markers=tuple(compare_markers(y, p, markers or {})),
        excluded=tuple(excluded),
        model_info=dict(model_info or {}),
        messages=tuple(_messages(n_cases, n_controls, prevalence, len(excluded), len(y))),
        roc_fpr=fpr,
        roc_tpr=tpr,
        cohort=cohort,
        synthetic=synthetic,
    )


def model_info(model: RiskModel) -> dict[str, Any]:
    """Describe the model a validation is about: terms, coefficients, training counts, provenance.

    Parameters
    ----------
    model
        A fitted or loaded model.

    Returns
    -------
    dict
        ``terms``, ``coefficients``, ``n_cases``, ``n_controls``, ``trained_on``, ``synthetic``,
        ``recalibrated``, and the synthetic note when the model was trained on synthetic data.
    """
    info = {
        **model.describe(),
        "coefficients": {t: float(b) for t, b in zip(model.terms_, model.coef_, strict=True)},
        "recalibrated": model.provenance_.get("recalibration"),
    }
    if info["synthetic"]:
        info["note"] = SYNTHETIC_NOTE
    return info


def validate_model(
    model: RiskModel,
    table: pd.DataFrame,
    *,
    prevalence: float | None = None,
    thresholds: np.ndarray | None = None,
    cohort: str = "cohort",
    synthetic: bool = False,
    file: str | None = None,
) -> ValidationResult:
    """Validate a fitted or loaded model on a cohort table with the outcome (see the module docstring).

    Parameters
    ----------
    model
        The model to validate.
    table
        The cohort, validated by `schema.validate_cohort`, with the outcome and the model's variables.
    prevalence
        Correct the predictions to this prevalence, as `ovcf predict` does; None: no correction.
    thresholds
        Decision-curve threshold probabilities (None: 0.01 to 0.99 by 0.01).
    cohort
        The cohort's name in the result and the report.
    synthetic
        Whether the cohort is synthetic (the result then carries the synthetic note).
    file
        The table's file name, for error messages.

    Returns
    -------
    ValidationResult
        Everything `ovcf validate` reports.

    Raises
    ------
    InputError
        When the cohort lacks the outcome or a model variable, or has fewer than 2 usable cases or
        controls (see `score_cohort`).
    AnalysisError
        When the model is not fitted, or a calibration fit fails.
    """
    scored = score_cohort(model, table, prevalence, file=file)
    return validate_predictions(
        scored.y, scored.prediction, scored.lp, prevalence=prevalence, thresholds=thresholds,
        markers=scored.markers, excluded=scored.excluded, model_info=model_info(model),
        cohort=cohort, synthetic=synthetic,
    )  # fmt: skip


def split_cohort(
    table: pd.DataFrame, validation_fraction: float = 0.3, seed: int = SPLIT_SEED
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Split a cohort at random, stratified by outcome, into development and validation parts.

    An internal split is not external validation: both parts come from the same population and the same
    measurement.

    Parameters
    ----------
    table
        The cohort, with the outcome ``ovcf``.
    validation_fraction
        The share of each outcome group held out for validation, strictly between 0 and 1.
    seed
        Seed of the split, so it can be repeated.

    Returns
    -------
    tuple of pandas.DataFrame
        (development, validation); rows without an outcome stay in development.

    Raises
    ------
    InputError
        When the fraction is not strictly between 0 and 1, or the table has no outcome column.
    """
    if not 0 < validation_fraction < 1:
        raise InputError(f"validation fraction {validation_fraction:g} must be between 0 and 1")
    import pandas as pd

    if OUTCOME not in table.columns:
        raise InputError("no outcome column: a split needs 'ovcf' to keep cases and controls", column=OUTCOME)
    rng = np.random.default_rng(seed)
    held = np.zeros(len(table), dtype=bool)
    outcome = pd.to_numeric(table[OUTCOME], errors="coerce").to_numpy(dtype=float)
    for value in np.unique(outcome[np.isfinite(outcome)]):
        members = np.flatnonzero(outcome == value)
        take = round(validation_fraction * len(members))
        held[rng.choice(members, size=take, replace=False)] = True
    return table.loc[~held], table.loc[held]
