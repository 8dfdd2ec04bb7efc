"""Table 1: the two groups compared per variable (n, mean ± SD, median [IQR], test, SMD) and sex.

Numbers use a paired t-test over `pair_id` pairs (one case and one control with a value each) when pairs
are given, else Welch's t-test; sex uses McNemar's test over pairs (exact binomial when fewer than 25
discordant pairs) or the chi-square test (Yates-corrected for 2 x 2). All vectorised: pairs are joined by
index, never looped over.
"""

from __future__ import annotations

import enum
import warnings
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd

from ovcf_core.schema import OUTCOME, SEX
from ovcf_core.stats.distributions import (
    chi2_contingency_2x2,
    mcnemar,
    paired_t,
    welch_t,
)
from ovcf_core.stats.nonparametric import mann_whitney_p, wilcoxon_p

EXACT_MCNEMAR_BELOW = 25


class GroupTest(enum.StrEnum):
    """The test used to compare cases with controls."""

    PAIRED_T = "paired_t"
    WELCH_T = "welch_t"
    MCNEMAR = "mcnemar"
    CHI_SQUARE = "chi_square"


@dataclass(frozen=True)
class GroupSummary:
    """Descriptive statistics of one group: n, mean, SD (ddof 1), median and quartiles."""

    n: int
    mean: float
    sd: float
    median: float
    q1: float
    q3: float

    def to_dict(self) -> dict:
        """Return the plain JSON-ready values."""
        return asdict(self)


def summarize(values: np.ndarray) -> GroupSummary:
    """n, mean, SD, median and quartiles of the finite values (NaN where there are too few)."""
    x = np.asarray(values, dtype=float)
    x = x[np.isfinite(x)]
    if len(x) == 0:
        nan = float("nan")
        return GroupSummary(0, nan, nan, nan, nan, nan)
    q1, median, q3 = _quartiles(np.sort(x))
    sd = float(np.std(x, ddof=1)) if len(x) > 1 else float("nan")
    return GroupSummary(len(x), float(x.mean()), sd, median, q1, q3)


def _quartiles(ordered: np.ndarray) -> tuple[float, float, float]:
    """Return the 25th, 50th and 75th percentiles of ascending values, exactly as `np.percentile`.

    numpy's default (linear) method: the value at position q(n - 1), interpolated between its two
    neighbours with numpy's own two-sided formula. From one sort (fast for large groups) rather than
    numpy's partition per call.
    """
    found = []
    for q in (0.25, 0.5, 0.75):
        position = q * (len(ordered) - 1)
        low = int(np.floor(position))
        t = position - low
        a, b = float(ordered[low]), float(ordered[min(low + 1, len(ordered) - 1)])
        found.append(b - (b - a) * (1 - t) if t >= 0.5 else a + (b - a) * t)
    return found[0], found[1], found[2]


def smd(cases: GroupSummary, controls: GroupSummary) -> float:
    """Standardised mean difference (cases - controls) / sqrt((SD_cases² + SD_controls²) / 2)."""
    pooled = np.sqrt((cases.sd**2 + controls.sd**2) / 2)
    return float((cases.mean - controls.mean) / pooled) if pooled > 0 else float("nan")


def _integer_codes(labels: pd.Series) -> np.ndarray | None:
    """Pair labels that are already small non-negative integers (missing = NaN) as codes (-1 = none)."""
    if not pd.api.types.is_numeric_dtype(labels) or pd.api.types.is_bool_dtype(labels):
        return None
    values = labels.to_numpy(float)
    known = np.isfinite(values)
    if not known.any():
        return np.full(len(values), -1, dtype=np.int64)
    kept = values[known]
    if kept.min() < 0 or kept.max() > 4 * len(values) + 1024 or not np.array_equal(kept, np.floor(kept)):
        return None
    return np.where(known, values, -1).astype(np.int64)


def pair_codes(table: pd.DataFrame, outcome: str = OUTCOME, pair: str = "pair_id") -> np.ndarray:
    """Per row the code of its complete pair (exactly one case and one control), else -1; vectorised."""
    codes = _integer_codes(table[pair])
    if codes is None:
        codes, _ = pd.factorize(table[pair])
    return complete_pair_codes(codes, table[outcome].to_numpy(float))


