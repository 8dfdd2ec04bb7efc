"""The `ovcf` command line: thin wrappers over ovcf_core (DESIGN §4).

Each command lives in its own module with `add_arguments(parser)` and `run(args) -> int`; modules import
their heavy dependencies inside `run`, so `ovcf measure` starts without loading pandas or statsmodels.
Errors the user caused print one line on stderr and exit 2; nothing prints a traceback unless
OVCF_DEBUG=1 is set.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Sequence

# command name -> (module under ovcf_core.cli, one-line help)
COMMANDS: dict[str, tuple[str, str]] = {
    "dashboard": ("dashboard_cmd", "start the Streamlit dashboard"),
    "batch": ("batch_cmd", "measure many studies in parallel (joblib or a Dask cluster) into one CSV"),
    "measure": ("measure_cmd", "measure ROIs (HU, SI, area) on a DICOM series"),
    "train": ("train_cmd", "fit the VBQ/HU risk model on a cohort table and save it as a JSON model file"),
    "predict": ("predict_cmd", "one patient's fracture probability with 95% CI from a model file"),
    "analyze": ("analyze_cmd", "the paper's cohort analysis: Table 1, Spearman, odds ratios, ROC/DeLong"),
    "icc": ("icc_cmd", "intraclass correlation (six Shrout & Fleiss forms) from a long ratings table"),
    "match": ("match_cmd", "1:1 matching of controls to cases: exact sex, nearest age within a caliper"),
    "indicators": ("indicators_cmd", "the five indicators per patient from raw per-vertebra measurements"),
}


def build_parser() -> argparse.ArgumentParser:
    """The `ovcf` parser with one subcommand per entry of COMMANDS."""
    parser = argparse.ArgumentParser(
        prog="ovcf",
        description="OVCF risk screening (research tool, not a medical device).",
    )
    subparsers = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(f"ovcf_core.cli.{module_name}")
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.add_arguments(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ovcf` console script; returns the exit code."""
    from ovcf_core.errors import OvcfError

    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args._run(args) or 0)
    except OvcfError as exc:
        print(f"ovcf {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"ovcf {args.command}: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("OVCF_DEBUG"):
            raise
        print(
            f"ovcf {args.command}: error: unexpected {type(exc).__name__}: {exc} "
            "(set OVCF_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return 3


if __name__ == "__main__":
    sys.exit(main())
