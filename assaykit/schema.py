"""Canonical tidy tables shared by every reader and analysis.

Readers build their output with :func:`plate_table` or :func:`qpcr_table`, which
fill the redundant well keys (``well``, ``well0``, ``row``, ``col``) the same way
everywhere and check the result. The columns are documented in ``docs/schemas.md``.

Examples
--------
>>> parse_well("b07")
('B', 7)
>>> well_name("B", 7), well_name_padded("B", 7)
('B7', 'B07')
>>> plate_dims(384)
(16, 24)
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from assaykit.errors import SchemaError

__all__ = [
    "PLATE_COLUMNS",
    "PLATE_FLAGS",
    "QPCR_COLUMNS",
    "QPCR_FLAGS",
    "join_flags",
    "parse_well",
    "plate_dims",
    "plate_table",
    "qpcr_table",
    "row_index",
    "row_letter",
    "validate_plate_table",
    "validate_qpcr_table",
    "well_name",
    "well_name_padded",
]

#: Columns of the canonical plate-read table, in order.
PLATE_COLUMNS: tuple[str, ...] = (
    "plate",
    "well",
    "well0",
    "row",
    "col",
    "read",
    "metric",
    "value",
    "raw",
    "flag",
    "source_file",
)

#: Flags a plate reader may set (several are joined with ';').
PLATE_FLAGS: dict[str, str] = {
    "overflow": "signal above the detector range (Gen5 OVRFLW, SoftMax 'Range?' on high side, ...)",
    "missed": "the instrument did not read the well (Gen5 MISSED)",
    "not_numeric": "the exported cell holds text that is not a number",
    "invalid": "the instrument marked the value invalid (Gen5 '?????', 'Range?')",
    "out_of_range_low": "the instrument reported the value below its curve range ('< x', 'OOR <')",
    "out_of_range_high": "the instrument reported the value above its curve range ('> x', 'OOR >')",
    "extrapolated": "the instrument extrapolated the value outside its standard range",
    "empty": "the cell was empty in the export",
    "low_bead_count": "bead assay: fewer beads than the instrument's minimum",
    "control_failed": "bead assay: the instrument marked the control outside its expected range",
    "excluded": "the well was excluded in the instrument software (MSD 'Excluded' = yes)",
}

#: Columns of the canonical qPCR table, in order (``instrument_*`` columns may follow).
QPCR_COLUMNS: tuple[str, ...] = (
    "plate",
    "well",
    "well0",
    "row",
    "col",
    "sample",
    "target",
    "task",
    "reporter",
    "quantity",
    "cq",
    "cq_raw",
    "cq_flag",
    "tm",
    "source_file",
)

#: Flags a qPCR reader may set in ``cq_flag``.
QPCR_FLAGS: dict[str, str] = {
    "undetermined": "no amplification crossed the threshold (Undetermined, N/A, No Cq)",
    "omitted": "the well was omitted in the instrument software",
    "not_numeric": "the Cq cell holds text that is not a number",
    "empty": "the Cq cell was empty",
    "no_result": "the well × target is in the run's setup but has no result row",
    "no_amp": "the instrument called no amplification (Design & Analysis Amp Status)",
    "inconclusive": "the instrument called the amplification inconclusive",
    "flagged": "the instrument flagged the well (SDS 'Flag' column)",
    "outlier": "the instrument marked the well an outlier",
}
# Instrument QC flags (HIGHSD, NOAMP, EXPFAIL, AMPNC, ...) pass through in lower case
# (``highsd``, ``noamp`` ...); see docs/formats/quantstudio.md.

_WELL_RE = re.compile(r"^\s*([A-Za-z]{1,2})\s*0*(\d{1,3})\s*$")

_PLATE_SIZES: dict[int, tuple[int, int]] = {
    6: (2, 3),
    12: (3, 4),
    24: (4, 6),
    48: (6, 8),
    96: (8, 12),
    384: (16, 24),
    1536: (32, 48),
}


def plate_dims(n_wells: int) -> tuple[int, int]:
    """Return ``(n_rows, n_cols)`` of a standard plate with ``n_wells`` wells.

    Raises
    ------
    SchemaError
        If ``n_wells`` is not a standard plate size.
    """
    try:
        return _PLATE_SIZES[int(n_wells)]
    except (KeyError, ValueError, TypeError):
        raise SchemaError(
            "unknown plate size",
            expected=f"one of {sorted(_PLATE_SIZES)} wells",
            found=repr(n_wells),
        ) from None


def row_letter(index: int) -> str:
    """Return the row letter of a 0-based row index (0 → 'A', 26 → 'AA')."""
    if index < 0:
        raise SchemaError("row index must be >= 0", found=str(index))
    if index < 26:
        return chr(ord("A") + index)
    return chr(ord("A") + index // 26 - 1) + chr(ord("A") + index % 26)


def row_index(letter: str) -> int:
    """Return the 0-based index of a row letter ('A' → 0, 'AA' → 26)."""
    letter = letter.strip().upper()
    if len(letter) == 1 and letter.isalpha():
        return ord(letter) - ord("A")
    if len(letter) == 2 and letter.isalpha():
        return (ord(letter[0]) - ord("A") + 1) * 26 + ord(letter[1]) - ord("A")
    raise SchemaError("not a plate row letter", expected="'A'..'Z' or 'AA'..'AF'", found=repr(letter))


def parse_well(well: str) -> tuple[str, int]:
    """Split a well name into ``(row_letter, column_number)``.

    Accepts ``'A1'``, ``'a01'``, ``'A 1'``; column numbers are 1-based.

    Raises
    ------
    SchemaError
        If ``well`` is not a well name.
    """
    m = _WELL_RE.match(str(well))
    if not m or int(m.group(2)) < 1:
        raise SchemaError("not a well name", expected="a name like 'A1' or 'H12'", found=repr(well))
    return m.group(1).upper(), int(m.group(2))


def well_name(row: str, col: int) -> str:
    """Return the short well name (``'A1'``)."""
    return f"{row}{int(col)}"


def well_name_padded(row: str, col: int) -> str:
    """Return the zero-padded well name (``'A01'``), as wellmap's ``well0``."""
    return f"{row}{int(col):02d}"


