"""Reading and writing tables: CSV as Excel writes it (comma or semicolon, decimal comma, BOM) and XLSX.

Every reader returns strings as they were typed (parsing numbers is `schema`'s job, so it can name the
cell that is wrong) with the spreadsheet row number as the index: the header is row 1, the first data row
is row 2, as a user sees it in Excel.
"""

from __future__ import annotations

import csv
import io
import re
import zipfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import numpy as np
import pandas as pd

from ovcf_core.errors import InputError
from ovcf_core.table_notes import NOTES, UNCACHED, column_key, refuse_uncached_columns

if TYPE_CHECKING:
    from ovcf_core.schema import ValidationReport

Source = str | Path | bytes | BinaryIO

MAX_HEADER_SEARCH = 10
FAST_CSV_CHARS = 2_000_000  # larger CSV files go through pandas' pyarrow or C reader (see `_read_csv_fast`)
XLSX_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0"

MAX_ROWS = 1_000_000
"""The last spreadsheet row an XLSX sheet may use. A value further down (a stray cell in Excel's last row,
1,048,576) refuses the file at once, naming the cell, instead of reading a million empty rows."""

MAX_COLUMNS = 1_000
"""The most columns a table (CSV or XLSX) may use; the wide raw template has about 80. A value further
right (e.g. in Excel's last column, XFD) refuses the file, naming the cell, instead of building a frame
16,384 columns wide."""

# An encrypted (password-protected) XLSX is an OLE2 compound file (the .xls magic) holding a stream of
# this name; there is no `olefile` dependency, so its UTF-16LE directory entry name is searched for.
ENCRYPTED_STREAM = "EncryptedPackage".encode("utf-16-le")
_LONE_CR = re.compile(r"\r(?!\n)")
_LONE_CR_BYTES = re.compile(rb"\r(?!\n)")
_BLANK_LINE_BYTES = re.compile(rb"\n\r?\n")  # one scan for both line ends (two `in` tests take twice as long)
_FORMULA_ELEMENT = re.compile(rb"<(?:\w+:)?f[\s>/]")
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r")
_PLAIN_NUMBER = re.compile(r"^[-+]?(\d+([.,]\d*)?|[.,]\d+)([eE][-+]?\d+)?$")


def _read_bytes(source: Source, name: str | None) -> tuple[bytes, str]:
    """Return the file's bytes and a display name (the file name only, never a full path)."""
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
    """Decode a CSV file: UTF-8 (with or without BOM), UTF-16 with BOM, else Windows-1252."""
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
    """Choose comma, semicolon or tab: whichever splits the header line into the most columns consistently."""
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
    """Find the header row: the first of the first rows naming an expected column (skips title rows)."""
    wanted = {e.lower() for e in expect}
    for i, row in enumerate(rows[:MAX_HEADER_SEARCH]):
        names = {str(c).replace("\ufeff", "").strip().lower() for c in row}
        if names & wanted:
            return i
    return 0


def _frame(
    rows: list[list[str]], display: str, expect: tuple[str, ...], numbers: list[int] | None = None
) -> pd.DataFrame:
    """Build a table of strings from rows, starting at the header row, indexed by spreadsheet row number.

    `numbers` are the rows' spreadsheet row numbers when some rows were left out (an XLSX sheet's empty
    rows); by default row i of `rows` is spreadsheet row i + 1.
    """
    numbers = list(range(1, len(rows) + 1)) if numbers is None else list(numbers)
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
        raise InputError("has no header row", file=display, row=numbers[h])
    if len(header) > MAX_COLUMNS:
        raise InputError(
            f"has {len(header):,} columns; a table may have at most {MAX_COLUMNS:,}",
            file=display,
            row=numbers[h],
        )
    if any(name == "" for name in header):
        col = header.index("") + 1
        raise InputError(f"column {col} of the header has no name", file=display, row=numbers[h])
    body, index = [], []
    width = len(header)
    for i, row in zip(numbers[h + 1 :], rows[h + 1 :], strict=False):
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
    table = pd.DataFrame(body, columns=header, index=pd.Index(index, name="row"), dtype="string")
    if numbers[h] != 1:
        table.attrs["header_row"] = numbers[h]
    return table


