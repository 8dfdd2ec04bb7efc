"""`ovcf batch`: measure every study in a folder in parallel (joblib, or a Dask cluster) into one CSV."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Iterator
from pathlib import Path

from ovcf_core.cli.common import (
    add_json_file,
    add_model_file,
    add_prevalence,
    nonnegative_float,
    output_file,
    whole_number,
)


def workers(text: str) -> int:
    """Parse --jobs: a whole number of workers, 1 or more, or -1 for all cores (an argparse type).

    Parameters
    ----------
    text
        The argument as typed.

    Returns
    -------
    int
        The number of workers (-1: all cores).

    Raises
    ------
    argparse.ArgumentTypeError
        Not a whole number, 0, or below -1.
    """
    value = whole_number(text)
    if value == 0 or value < -1:
        raise argparse.ArgumentTypeError(f"'{text}' must be 1 or more workers, or -1 for all cores")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments of `ovcf batch STUDIES_DIR (--roi-dir DIR | --mask-dir DIR) -o OUT.csv`."""
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
        help="masks, one folder per study (folder name or StudyInstanceUID): TotalSegmentator's one NIfTI "
        "per structure, one multi-label NIfTI or one DICOM SEG; HU (CT), VBQ (T1 sagittal), rCSA and FI "
        "(T2 axial) from them",
    )
    parser.add_argument(
        "--mask-labels",
        choices=["totalsegmentator", "musclemap"],
        default=None,
        help="value table of multi-label NIfTI masks that have no sidecar .json",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        metavar="OUT.csv",
        type=output_file(stdout_ok=False),
        help="results, one row per ROI; a rerun appends the studies not done yet (so not '-')",
    )
    parser.add_argument(
        "--jobs", type=workers, default=-1, help="parallel workers (default -1: all cores; 1 = serial)"
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
        type=nonnegative_float,
        default=3.0,
        help="erosion of vertebra masks to trabecular bone (default 3 mm; 0 = none)",
    )
    add_json_file(parser, "also write a summary as JSON ('-' = stdout)")
    parser.add_argument(
        "--qc-dir",
        metavar="QC/",
        help="write QC/<study>.png (measured slices, regions and values) per study and QC/index.html",
    )
    add_model_file(
        parser, "also write OUT.risk.csv beside OUT.csv: each study's indicators and the model's probability"
    )
    add_prevalence(
        parser, "with --model: prevalence to correct the probabilities to, as ovcf predict (e.g. 0.10)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bar")


def _progress_bar(quiet: bool):
    """Make a progress callback drawing a one-line bar on stderr (a line per 10% when not a terminal)."""
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
    """Measure the studies; exit 0 when every study succeeded, 1 when some failed (they are in the CSV).

    A failed write (disk full, no permission, a lock held by another batch) exits 2 with one line.

    Raises
    ------
    InputError
        --prevalence without --model, --mask-labels without --mask-dir, --model with an output that is not
        a regular file, a model file that cannot be read, a studies folder that `batch.find_studies`
        refuses, or a Dask backend without a reachable scheduler.
    OutputError
        The output is locked by another batch (`BatchLocked`) or cannot be written (`BatchWriteError`,
        after the summary so far is written to --json), or the risk file or JSON cannot be written.
    BatchInterrupted
        The batch machinery failed (a worker died, the cluster went away); finished rows are kept.
    """
    from ovcf_core.batch import BatchWriteError, find_studies, run_batch
    from ovcf_core.cli.common import write_json
    from ovcf_core.errors import InputError

    def note(text: str) -> None:
        print(f"ovcf batch: {text}", file=sys.stderr, flush=True)

    if args.prevalence is not None and not args.model:
        raise InputError("--prevalence needs --model")
    model = None
    if args.model:
        from ovcf_core.model import load_model
        from ovcf_core.output import is_regular_or_absent

        if not is_regular_or_absent(Path(args.output)):
            raise InputError(f"--model writes a risk file beside {args.output}, which must be a regular file")
        model = load_model(args.model)  # checked before any study is measured
    if args.mask_labels and not args.mask_dir:
        raise InputError("--mask-labels needs --mask-dir")
    studies = find_studies(
        args.studies_dir, roi_dir=args.roi_dir, mask_dir=args.mask_dir, mask_labels=args.mask_labels
    )
    progress = _progress_bar(args.quiet)
    try:
        summary = run_batch(
            studies,
            args.output,
            n_jobs=args.jobs,
            backend=args.backend,
            scheduler=args.scheduler,
            erode_mm=args.erode_mm,
            progress=progress,
            notify=note,
            qc_dir=args.qc_dir,
        )
    except BatchWriteError as exc:
        if sys.stderr.isatty() and not args.quiet:
            print(file=sys.stderr)  # end the progress bar's line
        for study, message in exc.summary.failed:
            note(f"{study}: {message}")
        if args.json:
            write_json(exc.summary.to_dict(), args.json)
        raise
    for study, message in summary.failed:
        note(f"{study}: {message}")
    note(
        f"{summary.measured} measured, {summary.skipped} already done, {len(summary.failed)} failed "
        f"in {summary.seconds:.1f} s -> {args.output}"
    )
    contrast = sum(1 for _ in _contrast_studies(args.output)) if summary.measured else 0
    if contrast:
        note(f"warning: {contrast} study(ies) in {args.output} are contrast-enhanced CT (see their message)")
    result = summary.to_dict()
    if model is not None:
        from ovcf_core import RESEARCH_NOTE
        from ovcf_core.batch_risk import write_risk

        path, rows = write_risk(args.output, model, args.prevalence)
        with_probability = sum(1 for r in rows if r.probability is not None)
        note(
            f"{with_probability} of {len(rows)} studies have a probability -> {path} "
            f"(the note column says why the others have none). {RESEARCH_NOTE}"
        )
        result["risk"] = {"path": str(path), "studies": len(rows), "with_probability": with_probability}
    if args.qc_dir:
        result["qc_index"] = str(Path(args.qc_dir) / "index.html")
    if args.json:
        write_json(result, args.json)
    return 0 if summary.ok else 1


def _contrast_studies(out_csv: str) -> Iterator[str]:
    """Yield the studies of the output whose rows carry the contrast-enhanced CT warning."""
    import csv

    seen = set()
    with contextlib.suppress(OSError), open(out_csv, newline="", encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            if "contrast-enhanced CT" in (row.get("message") or "") and row["study"] not in seen:
                seen.add(row["study"])
                yield row["study"]