def complete_pair_codes(codes: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Per row its pair label's code (-1 = none) where the pair is complete (one case, one control), else -1.

    `y` is the rows' 0/1 outcome (NaN = unknown: the row is in no pair).
    """
    known = (codes >= 0) & np.isfinite(y)
    size = np.bincount(codes[known], minlength=codes.max() + 1 if len(codes) else 0)
    cases = np.bincount(codes[known], weights=(y[known] == 1), minlength=len(size))
    good = (size == 2) & (cases == 1)
    return np.where(known & good[np.clip(codes, 0, None)] if len(size) else known, codes, -1)


@dataclass(frozen=True)
class PairRows:
    """Where each complete pair's case and control are in a table: row positions, in pair-code order.

    Made once from `pair_codes` for all the paired tests of one table (`PairRows.of`), so that each test
    takes its two columns by position instead of matching the rows again.
    """

    labels: np.ndarray  # the complete pairs' codes, ascending
    case: np.ndarray  # the row position of each pair's case ...
    control: np.ndarray  # ... and of its control

    @classmethod
    def of(cls, codes: np.ndarray, y: np.ndarray) -> PairRows:
        """Locate the pairs of `pair_codes` output `codes` given the 0/1 outcome `y` of the same rows."""
        kept = np.flatnonzero(codes >= 0)
        kept_codes, is_case = codes[kept], y[kept] == 1
        slots = int(kept_codes.max()) + 1 if len(kept) else 0
        case, control = np.full(slots, -1), np.full(slots, -1)
        case[kept_codes[is_case]], control[kept_codes[~is_case]] = kept[is_case], kept[~is_case]
        labels = np.flatnonzero(case >= 0)  # a complete pair has exactly one case and one control
        return cls(labels, case[labels], control[labels])


def complete_pairs(
    table: pd.DataFrame,
    column: str,
    outcome: str = OUTCOME,
    pair: str = "pair_id",
    codes: np.ndarray | PairRows | None = None,
) -> pd.DataFrame:
    """Pair up the cases and controls that both have `column`: one row per 1:1 pair (case, control).

    `codes` may hold `pair_codes(table, outcome, pair)` or its `PairRows`, computed once for several
    columns; it is used when every row has `column` (otherwise the pairs are counted again on the rows
    that have it).
    """
    has = table[column].notna().to_numpy()
    if column != SEX:
        has = has & np.isfinite(table[column].to_numpy(float))
    y = table[outcome].to_numpy(float)
    if codes is None or not has.all():
        rows = table.loc[has, [outcome, pair]]
        sub = table.loc[has, column]
        pairs = PairRows.of(pair_codes(rows, outcome, pair), rows[outcome].to_numpy(float))
    else:
        sub = table[column]
        pairs = codes if isinstance(codes, PairRows) else PairRows.of(codes, y)
    values = sub.to_numpy()
    return pd.DataFrame(
        {"case": values[pairs.case], "control": values[pairs.control]},
        index=pd.Index(pairs.labels, name=pair),
    )


@dataclass(frozen=True)
class GroupComparison:
    """One numeric variable in cases vs controls: summaries, the test, its p-value and the SMD."""

    variable: str
    cases: GroupSummary
    controls: GroupSummary
    test: GroupTest
    statistic: float
    p_value: float
    n_pairs: int | None
    smd: float
    p_mannwhitney: float = float("nan")  # Mann-Whitney U, two-sided (scipy's default method)
    p_wilcoxon: float | None = None  # Wilcoxon signed-rank over the pairs (None without pairs)

    def to_dict(self) -> dict:
        """Return JSON-ready values, the test as its name."""
        out = asdict(self)
        out["test"] = str(self.test)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row: variable, per-group n / mean / SD / median / IQR, test, p, SMD, rank-test p."""
        row: dict[str, object] = {"variable": self.variable}
        for name, g in (("cases", self.cases), ("controls", self.controls)):
            row.update({f"{k}_{name}": v for k, v in g.to_dict().items()})
        row.update(test=str(self.test), statistic=self.statistic, p_value=self.p_value, smd=self.smd)
        row.update(p_mannwhitney=self.p_mannwhitney, p_wilcoxon=self.p_wilcoxon)
        return pd.DataFrame([row])


def compare_groups(
    table: pd.DataFrame,
    column: str,
    outcome: str = OUTCOME,
    pair: str | None = None,
    *,
    mann_whitney: bool = True,
    codes: np.ndarray | PairRows | None = None,
) -> GroupComparison:
    """Compare `column` between cases and controls, as scipy's t tests (Table 1's numeric rows).

    Paired t (and Wilcoxon signed-rank) over complete pairs when `pair` is given (and has at least two
    usable pairs), else Welch's t-test; the Mann-Whitney p beside them unless `mann_whitney` is False
    (the analysis fills it in from its AUC). `codes`: the table's `pair_codes`, when already computed
    (see `complete_pairs`).
    """
    y = table[outcome].to_numpy(float)
    x = table[column].to_numpy(float)
    cases, controls = summarize(x[y == 1]), summarize(x[y == 0])
    a, b = x[(y == 1) & np.isfinite(x)], x[(y == 0) & np.isfinite(x)]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        p_mw = mann_whitney_p(a, b) if mann_whitney and len(a) and len(b) else float("nan")
        if pair is not None and pair in table.columns:
            pairs = complete_pairs(table, column, outcome, pair, codes)
            if len(pairs) >= 2:
                case, control = pairs["case"].to_numpy(float), pairs["control"].to_numpy(float)
                t, p = paired_t(case, control)
                return GroupComparison(
                    column, cases, controls, GroupTest.PAIRED_T, t, p, len(pairs), smd(cases, controls),
                    p_mw, wilcoxon_p(case - control),
                )  # fmt: skip
        stat, p = welch_t(a, b)  # NaN when a group has fewer than two values
    return GroupComparison(
        column, cases, controls, GroupTest.WELCH_T, stat, p, None, smd(cases, controls), p_mw
    )


@dataclass(frozen=True)
class SexComparison:
    """Sex in cases vs controls: counts of women, the test (McNemar over pairs, or chi-square) and p."""

    female_cases: int
    n_cases: int
    female_controls: int
    n_controls: int
    test: GroupTest
    statistic: float
    p_value: float
    n_pairs: int | None

    def to_dict(self) -> dict:
        """Return JSON-ready values, the test as its name."""
        out = asdict(self)
        out["test"] = str(self.test)
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row with the counts, the test and p."""
        return pd.DataFrame([self.to_dict()])


def compare_sex(
    table: pd.DataFrame,
    outcome: str = OUTCOME,
    pair: str | None = None,
    codes: np.ndarray | PairRows | None = None,
) -> SexComparison:
    """Compare sex (F/M) between the groups: McNemar's test over complete pairs, else chi-square.

    McNemar's when `pair` is given (`codes`: the table's `pair_codes`, when already computed).
    """
    rows = table[[outcome, SEX]].dropna()
    female = rows[SEX] == "F"
    y = rows[outcome]
    fc, nc = int((female & (y == 1)).sum()), int((y == 1).sum())
    fk, nk = int((female & (y == 0)).sum()), int((y == 0).sum())
    if pair is not None and pair in table.columns:
        pairs = complete_pairs(table, SEX, outcome, pair, codes)
        if len(pairs) >= 2:
            case_f, control_f = pairs["case"] == "F", pairs["control"] == "F"
            grid = np.array(
                [[(case_f & control_f).sum(), (case_f & ~control_f).sum()],
                 [(~case_f & control_f).sum(), (~case_f & ~control_f).sum()]]
            )  # fmt: skip
            discordant = grid[0, 1] + grid[1, 0]
            stat, p = mcnemar(grid[0, 1], grid[1, 0], exact=discordant < EXACT_MCNEMAR_BELOW)
            stat = stat if discordant else float("nan")
            return SexComparison(fc, nc, fk, nk, GroupTest.MCNEMAR, stat, p, len(pairs))
    grid = np.array([[fc, nc - fc], [fk, nk - fk]])
    if (grid.sum(axis=0) == 0).any() or (grid.sum(axis=1) == 0).any():
        return SexComparison(fc, nc, fk, nk, GroupTest.CHI_SQUARE, float("nan"), float("nan"), None)
    chi2, p = chi2_contingency_2x2(grid)
    return SexComparison(fc, nc, fk, nk, GroupTest.CHI_SQUARE, chi2, p, None)


@dataclass(frozen=True)
class Table1:
    """The paper's Table 1: every numeric variable compared between groups, and sex."""

    rows: tuple[GroupComparison, ...]
    sex: SexComparison | None

    def to_dict(self) -> dict:
        """Return DESIGN §4's `table1` JSON: a row per variable by name, and sex."""
        return {
            "rows": {r.variable: r.to_dict() for r in self.rows},
            "sex": None if self.sex is None else self.sex.to_dict(),
        }

    def to_frame(self) -> pd.DataFrame:
        """One row per numeric variable (see `GroupComparison.to_frame`)."""
        frames = [r.to_frame() for r in self.rows]
        return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def table1(
    table: pd.DataFrame,
    columns: list[str],
    outcome: str = OUTCOME,
    pair: str | None = None,
    codes: np.ndarray | PairRows | None = None,
) -> Table1:
    """Build Table 1 over `columns` (those present with at least one value), and sex when present.

    Each row is `compare_groups`, sex `compare_sex` (`codes`: the table's `pair_codes` or `PairRows`,
    when already computed).
    """
    rows = tuple(
        compare_groups(table, c, outcome, pair, codes=codes)
        for c in columns
        if c in table.columns and c != SEX and table[c].notna().any()
    )
    has_sex = SEX in table.columns and table[SEX].notna().any()
    sex = compare_sex(table, outcome, pair, codes) if has_sex else None
    return Table1(rows, sex)
