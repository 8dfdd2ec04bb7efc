"""The Data page's cached calls into `ovcf_core.cohort_upload` and `ovcf_core.column_mapping`.

Everything here is cached on the upload's content, so changing an unrelated widget never re-reads or
re-validates a file, and a broken upload raises `OvcfError` without touching the current cohort.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from ovcf_core import cohort_upload
from ovcf_core.column_mapping import apply_mapping
from ovcf_core.errors import InputError
from ovcf_core.schema import ValidationReport, validate_cohort


@st.cache_data(show_spinner=False, max_entries=8)
def read_upload(data: bytes, name: str) -> pd.DataFrame:
    """Read the uploaded file as strings with lower-cased column names (cached on its bytes)."""
    return cohort_upload.read_upload_table(data, name)


@st.cache_data(show_spinner=False, max_entries=8)
def validate_upload(
    data: bytes,
    name: str,
    mapping: tuple[tuple[str, str | None], ...],
    positive: str | None,
) -> tuple[pd.DataFrame, ValidationReport]:
    """Map and validate the upload: (clean usable rows, report of every problem), cached on content."""
    table = apply_mapping(read_upload(data, name), dict(mapping))
    try:
        return validate_cohort(table, positive=positive)
    except InputError as exc:  # the page names the file before the message
        raise InputError(exc.message, row=exc.row, column=exc.column) from None


@st.cache_data(show_spinner="Computing the indicators…", max_entries=8)
def cohort_from_raw_upload(data: bytes, name: str) -> tuple[pd.DataFrame, ValidationReport]:
    """Build a cohort from a raw measurement upload (`cohort_from_raw_table`), cached on content."""
    return cohort_upload.cohort_from_raw_table(read_upload(data, name), name)
