"""The analysis' tables as one XLSX workbook (one sheet per table, formula cells escaped)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ovcf_core.io import sheets_to_xlsx
from ovcf_core.report import content


def report_workbook(analysis: Any) -> bytes:
    """The report's tables (Tables 1-3, ROC, AUC comparisons) as XLSX bytes."""
    return sheets_to_xlsx(content.workbook_tables(analysis))


def write_workbook(analysis: Any, path: str | Path) -> Path:
    """Write the report's tables to an XLSX file and return its path."""
    path = Path(path)
    path.write_bytes(report_workbook(analysis))
    return path
