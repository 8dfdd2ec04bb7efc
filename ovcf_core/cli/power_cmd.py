"""`ovcf power --auc A [--kappa K] [--alpha 0.05] (--power P | --n-cases N) [--auc2 A2 --r R] --json -`.

Power or sample size of an ROC study as pROC's `power.roc.test` (DESIGN §4b); with `--parameters` and
`--prevalence`, also the minimum size to develop a prediction model (Riley et al. 2020, as pmsampsize).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ovcf_core.cli.common import (
    add_json_output,
    add_prevalence,
    bounded_type,
    finite_float,
    positive_count,
    prevalence,
)


def _between(lo: float, hi: float, what: str) -> Callable[[str], float]:
    """Build an argparse type: a number strictly between `lo` and `hi`, refused naming `what` it is."""
    return bounded_type(
        finite_float, lambda v: lo < v < hi, f"strictly between {lo:g} and {hi:g} ({what})", what
    )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the anticipated AUC(s), κ, α, and either the power wanted or the cases available."""
    auc = _between(0.5, 1.0, "an AUC above 0.5")
    parser.add_argument("--auc", type=auc, required=True, metavar="A", help="anticipated AUC (above 0.5)")
    parser.add_argument(
        "--kappa", type=_between(0.0, 1e6, "controls per case"), default=1.0, metavar="K",
        help="controls per case (default 1)",
    )  # fmt: skip
    parser.add_argument(
        "--alpha",
        type=prevalence,
        default=0.05,
        metavar="A",
        help="two-sided significance level (default 0.05)",
    )
    wanted = parser.add_mutually_exclusive_group(required=True)
    wanted.add_argument(
        "--power", type=prevalence, metavar="P", help="power wanted, e.g. 0.9: gives the sample size"
    )
    wanted.add_argument(
        "--n-cases", type=_between(0.0, 1e9, "a number of cases"), metavar="N",
        help="cases available: gives the power",
    )  # fmt: skip
    parser.add_argument(
        "--auc2", type=auc, metavar="A2", help="second AUC: compare two correlated AUCs (needs --r)"
    )
    parser.add_argument(
        "--r", type=_between(-1.0, 1.0, "a correlation"), metavar="R",
        help="correlation of the two tests' results (in cases and in controls)",
    )  # fmt: skip
    parser.add_argument(
        "--parameters", type=positive_count, metavar="K",
        help="also: minimum size to develop a prediction model with K candidate parameters (Riley 2020)",
    )  # fmt: skip
    add_prevalence(parser, "outcome prevalence for --parameters, e.g. 0.174")
    parser.add_argument(
        "--r2-cs", type=_between(0.0, 1.0, "a Cox-Snell R²"), metavar="R2",
        help="anticipated Cox-Snell R² for --parameters (default: derived from --auc as the C-statistic)",
    )  # fmt: skip
    add_json_output(parser)


def run(args: argparse.Namespace) -> int:
    """Compute the power or sample size (and the prediction-model minimum size) and write the JSON.

    Raises
    ------
    InputError
        When options that go together are given alone (--auc2 with --r, --parameters with --prevalence,
        --r2-cs needs --parameters), or `stats.power` refuses the combination.
    """
    from ovcf_core.cli.common import write_json
    from ovcf_core.errors import InputError
    from ovcf_core.stats.power import pmsampsize_binary, power_roc_test

    if (args.auc2 is None) != (args.r is None):
        raise InputError("--auc2 and --r go together (two correlated AUCs)")
    if (args.parameters is None) != (args.prevalence is None):
        raise InputError("--parameters and --prevalence go together (prediction-model sample size)")
    if args.r2_cs is not None and args.parameters is None:
        raise InputError("--r2-cs needs --parameters and --prevalence")
    result = power_roc_test(
        args.auc,
        kappa=args.kappa,
        alpha=args.alpha,
        power=args.power,
        n_cases=args.n_cases,
        auc2=args.auc2,
        r=args.r,
    )
    out = result.to_dict()
    if args.parameters is not None:
        model = pmsampsize_binary(
            args.prevalence,
            args.parameters,
            r2_cs=args.r2_cs,
            c_statistic=None if args.r2_cs is not None else args.auc,
        )
        out["prediction_model"] = model.to_dict()
    write_json(out, args.json)
    return 0
