"""Write tidy tables to one Excel workbook, with an ``info`` sheet recording provenance.

The workbook is meant to be opened by people: every sheet has a bold, frozen header row
and an autofilter; numbers are stored as numbers (NaN becomes an empty cell); the
DataFrame index is not written. The first sheet, ``info``, records the assaykit and
library versions, the time of writing, every input file with its SHA-256, and the
parameters the caller passes (``docs/schemas.md``, "Workbook info sheet").

Nothing here knows about plates or qPCR: any ``dict[str, DataFrame]`` can be written.

Examples
--------
>>> import pandas as pd
>>> tables = {"wells": pd.DataFrame({"well": ["A1", "A2"], "od_450": [0.1, float("nan")]})}
>>> write_workbook(tables, "results.xlsx", info={"model": "4pl"})  # doctest: +SKIP
PosixPath('results.xlsx')
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import json
import math
import os
import platform
import re
from collections.abc import Iterable, Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assaykit.errors import ReportError

__all__ = ["INFO_COLUMNS", "file_sha256", "info_table", "sheet_names", "write_workbook"]

#: Columns of the ``info`` sheet.
INFO_COLUMNS: tuple[str, ...] = ("section", "name", "value", "sha256")

_MAX_SHEET = 31
_MAX_ROWS = 1_048_576
_MAX_COLS = 16_384
_MAX_CELL_CHARS = 32_767
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
# Excel refuses these names (case-insensitive); 'info' is the provenance sheet.
_RESERVED_SHEETS = ("info", "history")
# Control characters that the xlsx XML cannot hold (openpyxl raises on them).
_ILLEGAL_XML = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
_LIBRARIES = ("pandas", "numpy", "scipy", "lmfit", "openpyxl", "matplotlib", "wellmap")


def file_sha256(path: str | os.PathLike) -> str:
    """Return the SHA-256 hex digest of a file's bytes.

    Parameters
    ----------
    path : str or path-like
        The file (read in 1 MiB chunks).

    Returns
    -------
    str
        64 lower-case hexadecimal characters.

    Raises
    ------
    ReportError
        If the file cannot be read.
    """
    h = hashlib.sha256()
    try:
        with open(path, "rb") as fh:
            for chunk in iter(lambda: fh.read(1 << 20), b""):
                h.update(chunk)
    except OSError as exc:
        raise ReportError(
            "cannot hash input file", file=os.fspath(path), found=exc.strerror or type(exc).__name__
        ) from None
    return h.hexdigest()


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "not installed"


def info_table(
    info: Mapping[str, Any] | None = None,
    inputs: Iterable[str | os.PathLike] = (),
    *,
    timestamp: _dt.datetime | None = None,
) -> pd.DataFrame:
    """Build the provenance table written as the workbook's ``info`` sheet.

    Parameters
    ----------
    info : mapping, optional
        Parameters of the run (name → value). Numbers and strings are kept as they are;
        lists and dicts are written as JSON text; ``None`` becomes an empty cell.
    inputs : iterable of path
        Input files; each gets a row with its path and SHA-256 digest.
    timestamp : datetime, optional
        Time of writing (default: now, UTC).

    Returns
    -------
    pandas.DataFrame
        Columns :data:`INFO_COLUMNS`: ``section`` (``'assaykit'``, ``'environment'``,
        ``'run'``, ``'input'`` or ``'parameter'``), ``name``, ``value`` (for inputs: the
        absolute path), ``sha256`` (input rows only, else missing).

    Raises
    ------
    ReportError
        If an input file cannot be read.
    """
    from assaykit import __version__

    ts = timestamp or _dt.datetime.now(_dt.UTC)
    rows: list[tuple[str, str, Any, str | None]] = [
        ("assaykit", "version", __version__, None),
        ("environment", "python", platform.python_version(), None),
        ("environment", "platform", platform.platform(), None),
    ]
    rows += [("environment", lib, _version(lib), None) for lib in _LIBRARIES]
    rows.append(("run", "created_utc", ts.astimezone(_dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), None))
    for p in inputs:
        rows.append(("input", Path(p).name, os.path.abspath(p), file_sha256(p)))
    for key, value in (info or {}).items():
        rows.append(("parameter", str(key), _param_value(value), None))
    return pd.DataFrame(rows, columns=list(INFO_COLUMNS))


def _param_value(value: Any) -> Any:
    if value is None:
        return None
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, os.PathLike):
        return os.fspath(value)
    try:
        return json.dumps(value, default=str, ensure_ascii=False)
    except (TypeError, ValueError):
        return str(value)


def sheet_names(names: Iterable[str]) -> list[str]:
    """Turn table names into valid, unique Excel sheet names (same order).

    Characters Excel forbids (``[]:*?/\\``) become ``_``; leading/trailing apostrophes
    and spaces are removed; names are cut to 31 characters; an empty name becomes
    ``'sheet'``. Names that collide (Excel compares case-insensitively), including with
    the reserved ``info`` and ``history``, get a suffix ``_2``, ``_3`` ... inside the
    31-character limit.

    Parameters
    ----------
    names : iterable of str
        Table names, in sheet order.

    Returns
    -------
    list of str
        One valid sheet name per input name.

    Examples
    --------
    >>> sheet_names(["a/b", "x" * 40, "info", "A/B"])
    ['a_b', 'xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx', 'info_2', 'A_B_2']
    """
    taken = set(_RESERVED_SHEETS)
    out: list[str] = []
    for raw in names:
        base = _BAD_SHEET_CHARS.sub("_", _ILLEGAL_XML.sub("", str(raw))).strip(" '")
        base = base[:_MAX_SHEET].strip(" '") or "sheet"
        name = base
        k = 2
        while name.lower() in taken:
            suffix = f"_{k}"
            name = base[: _MAX_SHEET - len(suffix)] + suffix
            k += 1
        taken.add(name.lower())
        out.append(name)
    return out


def _cell_value(v: Any) -> Any:
    """Convert one value to something openpyxl stores natively (None = empty cell)."""
    if v is None or v is pd.NaT or v is pd.NA:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float):
        if math.isnan(v):
            return None
        if math.isinf(v):
            return "inf" if v > 0 else "-inf"  # xlsx cannot store infinities as numbers
        return v
    if isinstance(v, bool | int | str):
        return v
    if isinstance(v, pd.Timestamp | _dt.datetime):
        if v.tzinfo is not None:  # Excel has no time zones: keep the exact instant as text
            return v.isoformat()
        return v.to_pydatetime() if isinstance(v, pd.Timestamp) else v
    if isinstance(v, _dt.date | _dt.time):
        return v
    if isinstance(v, pd.Timedelta | _dt.timedelta | np.timedelta64):
        return str(pd.Timedelta(v))
    if isinstance(v, complex):
        return str(v)
    return str(v)


def _write_sheet(ws, df: pd.DataFrame, title: str, source_name: str) -> None:
    from openpyxl.styles import Font
    from openpyxl.utils import get_column_letter

    if isinstance(df.columns, pd.MultiIndex):
        raise ReportError(
            "table has MultiIndex columns",
            sheet=title,
            expected="flat column names (tidy table)",
            found=f"{df.columns.nlevels} column levels",
        )
    n_rows, n_cols = df.shape
    if n_rows + 1 > _MAX_ROWS or n_cols > _MAX_COLS:
        raise ReportError(
            f"table {source_name!r} is too large for one Excel sheet (write it as CSV instead)",
            sheet=title,
            expected=f"at most {_MAX_ROWS - 1} rows and {_MAX_COLS} columns",
            found=f"{n_rows} rows, {n_cols} columns",
        )
    header = [_ILLEGAL_XML.sub("", str(c)) for c in df.columns]
    ws.append(header)
    bold = Font(bold=True)
    for cell in ws[1]:
        cell.font = bold
    widths = [len(h) for h in header]
    columns = [df.iloc[:, j].tolist() for j in range(n_cols)]
    for i in range(n_rows):
        row = []
        for j in range(n_cols):
            v = _cell_value(columns[j][i])
            if isinstance(v, str):
                if _ILLEGAL_XML.search(v):
                    v = _ILLEGAL_XML.sub("", v)
                if len(v) > _MAX_CELL_CHARS:
                    raise ReportError(
                        "text too long for an Excel cell",
                        sheet=title,
                        line=i + 2,
                        column=header[j],
                        expected=f"at most {_MAX_CELL_CHARS} characters",
                        found=f"{len(v)} characters",
                    )
                if i < 2000:
                    widths[j] = max(widths[j], len(v))
            elif v is not None and i < 2000:
                widths[j] = max(widths[j], len(f"{v:.6g}" if isinstance(v, float) else str(v)))
            row.append(v)
        ws.append(row)
        # A text cell starting with '=' must stay text, never become a formula.
        for j, v in enumerate(row):
            if isinstance(v, str) and v.startswith("="):
                ws.cell(row=i + 2, column=j + 1).data_type = "s"
    if n_cols:
        ws.freeze_panes = "A2"
        ws.auto_filter.ref = f"A1:{get_column_letter(n_cols)}{n_rows + 1}"
        for j, w in enumerate(widths):
            ws.column_dimensions[get_column_letter(j + 1)].width = min(max(w + 2, 8), 60)


def write_workbook(
    tables: Mapping[str, pd.DataFrame],
    path: str | os.PathLike,
    *,
    info: Mapping[str, Any] | None = None,
    inputs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Write tidy tables to an ``.xlsx`` workbook, after an ``info`` provenance sheet.

    Parameters
    ----------
    tables : mapping of str to pandas.DataFrame
        Sheet title → table, written in this order after ``info``. Titles are made valid
        and unique with :func:`sheet_names` (e.g. ``'wells/od'`` → ``'wells_od'``).
    path : str or path-like
        The workbook to write (must end in ``.xlsx``; its folder must exist). It is
        written to a temporary file first and then moved into place.
    info : mapping, optional
        Run parameters written to the ``info`` sheet (section ``parameter``).
    inputs : iterable of path
        Input files, listed in the ``info`` sheet with their SHA-256 digests.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ReportError
        If a table is not a DataFrame, has MultiIndex columns, does not fit on a sheet,
        holds a text longer than an Excel cell, an input cannot be hashed, or the file
        cannot be written.

    Notes
    -----
    Cells: NaN/None/NaT → empty; numbers → numbers (openpyxl writes 16 significant digits,
    a relative rounding of at most 5e-16); booleans → booleans; naive
    datetimes → Excel dates; time-zone aware datetimes, timedeltas and ±inf → text (Excel
    has no representation for them). Text starting with ``=`` is stored as text, never
    as a formula. Control characters the xlsx format cannot hold are removed.
    """
    from openpyxl import Workbook

    out = Path(path)
    if out.suffix.lower() != ".xlsx":
        raise ReportError("workbook name must end in .xlsx", file=str(out), expected=".xlsx", found=repr(out.suffix))
    if not out.parent.is_dir():
        raise ReportError("folder of the workbook does not exist", file=str(out), found=f"no folder {out.parent}")
    for name, df in tables.items():
        if not isinstance(df, pd.DataFrame):
            raise ReportError(
                f"table {name!r} is not a DataFrame", file=str(out), expected="pandas.DataFrame", found=type(df).__name__
            )
    titles = sheet_names(tables.keys())
    info_df = info_table(info, inputs)

    wb = Workbook()
    ws = wb.active
    ws.title = "info"
    _write_sheet(ws, info_df, "info", "info")
    for title, (name, df) in zip(titles, tables.items(), strict=True):
        _write_sheet(wb.create_sheet(title), df, title, str(name))

    # write next to the target, then move into place: no half-written workbook on failure
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    try:
        wb.save(tmp)
        os.replace(tmp, out)
    except OSError as exc:
        raise ReportError("cannot write workbook", file=str(out), found=exc.strerror or str(exc)) from None
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return out
