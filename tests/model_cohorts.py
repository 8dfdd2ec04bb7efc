"""Small simulated cohorts for the risk-model tests: outcomes drawn from a known logistic model."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import expit

# True log-odds: -0.5 + 1.8 (vbq - 3.2) - 0.02 (hu - 120) + 0.02 (age - 68) - 0.3 male + 0.03 (bmi - 24)
TRUE_COEF = {"const": -0.5, "vbq": 1.8, "hu": -0.02, "age": 0.02, "sex_male": -0.3, "bmi": 0.03}
CENTRES = {"vbq": 3.2, "hu": 120.0, "age": 68.0, "bmi": 24.0}


def true_logit(
    vbq: np.ndarray, hu: np.ndarray, age: np.ndarray, male: np.ndarray, bmi: np.ndarray
) -> np.ndarray:
    """The simulation's true log-odds of fracture."""
    c = TRUE_COEF
    return (
        c["const"]
        + c["vbq"] * (vbq - CENTRES["vbq"])
        + c["hu"] * (hu - CENTRES["hu"])
        + c["age"] * (age - CENTRES["age"])
        + c["sex_male"] * male
        + c["bmi"] * (bmi - CENTRES["bmi"])
    )


def simulated_cohort(n: int = 160, seed: int = 7) -> pd.DataFrame:
    """A cohort table like `schema.validate_cohort`'s output, outcomes drawn from TRUE_COEF."""
    rng = np.random.default_rng(seed)
    age = rng.uniform(52, 88, n)
    male = rng.random(n) < 0.35
    bmi = rng.normal(24, 3, n)
    vbq = rng.normal(3.2, 0.5, n)
    hu = rng.normal(120, 35, n)
    y = (rng.random(n) < expit(true_logit(vbq, hu, age, male, bmi))).astype(float)
    return pd.DataFrame(
        {
            "patient_id": [f"P{i:04d}" for i in range(n)],
            "ovcf": y,
            "age": age,
            "sex": np.where(male, "M", "F").astype(object),
            "bmi": bmi,
            "vbq": vbq,
            "hu": hu,
        },
        index=pd.RangeIndex(2, n + 2),
    )
