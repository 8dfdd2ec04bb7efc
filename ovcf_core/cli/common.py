"""Helpers shared by the CLI commands: writing JSON to a file or stdout, reporting table problems."""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path
from typing import Any


def _clean(value: Any) -> Any:
    """JSON-safe values: NaN/inf -> null, numpy scalars -> Python numbers."""
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_clean(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def write_json(obj: Any, target: str) -> None:
    """Write `obj` as JSON to the path `target`, or to stdout when `target` is '-'."""
    text = json.dumps(_clean(obj), indent=2, allow_nan=False)
    if target == "-":
        sys.stdout.write(text + "\n")
    else:
        Path(target).write_text(text + "\n", encoding="utf-8")


def print_problems(report: Any, file_name: str, limit: int = 20) -> None:
    """Print a validation report's problems on stderr, one line each, naming the file, row and column."""
    problems = list(report.problems)
    for problem in problems[:limit]:
        print(f"{file_name}: {problem}", file=sys.stderr)
    if len(problems) > limit:
        print(f"{file_name}: ... and {len(problems) - limit} more problem(s)", file=sys.stderr)
    if problems:
        print(f"{file_name}: {report.summary()}", file=sys.stderr)
