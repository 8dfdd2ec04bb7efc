"""`ovcf validate` on 1,000,000 simulated patients against statsmodels' two calibration GLM fits alone on the
same data, measured side by side in one run; prints the ratio (target: below 3).

    python benchmarks/bench_validate.py [--n 1000000]

Two ratios are printed: the whole command (reading and validating the CSV, every measure, the JSON) and
`validate_model` on the table already in memory.
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd
import statsmodels.api as sm


def cohort(n: int, seed: int = 1) -> pd.DataFrame:
    """n patients whose outcome follows the shipped model's linear predictor."""
    from ovcf_core import paths
    from ovcf_core.model import load_model
    from ovcf_core.model.variables import expit

    rng = np.random.default_rng(seed)
    table = pd.DataFrame(
        {
            "patient_id": np.char.add("P", np.arange(n).astype(str)),
            "age": rng.uniform(50, 90, n).round(1),
            "sex": rng.choice(["F", "M"], n),
            "bmi": np.clip(rng.normal(24, 3, n), 15, 40).round(1),
            "hu": np.clip(rng.normal(120, 35, n), 20, 400).round(1),
            "vbq": np.clip(rng.normal(3.2, 0.5, n), 1.0, 8.0).round(3),
        }
    )
    lp = load_model(paths.DEFAULT_MODEL).linear_predictor(table)
    table.insert(1, "ovcf", (rng.random(n) < expit(0.8 * lp - 0.3)).astype(int))
    return table


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=1_000_000)
    args = parser.parse_args()
    from ovcf_core import paths
    from ovcf_core.cli import main as ovcf
    from ovcf_core.model import load_model
    from ovcf_core.model.validation import validate_model

    table = cohort(args.n)
    model = load_model(paths.DEFAULT_MODEL)
    y = table["ovcf"].to_numpy(float)
    lp = model.linear_predictor(table)
    with tempfile.TemporaryDirectory() as folder:
        csv = Path(folder) / "cohort.csv"
        table.to_csv(csv, index=False)
        start = time.perf_counter()
        sm.GLM(y, np.ones((len(y), 1)), family=sm.families.Binomial(), offset=lp).fit()
        sm.GLM(y, sm.add_constant(lp), family=sm.families.Binomial()).fit()
        glms = time.perf_counter() - start
        start = time.perf_counter()
        validate_model(model, table)
        in_memory = time.perf_counter() - start
        start = time.perf_counter()
        code = ovcf(["validate", str(csv), "--json", str(Path(folder) / "out.json")])
        command = time.perf_counter() - start
    assert code == 0
    print(f"{args.n} patients, load average {os.getloadavg()[0]:.2f}")
    print(f"statsmodels' two GLM fits:         {glms:7.2f} s")
    print(f"validate_model (table in memory):  {in_memory:7.2f} s   ratio {in_memory / glms:.2f}")
    print(f"ovcf validate (CSV -> JSON):       {command:7.2f} s   ratio {command / glms:.2f}  (target < 3)")


if __name__ == "__main__":
    main()
