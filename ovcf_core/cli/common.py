"""Helpers shared by the CLI commands: argument types checked before any work, JSON out, table problems.

The argument types (`finite_float`, `positive_float`, `nonnegative_float`, `prevalence`, `whole_number`,
`seed`, `count`, `positive_count`, and those `bounded_type` and `output_file` build) share one contract:
each takes the argument as typed and returns the parsed value, or raises ``argparse.ArgumentTypeError``
quoting the text and saying what it must be, which argparse prints as a usage error (exit 2) before any
work starts.
"""

from __future__ import annotations

import argparse
import math
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from ovcf_core.output import output_problem, write_json

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "add_bootstrap",
    "add_json_file",
    "add_json_output",
    "add_model_file",
    "add_output_file",
    "add_prevalence",
    "add_report_output",
    "bounded_type",
    "column_names",
    "count",
    "finite_float",
    "nonnegative_float",
    "output_file",
    "positive_count",
    "positive_float",
    "prevalence",
    "print_problems",
    "read_usable_cohort",
    "seed",
    "whole_number",
    "write_json",
]

SEED_MAX = 2**32 - 1  # numpy's legacy seeds and joblib both take 0 .. 2**32 - 1
Number = TypeVar("Number", int, float)


def bounded_type(
    parse: Callable[[str], Number], holds: Callable[[Number], bool], requirement: str, name: str
) -> Callable[[str], Number]:
    """Build an argument type: `parse` the text, then refuse a value for which `holds` is false.

    Parameters
    ----------
    parse
        The base type (`finite_float` or `whole_number`), which refuses text that is not a number.
    holds
        The range rule, e.g. ``lambda v: v > 0``.
    requirement
        What the value must be, completing "'<text>' must be ...", e.g. ``"above 0"``.
    name
        The type's name in argparse's messages and in tracebacks.

    Returns
    -------
    Callable[[str], Number]
        The type, with the contract of the module docstring.
    """

    def check(text: str) -> Number:
        value = parse(text)
        if not holds(value):
            raise argparse.ArgumentTypeError(f"'{text}' must be {requirement}")
        return value

    check.__name__ = name
    return check


def finite_float(text: str) -> float:
    """Parse a finite number (not nan or inf): the type the other number types build on."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def whole_number(text: str) -> int:
    """Parse a whole number of any sign (2.5 and "ten" are refused, not rounded)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def prevalence(text: str) -> float:
    """Parse a fraction strictly between 0 and 1 (prevalence, α, power); 1 to 100 gets a percentage hint."""
    value = finite_float(text)
    if not 0 < value < 1:
        hint = " (give a fraction: 0.10 for 10%)" if 1 <= value <= 100 else ""
        raise argparse.ArgumentTypeError(f"'{text}' must be strictly between 0 and 1{hint}")
    return value


# the range-checked number types: each one line, its rule beside its name
positive_float = bounded_type(finite_float, lambda v: v > 0, "above 0", "positive_float")  # a caliper
nonnegative_float = bounded_type(finite_float, lambda v: v >= 0, "0 or more", "nonnegative_float")  # seconds
seed = bounded_type(whole_number, lambda v: 0 <= v <= SEED_MAX, f"from 0 to {SEED_MAX}", "seed")
count = bounded_type(whole_number, lambda v: v >= 0, "0 or more", "count")  # resamples, iterations
positive_count = bounded_type(whole_number, lambda v: v >= 1, "1 or more", "positive_count")  # ratio, K


def column_names(text: str) -> tuple[str, ...]:
    """Split a comma-separated list of column names, stripped and lower-cased ('' or 'none' = none)."""
    if text.strip().lower() == "none":
        return ()
    return tuple(n.strip().lower() for n in text.split(",") if n.strip())


def output_file(stdout_ok: bool = True) -> Callable[[str], str]:
    """Build the argparse type of an output path, so a path that cannot be written is refused before any work.

    Parameters
    ----------
    stdout_ok
        Whether ``-`` (standard output) is accepted; False for binary outputs such as XLSX tables.

    Returns
    -------
    Callable[[str], str]
        The type: returns the path unchanged, or raises ``argparse.ArgumentTypeError`` saying why it
        cannot be written (missing folder, a folder given, no permission; see `output.output_problem`).
    """

    def check(text: str) -> str:
        problem = output_problem(text, stdout_ok=stdout_ok)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return text

    check.__name__ = "output file"
    return check


def add_json_output(parser: argparse.ArgumentParser) -> None:
    """Add the `--json OUT.json` option of a command whose JSON goes to stdout unless a file is named."""
    parser.add_argument(
        "--json",
        default="-",
        type=output_file(),
        metavar="OUT.json",
        help="output JSON ('-' = stdout, default)",
    )


