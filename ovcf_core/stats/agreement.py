"""Agreement of two measurements of the same patients (Bland & Altman 1986): the mean difference (bias)
with its 95% CI and the 95% limits of agreement, bias ± 1.96 SD of the differences.

Used for two raters (inter-rater) or two sessions of one rater (intra-rater) beside the ICC, which says
how well patients are told apart but not by how much two measurements differ in the indicator's units.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ovcf_core.stats.distributions import t_quantile

LIMIT_Z = 1.96


@dataclass(frozen=True)
class BlandAltman:
    """Bias (mean of first − second) with its 95% CI, the SD of the differences and the limits."""

    n: int
    bias: float
    bias_ci: tuple[float, float]
    sd: float
    lower: float
    upper: float

    def to_dict(self) -> dict:
        """The numbers as plain floats (for tables and JSON)."""
        out = asdict(self)
        out["bias_ci"] = list(self.bias_ci)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row: n, bias, its CI bounds, SD, lower and upper limits of agreement."""
        return pd.DataFrame(
            [{"n": self.n, "bias": self.bias, "bias_ci_low": self.bias_ci[0], "bias_ci_high": self.bias_ci[1],
              "sd": self.sd, "lower": self.lower, "upper": self.upper}]
        )  # fmt: skip


def bland_altman(first: Sequence[float], second: Sequence[float], level: float = 0.95) -> BlandAltman:
    """Bias and limits of agreement over the complete pairs; the bias CI from the t distribution."""
    a = np.asarray(first, dtype=float)
    b = np.asarray(second, dtype=float)
    keep = np.isfinite(a) & np.isfinite(b)
    diff = a[keep] - b[keep]
    n = int(diff.size)
    nan = float("nan")
    bias = float(diff.mean()) if n else nan
    sd = float(diff.std(ddof=1)) if n > 1 else nan
    if n > 1:
        half = t_quantile(0.5 + level / 2, n - 1) * sd / np.sqrt(n)
        ci = (bias - half, bias + half)
    else:
        ci = (nan, nan)
    return BlandAltman(n, bias, ci, sd, bias - LIMIT_Z * sd, bias + LIMIT_Z * sd)