def join_flags(*flags: str | None) -> str:
    """Join non-empty flags with ';' without repeating one (``''`` when none)."""
    out: list[str] = []
    for f in flags:
        if not f:
            continue
        for part in str(f).split(";"):
            if part and part not in out:
                out.append(part)
    return ";".join(out)


@lru_cache(maxsize=16384)
def _well_key(w: str) -> tuple[str, str, str, int]:
    r, c = parse_well(w)
    return well_name(r, c), well_name_padded(r, c), r, c


_WELL_KEYS: dict[str, tuple[str, str, str, int]] = {}  # well text -> _well_key(text)


def _well_keys(wells: Sequence[str]) -> tuple[list[str], list[str], list[str], list[int]]:
    """``well, well0, row, col`` of every well (raising SchemaError for a bad one)."""
    keys = list(map(_WELL_KEYS.get, wells))  # spellings seen before (non-str miss)
    if None in keys:
        if len(_WELL_KEYS) > 50_000:
            _WELL_KEYS.clear()
        for i, w in enumerate(wells):
            if keys[i] is None:
                text = w if isinstance(w, str) else str(w)
                keys[i] = _well_key(text)
                if type(w) is str:
                    _WELL_KEYS[w] = keys[i]
    if not keys:
        return [], [], [], []
    w_out, w0_out, r_out, c_out = (list(x) for x in zip(*keys, strict=True))
    return w_out, w0_out, r_out, c_out


