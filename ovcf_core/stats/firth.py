"""Firth's penalised-likelihood logistic regression with profile penalised-likelihood CIs, as R `logistf`.

Heinze & Schemper (2002): maximise l*(b) = l(b) + ½·log det I(b), I(b) = X'WX, whose modified score is
U*(b) = X'(y − p + h·(½ − p)) with h the diagonal of the hat matrix W^½X(X'WX)⁻¹X'W^½. Estimates stay
finite under separation. As logistf's defaults (`pl = TRUE`): CIs are where the profile of l* drops by
χ²₁(1 − α)/2, and p-values are penalised likelihood-ratio tests; a restricted fit keeps the whole design
in the penalty and refits the other coefficients. The profile search (ProfileControl) brackets the
crossing and runs brentq by default; method="newton" takes Newton steps on the profile's signed root
(about half the profile points), and several="highest" makes the profile, where l* with b_j fixed has
several local maxima, the highest one found, as the profile's definition asks, instead of no bound.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np

from ovcf_core.errors import AnalysisError
from ovcf_core.stats.distributions import chi2_sf, normal_quantile
from ovcf_core.stats.separation import named_design

__all__ = ["FirthControl", "FirthFit", "ProfileControl", "fit_firth", "penalised_loglik"]


@dataclass(frozen=True)
class FirthFit:
    """A Firth logistic fit: per coefficient the estimate, SE (from I(b)⁻¹), profile CI and PL p-value."""

    names: tuple[str, ...]
    coef: tuple[float, ...]
    se: tuple[float, ...]
    ci_lower: tuple[float, ...]
    ci_upper: tuple[float, ...]
    p_value: tuple[float, ...]
    loglik: float
    n: int
    iterations: int
    alpha: float = 0.05
    method: str = "Firth penalised likelihood, profile penalised-likelihood CIs (logistf)"
    # per coefficient: why a CI bound or the p-value is NaN (not determined), or None
    ci_note: tuple[str | None, ...] = ()

    def note(self, name: str) -> str | None:
        """Why `name`'s CI bound or p-value is not reported, or None when all are."""
        i = self.names.index(name)
        return self.ci_note[i] if i < len(self.ci_note) else None

    @property
    def warnings(self) -> tuple[str, ...]:
        """One line per coefficient with an undetermined CI bound or p-value."""
        return tuple(f"{name}: {note}" for name, note in zip(self.names, self.ci_note, strict=False) if note)

    def to_dict(self) -> dict:
        """Return JSON-ready values: the fit's summary and, per coefficient, estimate, SE, CI, p and note."""
        return {
            "method": self.method,
            "n": self.n,
            "alpha": self.alpha,
            "loglik": self.loglik,
            "iterations": self.iterations,
            "coefficients": {
                name: {"coef": b, "se": s, "ci": [lo, hi], "p_value": p, "note": self.note(name)}
                for name, b, s, lo, hi, p in zip(
                    self.names, self.coef, self.se, self.ci_lower, self.ci_upper, self.p_value, strict=True
                )
            },
            "warnings": list(self.warnings),
        }

    def to_frame(self):
        """Return the coefficient table (pandas), one row per term, as `summary(logistf(...))`."""
        import pandas as pd

        return pd.DataFrame(
            {
                "coef": self.coef,
                "se": self.se,
                "ci_lower": self.ci_lower,
                "ci_upper": self.ci_upper,
                "p_value": self.p_value,
            },
            index=list(self.names),
        )

    def odds_ratio(self, name: str) -> tuple[float, float, float]:
        """(OR, CI low, CI high) of one term."""
        i = self.names.index(name)
        return math.exp(self.coef[i]), math.exp(self.ci_lower[i]), math.exp(self.ci_upper[i])


@dataclass(frozen=True)
class FirthControl:
    """Newton–Raphson controls of the point fit, with R `logistf.control()`'s defaults."""

    maxit: int = 25  # iterations
    maxhs: int = 5  # step-halvings in one iteration
    maxstep: float = 5.0  # largest change of any coefficient in one iteration
    lconv: float = 1e-5  # converged when l* rose by less than this,
    gconv: float = 1e-5  # every modified score is below this,
    xconv: float = 1e-5  # and every coefficient moved by at most this