def add_json_file(parser: argparse.ArgumentParser, help_text: str) -> None:
    """Add the optional `--json PATH` option of a command whose JSON is an extra ('-' = stdout)."""
    parser.add_argument("--json", type=output_file(), metavar="PATH", help=help_text)


def add_model_file(parser: argparse.ArgumentParser, help_text: str, *, required: bool = False) -> None:
    """Add the `--model MODEL.json` option naming a model file to read, described by `help_text`."""
    parser.add_argument("--model", required=required, metavar="MODEL.json", help=help_text)


def add_prevalence(parser: argparse.ArgumentParser, help_text: str) -> None:
    """Add the optional `--prevalence P` option (a fraction, see `prevalence`), described by `help_text`."""
    parser.add_argument("--prevalence", type=prevalence, metavar="P", help=help_text)


def add_bootstrap(
    parser: argparse.ArgumentParser,
    *,
    resamples: Callable[[str], int],
    default: int,
    help_text: str,
    seed_default: int,
    metavar: str | None = None,
) -> None:
    """Add `--bootstrap` (how many resamples) and `--seed` (their seed), the pair every bootstrap takes.

    Parameters
    ----------
    parser
        The command's parser, extended in place.
    resamples, default, help_text, metavar
        The type (e.g. `count`), default, ``--help`` text and usage name of the number of resamples.
    seed_default
        The seed used when none is given, shown in ``--help``.
    """
    parser.add_argument("--bootstrap", type=resamples, default=default, metavar=metavar, help=help_text)
    parser.add_argument(
        "--seed", type=seed, default=seed_default, help=f"bootstrap seed (default {seed_default})"
    )


def add_output_file(parser: argparse.ArgumentParser, metavar: str, help_text: str) -> None:
    """Add the required `-o/--output FILE` option of a command that writes a file (never stdout).

    Parameters
    ----------
    parser
        The command's parser, extended in place (as for every ``add_*`` helper here).
    metavar
        How the file is named in the usage line, e.g. ``MODEL.json``.
    help_text
        What the file holds, for ``--help``.
    """
    parser.add_argument(
        "-o", "--output", required=True, type=output_file(stdout_ok=False), metavar=metavar, help=help_text
    )


def add_report_output(parser: argparse.ArgumentParser, help_text: str) -> None:
    """Add the optional `--report OUT.html` option (a file, never stdout), described by `help_text`."""
    parser.add_argument(
        "--report", default=None, type=output_file(stdout_ok=False), metavar="OUT.html", help=help_text
    )


def one_blas_thread() -> None:
    """Let OpenBLAS start with one thread unless the user set OPENBLAS_NUM_THREADS (before numpy is imported).

    For commands whose matrix products are small or run on their own worker threads: OpenBLAS's pool of
    threads would only compete with those for the same cores (its idle threads spin), and starting the
    pool is about a third of numpy's import time on a small machine. Without effect once numpy is imported.
    """
    import os

    if "numpy" not in sys.modules:
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def print_problems(report: Any, file_name: str, limit: int = 5) -> None:
    """Summarise a validation report on stderr: the count, the first few problems, then the verdict.

    Parameters
    ----------
    report
        A `schema.ValidationReport` (anything with `problems` and `summary()`).
    file_name
        The input's file name, which starts every line so the user knows which file is meant.
    limit
        How many problems to print one per line; the rest are counted.
    """
    problems = list(report.problems)
    if not problems:
        return
    print(f"{file_name}: {len(problems)} problem(s) in the table; the first {min(limit, len(problems))}:",
          file=sys.stderr)  # fmt: skip
    for problem in problems[:limit]:
        print(f"{file_name}: {problem}", file=sys.stderr)
    if len(problems) > limit:
        print(f"{file_name}: ... and {len(problems) - limit} more problem(s)", file=sys.stderr)
    print(f"{file_name}: {report.summary()}", file=sys.stderr)


def read_usable_cohort(source: Path) -> pd.DataFrame:
    """Read and validate a cohort table, list its problems on stderr and refuse one with no usable row.

    Parameters
    ----------
    source
        The cohort table (CSV or XLSX).

    Returns
    -------
    pandas.DataFrame
        The validated rows (rows with errors left out, as `io.read_cohort` does).

    Raises
    ------
    InputError
        When the file cannot be read as a cohort, or every row has an error.
    """
    from ovcf_core.errors import InputError
    from ovcf_core.io import read_cohort

    table, report = read_cohort(source)
    print_problems(report, source.name)
    if table.empty:
        raise InputError("no usable rows (every row has an error)", file=source.name)
    return table
