"""Reader of Bio-Rad CFX Maestro / CFX Manager "Quantification Cq Results" CSV exports.

Format (see ``docs/formats/cfx.md``): optional ``key,value`` metadata lines (CFX Manager
3.x), one header line, usually with a leading empty column
(``,Well,Fluor,Target,Content,Sample,Biological Set Name,Cq,Cq Mean,...``), then one
line per well × fluorophore. Missing Cq is written ``NaN`` (CFX Maestro) or ``N/A``
(older CFX Manager); when every replicate of a group lacks a Cq the software writes
``Cq Mean = 0`` and ``Cq Std. Dev = 0``, which are read as NaN here.
"""

from __future__ import annotations

import csv
import math
import re

import numpy as np
import pandas as pd

from assaykit.errors import SchemaError
from assaykit.io._cells import parse_number
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.schema import parse_well, qpcr_table

__all__ = ["read_cfx", "cfx_task"]

_SEPARATORS = (",", ";", "\t")
_REQUIRED = ("Well", "Cq")
_MISSING = {"nan", "n/a", "na", "none"}
# common spellings of missing cells (stripped) -> a text float() reads as NaN
_MISSING_AS_NAN = {t: "nan" for t in ("", "N/A", "n/a", "NA", "na", "None", "none")}

#: CFX "Content" (without its replicate suffix) → canonical task.
_CONTENT_TASKS = {
    "unkn": "unknown",
    "unknown": "unknown",
    "std": "standard",
    "standard": "standard",
    "ntc": "ntc",
    "nrt": "nrt",
    "neg ctrl": "negative_control",
    "pos ctrl": "positive_control",
    "blank": "blank",
}
_CONTENT_RE = re.compile(r"^\s*(unkn|unknown|std|standard|ntc|nrt|neg ctrl|pos ctrl|blank)\s*(?:-\s*\d+)?\s*$", re.I)


def cfx_task(content: str) -> str:
    """Map a CFX ``Content`` cell to a canonical task name.

    ``'Unkn'``/``'Unkn-01'`` → ``'unknown'``, ``'Std-101'`` → ``'standard'``, ``'NTC'`` →
    ``'ntc'``, ``'NRT'`` → ``'nrt'``, ``'Neg Ctrl'`` → ``'negative_control'``,
    ``'Pos Ctrl'`` → ``'positive_control'``, ``'Blank'`` → ``'blank'``. Any other text
    (some exports overwrite Content with free labels) and empty cells give ``'unknown'``;
    the exported text is kept in ``instrument_content``.

    Parameters
    ----------
    content : str
        The exported Content cell.

    Returns
    -------
    str
        The task name.
    """
    m = _CONTENT_RE.match(content or "")
    if not m:
        return "unknown"
    return _CONTENT_TASKS[m.group(1).lower()]


_WELL_NAMES: dict[str, str] = {}  # well text -> canonical 'A1' (spellings are few)


def _split(line: str, sep: str) -> list[str]:
    return next(csv.reader([line], delimiter=sep))


def _find_header(source: Source, max_lines: int = 40) -> tuple[int, str, list[str]] | None:
    """Return (0-based line index, separator, fields) of the header line, or None."""
    for i, line in enumerate(source.lines[:max_lines]):
        if "Well" not in line or "Cq" not in line:
            continue
        for sep in _SEPARATORS:
            if sep not in line:
                continue
            fields = [f.strip() for f in _split(line, sep)]
            if all(r in fields for r in _REQUIRED) and ("Fluor" in fields or "Content" in fields):
                return i, sep, fields
    return None


def _sniff(source: Source) -> bool:
    if source.kind != "text":
        return False
    head = source.head(3000)
    if "Cq" not in head or "Well" not in head or ("Fluor" not in head and "Content" not in head):
        return False
    try:
        return _find_header(source) is not None
    except Exception:  # a sniffer never raises
        return False


def _number(text: str, *, decimal_comma: bool) -> float | None:
    """Parse a numeric cell; NaN for the CFX missing-value words; None if not a number."""
    t = text.strip()
    if t == "" or t.lower() in _MISSING:
        return math.nan
    return parse_number(text, decimal_comma=decimal_comma)


