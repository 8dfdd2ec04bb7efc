"""Benchmark: masks on a whole-size CT — TotalSegmentator-style NIfTI in, HU out, DICOM SEG out and in.

    python benchmarks/bench_masks.py [--slices 100] [--size 512] [--repeat 3]

A synthetic CT (every slice a 150 HU body in -1000 HU air) and four vertebra masks (``vertebrae_L1`` …,
20 slices each, written as dcm2niix would: RAS affine, axes column, row, slice) are written to a temporary
folder. Timed in one process (imports excluded; the median of `--repeat` runs): reading the four masks onto
the series (`mask_files.read_label_map`), HU of the trabecular cores (`mask_indicators`), writing the label
map as DICOM SEG and reading it back. The HU must be 150 exactly and the SEG must read back voxel for voxel,
or the benchmark fails. The load average is printed: other processes slow every step.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ovcf_core.imaging import load_series  # noqa: E402
from ovcf_core.imaging.mask_files import read_label_map  # noqa: E402
from ovcf_core.imaging.mask_indicators import mask_indicators  # noqa: E402
from ovcf_core.imaging.phantoms import dicom_slice  # noqa: E402
from ovcf_core.imaging.seg import read_seg, write_seg  # noqa: E402

SPACING = 0.78125
THICKNESS = 2.0


def write_study(root: Path, slices: int, size: int) -> None:
    """The CT series in `root/ct` and four vertebra masks in `root/masks`."""
    import nibabel as nib

    (root / "ct").mkdir()
    (root / "masks").mkdir()
    rows, columns = np.mgrid[0:size, 0:size]
    body = ((columns - size / 2) / (size * 0.12)) ** 2 + ((rows - size * 0.58) / (size * 0.09)) ** 2 <= 1
    stored = np.where(body, 1024 + 150, 1024 - 1000).astype(np.int16)
    origin = -size * SPACING / 2
    for k in range(slices):
        (root / "ct" / f"{k:04d}.dcm").write_bytes(
            dicom_slice(
                stored,
                modality="CT",
                position=(origin, origin, THICKNESS * k),
                spacing=(SPACING, SPACING),
                series_uid="1.2.826.0.1.3680043.8.498.9001",
                instance_number=k + 1,
                intercept=-1024.0,
                identifiers={},
            )
        )
    lps = np.array([[SPACING, 0, 0, origin], [0, SPACING, 0, origin], [0, 0, THICKNESS, 0], [0, 0, 0, 1.0]])
    ras = np.diag([-1.0, -1.0, 1.0, 1.0]) @ lps
    height = min(20, slices // 5)
    for i, level in enumerate(("L4", "L3", "L2", "L1")):
        mask = np.zeros((slices, size, size), dtype=np.uint8)
        first = 2 + i * (height + 2)
        mask[first : first + height][:, body] = 1
        image = nib.Nifti1Image(np.ascontiguousarray(mask.transpose(2, 1, 0)), ras)
        nib.save(image, str(root / "masks" / f"vertebrae_{level}.nii.gz"))


def main() -> None:
    """Run the benchmark and print one line per step."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=100)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        write_study(root, args.slices, args.size)
        series = load_series(root / "ct").pick()
        times: dict[str, list[float]] = {"read masks": [], "HU": [], "write SEG": [], "read SEG": []}
        for _ in range(args.repeat):
            start = time.perf_counter()
            label_map = read_label_map(root / "masks", series)
            read = time.perf_counter()
            result = mask_indicators(label_map, series)
            measured = time.perf_counter()
            data = write_seg(label_map, series)
            written = time.perf_counter()
            back = read_seg(("bench.dcm", data), series)
            done = time.perf_counter()
            if result.values() != {"hu": 150.0} or not np.array_equal(back.data, label_map.data):
                raise SystemExit(
                    f"wrong result: {result.values()}, SEG equal: {np.array_equal(back.data, label_map.data)}"
                )
            for key, seconds in zip(
                times, (read - start, measured - read, written - measured, done - written), strict=True
            ):
                times[key].append(seconds)
    load = os.getloadavg()[0]
    print(f"{args.slices} slices of {args.size}×{args.size}, 4 vertebra masks; load average {load:.1f}")
    for key, values in times.items():
        print(f"  {key:<11} {statistics.median(values):6.2f} s (median of {args.repeat})")
    print(f"  SEG size    {len(data) / 1e6:6.1f} MB")


if __name__ == "__main__":
    main()
