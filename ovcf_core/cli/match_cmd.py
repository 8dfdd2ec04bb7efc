"""`ovcf match PATIENTS.csv --age age --sex sex [--caliper YEARS] -o MATCHED.csv`: 1:1 age/sex matching.

PATIENTS holds the cases and the pool of candidate controls (outcome column `ovcf` or `group`); it is
checked by `matching.matching_pool`, as on the Matching page (rows without age or sex are left out). The
output has the matched cases and controls with a `pair_id`; unmatched cases and the balance (SMD before
and after) are printed on stderr by spreadsheet row number, never by patient identifier.
"""

from __future__ import annotations

import argparse

from ovcf_core.cli.common import output_file, positive_float, seed


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Arguments: the patients table, age and sex columns, caliper, seed, output table."""
    parser.add_argument("patients", metavar="PATIENTS", help="cases and candidate controls (CSV or XLSX)")
    parser.add_argument("--age", default="age", metavar="COL", help="age column (default age)")
    parser.add_argument("--sex", default="sex", metavar="COL", help="sex column (default sex)")
    parser.add_argument(
        "--caliper", type=positive_float, default=None, metavar="YEARS", help="largest age difference"
    )
    parser.add_argument("--seed", type=seed, default=None, help="seed of the case order (reproducible)")
    parser.add_argument(
        "-o",
        "--output",
        required=True,
        type=output_file(stdout_ok=False),
        metavar="MATCHED.csv",
        help="output table (CSV/XLSX)",
    )


def run(args: argparse.Namespace) -> int:
    """Read and validate the patients, match, write the matched table; report on stderr."""
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
    result = matching.match_controls(pool, caliper=caliper, seed=seed)
    out = result.matched.rename(columns={AGE: age, SEX: sex})
    out["ovcf"] = out["ovcf"].astype(int)
    write_table(out, args.output)
    print(
        f"{name}: {result.n_pairs} pair(s) matched (caliper {caliper:g} years, seed {seed}); "
        f"{len(result.unmatched_cases)} case(s) unmatched",
        file=sys.stderr,
    )
    for row in result.unmatched_cases.index:
        print(f"{name}: unmatched case at row {row}", file=sys.stderr)
    for variable, smd in result.balance_before.items():
        after = result.balance_after.get(variable, float("nan"))
        print(f"{name}: balance {variable}: SMD {smd:.3f} before, {after:.3f} after", file=sys.stderr)
    return 0
