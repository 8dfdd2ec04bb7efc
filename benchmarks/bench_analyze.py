"""Benchmark: `ovcf analyze` on a generated 1,000,000-patient cohort vs a hand-written baseline script.

    python benchmarks/bench_analyze.py [--patients 1000000] [--seed 1] [--repeat 3]

Both run as whole processes on the same CSV (five markers, age, sex, BMI, pair_id). The baseline is what a
user would write: pandas.read_csv, then per marker scikit-learn's roc_auc_score, statsmodels' Logit
(marker + age + sex + BMI), scipy's spearmanr and ttest_ind. `ovcf analyze` also validates every cell,
computes DeLong CIs, Youden cut-offs, paired t-tests over pair_id, the 10 DeLong comparisons, the
correlation matrix and a multivariable model. The two run alternately `--repeat` times; prints the median
wall-clock seconds of each, the ratio of the medians ovcf / baseline (target <= 0.5), every run's time,
each process's peak memory (ru_maxrss of the child; target: no more than the baseline's), the CPU
seconds of each side and the load average (other processes on the machine slow both sides, unevenly).
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
from process_timing import compile_sources

ROOT = Path(__file__).resolve().parents[1]

BASELINE = """
import sys
import numpy as np, pandas as pd
import statsmodels.api as sm
from scipy import stats
from sklearn.metrics import roc_auc_score

df = pd.read_csv(sys.argv[1])
df["male"] = (df["sex"] == "M").astype(float)
y = df["ovcf"].to_numpy(float)
for marker in ["t_score", "hu", "vbq", "rcsa", "fi"]:
    x = df[marker].to_numpy(float)
    auc = roc_auc_score(y, x)
    fit = sm.Logit(y, sm.add_constant(df[[marker, "age", "male", "bmi"]].to_numpy(float))).fit(disp=0)
    rho, p = stats.spearmanr(x, y)
    t = stats.ttest_ind(x[y == 1], x[y == 0], equal_var=False)
    print(marker, round(auc, 4), round(float(np.exp(fit.params[1])), 4), round(rho, 4), t.pvalue)
"""

MEASURE = """
import resource, subprocess, sys, time
start = time.perf_counter()
code = subprocess.run(sys.argv[1:], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
seconds = time.perf_counter() - start
if code.returncode:
    sys.exit(code.stderr[-2000:])
usage = resource.getrusage(resource.RUSAGE_CHILDREN)
print(seconds, usage.ru_maxrss, usage.ru_utime + usage.ru_stime)
"""


def make_cohort(path: Path, n: int, seed: int) -> None:
    """Write an n-patient synthetic cohort CSV (half cases, pairs of one case and one control)."""
    rng = np.random.default_rng(seed)
    half = n // 2
    y = np.r_[np.ones(half, dtype=int), np.zeros(n - half, dtype=int)]
    pair = np.r_[np.arange(half), np.arange(n - half)]
    hu = 110 - 30 * y + rng.normal(0, 25, n)
    table = pd.DataFrame(
        {
            "patient_id": np.char.add("P", np.arange(n).astype(str)),
            "ovcf": y,
            "age": rng.integers(50, 90, n),
            "sex": rng.choice(np.array(["F", "M"]), n),
            "bmi": np.round(rng.normal(24, 3, n), 1),
            "pair_id": np.char.add("pair", pair.astype(str)),
            "t_score": np.round(np.clip((hu - 110) / 35 - 2 + rng.normal(0, 0.3, n), -6.9, 4.9), 1),
            "hu": np.round(np.clip(hu, -299, 1499), 1),
            "vbq": np.round(np.clip(3 + 0.5 * y + rng.normal(0, 0.4, n), 0.6, 9.9), 2),
            "rcsa": np.round(np.clip(1.2 - 0.1 * y + rng.normal(0, 0.3, n), 0.06, 14), 2),
            "fi": np.round(np.clip(15 + 5 * y + rng.normal(0, 5, n), 0, 100), 1),
        }
    )
    table.to_csv(path, index=False)


def measure(command: list[str]) -> tuple[float, float, float]:
    """(wall seconds, peak resident memory in GB, CPU seconds user + system) of one command run as a
    child process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    out = subprocess.run(
        [sys.executable, "-c", MEASURE, *command], capture_output=True, text=True, env=env, check=False
    )
    if out.returncode:
        raise SystemExit(f"failed: {' '.join(command)}\n{out.stderr}")
    seconds, kb, cpu = out.stdout.split()
    return float(seconds), float(kb) / 1024**2, float(cpu)


def main() -> None:
    """Generate the cohort, time both processes side by side, print the ratio and peak memory."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--patients", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="alternate runs of each side (median kept)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        cohort, baseline = Path(tmp) / "cohort.csv", Path(tmp) / "baseline.py"
        t0 = time.perf_counter()
        make_cohort(cohort, args.patients, args.seed)
        print(f"cohort: {args.patients:,} patients, {cohort.stat().st_size / 1e6:.0f} MB "
              f"(written in {time.perf_counter() - t0:.1f} s)")  # fmt: skip
        baseline.write_text(BASELINE)
        compile_sources()  # ovcf starts from bytecode, as the baseline's libraries do
        ovcf = [sys.executable, "-m", "ovcf_core.cli", "analyze", str(cohort), "--pair", "pair_id"]
        ovcf += ["--json", str(Path(tmp) / "out.json")]
        runs: dict[str, list[tuple[float, float, float]]] = {"baseline": [], "ovcf": []}
        for _ in range(max(1, args.repeat)):
            runs["baseline"].append(measure([sys.executable, str(baseline), str(cohort)]))
            runs["ovcf"].append(measure(ovcf))
    load = os.getloadavg()[0]
    base_s, ovcf_s = (statistics.median(s for s, _, _ in runs[k]) for k in ("baseline", "ovcf"))
    base_gb, ovcf_gb = (max(gb for _, gb, _ in runs[k]) for k in ("baseline", "ovcf"))
    base_cpu, ovcf_cpu = (statistics.median(c for _, _, c in runs[k]) for k in ("baseline", "ovcf"))
    each = {k: ", ".join(f"{s:.2f}" for s, _, _ in v) for k, v in runs.items()}
    print(f"baseline (sklearn + statsmodels + scipy): {base_s:7.2f} s median ({each['baseline']}), "
          f"peak {base_gb:.2f} GB")  # fmt: skip
    print(f"ovcf analyze (validation + all stats):    {ovcf_s:7.2f} s median ({each['ovcf']}), "
          f"peak {ovcf_gb:.2f} GB")  # fmt: skip
    print(f"ratio ovcf / baseline: {ovcf_s / base_s:.2f} (target <= 0.5); peak memory ovcf / baseline: "
          f"{ovcf_gb / base_gb:.2f} (target <= 1.0); load average {load:.1f}")  # fmt: skip
    print(f"CPU seconds (user + system, median): ovcf {ovcf_cpu:.2f}, baseline {base_cpu:.2f}, ratio "
          f"{ovcf_cpu / base_cpu:.2f} (less sensitive to other processes than wall time)")  # fmt: skip


if __name__ == "__main__":
    main()
