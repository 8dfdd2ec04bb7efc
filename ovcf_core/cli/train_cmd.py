"""`ovcf train`: fit the risk model on a cohort table and write it as a JSON model file (DESIGN §4)."""

from __future__ import annotations

import argparse
import sys

from ovcf_core.cli.common import add_bootstrap, add_json_file, add_output_file, column_names, count
from ovcf_core.constants import MODEL_SEED


def _resamples(text: str) -> int:
    """Parse 0 (no internal validation) or at least MIN_BOOTSTRAP bootstrap resamples (an argparse type)."""
    from ovcf_core.model.risk_model import MIN_BOOTSTRAP

    value = count(text)
    if 0 < value < MIN_BOOTSTRAP:
        raise argparse.ArgumentTypeError(f"'{text}' must be 0 (skip) or at least {MIN_BOOTSTRAP}")
    return value


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the cohort, the features and covariates, the model file, bootstrap and outputs."""
    parser.add_argument(
        "cohort", metavar="COHORT", help="cohort table (CSV or XLSX): ovcf, vbq, hu, age, sex, bmi"
    )
    parser.add_argument(
        "--features", default="vbq,hu", help="indicator columns of the model (default vbq,hu)"
    )
    parser.add_argument(
        "--adjust",
        default=None,
        help="covariates among age,sex,bmi (default: those of age,sex,bmi the table has; 'none' = none)",
    )
    add_output_file(parser, "MODEL.json", "the model file to write")
    add_bootstrap(
        parser,
        resamples=_resamples,
        default=200,
        help_text="resamples for optimism correction (>= 200; 0 = skip)",
        seed_default=MODEL_SEED,
    )
    parser.add_argument(
        "--synthetic",
        action="store_true",
        help="mark the model as trained on synthetic data (automatic for the shipped sample cohort)",
    )
    add_json_file(parser, "also write the training summary as JSON ('-' = stdout)")
    parser.add_argument("--quiet", action="store_true", help="no progress on stderr")


def run(args: argparse.Namespace) -> int:
    """Read and validate the cohort, fit the model (with bootstrap validation), save it as JSON.

    Raises
    ------
    InputError
        When the cohort cannot be read, a column named by --features/--adjust is missing or empty, or
        the model cannot be fitted (see `RiskModel.fit`).
    """
    from pathlib import Path

    from ovcf_core import paths
    from ovcf_core.cli.common import print_problems, write_json
    from ovcf_core.errors import InputError
    from ovcf_core.io import read_cohort
    from ovcf_core.model import RiskModel, save_model
    from ovcf_core.schema import COVARIATES, INDICATOR_COLUMNS

    source = Path(args.cohort)
    table, report = read_cohort(source)
    print_problems(report, source.name)
    adjust = (
        tuple(c for c in COVARIATES if c in table.columns and table[c].notna().any())
        if args.adjust is None
        else column_names(args.adjust)
    )
    named = (*column_names(args.features), *(() if args.adjust is None else adjust))
    for column in (c for c in named if c in (*INDICATOR_COLUMNS, *COVARIATES)):  # others: RiskModel says why
        if column not in table.columns:
            raise InputError(f"no column '{column}' (named by --features/--adjust)", file=source.name)
        if table[column].isna().all():
            raise InputError("no usable values", file=source.name, column=column)
    synthetic = args.synthetic or source.resolve() == paths.SAMPLE_COHORT.resolve()

    def progress(done: int, total: int) -> None:
        if not args.quiet and (done % 50 == 0 or done == total):
            print(f"bootstrap validation: {done}/{total}", file=sys.stderr)

    model = RiskModel(
        features=column_names(args.features),
        adjust=adjust,
        n_bootstrap=args.bootstrap,
        random_state=args.seed,
    )
    model.fit(table, progress=progress, source=source.name, synthetic=synthetic)
    save_model(model, args.output)
    summary = model.summary_
    if args.json:
        write_json({"model": str(args.output), "terms": list(model.terms_), **summary.to_dict()}, args.json)
    if not args.quiet:
        print(
            f"trained on {summary.n_cases} cases and {summary.n_controls} controls "
            f"({summary.n_excluded} incomplete rows left out); AUC {summary.auc:.3f}, "
            f"optimism-corrected {summary.auc_corrected:.3f}; wrote {args.output}",
            file=sys.stderr,
        )
    return 0