def read_table(
    source: Source,
    name: str | None = None,
    *,
    sheet: str | int = 0,
    expect: tuple[str, ...] = ("patient_id",),
    numeric: Iterable[str] = (),
) -> pd.DataFrame:
    """Read a CSV or XLSX table as strings, indexed by spreadsheet row number.

    Title rows above the header (as in Excel reports with merged header cells) are skipped up to the first
    row that names one of `expect`.

    Parameters
    ----------
    source
        A path, the file's bytes, or a binary stream.
    name
        The file name shown in messages (default: the path's name, or "upload").
    sheet
        For a workbook: 0 for the first worksheet with data, another number or a sheet name.
    expect
        Column names that mark the header row.
    numeric
        Columns (case-insensitive) that may come back as numbers when a large CSV's column is all plain
        numbers (pandas' parser reads them directly, skipping a text round trip); any other cell keeps
        its text, so validation still names each bad cell.

    Returns
    -------
    pandas.DataFrame
        Text cells (numbers only as above), indexed by spreadsheet row (the header is row 1). The
        reader's notes (sheet read, formula cells without a value) are in ``attrs``.

    Raises
    ------
    InputError
        Naming the file (and row or cell), when it is missing, empty, binary, an old .xls or an
        encrypted workbook, not decodable, has no header, too many columns or rows, or rows longer than
        the header; or when a needed column holds only formulas without computed values.
    """
    data, display = _read_bytes(source, name)
    if not data or data.isspace():  # (not `data.strip()`, which copies a large file)
        raise InputError("the file is empty", file=display)
    if data.startswith(OLE_MAGIC):
        if ENCRYPTED_STREAM in data:
            raise InputError(
                "is a password-protected (encrypted) workbook: open it in Excel, remove the password "
                "(File > Info > Protect Workbook) and save it again",
                file=display,
            )
        raise InputError("is an old Excel .xls file: save it as .xlsx or CSV", file=display)
    if data.startswith(XLSX_MAGIC):
        return _read_xlsx(data, display, sheet, expect, numeric)
    if display.lower().endswith((".xlsx", ".xlsm")):
        raise InputError("has an .xlsx name but is not an Excel workbook", file=display)
    # a large plain-ASCII file (the usual export) is parsed from its bytes, which are already its UTF-8
    # text: not decoded and re-encoded, two more copies of a large file in memory
    plain = len(data) >= FAST_CSV_CHARS and _plain_ascii(data)
    table = (
        _read_csv_fast(data, _sniff_delimiter(data[:200_000].decode("ascii")), expect, numeric)
        if plain
        else None
    )
    if table is not None:
        table.attrs["file"] = display
        return table
    text = _decode(data, display)
    if "\r" in text and _LONE_CR.search(text):  # old Mac line ends (CR only): read as lines
        text = text.replace("\r\n", "\n").replace("\r", "\n")
    delim = _sniff_delimiter(text)
    if len(text) >= FAST_CSV_CHARS and not plain:  # (a plain file was tried above)
        table = _read_csv_fast(text.encode("utf-8"), delim, expect, numeric)
    if table is None:
        try:
            rows = list(csv.reader(io.StringIO(text), delimiter=delim))
        except csv.Error as exc:
            raise InputError(f"is not a valid CSV file ({exc})", file=display) from None
        table = _frame(rows, display, expect)
    table.attrs["file"] = display  # validation names the file in a refusal
    return table


def _plain_ascii(data: bytes) -> bool:
    """Tell whether `data` is ASCII text that `_decode` and `read_table` would keep as it is.

    That is: no NUL where `_decode` looks for a binary file, no old-Mac lone CR line ends.
    """
    return (
        data.isascii() and b"\x00" not in data[:4096] and not (b"\r" in data and _LONE_CR_BYTES.search(data))
    )


