"""Intraclass correlation: the six Shrout & Fleiss (1979) forms with F-based 95% CIs, from a long table.

ICC1/ICC1k: one-way random (each subject rated by different raters); ICC2/ICC2k: two-way random, absolute
agreement; ICC3/ICC3k: two-way mixed, consistency; the `k` forms are the reliability of the mean of the k
raters. CIs follow Shrout & Fleiss (1979) and McGraw & Wong (1996) (ICC2 with Satterthwaite's df), as R's
psych::ICC. For intra-rater reliability pass the session/repeat as the rater. Only subjects rated by every
rater are used (a balanced design); the others are counted and named in `warnings`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.estimates import CI, JsonResult

FORMS = ("ICC1", "ICC2", "ICC3", "ICC1k", "ICC2k", "ICC3k")
DESCRIPTIONS = {
    "ICC1": "single rater, one-way random",
    "ICC2": "single rater, two-way random, absolute agreement",
    "ICC3": "single rater, two-way mixed, consistency",
    "ICC1k": "mean of k raters, one-way random",
    "ICC2k": "mean of k raters, two-way random, absolute agreement",
    "ICC3k": "mean of k raters, two-way mixed, consistency",
}


@dataclass(frozen=True)
class IccForm(JsonResult):
    """One ICC form: estimate, 95% CI, and its F test against ICC = 0."""

    form: str
    icc: float
    ci: CI
    f: float
    df1: float
    df2: float
    p_value: float


@dataclass(frozen=True)
class IccResult:
    """The six Shrout & Fleiss forms for one table of n subjects rated by k raters."""

    forms: tuple[IccForm, ...]
    n_subjects: int
    n_raters: int
    warnings: tuple[str, ...] = ()

    def __getitem__(self, form: str) -> IccForm:
        """Return the form named `form` (one of FORMS, e.g. "ICC2")."""
        return next(f for f in self.forms if f.form == form)

    def to_dict(self) -> dict:
        """DESIGN §4's `icc` JSON ({"ICC1": {"icc", "ci", ...}, ...}) plus n_subjects, n_raters, warnings."""
        out: dict = {f.form: f.to_dict() for f in self.forms}
        out.update(n_subjects=self.n_subjects, n_raters=self.n_raters, warnings=list(self.warnings))
        return out

    def to_frame(self) -> pd.DataFrame:
        """One row per form: form, description, ICC, CI bounds, F, df, p."""
        return pd.DataFrame(
            [
                {"form": f.form, "description": DESCRIPTIONS[f.form], "icc": f.icc, "ci_low": f.ci[0],
                 "ci_high": f.ci[1], "f": f.f, "df1": f.df1, "df2": f.df2, "p_value": f.p_value}
                for f in self.forms
            ]
        )  # fmt: skip


