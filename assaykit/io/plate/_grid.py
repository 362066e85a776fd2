"""Plate grids (a header ``<title>,1,2,...,n`` and one row per plate row): finding and
reading them, shared by the generic, Tecan, BMG and EnVision readers."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from assaykit.io._cells import cell_text, is_blank, parse_value, strip_trailing
from assaykit.io._source import Source
from assaykit.schema import row_index, row_letter

__all__ = ["COLS_TO_ROWS", "Grid", "grid_row_letter", "grid_values", "header_numbers", "read_grid"]

#: Column counts of standard plates and their row counts.
COLS_TO_ROWS: dict[int, int] = {3: 2, 4: 3, 6: 4, 8: 6, 12: 8, 24: 16, 48: 32}


def header_numbers(cells: Sequence[Any], *, strict: bool = False) -> list[int] | None:
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
        if strip_trailing(rest):
            return None
    elif rest and cell_text(rest[0]).strip():
        return None
    return nums


def grid_row_letter(cell: Any, n_rows: int | None = None) -> str | None:
    """The plate-row letter in a cell (``'A'``..``'AF'``, below ``n_rows``), or None."""
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
    nums = header_numbers(header, strict=strict)
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
    if n_cols not in COLS_TO_ROWS:
        raise source.error(
            "grid does not have the columns of a standard plate", line=line, **where,
            expected="12, 24 or 48 numbered columns", found=f"{n_cols} columns",
        )
    n_rows = COLS_TO_ROWS[n_cols]
    grid = Grid(title=cell_text(header[0]).strip(), n_cols=n_cols, header_line=line)
    seen: set[str] = set()
    k = i + 1
    while k < len(rows):
        cells = list(rows[k])
        if not cells or is_blank(cells):
            break
        letter = grid_row_letter(cells[0])
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
            extra = strip_trailing(values[n_cols:])
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


