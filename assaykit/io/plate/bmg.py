"""BMG LABTECH readers: MARS / PHERAstar / CLARIOstar CSV (``'bmg_csv'``) and
SMART Control .xlsx (``'bmg_smart'``).

See ``docs/formats/bmg.md``. Both exports hold titled 8×12 (or 16×24) grids:

* MARS CSV: a header (``User: ...,Path: ...,Test run no.: ...``), a mode line
  (``Absorbance``, ``Fluorescence (FI)``, ``Luminescence``) then blocks such as
  ``Raw Data (450 1)`` followed by ``,1,2,...,12,`` and rows ``A,...``.
* SMART Control: sheet ``Microplate End point`` with numbered blocks
  ``1. Layout``, ``2. Standard Concentrations in ng/mL``, ``3. Dilutions``,
  ``4. Raw Data (480-14/520-30)``, ``5. Blank corrected based on Raw Data (...)``.

Examples
--------
>>> from assaykit.io import read_plate
>>> df = read_plate("mars_absorbance_450.csv")  # doctest: +SKIP
>>> df["read"].unique()  # doctest: +SKIP
array(['abs_450'], dtype=object)
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from assaykit.errors import ReaderError
from assaykit.io._cells import cell_text, is_blank, parse_value, slug, text_rows
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.io.plate._grid import grid_values, header_numbers, read_grid
from assaykit.schema import parse_well, plate_table

__all__ = ["read_bmg_csv", "read_bmg_smart"]

_MODES = {
    "absorbance": "abs",
    "fluorescence": "fluo",
    "luminescence": "lum",
}
_TITLE_RE = re.compile(r"^\s*(?:\d+\.\s*)?(.*?)\s*$")
_PAREN_RE = re.compile(r"\(([^()]*)\)\s*$")


def _mode_of(text: str) -> str | None:
    t = text.strip().lower()
    for name, code in _MODES.items():
        if t.startswith(name):
            return code
    return None


def read_name(title: str, mode: str | None) -> str:
    """Canonical read name of a BMG block title such as ``'Raw Data (450 1)'``.

    ``Absorbance`` + ``(450 1)`` → ``'abs_450'``; ``Fluorescence`` + ``(480-14/520-30)``
    → ``'fluo_480_520'``; ``Luminescence`` → ``'lum'``; otherwise a slug of the
    bracketed text.
    """
    m = _PAREN_RE.search(title)
    inner = m.group(1).strip() if m else ""
    parts = [p.strip() for p in inner.split("/")] if inner else []
    lead = [re.match(r"\d+", p) for p in parts]
    if mode == "abs" and lead and lead[0]:
        if len(parts) == 1:
            return f"abs_{lead[0].group(0)}"
    if mode == "fluo" and len(parts) == 2 and all(lead):
        return f"fluo_{lead[0].group(0)}_{lead[1].group(0)}"
    if mode == "lum":
        return "lum" if not inner or inner.lower().startswith("lum") else f"lum_{slug(inner)}"
    if mode == "abs" and len(parts) == 2 and all(lead):
        # a ratio/difference of two chromatics keeps both wavelengths
        return f"abs_{lead[0].group(0)}_{lead[1].group(0)}"
    return slug(inner) if inner else "value"


def metric_name(title: str) -> str:
    """``'raw'``, ``'blank_corrected'`` or a slug of a calculated block's title."""
    t = _TITLE_RE.match(title).group(1)
    low = t.lower()
    if low.startswith("raw data"):
        return "raw"
    if low.startswith("blank corrected"):
        return "blank_corrected"
    head = re.split(r"\s+based on\s+", t, maxsplit=1, flags=re.I)[0]
    head = _PAREN_RE.sub("", head)
    return slug(head)


def _check_duplicate(source: Source, seen: dict, key: tuple, line: int, sheet: str | None = None) -> None:
    if key in seen:
        where = {"sheet": sheet} if sheet is not None else {}
        raise source.error(
            "the same data block appears twice", line=line, **where,
            expected="one block per read and metric",
            found=f"read {key[0]!r}, metric {key[1]!r} again (first at line/row {seen[key]})",
        )
    seen[key] = line


# ------------------------------------------------------------------- MARS CSV


def _sniff_csv(source: Source) -> bool:
    head = source.head()
    if not head:
        return False
    has_block = re.search(r"^\s*(?:Raw Data|Blank corrected)\b[^\n]*\(", head, re.M) is not None
    has_header = re.search(r"^User:[^\n]*(?:Path:|Test run no)", head, re.M) is not None
    return has_block and (has_header or re.search(r"^Test name:", head, re.M) is not None)


