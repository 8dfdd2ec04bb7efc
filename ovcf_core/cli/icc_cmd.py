"""`ovcf icc RATINGS.csv --subject COL --rater COL --value COL --json OUT.json`: Shrout & Fleiss ICCs.

Values that are not numbers are listed on stderr by row and column and left out; the JSON is DESIGN §4's
`icc` contract. Heavy imports happen inside `run`.
"""

from __future__ import annotations

import argparse

from ovcf_core.cli.common import add_json_output


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the long ratings table, its subject/rater/value columns and the JSON output."""
    parser.add_argument("ratings", metavar="RATINGS", help="long table (CSV or XLSX): subject, rater, value")
    parser.add_argument("--subject", required=True, metavar="COL", help="column naming the subject")
    parser.add_argument("--rater", required=True, metavar="COL", help="column naming the rater (or session)")
    parser.add_argument("--value", required=True, metavar="COL", help="column holding the measurement")
    add_json_output(parser)


def run(args: argparse.Namespace) -> int:
    """Read the ratings, compute the six ICC forms, write the JSON; notes go to stderr.

    Ratings that are not numbers (or are uncached formulas) are listed by row and column and left out.

    Raises
    ------
    InputError
        When a named column is missing or the table cannot be read; the message starts with the file name.
    AnalysisError
        When the ICC cannot be computed from the usable ratings: fewer than 2 subjects or raters, a
        subject not rated by every rater, or every rating the same.
    """
    import sys
    from pathlib import Path

    from ovcf_core.cli.common import write_json
    from ovcf_core.errors import AnalysisError, InputError, OvcfError
    from ovcf_core.io import read_table
    from ovcf_core.schema import normalize_columns, to_number
    from ovcf_core.stats.icc import icc_long
    from ovcf_core.table_notes import table_notes, take_uncached_formulas

    name = Path(args.ratings).name
    subject, rater, value = (c.strip().lower() for c in (args.subject, args.rater, args.value))
    read = read_table(args.ratings, name, expect=(subject, rater, value))
    for note in table_notes(read):
        print(f"{name}: warning: {note}", file=sys.stderr)
    table = normalize_columns(read)
    for column in (subject, rater, value):
        if column not in table.columns:
            raise InputError(f"no column '{column}'", file=name, column=column)
    table, formulas = take_uncached_formulas(table, [subject, rater, value])
    for row, column, message in formulas:
        print(
            f"{name}: error: row {row}, column '{column}': {message}; this rating is left out",
            file=sys.stderr,
        )
    numbers, bad = to_number(table[value])
    for row, text in table.loc[bad, value].items():
        print(f"{name}: error: row {row}, column '{value}': '{text}' is not a number", file=sys.stderr)
    ratings = table[[subject, rater]].astype("string").apply(lambda s: s.str.strip()).replace("", None)
    ratings[value] = numbers
    try:
        result = icc_long(ratings, subject, rater, value)
    except OvcfError as exc:
        kind = InputError if isinstance(exc, InputError) else AnalysisError
        raise kind(f"{name}, {exc}" if not str(exc).startswith(name) else str(exc)) from None
    for note in result.warnings:
        print(f"{name}: warning: {note}", file=sys.stderr)
    write_json(result.to_dict(), args.json)
    return 0
