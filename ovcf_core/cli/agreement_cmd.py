"""`ovcf agreement`: agreement of two methods measuring one indicator on the same patients (DESIGN §4b).

Usage: ``ovcf agreement TABLE --subject COL --method-a A --method-b B [--method COL --value COL]
--json OUT.json``.

Wide table: A and B are the two value columns. Long table (`--method` and `--value` given): A and B are
labels in the method column. Every difference is B − A. Cells that are not numbers and patients left out
for a missing value are listed on stderr by row; a one-line summary and the translated cut-offs follow.
Heavy imports happen inside `run`.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

from ovcf_core.cli.common import add_json_output

if TYPE_CHECKING:
    from ovcf_core.method_agreement import MethodAgreement

LOA_CI_CHOICES = (
    "bland_altman_1999",
    "exact",
)  # = stats.agreement.LOA_CI_METHODS (not imported: fast --help)
INDICATOR_CHOICES = ("hu_l1", "t_score", "hu", "vbq", "rcsa", "fi")
SHOWN_DROPPED = 5


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the table, its patient column, methods A and B, the options and the JSON output."""
    parser.add_argument("table", metavar="TABLE", help="CSV or XLSX: one row per patient (wide) or per "
                        "patient and method (long, with --method and --value)")  # fmt: skip
    parser.add_argument("--subject", required=True, metavar="COL", help="column naming the patient")
    for letter, help_text in (  # the two methods: same option, A the reference, differences B − A
        ("A", "method A (the reference, e.g. by hand): a column (wide) or a --method label (long)"),
        ("B", "method B (e.g. from a mask): a column or a label; differences are B − A"),
    ):
        parser.add_argument(f"--method-{letter.lower()}", required=True, metavar=letter, help=help_text)
    parser.add_argument("--method", metavar="COL", help="long table: column naming each row's method")
    parser.add_argument("--value", metavar="COL", help="long table: column holding the measurement")
    parser.add_argument(
        "--indicator",
        choices=INDICATOR_CHOICES,
        default=None,
        help="what the values are; hu_l1 (L1 HU) and hu, vbq get the published cut-offs "
        "translated by the bias",
    )
    parser.add_argument("--loa-ci", choices=LOA_CI_CHOICES, default="bland_altman_1999",
                        help="CI of the limits of agreement: Bland & Altman 1999 (default) or exact "
                        "(noncentral t, Carkeet 2015)")  # fmt: skip
    add_json_output(parser)


def _summary(name: str, result: MethodAgreement) -> list[str]:
    """Return the lines printed on stderr after the computation: the numbers a reader checks first."""
    ba = result.bland_altman
    unit = f" {result.unit}" if result.unit else ""

    def ci(pair: tuple[float, float], spec: str = ".4g") -> str:
        return f"[{pair[0]:{spec}}, {pair[1]:{spec}}]"

    lines = [
        f"{name}: {ba.n} pair(s), {len(result.pairs.dropped)} left out; bias ({result.difference}) "
        f"{ba.bias:.4g}{unit} {ci(ba.bias_ci)}; limits of agreement {ba.lower:.4g} {ci(ba.lower_ci)} to "
        f"{ba.upper:.4g} {ci(ba.upper_ci)}"
    ]
    if result.icc2 is not None and result.icc3 is not None:
        lines.append(
            f"{name}: ICC(2,1) absolute agreement {result.icc2.icc:.3f} {ci(result.icc2.ci, '.3f')}; "
            f"ICC(3,1) consistency {result.icc3.icc:.3f} {ci(result.icc3.ci, '.3f')}"
        )
    lines += [
        f"{name}: {c.statement(result.pairs.method_a, result.pairs.method_b, result.unit)}"
        for c in result.cutoffs
    ]
    return lines


def run(args: argparse.Namespace) -> int:
    """Read the pairs, compute the agreement, write the JSON; notes and a summary go to stderr.

    Raises
    ------
    InputError
        Only one of --method and --value, the table cannot be read, a column or method label is missing,
        the two methods are one column, or a patient has more than one row (of one method).
    AnalysisError
        Fewer than 3 complete pairs.
    OutputError
        The JSON cannot be written.
    """
    import sys
    from pathlib import Path

    from ovcf_core import paths
    from ovcf_core.cli.common import write_json
    from ovcf_core.errors import InputError
    from ovcf_core.method_agreement import SAMPLE_FILE, method_agreement, read_method_pairs

    if (args.method is None) != (args.value is None):
        raise InputError("give both --method and --value (long table) or neither (wide table)")
    name = Path(args.table).name
    pairs = read_method_pairs(
        args.table, name, args.subject, args.method_a, args.method_b, method=args.method, value=args.value
    )
    for note in pairs.notes:
        print(f"{note if note.startswith(name) else f'{name}: {note}'}", file=sys.stderr)
    for dropped in pairs.dropped[:SHOWN_DROPPED]:
        rows = ", ".join(map(str, dropped.rows)) or "?"
        print(f"{name}: row {rows}: {dropped.reason}; the patient is left out", file=sys.stderr)
    if len(pairs.dropped) > SHOWN_DROPPED:
        print(f"{name}: ... and {len(pairs.dropped) - SHOWN_DROPPED} more left out", file=sys.stderr)
    sample = paths.SAMPLE_DATA / SAMPLE_FILE
    synthetic = Path(args.table).resolve() == sample.resolve()
    result = method_agreement(pairs, indicator=args.indicator, loa_ci=args.loa_ci, synthetic=synthetic)
    for warning in result.warnings:
        print(f"{name}: warning: {warning}", file=sys.stderr)
    for line in _summary(name, result):
        print(line, file=sys.stderr)
    write_json(result.to_dict(), args.json)
    return 0
