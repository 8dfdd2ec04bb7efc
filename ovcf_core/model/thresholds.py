"""Published cut-offs shown next to a patient's values, each with its source and the vertebrae it applies to.

See DESIGN §5. The HU thresholds are for L1 alone, not for the L1-L4 average HU the model uses.

VBQ depends on the MRI field strength: 2.77 ± 0.49 at 1.5 T against 2.20 ± 0.43 at 3.0 T in one centre
(J Orthop Surg Res 2023, DESIGN §5), a difference as large as the gap between the published cut-offs and
the average VBQ. Each VBQ cut-off therefore records the field strength of the scans it was derived on —
None where the sources cited here do not report it (all three today; nothing is guessed) — and
`field_strength_warning` says when a cut-off is applied to a scan of another, or an unreported, field
strength.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

from ovcf_core.schema import Direction, Indicator


@dataclass(frozen=True)
class PublishedThreshold:
    """A published cut-off: the measure it applies to, its value, what it detects and where it comes from."""

    measure: str  # "vbq" (L1-L4 VBQ score) or "hu_l1" (HU of L1 alone)
    value: float
    direction: Direction  # which side indicates risk
    detects: str
    applies_to: str
    source: str
    field_strength_t: float | None = None  # MRI field strength the cut-off was derived at; None: not reported

    @property
    def label(self) -> str:
        """Short label for a figure, e.g. 'VBQ 3.0 (Ehresman 2019)'."""
        name = "VBQ" if self.measure == "vbq" else "L1 HU"
        value = f"{self.value:g}"
        if self.measure == "vbq" and "." not in value:
            value += ".0"  # as published: VBQ 3.0
        return f"{name} {value} ({self.source})"

    def flags(self, value: float | None) -> bool | None:
        """Tell whether `value` is on the risk side of the cut-off (the cut-off itself counts as risk).

        Parameters
        ----------
        value
            The patient's value of the cut-off's measure, or None.

        Returns
        -------
        bool or None
            None when there is no value.
        """
        if value is None:
            return None
        return value >= self.value if self.direction is Direction.HIGHER else value <= self.value


PUBLISHED_THRESHOLDS: tuple[PublishedThreshold, ...] = (
    PublishedThreshold(
        "vbq",
        3.0,
        Direction.HIGHER,
        "fracture (pathologic fracture; sens 75%, spec 86%, AUC 0.80)",
        "VBQ score of L1-L4",
        "Ehresman 2019",
        None,  # field strength not reported in the sources cited here
    ),
    PublishedThreshold(
        "vbq", 3.22, Direction.HIGHER, "fragility fracture (AUC 0.815)", "VBQ score of L1-L4", "Li 2023", None
    ),
    PublishedThreshold(
        "vbq",
        3.32,
        Direction.HIGHER,
        "fragility fracture (AUC 0.80)",
        "VBQ score of L1-L4",
        "Wang 2024",
        None,
    ),
    PublishedThreshold(
        "hu_l1",
        160.0,
        Direction.LOWER,
        "osteoporosis, 90% sensitive (rule-out above it)",
        "L1 only (not the L1-L4 average)",
        "Pickhardt et al., Ann Intern Med 2013",
    ),
    PublishedThreshold(
        "hu_l1",
        110.0,
        Direction.LOWER,
        "osteoporosis, > 90% specific",
        "L1 only (not the L1-L4 average)",
        "Pickhardt et al., Ann Intern Med 2013",
    ),
)


def thresholds_for(measure: str) -> tuple[PublishedThreshold, ...]:
    """Return the published cut-offs of one measure, in `PUBLISHED_THRESHOLDS` order.

    Parameters
    ----------
    measure
        ``"vbq"`` or ``"hu_l1"``.

    Returns
    -------
    tuple of PublishedThreshold
        Empty for any other measure.
    """
    return tuple(t for t in PUBLISHED_THRESHOLDS if t.measure == measure)


FIELD_STRENGTH_SOURCE = "VBQ 2.77 ± 0.49 at 1.5 T vs 2.20 ± 0.43 at 3.0 T (J Orthop Surg Res 2023)"
FIELD_STRENGTH_TOLERANCE_T = 0.1  # field strengths closer than this are the same (1.494 T is 1.5 T)


def derived_at(threshold: PublishedThreshold) -> str:
    """Return the field strength a cut-off was derived at, as a table shows it.

    Parameters
    ----------
    threshold
        A published cut-off.

    Returns
    -------
    str
        E.g. '3 T'; 'not reported' for a VBQ cut-off whose source does not say; '' for a HU cut-off.
    """
    if threshold.measure != "vbq":
        return ""
    return "not reported" if threshold.field_strength_t is None else f"{threshold.field_strength_t:g} T"


def field_strength_warning(threshold: PublishedThreshold, field_strength_t: float | None) -> str | None:
    """Say why a VBQ cut-off may not transfer to a scan of `field_strength_t` tesla (None when it may).

    Parameters
    ----------
    threshold : PublishedThreshold
        A published cut-off; only VBQ cut-offs get a warning.
    field_strength_t : float or None
        The scan's MagneticFieldStrength (tesla); None when the header does not give it.

    Returns
    -------
    str or None
        One line naming the cut-off, both field strengths (or which is unknown) and the evidence; None
        for a non-VBQ cut-off or when both field strengths are known and the same.
    """
    if threshold.measure != "vbq":
        return None
    derived = threshold.field_strength_t
    scan = (
        None if field_strength_t is None or not math.isfinite(field_strength_t) else float(field_strength_t)
    )
    if derived is not None and scan is not None:
        if abs(derived - scan) < FIELD_STRENGTH_TOLERANCE_T:
            return None
        problem = f"was derived at {derived:g} T; this scan is {scan:g} T"
    elif derived is None and scan is not None:
        problem = f"was derived at a field strength its source does not report; this scan is {scan:g} T"
    elif derived is not None:
        problem = f"was derived at {derived:g} T; this scan's field strength is unknown"
    else:
        problem = "was derived at a field strength its source does not report, and this scan's is unknown"
    return f"{threshold.label} {problem}: VBQ differs with field strength ({FIELD_STRENGTH_SOURCE})"


def field_strength_warnings(field_strength_t: float | None) -> dict[str, str]:
    """Return the warning of every published VBQ cut-off for a scan of `field_strength_t` tesla, by label.

    Parameters
    ----------
    field_strength_t : float or None
        The scan's field strength in tesla (None: unknown).

    Returns
    -------
    dict
        Cut-off label (e.g. 'VBQ 3.0 (Ehresman 2019)') -> one-line warning; those that transfer are left out.
    """
    out = {}
    for threshold in thresholds_for("vbq"):
        warning = field_strength_warning(threshold, field_strength_t)
        if warning:
            out[threshold.label] = warning
    return out


def threshold_table(
    vbq: float | None, hu: float | None, hu_l1: float | None, youden: Mapping[str, float]
) -> pd.DataFrame:
    """Tabulate the published and cohort (Youden) cut-offs and which side of each the patient is on.

    The published HU thresholds are compared with the patient's L1 HU only (`hu_l1`), never with the
    L1-L4 average; the cohort's Youden cut-offs apply to the same measure the cohort holds (VBQ, average HU).

    Parameters
    ----------
    vbq, hu, hu_l1
        The patient's VBQ, L1-L4 average HU and L1 HU (None where not entered).
    youden
        The cohort's Youden cut-offs by indicator column (``"vbq"``, ``"hu"``); others are not shown.

    Returns
    -------
    pandas.DataFrame
        One row per cut-off: cut-off, detects, applies to, field strength (a VBQ cut-off's, 'not
        reported' where its source does not say) and this patient ('risk side', 'not risk side' or
        'not entered').
    """

    def side(flagged: bool | None) -> str:
        return "not entered" if flagged is None else ("risk side" if flagged else "not risk side")

    rows = [
        (t.label, t.detects, t.applies_to, derived_at(t), side(t.flags(vbq if t.measure == "vbq" else hu_l1)))
        for t in PUBLISHED_THRESHOLDS
    ]
    for indicator, value in ((Indicator.VBQ, vbq), (Indicator.HU, hu)):
        if indicator.column in youden:
            cutoff = youden[indicator.column]
            flagged = None
            if value is not None:
                flagged = value >= cutoff if indicator.direction is Direction.HIGHER else value <= cutoff
            rows.append(
                (
                    f"{indicator.label} {cutoff:.4g} (Youden)",
                    "OVCF in the current cohort",
                    indicator.label,
                    "",
                    side(flagged),
                )
            )
    return pd.DataFrame(rows, columns=["cut-off", "detects", "applies to", "field strength", "this patient"])
