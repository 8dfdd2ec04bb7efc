"""The paper's five indicators from per-vertebra and per-level measurements (Zhan et al. 2024, Method).

One function per indicator, each returning an `IndicatorValue` (the value, or None with the reason, and the
measurements it used). Choices the paper leaves open are made here, once, and repeated in the README:

* **Fractured vertebrae** are excluded whatever their number (the paper's "/3" assumes exactly one
  fracture); a fracture outside L1-L4 (e.g. T12 or L5) excludes nothing.
* **Missing values** (None, NaN, inf) are left out: an average is over the unfractured vertebrae (or
  levels) that were measured. Nothing usable gives None with a reason, never an exception.
* **VBQ**: median SI of the unfractured, measured L1-L4 divided by the CSF SI at L3, else at L2, else at
  L4 (the paper moves the CSF ROI when L3 is blocked). The CSF level is used whether or not its vertebra is
  fractured (the CSF ROI is in the canal, not in the bone). With an even number of vertebrae the median is
  the mean of the middle two.
* **rCSA** per disc level and side = (PM + MF + ES CSA of that side) / disc CSA at that level. A side at a
  level with any of the three muscles (or the disc) missing is left out, not summed partially (a partial
  sum would understate the muscle). The indicator is the mean over every usable (level, side) unit.
* **FI** is the mean over every measured (muscle, side, level) value, all weighted equally.
* **Raters** are averaged per measurement before any indicator (see `ovcf_core.raw.cohort_from_raw`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from statistics import median

from ovcf_core.errors import InputError

LEVELS: tuple[str, ...] = ("L1", "L2", "L3", "L4")
DISC_LEVELS: tuple[str, ...] = ("L1L2", "L2L3", "L3L4", "L4L5")
MUSCLES: tuple[str, ...] = ("pm", "mf", "es")  # psoas major, multifidus, erector spinae
SIDES: tuple[str, ...] = ("l", "r")
CSF_LEVELS: tuple[str, ...] = ("L3", "L2", "L4")  # the paper's order of preference for the CSF ROI

# Vertebrae a `fractured` cell may name: a fracture outside L1-L4 is valid and excludes nothing.
KNOWN_VERTEBRAE: frozenset[str] = frozenset(
    [f"T{i}" for i in range(1, 13)] + [f"L{i}" for i in range(1, 6)] + ["S1"]
)
_SEPARATORS = re.compile(r"[;,]")
_NONE_WORDS = {"", "none", "-", "no", "nan", "na", "n/a"}


@dataclass(frozen=True)
class IndicatorValue:
    """An indicator's value (None when nothing usable), why it is missing, and which measurements it used."""

    value: float | None
    reason: str | None
    used: tuple[str, ...]

    @property
    def missing(self) -> bool:
        """Return True when the indicator could not be formed."""
        return self.value is None

    def to_dict(self) -> dict:
        """Return the value, reason and used measurements as plain JSON types."""
        return {"value": self.value, "reason": self.reason, "used": list(self.used)}


def _number(value: object) -> float | None:
    """Return a finite float, or None for None/NaN/inf/anything not a number."""
    if value is None or isinstance(value, bool):
        return None
    try:
        number = float(value)  # type: ignore[arg-type]  # any object is tried; failures are caught below
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) else None


def parse_fractured(text: object) -> frozenset[str]:
    """Read the fractured vertebrae named in a cell such as "L1;L3" (also "l1, L3").

    Parameters
    ----------
    text
        The cell: levels separated by ';' or ','; empty, NaN, "none", "-", "no" or "n/a" name none.

    Returns
    -------
    frozenset of str
        The vertebrae, upper case (T1-T12, L1-L5, S1; only L1-L4 change an indicator).

    Raises
    ------
    InputError
        With column 'fractured', for a level that is not a vertebra, e.g. "L7" or "X".
    """
    if text is None or (isinstance(text, float) and math.isnan(text)):
        return frozenset()
    raw = str(text).strip()
    if raw.lower() in _NONE_WORDS:
        return frozenset()
    levels = set()
    for token in _SEPARATORS.split(raw):
        level = token.strip().upper().replace(" ", "")
        if not level:
            continue
        if level not in KNOWN_VERTEBRAE:
            raise InputError(
                f"unknown fractured level '{token.strip()}' (use vertebrae such as L1, L2, T12, "
                "separated by ';')",
                column="fractured",
            )
        levels.add(level)
    return frozenset(levels)


def _fractured_set(fractured: Iterable[str] | str) -> frozenset[str]:
    """Return the fractured levels of a cell text or an iterable of level names (upper-cased)."""
    if isinstance(fractured, str):
        return parse_fractured(fractured)
    return frozenset(str(level).strip().upper() for level in fractured)


def _unfractured_values(
    by_level: Mapping[str, float | None], fractured: Iterable[str] | str
) -> tuple[dict[str, float], frozenset[str]]:
    """Return {level: value} of the measured, unfractured L1-L4, and the fractured set."""
    broken = _fractured_set(fractured)
    values = {}
    for level in LEVELS:
        number = _number(by_level.get(level))
        if number is not None and level not in broken:
            values[level] = number
    return values, broken


def _why_no_vertebra(what: str, broken: frozenset[str]) -> str:
    """Say why a per-vertebra average is missing (every vertebra fractured, or none measured)."""
    inside = sorted(broken & set(LEVELS))
    if len(inside) == len(LEVELS):
        return f"no {what}: every vertebra L1-L4 is fractured"
    if inside:
        return f"no {what} measured at an unfractured vertebra (fractured: {', '.join(inside)})"
    return f"no {what} measured at L1-L4"


