"""`ovcf batch`: measure every study in a folder in parallel (joblib, or a Dask cluster) into one CSV."""

from __future__ import annotations

import argparse
import sys


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `ovcf batch STUDIES_DIR (--roi-dir DIR | --mask-dir DIR) -o OUT.csv`."""
    parser.add_argument(
        "studies_dir", metavar="STUDIES_DIR", help="a folder with one sub-folder or .zip per study"
    )
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument(
        "--roi-dir",
        metavar="DIR",
        help="ROI files, one per study: <study folder name>.json or <StudyInstanceUID>.json",
    )
    source.add_argument(
        "--mask-dir",
        metavar="DIR",
        help="TotalSegmentator output, one folder per study (folder name or StudyInstanceUID) "
        "with vertebrae_L1.nii.gz ... vertebrae_L4.nii.gz",
    )
    parser.add_argument("-o", "--output", required=True, metavar="OUT.csv", help="results, one row per ROI")
    parser.add_argument(
        "--jobs", type=int, default=-1, help="parallel workers (default: all cores; 1 = serial)"
    )
    parser.add_argument(
        "--backend",
        choices=["loky", "threading", "dask"],
        default="loky",
        help="where studies run (default loky)",
    )
    parser.add_argument(
        "--scheduler", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786"
    )
    parser.add_argument(
        "--erode-mm",
        type=float,
        default=3.0,
        help="erosion of vertebra masks to trabecular bone (default 3 mm)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write a summary as JSON ('-' = stdout)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _progress_bar(quiet: bool):
    """A progress callback drawing a one-line bar on stderr (a line per 10% when stderr is not a terminal)."""
    tty = sys.stderr.isatty()
    state = {"failed": 0, "last": -1}

    def show(done: int, total: int, study: str, status: str) -> None:
        if status != "ok":
            state["failed"] += 1
        if quiet:
            return
        width = 30
        filled = int(width * done / max(total, 1))
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{total} studies, {state['failed']} failed"
        if tty:
            print("\r" + line, end="" if done < total else "\n", file=sys.stderr, flush=True)
        elif done * 10 // max(total, 1) != state["last"] or done == total:
            state["last"] = done * 10 // max(total, 1)
            print(line, file=sys.stderr, flush=True)

    return show


def run(args: argparse.Namespace) -> int:
    """Measure the studies; exit 0 when every study succeeded, 1 when some failed (they are in the CSV)."""
    from ovcf_core.batch import find_studies, run_batch
    from ovcf_core.cli.common import write_json
    from ovcf_core.errors import InputError

    if args.jobs == 0 or args.jobs < -1:
        raise InputError("--jobs must be a positive number of workers, or -1 for all cores")
    if args.erode_mm < 0:
        raise InputError("--erode-mm must not be negative")
    studies = find_studies(args.studies_dir, roi_dir=args.roi_dir, mask_dir=args.mask_dir)
    summary = run_batch(
        studies,
        args.output,
        n_jobs=args.jobs,
        backend=args.backend,
        scheduler=args.scheduler,
        erode_mm=args.erode_mm,
        progress=_progress_bar(args.quiet),
    )
    for study, message in summary.failed:
        print(f"ovcf batch: {study}: {message}", file=sys.stderr)
    print(
        f"ovcf batch: {summary.measured} measured, {summary.skipped} already done, "
        f"{len(summary.failed)} failed "
        f"in {summary.seconds:.1f} s -> {args.output}",
        file=sys.stderr,
    )
    if args.json:
        write_json(summary.to_dict(), args.json)
    return 0 if summary.ok else 1
