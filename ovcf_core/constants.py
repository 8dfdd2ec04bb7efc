"""Numbers the whole tool shares, each defined once: the 95% normal quantile and the default seeds."""

from __future__ import annotations

Z95 = 1.959963984540054
"""The 97.5% quantile of the standard normal distribution: the z of every 95% Wald / DeLong CI."""

ANALYSIS_SEED = 20240471
"""Default seed of the cohort analysis' bootstraps and of control matching (same input, same output)."""

MODEL_SEED = 20240501
"""Default seed of the risk model's bootstrap optimism correction and of the figures' jitter."""
