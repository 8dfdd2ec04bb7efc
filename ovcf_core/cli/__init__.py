"""The `ovcf` command line: thin wrappers over ovcf_core (DESIGN §4).

Each command lives in its own module with two functions, so their docstrings only say what is particular
to the command: `add_arguments(parser)` fills in the subcommand's argparse parser, and `run(args)` does the
work from the parsed arguments and returns the exit code (0 on success). An error the user caused is
raised as an `OvcfError` (each `run` lists its own under Raises), which `main` prints as one line and turns
into exit code 2. Modules import their heavy dependencies inside `run`, so `ovcf measure` starts without
loading pandas or statsmodels.
Errors the user caused print one line on stderr and exit 2; nothing prints a traceback unless
OVCF_DEBUG=1 is set.
"""

from __future__ import annotations

import argparse
import atexit
import importlib
import os
import sys
import warnings
from collections.abc import Sequence
from typing import NoReturn

# command name -> (module under ovcf_core.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "dashboard": ("dashboard_cmd", "start the Streamlit dashboard"),
    "batch": ("batch_cmd", "measure many studies in parallel (joblib or a Dask cluster) into one CSV"),
    "measure": ("measure_cmd", "measure ROIs (HU, SI, area) on a DICOM series"),
    "train": ("train_cmd", "fit the VBQ/HU risk model on a cohort table and save it as a JSON model file"),
    "predict": ("predict_cmd", "one patient's fracture probability with 95% CI from a model file"),
    "analyze": ("analyze_cmd", "the paper's cohort analysis: Table 1, Spearman, odds ratios, ROC/DeLong"),
    "icc": ("icc_cmd", "intraclass correlation (six Shrout & Fleiss forms) from a long ratings table"),
    "agreement": ("agreement_cmd", "two methods on the same patients: Bland–Altman, ICC, translated cutoffs"),
    "match": ("match_cmd", "1:1 matching of controls to cases: exact sex, nearest age within a caliper"),
    "indicators": ("indicators_cmd", "the five indicators per patient from raw per-vertebra measurements"),
    "validate": ("validate_cmd", "a model on a cohort with the outcome: AUC, calibration, decision curve"),
    "incremental": ("incremental_cmd", "does a marker add to a base model: LR test, ΔAUC (DeLong), NRI, IDI"),
    "recalibrate": ("recalibrate_cmd", "update a model's intercept (and slope) to a cohort"),
    "power": ("power_cmd", "sample size or power of an ROC study (pROC's power.roc.test); model development"),
}