@dataclass(frozen=True)
class ProfileControl:
    """Controls of the profile-likelihood CI search, with R `logistpl.control()`'s defaults."""

    maxit: int = 100  # profile evaluations per CI bound (bracketing plus root finding)
    maxhs: int = 5  # step-halvings in one iteration of each constrained fit
    maxstep: float = 5.0  # largest change of any coefficient in one iteration, and of a bracket step
    lconv: float = 1e-5  # constrained fits converged as logistf's point fit (l* change, step)
    xconv: float = 1e-5
    ortho: bool = False  # profile on the column orthogonalised against the others (same profile)
    # "newton" (the default): Newton's method on the profile's signed root (about half the profile points
    # of bracketing), then `several` decides at the bound; "bracket": bracket the crossing by doubling
    # steps, then brentq, refusing a bound as soon as a profile point has several local maxima
    method: str = "newton"
    # with "newton", where l* with b_j fixed has several local maxima at the bound: "highest" (the
    # default: the profile is the highest maximum found, as its definition asks; checked against a
    # brute-force global profile in the tests) or "refuse" (no bound, a note says why)
    several: str = "highest"


_POLISH_ITERATIONS = 200  # extra iterations after logistf's criteria hold, to full precision


@dataclass(frozen=True)
class _State:
    """l*, modified score and a factor of the Fisher information at one β, computed stably.

    I(b) = e^{2m}·R'R with R from the QR of S·X, S = e^{-m}·W^½ (m the largest log √w), so neither the
    weights nor det I(b) under- or overflow and no inverse is formed; h is the row sums of Q².
    """

    value: float
    score: np.ndarray
    r: np.ndarray
    log_scale: float  # 2m
    p: np.ndarray
    s: np.ndarray  # e^{-m}·√w


