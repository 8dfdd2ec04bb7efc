"""`ovcf analyze COHORT.csv --json OUT.json [--report OUT.html]`: the paper's cohort analysis (DESIGN §4).

Validation problems go to stderr one line each (rows with errors are left out); the JSON is exactly the
`analyze` contract. Heavy imports happen inside `run` so the CLI starts fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from ovcf_core.cli.common import (
    add_bootstrap,
    add_json_output,
    count,
    one_blas_thread,
    output_file,
    print_problems,
    write_json,
)
from ovcf_core.constants import ANALYSIS_SEED


def _names(text: str | None) -> list[str] | None:
    """Split a comma-separated list of column names ('' or 'none' = an empty list; None = not given)."""
    if text is None:
        return None
    if text.strip().lower() in ("", "none"):
        return []
    return [t.strip().lower() for t in text.split(",") if t.strip()]


def _specificity_range(text: str) -> tuple[float, float]:
    """--pauc SP_LO:SP_HI checked before any work (0 <= SP_LO < SP_HI <= 1)."""
    from ovcf_core.stats.partial_auc import parse_specificity_range

    try:
        return parse_specificity_range(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _cutoff_rule(text: str) -> str:
    """--cutoff youden|closest_topleft|sensitivity:T|specificity:T checked before any work."""
    from ovcf_core.stats.cutoff_rules import cutoff_rule_text, parse_cutoff_rule

    try:
        return cutoff_rule_text(*parse_cutoff_rule(text))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _progress_printer(name: str) -> Callable[[float], None]:
    """Make a progress callback writing one stderr line per 10% of the resampling done."""
    import sys

    shown = [0]

    def report(fraction: float) -> None:
        tenth = int(fraction * 10 + 1e-9)
        if tenth > shown[0]:
            shown[0] = tenth
            print(f"{name}: resampling {10 * tenth}% done", file=sys.stderr, flush=True)

    return report


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments: the cohort table, markers, outcome, positive value, covariates, pairs, outputs."""
    parser.add_argument("cohort", metavar="COHORT", help="cohort table (CSV or XLSX), one row per patient")
    parser.add_argument("--markers", default=None, help="comma-separated markers (default: the indicators)")
    parser.add_argument(
        "--outcome", default=None, metavar="COL", help="outcome column (default ovcf or group)"
    )
    parser.add_argument(
        "--positive",
        default=None,
        metavar="VALUE",
        help="outcome value meaning a case (any case); the column's one other value is the control; NA, "
        "n/a, '.', 'missing' or empty are missing (row left out); a third value is refused, naming its rows",
    )
    parser.add_argument(
        "--adjust",
        default=None,
        help="covariates of the logistic models (default: those of age,sex,bmi in the table; 'none' = none)",
    )
    parser.add_argument("--pair", default=None, metavar="COL", help="pair column: paired t-tests over pairs")
    add_json_output(parser)
    parser.add_argument(
        "--report",
        default=None,
        type=output_file(stdout_ok=False),
        metavar="OUT.html",
        help="also write the HTML report",
    )
    parser.add_argument(
        "--conditional",
        action="store_true",
        help="also conditional logistic regression over the --pair pairs (conditional_or_* keys)",
    )
    add_bootstrap(
        parser,
        resamples=count,
        default=0,
        metavar="N",
        help_text="also a stratified bootstrap AUC CI (N resamples)",
        seed_default=ANALYSIS_SEED,
    )
    parser.add_argument(
        "--firth",
        action="store_true",
        help="every odds ratio by Firth's penalised likelihood with profile-likelihood CIs (as R logistf); "
        "without it Firth is used only where a variable separates the groups",
    )
    parser.add_argument(
        "--pauc",
        type=_specificity_range,
        default=None,
        metavar="SP_LO:SP_HI",
        help="also each marker's partial AUC over this specificity range, McClish-corrected (pauc, "
        "pauc_corrected; as pROC partial.auc.focus='sp'); with --bootstrap N also its CI",
    )
    parser.add_argument(
        "--p-adjust",
        choices=("none", "holm", "fdr_bh"),
        default="none",
        help="adjust the AUC comparisons' p-values over all comparisons (p_adjusted; default none)",
    )
    parser.add_argument(
        "--roc-test",
        choices=("delong", "bootstrap", "venkatraman"),
        default="delong",
        help="test of every two markers' ROC curves: DeLong (default), pROC's stratified bootstrap test of "
        "the AUCs, or Venkatraman's permutation test of the curves; N = --bootstrap (2000 when 0), seeded "
        "by --seed; with --pauc the DeLong and bootstrap tests also compare the partial AUCs (pauc_p; "
        "DeLong: structural components with the estimated specificity quantiles' influence)",
    )
    parser.add_argument(
        "--cutoff",
        type=_cutoff_rule,
        default="youden",
        metavar="RULE",
        help="cut-off rule: youden (default), closest_topleft, sensitivity:T (highest specificity with "
        "sensitivity >= T) or specificity:T; with --bootstrap N also its CIs (cutoff_ci, "
        "sensitivity_ci_bootstrap, specificity_ci_bootstrap)",
    )
    parser.add_argument(
        "--stratify",
        default=None,
        metavar="COL",
        help="also every figure within each stratum of COL, e.g. magnetic_field_strength_t ('stratified')",
    )
    parser.add_argument(
        "--smooth",
        choices=("none", "binormal"),
        default="none",
        help="binormal: also pROC's binormal-smoothed ROC AUC (binormal_auc, binormal_a, binormal_b)",
    )