def icc_wide(ratings: np.ndarray, level: float = 0.95, warnings: tuple[str, ...] = ()) -> IccResult:
    """Compute the six ICC forms from an n x k matrix (subjects x raters), as R's `psych::ICC`.

    The ratings are divided by their largest absolute value before the ANOVA sums: the ICC, its CI and F
    are scale-invariant, and 1e200 or 1e-200 would otherwise overflow or underflow the squares.

    Parameters
    ----------
    ratings : ndarray
        n subjects x k raters, no missing values.
    level : float
        The CIs' level.
    warnings : tuple of str
        Notes carried into the result (what `icc_long` left out or averaged).

    Returns
    -------
    IccResult
        The six forms with CIs and F tests.

    Raises
    ------
    AnalysisError
        If there are fewer than 2 subjects or raters, a rating is missing or infinite, or every rating is
        the same value (the ICC is undefined).
    """
    x = np.asarray(ratings, dtype=float)
    n, k = x.shape
    if n < 2 or k < 2:
        raise AnalysisError(f"the ICC needs at least 2 subjects and 2 raters (has {n} and {k})")
    if np.isinf(x).any():
        raise AnalysisError("a rating is infinite (e.g. 'inf' or 1e400 typed in a cell): correct it")
    if not np.isfinite(x).all():
        raise AnalysisError("the ICC needs every subject rated by every rater")
    scale = np.abs(x).max()
    if scale > 0:
        x = x / scale
    grand = x.mean()
    ss_rows = k * ((x.mean(axis=1) - grand) ** 2).sum()
    ss_cols = n * ((x.mean(axis=0) - grand) ** 2).sum()
    ss_total = ((x - grand) ** 2).sum()
    bms = ss_rows / (n - 1)
    wms = (ss_total - ss_rows) / (n * (k - 1))
    jms = ss_cols / (k - 1)
    ems = (ss_total - ss_rows - ss_cols) / ((n - 1) * (k - 1))
    if bms == 0 and wms == 0:
        raise AnalysisError("every rating is the same value: the ICC is undefined")
    alpha = 1 - level
    with np.errstate(divide="ignore", invalid="ignore"):
        icc1 = (bms - wms) / (bms + (k - 1) * wms)
        icc2 = (bms - ems) / (bms + (k - 1) * ems + k * (jms - ems) / n)
        icc3 = (bms - ems) / (bms + (k - 1) * ems)
        icc1k = (bms - wms) / bms
        icc2k = (bms - ems) / (bms + (jms - ems) / n)
        icc3k = (bms - ems) / bms

        def f_bounds(f: float, df1: float, df2: float) -> CI:
            return f / stats.f.ppf(1 - alpha / 2, df1, df2), f * stats.f.ppf(1 - alpha / 2, df2, df1)

        df1_1, df2_1 = n - 1, n * (k - 1)
        f1 = bms / wms
        l1, u1 = f_bounds(f1, df1_1, df2_1)
        df1_3, df2_3 = n - 1, (n - 1) * (k - 1)
        f3 = bms / ems
        l3, u3 = f_bounds(f3, df1_3, df2_3)
        fj = jms / ems
        vn = (k - 1) * (n - 1) * (k * icc2 * fj + n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        vd = (n - 1) * k**2 * icc2**2 * fj**2 + (n * (1 + (k - 1) * icc2) - k * icc2) ** 2
        v = vn / vd
        f_up = stats.f.ppf(1 - alpha / 2, n - 1, v)
        f_low = stats.f.ppf(1 - alpha / 2, v, n - 1)
        l2 = n * (bms - f_up * ems) / (f_up * (k * jms + (k * n - k - n) * ems) + n * bms)
        u2 = n * (f_low * bms - ems) / (k * jms + (k * n - k - n) * ems + n * f_low * bms)

    def p(f: float, df1: float, df2: float) -> float:
        return float(stats.f.sf(f, df1, df2)) if np.isfinite(f) else float("nan")

    def form(name: str, icc: float, ci: CI, f: float, df1: float, df2: float) -> IccForm:
        if icc == 1.0 and not np.all(np.isfinite(ci)):  # perfect agreement: F infinite, the CI is [1, 1]
            ci = (1.0, 1.0)
        return IccForm(
            name, float(icc), (float(ci[0]), float(ci[1])), float(f), float(df1), float(df2), p(f, df1, df2)
        )

    with np.errstate(divide="ignore", invalid="ignore"):  # exact agreement: F is infinite
        forms = (
            form("ICC1", icc1, ((l1 - 1) / (l1 + k - 1), (u1 - 1) / (u1 + k - 1)), f1, df1_1, df2_1),
            form("ICC2", icc2, (l2, u2), f3, df1_3, df2_3),
            form("ICC3", icc3, ((l3 - 1) / (l3 + k - 1), (u3 - 1) / (u3 + k - 1)), f3, df1_3, df2_3),
            form("ICC1k", icc1k, (1 - 1 / l1, 1 - 1 / u1), f1, df1_1, df2_1),
            form(
                "ICC2k", icc2k, (l2 * k / (1 + l2 * (k - 1)), u2 * k / (1 + u2 * (k - 1))), f3, df1_3, df2_3
            ),
            form("ICC3k", icc3k, (1 - 1 / l3, 1 - 1 / u3), f3, df1_3, df2_3),
        )
    return IccResult(forms, n, k, warnings)


def icc_long(table: pd.DataFrame, subject: str, rater: str, value: str, level: float = 0.95) -> IccResult:
    """Compute the six ICC forms from a long table, one row per subject, rater and value.

    Duplicate ratings are averaged and subjects not rated by every rater are left out (both reported in
    `warnings`), so that the design is balanced as `icc_wide` needs. `subject`, `rater` and `value` name
    the columns; for intra-rater reliability the session is the rater.

    Returns
    -------
    IccResult
        As `icc_wide`.

    Raises
    ------
    AnalysisError
        If no row has all three values, a rating is infinite (naming its row or subject), or for
        `icc_wide`'s reasons.
    """
    rows = table[[subject, rater, value]].dropna()
    if rows.empty:
        raise AnalysisError("no ratings with a subject, a rater and a value")
    values = pd.to_numeric(rows[value], errors="coerce").to_numpy(float)
    if np.isinf(values).any():
        row = rows.index[np.flatnonzero(np.isinf(values))[0]]
        where = f"row {row}" if isinstance(row, (int, np.integer)) else f"subject '{rows.at[row, subject]!s}'"
        raise AnalysisError(
            f"{where}, column '{value}': the rating is infinite (e.g. 'inf' or 1e400): correct it"
        )
    scale = np.abs(values).max()
    if scale > 0:  # scale-invariant; averaging repeated ratings of 1e308 would overflow
        rows = rows.assign(**{value: values / scale})
    notes = []
    dupes = int(rows.duplicated([subject, rater]).sum())
    if dupes:
        notes.append(f"{dupes} repeated rating(s) of the same subject by the same rater were averaged")
    wide = rows.pivot_table(index=subject, columns=rater, values=value, aggfunc="mean")
    complete = wide.dropna()
    dropped = len(wide) - len(complete)
    if dropped:
        notes.append(f"{dropped} subject(s) not rated by every rater were left out")
    return icc_wide(complete.to_numpy(float), level, tuple(notes))