def _qr(a: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Reduced QR of a tall matrix by LAPACK's dgeqrf and dorgqr, as numpy's qr, without its overhead."""
    from scipy.linalg import lapack

    n, k = a.shape
    if n < k:  # (a wide matrix: numpy's reduced QR)
        return np.linalg.qr(a)
    packed, tau, _, _ = lapack.dgeqrf(a)
    r = np.triu(packed[:k])
    q, _, _ = lapack.dorgqr(packed, tau)
    return q, r


def _state(beta: np.ndarray, y: np.ndarray, X: np.ndarray) -> _State:
    """l*(b), U*(b) and the scaled R factor of X'WX; l* is −inf where X'WX is singular."""
    eta = X @ beta
    log_p = -np.logaddexp(0.0, -eta)
    log_q = -np.logaddexp(0.0, eta)
    p = np.exp(log_p)
    loglik = float(np.sum(np.where(y == 1, log_p, log_q)))
    log_sqrt_w = 0.5 * (log_p + log_q)
    m = float(np.max(log_sqrt_w))
    s = np.exp(log_sqrt_w - m)
    q, r = _qr(s[:, None] * X)
    diag = np.abs(np.diag(r))
    k = X.shape[1]
    if not np.all(diag > 0) or not np.isfinite(m):
        return _State(-math.inf, np.zeros(k), r, 2 * m, p, s)
    logdet = 2.0 * float(np.sum(np.log(diag))) + 2.0 * k * m
    h = np.sum(q**2, axis=1)
    score = X.T @ (y - p + h * (0.5 - p))
    return _State(loglik + 0.5 * logdet, score, r, 2 * m, p, s)


def _neg_hessian(state: _State, X: np.ndarray) -> np.ndarray:
    """−∂²l*/∂b∂b' exactly: I(b) − ½[Σ w''ᵢ gᵢ xᵢxᵢ' − C'C], gᵢ = xᵢ'I⁻¹xᵢ, C = Σ w'ᵢ vec(ḡᵢḡᵢ') xᵢ'.

    From ∂² log det I = tr(I⁻¹I_rs) − tr(I⁻¹I_s I⁻¹I_r) with w' = w(1 − 2p), w'' = w(1 − 6p + 6p²) and
    ḡᵢ = R⁻ᵀxᵢ (I = R'R, so gᵢ = |ḡᵢ|² and the second term's Σᵢₗ w'ᵢw'ₗ(xᵢ'I⁻¹xₗ)² xᵢxₗ' is C'C);
    O(n·k³), in the scaled weights so nothing under- or overflows.
    """
    p, s2 = state.p, state.s**2  # s² = w·e^{-2m}
    r_inv = np.linalg.inv(state.r)  # k×k upper triangular (numpy's inverse: scipy's wrapper costs ms)
    g_bar = X @ r_inv  # rows e^{m}·ḡᵢ
    g = np.sum(g_bar**2, axis=1)  # e^{2m}·gᵢ
    first = X.T @ (X * (s2 * (1 - 6 * p + 6 * p**2) * g)[:, None])
    n, k = X.shape
    # C as a k²×k matrix, C[(a,b), r] = Σᵢ ḡᵢₐ ḡᵢᵦ w'ᵢ xᵢᵣ: two matrix products, no k²×k² Kronecker factor
    pairs = (g_bar[:, :, None] * g_bar[:, None, :]).reshape(n, k * k)
    c = pairs.T @ (X * (s2 * (1 - 2 * p))[:, None])
    return math.exp(state.log_scale) * (state.r.T @ state.r) - 0.5 * (first - c.T @ c)


def _parts(beta: np.ndarray, y: np.ndarray, X: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """(l*(b), modified score U*(b), Fisher information I(b)) at b."""
    state = _state(beta, y, X)
    return state.value, state.score, math.exp(state.log_scale) * (state.r.T @ state.r)


def penalised_loglik(beta: np.ndarray, y: np.ndarray, X: np.ndarray) -> float:
    """Firth's penalised log-likelihood l(b) + ½·log det(X'WX) (logistf's `loglik`)."""
    return _state(np.asarray(beta, float), np.asarray(y, float), np.asarray(X, float)).value


def _covariance(state: _State) -> np.ndarray:
    """I(b)⁻¹ from the triangular factor (two triangular solves, no explicit inverse of X'WX)."""
    r_inv = np.linalg.inv(state.r)
    return (r_inv @ r_inv.T) * math.exp(-state.log_scale)


def _step(state: _State, X: np.ndarray, free: np.ndarray, maxstep: float) -> np.ndarray:
    """Take a Newton–Raphson step on the free coefficients, scaled to move none more than maxstep.

    The step is (−∂U*/∂b)⁻¹U*, or logistf's I⁻¹U* where −∂U*/∂b is not positive definite.
    """
    step = np.zeros(len(free))
    if not free.any():
        return step
    try:
        chol = np.linalg.cholesky(_neg_hessian(state, X)[np.ix_(free, free)])  # raises unless PD
        direction = np.linalg.solve(chol.T, np.linalg.solve(chol, state.score[free]))
        log_factor = 0.0
    except np.linalg.LinAlgError:
        _, r_free = np.linalg.qr(state.r[:, free])  # I_ff = e^{2m}·R_f'R_f
        if not np.all(np.abs(np.diag(r_free)) > 0):
            raise AnalysisError("the Firth fit did not converge (singular information matrix)") from None
        direction = np.linalg.solve(r_free, np.linalg.solve(r_free.T, state.score[free]))
        log_factor = -state.log_scale  # e^{-2m} can overflow where the direction is tiny: cap in logs
    biggest = float(np.max(np.abs(direction)))
    if not math.isfinite(biggest):
        raise AnalysisError("the Firth fit did not converge (singular information matrix)")
    if biggest == 0.0:
        return step
    if math.log(biggest) + log_factor > math.log(maxstep):
        step[free] = direction * (maxstep / biggest)
    else:
        step[free] = direction * math.exp(log_factor)
    return step


def _iterate(
    y: np.ndarray,
    X: np.ndarray,
    state: _State,
    beta: np.ndarray,
    free: np.ndarray,
    maxstep: float,
    maxhs: int,
) -> tuple[np.ndarray, _State, np.ndarray]:
    """One logistf iteration: the capped step, halved up to maxhs times until l* does not fall."""
    delta = _step(state, X, free, maxstep)
    trial, new = beta, state
    for halvings in range(maxhs + 1):
        trial = beta + delta / 2**halvings
        new = _state(trial, y, X)
        if new.value >= state.value:
            break
    if not math.isfinite(new.value):
        raise AnalysisError("the Firth fit did not converge (the information matrix became singular)")
    return trial, new, delta


def _maximise(
    y: np.ndarray,
    X: np.ndarray,
    beta: np.ndarray,
    free: np.ndarray,
    control: FirthControl | ProfileControl = FirthControl(),
) -> tuple[np.ndarray, float, int]:
    """Maximise l* over the free coefficients as logistf.fit does.

    Newton–Raphson with I(b) for the Hessian, each step capped at maxstep and halved up to maxhs times,
    converged when the step ≤ xconv, the modified score < gconv and the l* change < lconv within maxit
    iterations; then iterated on while the steps keep shrinking so the
    estimate is the maximiser to rounding, not just within xconv of it.
    """
    gconv = control.gconv if isinstance(control, FirthControl) else math.inf
    beta = np.asarray(beta, float).copy()
    state = _state(beta, y, X)
    if not math.isfinite(state.value):
        raise AnalysisError("the Firth fit did not converge (singular information matrix at the start)")
    if not free.any():
        return beta, state.value, 0
    iterations = 0
    while iterations < control.maxit:
        iterations += 1
        score = state.score
        new_beta, new, delta = _iterate(y, X, state, beta, free, control.maxstep, control.maxhs)
        change = new.value - state.value
        beta, state = new_beta, new
        if (
            np.max(np.abs(delta[free])) <= control.xconv
            and np.max(np.abs(score[free])) < gconv
            and change < control.lconv
        ):
            break
    else:
        raise AnalysisError(f"the Firth fit did not converge in {control.maxit} iterations (logistf's maxit)")
    last = math.inf
    for _ in range(_POLISH_ITERATIONS):  # finish to rounding, past logistf's tolerances
        new_beta, new, delta = _iterate(y, X, state, beta, free, control.maxstep, 0)
        size = float(np.max(np.abs(delta)))
        if new.value < state.value - 1e-12 * max(1.0, abs(state.value)) or size >= last:
            break  # at the noise floor of l* and U*
        beta, state, last = new_beta, new, size
        if size <= 1e-13 * (1.0 + float(np.max(np.abs(beta)))):
            break
    return beta, state.value, iterations


_SAME_MAXIMUM = (
    1e-6  # l* values of two starts' maxima differing by more than this (× max(1, |l*|)) are two maxima
)
_SAME_BOUND = 1e-6  # two searches' CI bounds agree when within this × (1 + |bound|) on the log-OR scale
MULTIMODAL = "the penalised likelihood has several local maxima on these data"


class _Multimodal(Exception):
    """A profile point whose constrained l* has more than one local maximum."""


def _maxima(
    y: np.ndarray,
    X: np.ndarray,
    starts: list[np.ndarray],
    free: np.ndarray,
    control: FirthControl | ProfileControl,
) -> list[tuple[np.ndarray, float]]:
    """Maximise l* over the free coefficients from each start: the distinct maxima, highest first.

    Maxima whose l* differ by at most _SAME_MAXIMUM (relative) are one; a start that does not converge is
    passed over (it names no other maximum); if none converges, the first failure is raised.
    """
    found: list[tuple[np.ndarray, float]] = []
    failure: AnalysisError | None = None
    for i, start in enumerate(starts):
        if any(np.array_equal(start, other) for other in starts[:i]):
            continue
        try:
            beta, value, _ = _maximise(y, X, start, free, control)
        except AnalysisError as exc:
            failure = failure or exc
            continue
        found.append((beta, value))
    if not found:
        raise failure or AnalysisError("the Firth fit did not converge")
    found.sort(key=lambda item: -item[1])
    distinct = [found[0]]
    for beta, value in found[1:]:
        if value < distinct[-1][1] - _SAME_MAXIMUM * max(1.0, abs(distinct[-1][1])):
            distinct.append((beta, value))
    return distinct


@dataclass(frozen=True)
class _BoundSearch:
    """One search for a profile CI bound: where l* of coefficient j falls to `target` on one side.

    `direction` is -1 (lower bound) or +1 (upper), `scale` the first step's size (about the SE).
    """

    y: np.ndarray
    X: np.ndarray
    beta_hat: np.ndarray
    j: int
    target: float
    direction: int
    scale: float
    control: ProfileControl


@dataclass
class _Profile:
    """The profile of l* for b_j as a search evaluates it: per b_j value, the constrained maxima found.

    Each point's starts are every maximum found at the nearest evaluated b_j (continuation along each
    branch), the estimate with b_j moved, and the estimate with b_j moved and the others shifted to absorb
    the part of x_j they span (the orthogonalised start). With `several` = "refuse" a point with two
    maxima stops the search (_Multimodal); with "highest" the profile is the highest maximum, as its
    definition (the supremum over the other coefficients) asks.
    """

    search: _BoundSearch
    design: np.ndarray
    shift: np.ndarray
    projection: np.ndarray
    seen: dict[float, list[np.ndarray]]

    @classmethod
    def start(cls, search: _BoundSearch) -> _Profile:
        """Start the profile with the estimate as its one point, on X or its orthogonalised design."""
        X, beta_hat, j = search.X, search.beta_hat, search.j
        others = np.arange(len(beta_hat)) != j
        design, shift = X, np.zeros(len(beta_hat))
        projection, *_ = np.linalg.lstsq(X[:, others], X[:, j], rcond=None)
        if search.control.ortho:  # x_j minus its projection on the others: b_-j + c·b_j, same l*
            design = X.copy()
            design[:, j] = X[:, j] - X[:, others] @ projection
            shift[others] = projection
        return cls(search, design, shift, projection, {float(beta_hat[j]): [beta_hat + shift * beta_hat[j]]})

    def at(self, value: float, explore: bool = False) -> tuple[float, float]:
        """(max l* with b_j = value, its derivative in b_j: U*_j there, NaN unless method is "newton").

        `explore` adds, per other coefficient, the best maximum so far with that coefficient's sign
        flipped: a branch on the other side of 0 (a binary covariate's, say) that continuation misses.
        """
        search = self.search
        j, beta_hat, control = search.j, search.beta_hat, search.control
        if len(self.seen) > control.maxit:
            raise AnalysisError(
                f"the profile-likelihood CI did not converge in {control.maxit} evaluations (logistpl)"
            )
        others = np.arange(len(beta_hat)) != j
        starts = [b.copy() for b in self.seen[min(self.seen, key=lambda v: abs(v - value))]]
        fixed = beta_hat.copy()
        fixed[j] = value
        moved = fixed.copy()
        moved[others] -= self.projection * (value - beta_hat[j])
        starts += [fixed + self.shift * value, moved + self.shift * value]
        if explore:
            for i in np.flatnonzero(others):
                flipped = starts[0].copy()
                flipped[i] = -flipped[i]
                starts.append(flipped)
        for start in starts:
            start[j] = value
        maxima = _maxima(search.y, self.design, starts, others, control)
        self.seen[float(value)] = [beta for beta, _ in maxima]
        if control.method != "newton":  # only Newton's steps use the slope
            return maxima[0][1], math.nan
        return maxima[0][1], float(_state(maxima[0][0], search.y, self.design).score[j])


def _profile_bound(search: _BoundSearch) -> tuple[float, bool]:
    """Find where the profile of l* for coefficient j falls to `target` on one side, by `method`.

    Returns (NaN, True) when the search refuses a bound because l* had several local maxima.
    """
    if search.control.method == "newton":
        return _newton_bound(search)
    return _bracket_bound(search)


def _bracket_bound(search: _BoundSearch) -> tuple[float, bool]:
    """Bracket the crossing by doubling steps (at most maxstep) from the estimate, then brentq on it.

    Returns (NaN, True) as soon as a profile point has more than one local maximum (the starts disagree),
    or when the profile at a bracket end changed between evaluations (two branches).
    """
    from scipy.optimize import brentq

    profile, control = _Profile.start(search), search.control

    def gap(value: float) -> float:
        loglik, _ = profile.at(value)
        if len(profile.seen[float(value)]) > 1:  # the bound would depend on the branch followed
            raise _Multimodal
        return loglik - search.target

    inner, step = float(search.beta_hat[search.j]), min(search.scale, control.maxstep)
    outer = inner + search.direction * step
    try:
        while gap(outer) >= 0:  # the penalty takes l* to −∞ as |b_j| grows, so a bracket exists
            inner, step = outer, min(step * 2, control.maxstep)
            outer = inner + search.direction * step
        left = max(control.maxit + 1 - len(profile.seen), 1)
        bound = brentq(gap, min(inner, outer), max(inner, outer), xtol=1e-10, rtol=1e-12, maxiter=left)
    except (_Multimodal, ValueError):
        return math.nan, True
    except RuntimeError:  # brentq out of evaluations
        raise AnalysisError(
            f"the profile-likelihood CI did not converge in {control.maxit} evaluations (logistpl's maxit)"
        ) from None
    return float(bound), False


def _newton_bound(search: _BoundSearch) -> tuple[float, bool]:
    """Find the crossing by Newton's method; (NaN, True) under "refuse" if l* is multimodal there.

    Newton's method on the signed root z(v) = √(2·(l*(b̂) − l*_p(v))), nearly linear in v, with the
    profile's slope dl*_p/dv = U*_j at the constrained maximum (the envelope theorem): it starts at the
    Wald guess b̂ ± z_c·SE and keeps a bracket of the crossing, halving it whenever a Newton step would
    leave it or fails to shrink it by half; steps at most maxstep, at most maxit profile points.
    """
    beta_hat, j, direction, control = search.beta_hat, search.j, search.direction, search.control
    profile = _Profile.start(search)
    top = float(_state(profile.seen[float(beta_hat[j])][0], search.y, profile.design).value)
    z_crit = math.sqrt(2.0 * max(top - search.target, 0.0))
    inner, outer = float(beta_hat[j]), math.nan  # l*_p above / below the target
    value = inner + direction * min(z_crit * search.scale, control.maxstep)
    explored = math.nan
    try:
        while True:
            loglik, slope = profile.at(value)
            if loglik >= search.target:
                inner = value
            else:
                outer = value
            z = math.sqrt(2.0 * max(top - loglik, 0.0))
            # Newton on z: dz/dv = −slope / z (slope's sign is −direction beyond the estimate)
            step = (z_crit - z) * z / -slope if slope != 0 and z > 0 else math.nan
            if abs(step) <= 1e-10 + 1e-12 * abs(value):  # converged (quadratically)
                if explored == value:
                    return _settled(profile, value, value + step)
                explored = value  # look for a higher branch here before accepting the crossing
                higher, _ = profile.at(value, explore=True)
                if higher <= loglik + _SAME_MAXIMUM * max(1.0, abs(loglik)):
                    return _settled(profile, value, value + step)
                continue  # a higher branch: evaluate again from it (continuation now starts there)
            guess = value + step
            if math.isnan(outer):  # no bracket yet: Newton outward, else double the distance
                if not direction * (guess - inner) > 0:
                    guess = inner + direction * 2 * abs(inner - beta_hat[j])
                guess = inner + direction * min(abs(guess - inner), control.maxstep)
            elif not min(inner, outer) < guess < max(inner, outer) or abs(step) > abs(outer - inner) / 2:
                guess = (inner + outer) / 2  # Newton would leave the bracket or shrink it too little
                if abs(outer - inner) <= 2e-10 + 2e-12 * abs(guess):
                    return _settled(profile, value, guess)
            value = guess
    except _Multimodal:
        return math.nan, True


def _settled(profile: _Profile, last: float, bound: float) -> tuple[float, bool]:
    """Return the bound, or (NaN, True) under "refuse" if l* at the last point has several maxima.

    The last point evaluated is within 1e-10 of the bound; with several maxima there the bound depends
    on the branch followed.
    """
    if profile.search.control.several == "refuse" and len(profile.seen[float(last)]) > 1:
        return math.nan, True
    return float(bound), False


def _checked_bound(search: _BoundSearch) -> tuple[float, str | None]:
    """Find a profile CI bound by two independent searches, or NaN with the reason.

    The first search runs on X as given; the second on the columns centred on the intercept (unless b_j
    is the intercept) and divided by their SDs, profiling the other way (orthogonalised or not), so its
    steps, bracket and starts differ; b_j and its profile are equivariant under that change (b_j·SD).
    The bound is reported only when neither search met two local maxima and the two agree to
    _SAME_BOUND (under several = "highest", the outer of the two); a failure of the first search is
    raised as before.
    """
    X, beta_hat, j = search.X, search.beta_hat, search.j
    side = "lower" if search.direction < 0 else "upper"
    bound, several = _profile_bound(search)
    if several:
        return math.nan, f"profile-likelihood CI ({side} bound) not determined: {MULTIMODAL}"
    sd = X.std(axis=0, ddof=1)
    c = np.where(sd > 0, sd, 1.0)
    constant = np.flatnonzero(sd == 0)
    design, start = X.copy(), beta_hat.copy()
    if len(constant) == 1 and constant[0] != j:  # centre on the intercept: b'_0 = b_0 + Σ mean·b / x_0
        i0 = int(constant[0])
        centre = np.where(sd > 0, X.mean(axis=0), 0.0)
        design -= np.outer(X[:, i0] / X[0, i0], centre)
        start[i0] += float(centre @ beta_hat) / X[0, i0]
    try:
        second, several_too = _profile_bound(
            replace(
                search,
                X=design / c,
                beta_hat=start * c,
                target=search.target - float(np.sum(np.log(c))),  # centring keeps det I; /c takes log ∏c off
                scale=search.scale * c[j],
                control=replace(search.control, ortho=not search.control.ortho),
            )
        )
    except AnalysisError as exc:
        return (
            math.nan,
            f"profile-likelihood CI ({side} bound) not determined: a second search failed ({exc})",
        )
    if several_too:
        return math.nan, f"profile-likelihood CI ({side} bound) not determined: {MULTIMODAL}"
    second /= c[j]
    if abs(bound - second) > _SAME_BOUND * (1.0 + abs(bound)) and search.control.several == "highest":
        # each search's profile is a maximum over the branches it found, so at most the true (highest)
        # profile; the outer bound's search found l* at the target there, so the crossing is that far
        # out at least: the inner one followed a lower branch
        return (bound if search.direction * (bound - second) > 0 else second), None
    if abs(bound - second) > _SAME_BOUND * (1.0 + abs(bound)):
        return math.nan, (
            f"profile-likelihood CI ({side} bound) not determined: two searches found {bound:.4g} and "
            f"{second:.4g} ({MULTIMODAL})"
        )
    return bound, None


def _plr_p(
    y: np.ndarray,
    X: np.ndarray,
    beta: np.ndarray,
    loglik: float,
    j: int,
    control: FirthControl,
    several: str = "refuse",
) -> tuple[float, str | None]:
    """Test b_j = 0 by the penalised likelihood ratio, as logistf's p-values.

    The restricted fit starts from the estimate with b_j set to 0 and from the estimate shifted as in
    _Profile (and, with several = "highest", from 0 as logistf's own restricted fit, keeping the highest
    maximum); with "refuse", NaN with the reason when the starts find two maxima.
    """
    k = len(beta)
    others = np.arange(k) != j
    projection, *_ = np.linalg.lstsq(X[:, others], X[:, j], rcond=None)
    at_zero = beta.copy()
    at_zero[j] = 0.0
    moved = at_zero.copy()
    moved[others] += projection * beta[j]
    starts = [at_zero, moved] if several == "refuse" else [at_zero, moved, np.zeros(k)]
    maxima = _maxima(y, X, starts, others, control)
    if len(maxima) > 1 and several == "refuse":
        return math.nan, f"penalised likelihood-ratio p not determined: {MULTIMODAL}"
    return chi2_sf(max(2 * (loglik - maxima[0][1]), 0.0), 1), None


def fit_firth(
    y,
    X,
    names: list[str] | tuple[str, ...] | None = None,
    *,
    add_intercept: bool = True,
    alpha: float = 0.05,
    control: FirthControl | None = None,
    pl_control: ProfileControl | None = None,
) -> FirthFit:
    """Fit Firth's logistic regression of 0/1 `y` on the columns of `X` (plus an intercept, first).

    Matches R's `logistf(y ~ ., pl = TRUE)` with its `control` and `plcontrol` defaults; the estimates stay
    finite even when a column separates the outcome, which is why the library falls back to it.

    Parameters
    ----------
    y : array-like of 0/1
        The outcome, one per row.
    X : array-like
        The columns (no missing values); a 1-D array is one column.
    names : sequence of str, optional
        The columns' names (x1, x2, ... by default); "(Intercept)" is added first.
    add_intercept : bool
        Whether to add the intercept column.
    alpha : float
        1 - the CIs' level.
    control, pl_control : FirthControl, ProfileControl, optional
        The point fit's and the profile search's controls (logistf's defaults).

    Returns
    -------
    FirthFit
        Estimates, SEs, profile penalised-likelihood CIs and penalised likelihood-ratio p-values; a bound
        or p the searches could not determine is NaN with its reason in `ci_note`.

    Raises
    ------
    AnalysisError
        If names, outcomes and rows do not match, the outcome is not 0/1, a value is missing or infinite,
        `alpha` is not in (0, 1), the columns are collinear, or the fit does not converge (where logistf
        would warn).
    """
    control = control or FirthControl()
    pl_control = pl_control or ProfileControl()
    y, X, names = named_design(y, X, names, add_intercept)
    if len(y) != X.shape[0]:
        raise AnalysisError(f"{len(y)} outcomes for {X.shape[0]} rows")
    if not np.all(np.isin(y, (0.0, 1.0))):
        raise AnalysisError("the outcome must be 0 or 1")
    if not np.all(np.isfinite(X)):
        raise AnalysisError("the design matrix has missing or infinite values")
    if not 0 < alpha < 1:
        raise AnalysisError(f"alpha must be strictly between 0 and 1, got {alpha:g}")
    if np.linalg.matrix_rank(X) < X.shape[1]:
        raise AnalysisError("the columns are collinear (or constant beside the intercept)")
    k = X.shape[1]
    beta, loglik, iterations = _maximise(y, X, np.zeros(k), np.ones(k, bool), control)
    se = np.sqrt(np.diag(_covariance(_state(beta, y, X))))
    drop = normal_quantile(1 - alpha / 2) ** 2 / 2  # χ²₁(1 − α) / 2
    lower, upper, p_values, notes = [], [], [], []
    for j in range(k):
        scale = max(float(se[j]), 0.1)
        lo, lo_note = _checked_bound(_BoundSearch(y, X, beta, j, loglik - drop, -1, scale, pl_control))
        hi, hi_note = _checked_bound(_BoundSearch(y, X, beta, j, loglik - drop, +1, scale, pl_control))
        lower.append(lo)
        upper.append(hi)
        p, p_note = _plr_p(y, X, beta, loglik, j, control, pl_control.several)
        p_values.append(p)
        found = [n for n in (lo_note, hi_note, p_note) if n]
        notes.append("; ".join(found) if found else None)
    return FirthFit(
        names=tuple(names),
        coef=tuple(float(b) for b in beta),
        se=tuple(float(s) for s in se),
        ci_lower=tuple(lower),
        ci_upper=tuple(upper),
        p_value=tuple(float(p) for p in p_values),
        loglik=loglik,
        n=len(y),
        iterations=iterations,
        alpha=alpha,
        ci_note=tuple(notes),
    )
