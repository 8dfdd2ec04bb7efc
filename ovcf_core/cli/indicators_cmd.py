"""`ovcf indicators RAW -o COHORT`: the five indicators per patient from raw per-vertebra measurements.

Reads the raw wide template or the long form (CSV or XLSX), prints every problem on stderr (one line each,
naming the file, row and column), skips rows with errors and writes the cohort table (CSV or XLSX by the
output's extension). Exits 2 when the file cannot be used at all (empty, binary, missing columns, no
usable row).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from ovcf_core.cli.common import add_output_file


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the raw table and the cohort table to write."""
    parser.add_argument("raw", help="raw measurements: wide template or long form (CSV or XLSX)")
    add_output_file(parser, "OUTPUT", "cohort table to write (.csv or .xlsx)")


def run(args: argparse.Namespace) -> int:
    """Read the raw table, check it, compute the indicators and write the cohort; problems go to stderr.

    Raises
    ------
    InputError
        When the output is neither .csv nor .xlsx, the raw file cannot be used at all, or no row is usable.
    OutputError
        When the cohort table cannot be written.
    """
    from ovcf_core.cli.common import print_problems
    from ovcf_core.errors import InputError
    from ovcf_core.io import write_table
    from ovcf_core.raw import cohort_from_raw, read_raw
    from ovcf_core.schema import ValidationReport

    name = Path(args.raw).name
    output = Path(args.output)
    if output.suffix.lower() not in (".csv", ".xlsx"):
        raise InputError("the output must end in .csv or .xlsx", file=output.name)
    table = read_raw(args.raw, name)
    cohort, problems = cohort_from_raw(table, name)
    blocked = sorted({p.row for p in problems if p.severity == "error" and p.row is not None})
    report = ValidationReport(problems=tuple(problems), n_rows=len(table), blocked_rows=tuple(blocked))
    print_problems(report, name, limit=50)
    if cohort.empty:
        raise InputError("no usable rows: every row has an error (listed above)", file=name)
    write_table(cohort, output)
    return 0
