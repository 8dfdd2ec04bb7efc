"""`ovcf validate`: how a model does on a cohort with the outcome (discrimination, calibration, net benefit).

Usage: ``ovcf validate COHORT --json OUT.json [--report OUT.html]`` (DESIGN §4b). Patients missing a model
variable are counted and the first few listed on stderr (all of them in the JSON's `excluded`).
"""

from __future__ import annotations

import argparse
import sys
from typing import TYPE_CHECKING

from ovcf_core.cli.common import add_model_file, add_prevalence, add_report_output, output_file

if TYPE_CHECKING:
    import numpy as np

EXCLUDED_SHOWN = 5


def thresholds(text: str) -> np.ndarray:
    """Parse LO:HI:STEP threshold probabilities, each strictly between 0 and 1 (an argparse type).

    Parameters
    ----------
    text
        The argument as typed, e.g. ``0.05:0.5:0.05``.

    Returns
    -------
    numpy.ndarray
        The thresholds (see `model.decision_curve.parse_thresholds`).

    Raises
    ------
    argparse.ArgumentTypeError
        With `parse_thresholds`' reason when the text is not LO:HI:STEP inside (0, 1).
    """
    from ovcf_core.errors import InputError
    from ovcf_core.model.decision_curve import parse_thresholds

    try:
        return parse_thresholds(text)
    except InputError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the cohort, the model, the prevalence, the thresholds and the outputs."""
    parser.add_argument("cohort", metavar="COHORT", help="cohort table (CSV or XLSX) with the outcome ovcf")
    add_model_file(parser, "a model file (default: the shipped synthetic model)")
    add_prevalence(
        parser,
        "correct the predictions to this prevalence as `ovcf predict` does, and use it as the decision "
        "curve's prevalence (a case-control cohort); default: none",
    )
    parser.add_argument(
        "--thresholds",
        type=thresholds,
        default=None,
        metavar="LO:HI:STEP",
        help="decision-curve threshold probabilities (default 0.01:0.99:0.01)",
    )
    parser.add_argument(
        "--json", required=True, type=output_file(), metavar="OUT.json", help="output JSON ('-' = stdout)"
    )
    add_report_output(parser, "also write an HTML validation report laid out by TRIPOD")


def run(args: argparse.Namespace) -> int:
    """Read the cohort and the model, validate, write the JSON (and the report); a summary on stderr.

    Patients missing a model variable are left out: the first few are listed on stderr, all in the JSON.

    Raises
    ------
    InputError
        When the model file or the cohort cannot be used, no row is usable, or the cohort lacks the
        outcome or a model variable (see `model.validation.validate_model`).
    """
    from pathlib import Path

    from ovcf_core import paths
    from ovcf_core.cli.common import read_usable_cohort, write_json
    from ovcf_core.model import load_model
    from ovcf_core.model.validation import validate_model

    source = Path(args.cohort)
    model = load_model(args.model or paths.DEFAULT_MODEL)
    table = read_usable_cohort(source)
    synthetic = source.resolve() == paths.SAMPLE_COHORT.resolve()
    result = validate_model(
        model, table, prevalence=args.prevalence, thresholds=args.thresholds,
        cohort=source.name, synthetic=synthetic, file=source.name,
    )  # fmt: skip
    for e in result.excluded[:EXCLUDED_SHOWN]:
        who = f" ({e['patient_id']})" if e["patient_id"] else ""
        missing = ", ".join(e["missing"])
        print(f"{source.name}: row {e['row']}{who} left out: missing {missing}", file=sys.stderr)
    if result.n_excluded > EXCLUDED_SHOWN:
        print(f"{source.name}: ... and {result.n_excluded - EXCLUDED_SHOWN} more left out", file=sys.stderr)
    write_json(result.to_dict(), args.json)
    if args.report:
        from ovcf_core.model.validation_report import write_validation_report

        write_validation_report(result, args.report)
    cal = result.calibration
    for message in result.messages:
        print(f"note: {message}", file=sys.stderr)
    print(
        f"validated on {result.n} patients ({result.n_cases} cases, {result.n_excluded} left out): "
        f"AUC {result.auc:.3f} ({result.auc_ci[0]:.3f}–{result.auc_ci[1]:.3f}), calibration intercept "
        f"{cal.intercept:.3f}, slope {cal.slope:.3f}, O/E {result.observed_expected:.3f}",
        file=sys.stderr,
    )
    return 0
