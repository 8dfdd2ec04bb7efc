"""Where the shipped sample data and default model live (the repository's `sample_data/` and `models/`)."""

from __future__ import annotations

import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
SAMPLE_DATA = Path(os.environ.get("OVCF_SAMPLE_DATA", PROJECT_ROOT / "sample_data"))
MODELS = Path(os.environ.get("OVCF_MODELS", PROJECT_ROOT / "models"))

SAMPLE_COHORT = SAMPLE_DATA / "cohort.csv"
SAMPLE_RAW = SAMPLE_DATA / "raw_two_raters.csv"
SAMPLE_POOL = SAMPLE_DATA / "matching_pool.csv"
SAMPLE_DICOM = SAMPLE_DATA / "dicom"
DEFAULT_MODEL = MODELS / "default_model.json"
