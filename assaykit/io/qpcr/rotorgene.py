"""Reader of Qiagen Rotor-Gene Q "Excel Analysed Data Export" files saved as CSV.

Format (see ``docs/formats/rotorgene.md``): a header block (``Excel Analysed Data
Export``, ``Copyright ... QIAGEN``, ``File;<run>.rex``, channel gains and thresholds),
then one block per assay, each starting with ``Quantitative analysis of Cycling
A.Green (<assay name>)`` followed by a table ``No.;Color;Name;Type;Ct;Ct Comment;Given
Conc (Copies);Calc Conc (Copies);% Var;Rep. Ct;Rep. Ct Std. Dev.;...``.

Rotor positions are not plate wells. Position ``N`` (1-based) is mapped row-major onto
a grid of 12 columns: ``row = (N - 1) // 12`` (A, B, ...), ``col = (N - 1) % 12 + 1``;
so 1 → A1, 12 → A12, 13 → B1, 72 → F12, 100 → I4. The rotor position is kept in
``instrument_position``.
"""

from __future__ import annotations

import csv
import math
import re

import numpy as np
import pandas as pd

from assaykit.io._cells import parse_number
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.schema import qpcr_table, row_letter

__all__ = ["read_rotorgene", "rotor_position_to_well"]

#: Number of columns of the synthetic grid rotor positions are mapped onto.
GRID_COLUMNS = 12
#: Largest rotor position (100-well rotor).
MAX_POSITION = 100

_BLOCK_RE = re.compile(r"^\s*Quantitative analysis of\s+(.*?)\s*$")
_ASSAY_RE = re.compile(r"^(.*?)\s*\((.*)\)\s*$")
_TYPE_TASKS = {
    "unknown": "unknown",
    "standard": "standard",
    "ntc": "ntc",
    "no template control": "ntc",
    "negative control": "negative_control",
    "positive control": "positive_control",
    "nrt": "nrt",
    "no rt control": "nrt",
    "none": "none",
    "": "unknown",
}


def rotor_position_to_well(position: int) -> str:
    """Return the synthetic well name of a Rotor-Gene rotor position.

    Parameters
    ----------
    position : int
        1-based rotor position.

    Returns
    -------
    str
        ``'A1'`` for 1, ``'A12'`` for 12, ``'B1'`` for 13 (row-major, 12 columns).

    Examples
    --------
    >>> rotor_position_to_well(1), rotor_position_to_well(13), rotor_position_to_well(72)
    ('A1', 'B1', 'F12')
    """
    r, c = divmod(int(position) - 1, GRID_COLUMNS)
    return f"{row_letter(r)}{c + 1}"


def _detect_sep(lines: list[str]) -> str | None:
    for line in lines:
        s = line.lstrip()
        if s.startswith("No."):
            rest = s[3:4]
            if rest in (";", ",", "\t"):
                return rest
    return None


def _sniff(source: Source) -> bool:
    if source.kind != "text":
        return False
    head = source.head(6000)
    if "Quantitative analysis of" not in head:
        return False
    return _detect_sep(head.splitlines()) is not None


def _split(line: str, sep: str) -> list[str]:
    return next(csv.reader([line], delimiter=sep))


def _number(text: str, decimal_comma: bool) -> float | None:
    """A number cell: NaN when blank, None when not a number."""
    if not text.strip():
        return math.nan
    return parse_number(text, decimal_comma=decimal_comma)