def _read_csv_fast(
    data: bytes, delim: str, expect: tuple[str, ...], numeric: Iterable[str] = ()
) -> pd.DataFrame | None:
    """Read a large, regular CSV with pandas (`_parse_regular_csv`), indexed like `_frame` (spreadsheet rows).

    `data` is the table's text encoded as UTF-8 (no BOM, lines ending in LF or CRLF).

    Columns are strings, except `numeric` ones whose every cell the parser read as a number or as empty
    (pyarrow: missing; the C reader keeps a column with an empty cell as text); a column with any other
    cell stays text, and validation reports that cell. Used only when the header is the first
    line with unique, non-empty names and no line is blank (so record i is spreadsheet row i + 2);
    anything else (or a parser error) returns None and the careful reader runs, which names the row
    that is wrong.
    """
    first_line = data[: data.find(b"\n") + 1 or len(data)].decode("utf-8")
    written = next(csv.reader([first_line.rstrip("\r\n")], delimiter=delim))  # names as the file spells them
    header = [c.replace("\ufeff", "").strip() for c in written]
    wanted = {e.lower() for e in expect}
    if (
        not header
        or len(header) > MAX_COLUMNS
        or any(h == "" for h in header)
        or len(set(header)) != len(header)
        or not {h.lower() for h in header} & wanted
        or _BLANK_LINE_BYTES.search(data)
    ):
        return None
    as_number = {column_key(n) for n in numeric}
    dtypes = {w: str for w, h in zip(written, header, strict=False) if column_key(h) not in as_number}
    df = _parse_regular_csv(data, delim, dtypes)
    if df is None or len(df.columns) != len(header) or df.empty:
        return None
    df.columns = header
    df.index = pd.RangeIndex(2, len(df) + 2, name="row")
    if any(df[c].dtype == bool for c in df.columns):
        return None  # pyarrow read 'true'/'false' as booleans: the careful reader keeps the text as typed
    numbers = [c for c in df.columns if pd.api.types.is_numeric_dtype(df[c])]
    if numbers and np.isinf(df[numbers].to_numpy(dtype=float, na_value=np.nan)).any():
        return None  # 'inf' or 1e400 parsed as a number: the careful reader keeps the text the user typed
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


def _parse_regular_csv(data: bytes, delim: str, dtypes: dict) -> pd.DataFrame | None:
    """Parse with pandas' pyarrow CSV reader, else its C reader; None when the file is too irregular.

    The pyarrow reader is multi-threaded (empty cells missing, every other text kept as written); the C
    reader keeps empty cells as text. `dtypes` is keyed by the names as written in the header row (with
    `names=` the pyarrow reader ignores `dtype` and reads '007' as the number 7). `data` is the text as
    UTF-8.
    """
    options: dict[str, Any] = {"sep": delim, "dtype": dtypes}
    if not _has_hex_prefix(data):  # pyarrow reads '0x1F' as the integer 31; C and csv do not
        try:
            return pd.read_csv(
                io.BytesIO(data), engine="pyarrow", keep_default_na=False, na_values=[""], **options
            )
        except Exception:  # no pyarrow, or its reader cannot type a column (e.g. a row of empty cells)
            pass
        finally:
            _release_arrow_memory()
    try:
        return pd.read_csv(io.BytesIO(data), engine="c", keep_default_na=False, na_filter=False, **options)
    except (pd.errors.ParserError, ValueError):
        return None


def _has_hex_prefix(data: bytes) -> bool:
    """Tell whether '0x' or '0X' occurs in `data`.

    Visits the letter's few occurrences (one fast byte scan each; most tables have an x only in a name
    such as 'sex') and looks at the byte before each; a two-byte search stops at every '0', which in a
    table of numbers is most of the file, so it runs only where the letter is common.
    """
    for letter in (b"x", b"X"):
        at = data.find(letter, 1)
        for _ in range(1000):
            if at < 0:
                break
            if data[at - 1] == 0x30:  # '0'
                return True
            at = data.find(letter, at + 1)
        else:
            if data.find(b"0" + letter) >= 0:
                return True
    return False


def _release_arrow_memory() -> None:
    """Give the memory pyarrow's allocator kept from parsing back to the system.

    It keeps freed blocks for reuse, which only pyarrow could use; the analysis that follows allocates
    with numpy.
    """
    try:
        import pyarrow

        pyarrow.default_memory_pool().release_unused()
    except Exception:  # no pyarrow, or an old one without release_unused
        pass


