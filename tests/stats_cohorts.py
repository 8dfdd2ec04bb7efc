"""Small seeded cohorts for the statistics tests (validated-table shape: ovcf 0/1, sex F/M, numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd


def paired_cohort(n_pairs: int = 60, seed: int = 7) -> pd.DataFrame:
    """`n_pairs` case/control pairs with the five indicators shifted in their risk directions."""
    rng = np.random.default_rng(seed)
    n = 2 * n_pairs
    y = np.repeat([1.0, 0.0], n_pairs)
    sex = np.tile(rng.choice(["F", "M"], n_pairs), 2)
    return pd.DataFrame(
        {
            "patient_id": [f"P{i}" for i in range(n)],
            "ovcf": y,
            "age": np.round(rng.normal(68, 8, n)),
            "sex": sex,
            "bmi": np.round(rng.normal(24, 3, n), 1),
            "pair_id": [f"pair{i}" for i in np.r_[np.arange(n_pairs), np.arange(n_pairs)]],
            "vbq": np.round(3 + 0.5 * y + rng.normal(0, 0.4, n), 2),
            "hu": np.round(110 - 30 * y + rng.normal(0, 25, n), 1),
            "t_score": np.round(-2 - 0.6 * y + rng.normal(0, 0.8, n), 1),
            "rcsa": np.round(1.2 - 0.1 * y + rng.normal(0, 0.3, n), 2),
            "fi": np.round(15 + 5 * y + rng.normal(0, 5, n), 1),
        },
        index=pd.RangeIndex(2, n + 2, name="row"),
    )
