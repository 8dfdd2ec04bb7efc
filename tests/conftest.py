"""Shared fixtures: paths to the shipped sample data and a runner for the `ovcf` CLI as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parents[1]

# The suite is deterministic (the same examples every run, so `main` stays green for a reason we can
# reproduce); `HYPOTHESIS_PROFILE=explore pytest` searches new examples.
settings.register_profile("repeatable", derandomize=True, deadline=None, print_blob=True)
settings.register_profile("explore", deadline=None, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))
SHARED = ROOT.parent / "shared"
CONTRACTS = SHARED / "contracts" / "check_contracts.py"


def run_cli(*args: str, cwd: Path | None = None, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run `ovcf ARGS...` in a fresh interpreter, as a user's shell would; returns the completed process."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("OVCF_DEBUG", None)
    return subprocess.run(
        [sys.executable, "-m", "ovcf_core.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd or ROOT,
        env=env,
        timeout=timeout,
    )


@pytest.fixture
def cli():
    """The CLI runner (see `run_cli`)."""
    return run_cli


def contract_problems(kind: str, obj: dict) -> list[str]:
    """Shape problems of a CLI JSON output per ../shared/contracts/check_contracts.py (DESIGN §4)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("check_contracts", CONTRACTS)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.problems(kind, obj)


_READ_CSV = pd.read_csv


def read_csv_without_pyarrow(*args, **kwargs):
    """pandas.read_csv as on a machine without pyarrow: asking for its pyarrow engine raises ImportError."""
    if kwargs.get("engine") == "pyarrow":
        raise ImportError("pyarrow")
    return _READ_CSV(*args, **kwargs)
