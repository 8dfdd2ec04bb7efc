"""What a table reader noted about a table, kept on `DataFrame.attrs` for the validators.

The notes say which sheet it read and which XLSX formula cells had no computed value. Shared by `io`
(which writes the notes) and `schema` / `raw` (which report them by row and column), so neither needs the
other.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import pandas as pd

from ovcf_core.errors import InputError

UNCACHED = "uncached_formulas"  # `DataFrame.attrs` key: {(row, column): (cell, formula)}, see `io._read_xlsx`
NOTES = "notes"  # `DataFrame.attrs` key: what a reader chose for the user (e.g. which sheet it read)
RESAVE = "open the file in Excel and save it again, so the values are computed"


def column_key(name: str) -> str:
    """Spell a header name as `schema.normalize_columns` will (lower case, spaces as underscores)."""
    return re.sub(r"\s+", "_", name.replace("\ufeff", "").strip().lower())


def uncached_formulas(table: pd.DataFrame) -> dict[tuple[int, str], tuple[str, str]]:
    """Return the formula cells of an XLSX table that have no computed value (the cell holds the formula).

    Parameters
    ----------
    table
        A table read by `io.read_table`.

    Returns
    -------
    dict
        {(row, column as `schema.normalize_columns` spells it): (cell, formula)}; empty for CSV.
    """
    return dict(table.attrs.get(UNCACHED) or {})


def table_notes(table: pd.DataFrame) -> list[str]:
    """Return what the reader chose for the user (e.g. which sheet of a workbook it read), to warn about.

    One line per note of a table read by `io.read_table`; empty when the reader chose nothing.
    """
    return list(table.attrs.get(NOTES) or [])


def uncached_message(table: pd.DataFrame, cell: str, formula: str) -> str:
    """Word the problem of a formula cell without a computed value, naming the cell and sheet.

    Parameters
    ----------
    table
        The table the cell belongs to (its sheet name is in `attrs`).
    cell
        The cell reference, e.g. ``C4``.
    formula
        The formula text.

    Returns
    -------
    str
        One line that says how to fix it (save the file again in Excel).
    """
    return (
        f"cell {cell} of sheet '{table.attrs.get('sheet', '?')}' is a formula ({formula}) with no computed "
        f"value: {RESAVE}"
    )


def refuse_uncached_columns(table: pd.DataFrame, columns: Iterable[str]) -> None:
    """Refuse a needed column whose every value is a formula without a computed value.

    Parameters
    ----------
    table
        A table read by `io.read_table`.
    columns
        The columns the caller needs.

    Raises
    ------
    InputError
        Naming the file, column and cells, when such a column is found.
    """
    formulas = uncached_formulas(table)
    if not formulas:
        return
    wanted = {column_key(c) for c in columns}
    keys = {column_key(str(c)): c for c in table.columns}
    for key in sorted(wanted & {column for _, column in formulas}):
        column = keys.get(key)
        if column is None:
            continue
        cells = table[column].astype("string").str.strip()
        filled = cells[cells.notna() & (cells != "")].index
        refs = [formulas[(int(r), key)][0] for r in filled if (int(r), key) in formulas]
        if filled.size and len(refs) == filled.size:
            raise InputError(
                f"every value (cells {refs[0]} to {refs[-1]} of sheet '{table.attrs.get('sheet', '?')}') "
                f"is a formula with no computed value: {RESAVE}",
                file=table.attrs.get("file"),
                column=column,
            )


def take_uncached_formulas(
    table: pd.DataFrame, columns: Iterable[str]
) -> tuple[pd.DataFrame, list[tuple[int, str, str]]]:
    """Empty the uncached formula cells of `columns`, so the caller reports each cell once.

    Parameters
    ----------
    table
        A table with normalised column names.
    columns
        The columns to clear.

    Returns
    -------
    tuple
        The table (a copy when a cell was emptied) and (row, column, message) of each emptied cell.

    Raises
    ------
    InputError
        When a column is made only of such cells (`refuse_uncached_columns`).
    """
    formulas = uncached_formulas(table)
    if not formulas:
        return table, []
    wanted = [c for c in columns if c in table.columns]
    refuse_uncached_columns(table, wanted)
    found = [
        (row, column, cell, text) for (row, column), (cell, text) in formulas.items() if column in wanted
    ]
    if not found:
        return table, []
    table = table.copy()
    for row, column, _, _ in found:
        table.loc[row, column] = ""
    return table, [
        (row, column, uncached_message(table, cell, text)) for row, column, cell, text in sorted(found)
    ]
