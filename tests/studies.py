"""Tiny synthetic lumbar CT studies written as DICOM, with known HU per vertebra, ROI files and NIfTI masks.

Each vertebra L1-L4 is a box of trabecular bone (its own HU) inside a 1-pixel cortical shell of 700 HU, with
a thin posterior bar of 400 HU attached, in soft tissue of 40 HU. Shared by the batch tests and benchmark.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

LEVELS = ("L1", "L2", "L3", "L4")
SLICES_PER_LEVEL = 6
SIZE = 48
SPACING = 0.8  # mm between pixel centres in-plane
THICKNESS = 2.0  # mm between slices
BODY = (12, 36)  # rows/columns of the vertebral body box
SHELL_HU, BAR_HU, TISSUE_HU = 700, 400, 40
NAME = "SYNTHETIC^BATCH"


def volume(hu_by_level: dict[str, float]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The CT volume (slice, row, column) in HU and each vertebra's full mask (body + shell + bar)."""
    n = SLICES_PER_LEVEL * len(LEVELS)
    ct = np.full((n, SIZE, SIZE), TISSUE_HU, dtype=np.int16)
    masks = {}
    lo, hi = BODY
    for i, level in enumerate(LEVELS):
        z0, z1 = i * SLICES_PER_LEVEL + 1, (i + 1) * SLICES_PER_LEVEL - 1
        mask = np.zeros_like(ct, dtype=bool)
        mask[z0:z1, lo:hi, lo:hi] = True
        mask[z0:z1, hi : hi + 8, 23:25] = True  # posterior bar, 2 pixels wide
        ct[mask] = BAR_HU
        ct[z0:z1, lo:hi, lo:hi] = SHELL_HU
        ct[z0 + 1 : z1 - 1, lo + 1 : hi - 1, lo + 1 : hi - 1] = int(hu_by_level[level])
        masks[level] = mask
    return ct, masks


def write_study(
    folder: Path, hu_by_level: dict[str, float], *, seed: int = 0, study_uid: str | None = None
) -> str:
    """Write the CT slices of one study into `folder` (shuffled file order); returns its StudyInstanceUID."""
    from pydicom.uid import generate_uid

    from ovcf_core.imaging.phantoms import dicom_slice

    folder.mkdir(parents=True, exist_ok=True)
    ct, _ = volume(hu_by_level)
    study_uid = study_uid or generate_uid(entropy_srcs=[str(folder.name), str(seed)])
    series_uid = generate_uid(entropy_srcs=[str(folder.name), str(seed), "series"])
    order = np.random.default_rng(seed).permutation(len(ct))
    for k in range(len(ct)):
        data = dicom_slice(
            (ct[k].astype(np.int32) + 1024).astype(np.int16),
            modality="CT",
            # Position along z increases with the slice index; L1 occupies the first slices.
            position=(-SIZE * SPACING / 2, -SIZE * SPACING / 2, 100.0 + THICKNESS * k),
            spacing=(SPACING, SPACING),
            series_uid=series_uid,
            instance_number=int(order[k]) + 1,  # deliberately not the anatomical order
            intercept=-1024.0,
            thickness=THICKNESS,
            description="synthetic batch study",
            identifiers={
                "PatientName": NAME,
                "PatientID": f"ID-{folder.name}",
                "StudyInstanceUID": study_uid,
            },
        )
        (folder / f"IM{order[k]:04d}.dcm").write_bytes(data)
    return study_uid


def write_rois(path: Path) -> None:
    """An ROI file with one ellipse of trabecular bone in the middle slice of each vertebra."""
    centre = (BODY[0] + BODY[1] - 1) / 2
    rois = [
        {
            "label": level,
            "slice": i * SLICES_PER_LEVEL + SLICES_PER_LEVEL // 2,
            "shape": "ellipse",
            "center": [centre, centre],
            "radii": [6, 5],
        }
        for i, level in enumerate(LEVELS)
    ]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"rois": rois}))


def write_masks(folder: Path, *, flip_rows: bool = True) -> None:
    """TotalSegmentator-style masks vertebrae_L1..L4.nii.gz, RAS affine (rows flipped as dcm2niix does)."""
    import nibabel as nib

    folder.mkdir(parents=True, exist_ok=True)
    _, masks = volume(dict.fromkeys(LEVELS, 0))
    origin = np.array([-SIZE * SPACING / 2, -SIZE * SPACING / 2, 100.0])
    # NIfTI voxel (i = column, j = row, k = slice) -> LPS, then LPS -> RAS.
    lps = np.array(
        [[SPACING, 0, 0, origin[0]], [0, SPACING, 0, origin[1]], [0, 0, THICKNESS, origin[2]], [0, 0, 0, 1.0]]
    )
    if flip_rows:
        lps = lps @ np.array([[1, 0, 0, 0], [0, -1, 0, SIZE - 1], [0, 0, 1, 0], [0, 0, 0, 1.0]])
    affine = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    for level, mask in masks.items():
        data = np.transpose(mask, (2, 1, 0)).astype(np.uint8)  # (slice,row,col) -> (col,row,slice)
        if flip_rows:
            data = data[:, ::-1, :]
        image = nib.Nifti1Image(np.ascontiguousarray(data), affine)
        image.header.set_zooms((SPACING, SPACING, THICKNESS))
        nib.save(image, str(folder / f"vertebrae_{level}.nii.gz"))


def write_export(root: Path, n: int, *, method: str = "masks") -> tuple[Path, Path]:
    """`n` studies `study0000` ... under `root/studies` with their masks (`root/masks`) or ROI files
    (`root/rois`), each with its own HU; returns (studies folder, masks or ROI folder)."""
    studies_dir, extra = root / "studies", root / ("masks" if method == "masks" else "rois")
    template = root / "template_masks"
    if method == "masks":
        write_masks(template)
    for i in range(n):
        name = f"study{i:04d}"
        write_study(
            studies_dir / name, {level: 60 + 3 * i % 150 + 10 * k for k, level in enumerate(LEVELS)}, seed=i
        )
        if method == "masks":
            (extra / name).mkdir(parents=True)
            for mask in template.iterdir():
                (extra / name / mask.name).write_bytes(mask.read_bytes())
        else:
            write_rois(extra / f"{name}.json")
    return studies_dir, extra
