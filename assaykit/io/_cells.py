"""The cell-parsing toolbox every reader uses: one number parser, one ``cell_text``,
the one metadata type, and the text/cell helpers shared by several readers.

Readers import these from here and never from each other. The rules of each format
(its missing-value words, its tokens such as ``OVRFLW`` or ``Range?``) stay in the
reader; the parsing of a number is done here, the same way for every format:
:func:`parse_number` accepts what Python's ``float()`` accepts (surrounding white space
included) except underscores, ``nan`` and infinities, and optionally a decimal comma
(``'0,5'``) or thousands separators (``'5,720.5'``).
"""

from __future__ import annotations

import csv
import datetime as _dt
import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from assaykit.io._source import Source

__all__ = [
    "pad_row",
    "ExportMetadata",
    "bead_cell_value",
    "cell_text",
    "csv_rows",
    "detect_delimiter",
    "find_separator",
    "is_blank",
    "metric_name",
    "parse_cells",
    "parse_number",
    "parse_value",
    "slug",
    "split_line",
    "strip_trailing",
    "text_rows",
]


# ------------------------------------------------------------------ metadata
class ExportMetadata(dict):
    """Key–value header of an export, stored in ``df.attrs['metadata']`` (read-only).

    pandas deep-copies ``attrs`` for every derived frame; this dict returns itself from
    :func:`copy.deepcopy` to keep that cheap.
    """

    def __deepcopy__(self, memo: dict) -> ExportMetadata:
        return self


# --------------------------------------------------------------------- text
def cell_text(cell: Any, *, strip: bool = False) -> str:
    """The text of a cell as exported.

    Integral worksheet numbers lose their ``.0`` (a 7 typed in a sheet arrives as
    ``7.0``), booleans are ``TRUE``/``FALSE``, None is ``''``.

    Parameters
    ----------
    cell : object
        A text field or a workbook cell (str, float, int, bool, datetime ...).
    strip : bool
        Strip surrounding white space from text, and read a NaN cell as empty (the
        cells of a results table); default: the text exactly as exported.
    """
    if type(cell) is str:
        return cell.strip() if strip else cell
    if cell is None:
        return ""
    if isinstance(cell, bool):
        return "TRUE" if cell else "FALSE"
    if isinstance(cell, float):
        if strip and math.isnan(cell):
            return ""
        if math.isfinite(cell) and cell.is_integer() and abs(cell) < 1e16:
            return str(int(cell))
        return repr(cell)
    return str(cell).strip() if strip else str(cell)


def slug(text: str) -> str:
    """Lower-case snake_case version of a label (``'Abs600_Copy1'`` → ``'abs600_copy1'``)."""
    s = re.sub(r"[^0-9a-zA-Z]+", "_", str(text)).strip("_").lower()
    return s or "value"


def is_blank(cells: Sequence[Any]) -> bool:
    """True when every cell is empty or white space."""
    return all(cell_text(c).strip() == "" for c in cells)


def strip_trailing(cells: Sequence[Any]) -> list[Any]:
    """The cells without the empty cells at the end of the row."""
    out = list(cells)
    while out and cell_text(out[-1]).strip() == "":
        out.pop()
    return out


def find_separator(lines: Sequence[str]) -> str:
    """Guess the field separator of a delimited text export (tab, ';' or ',')."""
    sample = [ln for ln in lines[:50] if ln.strip()]
    counts = {sep: sum(ln.count(sep) for ln in sample) for sep in ("\t", ";", ",")}
    if counts["\t"] and counts["\t"] >= counts[","] / 4:
        return "\t"
    if counts[";"] > counts[","]:
        return ";"
    return ","