@register(
    "bmg_csv",
    kind="plate",
    sniff=_sniff_csv,
    description="BMG LABTECH MARS / PHERAstar / CLARIOstar CSV ('Raw Data (450 1)' grids)",
)
def read_bmg_csv(source: Source) -> pd.DataFrame:
    """Read a BMG MARS-style CSV export (one plate, ``'1'``).

    Parameters
    ----------
    source : Source
        The CSV export.

    Returns
    -------
    pandas.DataFrame
        Canonical plate-read table; metric ``'raw'`` for ``Raw Data`` blocks,
        ``'blank_corrected'`` for ``Blank corrected ...`` blocks, a slug of the title
        for other calculated blocks.

    Raises
    ------
    ReaderError
        No data block, a broken grid, or the same block twice.
    """
    rows, sep = text_rows(source)
    mode: str | None = None
    title: str | None = None
    title_line = 0
    frames: list[pd.DataFrame] = []
    seen: dict = {}
    k = 0
    while k < len(rows):
        cells = rows[k]
        if not cells or is_blank(cells):
            k += 1
            continue
        first = cells[0].strip()
        if header_numbers(cells) is not None:
            if title is None:
                raise source.error(
                    "grid without a block title", line=k + 1,
                    expected="a title such as 'Raw Data (450 1)' above the grid", found="none",
                )
            grid = read_grid(rows, k, source=source)
            read = read_name(title, mode)
            metric = metric_name(title)
            _check_duplicate(source, seen, (read, metric), title_line)
            wells, values, raws, flags = grid_values(grid, decimal_comma=sep == ";")
            frames.append(
                plate_table(plate="1", well=wells, read=read, metric=metric, value=values,
                            raw=raws, flag=flags, source_file=source.name)
            )
            title = None
            k = grid.end
            continue
        if mode is None and _mode_of(first) and len([c for c in cells if c.strip()]) == 1:
            mode = _mode_of(first)
        elif _PAREN_RE.search(first) and len([c for c in cells if c.strip()]) == 1:
            title, title_line = first, k + 1
        k += 1
    if not frames:
        raise source.error(
            "no data grid found", expected="a block 'Raw Data (...)' with a ',1,2,...,12' grid",
            found="none",
        )
    return pd.concat(frames, ignore_index=True)


# -------------------------------------------------------------- SMART Control

_SMART_BLOCK_RE = re.compile(r"^\s*(\d+)\.\s+(\S.*?)\s*$")


def _smart_sheet(source: Source) -> str | None:
    for name in source.sheet_names:
        rows = source.sheet(name)
        for cells in rows[:40]:
            for c in cells[:3]:
                if isinstance(c, str) and _SMART_BLOCK_RE.match(c) and (
                    "raw data" in c.lower() or "layout" in c.lower()
                ):
                    return name
    return None


def _table_sheet(source: Source) -> tuple[str, int] | None:
    """(sheet, row index) of a SMART Control 'Table' sheet: a row 'Well, A01, A02, ...'."""
    for name in source.sheet_names:
        rows = source.sheet(name)
        for i, cells in enumerate(rows[:40]):
            if (
                len(cells) > 2
                and cell_text(cells[0]).strip() == "Well"
                and all(_is_well_name(c) for c in cells[1:3])
            ):
                return name, i
    return None


def _is_well_name(cell: Any) -> bool:
    return re.match(r"^[A-Z]{1,2}\d{1,2}$", cell_text(cell).strip()) is not None


def _sniff_smart(source: Source) -> bool:
    if source.kind not in ("xlsx", "xls"):
        return False
    try:
        if _smart_sheet(source) is not None:
            return True
        found = _table_sheet(source)
        return found is not None and _mode_from_rows(source.sheet(found[0])) is not None
    except ReaderError:
        return False


def _read_smart_table(source: Source, name: str, start: int) -> pd.DataFrame:
    """The 'Table End point' layout: one column per well, one row per block."""
    rows = source.sheet(name)
    mode = _mode_from_rows(rows)
    header = rows[start]
    wells: list[tuple[int, str]] = []
    seen: dict = {}
    for j, c in enumerate(header[1:], start=1):
        t = cell_text(c).strip()
        if not t:
            continue
        if not _is_well_name(t):
            raise source.error(
                "not a well name in the 'Well' row", sheet=name, line=start + 1,
                expected="'A01', 'A02', ...", found=f"{t!r} in column {j + 1}",
            )
        r, col = parse_well(t)
        well = f"{r}{col}"
        if well in seen:
            raise source.error(
                "well listed twice", sheet=name, line=start + 1, well=well,
                expected="each well once", found=f"again in column {j + 1}",
            )
        seen[well] = j
        wells.append((j, well))
    labels: dict[str, str] = {}
    std_conc: dict[str, float] = {}
    dilution: dict[str, float] = {}
    unit = ""
    data: list = []
    seen_blocks: dict = {}
    for k in range(start + 1, len(rows)):
        cells = list(rows[k]) + [""] * len(header)
        title = cell_text(cells[0]).strip()
        if not title:
            continue
        low = title.lower()
        if low == "content":
            for j, well in wells:
                labels[well] = cell_text(cells[j]).strip().split(" ")[-1]
        elif low.startswith("standard concentration") or low.startswith("dilution"):
            target = std_conc if low.startswith("standard") else dilution
            if target is std_conc:
                m = re.search(r"\[(.+?)\]|\bin\s+(.+)$", title)
                unit = (m.group(1) or m.group(2)).strip() if m else ""
            for j, well in wells:
                v, raw, flag = parse_value(cells[j])
                if flag and flag != "empty":
                    raise source.error(
                        f"not a number in row '{title}'", sheet=name, line=k + 1, well=well,
                        expected="a number or an empty cell", found=repr(raw),
                    )
                if not flag:
                    target[well] = v
        else:
            read, metric = read_name(title, mode), metric_name(title)
            _check_duplicate(source, seen_blocks, (read, metric), k + 1, sheet=name)
            parsed = [parse_value(cells[j]) for j, _w in wells]
            data.append((read, metric, ([w for _j, w in wells], [p[0] for p in parsed],
                                        [p[1] for p in parsed], [p[2] for p in parsed])))
    return _smart_frame(source, data, labels, std_conc, dilution, unit, name)


