"""1:1 matching of controls to cases: exact on sex, nearest age within a caliper, without replacement.

Greedy nearest-neighbour matching as MatchIt's `method="nearest", m.order="random"`: cases are taken in
a seeded random order (so a run is reproducible) and each takes the available control of the same sex with
the closest age, if within the caliper; equally close controls go to the younger one, then file order.
Available controls are found with "next free" pointers (union-find with path compression), so matching
is O(n log n), not a scan of the pool per case. Balance is the standardised mean difference of every
numeric column (and the proportion of women) before and after matching.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import cast

import numpy as np
import pandas as pd

from ovcf_core.constants import ANALYSIS_SEED
from ovcf_core.errors import AnalysisError, InputError
from ovcf_core.schema import AGE, OUTCOME, PAIR_ID, SEX

DEFAULT_CALIPER = 5.0
DEFAULT_SEED = ANALYSIS_SEED


def matching_pool(
    table: pd.DataFrame,
    name: str | None = None,
    *,
    outcome: str = OUTCOME,
    age: str = AGE,
    sex: str = SEX,
) -> pd.DataFrame:
    """The rows of a validated cohort that can be matched: those with an age and a sex.

    The one check of a matching pool, for `ovcf match` and the Matching page alike.

    Raises
    ------
    InputError
        naming the file `name` when no row is usable, when the age or sex column is missing or empty, or
        when the rows with age and sex are not both cases (outcome 1) and possible controls (outcome 0).
    """
    if table.empty:
        raise InputError("no usable rows (every row has an error)", file=name)
    for column in (age, sex):
        if column not in table.columns or table[column].isna().all():
            raise InputError(f"has no {column} column to match on", file=name, column=column)
    pool = table.dropna(subset=[age, sex])
    if (pool[outcome] == 1).sum() == 0 or (pool[outcome] == 0).sum() == 0:
        message = f"needs both cases ({outcome} = 1) and possible controls ({outcome} = 0)"
        raise InputError(message, file=name, column=outcome)
    return pool


def _smd_numeric(a: np.ndarray, b: np.ndarray) -> float:
    """(mean_a - mean_b) / sqrt((var_a + var_b) / 2) over finite values."""
    a, b = a[np.isfinite(a)], b[np.isfinite(b)]
    if len(a) < 2 or len(b) < 2:
        return float("nan")
    pooled = np.sqrt((a.var(ddof=1) + b.var(ddof=1)) / 2)
    return float((a.mean() - b.mean()) / pooled) if pooled > 0 else 0.0


def _smd_proportion(a: np.ndarray, b: np.ndarray) -> float:
    """SMD of two proportions: (p_a - p_b) / sqrt((p_a(1-p_a) + p_b(1-p_b)) / 2)."""
    if len(a) == 0 or len(b) == 0:
        return float("nan")
    pa, pb = a.mean(), b.mean()
    pooled = np.sqrt((pa * (1 - pa) + pb * (1 - pb)) / 2)
    return float((pa - pb) / pooled) if pooled > 0 else 0.0


def balance(table: pd.DataFrame, outcome: str = OUTCOME) -> dict[str, float]:
    """SMD (cases - controls) of the share of women and of every numeric column except the outcome."""
    y = table[outcome].to_numpy(float)
    out = {}
    if SEX in table.columns:
        female = (table[SEX] == "F").to_numpy(float)
        known = table[SEX].notna().to_numpy()
        out["female"] = _smd_proportion(female[known & (y == 1)], female[known & (y == 0)])
    for column in table.columns:
        if column in (outcome, SEX) or not pd.api.types.is_numeric_dtype(table[column]):
            continue
        x = table[column].to_numpy(float)
        out[column] = _smd_numeric(x[y == 1], x[y == 0])
    return out


@dataclass(frozen=True)
class MatchResult:
    """Matched pairs (cases and controls with `pair_id`), the unmatched cases and balance before/after."""

    matched: pd.DataFrame
    unmatched_cases: pd.DataFrame
    balance_before: dict[str, float]
    balance_after: dict[str, float]
    caliper: float
    seed: int

    @property
    def n_pairs(self) -> int:
        return len(self.matched) // 2

    def to_dict(self) -> dict:
        """Counts, the unmatched cases' row numbers, the caliper and seed, and balance before/after."""
        return {
            "n_pairs": self.n_pairs,
            "n_unmatched_cases": len(self.unmatched_cases),
            "unmatched_case_rows": [int(r) for r in self.unmatched_cases.index],
            "caliper": self.caliper,
            "seed": self.seed,
            "balance": {
                k: {"smd_before": v, "smd_after": self.balance_after.get(k)}
                for k, v in self.balance_before.items()
            },
        }

    def to_frame(self) -> pd.DataFrame:
        """The matched table: one row per patient, pairs adjacent, with `pair_id`."""
        return self.matched

    def balance_frame(self) -> pd.DataFrame:
        """Balance table: variable, SMD before and after matching."""
        return pd.DataFrame(
            [{"variable": k, "smd_before": v, "smd_after": self.balance_after.get(k, float("nan"))}
             for k, v in self.balance_before.items()]
        )  # fmt: skip


