"""Indicators from measured ROIs: average HU (CT), VBQ (T1), average rCSA and FI (T2).

ROI labels say what each ROI is (case-insensitive):

* ``L1`` … ``L4``: a vertebral body (trabecular bone) — HU on CT, SI on T1;
* ``CSF_L3`` (fallbacks ``CSF_L2``, ``CSF_L4``): cerebrospinal fluid behind that vertebra, on T1;
* ``<PM|MF|ES>_<L|R>_<L1L2|L2L3|L3L4|L4L5>``: psoas major, multifidus, erector spinae, left/right, at a disc;
* ``DISC_<level>``: the disc at that level (its CSA is the rCSA denominator);
* ``FAT_<level>``: subcutaneous fat, the reference for the ``reference`` fat threshold.

The formulas themselves live once, in `ovcf_core.indicators` (paper, Method); this module only turns ROI
measurements into their inputs.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Set
from dataclasses import dataclass, field, replace
from typing import Any

from ovcf_core import indicators as formulas
from ovcf_core.imaging.measure import MeasureResult
from ovcf_core.imaging.mri import FatThreshold, fat_percent, muscle_threshold

# the label patterns are built from the levels, muscles and sides the formulas use (`indicators`), so a
# label names exactly what a formula can take: e.g. DISC_L1L3 is not a disc level, it is "other"
_VERTEBRAE = "|".join(formulas.LEVELS)
_DISCS = "|".join(formulas.DISC_LEVELS)
VERTEBRA = re.compile(rf"^({_VERTEBRAE})$", re.IGNORECASE)
CSF = re.compile(rf"^CSF_({_VERTEBRAE})$", re.IGNORECASE)
MUSCLE = re.compile(
    rf"^({'|'.join(formulas.MUSCLES)})_({'|'.join(formulas.SIDES)})_({_DISCS})$", re.IGNORECASE
)
DISC = re.compile(rf"^DISC_({_DISCS})$", re.IGNORECASE)
FAT = re.compile(rf"^FAT_({_DISCS})$", re.IGNORECASE)


@dataclass(frozen=True)
class StructureRow:
    """One measured ROI with what it is (kind, level, muscle, side) and, for muscles, its FI."""

    label: str
    kind: str
    level: str | None
    muscle: str | None
    side: str | None
    slice: int
    mean: float
    sd: float
    n_pixels: int
    area_mm2: float
    fractured: bool = False
    fat_threshold: float | None = None
    fi_percent: float | None = None

    @classmethod
    def measured(
        cls, label: str, slice: int, mean: float, sd: float, n_pixels: int, area_mm2: float, broken: Set[str]
    ) -> StructureRow:
        """Build the row of a region measured under `label` (an ROI, or a mask's core).

        What it is comes from the label (`classify`); it is fractured when it is a vertebra whose level is
        in `broken`. Drawn ROIs and masks build their rows here, so both tables read alike.
        """
        kind, level, muscle, side = classify(label)
        fractured = kind == "vertebra" and level in broken
        return cls(label, kind, level, muscle, side, slice, mean, sd, n_pixels, area_mm2, fractured)


@dataclass(frozen=True)
class ImageIndicators:
    """Indicators computed from one series' ROIs, and the per-structure table they came from."""

    modality: str
    unit: str
    rows: tuple[StructureRow, ...]
    indicators: dict[str, Any] = field(default_factory=dict)  # "hu"/"vbq"/"rcsa"/"fi" -> IndicatorValue
    fat_rule: FatThreshold | None = None

    def values(self) -> dict[str, float]:
        """Return the indicators that could be computed, as plain numbers (e.g. {"hu": 124.3})."""
        return {k: float(v.value) for k, v in self.indicators.items() if v.value is not None}

    def reasons(self) -> dict[str, str]:
        """Return why each indicator is missing or what it used, one line each."""
        return {k: str(v.reason) for k, v in self.indicators.items() if getattr(v, "reason", None)}

    def to_frame(self) -> Any:
        """Return one row per ROI as a pandas DataFrame (the page's measurement table)."""
        import pandas as pd

        columns = list(StructureRow.__dataclass_fields__)
        return pd.DataFrame([[getattr(r, c) for c in columns] for r in self.rows], columns=columns)


def classify(label: str) -> tuple[str, str | None, str | None, str | None]:
    """Read what an ROI is from its label (see the module docstring for the label forms).

    Parameters
    ----------
    label
        The ROI's label, case-insensitive (e.g. ``L2``, ``CSF_L3``, ``PM_L_L3L4``).

    Returns
    -------
    tuple
        (kind, level, muscle, side): kind is vertebra, csf, muscle, disc, fat or other; level is upper
        case; muscle (pm, mf, es) and side (l, r) are set for muscles only.
    """
    if match := VERTEBRA.match(label):
        return "vertebra", match.group(1).upper(), None, None
    if match := CSF.match(label):
        return "csf", match.group(1).upper(), None, None
    if match := MUSCLE.match(label):
        return "muscle", match.group(3).upper(), match.group(1).lower(), match.group(2).lower()
    if match := DISC.match(label):
        return "disc", match.group(1).upper(), None, None
    if match := FAT.match(label):
        return "fat", match.group(1).upper(), None, None
    return "other", None, None, None


def image_indicators(
    result: MeasureResult, fractured: Iterable[str] = (), fat: FatThreshold | None = None
) -> ImageIndicators:
    """Compute average HU (CT), VBQ (T1) and average rCSA / FI (T2) from a series' ROI measurements.

    Parameters
    ----------
    result
        The series' ROI measurements (`measure.measure_series` or `measure.measure_on`).
    fractured
        Levels (e.g. {"L2"}) left out of HU and VBQ, whatever their number.
    fat
        The fat threshold rule for FI (default: half the subcutaneous-fat SI).

    Returns
    -------
    ImageIndicators
        The per-ROI table and each indicator the ROIs allow, with the reason for those they do not.

    Raises
    ------
    InputError
        Naming the ROI, when a muscle's fat threshold cannot be chosen under `fat`.
    """
    fat = fat or FatThreshold()
    broken = {str(level).upper() for level in fractured}
    reference = {}
    for m in result.measurements:
        kind, level, _, _ = classify(m.label)
        if kind == "fat":
            reference[level] = m.mean
    rows = []
    for m in result.measurements:
        row = StructureRow.measured(m.label, m.slice, m.mean, m.sd, m.n_pixels, m.area_mm2, broken)
        if row.kind == "muscle" and result.unit == "SI":
            threshold = muscle_threshold(m.values, fat, reference.get(row.level), m.label)
            row = replace(row, fat_threshold=threshold, fi_percent=fat_percent(m.values, threshold))
        rows.append(row)
    # classify() gives every vertebra, CSF, disc and muscle row a level (and muscles a muscle and side);
    # the `is not None` / `and` tests only tell the type checker so
    vertebrae = {r.level: r.mean for r in rows if r.kind == "vertebra" and r.level is not None}
    out: dict[str, Any] = {}
    if result.unit == "HU" and vertebrae:
        out["hu"] = formulas.average_hu(vertebrae, broken)
    if result.unit == "SI":
        csf = {r.level: r.mean for r in rows if r.kind == "csf" and r.level is not None}
        if vertebrae and csf:
            out["vbq"] = formulas.vbq_score(vertebrae, csf, broken)
        muscles = [r for r in rows if r.kind == "muscle"]
        discs = {r.level: r.area_mm2 for r in rows if r.kind == "disc" and r.level is not None}
        if muscles and discs:
            out["rcsa"] = formulas.average_rcsa(
                {(r.muscle, r.side, r.level): r.area_mm2 for r in muscles if r.muscle and r.side and r.level},
                discs,
            )
        if muscles:
            out["fi"] = formulas.average_fi(
                {
                    (r.muscle, r.side, r.level): r.fi_percent
                    for r in muscles
                    if r.muscle and r.side and r.level
                }
            )
    return ImageIndicators(
        modality=result.modality.value,
        unit=result.unit,
        rows=tuple(rows),
        indicators=out,
        fat_rule=fat if any(r.kind == "muscle" for r in rows) else None,
    )
