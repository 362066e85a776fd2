"""Helpers shared by the Thermo Fisher / Applied Biosystems qPCR readers.

QuantStudio (.txt/.xlsx), Design & Analysis (.xlsx), StepOnePlus (.xls) and SDS 2.x
exports all hold one *results table*: a header row naming the columns, then one row per
well × target. Only the column names differ between software versions ('CT', 'Cq', 'CRT',
the Cyrillic 'Cт', 'Sample Name' / 'Sample', 'Target Name' / 'Target' / 'Detector' ...).
:func:`build_table` turns such a table, whatever its origin (text lines or worksheet
rows), into the canonical qPCR table.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import compress, zip_longest
from typing import Any

import numpy as np
import pandas as pd

from assaykit.errors import ReaderError, SchemaError
from assaykit.io._cells import ExportMetadata, cell_text
from assaykit.io._cells import parse_number as _parse_number
from assaykit.io._source import Source
from assaykit.schema import join_flags, parse_well, plate_dims, qpcr_table, row_letter

__all__ = [
    "CQ_HEADERS",
    "INSTRUMENT_COLUMNS",
    "ExportMetadata",
    "RawTable",
    "build_table",
    "cell_text",
    "map_task",
    "normalize_header",
    "parse_number",
    "parse_numbers",
    "sheet_header",
    "sheet_rows",
    "sheet_table",
    "texts",
]

#: Instrument-computed numbers kept as ``instrument_*`` columns (always present, NaN
#: when the export does not carry them). Keys are normalised header names.
_INSTRUMENT_ALIASES: dict[str, str] = {
    "ct mean": "instrument_cq_mean",
    "cq mean": "instrument_cq_mean",
    "crt mean": "instrument_cq_mean",
    "ct avg": "instrument_cq_mean",
    "ct sd": "instrument_cq_sd",
    "cq sd": "instrument_cq_sd",
    "crt sd": "instrument_cq_sd",
    "cq se": "instrument_cq_se",
    "delta ct": "instrument_delta_cq",
    "delta crt": "instrument_delta_cq",
    "delta cq": "instrument_delta_cq",
    "delta ct mean": "instrument_delta_cq_mean",
    "delta crt mean": "instrument_delta_cq_mean",
    "delta cq mean": "instrument_delta_cq_mean",
    "avg delta ct": "instrument_delta_cq_mean",
    "delta ct se": "instrument_delta_cq_se",
    "delta crt se": "instrument_delta_cq_se",
    "delta cq se": "instrument_delta_cq_se",
    "?ct se": "instrument_delta_cq_se",  # SDS 2.3: 'ΔCt SE' written through a lossy code page
    "delta ct sd": "instrument_delta_cq_sd",
    "delta delta ct": "instrument_delta_delta_cq",
    "delta delta crt": "instrument_delta_delta_cq",
    "delta delta cq": "instrument_delta_delta_cq",
    "delta delta ct sd": "instrument_delta_delta_cq_sd",
    "hk control delta ct mean": "instrument_hk_delta_cq_mean",
    "hk control delta ct se": "instrument_hk_delta_cq_se",
    "endo ct avg": "instrument_endo_cq_mean",
    "endo ct sd": "instrument_endo_cq_sd",
    "rq": "instrument_rq",
    "rq min": "instrument_rq_min",
    "rq max": "instrument_rq_max",
    "quantity mean": "instrument_quantity_mean",
    "quantity sd": "instrument_quantity_sd",
    "efficiency": "instrument_efficiency",
    "slope": "instrument_slope",
    "y-intercept": "instrument_y_intercept",
    "r(superscript 2)": "instrument_r2",
    "r2": "instrument_r2",
    "r superscript 2": "instrument_r2",
    "ct threshold": "instrument_threshold",
    "crt threshold": "instrument_threshold",
    "threshold": "instrument_threshold",
    "baseline start": "instrument_baseline_start",
    "baseline end": "instrument_baseline_end",
    "baseline stop": "instrument_baseline_end",
    "amp score": "instrument_amp_score",
    "cq conf": "instrument_cq_conf",
    "cq confidence": "instrument_cq_conf",
    "delta rn": "instrument_delta_rn",
    "tm2": "instrument_tm2",
    "tm3": "instrument_tm3",
}

#: Every ``instrument_*`` float column the Thermo readers may return, in output order
#: (a table holds those whose source column is in the export).
INSTRUMENT_COLUMNS: tuple[str, ...] = (
    "instrument_quantity",
    "instrument_quantity_mean",
    "instrument_quantity_sd",
    "instrument_cq_mean",
    "instrument_cq_sd",
    "instrument_cq_se",
    "instrument_delta_cq",
    "instrument_delta_cq_mean",
    "instrument_delta_cq_sd",
    "instrument_delta_cq_se",
    "instrument_hk_delta_cq_mean",
    "instrument_hk_delta_cq_se",
    "instrument_endo_cq_mean",
    "instrument_endo_cq_sd",
    "instrument_delta_delta_cq",
    "instrument_delta_delta_cq_sd",
    "instrument_rq",
    "instrument_rq_min",
    "instrument_rq_max",
    "instrument_efficiency",
    "instrument_slope",
    "instrument_y_intercept",
    "instrument_r2",
    "instrument_threshold",
    "instrument_baseline_start",
    "instrument_baseline_end",
    "instrument_amp_score",
    "instrument_cq_conf",
    "instrument_delta_rn",
    "instrument_tm2",
    "instrument_tm3",
)

# Canonical roles of columns (normalised header -> role).
_ROLES: dict[str, str] = {
    "well": "well",
    "#": "well",
    "well position": "well_position",
    "pos": "well_position",
    "sample name": "sample",
    "sample": "sample",
    "target name": "target",
    "target": "target",
    "detector": "target",
    "detector name": "target",
    "task": "task",
    "reporter": "reporter",
    "quantity": "quantity",
    "ct": "cq",
    "cq": "cq",
    "crt": "cq",
    "omit": "omit",
    "tm1": "tm",
    "tm": "tm",
    "amp status": "amp_status",
    "flag": "sds_flag",
    "plate": "plate",
    "plateid": "plate",
    "plate id": "plate",
    "filename": "embedded_file",
    "result quality issues": "quality_issues",
    "outlier": "outlier",
}

#: Header names recognised as the Cq column.
CQ_HEADERS = frozenset(k for k, v in _ROLES.items() if v == "cq")

# Upper-case column names that are data, not instrument QC flags.
_NOT_FLAGS = frozenset(
    {"CT", "CRT", "CQ", "RQ", "NTC", "ROX", "FAM", "VIC", "SYBR", "NED", "TAMRA", "ID"}
)
_FLAG_HEADER_RE = re.compile(r"^[A-Z][A-Z0-9]{1,11}$")
_TRUE_TEXT = frozenset({"y", "yes", "true", "1"})

_TASKS: dict[str, str] = {
    "unknown": "unknown",
    "unkn": "unknown",
    "sample": "unknown",
    "target": "unknown",  # SDS: the well measures a target gene in an unknown sample
    "endogenous control": "unknown",  # SDS: the well measures a reference gene
    "": "unknown",
    "standard": "standard",
    "std": "standard",
    "ntc": "ntc",
    "no template control": "ntc",
    "nrt": "nrt",
    "nac": "nrt",
    "no rt": "nrt",
    "-rt": "nrt",
    "no rt control": "nrt",
    "blank": "blank",
}

_UNDETERMINED = frozenset({"undetermined", "no ct", "no cq", "n/a", "na", "nan", "none"})


def normalize_header(name: Any) -> str:
    """Normalise a column header for matching.

    Lower-cases, maps the Cyrillic 'т' (U+0442) used by Thermo in 'Cт' to 't',
    spells 'Δ' as 'delta ', and collapses white space.

    Examples
    --------
    >>> normalize_header(" ΔΔCт ")
    'delta delta ct'
    >>> normalize_header("Delta  Crt Mean")
    'delta crt mean'
    """
    if type(name) is str:
        norm = _NORMALIZED.get(name)
        if norm is not None:
            return norm
    text = cell_text(name, strip=True).replace("\u0442", "t").replace("\u0422", "T")
    text = text.replace("\u0394", "delta ").replace("\u2206", "delta ")
    norm = " ".join(text.lower().split())
    if type(name) is str:
        if len(_NORMALIZED) > 20_000:
            _NORMALIZED.clear()
        _NORMALIZED[name] = norm
    return norm


_NORMALIZED: dict[str, str] = {}  # header text -> normalize_header(text) (headers repeat)


def parse_number(value: Any) -> float | None:
    """Parse a number as exported by Thermo software, or return None.

    :func:`assaykit.io._cells.parse_number` with thousands separators: accepts
    worksheet numbers, decimal text with thousands separators ('5,720.562' → 5720.562)
    and scientific notation. Booleans, empty cells and any other text return None.

    Examples
    --------
    >>> parse_number("36,431.130")
    36431.13
    >>> parse_number("Undetermined") is None
    True
    """
    return _parse_number(value, thousands=True)


_STR_ONLY = {str}
_EMPTY_TEXT = frozenset({""})


def texts(values: Sequence[Any]) -> list[str]:
    """:func:`cell_text` of every cell (fast for columns of text)."""
    if set(map(type, values)) == _STR_ONLY:
        return list(map(str.strip, values))
    return [cell_text(v, strip=True) for v in values]


def _stripped(values: Sequence[str]) -> list[str]:
    """:func:`texts` of cells known to be ``str``."""
    return list(map(str.strip, values))


def _fast_number(v: Any) -> float:
    t = type(v)
    if t is float or t is int:
        x = float(v)
    elif t is str:
        if not v or v.isspace():
            return math.nan
        if "_" in v or "," in v:
            raise ValueError(v)
        x = float(v)
    else:
        raise ValueError(v)
    if not math.isfinite(x):
        raise ValueError(v)
    return x


def _text_number(v: str) -> float:
    """:func:`parse_number` of a text cell, NaN for None (float() first: most cells are numbers)."""
    if not v:
        return math.nan
    try:
        x = float(v)  # strips the same white space as str.strip()
    except ValueError:
        if "," not in v:  # parse_number: not a number
            return math.nan
        p = parse_number(v)  # '5,720.562'
        return math.nan if p is None else p
    if x - x != 0 or "_" in v:  # inf / nan, or '1_000' (not an exported number)
        return math.nan
    return x


# Texts that are not numbers and common in number columns (each gives NaN).
_NOT_NUMBERS = frozenset({"", "Undetermined", "UNDETERMINED", "undetermined", "N/A", "NaN", "nan", "-"})


def _str_numbers(values: Sequence[str]) -> np.ndarray:
    """``[_text_number(v) for v in values]`` as a float array.

    One C ``float()`` pass when every cell is a plain number; else each distinct text is
    parsed once ('', 'Undetermined', '5,720.5' and means repeated over replicates) and
    the cells are looked up in that memo.
    """
    n = len(values)
    arr = None
    if "" not in values and "Undetermined" not in values:
        try:
            arr = np.fromiter(map(float, values), dtype=float, count=n)
        except ValueError:
            pass
    if arr is None:  # texts float() rejects: parse each distinct one once
        distinct = set(values)
        odd = distinct.intersection(_NOT_NUMBERS)
        if odd:
            distinct.difference_update(odd)
        try:
            memo = dict(zip(distinct, map(float, distinct), strict=True))
        except ValueError:
            memo = {}
            for v in distinct:
                try:
                    memo[v] = float(v)
                except ValueError:
                    memo[v] = _text_number(v)
        for v in odd:
            memo[v] = _text_number(v)
        arr = np.fromiter(map(memo.__getitem__, values), dtype=float, count=n)
    if "_" in "".join(values):  # float() accepts '1_000', an exported number does not
        return np.array([_text_number(v) for v in values], dtype=float)
    finite = np.isfinite(arr)
    if not finite.all():  # 'nan', 'inf', '1e400': NaN
        arr[~finite] = math.nan
    return arr


def parse_numbers(values: Sequence[Any], *, text: bool = False) -> np.ndarray:
    """Vectorised :func:`parse_number`: a float array, NaN where a cell is not a number.

    ``text=True`` says that every cell is a ``str`` (skips the type checks).
    """
    if not any(values) and (text or set(values) <= _EMPTY_TEXT):  # an empty column
        return np.full(len(values), math.nan)
    if text or set(map(type, values)) == _STR_ONLY:
        return _str_numbers(values)
    try:
        return np.fromiter((_fast_number(v) for v in values), dtype=float, count=len(values))
    except (ValueError, TypeError):
        out = [parse_number(v) for v in values]
        return np.asarray([math.nan if x is None else x for x in out], dtype=float)


def _truthy(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    return cell_text(value, strip=True).lower() in _TRUE_TEXT


def map_task(text: str) -> str:
    """Map an exported task name to the canonical lower-case task.

    UNKNOWN → 'unknown', STANDARD → 'standard', NTC → 'ntc', NRT/NAC → 'nrt',
    SDS 'Target'/'Endogenous Control' → 'unknown'; any other name is kept lower-case
    with spaces as underscores.
    """
    key = " ".join(text.lower().split())
    if key in _TASKS:
        return _TASKS[key]
    return key.replace(" ", "_")


@dataclass
class RawTable:
    """A results table cut out of an export, before interpretation.

    Attributes
    ----------
    header : list
        The header cells.
    rows : list of list
        The data rows (cells as text or worksheet values).
    locations : list of int
        1-based line (text) or row (worksheet) number of every data row.
    header_location : int
        Line / row number of the header.
    sheet : str or None
        Worksheet name (None for text files).
    metadata : dict
        Key–value pairs found around the table (``* Key = Value`` lines, footer lines).
    text : bool
        Every cell is a ``str`` (rows split from text lines): cells need no type checks.
    """

    header: list[Any]
    rows: list[list[Any]]
    locations: list[int]
    header_location: int
    sheet: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    text: bool = False


def _where(src: Source, table: RawTable, loc: int) -> dict[str, Any]:
    if table.sheet is not None:
        return {"sheet": table.sheet, "line": loc}
    return {"line": loc}


_WELL_RE = re.compile(r"^\s*([A-Za-z]{1,2})\s*0*(\d{1,3})\s*$")  # as schema.parse_well


_CANONICAL_WELLS: dict[str, str] = {}  # well text -> 'A1' (well spellings are few)


def _canonical_well(text: str) -> str:
    try:
        return _CANONICAL_WELLS[text]
    except (KeyError, TypeError):
        pass
    m = _WELL_RE.match(text)
    if m is None or int(m.group(2)) < 1:
        r, c = parse_well(text)  # raises SchemaError with the schema's message
        return f"{r}{c}"
    out = f"{m.group(1).upper()}{int(m.group(2))}"
    if type(text) is str:
        if len(_CANONICAL_WELLS) > 50_000:
            _CANONICAL_WELLS.clear()
        _CANONICAL_WELLS[text] = out
    return out


def _plate_size(max_index: int) -> int:
    for size in (96, 384, 1536):
        if max_index <= size:
            return size
    return 1536


def _well_from_index(index: int, size: int) -> str:
    n_cols = plate_dims(size)[1]
    return f"{row_letter((index - 1) // n_cols)}{(index - 1) % n_cols + 1}"


def _block_size(metadata: dict[str, str]) -> int | None:
    block = metadata.get("Block Type", "")
    for size in (1536, 384, 96, 48, 24):
        if f"{size}-Well" in block or f"{size}well" in block.replace(" ", "").lower():
            return size
    return None


def build_table(
    src: Source,
    table: RawTable,
    *,
    default_plate: str = "1",
    standards_quantity_in_sample: bool = False,
    keep_instrument_task: bool = False,
    setup: RawTable | None = None,
) -> pd.DataFrame:
    """Interpret a Thermo results table as the canonical qPCR table.

    Parameters
    ----------
    src : Source
        The export (for error locations and ``source_file``).
    table : RawTable
        Header, rows and their locations.
    default_plate : str
        Plate name when no Plate/PlateID/Filename column names one.
    standards_quantity_in_sample : bool
        Design & Analysis: a standard's quantity is written as its sample name.
    keep_instrument_task : bool
        Add an ``instrument_task`` column with the task as exported (SDS 'Target' /
        'Endogenous Control').
    setup : RawTable, optional
        The Sample Setup table. A well × target set up there but absent from the results
        is added with ``cq`` NaN and ``cq_flag`` 'no_result' (no input well is dropped).

    Returns
    -------
    pandas.DataFrame
        The canonical qPCR table, then the :data:`INSTRUMENT_COLUMNS` the export carries.

    Raises
    ------
    ReaderError
        Missing well/target/Cq column, a bad well name, or a well × target twice.
    """
    roles, instrument, flag_cols = _column_roles(table)
    _check_columns(src, table, roles)
    rows = table.rows
    # Cells column by column (rows may be shorter than the header: missing cells are '').
    columns = list(zip_longest(*rows, fillvalue="")) if rows else []
    all_text = table.text  # every cell a str
    cells_text = _stripped if all_text else texts
    blank = ("",) * len(rows)

    def col(role_index: int | None) -> Sequence[Any]:
        if role_index is None or role_index >= len(columns):
            return blank
        return columns[role_index]

    wells, canon = _table_wells(src, table, roles, col, cells_text)
    # ---- plates
    if "plate" in roles or "embedded_file" in roles:
        plate_vals = cells_text(col(roles.get("plate")))
        if all(plate_vals):  # every row names its plate
            plates = plate_vals
        else:
            file_vals = cells_text(col(roles.get("embedded_file")))
            plates = [p or f or default_plate for p, f in zip(plate_vals, file_vals, strict=True)]
    else:
        plates = [default_plate] * len(rows)

    targets = cells_text(col(roles["target"]))
    samples = cells_text(col(roles.get("sample")))
    task_raw = cells_text(col(roles.get("task")))
    task_map = {t: map_task(t) for t in set(task_raw)}
    tasks = list(map(task_map.__getitem__, task_raw))
    reporters = cells_text(col(roles.get("reporter")))

    # ---- Cq and its flags; every number column (Cq, quantity, Tm, instrument_*) parsed in one pass
    extra = _flags_from_columns(col, all_text, roles, flag_cols)
    inst_names = [name for name in INSTRUMENT_COLUMNS if name in instrument]
    numbers = [
        parse_numbers(col(i), text=all_text)
        for i in [roles["cq"], roles.get("quantity"), roles.get("tm")] + [instrument[name] for name in inst_names]
    ]
    inst_numbers = dict(zip(inst_names, numbers[3:], strict=True))
    cq_arr = numbers[0]
    cq = cq_arr.tolist()
    cq_raw = cells_text(col(roles["cq"]))
    cq_flag = _cq_flags(cq_arr, cq_raw, extra)

    # ---- quantity (given for standards; the instrument's estimate otherwise)
    qty = numbers[1]
    if "standard" in task_map.values():
        is_std = np.fromiter((t == "standard" for t in tasks), dtype=bool, count=len(tasks))
    else:
        is_std = np.zeros(len(tasks), dtype=bool)
    if standards_quantity_in_sample:
        for k in np.flatnonzero(is_std & np.isnan(qty)):
            q = parse_number(samples[k])
            qty[k] = np.nan if q is None else q
    quantity = np.where(is_std, qty, np.nan).tolist()
    inst_quantity = np.where(is_std, np.nan, qty).tolist()
    tm = numbers[2]

    seen_keys = _check_unique_keys(src, table, list(zip(plates, canon, targets, strict=True)))
    data: dict[str, Sequence[Any]] = {
        "plate": plates,
        "well": wells,
        "sample": samples,
        "target": targets,
        "task": tasks,
        "reporter": reporters,
        "quantity": quantity,
        "cq": cq,
        "cq_raw": cq_raw,
        "cq_flag": cq_flag,
        "tm": tm,
    }
    n_extra = 0
    if setup is not None:  # wells set up but without a result row
        plate = plates[0] if plates else default_plate
        n_extra = _add_setup_rows(src, setup, data, task_raw, inst_quantity, seen_keys, plate)
        if n_extra:
            data["tm"] = np.concatenate([tm, np.full(n_extra, np.nan)])

    def padded(values: np.ndarray) -> np.ndarray:
        return np.concatenate([values, np.full(n_extra, np.nan)]) if n_extra else values

    inst: dict[str, Any] = {}
    for name in INSTRUMENT_COLUMNS:  # only the columns the export carries, in a fixed order
        if name == "instrument_quantity":
            if "quantity" in roles:
                inst[name] = np.asarray(inst_quantity, dtype=float)
        elif name in instrument:
            inst[name] = padded(inst_numbers[name])
    if keep_instrument_task:
        inst["instrument_task"] = task_raw
    # qpcr_table appends the instrument_* columns in this order: one DataFrame built once
    data.update(inst)
    df = qpcr_table(data, source_file=src.name, checked=True)  # str cells, keys checked above
    df.attrs["metadata"] = ExportMetadata(table.metadata)
    return df


def _column_roles(table: RawTable) -> tuple[dict[str, int], dict[str, int], list[tuple[str, int]]]:
    """Columns of a results table: by role (well, target, cq ...), the instrument's numbers
    (``instrument_*``) and the flag columns (short upper-case headers such as ``NOAMP``)."""
    roles: dict[str, int] = {}
    instrument: dict[str, int] = {}
    flag_cols: list[tuple[str, int]] = []
    for i, name in enumerate(table.header):
        key = normalize_header(name)
        if not key:
            continue
        role = _ROLES.get(key)
        if role is not None and role not in roles:
            roles[role] = i
            continue
        inst = _INSTRUMENT_ALIASES.get(key)
        if inst is not None and inst not in instrument:
            instrument[inst] = i
            continue
        raw = cell_text(name, strip=True)
        if _FLAG_HEADER_RE.match(raw) and raw not in _NOT_FLAGS:
            flag_cols.append((raw.lower(), i))
    return roles, instrument, flag_cols


def _check_columns(src: Source, table: RawTable, roles: dict[str, int]) -> None:
    """Raise when the Cq, target or well column is missing, or a row is longer than the header."""
    where_header = _where(src, table, table.header_location)

    def header_text() -> str:  # for the error messages only
        return repr([cell_text(h, strip=True) for h in table.header if cell_text(h, strip=True)][:12])

    if "cq" not in roles:
        raise src.error(
            "no Cq column in the results table",
            **where_header,
            expected="a column named CT, Cq, Cт or CRT",
            found=f"columns {header_text()}",
        )
    if "target" not in roles:
        raise src.error(
            "no target column in the results table",
            **where_header,
            expected="a column named 'Target Name', 'Target' or 'Detector'",
            found=f"columns {header_text()}",
        )
    if "well" not in roles and "well_position" not in roles:
        raise src.error(
            "no well column in the results table",
            **where_header,
            expected="a column named 'Well' or 'Well Position'",
            found=f"columns {header_text()}",
        )
    n_cells = len(table.header)
    rows = table.rows
    # Pad short rows; a long row must only carry empty cells beyond the header.
    long_rows = rows and max(map(len, rows)) > n_cells
    for r, loc in zip(rows, table.locations, strict=True) if long_rows else ():
        if len(r) > n_cells and any(cell_text(c, strip=True) for c in r[n_cells:]):
            raise src.error(
                "row has more cells than the header",
                **_where(src, table, loc),
                expected=f"at most {n_cells} cells",
                found=f"{len(r)} cells",
            )


def _table_wells(src: Source, table: RawTable, roles: dict[str, int], col, cells_text) -> tuple[list[str], list[str]]:
    """The wells as exported and their canonical names ('A1'), from a 'Well Position'
    column or from well numbers ('Well' 1..384)."""
    wells: list[str] = []
    canon: list[str] = []  # canonical 'A1' of every row
    if "well_position" in roles:
        well_texts = cells_text(col(roles["well_position"]))
        try:  # the usual case: every well valid (the loop below says where one is not)
            canon = list(map(_CANONICAL_WELLS.get, well_texts))  # spellings seen before
            if None in canon:
                canon = list(map(_canonical_well, well_texts))
            wells = well_texts
            bad_well = False
        except SchemaError:
            bad_well = True
        for text, loc in zip(well_texts, table.locations, strict=True) if bad_well else ():
            try:
                canon.append(_canonical_well(text))
            except SchemaError:
                raise src.error(
                    "not a well position",
                    **_where(src, table, loc),
                    expected="a well like 'A1' or 'P24'",
                    found=repr(text),
                ) from None
            wells.append(text)
        return wells, canon
    raw_wells = col(roles["well"])
    indices: list[int | None] = []
    for v in raw_wells:
        num = parse_number(v)
        indices.append(int(num) if num is not None and num.is_integer() and num >= 1 else None)
    if all(i is not None for i in indices):
        size = _block_size(table.metadata) or (_plate_size(max(indices)) if indices else 96)
        for i, loc in zip(indices, table.locations, strict=True):
            if i > size:
                raise src.error(
                    "well number outside the plate",
                    **_where(src, table, loc),
                    expected=f"1..{size}",
                    found=str(i),
                )
            wells.append(_well_from_index(i, size))
        return wells, wells
    for text, loc in zip(texts(raw_wells), table.locations, strict=True):
        try:
            canon.append(_canonical_well(text))
        except SchemaError:
            raise src.error(
                "not a well",
                **_where(src, table, loc),
                expected="a well like 'A1' or a well number",
                found=repr(text),
            ) from None
        wells.append(text)
    return wells, canon


def _amp_flag(v):
    text = cell_text(v, strip=True).lower()
    return text.replace(" ", "_") if text and text != "amp" else None


def _issue_flags(v):
    parts = ("_".join(p.strip().lower().split()) for p in re.split(r"[,;|]", cell_text(v, strip=True)))
    return [p for p in parts if p]


def _flags_from_columns(col, all_text: bool, roles: dict[str, int], flag_cols) -> dict[int, list[str]]:
    """Flags from the omit / amp status / outlier / quality / flag columns, by row index
    (collected column by column: most cells are empty)."""
    extra: dict[int, list[str]] = {}

    def add_flags(index: int | None, test) -> None:
        if index is None:
            return
        values = col(index)
        if all_text:
            if not any(values):  # an empty column: no flags
                return
        elif values.count("") == len(values):  # an empty column (a tuple of cells): no flags
            return
        if all_text or set(map(type, values)) <= _STR_ONLY:
            # text cells: test each distinct text once, then visit only the flagged rows
            hits = {}
            for v in set(values):
                if v:
                    flag = test(v)
                    if flag:
                        hits[v] = flag if isinstance(flag, list) else [flag]
            # only the flagged rows are visited in Python
            for k in compress(range(len(values)), map(hits.__contains__, values)) if hits else ():
                extra.setdefault(k, []).extend(hits[values[k]])
            return
        for k, v in enumerate(values):
            if v == "" or v is None:
                continue
            flag = test(v)
            if flag:
                extra.setdefault(k, []).extend(flag if isinstance(flag, list) else [flag])

    add_flags(roles.get("omit"), lambda v: "omitted" if _truthy(v) else None)
    add_flags(roles.get("amp_status"), _amp_flag)
    add_flags(
        roles.get("sds_flag"),
        lambda v: "flagged" if cell_text(v, strip=True).lower() == "flagged" else None,
    )
    add_flags(roles.get("outlier"), lambda v: "outlier" if _truthy(v) else None)
    add_flags(roles.get("quality_issues"), _issue_flags)
    for name, i in flag_cols:
        add_flags(i, lambda v, name=name: name if _truthy(v) else None)
    return extra


def _cq_flags(cq_arr: np.ndarray, cq_raw: list[str], extra: dict[int, list[str]]) -> list[str]:
    """``cq_flag`` of every row: why a Cq is NaN, joined with the flags of other columns."""
    cq_flag = [""] * len(cq_raw)
    for k in np.flatnonzero(np.isnan(cq_arr)).tolist():  # NaN: say why
        text = cq_raw[k]
        if not text:
            cq_flag[k] = "empty"
        elif text.lower() in _UNDETERMINED:
            cq_flag[k] = "undetermined"
        else:
            cq_flag[k] = "not_numeric"
    joined: dict[tuple[str, ...], str] = {}  # flagged rows share few combinations
    for k, more in extra.items():
        key = (cq_flag[k], *more)
        flag = joined.get(key)
        if flag is None:
            flag = joined[key] = join_flags(*key)
        cq_flag[k] = flag
    return cq_flag


def _check_unique_keys(src: Source, table: RawTable, keys: list[tuple[str, str, str]]) -> set:
    """The set of plate × well × target keys; raises at the second row of a repeated key."""
    seen_keys = set(keys)
    # key -> location of its first row (zip in reverse so that the first row wins)
    seen = {} if len(seen_keys) == len(keys) else dict(zip(reversed(keys), reversed(table.locations), strict=True))
    for k, key in enumerate(keys if seen else ()):
        if seen[key] != table.locations[k]:  # a later row with the same key
            first = seen[key]
            raise src.error(
                "well × target appears twice",
                **_where(src, table, table.locations[k]),
                well=key[1],
                target=key[2],
                expected="one row per well and target",
                found=f"a second row (first at {'row' if table.sheet else 'line'} {first})",
            )
    return seen_keys


def _add_setup_rows(
    src: Source, setup: RawTable, data: dict, task_raw: list[str], inst_quantity: list[float], seen_keys: set,
    plate: str,
) -> int:
    """Append to ``data`` the wells × targets set up but without a result row (``cq`` NaN,
    ``cq_flag`` 'no_result'); returns how many."""
    n_extra = 0
    known = set(zip(data["well"], data["target"], strict=True))
    for _loc, w, smp, tgt, traw, rep, qty in _setup_rows(src, setup, known):
        key = (plate, _canonical_well(w), tgt)
        if key in seen_keys:
            continue
        seen_keys.add(key)
        n_extra += 1
        task = map_task(traw)
        for name, value in (("plate", plate), ("well", w), ("sample", smp), ("target", tgt), ("task", task),
                            ("reporter", rep), ("quantity", qty if task == "standard" else np.nan),
                            ("cq", np.nan), ("cq_raw", ""), ("cq_flag", "no_result")):  # fmt: skip
            data[name].append(value)
        task_raw.append(traw)
        inst_quantity.append(np.nan)
    return n_extra


def _setup_rows(
    src: Source, setup: RawTable, known: set[tuple[str, str]] = frozenset()
) -> list[tuple[int, str, str, str, str, str, float]]:
    """Wells with a target in a Sample Setup table: (location, well, sample, target, task,
    reporter, quantity). Empty wells, and (well, target) pairs spelled exactly as one of
    ``known`` (the results rows), are skipped; a setup without well/target columns gives []."""
    roles: dict[str, int] = {}
    for i, name in enumerate(setup.header):
        role = _ROLES.get(normalize_header(name))
        if role is not None and role not in roles:
            roles[role] = i
    i_well = roles.get("well_position", roles.get("well"))
    i_target = roles.get("target")
    if i_well is None or i_target is None:
        return []
    out = []

    def cell(r: list[Any], role: str) -> Any:
        i = roles.get(role)
        return r[i] if i is not None and i < len(r) else ""

    for r, loc in zip(setup.rows, setup.locations, strict=True):
        target = cell_text(r[i_target], strip=True) if i_target < len(r) else ""
        if not target:
            continue
        well = cell_text(r[i_well], strip=True) if i_well < len(r) else ""
        if (well, target) in known:
            continue
        try:
            _canonical_well(well)
        except SchemaError:
            raise src.error(
                "not a well position in the sample setup",
                **_where(src, setup, loc),
                expected="a well like 'A1' or 'P24'",
                found=repr(well),
            ) from None
        qty = parse_number(cell(r, "quantity"))
        out.append(
            (
                loc,
                well,
                cell_text(cell(r, "sample"), strip=True),
                target,
                cell_text(cell(r, "task"), strip=True),
                cell_text(cell(r, "reporter"), strip=True),
                np.nan if qty is None else qty,
            )
        )
    return out


def sheet_rows(src: Source, sheet: str) -> list[list[Any]]:
    """``src.sheet(sheet)``, with calamine panics on corrupt data turned into ReaderError."""
    try:
        return src.sheet(sheet)
    except ReaderError:
        raise
    except BaseException as exc:  # pyo3 PanicException derives from BaseException
        if isinstance(exc, KeyboardInterrupt | SystemExit):
            raise
        raise src.error("cannot read sheet", sheet=sheet, found=str(exc)[:200]) from None


def sheet_table(src: Source, sheet: str, *, require_cq: bool = True) -> RawTable:
    """Cut the results table out of a worksheet.

    The header is the first row whose first cell is 'Well' (or 'Well Position') and that
    names a Cq column; rows above it are ``key, value`` metadata. Data rows run to the
    first empty row; ``key, value`` rows after it are footer metadata (Endogenous
    Control, Reference Sample ...).

    Raises
    ------
    ReaderError
        When no header row is found or the table has no rows.
    """
    rows = sheet_rows(src, sheet)
    metadata: dict[str, str] = {}
    header_at = None
    for i, r in enumerate(rows):
        first = normalize_header(r[0]) if r else ""
        if first in ("well", "well position", "#") and (
            not require_cq or any(normalize_header(c) in CQ_HEADERS for c in r)
        ):
            header_at = i
            break
        if r and cell_text(r[0], strip=True):
            metadata[cell_text(r[0], strip=True)] = cell_text(r[1], strip=True) if len(r) > 1 else ""
    if header_at is None:
        first = next((cell_text(r[0], strip=True) for r in rows if r and cell_text(r[0], strip=True)), "")
        raise src.error(
            "no results header row",
            sheet=sheet,
            expected="a row starting with 'Well' that names a Cq/CT column",
            found=f"{len(rows)} rows, first cell {first[:60]!r}" if rows else "an empty sheet",
        )
    header = list(rows[header_at])
    while header and not cell_text(header[-1], strip=True):
        header.pop()
    data: list[list[Any]] = []
    locs: list[int] = []
    i = header_at + 1
    while i < len(rows) and any(cell_text(c, strip=True) for c in rows[i]):
        data.append(list(rows[i]))
        locs.append(i + 1)
        i += 1
    for r in rows[i:]:
        if r and cell_text(r[0], strip=True):
            metadata[cell_text(r[0], strip=True)] = cell_text(r[1], strip=True) if len(r) > 1 else ""
    if not data:
        raise src.error(
            "results table has no rows",
            sheet=sheet,
            line=header_at + 1,
            expected="one row per well below the header",
            found="an empty row",
        )
    return RawTable(header, data, locs, header_at + 1, sheet=sheet, metadata=metadata)


def sheet_header(src: Source, sheet: str, max_rows: int = 80) -> list[str]:
    """Normalised cells of the results header row of ``sheet`` (``[]`` if none)."""
    try:
        rows = sheet_rows(src, sheet)
    except ReaderError:
        return []
    for r in rows[:max_rows]:
        first = normalize_header(r[0]) if r else ""
        if first in ("well", "well position", "#"):
            cells = [normalize_header(c) for c in r]
            if any(c in CQ_HEADERS for c in cells):
                return cells
    return []
