"""Where the shipped sample data and default model live: package data inside `ovcf_core`.

They are read through `importlib.resources`, so an installed wheel finds them as well as a checkout does.
`OVCF_SAMPLE_DATA` and `OVCF_MODELS` point the tool at other folders (tests use them).
"""

from __future__ import annotations

import os
from importlib.resources import files
from pathlib import Path


def _package_folder(name: str) -> Path:
    """Return a folder shipped inside the ovcf_core package as a filesystem path (wheels install unzipped)."""
    return Path(str(files("ovcf_core").joinpath(name)))


SAMPLE_DATA = Path(os.environ.get("OVCF_SAMPLE_DATA") or _package_folder("sample_data"))
MODELS = Path(os.environ.get("OVCF_MODELS") or _package_folder("models"))

SAMPLE_COHORT = SAMPLE_DATA / "cohort.csv"
SAMPLE_RAW = SAMPLE_DATA / "raw_two_raters.csv"
SAMPLE_POOL = SAMPLE_DATA / "matching_pool.csv"
SAMPLE_DICOM = SAMPLE_DATA / "dicom"
DEFAULT_MODEL = MODELS / "default_model.json"
