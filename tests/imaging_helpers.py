"""Small DICOM series written on the fly for the imaging tests (values encode the true slice order)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ovcf_core.imaging.phantoms import AXIAL, dicom_slice

SERIES_A = "1.2.826.0.1.3680043.8.498.7001"
SERIES_B = "1.2.826.0.1.3680043.8.498.7002"


def ordered_series(
    n: int = 5,
    *,
    size: int = 16,
    orientation: tuple[float, ...] = AXIAL,
    series_uid: str = SERIES_A,
    modality: str = "MR",
    spacing: tuple[float, float] = (0.5, 0.8),
) -> list[tuple[str, bytes]]:
    """`n` slices whose pixel value is 100 × (true position rank + 1); names and InstanceNumbers shuffled.

    Positions step 2.5 mm along the normal of `orientation`, starting away from the origin.
    """
    row, column = np.asarray(orientation[:3]), np.asarray(orientation[3:])
    normal = np.cross(row, column)
    rng = np.random.default_rng(n + size)
    file_order = rng.permutation(n)
    numbers = rng.permutation(n) + 1
    files = []
    for rank in range(n):
        position = np.array([3.0, -7.0, 11.0]) + normal * (2.5 * rank - 4.0)
        stored = np.full((size, size), 100 * (rank + 1), dtype=np.uint16)
        data = dicom_slice(
            stored,
            modality=modality,
            position=position,
            orientation=orientation,
            spacing=spacing,
            series_uid=series_uid,
            instance_number=int(numbers[rank]),
            slope=1.0,
            intercept=0.0,
        )
        files.append((f"img{int(file_order[rank]):02d}.dcm", data))
    files.sort()
    return files


def write_files(folder: Path, files: list[tuple[str, bytes]]) -> Path:
    """Write (name, bytes) pairs into `folder`."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, data in files:
        (folder / name).write_bytes(data)
    return folder
