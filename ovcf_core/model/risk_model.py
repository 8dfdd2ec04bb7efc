"""`RiskModel`: logistic regression of OVCF on VBQ and HU, adjusted for age, sex and BMI.

It follows scikit-learn's estimator contract where it applies: `__init__` only stores parameters,
`get_params`/`set_params`/`clone` work, `fit` never rewrites them (the checked ones are `features_`/
`adjust_`), `predict_proba(table)` returns an array. It takes a table with named columns, not a numeric X,
so `check_estimator` does not apply.

`fit(table)` returns self and sets the learned attributes (ending in `_`): the coefficients and their
covariance from the one logistic engine (`ovcf_core.stats.logistic.fit_logit`, tested against statsmodels'
`Logit`), the training ranges and means, and a `TrainingSummary` (cases/controls, AUC with DeLong CI, Brier
score, calibration intercept and slope, a calibration plot's data, and Harrell's bootstrap optimism
correction of the AUC and calibration slope). The statistics are imported inside `fit`, so predicting from
a saved model needs numpy only.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # pandas is imported where it is used: predicting and the CLI start without it
    import pandas as pd

from ovcf_core.constants import MODEL_SEED, Z95
from ovcf_core.errors import AnalysisError, InputError
from ovcf_core.model.variables import INTERCEPT, SEX_TERM, expit, term_name, variable_info
from ovcf_core.schema import OUTCOME, SEX, Indicator

__all__ = ["INTERCEPT", "SEX_TERM", "RiskModel", "TrainingSummary", "expit", "term_name", "variable_info"]

DEFAULT_FEATURES: tuple[str, ...] = (Indicator.VBQ.column, Indicator.HU.column)
DEFAULT_ADJUST: tuple[str, ...] = ("age", "sex", "bmi")
ALLOWED_ADJUST: tuple[str, ...] = ("age", "sex", "bmi")
MIN_PER_CLASS = 10  # fewer cases or controls than this cannot support a logistic model
MIN_BOOTSTRAP = 200
CALIBRATION_BINS = 10

Progress = Callable[[int, int], None]


def calibration_slope(y: np.ndarray, linear_predictor: np.ndarray) -> float:
    """Estimate the calibration slope b of logit P(y=1) = a + b * lp.

    Parameters
    ----------
    y
        Outcomes, 1 = fracture, 0 = control.
    linear_predictor
        The model's log-odds for the same patients.

    Returns
    -------
    float
        b: 1 means the predictions spread as the outcomes do; below 1 they are too extreme (overfitted).

    Raises
    ------
    AnalysisError
        When the logistic fit fails (e.g. perfect separation).
    """
    from ovcf_core.stats.logistic import fit_logit

    params, _ = fit_logit(y, np.column_stack([np.ones(len(y)), linear_predictor]))
    return float(params[1])


def calibration_intercept(y: np.ndarray, linear_predictor: np.ndarray) -> float:
    """Estimate the calibration-in-the-large a of logit P(y=1) = a + lp (slope fixed at 1).

    Parameters
    ----------
    y
        Outcomes, 1 = fracture, 0 = control.
    linear_predictor
        The model's log-odds for the same patients, used as an offset.

    Returns
    -------
    float
        a: 0 when the predictions are right on average; above 0 they are too low.

    Raises
    ------
    AnalysisError
        When the logistic fit fails.
    """
    from ovcf_core.stats.logistic import fit_logit

    params, _ = fit_logit(y, np.ones((len(y), 1)), offset=linear_predictor)
    return float(params[0])


def calibration_bins(y: np.ndarray, probability: np.ndarray, bins: int = CALIBRATION_BINS) -> dict[str, list]:
    """Group patients by predicted probability for a calibration plot: mean predicted vs observed fraction.

    Parameters
    ----------
    y
        Outcomes, 1 = fracture, 0 = control.
    probability
        Predicted probabilities for the same patients.
    bins
        Number of groups of (nearly) equal size, fewer when there are fewer patients.

    Returns
    -------
    dict of str to list
        ``mean_predicted``, ``observed`` (fraction of cases) and ``n`` per group, lowest risk first.
    """
    order = np.argsort(probability, kind="stable")
    groups = [g for g in np.array_split(order, min(bins, len(order))) if len(g)]
    return {
        "mean_predicted": [float(probability[g].mean()) for g in groups],
        "observed": [float(y[g].mean()) for g in groups],
        "n": [len(g) for g in groups],
    }


@dataclass(frozen=True)
class TrainingSummary:
    """How the model did on its training data, and after Harrell's bootstrap optimism correction."""

    n_cases: int
    n_controls: int
    n_excluded: int
    auc: float
    auc_ci: tuple[float, float]
    brier: float
    calibration_intercept: float
    calibration_slope: float
    calibration: dict[str, list] = field(default_factory=dict)
    n_bootstrap: int = 0
    n_bootstrap_failed: int = 0
    seed: int | None = None
    auc_optimism: float = float("nan")
    auc_corrected: float = float("nan")
    slope_optimism: float = float("nan")
    slope_corrected: float = float("nan")

    @property
    def case_fraction(self) -> float:
        """Return the training sample's fraction of cases: the prevalence its raw probabilities are at."""
        return self.n_cases / (self.n_cases + self.n_controls)

    def to_dict(self) -> dict[str, Any]:
        """Return the summary as plain JSON-ready values (the model file's ``training`` block)."""
        out = asdict(self)
        out["auc_ci"] = list(self.auc_ci)
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> TrainingSummary:
        """Rebuild a summary from `to_dict()` output.

        Parameters
        ----------
        data
            A `to_dict()` mapping; keys that are not fields are ignored, so older files still load.

        Returns
        -------
        TrainingSummary
            The summary.

        Raises
        ------
        KeyError
            When ``auc_ci`` is missing (the file check in `persistence` names it first).
        """
        names = set(cls.__dataclass_fields__)
        values = {k: v for k, v in data.items() if k in names}
        values["auc_ci"] = tuple(float(v) for v in data["auc_ci"])
        return cls(**values)

    def to_frame(self) -> pd.DataFrame:
        """Return the summary as a table for a page: measure, apparent value, optimism-corrected value."""
        import pandas as pd

        rows = [
            ("Cases / controls", f"{self.n_cases} / {self.n_controls}", ""),
            ("Excluded (incomplete rows)", str(self.n_excluded), ""),
            (
                "AUC (DeLong 95% CI)",
                f"{self.auc:.3f} ({self.auc_ci[0]:.3f}–{self.auc_ci[1]:.3f})",
                f"{self.auc_corrected:.3f}",
            ),
            ("Calibration slope", f"{self.calibration_slope:.3f}", f"{self.slope_corrected:.3f}"),
            ("Calibration intercept", f"{self.calibration_intercept:.3f}", ""),
            ("Brier score", f"{self.brier:.3f}", ""),
            (
                "Bootstrap resamples (failed)",
                f"{self.n_bootstrap} ({self.n_bootstrap_failed})",
                f"seed {self.seed}",
            ),
        ]
        return pd.DataFrame(rows, columns=["measure", "training data", "optimism-corrected"])


