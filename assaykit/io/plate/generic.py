"""Generic plate-grid reader (``format='generic'``) and grid helpers shared by the
Tecan, BMG and EnVision readers.

The generic format (``docs/formats/generic.md``) is a stack of plate grids in a
.csv, .tsv or .xlsx file. Each grid is a block whose first row is
``<read>,1,2,...,12`` (``1..24`` for 384 wells, ``1..48`` for 1536) followed by one
row per plate row ``A,v1,...,v12``; blocks are separated by blank lines. An empty
top-left cell means the read ``'value'``. A bare 8×12 / 16×24 / 32×48 numeric grid
without any labels is also accepted (read ``'value'``). In a workbook, every sheet
holding grids is one plate named after the sheet (a single such sheet is plate ``'1'``).

Examples
--------
>>> from assaykit.io import Source, read_plate
>>> text = "abs_450," + ",".join(map(str, range(1, 13))) + "\\n"
>>> text += "\\n".join(r + ",0.1" * 12 for r in "ABCDEFGH")
>>> df = read_plate(Source(text.encode(), "grid.csv"))
>>> df.attrs["format"], len(df), df.loc[0, "read"]
('generic', 96, 'abs_450')
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import re
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from assaykit.errors import AssaykitWarning, ReaderError
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.schema import plate_table, row_index, row_letter

__all__ = [
    "Grid",
    "cell_text",
    "find_separator",
    "parse_value",
    "read_generic",
    "read_grid",
    "slug",
    "split_line",
    "text_rows",
]

# --------------------------------------------------------------------- values

_NUMBER_RE = re.compile(r"^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$", re.ASCII)
_COMMA_NUMBER_RE = re.compile(r"^[+-]?\d+,\d+(?:[eE][+-]?\d+)?$", re.ASCII)

#: Instrument tokens in a numeric cell and the flag they map to (lower-case keys).
_TOKEN_FLAGS: dict[str, str] = {
    "over": "overflow",
    "ovrflw": "overflow",
    "overflow": "overflow",
    "saturated": "overflow",
    "sat": "overflow",
    "invalid": "invalid",
    "?????": "invalid",
    "missed": "missed",
}

#: Column counts of standard plates and their row counts.
_COLS_TO_ROWS: dict[int, int] = {3: 2, 4: 3, 6: 4, 8: 6, 12: 8, 24: 16, 48: 32}


def cell_text(cell: Any) -> str:
    """The text of a cell as exported (integral floats without ``.0``, ``''`` for empty)."""
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return str(cell).upper()
    if isinstance(cell, float):
        if math.isfinite(cell) and cell.is_integer() and abs(cell) < 1e16:
            return str(int(cell))
        return repr(cell)
    return str(cell)


def parse_value(cell: Any, *, decimal_comma: bool = False) -> tuple[float, str, str]:
    """Parse one exported cell into ``(value, raw, flag)``.

    Numbers give ``(number, text, '')``; an empty cell gives ``(nan, '', 'empty')``;
    known instrument tokens (``OVER``, ``OVRFLW``, ``Invalid`` ...) give NaN and their
    flag; any other text gives NaN and ``'not_numeric'``.

    Parameters
    ----------
    cell : object
        A text field or a workbook cell (str, float, int, datetime ...).
    decimal_comma : bool
        Also accept ``'0,123'`` as a number (files separated by ';').

    Returns
    -------
    tuple of (float, str, str)
    """
    if type(cell) is float and cell == cell and cell not in (math.inf, -math.inf):
        return cell, (str(int(cell)) if cell.is_integer() and abs(cell) < 1e16 else repr(cell)), ""
    if cell is None:
        return math.nan, "", "empty"
    if isinstance(cell, bool) or isinstance(cell, (_dt.date, _dt.time, _dt.timedelta)):
        return math.nan, cell_text(cell), "not_numeric"
    if isinstance(cell, (int, float)):
        v = float(cell)
        if math.isfinite(v):
            return v, cell_text(cell), ""
        return math.nan, cell_text(cell), "not_numeric"
    raw = str(cell)
    s = raw.strip()
    if not s:
        return math.nan, raw, "empty"
    if _NUMBER_RE.match(s):
        return float(s), raw, ""
    if decimal_comma and _COMMA_NUMBER_RE.match(s):
        return float(s.replace(",", ".")), raw, ""
    return math.nan, raw, _TOKEN_FLAGS.get(s.lower(), "not_numeric")


def slug(text: str) -> str:
    """Lower-case snake_case version of a label (``'Abs600_Copy1'`` → ``'abs600_copy1'``)."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(text)).strip("_").lower()
    return s or "value"


