"""Generic plate-grid reader (``format='generic'``).

The grid and cell helpers it shares with other readers live in
:mod:`assaykit.io.plate._grid` and :mod:`assaykit.io._cells` (re-exported here).

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

import warnings
from collections.abc import Sequence
from typing import Any

import pandas as pd

from assaykit.errors import AssaykitWarning, ReaderError
from assaykit.io._cells import (
    cell_text,
    find_separator,
    is_blank,
    parse_value,
    slug,
    split_line,
    strip_trailing,
    text_rows,
)
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.io.plate._grid import (
    COLS_TO_ROWS,
    Grid,
    grid_row_letter,
    grid_values,
    header_numbers,
    read_grid,
)
from assaykit.schema import plate_table, row_letter

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

# -------------------------------------------------------------- generic reader


def _is_bare_row(cells: Sequence[Any]) -> bool:
    body = strip_trailing(cells)
    if len(body) not in (12, 24, 48):
        return False
    numeric = sum(1 for c in body if parse_value(c)[2] == "")
    return grid_row_letter(body[0]) is None and numeric >= len(body) // 2


def _segments(rows: Sequence[Sequence[Any]]) -> list[tuple[int, int]]:
    """(start, end) index pairs of runs of non-blank rows."""
    segs, start = [], None
    for k, cells in enumerate(rows):
        blank = not cells or is_blank(cells)
        if blank and start is not None:
            segs.append((start, k))
            start = None
        elif not blank and start is None:
            start = k
    if start is not None:
        segs.append((start, len(rows)))
    return segs


def _holds_grids(rows: Sequence[Sequence[Any]]) -> bool:
    first = next((r for r in rows if r and not is_blank(r)), None)
    return first is not None and (header_numbers(first, strict=True) is not None or _is_bare_row(first))


def _read_grid_rows(
    rows: Sequence[Sequence[Any]], *, source: Source, plate: str, sheet: str | None, decimal_comma: bool
) -> list[pd.DataFrame]:
    where = {"sheet": sheet} if sheet is not None else {}
    frames: list[pd.DataFrame] = []
    seen_reads: dict[str, int] = {}
    for start, end in _segments(rows):
        first = rows[start]
        if header_numbers(first, strict=True) is not None:
            grid = read_grid(rows, start, source=source, sheet=sheet, strict=True, all_rows=True)
            if grid.end < end:
                raise source.error(
                    "unexpected row after a grid", line=grid.end + 1, **where,
                    expected="a blank line between grid blocks",
                    found=repr([cell_text(c) for c in rows[grid.end][:4]]),
                )
            read = grid.title or "value"
        elif _is_bare_row(first):
            width = len(strip_trailing(first))
            n_rows = COLS_TO_ROWS[width]
            grid = Grid(title="value", n_cols=width, header_line=start + 1, end=end)
            for k in range(start, end):
                cells = list(rows[k])
                if len(cells) < width:
                    raise source.error(
                        "grid row has missing cells", line=k + 1, **where,
                        expected=f"{width} values", found=f"{len(cells)} values",
                    )
                if strip_trailing(cells[width:]):
                    raise source.error(
                        "grid row has more cells than the first row", line=k + 1, **where,
                        expected=f"{width} values", found=f"{len(strip_trailing(cells))} values",
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
                found=repr([cell_text(c) for c in strip_trailing(first)[:4]]),
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
            return header_numbers(cells, strict=True) is not None or _is_bare_row(cells)
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
