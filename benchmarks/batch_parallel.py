"""Benchmark: `ovcf batch` over generated studies with 1 and 2 workers; prints throughput and efficiency.

    python benchmarks/batch_parallel.py [--studies 200] [--method masks|roi]

Baseline: the same studies measured one after another (1 worker). Parallel efficiency = speed-up / workers;
the target is >= 0.8 on 2 cores. Studies are tiny synthetic lumbar CTs (tests/studies.py) measured with
TotalSegmentator-style masks, or with ROI files through `ovcf_core.imaging` (`--method roi`).
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from ovcf_core.batch import find_studies, run_batch  # noqa: E402
from tests import studies  # noqa: E402


def make_export(root: Path, n: int, method: str) -> tuple[Path, Path]:
    """Write `n` studies (and their masks or ROI files) under `root`; returns (studies dir, masks/ROI dir)."""
    studies_dir, extra = root / "studies", root / ("masks" if method == "masks" else "rois")
    studies.write_masks(root / "template_masks")
    for i in range(n):
        name = f"study{i:04d}"
        hu = {level: 60 + 3 * i % 150 + 10 * k for k, level in enumerate(studies.LEVELS)}
        studies.write_study(studies_dir / name, hu, seed=i)
        if method == "masks":
            (extra / name).mkdir(parents=True)
            for mask in (root / "template_masks").iterdir():
                (extra / name / mask.name).write_bytes(mask.read_bytes())
        else:
            studies.write_rois(extra / f"{name}.json")
    return studies_dir, extra


def main() -> None:
    """Time the batch with 1 and 2 workers and print throughput, speed-up and parallel efficiency."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--studies", type=int, default=200)
    parser.add_argument("--method", choices=["masks", "roi"], default="masks")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        t0 = time.perf_counter()
        studies_dir, extra = make_export(root, args.studies, args.method)
        print(f"generated {args.studies} studies in {time.perf_counter() - t0:.1f} s ({args.method})")
        kwargs = {"mask_dir": extra} if args.method == "masks" else {"roi_dir": extra}
        found = find_studies(studies_dir, **kwargs)
        run_batch(found[:4], root / "warmup.csv", n_jobs=2)  # start the worker processes once
        timings = {}
        for n_jobs in (1, 2):
            summary = run_batch(found, root / f"out_{n_jobs}.csv", n_jobs=n_jobs)
            assert summary.ok, summary.failed[:3]
            timings[n_jobs] = summary.seconds
            print(
                f"{n_jobs} worker(s): {summary.seconds:6.2f} s, "
                f"{args.studies / summary.seconds:6.1f} studies/s"
            )
        speedup = timings[1] / timings[2]
        print(
            f"speed-up 2 vs 1 worker: {speedup:.2f}x; parallel efficiency {speedup / 2:.2f} (target >= 0.8)"
        )
        load = os.getloadavg()[0]
        if load > 0.5:
            print(f"note: 1-minute load average {load:.2f} on {os.cpu_count()} cores: other work shares them")


if __name__ == "__main__":
    main()