def _is_blank(cells: Sequence[Any]) -> bool:
    return all(cell_text(c).strip() == "" for c in cells)


def _strip_trailing(cells: Sequence[Any]) -> list[Any]:
    out = list(cells)
    while out and cell_text(out[-1]).strip() == "":
        out.pop()
    return out


# ----------------------------------------------------------------------- text


def find_separator(lines: Sequence[str]) -> str:
    """Guess the field separator of a delimited text export (tab, ';' or ',')."""
    sample = [ln for ln in lines[:50] if ln.strip()]
    counts = {sep: sum(ln.count(sep) for ln in sample) for sep in ("\t", ";", ",")}
    if counts["\t"] and counts["\t"] >= counts[","] / 4:
        return "\t"
    if counts[";"] > counts[","]:
        return ";"
    return ","


def split_line(line: str, sep: str = ",") -> list[str]:
    """Split one delimited line (honouring double quotes when present)."""
    if '"' not in line:
        return line.split(sep)
    return next(csv.reader([line], delimiter=sep), [])


def text_rows(source: Source, sep: str | None = None) -> tuple[list[list[str]], str]:
    """The lines of a text source split into fields, and the separator used."""
    lines = source.lines
    sep = sep or find_separator(lines)
    return [split_line(ln, sep) for ln in lines], sep


# ---------------------------------------------------------------------- grids


def _header_numbers(cells: Sequence[Any], *, strict: bool = False) -> list[int] | None:
    """Column numbers of a grid header row (``['', 1, 2, ...]``), or None.

    The numbers are the integer cells from the second cell on. Unless ``strict``,
    notes right of the numbers are allowed after an empty cell (SMART Control puts
    'Plate: NUNC 96' there).
    """
    body = list(cells[1:])
    nums: list[int] = []
    for c in body:
        t = cell_text(c).strip()
        if not (t.isascii() and t.isdigit()):
            break
        nums.append(int(t))
    rest = body[len(nums):]
    if len(nums) < 2 or nums[:2] != [1, 2]:
        return None
    if strict:
        if _strip_trailing(rest):
            return None
    elif rest and cell_text(rest[0]).strip():
        return None
    return nums


def _row_letter(cell: Any, n_rows: int | None = None) -> str | None:
    t = cell_text(cell).strip()
    if not (1 <= len(t) <= 2 and t.isalpha() and t.isascii() and t.isupper()):
        return None
    try:
        idx = row_index(t)
    except Exception:  # pragma: no cover - guarded by the checks above
        return None
    if n_rows is not None and idx >= n_rows:
        return None
    return t


@dataclass
class Grid:
    """One plate grid found in an export.

    Attributes
    ----------
    title : str
        The top-left cell of the header row (or a caller-supplied title).
    n_cols : int
        Number of plate columns (12, 24, 48 ...).
    rows : list of (str, int, list)
        ``(row_letter, line_or_row_number, cells)``; ``cells[j]`` is column ``j + 1``.
    header_line : int
        1-based line (text) or row (sheet) number of the header.
    end : int
        Index of the first row after the grid in the input row list.
    """

    title: str
    n_cols: int
    rows: list[tuple[str, int, list[Any]]] = field(default_factory=list)
    header_line: int = 0
    end: int = 0

    def cells(self):
        """Yield ``(well, row_number, cell)`` for every cell of the grid."""
        for letter, line, cells in self.rows:
            for j in range(self.n_cols):
                yield f"{letter}{j + 1}", line, cells[j]