def _read_xlsx(
    data: bytes, display: str, sheet: str | int, expect: tuple[str, ...], numeric: Iterable[str] = ()
) -> pd.DataFrame:
    """Rows of one worksheet as strings (numbers formatted without Excel's float noise).

    The default sheet (0) is the first worksheet with data: chart sheets and empty sheets before it are
    skipped and a note says which sheet was read (`table_notes`). The sheet's declared size is not
    trusted (it may be wrong either way); `MAX_ROWS` and `MAX_COLUMNS` bound what is read. A formula
    cell without a computed value (a workbook written by a program and never opened in Excel) keeps its
    formula text and is listed in `attrs[UNCACHED]`; a needed column made only of them is refused.
    """
    data = _with_chartsheet_rels(data)
    formulas = _has_formula_cells(data)
    book = _open_workbook(data, display, data_only=True)
    try:
        ws, rows, skipped = _pick_sheet(book, display, sheet, typed=formulas)
        title = ws.title
    finally:
        book.close()
    uncached: dict[tuple[int, int], str] = {}
    if formulas:
        book = _open_workbook(data, display, data_only=False)
        try:
            written = dict(_sheet_rows(book[title], display))
        finally:
            book.close()
        rows, uncached = _merge_formulas(rows, written)
    numbers = [n for n, _ in rows]
    table = _frame(
        [["" if v is None else _cell_text(v) for v in r] for _, r in rows], display, expect, numbers
    )
    table.attrs.update(file=display, sheet=title)
    if skipped:
        header_row = table.attrs.get("header_row", 1)
        table.attrs[NOTES] = [
            f"read the table from sheet '{title}' (header in row {header_row}): {'; '.join(skipped)}"
        ]
    if uncached:
        from openpyxl.utils import get_column_letter

        columns = list(table.columns)
        table.attrs[UNCACHED] = {
            (row, column_key(columns[pos])): (f"{get_column_letter(pos + 1)}{row}", formula)
            for (row, pos), formula in uncached.items()
            if pos < len(columns) and row in table.index
        }
        refuse_uncached_columns(table, [*expect, *numeric])
    return table


def _open_workbook(data: bytes, display: str, *, data_only: bool):
    """Open `data` as openpyxl's read-only workbook (cached values when `data_only`), or refuse it."""
    import openpyxl

    try:
        return openpyxl.load_workbook(io.BytesIO(data), read_only=True, data_only=data_only)
    except Exception as exc:  # openpyxl raises many types for a damaged zip/xml
        raise InputError(f"is not a readable Excel workbook ({type(exc).__name__})", file=display) from None


def _with_chartsheet_rels(data: bytes) -> bytes:
    """Add an empty relationships part to each chart sheet of the workbook that has none.

    Openpyxl (3.1) fails on a chart sheet without one (as openpyxl itself writes an empty chart sheet);
    anything that is not a readable zip is returned unchanged for `_open_workbook` to refuse.
    """
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            names = set(archive.namelist())
            missing = [
                f"xl/chartsheets/_rels/{n.rsplit('/', 1)[1]}.rels"
                for n in names
                if re.fullmatch(r"xl/chartsheets/[^/]+\.xml", n)
            ]
            missing = [m for m in missing if m not in names]
            if not missing:
                return data
            buffer = io.BytesIO()
            with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as out:
                for info in archive.infolist():
                    out.writestr(info, archive.read(info))
                for name in missing:
                    out.writestr(
                        name,
                        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"/>',
                    )
            return buffer.getvalue()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError):
        return data