def detect_delimiter(lines: list[str]) -> str:
    """The delimiter occurring most in the first delimited line (',' by default)."""
    first = next((ln for ln in lines[:50] if any(d in ln for d in ",;\t")), "")
    counts = {d: first.count(d) for d in (",", ";", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > 0 else ","


def split_line(line: str, sep: str = ",") -> list[str]:
    """Split one delimited line (honouring double quotes when present)."""
    if '"' not in line:
        return line.split(sep)
    return next(csv.reader([line], delimiter=sep), [])


def pad_row(source: Source, line: int, cells: list[str], n_columns: int) -> list[str]:
    """``cells`` padded with ``''`` to ``n_columns`` (a row with more values raises, naming the line)."""
    if len(cells) > n_columns:
        raise source.error(
            "row has more values than the header has columns",
            line=line,
            expected=f"{n_columns} columns",
            found=f"{len(cells)} values",
        )
    return cells + [""] * (n_columns - len(cells))


def text_rows(source: Source, sep: str | None = None) -> tuple[list[list[str]], str]:
    """The lines of a text source split into fields, and the separator used."""
    lines = source.lines
    sep = sep or find_separator(lines)
    return [split_line(ln, sep) for ln in lines], sep


def csv_rows(source: Source, delimiter: str) -> list[tuple[int, list[str]]]:
    """Parse the text into ``(line_number, stripped cells)``; blank rows are kept as ``[]``."""
    reader = csv.reader(source.lines, delimiter=delimiter)
    out: list[tuple[int, list[str]]] = []
    # Strip every cell and drop the trailing empty ones in C: join the stripped cells with
    # NUL (never in Source.text), strip the trailing NULs, split again.
    strip, join = str.strip, "\x00".join
    try:
        for row in reader:
            line = join(map(strip, row)).rstrip("\x00")
            out.append((reader.line_num, line.split("\x00") if line else []))
    except csv.Error as exc:
        raise source.error(f"malformed CSV ({exc})", line=reader.line_num) from None
    return out


# ------------------------------------------------------------------ numbers
_DECIMAL_COMMA_RE = re.compile(r"[-+]?\d*,\d+(?:[eE][-+]?\d+)?")
_THOUSANDS_RE = re.compile(r"^[+-]?(\d{1,3}(,\d{3})+|\d*)(\.\d*)?([eE][+-]?\d+)?$")
_NUMBER_TYPES = (int, float, np.floating, np.integer)


def parse_number(cell: Any, *, decimal_comma: bool = False, thousands: bool = False) -> float | None:
    """The number in a cell, or None: the one number parser of every reader.

    Worksheet numbers are taken as they are; text is read as by ``float()`` (surrounding
    white space allowed) except that underscores (``'1_000'``), ``nan`` and infinities are
    not numbers. Booleans, empty cells and other text give None.

    Parameters
    ----------
    cell : object
        A text field or a workbook cell.
    decimal_comma : bool
        Also read ``'0,5'`` as 0.5 (exports using ``;`` between fields).
    thousands : bool
        Also read ``'5,720.562'`` as 5720.562 (comma thousands separators).

    Examples
    --------
    >>> parse_number(" 2.5 "), parse_number("1,5"), parse_number("1,5", decimal_comma=True)
    (2.5, None, 1.5)
    >>> parse_number("36,431.130", thousands=True), parse_number("nan"), parse_number(True)
    (36431.13, None, None)
    """
    if type(cell) is str:
        text = cell
    elif cell is None or isinstance(cell, bool):
        return None
    elif isinstance(cell, _NUMBER_TYPES):
        v = float(cell)
        return v if math.isfinite(v) else None
    else:
        text = str(cell)
    if not text or "_" in text:
        return None
    try:
        v = float(text)
    except ValueError:
        t = text.strip()
        if decimal_comma and _DECIMAL_COMMA_RE.fullmatch(t):
            v = float(t.replace(",", "."))
        elif thousands and "," in t and _THOUSANDS_RE.match(t):
            v = float(t.replace(",", ""))
        else:
            return None
    return v if math.isfinite(v) else None


#: Plate-reader tokens in a numeric cell and the flag they map to (lower-case keys).
TOKEN_FLAGS: dict[str, str] = {
    "over": "overflow",
    "ovrflw": "overflow",
    "overflow": "overflow",
    "saturated": "overflow",
    "sat": "overflow",
    "invalid": "invalid",
    "?????": "invalid",
    "missed": "missed",
}


def parse_value(cell: Any, *, decimal_comma: bool = False) -> tuple[float, str, str]:
    """Parse one exported plate cell into ``(value, raw, flag)``.

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
    v = parse_number(s, decimal_comma=decimal_comma)
    if v is not None:
        return v, raw, ""
    return math.nan, raw, TOKEN_FLAGS.get(s.lower(), "not_numeric")


# ------------------------------------------------------------ bead assays
_BOUND_RE = re.compile(r"^([<>])\s*(.+)$")
_OOR_RE = re.compile(r"^OOR\s*([<>])$", re.IGNORECASE)


def bead_cell_value(text: str, decimal_comma: bool = False) -> tuple[float, str]:
    """Return ``(value, flag)`` of one bead-assay cell (see docs/formats/luminex.md)."""
    if not text:
        return math.nan, "empty"
    v = parse_number(text, decimal_comma=decimal_comma)
    if v is not None:
        return v, ""
    m = _BOUND_RE.match(text)
    if m:
        v = parse_number(m.group(2).strip(), decimal_comma=decimal_comma)
        if v is not None:
            return v, "out_of_range_low" if m.group(1) == "<" else "out_of_range_high"
    m = _OOR_RE.match(text)
    if m:
        return math.nan, "out_of_range_low" if m.group(1) == "<" else "out_of_range_high"
    if text.startswith("*"):
        v = parse_number(text[1:].strip(), decimal_comma=decimal_comma)
        if v is not None:
            return v, "extrapolated"
    return math.nan, "not_numeric"


def parse_cells(raw: np.ndarray, decimal_comma: bool = False) -> tuple[np.ndarray, np.ndarray]:
    """Convert exported bead-assay cell texts to values and flags.

    Plain numbers are converted in one vectorised pass; only the other cells go
    through the per-cell rules: ``''`` → NaN/``empty``; ``'< x'``/``'> x'`` → x with
    ``out_of_range_low``/``out_of_range_high``; ``'OOR <'``/``'OOR >'`` → NaN with the
    same flags; ``'*x'`` → x/``extrapolated``; anything else (``'NaN'``, ``'N/A'``,
    ``'inf'``, text) → NaN/``not_numeric``.

    Parameters
    ----------
    raw : numpy.ndarray
        Object array of stripped cell texts.
    decimal_comma : bool
        Read ``'1,5'`` as 1.5 (exports using ``;`` as delimiter).

    Returns
    -------
    value : numpy.ndarray
        Float array, NaN where no number.
    flag : numpy.ndarray
        Object array of flags (``''`` for none).
    """
    n = len(raw)
    if n == 0:
        return np.zeros(0, dtype=float), np.full(0, "", dtype=object)
    # Exports repeat many texts (empty cells, '< 0.105', counts): convert each distinct text once.
    codes, uniq = pd.factorize(np.asarray(raw, dtype=object))
    if len(uniq) < n:
        value, flag = _parse_unique(np.asarray(uniq, dtype=object), decimal_comma)
        return value[codes], flag[codes]
    return _parse_unique(np.asarray(raw, dtype=object), decimal_comma)


def _parse_unique(raw: np.ndarray, decimal_comma: bool) -> tuple[np.ndarray, np.ndarray]:
    flag = np.full(len(raw), "", dtype=object)
    # a writable copy: to_numpy may return pandas' own (read-only under copy-on-write) buffer
    value = pd.to_numeric(pd.Series(raw, dtype=object), errors="coerce").to_numpy(dtype=float, copy=True)
    # Cells to look at one by one: not converted ('', '< 0.1', 'NaN', '1,5', text) or infinite.
    redo = ~np.isfinite(value)
    for j in np.flatnonzero(redo):
        value[j], flag[j] = bead_cell_value(raw[j], decimal_comma)
    return value, flag


def metric_name(label: str) -> str:
    """snake_case metric name of an exported statistic label.

    A ``%`` becomes a ``_pct`` suffix; 'Expected Concentration' blocks become
    ``expected_conc``.

    Examples
    --------
    >>> metric_name("Net MFI"), metric_name("%CV Replicates"), metric_name("% Recovery")
    ('net_mfi', 'cv_replicates_pct', 'recovery_pct')
    >>> metric_name("Standard Expected Concentration")
    'expected_conc'
    """
    if "expected concentration" in label.lower():
        return "expected_conc"
    pct = "%" in label
    s = re.sub(r"[^0-9a-zA-Z]+", "_", label.replace("%", " ")).strip("_").lower()
    if not s:
        s = "value"
    return f"{s}_pct" if pct else s
