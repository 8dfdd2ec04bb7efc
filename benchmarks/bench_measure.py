"""Benchmark: `ovcf measure` (4 ROIs, 300-slice 512×512 CT) against a SimpleITK ImageSeriesReader script.

    python benchmarks/bench_measure.py [--slices 300] [--size 512] [--repeat 3]

Both sides are timed as whole processes, interpreter start-up and imports included, as a user would run
them. The baseline reads the series with SimpleITK's ImageSeriesReader (GDCM sorts it by position), applies
the same ellipse rule (DESIGN §4) with numpy and prints the means. `ovcf measure` reads headers only to
sort and decodes only the slices the ROIs are on. Target: ratio (ovcf / SimpleITK) <= 0.3. The series is
written to a temporary folder and deleted afterwards. The load average is printed with the result: other
processes on the machine slow both sides, unevenly.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from process_timing import compile_sources  # noqa: E402

from ovcf_core.imaging.phantoms import dicom_slice  # noqa: E402

SITK_SCRIPT = r"""
import json, sys
import numpy as np
import SimpleITK as sitk

folder, roi_path = sys.argv[1], sys.argv[2]
reader = sitk.ImageSeriesReader()
reader.SetFileNames(reader.GetGDCMSeriesFileNames(folder))
volume = sitk.GetArrayFromImage(reader.Execute())  # (slices, rows, columns), HU (rescale applied)
out = {}
for roi in json.load(open(roi_path))["rois"]:
    (cx, cy), (rx, ry) = roi["center"], roi["radii"]
    y, x = np.mgrid[0 : volume.shape[1], 0 : volume.shape[2]]
    values = volume[roi["slice"]][((x - cx) / rx) ** 2 + ((y - cy) / ry) ** 2 <= 1]
    out[roi["label"]] = float(values.mean())
print(json.dumps(out))
"""


def write_series(folder: Path, slices: int, size: int) -> dict[str, dict]:
    """A CT series of `slices` slices (shuffled file names) and 4 ellipse ROIs; returns the ROI document."""
    rng = np.random.default_rng(0)
    order = rng.permutation(slices)
    noise = rng.normal(0, 25, (size, size))
    y, x = np.mgrid[0:size, 0:size]
    body = ((x - size / 2) / (size * 0.45)) ** 2 + ((y - size / 2) / (size * 0.4)) ** 2 <= 1
    for index in range(slices):
        hu = np.where(body, 40.0 + noise, -1000.0)
        hu[((x - size / 2) / 40) ** 2 + ((y - size / 2 - 60) / 30) ** 2 <= 1] = 100.0 + index % 97
        stored = np.round(hu + 1024).astype(np.int16)
        data = dicom_slice(
            stored,
            modality="CT",
            position=(-size * 0.35, -size * 0.35, -400.0 + 1.25 * index),
            spacing=(0.7, 0.7),
            series_uid="1.2.826.0.1.3680043.8.498.9999",
            instance_number=int(order[index]) + 1,
            slope=1.0,
            intercept=-1024.0,
            identifiers={},
        )
        (folder / f"IM{int(order[index]):05d}.dcm").write_bytes(data)
    picks = [round(slices * f) for f in (0.15, 0.4, 0.65, 0.9)]
    rois = [
        {
            "label": f"L{k + 1}",
            "slice": s,
            "shape": "ellipse",
            "center": [size / 2, size / 2 + 60],
            "radii": [25, 18],
        }
        for k, s in enumerate(picks)
    ]
    return {"rois": rois}


def timed(command: list[str]) -> tuple[float, str]:
    """Wall time of a whole process and its stdout."""
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=True, cwd=ROOT)
    return time.perf_counter() - started, done.stdout


def main() -> None:
    """Generate the series, time both sides `--repeat` times, print medians and the ratio."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slices", type=int, default=300)
    parser.add_argument("--size", type=int, default=512)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="ovcf_bench_measure_") as tmp:
        folder = Path(tmp) / "series"
        folder.mkdir()
        print(f"writing a {args.slices}-slice {args.size}x{args.size} CT series ...", flush=True)
        rois = write_series(folder, args.slices, args.size)
        roi_path = Path(tmp) / "rois.json"
        roi_path.write_text(json.dumps(rois))
        script = Path(tmp) / "sitk_measure.py"
        script.write_text(SITK_SCRIPT)
        compile_sources()  # ovcf starts from bytecode, as SimpleITK's Python side does
        ovcf_cmd = [sys.executable, "-m", "ovcf_core.cli", "measure", str(folder), "--roi", str(roi_path)]
        sitk_cmd = [sys.executable, str(script), str(folder), str(roi_path)]
        ovcf_times, sitk_times = [], []
        for _ in range(args.repeat):
            # alternate, so both see the same file-cache state
            seconds, ovcf_out = timed(ovcf_cmd)
            ovcf_times.append(seconds)
            seconds, sitk_out = timed(sitk_cmd)
            sitk_times.append(seconds)
        ours = {k: v["mean"] for k, v in json.loads(ovcf_out)["rois"].items()}
        theirs = json.loads(sitk_out)
        agree = all(abs(ours[k] - theirs[k]) < 1e-6 for k in theirs)
    ovcf_s, sitk_s = statistics.median(ovcf_times), statistics.median(sitk_times)
    print(
        f"ovcf measure (whole process):            median {ovcf_s:.3f} s  {[round(t, 3) for t in ovcf_times]}"
    )
    print(
        f"SimpleITK ImageSeriesReader (process):   median {sitk_s:.3f} s  {[round(t, 3) for t in sitk_times]}"
    )
    print(f"means agree with SimpleITK: {agree}")
    load = os.getloadavg()[0]
    print(f"ratio ovcf / SimpleITK = {ovcf_s / sitk_s:.3f}  (target <= 0.3); load average {load:.1f}")


if __name__ == "__main__":
    main()
