"""The analysis' tables as one XLSX workbook (one sheet per table, formula cells escaped)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ovcf_core.io import sheets_to_xlsx
from ovcf_core.report import content

if TYPE_CHECKING:
    from ovcf_core.stats.analysis import CohortAnalysis


def report_workbook(analysis: CohortAnalysis) -> bytes:
    """Write the report's tables (Tables 1-3, ROC, AUC comparisons) as XLSX bytes.

    Each table is one sheet, the same tables the HTML report shows (`content.workbook_tables`); cells that
    a spreadsheet would read as a formula are escaped.
    """
    return sheets_to_xlsx(content.workbook_tables(analysis))