def read_grid(
    rows: Sequence[Sequence[Any]],
    i: int,
    *,
    source: Source,
    sheet: str | None = None,
    strict: bool = False,
    all_rows: bool = False,
) -> Grid:
    """Read the grid whose header is ``rows[i]`` (``[title, 1, 2, ..., n]``).

    Parameters
    ----------
    rows : sequence of sequences
        Lines split into fields, or sheet rows; ``rows[k]`` is line/row ``k + 1``.
    i : int
        0-based index of the header row.
    source : Source
        For error messages.
    sheet : str, optional
        Sheet name for error messages.
    strict : bool
        Reject rows with more non-empty cells than columns (ragged rows); otherwise
        cells right of the grid are ignored (notes some instruments put there).
    all_rows : bool
        Require every row of the plate, in order (``A..H`` for 96 wells).

    Raises
    ------
    ReaderError
        For a header that does not number 1..n of a standard plate, a duplicate or
        out-of-plate row letter, a row with missing cells, missing rows (``all_rows``).
    """
    where = {"sheet": sheet} if sheet is not None else {}
    header = rows[i]
    line = i + 1
    nums = _header_numbers(header, strict=strict)
    if nums is None:
        raise source.error(
            "not a grid header row", line=line, **where,
            expected="a row '<read>,1,2,...,12'", found=repr([cell_text(c) for c in header[:6]]),
        )
    for k, n in enumerate(nums, start=1):
        if n != k:
            raise source.error(
                "grid columns are not numbered 1, 2, 3 ...", line=line, **where,
                expected=f"column {k}", found=f"column {n}",
            )
    n_cols = len(nums)
    if n_cols not in _COLS_TO_ROWS:
        raise source.error(
            "grid does not have the columns of a standard plate", line=line, **where,
            expected="12, 24 or 48 numbered columns", found=f"{n_cols} columns",
        )
    n_rows = _COLS_TO_ROWS[n_cols]
    grid = Grid(title=cell_text(header[0]).strip(), n_cols=n_cols, header_line=line)
    seen: set[str] = set()
    k = i + 1
    while k < len(rows):
        cells = list(rows[k])
        if not cells or _is_blank(cells):
            break
        letter = _row_letter(cells[0])
        if letter is None:
            break
        if row_index(letter) >= n_rows:
            raise source.error(
                "row outside the plate", line=k + 1, **where,
                expected=f"rows A..{row_letter(n_rows - 1)} of a {n_rows * n_cols}-well plate",
                found=f"row {letter}",
            )
        if letter in seen:
            raise source.error(
                "duplicate plate row in grid", line=k + 1, **where,
                expected="each row letter once", found=f"row {letter} again",
            )
        seen.add(letter)
        values = cells[1:]
        if len(values) < n_cols:
            raise source.error(
                "grid row has missing cells", line=k + 1, **where,
                expected=f"{n_cols} values", found=f"{len(values)} values in row {letter}",
            )
        if strict:
            extra = _strip_trailing(values[n_cols:])
            if extra:
                raise source.error(
                    "grid row has more cells than the header", line=k + 1, **where,
                    expected=f"{n_cols} values", found=f"{n_cols + len(extra)} values in row {letter}",
                )
        grid.rows.append((letter, k + 1, values[:n_cols]))
        k += 1
    grid.end = k
    if not grid.rows:
        raise source.error(
            "grid header without rows", line=line, **where,
            expected="rows starting with 'A', 'B', ...", found="none",
        )
    if all_rows:
        letters = [r[0] for r in grid.rows]
        want = [row_letter(j) for j in range(n_rows)]
        if letters != want:
            missing = [w for w in want if w not in letters]
            raise source.error(
                "grid rows missing or out of order", line=grid.rows[-1][1], **where,
                expected=f"rows {want[0]}..{want[-1]} in order",
                found=(f"missing {', '.join(missing)}" if missing else f"rows {''.join(letters)}"),
            )
    return grid


def grid_values(
    grid: Grid, *, decimal_comma: bool = False
) -> tuple[list[str], list[float], list[str], list[str]]:
    """Wells, values, raw texts and flags of a grid (row-major)."""
    wells, values, raws, flags = [], [], [], []
    for well, _line, cell in grid.cells():
        v, raw, flag = parse_value(cell, decimal_comma=decimal_comma)
        wells.append(well)
        values.append(v)
        raws.append(raw)
        flags.append(flag)
    return wells, values, raws, flags


# -------------------------------------------------------------- generic reader


def _is_bare_row(cells: Sequence[Any]) -> bool:
    body = _strip_trailing(cells)
    if len(body) not in (12, 24, 48):
        return False
    numeric = sum(1 for c in body if parse_value(c)[2] == "")
    return _row_letter(body[0]) is None and numeric >= len(body) // 2


def _segments(rows: Sequence[Sequence[Any]]) -> list[tuple[int, int]]:
    """(start, end) index pairs of runs of non-blank rows."""
    segs, start = [], None
    for k, cells in enumerate(rows):
        blank = not cells or _is_blank(cells)
        if blank and start is not None:
            segs.append((start, k))
            start = None
        elif not blank and start is None:
            start = k
    if start is not None:
        segs.append((start, len(rows)))
    return segs


def _holds_grids(rows: Sequence[Sequence[Any]]) -> bool:
    first = next((r for r in rows if r and not _is_blank(r)), None)
    return first is not None and (_header_numbers(first, strict=True) is not None or _is_bare_row(first))


