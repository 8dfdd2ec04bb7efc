"""Benchmark: one prediction from the shipped model, in-process and as a whole `ovcf predict` process.

Baselines: statsmodels' own `get_prediction(...).conf_int()` on a fitted Logit (what a user would run by
hand; it gives the same CI but needs the training data and a fit), and a bare `python -c pass` process.
Run: python benchmarks/bench_predict.py
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from process_timing import compile_sources  # noqa: E402

PATIENT = {"vbq": 3.4, "hu": 105.0, "age": 71.0, "sex": "F", "bmi": 23.5}
REPEATS = 2000


def per_call_ms(fn, repeats: int = REPEATS) -> float:
    """Median of 5 rounds of the mean time per call, in milliseconds."""
    rounds = []
    for _ in range(5):
        start = time.perf_counter()
        for _ in range(repeats):
            fn()
        rounds.append((time.perf_counter() - start) / repeats * 1000)
    return statistics.median(rounds)


def process_ms(args: list[str], repeats: int = 5) -> float:
    """Median wall time of a fresh Python process, in milliseconds."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True, cwd=ROOT)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def main() -> None:
    import numpy as np
    import statsmodels.api as sm

    from ovcf_core import paths
    from ovcf_core.io import read_cohort
    from ovcf_core.model import load_model

    start = time.perf_counter()
    model = load_model(paths.DEFAULT_MODEL)
    load_ms = (time.perf_counter() - start) * 1000
    ours = per_call_ms(lambda: model.predict(PATIENT, prevalence=0.1))

    table, _ = read_cohort(paths.SAMPLE_COHORT)
    X = sm.add_constant(
        np.column_stack(
            [table["vbq"], table["hu"], table["age"], (table["sex"] == "M").astype(float), table["bmi"]]
        )
    )
    fitted = sm.Logit(table["ovcf"].to_numpy(), X).fit(disp=0)
    row = np.array([[1.0, 3.4, 105.0, 71.0, 0.0, 23.5]])
    baseline = per_call_ms(lambda: fitted.get_prediction(row).conf_int(), repeats=200)

    cli = [sys.executable, "-m", "ovcf_core.cli", "predict", "--vbq", "3.4", "--hu", "105", "--age", "71"]
    cli += ["--sex", "F", "--bmi", "23.5", "--prevalence", "0.1", "--json", "-"]
    compile_sources()  # the process starts from bytecode, as an installed ovcf does
    cli_ms = process_ms(cli)
    bare_ms = process_ms([sys.executable, "-c", "pass"])

    print(f"load the shipped JSON model:           {load_ms:8.2f} ms (once)")
    print(f"one prediction with CI (ovcf_core):    {ours:8.4f} ms")
    print(f"statsmodels get_prediction + conf_int: {baseline:8.4f} ms   ratio {baseline / ours:6.1f}x slower")
    print(f"whole `ovcf predict` process:          {cli_ms:8.1f} ms")
    print(f"bare `python -c pass` process:         {bare_ms:8.1f} ms   ratio {cli_ms / bare_ms:6.1f}x")
    print(f"target: one prediction well under 100 ms -> {'met' if ours < 100 else 'NOT met'}")


if __name__ == "__main__":
    main()
