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
SCHEMAS = ROOT / "ovcf_core" / "schemas"


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
    """Where a CLI JSON output breaks its JSON Schema (`ovcf_core/schemas/<kind>.schema.json`, DESIGN §4).

    Checked with the `jsonschema` library; an empty list means the output has the contracted shape.
    """
    import json

    from jsonschema import Draft202012Validator

    schema = json.loads((SCHEMAS / f"{kind}.schema.json").read_text(encoding="utf-8"))
    validator = Draft202012Validator(schema)
    return [
        f"{'.'.join(map(str, error.absolute_path)) or '(top)'}: {error.message}"
        for error in sorted(validator.iter_errors(obj), key=lambda e: list(map(str, e.absolute_path)))
    ]


_READ_CSV = pd.read_csv


def read_csv_without_pyarrow(*args, **kwargs):
    """pandas.read_csv as on a machine without pyarrow: asking for its pyarrow engine raises ImportError."""
    if kwargs.get("engine") == "pyarrow":
        raise ImportError("pyarrow")
    return _READ_CSV(*args, **kwargs)
