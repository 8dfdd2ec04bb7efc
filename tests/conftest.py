"""Shared fixtures: paths to the shipped sample data and a runner for the `ovcf` CLI as a real process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
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