@register(
    "rotorgene",
    kind="qpcr",
    sniff=_sniff,
    description="Qiagen Rotor-Gene Q 'Excel Analysed Data Export' CSV (one block per assay)",
    priority=40,
)
def read_rotorgene(source: Source) -> pd.DataFrame:
    """Read a Qiagen Rotor-Gene Q analysed-data CSV export (one or several assay blocks).

    Parameters
    ----------
    source : Source
        The export (``;``- or ``,``-separated; decimal commas accepted with ``;``).

    Returns
    -------
    pandas.DataFrame
        Canonical qPCR table, one row per rotor position × assay block, with
        ``instrument_position`` (int), ``instrument_ct_comment``, ``instrument_calc_conc``
        (Calc Conc), ``instrument_rep_ct`` and ``instrument_rep_ct_sd`` (Rep. Ct and its SD,
        written by the software on the first row of a replicate group only, NaN on the
        others, kept as exported), ``instrument_threshold`` (the block's threshold from
        the header, NaN if absent) and ``instrument_run`` (the ``.rex`` file name).

    Raises
    ------
    ReaderError
        No assay block, missing table header, truncated line, position not an integer in
        1..100, non-numeric concentration (text in Ct is kept as ``'not_numeric'``), position listed twice for one assay.

    Notes
    -----
    ``target`` is the assay name in parentheses (``'28S'`` in ``Cycling A.Green (28S)``),
    ``reporter`` the channel (``'Green'``). ``quantity`` is "Given Conc" (standards);
    an empty Ct gives ``cq_flag='undetermined'``. ``task``: Unknown → ``unknown``,
    Standard → ``standard``, NTC → ``ntc``, Negative/Positive Control →
    ``negative_control``/``positive_control``, None → ``none``; others lower-case.
    """
    lines = source.lines
    sep = _detect_sep(lines)
    if sep is None:
        raise source.error(
            "no Rotor-Gene result table found",
            expected="a table header starting with 'No.' after 'Quantitative analysis of ...'",
            found="none",
        )
    decimal_comma = sep == ";"
    thresholds: dict[str, float] = {}
    run_name = ""
    out: dict[str, list] = {
        k: []
        for k in ("well", "sample", "target", "task", "reporter", "quantity", "cq", "cq_raw", "cq_flag",
                  "instrument_position", "instrument_ct_comment", "instrument_calc_conc",
                  "instrument_rep_ct", "instrument_rep_ct_sd", "instrument_threshold")
    }  # fmt: skip
    seen: dict[tuple[int, str], int] = {}
    i = 0
    n_lines = len(lines)
    in_threshold_block = False
    n_blocks = 0
    while i < n_lines:
        fields = [f.strip() for f in _split(lines[i], sep)] if lines[i].strip() else []
        first = fields[0] if fields else ""
        m = _BLOCK_RE.match(first)
        if not m:
            if first == "File" and len(fields) > 1:
                run_name = fields[1]
            if first == "Channel" and len(fields) > 1 and fields[1] == "Threshold":
                in_threshold_block = True
            elif in_threshold_block:
                if not first:
                    in_threshold_block = False
                elif len(fields) > 1:
                    v = _number(fields[1], decimal_comma)
                    if v is not None:
                        thresholds[first] = v
            i += 1
            continue
        n_blocks += 1
        assay = m.group(1)
        am = _ASSAY_RE.match(assay)
        channel, target = (am.group(1), am.group(2).strip()) if am else (assay, assay)
        reporter = channel.rsplit(".", 1)[-1].strip() if "." in channel else channel.strip()
        threshold = thresholds.get(assay, math.nan)
        i, header = _table_header(source, lines, i + 1, sep, target)
        i = _read_rows(source, lines, i + 1, sep, header, target, reporter, threshold, seen, out)
    if n_blocks == 0:
        raise source.error(
            "no assay block found", expected="a line 'Quantitative analysis of <channel> (<assay>)'", found="none"
        )
    if not out["well"]:
        raise source.error("assay blocks hold no rows", expected="at least one result line", found="none")
    n = len(out["well"])
    out["plate"] = ["1"] * n
    out["instrument_run"] = [run_name] * n
    df = qpcr_table(out, source_file=source.name)
    if df["instrument_position"].dtype != np.int64:
        df["instrument_position"] = df["instrument_position"].astype(np.int64)
    for name in ("instrument_calc_conc", "instrument_rep_ct", "instrument_rep_ct_sd", "instrument_threshold"):
        if df[name].dtype != np.float64:
            df[name] = df[name].astype(float)
    return df


