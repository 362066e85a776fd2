"""Reader of Bio-Rad CFX Maestro / CFX Manager "Quantification Cq Results" CSV exports.

Format (see ``docs/formats/cfx.md``): one header line, usually with a leading empty
column (``,Well,Fluor,Target,Content,Sample,Biological Set Name,Cq,Cq Mean,...``), then
one line per well × fluorophore. Missing Cq is written ``NaN`` (CFX Maestro) or ``N/A``
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
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.schema import parse_well, qpcr_table

__all__ = ["read_cfx", "cfx_task"]

_SEPARATORS = (",", ";", "\t")
_REQUIRED = ("Well", "Cq")
_MISSING = {"nan", "n/a", "na", "none"}

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


def _split(line: str, sep: str) -> list[str]:
    return next(csv.reader([line], delimiter=sep))


def _find_header(source: Source, max_lines: int = 10) -> tuple[int, str, list[str]] | None:
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
        return _find_header(source, 5) is not None
    except Exception:  # a sniffer never raises
        return False


def _number(text: str, *, decimal_comma: bool) -> float | None:
    """Parse a numeric cell; NaN for the CFX missing-value words; None if not a number."""
    try:
        v = float(text)  # fast path; accepts surrounding blanks and 'NaN'
    except ValueError:
        t = text.strip()
        if t == "" or t.lower() in _MISSING:
            return math.nan
        if decimal_comma and re.fullmatch(r"[-+]?\d*,\d+(?:[eE][-+]?\d+)?", t):
            return float(t.replace(",", "."))
        return None
    if math.isinf(v) or "_" in text:
        return None
    return v


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
        If the header is missing, a line is truncated, a well name or a number is
        invalid, or a well × target appears twice.

    Notes
    -----
    ``target`` is the Target column; when it is empty (CFX Maestro exports without
    target names) the fluorophore name is used so that multiplexed wells stay distinct.
    ``quantity`` is the Starting Quantity of standards only (NaN for other wells).
    ``cq_flag`` is ``'undetermined'`` for ``NaN``/``N/A`` Cq and ``'empty'`` for an
    empty cell.
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
    n_fields = len(header)
    decimal_comma = sep != ","

    def cell(fields: list[str], name: str) -> str:
        j = col.get(name)
        return fields[j].strip() if j is not None else ""

    def num(fields: list[str], name: str, lineno: int, *, zero_is_missing: bool = False) -> float:
        text = cell(fields, name)
        v = _number(text, decimal_comma=decimal_comma)
        if v is None:
            raise source.error(
                f"column '{name}' is not a number",
                line=lineno,
                well=cell(fields, "Well") or None,
                expected="a number, NaN or N/A",
                found=repr(text[:40]),
            )
        if zero_is_missing and v == 0:
            return math.nan
        return v

    out: dict[str, list] = {
        k: []
        for k in (
            "well", "sample", "target", "task", "reporter", "quantity", "cq", "cq_raw", "cq_flag",
            "tm", "instrument_content", "instrument_biological_set", "instrument_cq_mean",
            "instrument_cq_sd", "instrument_starting_quantity", "instrument_sq_mean",
            "instrument_sq_sd",
        )
    }  # fmt: skip
    seen: dict[tuple[str, str], int] = {}
    for i in range(hi + 1, len(source.lines)):
        line = source.lines[i]
        lineno = i + 1
        if not line.strip() or not line.strip(sep + " "):
            continue
        fields = _split(line, sep)
        # trailing empty fields beyond the header are harmless
        while len(fields) > n_fields and not fields[-1].strip():
            fields.pop()
        if len(fields) != n_fields:
            raise source.error(
                "line has the wrong number of fields (truncated or wrong separator?)",
                line=lineno,
                expected=f"{n_fields} fields separated by {sep!r}",
                found=f"{len(fields)} fields",
            )
        well_text = cell(fields, "Well")
        try:
            r, c = parse_well(well_text)
        except SchemaError:
            raise source.error(
                "invalid well name", line=lineno, expected="a well such as 'A01'", found=repr(well_text[:20])
            ) from None
        well = f"{r}{c}"
        fluor = cell(fields, "Fluor")
        target = cell(fields, "Target") or fluor
        key = (well, target)
        if key in seen:
            raise source.error(
                "duplicated well × target",
                line=lineno,
                well=well,
                target=target,
                expected="each well × target once",
                found=f"a second row (first on line {seen[key]})",
            )
        seen[key] = lineno
        cq_text = cell(fields, "Cq")
        cq = _number(cq_text, decimal_comma=decimal_comma)
        if cq is None:
            raise source.error(
                "Cq is not a number", line=lineno, well=well, expected="a number, NaN or N/A", found=repr(cq_text[:40])
            )
        if cq_text == "":
            flag = "empty"
        elif math.isnan(cq):
            flag = "undetermined"
        else:
            flag = ""
        content = cell(fields, "Content")
        task = cfx_task(content)
        sq = num(fields, "Starting Quantity (SQ)", lineno)
        cq_mean = num(fields, "Cq Mean", lineno, zero_is_missing=True)
        cq_sd = num(fields, "Cq Std. Dev", lineno)
        if math.isnan(cq_mean):
            cq_sd = math.nan  # CFX writes SD 0 when no replicate has a Cq
        sq_mean = num(fields, "SQ Mean", lineno)
        sq_sd = num(fields, "SQ Std. Dev", lineno)
        if (task != "standard" and sq_mean == 0 and math.isnan(sq)) or math.isnan(sq_mean):
            sq_mean = sq_sd = math.nan  # CFX writes SQ Mean/SD 0 (or SD 0) when there is no SQ
        tm = num(fields, "Melt Temperature", lineno, zero_is_missing=True)
        out["well"].append(well)
        out["sample"].append(cell(fields, "Sample"))
        out["target"].append(target)
        out["task"].append(task)
        out["reporter"].append(fluor)
        out["quantity"].append(sq if task == "standard" else math.nan)
        out["cq"].append(cq)
        out["cq_raw"].append(cq_text)
        out["cq_flag"].append(flag)
        out["tm"].append(tm)
        out["instrument_content"].append(content)
        out["instrument_biological_set"].append(cell(fields, "Biological Set Name"))
        out["instrument_cq_mean"].append(cq_mean)
        out["instrument_cq_sd"].append(cq_sd)
        out["instrument_starting_quantity"].append(sq)
        out["instrument_sq_mean"].append(sq_mean)
        out["instrument_sq_sd"].append(sq_sd)
    if not out["well"]:
        raise source.error(
            "no wells after the header", line=hi + 1, expected="at least one result line", found="none"
        )
    out["plate"] = ["1"] * len(out["well"])
    df = qpcr_table(out, source_file=source.name)
    for name in ("instrument_cq_mean", "instrument_cq_sd", "instrument_starting_quantity",
                 "instrument_sq_mean", "instrument_sq_sd"):  # fmt: skip
        df[name] = np.asarray(df[name], dtype=float)
    return df
