"""Published cut-offs shown next to a patient's values, each with its source and the vertebrae it applies to
(DESIGN §5). The HU thresholds are for L1 alone, not for the L1-L4 average HU the model uses.
"""

from __future__ import annotations

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

    @property
    def label(self) -> str:
        """Short label for a figure, e.g. 'VBQ 3.0 (Ehresman 2019)'."""
        name = "VBQ" if self.measure == "vbq" else "L1 HU"
        value = f"{self.value:g}"
        if self.measure == "vbq" and "." not in value:
            value += ".0"  # as published: VBQ 3.0
        return f"{name} {value} ({self.source})"

    def flags(self, value: float | None) -> bool | None:
        """Whether `value` is on the risk side of the cut-off (None when there is no value)."""
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
    ),
    PublishedThreshold(
        "vbq", 3.22, Direction.HIGHER, "fragility fracture (AUC 0.815)", "VBQ score of L1-L4", "Li 2023"
    ),
    PublishedThreshold(
        "vbq", 3.32, Direction.HIGHER, "fragility fracture (AUC 0.80)", "VBQ score of L1-L4", "Wang 2024"
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
    """The published cut-offs of one measure ('vbq' or 'hu_l1')."""
    return tuple(t for t in PUBLISHED_THRESHOLDS if t.measure == measure)


def threshold_table(
    vbq: float | None, hu: float | None, hu_l1: float | None, youden: Mapping[str, float]
) -> pd.DataFrame:
    """Published and cohort (Youden) cut-offs, what each applies to, and which side of it the patient is on.

    The published HU thresholds are compared with the patient's L1 HU only (`hu_l1`), never with the
    L1-L4 average; the cohort's Youden cut-offs apply to the same measure the cohort holds (VBQ, average HU).
    """

    def side(flagged: bool | None) -> str:
        return "not entered" if flagged is None else ("risk side" if flagged else "not risk side")

    rows = [
        (t.label, t.detects, t.applies_to, side(t.flags(vbq if t.measure == "vbq" else hu_l1)))
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
                    side(flagged),
                )
            )
    return pd.DataFrame(rows, columns=["cut-off", "detects", "applies to", "this patient"])
