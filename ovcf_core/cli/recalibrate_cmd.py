"""`ovcf recalibrate COHORT --model MODEL.json --method intercept|logistic -o NEW.json`: update a model's
intercept (and, for `logistic`, scale every coefficient by the calibration slope) to a cohort (DESIGN §4b)."""

from __future__ import annotations

import argparse
import sys

from ovcf_core.cli.common import output_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments of `ovcf recalibrate COHORT --model MODEL.json --method intercept|logistic -o NEW.json`."""
    parser.add_argument("cohort", metavar="COHORT", help="cohort table (CSV or XLSX) with the outcome ovcf")
    parser.add_argument("--model", required=True, metavar="MODEL.json", help="the model file to recalibrate")
    parser.add_argument(
        "--method",
        required=True,
        choices=("intercept", "logistic"),
        help="intercept: calibration-in-the-large only; logistic: intercept and slope",
    )
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        type=output_file(stdout_ok=False),
        metavar="NEW_MODEL.json",
        help="the recalibrated model file to write",
    )


def run(args: argparse.Namespace) -> int:
    """Read the cohort and model, recalibrate, save the new model file; one summary line on stderr."""
    from pathlib import Path

    from ovcf_core.cli.common import print_problems
    from ovcf_core.errors import InputError
    from ovcf_core.io import read_cohort
    from ovcf_core.model import load_model, save_model
    from ovcf_core.model.recalibration import recalibrate

    source = Path(args.cohort)
    model = load_model(args.model)
    table, report = read_cohort(source)
    print_problems(report, source.name)
    if table.empty:
        raise InputError("no usable rows (every row has an error)", file=source.name)
    new = recalibrate(model, table, args.method, source=source.name, file=source.name)
    save_model(new, args.output)
    p = new.provenance_
    print(
        f"recalibrated ({args.method}) on {p['recalibration_n']} patients of {source.name}: intercept "
        f"{p['recalibration_intercept']:+.3f}, slope {p['recalibration_slope']:.3f}; wrote {args.output}",
        file=sys.stderr,
    )
    return 0