def _vertebral_mean(
    by_level: Mapping[str, float | None], fractured: Iterable[str] | str, what: str
) -> IndicatorValue:
    """Average `what` over the measured, unfractured L1-L4 (shared by T-score and HU)."""
    values, broken = _unfractured_values(by_level, fractured)
    if not values:
        return IndicatorValue(None, _why_no_vertebra(what, broken), ())
    return IndicatorValue(sum(values.values()) / len(values), None, tuple(values))


def average_t_score(
    t_by_level: Mapping[str, float | None], fractured: Iterable[str] | str = ()
) -> IndicatorValue:
    """Compute the average T-score: mean DXA T-score of the unfractured vertebrae among L1-L4.

    The paper divides by 3, which assumes exactly one fracture; here any number is left out.

    Parameters
    ----------
    t_by_level
        T-score by vertebra ("L1" … "L4"); missing, NaN or inf values are left out.
    fractured
        Fractured vertebrae, as a cell text ("L1;L3") or level names.

    Returns
    -------
    IndicatorValue
        The average, or None with the reason when no unfractured vertebra has a value.

    Raises
    ------
    InputError
        When `fractured` names something that is not a vertebra.
    """
    return _vertebral_mean(t_by_level, fractured, "T-score")


def average_hu(
    hu_by_level: Mapping[str, float | None], fractured: Iterable[str] | str = ()
) -> IndicatorValue:
    """Compute the average HU: mean CT attenuation of the trabecular ROI of the unfractured L1-L4.

    Takes HU by vertebra ("L1" … "L4") where `average_t_score` takes T-scores; the fractured levels,
    the result and the refusal are the same.
    """
    return _vertebral_mean(hu_by_level, fractured, "HU")


def vbq_score(
    si_by_level: Mapping[str, float | None],
    csf_by_level: Mapping[str, float | None],
    fractured: Iterable[str] | str = (),
) -> IndicatorValue:
    """Compute VBQ = median T1 SI of the unfractured L1-L4 / CSF SI at L3, else L2, else L4 (Ehresman 2020).

    Parameters
    ----------
    si_by_level
        T1 signal intensity of each vertebral body ("L1" … "L4").
    csf_by_level
        T1 SI of the CSF behind a vertebra ("L3", "L2", "L4" are tried in that order), whether or not
        that vertebra is fractured.
    fractured
        Fractured vertebrae, as a cell text ("L1;L3") or level names.

    Returns
    -------
    IndicatorValue
        The score, or None with the reason: no unfractured vertebral SI, no CSF SI, or a CSF SI that is
        not positive.

    Raises
    ------
    InputError
        When `fractured` names something that is not a vertebra.
    """
    values, broken = _unfractured_values(si_by_level, fractured)
    if not values:
        return IndicatorValue(None, _why_no_vertebra("vertebral SI", broken), ())
    csf_level, csf = None, None
    for level in CSF_LEVELS:
        number = _number(csf_by_level.get(level))
        if number is not None:
            csf_level, csf = level, number
            break
    if csf is None:
        return IndicatorValue(None, "no CSF SI at L3, L2 or L4", tuple(values))
    if csf <= 0:
        return IndicatorValue(None, f"CSF SI at {csf_level} is {csf:g}; it must be positive", tuple(values))
    used = (*values, f"CSF {csf_level}")
    return IndicatorValue(median(values.values()) / csf, None, used)


def average_rcsa(
    csa: Mapping[tuple[str, str, str], float | None], disc: Mapping[str, float | None]
) -> IndicatorValue:
    """Compute the average total rCSA: (PM + MF + ES CSA) / disc CSA per level and side, averaged.

    A (level, side) with a muscle or the disc missing is left out, not summed partially (see the module
    docstring).

    Parameters
    ----------
    csa
        Muscle CSA keyed by (muscle, side, disc level), e.g. ("pm", "l", "L3L4").
    disc
        Disc CSA by disc level; a level without a positive value is left out.

    Returns
    -------
    IndicatorValue
        The mean over the usable (level, side) units, or None with the reason when there is none.
    """
    ratios: list[float] = []
    used: list[str] = []
    for level in DISC_LEVELS:
        disc_area = _number(disc.get(level))
        if disc_area is None or disc_area <= 0:
            continue
        for side in SIDES:
            areas = [_number(csa.get((muscle, side, level))) for muscle in MUSCLES]
            if any(a is None for a in areas):
                continue
            ratios.append(sum(areas) / disc_area)  # type: ignore[arg-type]  # no None (skipped above)
            used.append(f"{level} {side}")
    if not ratios:
        return IndicatorValue(
            None, "no disc level with the disc and all three muscles (PM, MF, ES) of one side measured", ()
        )
    return IndicatorValue(sum(ratios) / len(ratios), None, tuple(used))


def average_fi(fi: Mapping[tuple[str, str, str], float | None]) -> IndicatorValue:
    """Compute the average FI: mean fat-infiltration % over every measured (muscle, side, disc level).

    Parameters
    ----------
    fi
        FI (%) keyed by (muscle, side, disc level), e.g. ("mf", "r", "L4L5").

    Returns
    -------
    IndicatorValue
        The mean, all values weighted equally, or None with the reason when nothing was measured.
    """
    values: list[float] = []
    used: list[str] = []
    for level in DISC_LEVELS:
        for side in SIDES:
            for muscle in MUSCLES:
                number = _number(fi.get((muscle, side, level)))
                if number is not None:
                    values.append(number)
                    used.append(f"{muscle} {side} {level}")
    if not values:
        return IndicatorValue(None, "no fat infiltration measured", ())
    return IndicatorValue(sum(values) / len(values), None, tuple(used))
