"""Reader of Roche LightCycler 480 text exports (Abs Quant / 2nd Derivative Max, Fit Points).

Format (see ``docs/formats/lightcycler.md``): line 1 ``Experiment: <name>  Selected
Filter: <filter>`` (optional), then the tab-separated header ``Include, Color, Pos, Name, Cp,
Concentration, Standard, Status``, then one line per well. An empty ``Cp`` means the
software found no crossing point.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from assaykit.errors import SchemaError
from assaykit.io._cells import parse_number
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.schema import parse_well, qpcr_table

__all__ = ["read_lightcycler"]

_NTC_NAMES = {"ntc", "no template control", "no-template control", "no template", "ntc control"}
_FILTER_RE = re.compile(r"Selected Filter:\s*(.*?)\s*$")
_EXPERIMENT_RE = re.compile(r"^Experiment:\s*(.*?)\s*(?:Selected Filter:.*)?$")


_WELL_NAMES: dict[str, str] = {}  # Pos text -> canonical 'A1' (spellings are few)


def _header_index(lines: list[str], max_lines: int = 5) -> int | None:
    for i, line in enumerate(lines[:max_lines]):
        fields = [f.strip() for f in line.split("\t")]
        if "Pos" in fields and "Cp" in fields:
            return i
    return None


def _sniff(source: Source) -> bool:
    if source.kind != "text":
        return False
    head = source.head(2000)
    if not head.lstrip().startswith("Experiment:") and not ("\tPos\t" in head and "\tCp\t" in head):
        return False
    try:
        return _header_index(head.splitlines()) is not None
    except Exception:  # a sniffer never raises
        return False


def _number(text: str) -> float | None:
    """A number cell: NaN when blank, None when not a number."""
    if text.strip() == "":
        return math.nan
    return parse_number(text)


@register(
    "lightcycler",
    kind="qpcr",
    sniff=_sniff,
    description="Roche LightCycler 480 text export (Abs Quant: Cp, Concentration, Standard)",
    priority=40,
)
def read_lightcycler(source: Source) -> pd.DataFrame:
    """Read a Roche LightCycler 480 absolute-quantification text export.

    Parameters
    ----------
    source : Source
        The export (tab-separated; CR, LF or CRLF line ends).

    Returns
    -------
    pandas.DataFrame
        Canonical qPCR table, one row per well, plus ``instrument_concentration`` (the
        concentration the software computed), ``instrument_status`` (Status column),
        ``instrument_color`` (the colour code, an integer as text) and
        ``instrument_experiment`` (the experiment name of line 1).

    Raises
    ------
    ReaderError
        Missing header, truncated line, invalid well, non-numeric Concentration /
        Standard, or a well listed twice.

    Notes
    -----
    * ``cq`` is the Cp; an empty Cp gives ``cq_flag='undetermined'``, text gives ``'not_numeric'`` (row kept).
    * ``tm`` is the ``Tm1`` column when the export has one (NaN otherwise).
    * ``Include = False`` adds ``'omitted'`` to ``cq_flag``; a non-empty Status adds its
      lower-case text (spaces → ``_``).
    * ``task`` is ``'standard'`` when the Standard column holds a non-zero quantity (then
      ``quantity`` is that value), ``'ntc'`` when the sample name is "NTC" or "no template
      control" (case-insensitive), ``'unknown'`` otherwise: the export holds no sample type.
    * The export does not name the target gene: ``target`` is ``''`` (assign it with a
      layout); ``reporter`` is the "Selected Filter" of line 1 (e.g. ``'SYBR Green (483-533)'``).
    """
    lines = source.lines
    hi = _header_index(lines)
    if hi is None:
        first = next((ln for ln in lines if ln.strip()), "")
        raise source.error(
            "no LightCycler header line found",
            line=1,
            expected="a tab-separated header with 'Pos' and 'Cp' in the first lines",
            found=repr(first[:80]),
        )
    header = [f.strip() for f in lines[hi].split("\t")]
    col = {name: j for j, name in enumerate(header) if name}
    needed = [n for n in ("Include", "Pos", "Name", "Cp", "Concentration", "Standard") if n in col]
    min_fields = max(col[n] for n in needed) + 1
    reporter, experiment = _filter_and_experiment(lines[:hi])

    out: dict[str, list] = {
        k: []
        for k in ("well", "sample", "task", "quantity", "cq", "cq_raw", "cq_flag", "tm",
                  "instrument_concentration", "instrument_status", "instrument_color")
    }  # fmt: skip
    seen: dict[str, int] = {}
    # column indices (None when absent) and the per-row cell getter, hoisted out of the loop
    j_pos, j_name, j_include, j_status, j_color = (
        col.get(k) for k in ("Pos", "Name", "Include", "Status", "Color")
    )
    j_numbers = [(k, col.get(k)) for k in ("Cp", "Concentration", "Standard", "Tm1")]
    o_well, o_sample, o_task, o_quantity = out["well"], out["sample"], out["task"], out["quantity"]
    o_cq, o_tm, o_cq_raw, o_cq_flag = out["cq"], out["tm"], out["cq_raw"], out["cq_flag"]
    o_conc, o_status, o_color = out["instrument_concentration"], out["instrument_status"], out["instrument_color"]
    numbers: dict[str, float] = {}
    wells = _WELL_NAMES  # well spelling -> canonical name
    if len(wells) > 50_000:
        wells.clear()
    for i in range(hi + 1, len(lines)):
        line = lines[i]
        lineno = i + 1
        if not line.strip():
            continue
        if line.startswith("Experiment:"):
            raise source.error(
                "a second Experiment block (another filter) is not supported",
                line=lineno,
                expected="one Experiment (one filter) per file; export each filter separately",
                found=repr(line[:60]),
            )
        fields = line.split("\t")
        nf = len(fields)
        if nf < min_fields:
            raise source.error(
                "line has too few fields (truncated or wrong separator?)",
                line=lineno,
                expected=f"at least {min_fields} tab-separated fields",
                found=f"{len(fields)} fields",
            )
        pos = fields[j_pos].strip() if j_pos is not None and j_pos < nf else ""
        well = _line_well(source, pos, lineno, wells, seen)
        (cp, concentration, std, tm1), cq_not_numeric = _line_numbers(source, fields, j_numbers, numbers, lineno, well)
        include = fields[j_include].strip().lower() if j_include is not None and j_include < nf else ""
        if include not in ("", "true", "false"):
            raise source.error(
                "column 'Include' is not True/False", line=lineno, well=well, expected="True or False", found=repr(include[:20])
            )
        cq_text = fields[j_numbers[0][1]].strip() if j_numbers[0][1] is not None and j_numbers[0][1] < nf else ""
        status = fields[j_status].strip() if j_status is not None and j_status < nf else ""
        flags = []
        if cq_not_numeric:
            flags.append("not_numeric")
        elif math.isnan(cp):
            flags.append("undetermined")
        if include == "false":
            flags.append("omitted")
        if status:
            flags.append(re.sub(r"\s+", "_", status.lower()))
        name = fields[j_name].strip() if j_name is not None and j_name < nf else ""
        if not math.isnan(std) and std != 0:
            task, quantity = "standard", std
        elif name.strip().lower() in _NTC_NAMES:
            task, quantity = "ntc", math.nan
        else:
            task, quantity = "unknown", math.nan
        o_well.append(well)
        o_sample.append(name)
        o_task.append(task)
        o_quantity.append(quantity)
        o_cq.append(cp)
        o_tm.append(tm1)
        o_cq_raw.append(cq_text)
        o_cq_flag.append(";".join(flags))
        o_conc.append(concentration)
        o_status.append(status)
        o_color.append(fields[j_color].strip() if j_color is not None and j_color < nf else "")
    if not out["well"]:
        raise source.error("no wells after the header", line=hi + 1, expected="at least one well line", found="none")
    n = len(out["well"])
    out["plate"] = ["1"] * n
    out["target"] = [""] * n
    out["reporter"] = [reporter] * n
    out["instrument_experiment"] = [experiment] * n
    out["instrument_concentration"] = np.asarray(o_conc, dtype=float)  # floats: no dtype inference
    df = qpcr_table(out, source_file=source.name)
    if out["instrument_concentration"].dtype != np.float64:  # (never: a float array above)
        df["instrument_concentration"] = df["instrument_concentration"].astype(float)
    return df


def _filter_and_experiment(lines: list[str]) -> tuple[str, str]:
    """The "Selected Filter" and the experiment name given above the header."""
    reporter = ""
    experiment = ""
    for line in lines:
        m = _FILTER_RE.search(line)
        if m:
            reporter = m.group(1).strip().strip("\t").strip()
        m = _EXPERIMENT_RE.match(line.strip())
        if m:
            experiment = m.group(1).strip()
    return reporter, experiment


def _line_well(source: Source, pos: str, lineno: int, wells: dict[str, str], seen: dict[str, int]) -> str:
    """The canonical well of a line's Pos cell; raises on an invalid or repeated well."""
    well = wells.get(pos)
    if well is None:
        try:
            r, c = parse_well(pos)
        except SchemaError:
            raise source.error(
                "invalid well position", line=lineno, expected="a well such as 'A1'", found=repr(pos[:20])
            ) from None
        well = wells[pos] = f"{r}{c}"
    if well in seen:
        raise source.error(
            "duplicated well",
            line=lineno,
            well=well,
            expected="each well once",
            found=f"a second row (first on line {seen[well]})",
        )
    seen[well] = lineno
    return well


def _line_numbers(
    source: Source, fields: list[str], j_numbers: list, numbers: dict[str, float], lineno: int, well: str
) -> tuple[list[float], bool]:
    """Cp, Concentration, Standard and Tm1 of a line (NaN when empty), and whether the Cp
    cell holds text (kept as NaN, flagged); raises on text in another number column."""
    nf = len(fields)
    values = []
    cq_not_numeric = False
    for name, j in j_numbers:
        text = fields[j].strip() if j is not None and j < nf else ""
        v = numbers.get(text)  # texts repeat ('', '0', standards): parse each once
        if v is None:
            v = _number(text)
            if v is not None:
                numbers[text] = v
        if v is None and name == "Cp":  # text in Cp: kept, flagged (cq_raw has it)
            v, cq_not_numeric = math.nan, True
        if v is None:
            raise source.error(
                f"column '{name}' is not a number",
                line=lineno,
                well=well,
                expected="a number or an empty cell",
                found=repr(text[:40]),
            )
        values.append(v)
    return values, cq_not_numeric
