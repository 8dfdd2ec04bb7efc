"""`ovcf incremental COHORT --base hu --add vbq --json OUT.json`: what markers add to a base model.

The paper's question, VBQ on top of HU, for any markers and covariates: both logistic models on the same
patients, the likelihood-ratio test, the AUC gain with DeLong's paired test, and the continuous NRI and IDI
with seeded bootstrap CIs (`ovcf_core.model.incremental`, as the Validation page reports them).
"""

from __future__ import annotations

import argparse
import sys

from ovcf_core.cli.common import (
    add_bootstrap,
    add_json_output,
    column_names,
    count,
    print_problems,
    write_json,
)
from ovcf_core.constants import MODEL_SEED


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the cohort, the base model's columns, the markers added, bootstrap and output."""
    parser.add_argument("cohort", metavar="COHORT", help="cohort table (CSV or XLSX), one row per patient")
    parser.add_argument(
        "--base",
        required=True,
        type=column_names,
        metavar="COLS",
        help="comma-separated columns of the base model, e.g. hu,age,sex,bmi ('none' = intercept only)",
    )
    parser.add_argument(
        "--add",
        required=True,
        type=column_names,
        metavar="COLS",
        help="comma-separated markers added to the base model, e.g. vbq",
    )
    add_bootstrap(
        parser,
        resamples=count,
        default=200,
        help_text="resamples for the NRI and IDI percentile CIs (0 = no CIs)",
        seed_default=MODEL_SEED,
    )
    add_json_output(parser)
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    """Read and validate the cohort, compare the two models on the same patients, write the JSON.

    Raises
    ------
    InputError
        When the cohort cannot be read, a named column is missing, nothing is added, or a marker is both
        in the base and added.
    AnalysisError
        When fewer than 10 cases or 10 controls have every variable, or a model cannot be fitted.
    """
    from pathlib import Path

    from ovcf_core import RESEARCH_NOTE, SYNTHETIC_NOTE, paths
    from ovcf_core.errors import InputError
    from ovcf_core.io import read_cohort
    from ovcf_core.model.incremental import incremental_value

    source = Path(args.cohort)
    table, report = read_cohort(source)
    print_problems(report, source.name)
    for column in (*args.base, *args.add):
        if column not in table.columns:
            raise InputError(f"no column '{column}' (named by --base/--add)", file=source.name, column=column)

    def progress(done: int, total: int) -> None:
        if not args.quiet and (done % 50 == 0 or done == total):
            print(f"bootstrap: {done}/{total}", file=sys.stderr)

    result = incremental_value(
        table, args.base, args.add, n_bootstrap=args.bootstrap, seed=args.seed, progress=progress
    )
    out = {**result.to_dict(), "cohort": source.name, "note": RESEARCH_NOTE}
    if source.resolve() == paths.SAMPLE_COHORT.resolve():
        out["synthetic_note"] = SYNTHETIC_NOTE
    write_json(out, args.json)
    return 0