def _smart_frame(source, data, labels, std_conc, dilution, unit, name) -> pd.DataFrame:
    if not data:
        raise source.error(
            "no data block found", sheet=name,
            expected="a block such as '4. Raw Data (...)'", found="only layout/concentration blocks",
        )
    frames = []
    for read, metric, (wells, values, raws, flags) in data:
        frames.append(
            plate_table(
                plate="1", well=wells, read=read, metric=metric, value=values, raw=raws, flag=flags,
                source_file=source.name,
                extra={
                    "sample_label": [labels.get(w, "") for w in wells],
                    "std_conc": [std_conc.get(w, math.nan) for w in wells],
                    "std_conc_unit": [unit if w in std_conc else "" for w in wells],
                    "dilution": [dilution.get(w, math.nan) for w in wells],
                },
            )
        )
    df = pd.concat(frames, ignore_index=True)
    for col in ("std_conc", "dilution"):
        df[col] = df[col].astype(float)
    return df


def _mode_from_rows(rows: list[list[Any]]) -> str | None:
    for cells in rows[:30]:
        if cells and isinstance(cells[0], str) and _mode_of(cells[0]):
            return _mode_of(cells[0])
    return None


@register(
    "bmg_smart",
    kind="plate",
    sniff=_sniff_smart,
    description="BMG LABTECH SMART Control .xlsx (numbered Layout / Raw Data / Blank corrected blocks)",
)
def read_bmg_smart(source: Source) -> pd.DataFrame:
    """Read a BMG SMART Control workbook (plate ``'1'``).

    The sheet with numbered blocks (``'Microplate End point'``) is read; without one,
    the one-column-per-well ``'Table End point'`` sheet.

    Parameters
    ----------
    source : Source
        The .xlsx export.

    Returns
    -------
    pandas.DataFrame
        Canonical plate-read table (metrics ``'raw'``, ``'blank_corrected'`` ...) with
        extra columns ``sample_label`` (``'S1'``, ``'X3'``, ``'B'``; ``''`` when the
        layout block is absent or the well is empty), ``std_conc`` and
        ``std_conc_unit`` (from ``Standard Concentrations in <unit>``), ``dilution``
        (NaN where not exported).

    Raises
    ------
    ReaderError
        No numbered data block, a broken grid, a number-less cell in the
        concentration/dilution grids, or the same block twice.
    """
    name = _smart_sheet(source)
    if name is None and (table := _table_sheet(source)) is not None:
        return _read_smart_table(source, *table)
    if name is None:
        raise source.error(
            "no SMART Control data sheet", expected="a sheet with blocks '1. Layout', '4. Raw Data (...)'",
            found=f"sheets {source.sheet_names[:5]}",
        )
    rows = source.sheet(name)
    mode = _mode_from_rows(rows)
    labels: dict[str, str] = {}
    std_conc: dict[str, float] = {}
    dilution: dict[str, float] = {}
    unit = ""
    data: list[tuple[str, str, tuple]] = []
    seen: dict = {}
    k = 0
    while k < len(rows):
        cells = rows[k]
        title = next((c for c in cells[:3] if isinstance(c, str) and _SMART_BLOCK_RE.match(c)), None)
        if title is None or k + 1 >= len(rows) or header_numbers(rows[k + 1]) is None:
            k += 1
            continue
        text = _SMART_BLOCK_RE.match(title).group(2)
        grid = read_grid(rows, k + 1, source=source, sheet=name)
        low = text.lower()
        if low.startswith("layout"):
            for well, _line, cell in grid.cells():
                labels[well] = cell_text(cell).strip()
        elif low.startswith("standard concentration") or low.startswith("dilution"):
            target = std_conc if low.startswith("standard") else dilution
            if target is std_conc:
                m = re.search(r"\bin\s+(.+)$", text)
                unit = m.group(1).strip() if m else ""
            for well, line, cell in grid.cells():
                v, raw, flag = parse_value(cell)
                if flag and flag != "empty":
                    raise source.error(
                        f"not a number in block '{text}'", sheet=name, line=line, well=well,
                        expected="a number or an empty cell", found=repr(raw),
                    )
                if not flag:
                    target[well] = v
        else:
            read = read_name(text, mode)
            metric = metric_name(text)
            _check_duplicate(source, seen, (read, metric), k + 1, sheet=name)
            data.append((read, metric, grid_values(grid)))
        k = grid.end
    return _smart_frame(source, data, labels, std_conc, dilution, unit, name)
