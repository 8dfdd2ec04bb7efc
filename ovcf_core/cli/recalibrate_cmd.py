"""`ovcf recalibrate`: update a model's intercept (and, for `logistic`, its slope) to a cohort.

Usage: ``ovcf recalibrate COHORT --model MODEL.json --method intercept|logistic -o NEW.json``. With
`logistic` every coefficient is scaled by the calibration slope (DESIGN §4b).
"""

from __future__ import annotations

import argparse
import sys

from ovcf_core.cli.common import add_model_file, add_output_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the cohort, the model file, the method and the new model file."""
    parser.add_argument("cohort", metavar="COHORT", help="cohort table (CSV or XLSX) with the outcome ovcf")
    add_model_file(parser, "the model file to recalibrate", required=True)
    parser.add_argument(
        "--method",
        required=True,
        choices=("intercept", "logistic"),
        help="intercept: calibration-in-the-large only; logistic: intercept and slope",
    )
    add_output_file(parser, "NEW_MODEL.json", "the recalibrated model file to write")


def run(args: argparse.Namespace) -> int:
    """Read the cohort and model, recalibrate, save the new model file; one summary line on stderr.

    Raises
    ------
    InputError
        When the model file or the cohort cannot be used, no row is usable, or the cohort cannot
        recalibrate the model (see `model.recalibration.recalibrate`).
    """
    from pathlib import Path

    from ovcf_core.cli.common import read_usable_cohort
    from ovcf_core.model import load_model, save_model
    from ovcf_core.model.recalibration import recalibrate

    source = Path(args.cohort)
    model = load_model(args.model)
    table = read_usable_cohort(source)
    new = recalibrate(model, table, args.method, source=source.name, file=source.name)
    save_model(new, args.output)
    p = new.provenance_
    print(
        f"recalibrated ({args.method}) on {p['recalibration_n']} patients of {source.name}: intercept "
        f"{p['recalibration_intercept']:+.3f}, slope {p['recalibration_slope']:.3f}; wrote {args.output}",
        file=sys.stderr,
    )
    return 0