def _has_formula_cells(data: bytes) -> bool:
    """Whether any worksheet of the workbook holds a formula element (then a second, formula pass runs)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as archive:
            for name in archive.namelist():
                if not (name.startswith("xl/worksheets/") and name.endswith(".xml")):
                    continue
                with archive.open(name) as member:
                    tail = b""
                    while chunk := member.read(1 << 20):
                        if _FORMULA_ELEMENT.search(tail + chunk):
                            return True
                        tail = chunk[-16:]
    except (zipfile.BadZipFile, OSError, ValueError, EOFError, NotImplementedError, RuntimeError):
        return False  # openpyxl will refuse the file, naming it
    return False


def _pick_sheet(book, display: str, sheet: str | int, *, typed: bool) -> tuple[Any, list, list[str]]:
    """Pick the worksheet `sheet`: (worksheet, its non-empty rows, why the sheets before it were skipped).

    0 (the default) is the first worksheet with data; another number or a name is that sheet, refused when
    it is a chart sheet. Raises `InputError` naming every sheet when no sheet holds a table.
    """
    names = book.sheetnames
    if isinstance(sheet, str) or sheet > 0:
        if isinstance(sheet, int) and sheet >= len(names):
            raise InputError(f"has no sheet number {sheet + 1}", file=display)
        if isinstance(sheet, str) and sheet not in names:
            raise InputError(f"has no sheet named '{sheet}'", file=display)
        ws = book[names[sheet] if isinstance(sheet, int) else sheet]
        if not hasattr(ws, "iter_rows"):
            raise InputError(f"sheet '{ws.title}' is a chart, not a table", file=display)
        return ws, _sheet_rows(ws, display, typed=typed), []
    skipped: list[str] = []
    for position, name in enumerate(names):
        ws = book[name]
        first = "the first sheet, " if position == 0 else ""
        if not hasattr(ws, "iter_rows"):
            skipped.append(f"{first}'{name}', is a chart" if first else f"'{name}' is a chart")
            continue
        rows = _sheet_rows(ws, display, typed=typed)
        if rows:
            return ws, rows, skipped
        skipped.append(f"{first}'{name}', is empty" if first else f"'{name}' is empty")
    if len(names) == 1 and not skipped[0].endswith("chart"):
        raise InputError("the file is empty", file=display)
    listed = ", ".join(f"'{n}' ({'chart' if not hasattr(book[n], 'iter_rows') else 'empty'})" for n in names)
    raise InputError(f"has no sheet with a table (sheets: {listed})", file=display)


def _sheet_rows(ws, display: str, *, typed: bool = False) -> list[tuple[int, tuple]]:
    """List (spreadsheet row number, values) of a worksheet's non-empty rows, trailing empty cells removed.

    The declared dimension is ignored (it can say A1:B2 with data further, or XFD1048576 for one cell);
    a value beyond `MAX_ROWS` or `MAX_COLUMNS` is refused naming its cell. With `typed`, each value is
    (value, openpyxl data type): a formula whose result is the empty text has type 'str'.
    """
    from openpyxl.utils import get_column_letter

    out: list[tuple[int, tuple]] = []
    for number, row in _present_rows(ws, values_only=not typed):
        if typed:
            row = tuple((c.value, c.data_type) for c in row)
        end = len(row)
        while end and _blank(row[end - 1][0] if typed else row[end - 1]):
            end -= 1
        if not end:
            continue
        where = f"sheet '{ws.title}' has a value in cell {get_column_letter(end)}{number}"
        if number > MAX_ROWS:
            raise InputError(
                f"{where}, below row {MAX_ROWS:,}, the last a table may use (delete that cell)", file=display
            )
        if end > MAX_COLUMNS:
            raise InputError(
                f"{where}, beyond column {MAX_COLUMNS:,}, the most a table may use (delete that cell)",
                file=display,
            )
        out.append((number, row[:end]))
    return out


def _present_rows(ws, *, values_only: bool) -> Iterator[tuple[int, tuple]]:
    """Yield (spreadsheet row number, cells or values) of the rows a read-only sheet's XML holds.

    openpyxl's `iter_rows` yields an empty row for every row missing between two present ones, so one value
    in row 1,048,576 costs a million Python iterations; its sheet parser yields only the rows present, each
    made into cells as `iter_rows` would (`_get_row`). A sheet object without that parser (another openpyxl
    version) falls back to numbering `iter_rows`.
    """
    try:
        from openpyxl.worksheet._reader import WorkSheetParser

        book = ws.parent
        options = {
            "data_only": book.data_only, "epoch": book.epoch, "date_formats": book._date_formats,
            "timedelta_formats": book._timedelta_formats,
        }  # fmt: skip
        source, get_row, shared = ws._get_source, ws._get_row, ws._shared_strings
    except (ImportError, AttributeError):
        ws.reset_dimensions()
        yield from enumerate(ws.iter_rows(values_only=values_only), start=1)
        return
    with source() as src:
        for number, cells in WorkSheetParser(src, shared, **options).parse():
            yield number, tuple(get_row(cells, 1, None, values_only))


def _blank(value: object) -> bool:
    """Tell whether a cell is empty (None, or text of white space only)."""
    return value is None or (isinstance(value, str) and not value.strip())


def _merge_formulas(
    typed: list[tuple[int, tuple]], written: dict[int, tuple]
) -> tuple[list[tuple[int, tuple]], dict[tuple[int, int], str]]:
    """Put each formula without a cached value back as its text among the cached values.

    Returns (rows, {(row, position): formula}) of those cells. A formula whose cached result is the empty
    text (type 'str') stays empty.
    """
    cached = dict(typed)
    rows, uncached = [], {}
    for number in sorted(set(cached) | set(written)):
        values = list(cached.get(number, ()))
        formulas = written.get(number, ())
        values += [(None, "n")] * (len(formulas) - len(values))
        out = [v for v, _ in values]
        for pos, formula in enumerate(formulas):
            text = getattr(formula, "text", formula)  # an array formula's text
            value, kind = values[pos]
            if value is None and kind != "str" and isinstance(text, str) and text.startswith("="):
                out[pos] = text
                uncached[(number, pos)] = text
        rows.append((number, tuple(out)))
    return rows, uncached


def _cell_text(value: object) -> str:
    """Write a cell value as the text a user typed: 3.0 -> '3', dates as ISO."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return str(value)