def _table_header(source: Source, lines: list[str], i: int, sep: str, target: str) -> tuple[int, list[str]]:
    """The index of an assay block's table header (after blank lines from line index ``i``)
    and its fields; raises when there is none or it lacks No., Name or Ct."""
    n_lines = len(lines)
    while i < n_lines and not lines[i].strip(sep + " \t"):
        i += 1
    if i >= n_lines or not lines[i].lstrip().startswith("No."):
        raise source.error(
            "assay block without a result table",
            line=min(i + 1, n_lines),
            target=target,
            expected="a header line starting with 'No.'",
            found=repr(lines[i][:60]) if i < n_lines else "end of file",
        )
    header = [f.strip() for f in _split(lines[i], sep)]
    for needed in ("No.", "Name", "Ct"):
        if needed not in header:
            raise source.error(
                "result table lacks a column",
                line=i + 1,
                expected=f"a column '{needed}'",
                found=f"columns {header[:8]}",
            )
    return i, header


def _read_rows(
    source: Source, lines: list[str], i: int, sep: str, header: list[str], target: str, reporter: str,
    threshold: float, seen: dict[tuple[int, str], int], out: dict[str, list],
) -> int:
    """Append the result rows of one assay block, from line index ``i``, to ``out``;
    returns the index of the line after them."""
    n_lines = len(lines)
    decimal_comma = sep == ";"
    col = {name: j for j, name in enumerate(header) if name}
    given = next((h for h in header if h.startswith("Given Conc")), None)
    calc = next((h for h in header if h.startswith("Calc Conc")), None)
    n_fields = len(header)
    while i < n_lines:
        line = lines[i]
        lineno = i + 1
        if not line.strip(sep + " \t"):
            break
        row = _split(line, sep)
        if _BLOCK_RE.match(row[0].strip()):
            break
        while len(row) > n_fields and not row[-1].strip():
            row.pop()
        if len(row) != n_fields:
            raise source.error(
                "line has the wrong number of fields (truncated or wrong separator?)",
                line=lineno,
                expected=f"{n_fields} fields separated by {sep!r}",
                found=f"{len(row)} fields",
            )

        def cell(name: str | None, row=row, col=col) -> str:
            j = col.get(name) if name else None
            return row[j].strip() if j is not None else ""

        pos_text = cell("No.")
        if not re.fullmatch(r"\d{1,3}", pos_text) or not 1 <= int(pos_text) <= MAX_POSITION:
            raise source.error(
                "invalid rotor position",
                line=lineno,
                expected=f"an integer 1..{MAX_POSITION} in column 'No.'",
                found=repr(pos_text[:20]),
            )
        pos = int(pos_text)
        well = rotor_position_to_well(pos)
        if (pos, target) in seen:
            raise source.error(
                "rotor position listed twice for one assay",
                line=lineno,
                well=well,
                target=target,
                expected="each position once per assay",
                found=f"a second row (first on line {seen[(pos, target)]})",
            )
        seen[(pos, target)] = lineno
        nums = {}
        cq_flag = ""
        for name in ("Ct", given, calc, "Rep. Ct", "Rep. Ct Std. Dev."):
            text = cell(name)
            v = _number(text, decimal_comma)
            if v is None and name == "Ct":  # text in Ct: kept, flagged (cq_raw has it)
                v, cq_flag = math.nan, "not_numeric"
            if v is None:
                raise source.error(
                    f"column '{name}' is not a number",
                    line=lineno,
                    well=well,
                    expected="a number or an empty cell",
                    found=repr(text[:40]),
                )
            nums[name] = v
        cq_text = cell("Ct")
        type_text = cell("Type")
        task = _TYPE_TASKS.get(type_text.lower(), re.sub(r"\s+", "_", type_text.lower()))
        out["well"].append(well)
        out["sample"].append(cell("Name"))
        out["target"].append(target)
        out["task"].append(task)
        out["reporter"].append(reporter)
        out["quantity"].append(nums[given])
        out["cq"].append(nums["Ct"])
        out["cq_raw"].append(cq_text)
        out["cq_flag"].append(cq_flag or ("undetermined" if math.isnan(nums["Ct"]) else ""))
        out["instrument_position"].append(pos)
        out["instrument_ct_comment"].append(cell("Ct Comment"))
        out["instrument_calc_conc"].append(nums[calc])
        out["instrument_rep_ct"].append(nums["Rep. Ct"])
        out["instrument_rep_ct_sd"].append(nums["Rep. Ct Std. Dev."])
        out["instrument_threshold"].append(threshold)
        i += 1
    return i