def plate_table(
    *,
    plate: str | Sequence[str],
    well: Sequence[str],
    read: str | Sequence[str],
    value: Iterable[float],
    raw: Iterable[str] | None = None,
    flag: Iterable[str] | None = None,
    metric: str | Sequence[str] = "raw",
    source_file: str = "",
    extra: dict[str, Sequence] | None = None,
) -> pd.DataFrame:
    """Build a canonical plate-read table (one row per plate × well × read × metric).

    Parameters
    ----------
    plate : str or sequence of str
        Plate name for every row (a scalar is broadcast).
    well : sequence of str
        Well names in any accepted spelling (``'A1'``, ``'A01'``).
    read : str or sequence of str
        What was measured: ``'abs_450'``, ``'abs_450-630'``, ``'lum'``, an analyte name ...
    value : iterable of float
        Numeric value; NaN where the export holds no number (then ``flag`` says why).
    raw : iterable of str, optional
        The exported text of each value (defaults to the value formatted with ``repr``).
    flag : iterable of str, optional
        Flags from :data:`PLATE_FLAGS`, ``';'``-joined, ``''`` for none.
    metric : str or sequence of str
        What kind of number ``value`` is: ``'raw'`` (the measurement), ``'blank_corrected'``,
        ``'instrument_conc'`` (a concentration the instrument computed), ``'median'``,
        ``'net_mfi'``, ``'count'``, ``'expected_conc'`` (bead assays) ...
    source_file : str
        The file the values were read from.
    extra : dict, optional
        Further columns (e.g. ``sample_label``) appended after the canonical ones.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`PLATE_COLUMNS` followed by ``extra``'s, validated.
    """
    value_arr = np.asarray(value if isinstance(value, np.ndarray) else list(value), dtype=float)
    n = len(value_arr)

    def _col(x, name: str) -> np.ndarray:
        if x is None:
            raise SchemaError(f"column '{name}' is required")
        if isinstance(x, str):
            return np.full(n, x, dtype=object)
        arr = np.asarray(x if isinstance(x, np.ndarray) else list(x), dtype=object)
        if len(arr) != n:
            raise SchemaError(
                f"column '{name}' length differs from value length", expected=str(n), found=str(len(arr))
            )
        return arr

    def _text(arr: np.ndarray) -> np.ndarray:
        # None → '', anything else → str (cheap when already all str)
        if not set(map(type, arr.tolist())) <= _STR_ONLY:
            arr = np.asarray(["" if x is None else str(x) for x in arr], dtype=object)
        return arr

    well_arr = _col(well, "well")
    codes, uniq = pd.factorize(well_arr)
    if n and (codes < 0).any():  # factorize gives -1 for None/NaN
        parse_well(well_arr[int(np.flatnonzero(codes < 0)[0])])
    keys = [_well_key(w if isinstance(w, str) else str(w)) for w in uniq]
    key_cols = (
        [np.asarray(k, dtype=object) for k in zip(*keys, strict=True)] if keys else [np.empty(0, dtype=object)] * 4
    )
    if raw is None:
        raw_arr = np.asarray(["" if np.isnan(v) else repr(float(v)) for v in value_arr], dtype=object)
    else:
        raw_arr = _text(_col(raw, "raw"))
    data = {
        "plate": _text(_col(plate, "plate")),
        "well": key_cols[0][codes],
        "well0": key_cols[1][codes],
        "row": key_cols[2][codes],
        "col": key_cols[3][codes].astype(np.int64),
        "read": _text(_col(read, "read")),
        "metric": _text(_col(metric, "metric")),
        "value": value_arr,
        "raw": raw_arr,
        "flag": _text(_col(flag, "flag")) if flag is not None else np.full(n, "", dtype=object),
        "source_file": np.full(n, str(source_file), dtype=object),
    }
    for name, col in (extra or {}).items():
        arr = _col(col, name)  # checks the length, broadcasts a scalar string
        data[name] = col if isinstance(col, np.ndarray) else _maybe_str_array(arr.tolist())  # pandas infers
    df = _fast_frame(data, n)
    if df is None:  # an extra column of other types: pandas types it
        df = pd.DataFrame(data)
    if (extra and not set(extra).isdisjoint(PLATE_COLUMNS)) or not _keys_unique(
        data["plate"], data["well"], data["read"], data["metric"]
    ):
        validate_plate_table(df)  # raises naming the repeated key (or the replaced column)
    # else: the columns, their types and the unique keys are given by construction
    return df


def _keys_unique(*cols: Sequence) -> bool:
    """True when the rows of ``cols`` are distinct tuples, decided cheaply on small tables.

    Gives the answer of :func:`_first_duplicate` on a table holding these columns (same
    values, same set of tuples); False (meaning: validate the table) above 5000 rows.
    """
    n = len(cols[0])
    if n > 5000:
        return False
    lists = [c.tolist() if isinstance(c, np.ndarray) else c for c in cols]
    return len(set(zip(*lists, strict=True))) == n


