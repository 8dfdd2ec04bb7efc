"""Rerun time of every dashboard page under AppTest, on the sample cohort and on a 100,000-patient cohort.

Run: `python benchmarks/bench_pages.py [--patients 100000] [--reruns 3]`. For each page it times the first
load (which fills the caches) and then the median of a few reruns, the number a user feels when they touch
a widget. Targets (DESIGN §6 / issues 4 and 13): < 0.5 s per rerun with the sample, < 3 s with 100,000
patients, and the first visit to Correlations with every cache empty (a new server) < 3 s on the sample.
It prints one table with the ratio of each rerun time to its target (<= 1.0 meets the target).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from streamlit.testing.v1 import AppTest  # noqa: E402

from dashboard import state  # noqa: E402
from ovcf_core.schema import validate_cohort  # noqa: E402

APP = ROOT / "dashboard" / "app.py"
TARGETS = {"sample": 0.5, "large": 3.0}


def large_cohort(n: int, seed: int = 1) -> pd.DataFrame:
    """A matched synthetic cohort of `n` patients (n/2 pairs) with the five indicators, validated."""
    rng = np.random.default_rng(seed)
    pairs = n // 2
    ovcf = np.tile([1.0, 0.0], pairs)
    age = np.repeat(rng.integers(50, 90, pairs), 2).astype(float)
    sex = np.repeat(rng.choice(["F", "M"], pairs, p=[0.64, 0.36]), 2)
    bone = rng.normal(-0.8 * ovcf, 1.0)
    fat = rng.normal(0.9 * ovcf, 1.0)
    table = pd.DataFrame(
        {
            "patient_id": [f"B{i:07d}" for i in range(2 * pairs)],
            "ovcf": ovcf,
            "age": age,
            "sex": sex,
            "bmi": rng.normal(23.5, 3.0, 2 * pairs).round(1),
            "pair_id": np.repeat([f"P{i:06d}" for i in range(pairs)], 2),
            "t_score": (-1.6 + 0.9 * bone + rng.normal(0, 0.3, 2 * pairs)).round(2),
            "hu": (115 + 35 * bone + rng.normal(0, 10, 2 * pairs)).round(1),
            "vbq": (3.1 + 0.35 * fat + rng.normal(0, 0.15, 2 * pairs)).round(2),
            "rcsa": (1.6 - 0.1 * ovcf + rng.normal(0, 0.2, 2 * pairs)).round(2),
            "fi": (13 + 4 * fat + rng.normal(0, 2, 2 * pairs)).clip(0, 100).round(1),
        }
    )
    table.index = pd.RangeIndex(2, len(table) + 2, name="row")
    clean, _ = validate_cohort(table)
    return clean


def page_paths() -> list[str]:
    """Every page registered in the app's navigation, relative to dashboard/."""
    at = AppTest.from_file(str(APP), default_timeout=600).run()
    return [str(Path(p["script_path"]).relative_to(APP.parent)) for p in at._registered_pages.values()]


def time_page(page: str, cohort: pd.DataFrame | None, reruns: int) -> tuple[float, float, int]:
    """(first load s, median rerun s, exceptions) of one page in a fresh session with `cohort` loaded."""
    at = AppTest.from_file(str(APP), default_timeout=600)
    if cohort is not None:
        at.session_state[state.COHORT] = cohort
        at.session_state[state.COHORT_IS_SYNTHETIC] = True
        at.session_state[state.COHORT_SOURCE] = f"generated benchmark cohort ({len(cohort):,} patients)"
        at.session_state[state.COHORT_KEY] = state.table_digest(cohort)
    at.run()
    at.switch_page(page)
    start = time.perf_counter()
    at.run()
    first = time.perf_counter() - start
    times = []
    for _ in range(reruns):
        start = time.perf_counter()
        at.run()
        times.append(time.perf_counter() - start)
    return first, statistics.median(times), len(at.exception)


def cold_first_visit(page: str, home_seconds: float = 0.0) -> float:
    """Seconds to open `page` as a new server's first visitor would, after `home_seconds` on the Home page
    (where the statistics libraries start loading in the background). Run in a fresh process (see
    `cold_visit_in_new_process`): nothing imported, every cache empty."""
    at = AppTest.from_file(str(APP), default_timeout=600)
    at.run()  # the Home page, the app's default
    time.sleep(home_seconds)
    at.switch_page(page)
    start = time.perf_counter()
    at.run()
    return time.perf_counter() - start


def cold_visit_in_new_process(page: str, home_seconds: float) -> float:
    """`cold_first_visit` in a new Python process (so no module is imported yet), its time in seconds."""
    import subprocess

    out = subprocess.run(
        [sys.executable, __file__, "--cold-visit", page, "--home-seconds", str(home_seconds)],
        capture_output=True, text=True, check=True,
    )  # fmt: skip
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    """Time every page on both cohorts and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=100_000)
    parser.add_argument("--reruns", type=int, default=3)
    parser.add_argument("--cold-visit", help=argparse.SUPPRESS)  # internal: one cold visit, print seconds
    parser.add_argument("--home-seconds", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.cold_visit:
        print(f"{cold_first_visit(args.cold_visit, args.home_seconds):.3f}")
        return
    cold = {wait: cold_visit_in_new_process("pages/correlations.py", wait) for wait in (0.0, 5.0)}
    for wait, seconds in cold.items():
        print(
            f"  first visit to Correlations in a new server, {wait:g} s after Home: {seconds:.2f} s",
            flush=True,
        )
    pages = page_paths()
    big = large_cohort(args.patients)
    rows = []
    for label, cohort in (("sample", None), ("large", big)):
        for page in pages:
            first, rerun, errors = time_page(page, cohort, args.reruns)
            rows.append((label, page, first, rerun, rerun / TARGETS[label], errors))
            print(f"  {label:6s} {page:28s} first {first:7.2f} s  rerun {rerun:6.3f} s", flush=True)
    print()
    print(f"{'cohort':24s} {'page':28s} {'first load':>11s} {'rerun':>9s} {'target':>7s} {'ratio':>6s} exc")
    for label, page, first, rerun, ratio, errors in rows:
        name = "sample (156)" if label == "sample" else f"generated ({len(big):,})"
        print(
            f"{name:24s} {page:28s} {first:10.2f}s {rerun:8.3f}s {TARGETS[label]:6.1f}s {ratio:6.2f} {errors}"
        )
    worst = {label: max(r[4] for r in rows if r[0] == label) for label in TARGETS}
    print(
        f"\nworst ratio to target: sample {worst['sample']:.2f}, large {worst['large']:.2f} (<= 1.0 meets it)"
    )
    for wait, seconds in cold.items():
        print(
            f"first visit to Correlations in a new server {wait:g} s after Home (sample): {seconds:.2f} s, "
            f"ratio {seconds / 3.0:.2f}"
        )


if __name__ == "__main__":
    main()
