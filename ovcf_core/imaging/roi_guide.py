"""Tell a reader what to draw on a series that has no ROIs yet, in the labels the indicators read.

The conventions are DESIGN §2 and §4.4: HU on CT, VBQ on sagittal T1, rCSA and FI on axial T2 at the disc
levels.

The same table gives the labels a reader is expected to draw, in order, so a new ROI's default label is the
first one not yet drawn instead of a fixed "L1" that would collide with an existing ROI.
"""

from __future__ import annotations

from dataclasses import dataclass

from ovcf_core.indicators import DISC_LEVELS, LEVELS

MUSCLES = ("PM", "MF", "ES")
SIDES = ("L", "R")


@dataclass(frozen=True)
class DrawStep:
    """One thing to draw for an indicator: where, and the labels it takes."""

    indicator: str
    what: str
    labels: tuple[str, ...]

    def label_text(self) -> str:
        """Write the labels as shown to the reader (a list of more than five shortened to its pattern)."""
        if len(self.labels) <= 5:
            return ", ".join(self.labels)
        return f"{self.labels[0]}, {self.labels[1]}, … {self.labels[-1]}"


HU_STEPS = (
    DrawStep(
        "HU (CT)",
        "an oval ROI in the trabecular bone of each of L1–L4 on its mid-axial slice (vertebral body only: "
        "leave out the cortex, the basivertebral vein and any sclerosis); mark fractured levels below",
        LEVELS,
    ),
)
VBQ_STEPS = (
    DrawStep(
        "VBQ (T1 sagittal)",
        "an ROI in the medullary (trabecular) part of each of L1–L4 on the mid-sagittal T1 slice, away "
        "from the endplates and the basivertebral vein",
        LEVELS,
    ),
    DrawStep(
        "VBQ (T1 sagittal)",
        "an ROI in the CSF behind L3 on the same slice (CSF_L2 or CSF_L4 when L3's CSF is hidden by "
        "nerve roots)",
        ("CSF_L3",),
    ),
)
MUSCLE_STEPS = (
    DrawStep(
        "rCSA and FI (T2 axial)",
        "on the mid-disc axial T2 slice of each level L1L2 … L4L5: psoas major (PM), multifidus (MF) and "
        "erector spinae (ES), left (L) and right (R), each outlined along its fascia (a lasso)",
        tuple(f"{m}_{s}_{d}" for d in DISC_LEVELS for m in MUSCLES for s in SIDES),
    ),
    DrawStep(
        "rCSA and FI (T2 axial)",
        "the intervertebral disc on the same slice (its area is the rCSA denominator)",
        tuple(f"DISC_{d}" for d in DISC_LEVELS),
    ),
    DrawStep(
        "FI reference (optional)",
        "subcutaneous fat on the same slice, for the 'reference' fat threshold",
        tuple(f"FAT_{d}" for d in DISC_LEVELS),
    ),
)


def drawing_guide(modality: str, plane: str) -> tuple[DrawStep, ...]:
    """List what to draw on a series of this modality and plane, in drawing order.

    A CT gives HU; a sagittal MR gives VBQ; an axial MR gives rCSA and FI; an MR in another plane is told
    both MR recipes, since which one applies depends on the sequence.

    Parameters
    ----------
    modality : str
        The series' modality, "CT" or "MR" (case-insensitive); anything but CT is read as MR.
    plane : str
        The series' plane, "axial", "sagittal" or another (case-insensitive).

    Returns
    -------
    tuple of DrawStep
        The steps, each with the indicator, where to draw and the labels it takes.
    """
    if modality.upper() == "CT":
        return HU_STEPS
    if plane.lower() == "sagittal":
        return VBQ_STEPS
    if plane.lower() == "axial":
        return MUSCLE_STEPS
    return VBQ_STEPS + MUSCLE_STEPS


def expected_labels(modality: str, plane: str) -> tuple[str, ...]:
    """Every label the guide for this series asks for, in drawing order."""
    return tuple(label for step in drawing_guide(modality, plane) for label in step.labels)
