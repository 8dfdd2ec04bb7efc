"""Reading and writing tables: CSV as Excel writes it (comma or semicolon, decimal comma, BOM) and XLSX.

Every reader returns strings as they were typed (parsing numbers is `schema`'s job, so it can name the
cell that is wrong) with the spreadsheet row number as the index: the header is row 1, the first data row
is row 2, as a user sees it in Excel.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from pathlib import Path
from typing import BinaryIO

import pandas as pd

from ovcf_core.errors import InputError

Source = str | Path | bytes | BinaryIO

MAX_HEADER_SEARCH = 10
FAST_CSV_CHARS = 2_000_000  # larger CSV files go through pandas' pyarrow or C reader (see `_read_csv_fast`)
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$")


def _read_bytes(source: Source, name: str | None) -> tuple[bytes, str]:
    """The file's bytes and a display name (the file name only, never a full path)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        display = name or path.name
        try:
            return path.read_bytes(), display
        except FileNotFoundError:
            raise InputError("file not found", file=display) from None
        except IsADirectoryError:
            raise InputError("is a folder, not a table file", file=display) from None
        except OSError as exc:
            raise InputError(f"cannot be read ({exc.strerror})", file=display) from None
    if isinstance(source, bytes):
        return source, name or "upload"
    data = source.read()
    return data, name or getattr(source, "name", None) or "upload"


