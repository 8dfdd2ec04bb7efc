"""Matching of controls to cases: exact on sex, age within a caliper, without replacement, 1:1 or 1:K.

`optimal` (the default) solves each sex stratum exactly: the largest number of complete 1:K sets (a case
with K controls; a case that cannot get K is left unmatched, never given fewer), and among those the least
total |age difference| over all case-control pairs. Ages are one-dimensional, so some best solution keeps
the age order (an uncrossing exchange: |a - b| is a Monge cost and the caliper stays met) and gives each
case K age-adjacent controls; a dynamic programme over (cases by age, controls by age) finds it in
O(cases x caliper window). Ties go to the solution the programme meets first; the seed is not used.

`greedy` is MatchIt's `method="nearest", m.order="random"`: cases are taken in a seeded random order (so a
run is reproducible) and each takes the K available controls of the same sex with the closest ages, if all
within the caliper; equally close controls go to the younger one, then file order. Available controls are
found with "next free" pointers (union-find with path compression), so matching is O(n log n), not a scan
of the pool per case. Balance is the standardised mean difference of every numeric column (and the
proportion of women) before and after matching.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ovcf_core.constants import ANALYSIS_SEED
from ovcf_core.errors import AnalysisError, InputError
from ovcf_core.schema import AGE, OUTCOME, PAIR_ID, SEX

DEFAULT_CALIPER = 5.0
DEFAULT_SEED = ANALYSIS_SEED
METHODS = ("optimal", "greedy")
DEFAULT_METHOD = "optimal"
DEFAULT_RATIO = 1


def matching_pool(
    table: pd.DataFrame,
    name: str | None = None,
    *,
    outcome: str = OUTCOME,
    age: str = AGE,
    sex: str = SEX,
) -> pd.DataFrame:
    """Keep the rows of a validated cohort that can be matched: those with an age and a sex.

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
    """Matched sets (each case followed by its controls, sharing a `pair_id`), unmatched cases, balance."""

    matched: pd.DataFrame
    unmatched_cases: pd.DataFrame
    balance_before: dict[str, float]
    balance_after: dict[str, float]
    caliper: float
    seed: int
    method: str = DEFAULT_METHOD
    ratio: int = DEFAULT_RATIO

    @property
    def n_sets(self) -> int:
        """Matched cases (1:K sets)."""
        return len(self.matched) // (self.ratio + 1)

    @property
    def n_pairs(self) -> int:
        """Matched cases; the number of pairs in 1:1 matching (kept under this name for 1:1 callers)."""
        return self.n_sets

    def to_dict(self) -> dict:
        """Return counts, unmatched cases' row numbers, method, ratio, caliper, seed, balance before/after."""
        return {
            "method": self.method,
            "ratio": self.ratio,
            "n_sets": self.n_sets,
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
        """Return the matched table: one row per patient, each case followed by its controls (`pair_id`)."""
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


def _greedy_stratum(
    case_ages: np.ndarray, control_ages: np.ndarray, caliper: float, ratio: int
) -> np.ndarray:
    """Per case (in the given order) the indices of its `ratio` controls, or -1s; controls used once."""
    order = np.argsort(control_ages, kind="stable")
    ages = control_ages[order]
    m = len(ages)
    right = np.arange(m + 1)  # right[i]: smallest free j >= i (m = none)
    left = np.arange(m + 1)  # left[i + 1]: largest free j <= i, shifted by one (0 = none)
    out = np.full((len(case_ages), ratio), -1)
    for c, age in enumerate(case_ages):
        pos = int(np.searchsorted(ages, age))
        r = _find(right, pos)
        lpos = _find(left, pos) - 1  # largest free index < pos, or -1
        picks: list[int] = []
        while len(picks) < ratio:
            dl = age - ages[lpos] if lpos >= 0 else np.inf
            dr = ages[r] - age if r < m else np.inf
            if min(dl, dr) > caliper:
                break
            if dr < dl:
                picks.append(r)
                r = _find(right, r + 1)
            else:
                picks.append(lpos)
                lpos = _find(left, lpos) - 1
        if len(picks) < ratio:
            continue
        for best in picks:
            right[best] = best + 1
            left[best + 1] = best
        out[c] = order[picks]
    return out


def _caliper_windows(a: np.ndarray, b: np.ndarray, caliper: float) -> tuple[np.ndarray, np.ndarray]:
    """For ascending case ages `a` and control ages `b`: per case [lo, end), the controls within the caliper.

    lo counts the controls too young (b < a, |a - b| > caliper), m - end those too old, judged by the very
    test `abs(a - b) > caliper` a brute force would use; both only grow with the case's age.
    """
    lo = np.searchsorted(b, a - caliper, side="left")
    end = np.searchsorted(b, a + caliper, side="right")
    m = len(b)
    for i, age in enumerate(a):
        while lo[i] < m and b[lo[i]] < age and abs(age - b[lo[i]]) > caliper:
            lo[i] += 1
        while lo[i] > 0 and not (b[lo[i] - 1] < age and abs(age - b[lo[i] - 1]) > caliper):
            lo[i] -= 1
        while end[i] > 0 and b[end[i] - 1] > age and abs(age - b[end[i] - 1]) > caliper:
            end[i] -= 1
        while end[i] < m and not (b[end[i]] > age and abs(age - b[end[i]]) > caliper):
            end[i] += 1
    return lo, end


def _optimal_stratum(
    case_ages: np.ndarray, control_ages: np.ndarray, caliper: float, ratio: int
) -> np.ndarray:
    """Per case the indices of its `ratio` controls (or -1s): most complete sets, then least distance.

    F_i(j), the best (sets, -distance) for the i youngest cases using the j youngest controls, is kept as
    one number sets * big - distance (big exceeds any total distance); case i either stays unmatched, or
    takes the block of controls j - K .. j - 1 (all within its caliper window), or control j - 1 is unused.
    """
    k = ratio
    n = len(case_ages)
    out = np.full((n, k), -1)
    corder = np.argsort(case_ages, kind="stable")
    korder = np.argsort(control_ages, kind="stable")
    a, b = case_ages[corder], control_ages[korder]
    m = len(b)
    if n == 0 or m < k:
        return out
    widest = max(abs(a[-1] - b[0]), abs(b[-1] - a[0]))
    big = k * n * min(caliper, widest) + 1.0
    lo, end = _caliper_windows(a, b, caliper)
    f = np.zeros(m + 1)
    codes = []  # per case, over j in [lo, end]: 0 control j-1 unused, 1 case unmatched, 2 case takes block
    for i in range(n):
        lo_i, end_i = int(lo[i]), int(end[i])
        value = f[lo_i : end_i + 1].copy()
        code = np.ones(len(value), np.int8)
        if end_i - lo_i >= k:
            starts = np.arange(lo_i, end_i - k + 1)
            cost = np.zeros(len(starts))
            for t in range(k):
                cost += np.abs(a[i] - b[starts + t])
            take = f[lo_i : end_i - k + 1] + big - cost
            better = take > value[k:]
            value[k:] = np.where(better, take, value[k:])
            code[k:][better] = 2
        best = np.maximum.accumulate(value)
        code[value < best] = 0
        f[lo_i : end_i + 1] = best
        f[end_i + 1 :] = best[-1]  # later controls are beyond the windows of this case and all younger ones
        codes.append(code)
    j = m
    for i in range(n - 1, -1, -1):
        lo_i, code = int(lo[i]), codes[i]
        j = min(j, int(end[i]))
        while j > lo_i and code[j - lo_i] == 0:
            j -= 1
        if j >= lo_i and code[j - lo_i] == 2:
            out[corder[i]] = korder[j - k : j]
            j -= k
    return out


def match_controls(
    table: pd.DataFrame,
    caliper: float = DEFAULT_CALIPER,
    seed: int = DEFAULT_SEED,
    outcome: str = OUTCOME,
    age: str = AGE,
    sex: str = SEX,
    *,
    method: str = DEFAULT_METHOD,
    ratio: int = DEFAULT_RATIO,
) -> MatchResult:
    """Match cases to `ratio` controls each: same sex, age within `caliper` years, without replacement.

    `greedy` is MatchIt's `method="nearest", m.order="random"`; `optimal` solves each sex stratum exactly
    (module docstring).

    Parameters
    ----------
    table : DataFrame
        The cohort; rows missing the outcome, age or sex are not matched.
    caliper : float
        The largest age difference in years within a set.
    seed : int
        Seeds the greedy method's random order of cases (the optimal method does not use it).
    outcome, age, sex : str
        The columns holding them (1 = case, 0 = control).
    method : str
        "optimal" or "greedy".
    ratio : int
        Controls per case (1:K); a case that cannot get K is left unmatched.

    Returns
    -------
    MatchResult
        The matched table (the columns kept, `pair_id` added), counts and balance before and after.

    Raises
    ------
    AnalysisError
        If the caliper is negative, the method unknown, the ratio not a whole number >= 1, a column is
        missing, or there are no cases or no controls.
    """
    if caliper < 0:
        raise AnalysisError(f"the caliper must not be negative (got {caliper:g})")
    if method not in METHODS:
        raise AnalysisError(f"the matching method must be optimal or greedy (got '{method}')")
    if isinstance(ratio, bool) or not isinstance(ratio, int | np.integer) or ratio < 1:
        raise AnalysisError(
            f"the number of controls per case must be a whole number of at least 1 (got {ratio})"
        )
    ratio = int(ratio)
    for column in (outcome, age, sex):
        if column not in table.columns:
            raise AnalysisError(f"matching needs a '{column}' column")
    usable = table[table[age].notna() & table[sex].notna() & table[outcome].notna()]
    y = usable[outcome].to_numpy(float)
    if not (y == 1).any() or not (y == 0).any():
        raise AnalysisError(f"matching needs cases and controls (has {(y == 1).sum()} and {(y == 0).sum()})")
    cases = usable[y == 1]
    if method == "greedy":
        cases = cases.iloc[np.random.default_rng(seed).permutation(len(cases))]
    solve = _greedy_stratum if method == "greedy" else _optimal_stratum
    controls = usable[y == 0]
    sets: list[tuple[int, list[int]]] = []  # (case position in table, control positions)
    for value in pd.unique(cases[sex]):
        cs = cases[cases[sex] == value]
        ks = controls[controls[sex] == value]
        if ks.empty:
            continue
        picked = solve(cs[age].to_numpy(float), ks[age].to_numpy(float), float(caliper), ratio)
        case_pos = table.index.get_indexer(cs.index)
        control_pos = table.index.get_indexer(ks.index)
        for c, row in zip(case_pos, picked, strict=True):
            if row[0] >= 0:
                sets.append((int(c), sorted(int(p) for p in control_pos[row])))
    sets.sort()
    positions = [p for c, ks_ in sets for p in (c, *ks_)]
    matched = table.iloc[positions].copy()
    matched[PAIR_ID] = np.repeat([f"m{i + 1}" for i in range(len(sets))], ratio + 1) if sets else []
    is_case = (table[outcome] == 1).to_numpy()
    matched_case = np.zeros(len(table), bool)
    matched_case[[c for c, _ in sets]] = True
    unmatched = table.loc[is_case & ~matched_case]
    before = balance(usable.drop(columns=[PAIR_ID], errors="ignore"), outcome)
    after = balance(matched.drop(columns=[PAIR_ID]), outcome) if sets else {}
    return MatchResult(matched, unmatched, before, after, float(caliper), int(seed), method, ratio)