def _is_formula(value: object) -> bool:
    """Tell whether a spreadsheet would run a text cell: it starts with = + - @ (or tab/CR), not a number."""
    return (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not _PLAIN_NUMBER.match(value.strip())
    )


def escape_formulas(df: pd.DataFrame) -> pd.DataFrame:
    """Prefix formula-like text cells (and column names) with ' so spreadsheets do not run them.

    Parameters
    ----------
    df
        A table about to be downloaded or written.

    Returns
    -------
    pandas.DataFrame
        A copy; numbers, and text that is a plain number such as '-3', stay as they are.
    """
    out = df.copy()
    for column in out.columns:
        if out[column].dtype == object or pd.api.types.is_string_dtype(out[column]):
            out[column] = out[column].map(lambda v: "'" + v if _is_formula(v) else v)
    renamed = {c: "'" + c for c in out.columns if _is_formula(c)}
    return out.rename(columns=renamed)


def table_to_bytes(df: pd.DataFrame, fmt: str = "csv", *, sheet_name: str = "data") -> bytes:
    """Write a table as CSV or XLSX bytes for a download, formula cells escaped, no index.

    Parameters
    ----------
    df
        The table.
    fmt
        ``csv`` (UTF-8) or ``xlsx``.
    sheet_name
        The XLSX sheet's name (cut to Excel's 31 characters).

    Returns
    -------
    bytes
        The file's content.

    Raises
    ------
    ValueError
        When `fmt` is neither csv nor xlsx (a programming error, not a user's).
    """
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
    """Write several tables as one XLSX workbook, one sheet each, formula cells escaped.

    Parameters
    ----------
    tables
        Sheet name (cut to 31 characters) to table, in sheet order.

    Returns
    -------
    bytes
        The workbook's content.
    """
    buffer = io.BytesIO()
    with pd.ExcelWriter(buffer, engine="openpyxl") as writer:
        for sheet, df in tables.items():
            escape_formulas(df).to_excel(writer, index=False, sheet_name=sheet[:31])
    return buffer.getvalue()


def write_table(df: pd.DataFrame, path: str | Path) -> None:
    """Write a table to CSV or XLSX by the file's extension (.xlsx/.xlsm, else CSV), formula cells escaped.

    The file is replaced whole or left as it was (`output.write_bytes`), as every other output is.

    Parameters
    ----------
    df
        The table.
    path
        The file to write.

    Raises
    ------
    OutputError
        When the file cannot be written, as one line naming it.
    """
    from ovcf_core.output import write_bytes

    path = Path(path)
    fmt = "xlsx" if path.suffix.lower() in (".xlsx", ".xlsm") else "csv"
    write_bytes(path, table_to_bytes(df, fmt))


def read_cohort(
    source: Source, name: str | None = None, **kwargs: Any
) -> tuple[pd.DataFrame, ValidationReport]:
    """Read and validate a cohort table.

    Parameters
    ----------
    source
        A path, the file's bytes, or a binary stream (see `read_table`).
    name
        The file name shown in messages.
    **kwargs
        Passed to `schema.validate_cohort` (e.g. ``markers``, ``positive``); extra markers are also read
        as numbers.

    Returns
    -------
    tuple
        The clean table (rows with errors left out) and its `ValidationReport`.

    Raises
    ------
    InputError
        When the file cannot be read as a table, or cannot be a cohort at all (e.g. no outcome column).
    """
    from ovcf_core.schema import COVARIATE_COLUMNS, INDICATOR_COLUMNS, validate_cohort

    numeric = [*INDICATOR_COLUMNS, *COVARIATE_COLUMNS, *(kwargs.get("markers") or ())]
    return validate_cohort(read_table(source, name, numeric=numeric), **kwargs)