def _decode(data: bytes, display: str) -> str:
    """Text of a CSV file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return data.decode("utf-16")
    if b"\x00" in data[:4096]:
        raise InputError("is a binary file, not a CSV or XLSX table", file=display)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
        if text.count("\ufffd") > max(5, len(text) // 100):
            raise InputError("is not a text table (unknown encoding)", file=display) from None
        return text


def _sniff_delimiter(text: str) -> str:
    """Comma, semicolon or tab: the one that splits the header line into the most columns consistently."""
    lines = [line for line in text[:200_000].splitlines()[:20] if line.strip()]
    best, best_score = ",", -1
    for delim in (",", ";", "\t"):
        counts = [len(next(csv.reader([line], delimiter=delim))) for line in lines]
        if not counts:
            continue
        score = counts[0] if counts[0] > 1 and counts.count(counts[0]) >= len(counts) / 2 else 0
        if score > best_score:
            best, best_score = delim, score
    return best


def _find_header(rows: list[list[str]], expect: tuple[str, ...]) -> int:
    """Index of the header row: the first of the first rows naming an expected column (skips title rows)."""
    wanted = {e.lower() for e in expect}
    for i, row in enumerate(rows[:MAX_HEADER_SEARCH]):
        names = {str(c).replace("\ufeff", "").strip().lower() for c in row}
        if names & wanted:
            return i
    return 0


def _frame(rows: list[list[str]], display: str, expect: tuple[str, ...]) -> pd.DataFrame:
    """A table of strings from rows, starting at the header row, indexed by spreadsheet row number."""
    rows = [r for r in rows]
    while rows and not any(str(c).strip() for c in rows[-1]):
        rows.pop()
    if not rows:
        raise InputError("the file is empty", file=display)
    h = _find_header(rows, expect)
    header = [str(c).replace("\ufeff", "").strip() for c in rows[h]]
    while header and header[-1] == "":
        header.pop()
    if not header:
        raise InputError("has no header row", file=display, row=h + 1)
    if any(name == "" for name in header):
        col = header.index("") + 1
        raise InputError(f"column {col} of the header has no name", file=display, row=h + 1)
    body, index = [], []
    width = len(header)
    for i, row in enumerate(rows[h + 1 :], start=h + 2):
        cells = ["" if c is None else str(c) for c in row]
        if not any(c.strip() for c in cells):
            continue
        if len(cells) > width and any(c.strip() for c in cells[width:]):
            raise InputError(
                f"has {len(cells)} cells but the header has {width} columns "
                "(a wrong delimiter, or an unquoted comma in a value?)",
                file=display,
                row=i,
            )
        cells = (cells + [""] * width)[:width]
        body.append(cells)
        index.append(i)
    if not body:
        raise InputError("has a header but no data rows", file=display)
    return pd.DataFrame(body, columns=header, index=pd.Index(index, name="row"), dtype="string")


def read_table(
    source: Source,
    name: str | None = None,
    *,
    sheet: str | int = 0,
    expect: tuple[str, ...] = ("patient_id",),
    numeric: Iterable[str] = (),
) -> pd.DataFrame:
    """Read a CSV or XLSX table as strings, indexed by spreadsheet row number.

    `name` is the file name shown in messages. Title rows above the header (as in Excel reports with
    merged header cells) are skipped up to the first row that names one of `expect`. Columns named in
    `numeric` (case-insensitive) may come back as numbers when a large CSV's column is all plain numbers
    (pandas' C parser reads them directly, a quarter of the time of strings plus a conversion); any
    other cell keeps its text, so validation still names each bad cell.
    """
    data, display = _read_bytes(source, name)
    if not data.strip():
        raise InputError("the file is empty", file=display)
    if data.startswith(OLE_MAGIC):
        raise InputError("is an old Excel .xls file: save it as .xlsx or CSV", file=display)
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data, display, sheet, expect)
    if display.lower().endswith((".xlsx", ".xlsm")):
        raise InputError("has an .xlsx name but is not an Excel workbook", file=display)
    text = _decode(data, display)
    delim = _sniff_delimiter(text)
    if len(text) >= FAST_CSV_CHARS:
        fast = _read_csv_fast(text, delim, expect, numeric)
        if fast is not None:
            return fast
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delim))
    except csv.Error as exc:
        raise InputError(f"is not a valid CSV file ({exc})", file=display) from None
    return _frame(rows, display, expect)


def _column_key(name: str) -> str:
    """A header name as `schema.normalize_columns` will spell it (lower case, spaces as underscores)."""
    return re.sub(r"\s+", "_", name.replace("\ufeff", "").strip().lower())


def _read_csv_fast(
    text: str, delim: str, expect: tuple[str, ...], numeric: Iterable[str] = ()
) -> pd.DataFrame | None:
    """A large, regular CSV read by pandas (`_parse_regular_csv`), indexed like `_frame` (spreadsheet rows).

    Columns are strings, except `numeric` ones whose every cell the parser read as a number or as empty
    (pyarrow: missing; the C reader keeps a column with an empty cell as text); a column with any other
    cell stays text, and validation reports that cell. Used only when the header is the first
    line with unique, non-empty names and no line is blank (so record i is spreadsheet row i + 2);
    anything else (or a parser error) returns None and the careful reader runs, which names the row
    that is wrong.
    """
    first_line = text[: text.find("\n") + 1 or len(text)]
    written = next(csv.reader([first_line.rstrip("\r\n")], delimiter=delim))  # names as the file spells them
    header = [c.replace("\ufeff", "").strip() for c in written]
    wanted = {e.lower() for e in expect}
    if (
        not header
        or any(h == "" for h in header)
        or len(set(header)) != len(header)
        or not {h.lower() for h in header} & wanted
        or "\n\n" in text
        or "\n\r\n" in text
    ):
        return None
    as_number = {_column_key(n) for n in numeric}
    dtypes = {w: str for w, h in zip(written, header, strict=False) if _column_key(h) not in as_number}
    df = _parse_regular_csv(text, delim, dtypes)
    if df is None or len(df.columns) != len(header) or df.empty:
        return None
    df.columns = header
    df.index = pd.RangeIndex(2, len(df) + 2, name="row")
    numbers = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c]) and df[c].dtype != bool]
    texts = [c for c in df.columns if c not in numbers]
    df[texts] = df[texts].fillna("").astype("string")
    # a row of empty cells (only delimiters) is skipped, as the careful reader does
    first_column = df.iloc[:, 0]
    maybe = (first_column.isna() if df.columns[0] in numbers else first_column.str.strip() == "").to_numpy()
    if maybe.any():
        rows = df.loc[maybe]
        blank = pd.concat(
            [rows[c].isna() if c in numbers else rows[c].str.strip() == "" for c in df.columns], axis=1
        ).all(axis=1)
        df = df.drop(index=blank.index[blank])
    return None if df.empty else df  # only blank rows: the careful reader says so, naming the file


def _parse_regular_csv(text: str, delim: str, dtypes: dict) -> pd.DataFrame | None:
    """pandas' pyarrow CSV reader (multi-threaded; empty cells missing, every other text kept as written),
    else its C reader (empty cells kept as text); None when the file is not regular enough for either.

    `dtypes` is keyed by the names as written in the header row (with `names=` the pyarrow reader
    ignores `dtype` and reads '007' as the number 7)."""
    data = text.encode("utf-8")
    options = {"sep": delim, "dtype": dtypes}
    if "0x" not in text and "0X" not in text:  # pyarrow reads '0x1F' as the integer 31; C and csv do not
        try:
            return pd.read_csv(
                io.BytesIO(data), engine="pyarrow", keep_default_na=False, na_values=[""], **options
            )
        except Exception:  # no pyarrow, or its reader cannot type a column (e.g. a row of empty cells)
            pass
    try:
        return pd.read_csv(io.BytesIO(data), engine="c", keep_default_na=False, na_filter=False, **options)
    except (pd.errors.ParserError, ValueError):
        return None


def _read_xlsx(data: bytes, display: str, sheet: str | int, expect: tuple[str, ...]) -> pd.DataFrame:
    """Rows of one worksheet as strings (numbers formatted without Excel's float noise)."""
    import openpyxl

    try:
        book = openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many types for a damaged zip/xml
        raise InputError(f"is not a readable Excel workbook ({type(exc).__name__})", file=display) from None
    try:
        names = book.sheetnames
        if isinstance(sheet, int):
            if sheet >= len(names):
                raise InputError(f"has no sheet number {sheet + 1}", file=display)
            ws = book[names[sheet]]
        elif sheet in names:
            ws = book[sheet]
        else:
            raise InputError(f"has no sheet named '{sheet}'", file=display)
        rows = [["" if v is None else _cell_text(v) for v in row] for row in ws.iter_rows(values_only=True)]
    finally:
        book.close()
    return _frame(rows, display, expect)


def _cell_text(value: object) -> str:
    """A cell value as the text a user typed: 3.0 -> '3', dates as ISO."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _is_formula(value: object) -> bool:
    """A text cell a spreadsheet would run: starts with = + - @ (or tab/CR) and is not a plain number."""
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not _PLAIN_NUMBER.match(value.strip())
    )


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Formula-like text cells prefixed with ' so spreadsheets do not run them; numbers stay numbers."""
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(lambda v: "'" + v if _is_formula(v) else v)
    renamed = {c: "'" + c for c in out.columns if _is_formula(c)}
    return out.rename(columns=renamed)


def table_to_bytes(df: pd.DataFrame, fmt: str = "csv", *, sheet_name: str = "data") -> bytes:
    """A table as CSV or XLSX bytes for a download, formula cells escaped, no index."""
    safe = escape_formulas(df)
    if fmt == "csv":
        return safe.to_csv(index=False).encode("utf-8")
    if fmt == "xlsx":
        buffer = io.BytesIO()
        with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
            safe.to_excel(writer, index=False, sheet_name=sheet_name[:31])
        return buffer.getvalue()
    raise ValueError(f"unknown table format '{fmt}' (csv or xlsx)")


def sheets_to_xlsx(tables: dict[str, pd.DataFrame]) -> bytes:
    """Several tables as one XLSX workbook (one sheet each), formula cells escaped."""
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, df in tables.items():
            escape_formulas(df).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write a table to CSV or XLSX by the file's extension, formula cells escaped."""
    path = Path(path)
    fmt = "xlsx" if path.suffix.lower() in (".xlsx", ".xlsm") else "csv"
    path.write_bytes(table_to_bytes(df, fmt))


def read_cohort(source: Source, name: str | None = None, **kwargs):
    """Read and validate a cohort table: (clean table, ValidationReport); see `schema.validate_cohort`."""
    from ovcf_core.schema import COVARIATE_COLUMNS, INDICATOR_COLUMNS, validate_cohort

    numeric = [*INDICATOR_COLUMNS, *COVARIATE_COLUMNS, *(kwargs.get("markers") or ())]
    return validate_cohort(read_table(source, name, numeric=numeric), **kwargs)