@register(
    "cfx",
    kind="qpcr",
    sniff=_sniff,
    description="Bio-Rad CFX Maestro / CFX Manager 'Quantification Cq Results' CSV",
    priority=40,
)
def read_cfx(source: Source) -> pd.DataFrame:
    """Read a Bio-Rad CFX "Quantification Cq Results" CSV export.

    Parameters
    ----------
    source : Source
        The export (comma-, semicolon- or tab-separated).

    Returns
    -------
    pandas.DataFrame
        Canonical qPCR table (one row per well × fluorophore) with the extra columns
        ``instrument_content`` (Content as exported, e.g. ``'Unkn-01'``),
        ``instrument_biological_set`` (Biological Set Name), ``instrument_cq_mean``,
        ``instrument_cq_sd`` (NaN when CFX wrote its "all replicates missing" 0),
        ``instrument_starting_quantity`` (SQ as exported, also the instrument's
        calculated quantity of unknowns), ``instrument_sq_mean`` and ``instrument_sq_sd``.

    Raises
    ------
    ReaderError
        If the header is missing, a line is truncated, a well name or a number (other
        than Cq) is invalid, or a well × target appears twice.

    Notes
    -----
    ``target`` is the Target column; when it is empty (CFX Maestro exports without
    target names) the fluorophore name is used so that multiplexed wells stay distinct.
    ``quantity`` is the Starting Quantity of standards only (NaN for other wells).
    ``cq_flag`` is ``'undetermined'`` for ``NaN``/``N/A`` Cq, ``'empty'`` for an
    empty cell and ``'not_numeric'`` for other text (the row is kept, the text in ``cq_raw``).
    """
    found = _find_header(source)
    if found is None:
        first = next((ln for ln in source.lines if ln.strip()), "")
        raise source.error(
            "no CFX Cq results header found",
            line=1,
            expected="a header line with the columns 'Well', 'Fluor'/'Content' and 'Cq'",
            found=repr(first[:80]),
        )
    hi, sep, header = found
    col = {name: j for j, name in enumerate(header) if name}
    rows, linenos = _data_rows(source, hi, sep, len(header))
    n = len(rows)
    columns = list(zip(*rows, strict=True))  # every row has n_fields fields (checked above)

    def text_col(name: str) -> list[str]:
        j = col.get(name)
        if j is None:
            return [""] * n
        return list(map(str.strip, columns[j]))

    wells = _cfx_wells(source, text_col("Well"), linenos)

    def num_col(name: str, *, texts: list[str] | None = None, not_numeric: set | None = None) -> np.ndarray:
        return _number_column(source, name, text_col(name) if texts is None else texts, linenos, wells,
                              decimal_comma=sep != ",", not_numeric=not_numeric)  # fmt: skip

    fluor = text_col("Fluor")
    target = [t or f for t, f in zip(text_col("Target"), fluor, strict=True)]
    _check_keys(source, list(zip(wells, target, strict=True)), linenos)
    cq_raw = text_col("Cq")
    cq_text_not_numeric: set[str] = set()
    cq = num_col("Cq", texts=cq_raw, not_numeric=cq_text_not_numeric)
    cq_nan = np.isnan(cq)
    flag = np.where(cq_nan, "undetermined", "").astype(object)
    flag[np.asarray([t == "" for t in cq_raw], dtype=bool)] = "empty"
    if cq_text_not_numeric:  # text in Cq: the row is kept (cq NaN, the text in cq_raw), flagged
        flag[np.asarray([t in cq_text_not_numeric for t in cq_raw], dtype=bool)] = "not_numeric"
    content = text_col("Content")
    task_of = {t: cfx_task(t) for t in set(content)}
    task = [task_of[t] for t in content]
    is_std = np.asarray([t == "standard" for t in task], dtype=bool)
    sq = num_col("Starting Quantity (SQ)")
    cq_mean = num_col("Cq Mean")
    cq_sd = num_col("Cq Std. Dev")
    # CFX writes Cq Mean = 0 and SD = 0 when no replicate has a Cq: NaN, never 0
    cq_mean[cq_mean == 0] = np.nan
    cq_sd[np.isnan(cq_mean)] = np.nan
    sq_mean = num_col("SQ Mean")
    sq_sd = num_col("SQ Std. Dev")
    # ... and SQ Mean / SD 0 (or SD 0 beside a NaN mean) when there is no SQ
    no_sq = np.isnan(sq_mean) | (~is_std & (sq_mean == 0) & np.isnan(sq))
    sq_mean[no_sq] = np.nan
    sq_sd[no_sq] = np.nan
    tm = num_col("Melt Temperature")
    tm[tm == 0] = np.nan
    out = {
        "well": wells,
        "sample": text_col("Sample"),
        "target": target,
        "task": task,
        "reporter": fluor,
        "quantity": np.where(is_std, sq, np.nan),
        "cq": cq,
        "cq_raw": cq_raw,
        "cq_flag": flag.tolist(),
        "tm": tm,
        "instrument_content": content,
        "instrument_biological_set": text_col("Biological Set Name"),
        "instrument_cq_mean": cq_mean,
        "instrument_cq_sd": cq_sd,
        "instrument_starting_quantity": sq,
        "instrument_sq_mean": sq_mean,
        "instrument_sq_sd": sq_sd,
    }
    out["plate"] = ["1"] * len(out["well"])
    # every text column holds str, and well × target was checked unique above
    df = qpcr_table(out, source_file=source.name, checked=True)
    for name in ("instrument_cq_mean", "instrument_cq_sd", "instrument_starting_quantity",
                 "instrument_sq_mean", "instrument_sq_sd"):  # fmt: skip
        if out[name].dtype != np.float64:  # (num_col gives float arrays: the frame keeps them)
            df[name] = df[name].astype(float)
    return df


