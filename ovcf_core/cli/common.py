"""Helpers shared by the CLI commands: argument types checked before any work, JSON out, table problems."""

from __future__ import annotations

import argparse
import math
import sys
from typing import Any

from ovcf_core.output import output_problem, write_json

__all__ = [
    "add_json_output",
    "count",
    "finite_float",
    "nonnegative_float",
    "output_file",
    "positive_count",
    "positive_float",
    "prevalence",
    "print_problems",
    "seed",
    "whole_number",
    "write_json",
]

SEED_MAX = 2**32 - 1  # numpy's legacy seeds and joblib both take 0 .. 2**32 - 1


def finite_float(text: str) -> float:
    """An argparse type: a finite number (not nan or inf)."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number") from None
    if not math.isfinite(value):
        raise argparse.ArgumentTypeError(f"'{text}' is not a finite number")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a finite number above 0."""
    value = finite_float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be above 0")
    return value


def nonnegative_float(text: str) -> float:
    """An argparse type: a finite number of at least 0."""
    value = finite_float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be 0 or more")
    return value


def prevalence(text: str) -> float:
    """An argparse type: a prevalence strictly between 0 and 1 (a fraction, e.g. 0.10)."""
    value = finite_float(text)
    if not 0 < value < 1:
        hint = " (give a fraction: 0.10 for 10%)" if 1 <= value <= 100 else ""
        raise argparse.ArgumentTypeError(f"'{text}' must be strictly between 0 and 1{hint}")
    return value


def whole_number(text: str) -> int:
    """An argparse type: a whole number (the other integer types check its range)."""
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a whole number") from None


def seed(text: str) -> int:
    """An argparse type: a random seed, a whole number from 0 to 2**32 - 1."""
    value = whole_number(text)
    if not 0 <= value <= SEED_MAX:
        raise argparse.ArgumentTypeError(f"'{text}' must be from 0 to {SEED_MAX}")
    return value


def count(text: str) -> int:
    """An argparse type: a whole number of at least 0 (resamples, iterations)."""
    value = whole_number(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"'{text}' must be 0 or more")
    return value


def positive_count(text: str) -> int:
    """An argparse type: a whole number of at least 1 (controls per case, model parameters)."""
    value = whole_number(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"'{text}' must be 1 or more")
    return value


def output_file(stdout_ok: bool = True):
    """An argparse type for an output path: refused before any work when it cannot be written."""

    def check(text: str) -> str:
        problem = output_problem(text, stdout_ok=stdout_ok)
        if problem:
            raise argparse.ArgumentTypeError(problem)
        return text

    check.__name__ = "output file"
    return check


def add_json_output(parser: argparse.ArgumentParser) -> None:
    """The `--json OUT.json` option of a command whose JSON goes to stdout unless a file is named."""
    parser.add_argument(
        "--json",
        default="-",
        type=output_file(),
        metavar="OUT.json",
        help="output JSON ('-' = stdout, default)",
    )


def print_problems(report: Any, file_name: str, limit: int = 5) -> None:
    """Summarise a validation report on stderr: the count, the first few problems, then the verdict."""
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