def _column(df: pd.DataFrame, name: str):
    """The values of column ``name`` (an array, without building a Series: building one
    deep-copies ``df.attrs``); ``df[name]`` itself when the name is not unique."""
    loc = df.columns.get_loc(name)
    getter = getattr(df, "_get_column_array", None)
    if isinstance(loc, int) and getter is not None:
        return getter(loc)
    return df[name]


def _first_duplicate(df: pd.DataFrame, key: list[str]) -> tuple[int, int] | None:
    """Return (position of the first row whose key repeats, number of rows sharing keys) or None."""
    if len(df) > 5000:  # pandas' hashing wins on large tables, a Python set on small ones
        again = df.duplicated(key, keep="first").to_numpy()
        if not again.any():
            return None
        return int(np.flatnonzero(again)[0]), int(df.duplicated(key, keep=False).sum())
    cols = [_column(df, k).tolist() for k in key]
    if len(set(zip(*cols, strict=True))) == len(df):  # the usual case, decided in C
        return None
    seen: set = set()
    first = None
    for i, k in enumerate(zip(*cols, strict=True)):
        if k in seen:
            if first is None:
                first = i
        else:
            seen.add(k)
    if first is None:
        return None
    return first, int(df.duplicated(key, keep=False).sum())


def validate_plate_table(df: pd.DataFrame, *, where: str | None = None) -> pd.DataFrame:
    """Check that ``df`` is a canonical plate-read table; return it unchanged.

    Raises
    ------
    SchemaError
        Naming the missing column, a wrongly typed one, or a duplicated key.
    """
    missing = [c for c in PLATE_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(
            "not a canonical plate table",
            file=where,
            expected=f"columns {list(PLATE_COLUMNS)}",
            found=f"columns {list(df.columns)} (missing {missing})",
        )
    value = _column(df, "value")
    if not pd.api.types.is_float_dtype(value):
        raise SchemaError("column 'value' must be float", file=where, found=str(value.dtype))
    col = _column(df, "col")
    if not pd.api.types.is_integer_dtype(col):
        raise SchemaError("column 'col' must be integer", file=where, found=str(col.dtype))
    key = ["plate", "well", "read", "metric"]
    dup = _first_duplicate(df, key)
    if dup is not None:
        first = df.iloc[dup[0]]
        raise SchemaError(
            "duplicate well in plate table",
            file=where,
            plate=str(first["plate"]),
            well=str(first["well"]),
            read=str(first["read"]),
            expected="one row per plate × well × read × metric",
            found=f"{dup[1]} rows sharing a key",
        )
    return df


_STR_ONLY = frozenset({str})


def _str_array(values: list[str]) -> np.ndarray:
    """An object array of a list of ``str`` (pandas keeps it as is instead of re-inferring its type)."""
    arr = np.empty(len(values), dtype=object)
    arr[:] = values
    return arr


def _maybe_str_array(values: list) -> np.ndarray | pd.Series | list:
    """:func:`_str_array` when every value is a ``str``; an ``object`` Series when texts are
    mixed with None or numbers (kept as they are, under pandas 2 and 3 alike); else the
    list (pandas infers its dtype, e.g. float for numbers)."""
    types = set(map(type, values))
    if types <= _STR_ONLY:
        return _str_array(values)
    if str in types:
        return pd.Series(_str_array(values), dtype=object, copy=False)
    return values


def _as_str(values: list) -> list[str]:
    """``[str(v) for v in values]``, without the copy when they already are ``str``."""
    if set(map(type, values)) <= _STR_ONLY:
        return values
    return [str(v) for v in values]


def _as_text(values: list) -> list[str]:
    """``str`` of every value, ``''`` for None (no copy when they already are ``str``)."""
    if set(map(type, values)) <= _STR_ONLY:
        return values
    return ["" if v is None else str(v) for v in values]


_FAST_DTYPES = (np.dtype(np.float64), np.dtype(np.int64))


def _fast_frame(columns: dict[str, Sequence], n: int, *, texts_checked: bool = False) -> pd.DataFrame | None:
    """``pd.DataFrame(columns)`` for columns of known types, or None when not possible.

    Numeric columns must be float64 / int64 arrays (copied: the frame owns its values);
    every other column must hold only ``str`` (lists, tuples or object arrays of ``n``
    items), given to pandas as object arrays, so that no column's type is inferred
    value by value (``str`` columns are ``object`` under pandas 2 and ``str`` under
    pandas 3, as ``pd.DataFrame`` makes them). Public pandas API only; the columns are
    not consolidated into blocks (no copy of the texts).
    Returns None (the caller builds the frame column by column) when a column is of
    another type or a length differs.
    ``texts_checked=True``: the caller guarantees that the text columns hold only ``str``.
    """
    if n == 0:
        return None
    text: list[int] = []
    values = list(columns.values())
    out: list[np.ndarray] = [None] * len(values)  # type: ignore[list-item]
    for i, v in enumerate(values):
        if isinstance(v, np.ndarray) and v.dtype != object:
            if v.dtype not in _FAST_DTYPES or v.shape != (n,):
                return None
            out[i] = v.copy()
        else:
            if len(v) != n:
                return None
            text.append(i)
    if text:
        block = np.empty((len(text), n), dtype=object)
        for j, i in enumerate(text):
            block[j] = values[i]
        if not texts_checked and pd.api.types.infer_dtype(block.ravel(), skipna=False) != "string":
            return None  # None / numbers / NaN among the texts: pandas decides their dtype
        for j, i in enumerate(text):
            out[i] = block[j]
    return pd.DataFrame(dict(zip(columns, out, strict=True)), index=pd.RangeIndex(n), copy=False)


def qpcr_table(rows: dict[str, Sequence], *, source_file: str = "", checked: bool = False) -> pd.DataFrame:
    """Build a canonical qPCR table from column lists.

    Parameters
    ----------
    rows : dict
        Must hold ``plate``, ``well``, ``sample``, ``target`` and ``cq``; may hold
        ``task`` (default ``'unknown'``), ``reporter``, ``quantity``, ``cq_raw``,
        ``cq_flag``, ``tm`` and any ``instrument_*`` column (kept, appended).
    source_file : str
        The file the values were read from.
    checked : bool
        The caller guarantees that every text column holds only ``str`` and that no
        plate × well × target repeats (readers check that themselves, to name the line);
        skips those two checks.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`QPCR_COLUMNS` followed by the ``instrument_*`` columns, validated.
    """
    n = len(rows["well"])
    w, w0, r, c = _well_keys(rows["well"])

    def given(name, default):
        x = rows.get(name)
        if x is None:
            return [default] * n
        if isinstance(x, str):
            return [x] * n
        return x

    def floats(name):
        x = rows.get(name)
        if x is None:
            return np.full(n, np.nan)
        return np.array(x, dtype=float)  # a copy: the table owns its arrays

    data = {
        "plate": given("plate", "1"),
        "well": w,
        "well0": w0,
        "row": r,
        "col": np.asarray(c, dtype=np.int64),
        "sample": given("sample", ""),
        "target": given("target", ""),
        "task": given("task", "unknown"),
        "reporter": given("reporter", ""),
        "quantity": floats("quantity"),
        "cq": floats("cq"),
        "cq_raw": given("cq_raw", ""),
        "cq_flag": given("cq_flag", ""),
        "tm": floats("tm"),
        "source_file": [str(source_file)] * n,
    }
    for name in rows:
        if name.startswith("instrument_"):
            col = rows[name]
            if len(col) != n:
                raise SchemaError(
                    f"column '{name}' length differs from well count", expected=str(n), found=str(len(col))
                )
            data[name] = col.copy() if isinstance(col, np.ndarray) else col
    df = _fast_frame(data, n, texts_checked=checked)
    if df is None:  # a column of other types (None, numbers ...): column by column
        df = _qpcr_frame_by_column(data, n)
    if not checked and not _keys_unique(data["plate"], data["well"], data["target"]):
        validate_qpcr_table(df)  # raises naming the repeated key
    # else: the columns, their float types and the unique keys are given by construction
    return df


def _qpcr_frame_by_column(data: dict[str, Sequence], n: int) -> pd.DataFrame:
    """:func:`qpcr_table`'s frame when some text column holds other values: ``plate`` as
    ``str``, ``cq_raw``/``cq_flag`` as text (None → ''), other columns typed by pandas."""
    out: dict[str, Any] = {}
    for name, col in data.items():
        if isinstance(col, np.ndarray) and col.dtype != object:
            out[name] = col
        elif name == "plate":
            out[name] = _str_array(_as_str(list(col)))
        elif name in ("cq_raw", "cq_flag"):
            out[name] = _str_array(_as_text(list(col)))
        elif name in ("well", "well0", "row", "source_file"):
            out[name] = _str_array(list(col))
        else:
            out[name] = _maybe_str_array(list(col))
    return pd.DataFrame(out, copy=False)


def validate_qpcr_table(df: pd.DataFrame, *, where: str | None = None) -> pd.DataFrame:
    """Check that ``df`` is a canonical qPCR table; return it unchanged.

    Raises
    ------
    SchemaError
        Naming the missing column, a wrongly typed one, or a duplicated well × target.
    """
    missing = [c for c in QPCR_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(
            "not a canonical qPCR table",
            file=where,
            expected=f"columns {list(QPCR_COLUMNS)}",
            found=f"columns {list(df.columns)} (missing {missing})",
        )
    for name in ("cq", "quantity", "tm"):
        values = _column(df, name)
        if not pd.api.types.is_float_dtype(values):
            raise SchemaError(f"column '{name}' must be float", file=where, found=str(values.dtype))
    dup = _first_duplicate(df, ["plate", "well", "target"])
    if dup is not None:
        first = df.iloc[dup[0]]
        raise SchemaError(
            "duplicate well × target in qPCR table",
            file=where,
            plate=str(first["plate"]),
            well=str(first["well"]),
            target=str(first["target"]),
            expected="one row per plate × well × target",
            found=f"{dup[1]} rows sharing a key",
        )
    return df


# ----------------------------------------------------------------------------- western blots
#: Columns of the blot ``bands`` table, in order (``docs/schemas.md``, "Blot bands"): one row
#: per image × lane × band. ``x, y, w, h`` are the band box in pixels (origin top-left);
#: ``volume`` is the background-subtracted signal summed over the box (ADU·px, bands
#: positive whatever the polarity); ``background`` is the background summed over the same
#: box (so ``volume + background`` is the raw signal in the box); ``volume_total`` the band's
#: whole volume including the tails outside its box, extrapolated from the fitted peak
#: shape (NaN when no peak was fitted); ``method`` the background method and ``params`` its
#: parameters (``'radius=50;smooth=True'``).
BLOT_BANDS_COLUMNS: tuple[str, ...] = (
    "image",
    "lane",
    "sample",
    "target",
    "band",
    "x",
    "y",
    "w",
    "h",
    "volume",
    "volume_total",
    "background",
    "n_saturated",
    "saturated",
    "status",
    "method",
    "params",
)

#: Values of the ``status`` column of the bands table.
BLOT_BAND_STATUS: dict[str, str] = {
    "ok": "measured",
    "fitted": "overlapping bands: the volume was split between them by fitting peak shapes on the lane profile",
    "saturated": "the box holds saturated pixels (detector maximum, or 0 on light images): the volume is a lower bound",
    "not_positive": "the background-subtracted volume is zero or negative",
    "not_found": "the layout expects this target in this lane but no band was detected (volume NaN)",
    "imported": "read from another program's band table (not measured by assaykit)",
}

_BLOT_INT = ("lane", "band", "n_saturated")
_BLOT_FLOAT = ("x", "y", "w", "h", "volume", "volume_total", "background")
_BLOT_TEXT = ("image", "sample", "target", "status", "method", "params")


def blot_bands_table(data: pd.DataFrame | dict[str, Any]) -> pd.DataFrame:
    """Build a canonical blot ``bands`` table from columns (missing optional ones filled).

    Parameters
    ----------
    data : DataFrame or dict of columns
        At least ``lane``, ``x``, ``y``, ``w``, ``h``, ``volume``. Missing text columns
        become ``''`` (``status``: ``'ok'``), ``band`` counts bands within each lane from
        1, ``background`` is NaN, ``n_saturated`` is 0, ``saturated`` follows
        ``n_saturated > 0``, ``volume_total`` is NaN. Extra columns are kept after the canonical ones.

    Returns
    -------
    pandas.DataFrame
        Columns :data:`BLOT_BANDS_COLUMNS` (then any extra ones), validated.
    """
    df = pd.DataFrame(data).reset_index(drop=True)
    for name in ("lane", "x", "y", "w", "h", "volume"):
        if name not in df.columns:
            raise SchemaError("not a blot bands table", expected=f"column '{name}'", found=f"columns {list(df.columns)}")
    n = len(df)
    if "band" not in df.columns:
        df["band"] = df.groupby("lane", sort=False).cumcount().to_numpy() + 1 if n else np.zeros(0, dtype=np.int64)
    if "n_saturated" not in df.columns:
        df["n_saturated"] = np.zeros(n, dtype=np.int64)
    if "saturated" not in df.columns:
        df["saturated"] = df["n_saturated"].to_numpy() > 0
    for name in ("background", "volume_total"):
        if name not in df.columns:
            df[name] = np.full(n, np.nan)
    for name in _BLOT_TEXT:
        if name not in df.columns:
            df[name] = "ok" if name == "status" else ""
    out = {}
    for name in BLOT_BANDS_COLUMNS:
        col = df[name]
        if name in _BLOT_INT:
            out[name] = col.astype(np.int64)
        elif name in _BLOT_FLOAT:
            out[name] = col.astype(np.float64)
        elif name == "saturated":
            out[name] = col.astype(bool)
        else:
            out[name] = col.astype(object).where(col.notna(), "").astype(str).astype(object)
    extra = {c: df[c] for c in df.columns if c not in BLOT_BANDS_COLUMNS}
    return validate_blot_bands(pd.DataFrame({**out, **extra}))


def validate_blot_bands(df: pd.DataFrame, *, where: str | None = None) -> pd.DataFrame:
    """Check that ``df`` is a canonical blot ``bands`` table; return it unchanged.

    Raises
    ------
    SchemaError
        Naming a missing or wrongly typed column, an unknown status, a NaN volume
        without a ``not_found`` status, or a repeated image × lane × band.
    """
    missing = [c for c in BLOT_BANDS_COLUMNS if c not in df.columns]
    if missing:
        raise SchemaError(
            "not a blot bands table", file=where, expected=f"columns {list(BLOT_BANDS_COLUMNS)}",
            found=f"columns {list(df.columns)} (missing {missing})",
        )
    for name in _BLOT_FLOAT:
        if not pd.api.types.is_float_dtype(df[name]):
            raise SchemaError(f"column '{name}' must be float", file=where, found=str(df[name].dtype))
    for name in _BLOT_INT:
        if not pd.api.types.is_integer_dtype(df[name]):
            raise SchemaError(f"column '{name}' must be integer", file=where, found=str(df[name].dtype))
    if not pd.api.types.is_bool_dtype(df["saturated"]):
        raise SchemaError("column 'saturated' must be boolean", file=where, found=str(df["saturated"].dtype))
    bad = ~df["status"].isin(list(BLOT_BAND_STATUS))
    if bad.any():
        i = int(np.flatnonzero(bad.to_numpy())[0])
        raise SchemaError(
            "unknown band status", file=where, lane=int(df["lane"].iloc[i]),
            expected="one of: " + ", ".join(BLOT_BAND_STATUS), found=repr(df["status"].iloc[i]),
        )
    silent = df["volume"].isna() & (df["status"] != "not_found")
    if silent.any():
        i = int(np.flatnonzero(silent.to_numpy())[0])
        raise SchemaError(
            "NaN volume without status 'not_found'", file=where, lane=int(df["lane"].iloc[i]),
            band=int(df["band"].iloc[i]), found=f"status {df['status'].iloc[i]!r}",
        )
    dup = _first_duplicate(df, ["image", "lane", "band"])
    if dup is not None:
        first = df.iloc[dup[0]]
        raise SchemaError(
            "duplicate image × lane × band in bands table", file=where, lane=int(first["lane"]),
            band=int(first["band"]), expected="one row per image × lane × band", found=f"{dup[1]} rows sharing a key",
        )
    return df

__all__ += ["BLOT_BANDS_COLUMNS", "BLOT_BAND_STATUS", "blot_bands_table", "validate_blot_bands"]