def _read(source: str, markers: list[str] | None, outcome: str | None, positive: str | None) -> tuple:
    """Read and validate the cohort file (`io.read_cohort`), on the reading thread."""
    from ovcf_core.process_memory import arrow_uses_system_allocator

    arrow_uses_system_allocator()  # (pyarrow imported here, where the reading needs it first)
    from ovcf_core.io import read_cohort

    return read_cohort(source, markers=markers, outcome=outcome, positive=positive)


def run(args: argparse.Namespace) -> int:
    """Read and validate the cohort, analyse it, write the JSON (and the report)."""
    import sys
    from concurrent.futures import ThreadPoolExecutor
    from pathlib import Path

    one_blas_thread()  # the analysis runs its own worker threads; its products are small blocks
    from ovcf_core import paths
    from ovcf_core.errors import InputError, OvcfError
    from ovcf_core.process_memory import one_malloc_arena, release_freed_memory

    if args.conditional and not args.pair:
        raise OvcfError("--conditional needs --pair COL (the column pairing each case with its control)")
    markers = _names(args.markers)
    name = Path(args.cohort).name
    one_malloc_arena()  # a large cohort's peak memory: see ovcf_core.process_memory
    # The file is read (pyarrow's parser, which leaves the interpreter free) while the statistics modules
    # are imported here: the two overlap instead of adding up.
    with ThreadPoolExecutor(1, thread_name_prefix="ovcf-read") as reader:
        reading = reader.submit(_read, args.cohort, markers, args.outcome, args.positive)
        from ovcf_core.schema import COVARIATES
        from ovcf_core.stats.analysis import analyze_cohort

        table, report = reading.result()
    release_freed_memory()  # what reading and validation freed, before the analysis allocates
    print_problems(report, name)
    if table.empty:
        raise InputError("no usable rows (every row has an error)", file=name)
    pair = args.pair.strip().lower() if args.pair else None
    if pair is not None and pair not in table.columns:
        raise InputError(f"no pair column '{pair}'", file=name, column=pair)
    adjust = _names(args.adjust)
    if adjust is None:
        adjust = [c for c in COVARIATES if c in table.columns and table[c].notna().any()]
    for column in adjust:
        if column not in table.columns:
            raise InputError(f"--adjust names a column the table does not have: '{column}'", file=name)
        if table[column].isna().all():
            raise InputError(f"--adjust: column '{column}' has no usable values", file=name, column=column)
    strata = None
    if args.stratify:  # before the whole cohort's analysis, so a bad column fails fast
        from ovcf_core.stats.stratified import analyze_by_stratum

        strata = analyze_by_stratum(
            table, args.stratify.strip().lower(), markers=markers, adjust=adjust, pair=pair,
            conditional=args.conditional, bootstrap=args.bootstrap, seed=args.seed,
            firth=args.firth, pauc=args.pauc, p_adjust=args.p_adjust, roc_test=args.roc_test,
            cutoff=args.cutoff, smooth=args.smooth,
        )  # fmt: skip
    analysis = analyze_cohort(
        table, markers=markers, adjust=adjust, pair=pair,
        conditional=args.conditional, bootstrap=args.bootstrap, seed=args.seed,
        firth=args.firth, pauc=args.pauc, p_adjust=args.p_adjust, roc_test=args.roc_test,
        cutoff=args.cutoff, smooth=args.smooth, progress=_progress_printer(name),
    )  # fmt: skip
    result = analysis.to_dict()
    if strata is not None:
        result["stratified"] = strata.to_dict()
    write_json(result, args.json)
    for marker, notes in result["messages"].items():  # separation, dropped models, odd directions
        for note in notes:
            print(f"{name}: {marker}: {note}", file=sys.stderr)
    if args.report:
        try:
            from ovcf_core.report.html import write_report
        except ImportError as exc:
            raise OvcfError(f"the HTML report is not available in this installation ({exc})") from None
        synthetic = Path(args.cohort).resolve() == paths.SAMPLE_COHORT.resolve()
        write_report(analysis, args.report, table, synthetic=synthetic)
    return 0