def auc_with_ci(y: np.ndarray, score: np.ndarray) -> tuple[float, tuple[float, float]]:
    """Compute the AUC of `score` (higher = case) with its DeLong 95% CI, through `ovcf_core.stats.roc`.

    Parameters
    ----------
    y
        Outcomes, 1 = fracture, 0 = control.
    score
        Any score where a higher value means a case (here the model's log-odds).

    Returns
    -------
    tuple
        The AUC and its (low, high) 95% CI.
    """
    from ovcf_core.stats.roc import delong_auc

    result = delong_auc(y, score, direction="higher")
    return result.auc, result.ci


def _auc(y: np.ndarray, score: np.ndarray) -> float:
    """Compute the AUC of `score` (higher = case), through the one ROC path (`ovcf_core.stats.roc`)."""
    from ovcf_core.stats.roc import delong_auc

    return delong_auc(y, score, direction="higher").auc


class RiskModel:
    """Logistic model of fracture (ovcf = 1) on `features`, adjusted for `adjust` (maximum likelihood).

    Parameters
    ----------
    features
        Indicator columns whose risk the model estimates (default VBQ and HU).
    adjust
        Covariates among age, sex, bmi (default all three, as the paper's adjusted model).
    n_bootstrap
        Resamples for Harrell's optimism correction (at least 200; 0 skips internal validation).
    random_state
        Seed of the bootstrap, so the summary is reproducible.

    Attributes
    ----------
    coef_, cov_
        Coefficients (intercept first, in the order of `terms_`) and their covariance.
    terms_
        The model terms: ``const``, then each variable (sex as ``sex_male``).
    n_cases_, n_controls_
        The training counts, which set the case fraction the raw probabilities are at.
    means_, ranges_
        Training means of the design columns and (min, max) of each numeric variable.
    summary_
        The `TrainingSummary`; `provenance_` says what the model was trained on and when.
    """

    def __init__(
        self,
        features: Sequence[str] = DEFAULT_FEATURES,
        adjust: Sequence[str] = DEFAULT_ADJUST,
        n_bootstrap: int = MIN_BOOTSTRAP,
        random_state: int = MODEL_SEED,
    ) -> None:
        self.features = features
        self.adjust = adjust
        self.n_bootstrap = n_bootstrap
        self.random_state = random_state

    def get_params(self, deep: bool = True) -> dict[str, Any]:
        """Return the constructor parameters (scikit-learn's estimator interface).

        Parameters
        ----------
        deep
            Accepted for scikit-learn; the parameters hold no estimators, so it changes nothing.

        Returns
        -------
        dict
            ``features``, ``adjust``, ``n_bootstrap`` and ``random_state`` as stored.
        """
        return {
            "features": self.features,
            "adjust": self.adjust,
            "n_bootstrap": self.n_bootstrap,
            "random_state": self.random_state,
        }

    def set_params(self, **params: Any) -> RiskModel:
        """Set constructor parameters (scikit-learn's estimator interface).

        Parameters
        ----------
        **params
            Parameter names and values; they are checked when `fit` is called.

        Returns
        -------
        RiskModel
            self.

        Raises
        ------
        ValueError
            When a name is not a constructor parameter (as scikit-learn raises).
        """
        for name, value in params.items():
            if name not in self.get_params():
                raise ValueError(f"RiskModel has no parameter '{name}'")
            setattr(self, name, value)
        return self

    @property
    def variables(self) -> tuple[str, ...]:
        """Return features then adjustment variables, in the order of the terms after the intercept."""
        if hasattr(self, "features_"):
            return (*self.features_, *self.adjust_)
        features, adjust = self._checked_params()
        return (*features, *adjust)

    def _checked_params(self) -> tuple[tuple[str, ...], tuple[str, ...]]:
        """Check and lower-case the features and adjustment variables, leaving the parameters as they were.

        Features must be indicator columns, adjustment variables among age/sex/bmi, with no repeats.
        """
        features = tuple(str(f).strip().lower() for f in self.features)
        adjust = tuple(str(a).strip().lower() for a in self.adjust)
        if not features:
            raise InputError("the model needs at least one feature (e.g. vbq, hu)")
        for name in features:
            if Indicator.from_column(name) is None:
                known = ", ".join(ind.column for ind in Indicator)
                raise InputError(f"'{name}' is not an indicator; features can be {known}")
        for name in adjust:
            if name not in ALLOWED_ADJUST:
                raise InputError(f"'{name}' cannot be adjusted for; use any of {', '.join(ALLOWED_ADJUST)}")
        if len(set(features + adjust)) != len(features) + len(adjust):
            raise InputError("a variable is listed twice among the features and adjustment variables")
        if self.n_bootstrap != 0 and self.n_bootstrap < MIN_BOOTSTRAP:
            raise InputError(f"n_bootstrap must be 0 (no internal validation) or at least {MIN_BOOTSTRAP}")
        return features, adjust

    def fit(
        self,
        table: pd.DataFrame,
        *,
        progress: Progress | None = None,
        source: str | None = None,
        synthetic: bool = False,
    ) -> RiskModel:
        """Fit on a validated cohort table (`schema.validate_cohort`); rows missing a variable are excluded.

        Parameters
        ----------
        table
            The cohort with the outcome ``ovcf`` and every model variable.
        progress
            Called as ``progress(done, total)`` after each bootstrap resample (a page's progress bar).
        source
            Names the data in the model's provenance (a file name, never patient data).
        synthetic
            Whether the data are synthetic; the model says so wherever it is used.

        Returns
        -------
        RiskModel
            self, with the learned attributes set.

        Raises
        ------
        InputError
            When a parameter is not allowed (see the class) or a column the model needs is missing.
        AnalysisError
            When fewer than 10 cases or controls have every variable, a variable is constant, the fit
            fails (separation), or more than half the bootstrap refits fail.
        """
        import pandas as pd

        self.features_, self.adjust_ = self._checked_params()
        for column in (OUTCOME, *self.variables):
            if column not in table.columns:
                raise InputError(f"missing column '{column}' needed by the model", column=column)
        y_all = pd.to_numeric(table[OUTCOME], errors="coerce").to_numpy(dtype=float)
        from ovcf_core.stats.logistic import design_matrix, fit_logit

        X_all = design_matrix(table, self.variables)
        complete = np.isfinite(y_all) & np.all(np.isfinite(X_all), axis=1)
        y, X = y_all[complete], X_all[complete]
        n_cases, n_controls = int((y == 1).sum()), int((y == 0).sum())
        if n_cases < MIN_PER_CLASS or n_controls < MIN_PER_CLASS:
            raise AnalysisError(
                f"too few patients with every model variable: {n_cases} case(s) and {n_controls} control(s); "
                f"at least {MIN_PER_CLASS} of each are needed"
            )
        for j, variable in enumerate(self.variables, start=1):
            if np.ptp(X[:, j]) == 0:
                raise AnalysisError(
                    f"'{variable}' has the same value for every patient; it cannot be modelled"
                )

        coef, cov = fit_logit(y, X)
        self.terms_ = (INTERCEPT, *(term_name(v) for v in self.variables))
        self.coef_ = coef
        self.cov_ = cov
        self.n_cases_ = n_cases
        self.n_controls_ = n_controls
        self.means_ = X.mean(axis=0)
        self.ranges_ = {
            v: (float(X[:, j].min()), float(X[:, j].max()))
            for j, v in enumerate(self.variables, start=1)
            if v != SEX
        }
        self.provenance_ = {
            "source": source or "unnamed table",
            "synthetic": bool(synthetic),
            "n_rows": len(table),
            "created": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        self.summary_ = self._summarise(y, X, int((~complete).sum()), progress)
        return self

    def _summarise(
        self, y: np.ndarray, X: np.ndarray, n_excluded: int, progress: Progress | None
    ) -> TrainingSummary:
        """Apparent performance on the training data and its bootstrap optimism correction."""
        lp = X @ self.coef_
        probability = expit(lp)
        auc, auc_ci = auc_with_ci(y, lp)
        optimism = (
            self._bootstrap_optimism(y, X, progress)
            if self.n_bootstrap
            else {"n_bootstrap": 0, "auc_optimism": float("nan"), "slope_optimism": float("nan")}
        )
        return TrainingSummary(
            n_cases=self.n_cases_,
            n_controls=self.n_controls_,
            n_excluded=n_excluded,
            auc=auc,
            auc_ci=auc_ci,
            brier=float(np.mean((probability - y) ** 2)),
            calibration_intercept=calibration_intercept(y, lp),
            calibration_slope=calibration_slope(y, lp),
            calibration=calibration_bins(y, probability),
            auc_corrected=auc - optimism["auc_optimism"],
            slope_corrected=1.0 - optimism["slope_optimism"],
            **optimism,
        )

    def _bootstrap_optimism(self, y: np.ndarray, X: np.ndarray, progress: Progress | None) -> dict[str, Any]:
        """Harrell's optimism: mean over resamples of (performance on the resample - on the original data).

        A model refitted on each resample is scored on that resample and on the original sample. Its
        calibration slope on its own resample is exactly 1 (the logistic score equations), so the slope's
        optimism is 1 minus its slope on the original data. Resamples with one class or a failed fit are
        counted, not used.
        """
        from ovcf_core.stats.logistic import fit_logit

        rng = np.random.default_rng(self.random_state)
        n = len(y)
        auc_optimism: list[float] = []
        slope_optimism: list[float] = []
        failed = 0
        for b in range(self.n_bootstrap):
            index = rng.integers(0, n, size=n)
            y_boot, X_boot = y[index], X[index]
            try:
                if y_boot.min() == y_boot.max() or np.any(np.ptp(X_boot[:, 1:], axis=0) == 0):
                    raise AnalysisError("degenerate resample")
                coef, _ = fit_logit(y_boot, X_boot)
                lp_original = X @ coef
                slope = calibration_slope(y, lp_original)
            except AnalysisError:
                failed += 1
            else:
                auc_optimism.append(_auc(y_boot, X_boot @ coef) - _auc(y, lp_original))
                slope_optimism.append(1.0 - slope)
            if progress is not None:
                progress(b + 1, self.n_bootstrap)
        if len(auc_optimism) < self.n_bootstrap // 2:
            raise AnalysisError(
                f"{failed} of {self.n_bootstrap} bootstrap refits failed (separation in resamples); "
                "the model is too unstable on this cohort to validate"
            )
        return {
            "n_bootstrap": self.n_bootstrap,
            "n_bootstrap_failed": failed,
            "seed": self.random_state,
            "auc_optimism": float(np.mean(auc_optimism)),
            "slope_optimism": float(np.mean(slope_optimism)),
        }

    def check_is_fitted(self) -> None:
        """Refuse to use a model that has been neither fitted nor loaded.

        Raises
        ------
        AnalysisError
            When `fit` has not been called and the model was not read from a file.
        """
        if not hasattr(self, "coef_"):
            raise AnalysisError("this RiskModel is not fitted: call fit() or load a model file")

    def describe(self) -> dict[str, Any]:
        """Say which model an output came from: its terms, training counts and training data.

        Predictions and validations each add their own details to it (the one description of a model).

        Returns
        -------
        dict
            ``terms``, ``n_cases``, ``n_controls``, ``trained_on`` (the provenance's source) and
            ``synthetic``.

        Raises
        ------
        AnalysisError
            When the model is not fitted.
        """
        self.check_is_fitted()
        return {
            "terms": list(self.terms_),
            "n_cases": self.n_cases_,
            "n_controls": self.n_controls_,
            "trained_on": self.provenance_.get("source"),
            "synthetic": bool(self.provenance_.get("synthetic", False)),
        }

    @property
    def is_synthetic(self) -> bool:
        """Return whether the model was trained on synthetic data (shown wherever the model is used)."""
        self.check_is_fitted()
        return bool(self.provenance_.get("synthetic", False))

    def linear_predictor(self, table: pd.DataFrame) -> np.ndarray:
        """Compute the log-odds x'b of each row at the training case fraction.

        Parameters
        ----------
        table
            Rows with the model's variables (sex as F/M); other columns are ignored.

        Returns
        -------
        numpy.ndarray
            One log-odds per row, NaN where a variable is missing.

        Raises
        ------
        AnalysisError
            When the model is not fitted.
        """
        from ovcf_core.stats.logistic import design_matrix

        self.check_is_fitted()
        return design_matrix(table, self.variables) @ self.coef_

    def predict_proba(self, table: pd.DataFrame) -> np.ndarray:
        """Compute each row's probability of fracture at the training case fraction (no prior correction).

        Parameters
        ----------
        table
            Rows with the model's variables (sex as F/M).

        Returns
        -------
        numpy.ndarray
            One probability per row (a 1-D array, not scikit-learn's two columns: the outcome is binary
            and the table carries names), NaN where a variable is missing.

        Raises
        ------
        AnalysisError
            When the model is not fitted.
        """
        return expit(self.linear_predictor(table))

    def predict(self, patient: Mapping[str, Any], prevalence: float | None = None):
        """Predict one patient's probability with its 95% CI (see `model.prediction.predict`).

        Parameters
        ----------
        patient
            Variable name to value (numbers or text as typed; sex as F/M).
        prevalence
            A fraction to prior-correct the intercept to; None keeps the training case fraction.

        Returns
        -------
        Prediction
            The probability, its CI, the inputs, warnings and each term's contribution.

        Raises
        ------
        InputError
            When a variable is missing, not a number or outside its plausible range, or the prevalence
            is not strictly between 0 and 1.
        AnalysisError
            When the model is not fitted.
        """
        from ovcf_core.model.prediction import predict

        return predict(self, patient, prevalence=prevalence)

    def coefficients_frame(self) -> pd.DataFrame:
        """Tabulate the coefficients with Wald 95% CIs and odds ratios, one row per term.

        Returns
        -------
        pandas.DataFrame
            Columns ``term``, ``coefficient``, ``se``, ``odds_ratio``, ``or_ci_low``, ``or_ci_high``.

        Raises
        ------
        AnalysisError
            When the model is not fitted.
        """
        import pandas as pd

        self.check_is_fitted()
        se = np.sqrt(np.diag(self.cov_))
        return pd.DataFrame(
            {
                "term": self.terms_,
                "coefficient": self.coef_,
                "se": se,
                "odds_ratio": np.exp(self.coef_),
                "or_ci_low": np.exp(self.coef_ - Z95 * se),
                "or_ci_high": np.exp(self.coef_ + Z95 * se),
            }
        )
