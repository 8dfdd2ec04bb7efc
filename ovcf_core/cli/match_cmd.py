"""`ovcf match`: 1:1 or 1:K age/sex matching of controls to cases.

Usage: ``ovcf match PATIENTS.csv --age age --sex sex [--caliper YEARS] [--method optimal|greedy]
[--ratio K] -o MATCHED.csv``. PATIENTS holds the cases and the pool of candidate controls (outcome column
`ovcf` or `group`); it is checked by `matching.matching_pool`, as on the Matching page (rows without age or
sex are left out). The output has each matched case followed by its K controls, sharing a `pair_id` (the
set id); unmatched cases and the balance (SMD before and after) are printed on stderr by spreadsheet row
number, never by patient identifier. `optimal` (default) does not use the seed, so its output and messages
do not depend on it.
"""

from __future__ import annotations

import argparse

from ovcf_core.cli.common import add_output_file, positive_count, positive_float, seed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Add the arguments: the patients table, age and sex columns, caliper, method, ratio, seed, output."""
    parser.add_argument("patients", metavar="PATIENTS", help="cases and candidate controls (CSV or XLSX)")
    parser.add_argument("--age", default="age", metavar="COL", help="age column (default age)")
    parser.add_argument("--sex", default="sex", metavar="COL", help="sex column (default sex)")
    parser.add_argument(
        "--caliper", type=positive_float, default=None, metavar="YEARS", help="largest age difference"
    )
    parser.add_argument(
        "--method",
        choices=("optimal", "greedy"),
        default="optimal",
        help="optimal (default): most 1:K sets, then least total age gap; greedy: seeded case order",
    )
    parser.add_argument(
        "--ratio", type=positive_count, default=1, metavar="K", help="controls per case (default 1)"
    )
    parser.add_argument(
        "--seed", type=seed, default=None, help="seed of the greedy case order (reproducible)"
    )
    add_output_file(parser, "MATCHED.csv", "output table (CSV/XLSX)")


def run(args: argparse.Namespace) -> int:
    """Read and validate the patients, match, write the matched table; report on stderr.

    Raises
    ------
    InputError
        When the age or sex column is missing or empty, no row is usable, or the rows with age and sex
        are not both cases and possible controls (see `stats.matching.matching_pool`).
    """
    import sys
    from pathlib import Path

    from ovcf_core.cli.common import print_problems
    from ovcf_core.errors import InputError
    from ovcf_core.io import read_table, write_table
    from ovcf_core.schema import AGE, SEX, normalize_columns, validate_cohort
    from ovcf_core.stats import matching

    name = Path(args.patients).name
    age, sex = args.age.strip().lower(), args.sex.strip().lower()
    raw = normalize_columns(read_table(args.patients, name))
    for column in (age, sex):
        if column not in raw.columns:
            raise InputError(f"no column '{column}'", file=name, column=column)
    raw = raw.drop(columns=[c for c in (AGE, SEX) if c not in (age, sex) and c in raw.columns])
    table, report = validate_cohort(raw.rename(columns={age: AGE, sex: SEX}))
    print_problems(report, name)
    pool = matching.matching_pool(table, name)
    for row in table.index.difference(pool.index):
        print(f"{name}: row {row} has no {age} or {sex}; it is left out of matching", file=sys.stderr)
    caliper = matching.DEFAULT_CALIPER if args.caliper is None else args.caliper
    seed = matching.DEFAULT_SEED if args.seed is None else args.seed
    result = matching.match_controls(pool, caliper=caliper, seed=seed, method=args.method, ratio=args.ratio)
    out = result.matched.rename(columns={AGE: age, SEX: sex})
    out["ovcf"] = out["ovcf"].astype(int)
    write_table(out, args.output)
    sets = "pair(s)" if args.ratio == 1 else f"set(s) of 1 case and {args.ratio} controls"
    how = f"{args.method}, caliper {caliper:g} years" + (f", seed {seed}" if args.method == "greedy" else "")
    print(
        f"{name}: {result.n_sets} {sets} matched ({how}); {len(result.unmatched_cases)} case(s) unmatched",
        file=sys.stderr,
    )
    for row in result.unmatched_cases.index:
        print(f"{name}: unmatched case at row {row}", file=sys.stderr)
    for variable, smd in result.balance_before.items():
        after = result.balance_after.get(variable, float("nan"))
        print(f"{name}: balance {variable}: SMD {smd:.3f} before, {after:.3f} after", file=sys.stderr)
    return 0
