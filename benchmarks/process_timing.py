"""Compile the project's sources to bytecode before timing whole `ovcf` processes.

An installed ovcf (pip compiles a wheel's modules on install) and the baselines' libraries in
site-packages start from bytecode; the editable source tree does too once Python has written its
`__pycache__`, unless writing is off (PYTHONDONTWRITEBYTECODE, as on the CI machines), when every `ovcf`
process would compile its modules again (about 0.06-0.09 s of a 0.3 s `ovcf measure`). Writes only
`__pycache__` folders, which git ignores.
"""

from __future__ import annotations

import compileall
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def compile_sources() -> None:
    """Byte-compile `ovcf_core` (what the timed processes import) in place, quietly."""
    if not compileall.compile_dir(ROOT / "ovcf_core", quiet=1):
        raise SystemExit("could not byte-compile ovcf_core")