def _read_grid_rows(
    rows: Sequence[Sequence[Any]], *, source: Source, plate: str, sheet: str | None, decimal_comma: bool
) -> list[pd.DataFrame]:
    where = {"sheet": sheet} if sheet is not None else {}
    frames: list[pd.DataFrame] = []
    seen_reads: dict[str, int] = {}
    for start, end in _segments(rows):
        first = rows[start]
        if _header_numbers(first, strict=True) is not None:
            grid = read_grid(rows, start, source=source, sheet=sheet, strict=True, all_rows=True)
            if grid.end < end:
                raise source.error(
                    "unexpected row after a grid", line=grid.end + 1, **where,
                    expected="a blank line between grid blocks",
                    found=repr([cell_text(c) for c in rows[grid.end][:4]]),
                )
            read = grid.title or "value"
        elif _is_bare_row(first):
            width = len(_strip_trailing(first))
            n_rows = _COLS_TO_ROWS[width]
            grid = Grid(title="value", n_cols=width, header_line=start + 1, end=end)
            for k in range(start, end):
                cells = list(rows[k])
                if len(cells) < width:
                    raise source.error(
                        "grid row has missing cells", line=k + 1, **where,
                        expected=f"{width} values", found=f"{len(cells)} values",
                    )
                if _strip_trailing(cells[width:]):
                    raise source.error(
                        "grid row has more cells than the first row", line=k + 1, **where,
                        expected=f"{width} values", found=f"{len(_strip_trailing(cells))} values",
                    )
                if k - start >= n_rows:
                    raise source.error(
                        "bare grid has too many rows", line=k + 1, **where,
                        expected=f"{n_rows} rows of {width} values", found=f"row {k - start + 1}",
                    )
                grid.rows.append((row_letter(k - start), k + 1, cells[:width]))
            if len(grid.rows) != n_rows:
                raise source.error(
                    "bare grid has missing rows", line=end, **where,
                    expected=f"{n_rows} rows of {width} values", found=f"{len(grid.rows)} rows",
                )
            read = "value"
        else:
            raise source.error(
                "unexpected content outside a grid block", line=start + 1, **where,
                expected="a grid header '<read>,1,2,...' or a blank line",
                found=repr([cell_text(c) for c in _strip_trailing(first)[:4]]),
            )
        if read in seen_reads:
            raise source.error(
                "the same read appears in two grid blocks", line=grid.header_line, **where,
                expected="one block per read", found=f"{read!r} again (first block at line {seen_reads[read]})",
            )
        seen_reads[read] = grid.header_line
        wells, values, raws, flags = grid_values(grid, decimal_comma=decimal_comma)
        if all(f == "not_numeric" for f in flags):
            warnings.warn(
                f"{source.name}: every cell of grid {read!r} is text (line {grid.header_line}); "
                "is this a plate layout rather than reads?",
                AssaykitWarning,
                stacklevel=2,
            )
        frames.append(
            plate_table(plate=plate, well=wells, read=read, value=values, raw=raws, flag=flags,
                        source_file=source.name)
        )
    return frames


def _sniff(source: Source) -> bool:
    try:
        if source.kind == "text":
            lines = source.head().splitlines()
            first = next((ln for ln in lines if ln.strip()), None)
            if first is None:
                return False
            cells = split_line(first, find_separator(lines))
            return _header_numbers(cells, strict=True) is not None or _is_bare_row(cells)
        if source.kind in ("xlsx", "xls"):
            return any(_holds_grids(source.sheet(name)) for name in source.sheet_names)
    except ReaderError:
        return False
    return False


@register(
    "generic",
    kind="plate",
    sniff=_sniff,
    description="Generic stacked plate grids '<read>,1..12' / bare 8x12 grid (.csv, .tsv, .xlsx)",
    priority=90,
)
def read_generic(source: Source) -> pd.DataFrame:
    """Read stacked plate grids (see ``docs/formats/generic.md``).

    Parameters
    ----------
    source : Source
        A .csv/.tsv text or an .xlsx/.xls workbook.

    Returns
    -------
    pandas.DataFrame
        The canonical plate-read table (metric ``'raw'``); text in a numeric cell gives
        NaN flagged ``'not_numeric'``, an empty cell NaN flagged ``'empty'``.

    Raises
    ------
    ReaderError
        For a grid with a missing column, missing or duplicate rows, a ragged row,
        a read repeated in one plate, or content outside the grid blocks.
    """
    frames: list[pd.DataFrame] = []
    if source.kind == "text":
        rows, sep = text_rows(source)
        frames = _read_grid_rows(rows, source=source, plate="1", sheet=None, decimal_comma=sep == ";")
    else:
        names = [n for n in source.sheet_names if _holds_grids(source.sheet(n))]
        if not names:
            raise source.error(
                "no sheet holds plate grids", expected="a sheet starting with '<read>,1,2,...,12'",
                found=f"sheets {source.sheet_names[:5]}",
            )
        for name in names:
            plate = "1" if len(names) == 1 else name
            frames += _read_grid_rows(source.sheet(name), source=source, plate=plate, sheet=name,
                                      decimal_comma=False)
    return pd.concat(frames, ignore_index=True)