def _find(parent: np.ndarray, i: int) -> int:
    """Root of i with path compression (the nearest free slot in one direction, or a sentinel)."""
    root = i
    while parent[root] != root:
        root = parent[root]
    while parent[i] != root:
        parent[i], i = root, parent[i]
    return root


def _match_stratum(case_ages: np.ndarray, control_ages: np.ndarray, caliper: float) -> np.ndarray:
    """For each case (in the given order) the index of its control, or -1; controls used at most once."""
    order = np.argsort(control_ages, kind="stable")
    ages = control_ages[order]
    m = len(ages)
    right = np.arange(m + 1)  # right[i]: smallest free j >= i (m = none)
    left = np.arange(m + 1)  # left[i + 1]: largest free j <= i, shifted by one (0 = none)
    out = np.full(len(case_ages), -1)
    for c, age in enumerate(case_ages):
        pos = int(np.searchsorted(ages, age))
        r = _find(right, pos)
        lpos = _find(left, pos) - 1  # largest free index < pos, or -1
        best, dist = -1, np.inf
        if lpos >= 0:
            best, dist = lpos, age - ages[lpos]
        if r < m and ages[r] - age < dist:
            best, dist = r, ages[r] - age
        if best < 0 or dist > caliper:
            continue
        out[c] = order[best]
        right[best] = best + 1
        left[best + 1] = best
    return out


def match_controls(
    table: pd.DataFrame,
    caliper: float = DEFAULT_CALIPER,
    seed: int = DEFAULT_SEED,
    outcome: str = OUTCOME,
    age: str = AGE,
    sex: str = SEX,
) -> MatchResult:
    """Match each case (outcome 1) to one control (outcome 0) of the same sex and nearest age within
    `caliper` years, without replacement; the result keeps the table's columns and adds `pair_id`."""
    if caliper < 0:
        raise AnalysisError(f"the caliper must not be negative (got {caliper:g})")
    for column in (outcome, age, sex):
        if column not in table.columns:
            raise AnalysisError(f"matching needs a '{column}' column")
    usable = table[table[age].notna() & table[sex].notna() & table[outcome].notna()]
    y = usable[outcome].to_numpy(float)
    if not (y == 1).any() or not (y == 0).any():
        raise AnalysisError(f"matching needs cases and controls (has {(y == 1).sum()} and {(y == 0).sum()})")
    rng = np.random.default_rng(seed)
    cases = usable[y == 1]
    cases = cases.iloc[rng.permutation(len(cases))]
    controls = usable[y == 0]
    case_rows, control_rows = [], []
    for value in pd.unique(cases[sex]):
        cs = cases[cases[sex] == value]
        ks = controls[controls[sex] == value]
        if ks.empty:
            continue
        picked = _match_stratum(cs[age].to_numpy(float), ks[age].to_numpy(float), caliper)
        ok = picked >= 0
        case_rows.extend(cs.index[ok])
        control_rows.extend(ks.index[picked[ok]])
    # get_loc gives an int position for a label of a unique index (the tables matched here have one)
    pairs = sorted(
        zip(case_rows, control_rows, strict=True), key=lambda p: cast(int, table.index.get_loc(p[0]))
    )
    index = [r for pair in pairs for r in pair]
    matched = table.loc[index].copy()
    matched[PAIR_ID] = np.repeat([f"m{i + 1}" for i in range(len(pairs))], 2) if pairs else []
    is_case = (table[outcome] == 1).to_numpy()
    unmatched = table.loc[is_case & ~table.index.isin(case_rows)]
    before = balance(usable.drop(columns=[PAIR_ID], errors="ignore"), outcome)
    after = balance(matched.drop(columns=[PAIR_ID]), outcome) if pairs else {}
    return MatchResult(matched, unmatched, before, after, float(caliper), int(seed))