def _data_rows(source: Source, hi: int, sep: str, n_fields: int) -> tuple[list[list[str]], list[int]]:
    """The fields of every data line after the header line ``hi`` (one csv pass), and the
    line numbers; raises at a line with the wrong number of fields, or without lines."""
    body = [(i + 1, ln) for i, ln in enumerate(source.lines[hi + 1 :], start=hi + 1) if ln.strip(sep + " \t")]
    linenos = [n for n, _ in body]
    rows = list(csv.reader([ln for _, ln in body], delimiter=sep))
    if len(rows) != len(body):  # an unbalanced quote joined lines: split each line alone
        rows = [_split(ln, sep) for _, ln in body]
    for k, fields in enumerate(rows) if set(map(len, rows)) - {n_fields} else ():
        if len(fields) != n_fields:
            # trailing empty fields beyond the header are harmless
            while len(fields) > n_fields and not fields[-1].strip():
                fields.pop()
            if len(fields) != n_fields:
                raise source.error(
                    "line has the wrong number of fields (truncated or wrong separator?)",
                    line=linenos[k],
                    expected=f"{n_fields} fields separated by {sep!r}",
                    found=f"{len(fields)} fields",
                )
    if not rows:
        raise source.error(
            "no wells after the header", line=hi + 1, expected="at least one result line", found="none"
        )
    return rows, linenos


def _cfx_wells(source: Source, wells_raw: list[str], linenos: list[int]) -> list[str]:
    """Canonical well names ('A1') of the Well column ('A01')."""
    cache = _WELL_NAMES
    if len(cache) > 50_000:
        cache.clear()
    wells: list[str] = list(map(cache.get, wells_raw))  # spellings seen before
    for k, w in enumerate(wells_raw) if None in wells else ():
        name = cache.get(w)
        if name is None:
            try:
                r, c = parse_well(w)
            except SchemaError:
                raise source.error(
                    "invalid well name", line=linenos[k], expected="a well such as 'A01'", found=repr(w[:20])
                ) from None
            name = cache[w] = f"{r}{c}"
        wells[k] = name
    return wells


def _number_column(
    source: Source, name: str, texts: list[str], linenos: list[int], wells: list[str], *, decimal_comma: bool,
    not_numeric: set | None = None,
) -> np.ndarray:
    """A column as floats. A text that is not a number raises ReaderError naming its
    line, or, when a set is given as ``not_numeric``, becomes NaN and is added to it."""
    n = len(texts)
    # The usual case: every cell a number or a missing-value word. Each distinct text
    # is parsed once (means and SDs repeat over replicates): the same floats as _number.
    distinct = set(texts)
    missing = distinct.intersection(_MISSING_AS_NAN)
    distinct.difference_update(missing)
    try:
        memo = dict(zip(distinct, map(float, distinct), strict=True))
    except ValueError:  # decimal commas, words ...: the slow path says which line
        memo = None
    if memo is not None and "_" not in "".join(distinct):
        memo.update(dict.fromkeys(missing, math.nan))
        arr = np.fromiter(map(memo.__getitem__, texts), dtype=float, count=n)
        if not np.isinf(arr).any():
            return arr
    memo = {t: _number(t, decimal_comma=decimal_comma) for t in set(texts)}
    if not_numeric is not None and None in memo.values():  # kept as NaN, flagged by the caller
        not_numeric.update(t for t, v in memo.items() if v is None)
        memo.update(dict.fromkeys(not_numeric, math.nan))
    if None in memo.values():  # report the first line holding a non-number
        k = next(k for k, t in enumerate(texts) if memo[t] is None)
        raise source.error(
            f"column '{name}' is not a number",
            line=linenos[k],
            well=wells[k],
            expected="a number, NaN or N/A",
            found=repr(texts[k][:40]),
        )
    return np.fromiter(map(memo.__getitem__, texts), dtype=float, count=n)


def _check_keys(source: Source, keys: list[tuple[str, str]], linenos: list[int]) -> None:
    """Raise at the second row of a repeated well × target."""
    seen: dict[tuple[str, str], int] = {}
    for k, key in enumerate(keys) if len(set(keys)) != len(keys) else ():
        if key in seen:
            raise source.error(
                "duplicated well × target",
                line=linenos[k],
                well=key[0],
                target=key[1],
                expected="each well × target once",
                found=f"a second row (first on line {seen[key]})",
            )
        seen[key] = linenos[k]