class _Parser(argparse.ArgumentParser):
    """An argument parser whose refusal is one line on stderr (exit 2), pointing at --help for usage."""

    def error(self, message: str) -> NoReturn:
        """Exit with code 2 and one line on stderr: the usage error and a pointer to --help."""
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser(only: str | None = None) -> argparse.ArgumentParser:
    """Build the `ovcf` parser with one subcommand per entry of COMMANDS.

    Each command module is imported here only for its `add_arguments`; its heavy imports wait in `run`.

    Parameters
    ----------
    only
        A command name: only that command is added and only its module imported, so running one command
        does not import the other twelve (`main` passes the command its arguments name). None adds them
        all, as ``ovcf --help`` and an unknown command need.

    Returns
    -------
    argparse.ArgumentParser
        The parser; the chosen command's `run` is stored as ``args._run``.
    """
    parser = _Parser(
        prog="ovcf",
        description="OVCF risk screening (research tool, not a medical device).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        if only is not None and name != only:
            continue
        module = importlib.import_module(f"ovcf_core.cli.{module_name}")
        # argparse %-formats help strings (not descriptions): "95% CI" needs its % doubled there
        sub = subparsers.add_parser(name, help=help_text.replace("%", "%%"), description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def _command_in(argv: Sequence[str]) -> str | None:
    """Return the command an argument list names (its first argument), or None when it names none."""
    return argv[0] if argv and argv[0] in COMMANDS else None


def _summarise_warnings(command: str, caught: list[warnings.WarningMessage], limit: int = 3) -> None:
    """Print the warnings raised during a command as a count and the first few distinct ones, on stderr."""
    if not caught:
        return
    distinct = list(dict.fromkeys(f"{w.category.__name__}: {w.message}" for w in caught))
    print(f"ovcf {command}: {len(caught)} warning(s) from the computation; the first:", file=sys.stderr)
    for text in distinct[:limit]:
        print(f"ovcf {command}:   {text}", file=sys.stderr)
    if len(distinct) > limit:
        print(f"ovcf {command}:   ... and {len(distinct) - limit} more kind(s)", file=sys.stderr)


def _error_line(command: str, caught: list[warnings.WarningMessage], message: str, code: int) -> int:
    """Summarise the warnings raised on the way, print the error as the last line on stderr, return `code`."""
    _summarise_warnings(command, caught)
    print(f"ovcf {command}: error: {message}", file=sys.stderr)
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """Run the `ovcf` console script: parse the arguments, run the command, turn failures into exit codes.

    Whatever happens, the last line on stderr says how the command ended: an error the user caused is
    one line naming the file, row, column or tag; warnings raised on the way are summarised before it.

    Parameters
    ----------
    argv
        The arguments after ``ovcf``; None reads ``sys.argv`` (tests pass a list).

    Returns
    -------
    int
        The exit code: the command's own (0 on success), 2 for an error the user caused (an `OvcfError`,
        an unreadable or unwritable file, a usage error), 3 for an unexpected exception, 130 when
        interrupted. With ``OVCF_DEBUG=1`` unexpected exceptions propagate with their traceback.
    """
    from ovcf_core.errors import OvcfError

    arguments = list(sys.argv[1:] if argv is None else argv)
    parser = build_parser(only=_command_in(arguments))
    args = parser.parse_args(arguments)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        try:
            code = int(args._run(args) or 0)
        except OvcfError as exc:
            return _error_line(args.command, caught, str(exc), 2)
        except KeyboardInterrupt:
            print(f"ovcf {args.command}: interrupted", file=sys.stderr)
            return 130
        except OSError as exc:
            if os.environ.get("OVCF_DEBUG"):
                raise
            where = f"{exc.filename}: " if exc.filename else ""
            return _error_line(args.command, caught, f"{where}{exc.strerror or exc}", 2)
        except Exception as exc:
            if os.environ.get("OVCF_DEBUG"):
                raise
            unexpected = f"unexpected {type(exc).__name__}: {exc} (set OVCF_DEBUG=1 for details)"
            return _error_line(args.command, caught, unexpected, 3)
    _summarise_warnings(args.command, caught)
    return code


class _Ending:
    """The exit code of a finished `main`, and the exit handler that ends the process with it."""

    code: int | None = None  # None while `main` runs, and for good when it raises (OVCF_DEBUG=1)

    def now(self) -> None:
        """End the process with `code` after flushing stdout and stderr, when `main` returned one."""
        if self.code is None:
            return  # a traceback: let the interpreter end as it always does
        try:
            for stream in (sys.stdout, sys.stderr):
                if stream is not None:  # None when the process was started with that descriptor closed
                    stream.flush()
        except (OSError, ValueError):  # a reader that went away, or a stream closed under us
            return  # the interpreter's own ending reports it (exit code 120 for a broken pipe)
        os._exit(self.code)


def console() -> NoReturn:
    """Run `main` as the `ovcf` process, which ends without the interpreter's teardown.

    By the time `main` returns, every file a command writes is closed and every worker it started has
    ended; what is left for the interpreter is freeing every imported module's objects one by one and a
    last garbage collection, about a seventh of a quick command such as ``ovcf measure`` (README,
    benchmarks). The handler ending the process is registered before anything else, so it runs after every
    other exit handler (joblib's, Dask's, temporary directories'), and threads are joined before any of
    them. In-process callers (the tests) use `main`, which returns.
    """
    ending = _Ending()
    atexit.register(ending.now)
    ending.code = main()
    sys.exit(ending.code)


if __name__ == "__main__":
    console()
