"""Tecan readers: Magellan list export (``'tecan_magellan'``) and i-control / Spark
workbooks (``'tecan_icontrol'``).

See ``docs/formats/tecan.md``.

* Magellan list export (.xlsx): row 1 ``Well positions, Label1, Label2 ...``, row 2
  the time of each label (``0s``), row 3 its temperature (``24.8 °C``), then one row
  per well (``A1`` ... ``P24``), then a footer with ``Measurement 1:`` /
  ``Measurement mode: Absorbance`` / ``Measurement wavelength: 485 nm`` lines that
  give each label's read.
* i-control (.xlsx): header cells (``Application: Tecan i-control``), one
  ``Label: <name>`` block per measurement with ``Mode`` / ``Measurement Wavelength``
  / ``Excitation Wavelength`` / ``Emission Wavelength`` rows, an endpoint grid
  anchored by a ``<>`` cell, or a kinetic block (``Cycle Nr.`` / ``Time [s]`` /
  ``Temp. [°C]`` rows then one row per well, or the transposed layout).

Kinetic cycles keep the table key unique with the read ``'<read>@cycle<N>'``
(``'abs_600@cycle12'``) and fill the extra columns ``cycle``, ``time_s`` and
``temperature_c``; endpoint reads have ``cycle`` = <NA>.

Examples
--------
>>> from assaykit.io import read_plate
>>> df = read_plate("SLA01P01_ELISA.xlsx")  # doctest: +SKIP
>>> sorted(df["read"].unique())  # doctest: +SKIP
['abs_485', 'abs_560']
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from assaykit.errors import ReaderError
from assaykit.io._cells import cell_text, parse_value, slug, strip_trailing
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.io.plate._grid import read_grid
from assaykit.schema import parse_well, plate_table

__all__ = ["read_tecan_icontrol", "read_tecan_magellan"]

_NUMBER_ONLY_RE = re.compile(r"^\d+(?:\.0*)?$", re.ASCII)
_EXTRA = ("label", "cycle", "time_s", "temperature_c")
_NUM_RE = re.compile(r"[-+]?\d+(?:[.,]\d+)?", re.ASCII)


def _first_number(cell: Any) -> float:
    """First number in a cell (``'24.8 °C'`` → 24.8; ``'0s'`` → 0.0), NaN when none."""
    if isinstance(cell, (int, float)) and not isinstance(cell, bool):
        return float(cell)
    m = _NUM_RE.search(cell_text(cell))
    return float(m.group(0).replace(",", ".")) if m else math.nan


def _is_well(cell: Any) -> bool:
    t = cell_text(cell).strip()
    if not t or not t[0].isalpha() or not t[-1].isdigit():
        return False
    try:
        r, c = parse_well(t)
    except Exception:
        return False
    return t[: len(r)].isupper()


def _read_from_settings(mode: str, wl: float, ex: float, em: float, ref: float = math.nan) -> str | None:
    m = mode.lower()
    if m.startswith("abs") or (not m and not math.isnan(wl)):
        if math.isnan(wl):
            return None
        base = f"abs_{wl:g}"
        return base + (f"-{ref:g}" if not math.isnan(ref) else "")
    if m.startswith("fluo") or (not m and not math.isnan(ex) and not math.isnan(em)):
        if math.isnan(ex) or math.isnan(em):
            return None
        return f"fluo_{ex:g}_{em:g}"
    if m.startswith("lum"):
        return "lum"
    return None


class _Reads:
    """Accumulates output columns and keeps reads unique (``'#2'`` on a clash)."""

    def __init__(self, source: Source):
        self.source = source
        # per-cell columns ...
        self.cols: dict[str, list] = {k: [] for k in ("well", "value", "raw", "flag")}
        # ... and runs ``(value, count)`` of the columns shared by the cells of one add_many
        self.runs: dict[str, list] = {k: [] for k in ("plate", "read", *_EXTRA)}
        self.owner: dict[tuple[str, str, str], str] = {}
        self._raw_text: dict[float, str] = {}  # exported text of a (non-zero, finite) float cell

    def unique(self, plate: str, read: str, label: str, kind: str = "endpoint") -> str:
        """``read``, or ``read#2``, ``read#3`` ... if another label of ``kind`` has it."""
        base, n = read, 1
        while (plate, kind, read) in self.owner and self.owner[(plate, kind, read)] != label:
            n += 1
            read = f"{base}#{n}"
        self.owner[(plate, kind, read)] = label
        return read

    def add(self, plate, well, read, cell, label, cycle=None, time_s=math.nan, temperature_c=math.nan):
        """Add one cell."""
        self.add_many(plate, [well], read, [cell], label, cycle, time_s, temperature_c)

    def add_many(self, plate, wells, read, cells, label, cycle=None, time_s=math.nan, temperature_c=math.nan):
        """Add the cells of several wells sharing plate, read, label, cycle, time and temperature."""
        n = len(wells)
        c = self.cols
        values, raws, flags = c["value"], c["raw"], c["flag"]
        memo = self._raw_text
        for cell in cells:
            # finite non-zero floats (most cells): parse_value gives (cell, its text, ''); the
            # text is computed once per distinct number (0.0 is left out: -0.0 == 0.0)
            if type(cell) is float and cell - cell == 0.0 and cell != 0.0:
                raw = memo.get(cell)
                if raw is None:
                    raw = memo[cell] = parse_value(cell)[1]
                values.append(cell)
                raws.append(raw)
                flags.append("")
                continue
            v, raw, flag = parse_value(cell)
            values.append(v)
            raws.append(raw)
            flags.append(flag)
        c["well"].extend(wells)
        for key, val in (("plate", plate), ("read", read), ("label", label), ("cycle", cycle),
                         ("time_s", time_s), ("temperature_c", temperature_c)):
            self.runs[key].append((val, n))

    def _column(self, key: str, dtype=object) -> np.ndarray:
        """A shared column expanded from its runs."""
        runs = self.runs[key]
        vals = np.empty(len(runs), dtype=object) if dtype is object else np.asarray([v for v, _ in runs], dtype=dtype)
        if dtype is object:
            vals[:] = [v for v, _ in runs]
        return np.repeat(vals, [n for _, n in runs])

    def table(self) -> pd.DataFrame:
        """The accumulated cells as a canonical plate-read table."""
        c = self.cols
        df = plate_table(
            plate=self._column("plate"), well=c["well"], read=self._column("read"), value=c["value"], raw=c["raw"],
            flag=c["flag"], source_file=self.source.name,
        )
        df["label"] = self._column("label")
        missing = np.asarray([v is None for v, _ in self.runs["cycle"]], dtype=bool)
        numbers = np.asarray([0 if v is None else v for v, _ in self.runs["cycle"]], dtype=np.int64)
        counts = [n for _, n in self.runs["cycle"]]
        if all(v is None or type(v) is int for v, _ in self.runs["cycle"]):  # cycle numbers: Int64 built directly
            df["cycle"] = pd.arrays.IntegerArray(np.repeat(numbers, counts), np.repeat(missing, counts))
        else:
            df["cycle"] = pd.array(self._column("cycle").tolist(), dtype="Int64")
        df["time_s"] = self._column("time_s", float)
        df["temperature_c"] = self._column("temperature_c", float)
        return df


# ------------------------------------------------------------------- Magellan


def _magellan_sheet(source: Source) -> str | None:
    for name in source.sheet_names:
        rows = source.sheet(name)
        if rows and rows[0] and cell_text(rows[0][0]).strip().lower() == "well positions":
            return name
    return None


def _sniff_magellan(source: Source) -> bool:
    if source.kind not in ("xlsx", "xls"):
        return False
    try:
        return _magellan_sheet(source) is not None
    except ReaderError:
        return False


def _magellan_measurements(rows: Sequence[Sequence[Any]], start: int) -> list[dict]:
    """Settings of 'Measurement N:' footer sections, in order."""
    out: list[dict] = []
    for cells in rows[start:]:
        t = cell_text(cells[0] if cells else "").strip()
        if re.match(r"^Measurement \d+:$", t):
            out.append({"mode": "", "wl": math.nan, "ex": math.nan, "em": math.nan, "ref": math.nan})
            continue
        if not out or ":" not in t:
            continue
        key, _, val = t.partition(":")
        key = key.strip().lower()
        cur = out[-1]
        if key == "measurement mode":
            cur["mode"] = val.strip()
        elif key == "measurement wavelength":
            cur["wl"] = _first_number(val)
        elif key == "reference wavelength":
            cur["ref"] = _first_number(val)
        elif key == "excitation wavelength":
            cur["ex"] = _first_number(val)
        elif key == "emission wavelength":
            cur["em"] = _first_number(val)
    return out


@register(
    "tecan_magellan",
    kind="plate",
    sniff=_sniff_magellan,
    description="Tecan Magellan .xlsx list export (one row per well, Label columns)",
)
def read_tecan_magellan(source: Source) -> pd.DataFrame:
    """Read a Tecan Magellan list export (plate ``'1'``).

    Parameters
    ----------
    source : Source
        The .xlsx export.

    Returns
    -------
    pandas.DataFrame
        Canonical plate-read table with extra columns ``label`` (Magellan label),
        ``cycle`` (<NA>, or 1, 2 ... when a label repeats as kinetic cycles),
        ``time_s`` and ``temperature_c`` (from rows 2-3). Reads come from the
        ``Measurement N:`` footer (``abs_485``, ``fluo_485_535``, ``lum``), else the
        label's slug.

    Raises
    ------
    ReaderError
        No label columns, a well row that is not a well, a repeated well.
    """
    name = _magellan_sheet(source)
    if name is None:
        raise source.error(
            "no Magellan list sheet", expected="a sheet whose cell A1 is 'Well positions'",
            found=f"sheets {source.sheet_names[:5]}",
        )
    rows = source.sheet(name)
    header = strip_trailing(rows[0])
    labels = [cell_text(c).strip() for c in header[1:]]
    if not labels or not all(labels):
        raise source.error(
            "missing label column header", sheet=name, line=1,
            expected="'Well positions' followed by label names", found=repr(labels),
        )
    ncol = len(labels)
    times = [math.nan] * ncol
    temps = [math.nan] * ncol
    k = 1
    # rows 2-3: time and temperature per label (first cell empty)
    while k < len(rows) and k <= 3 and not cell_text(rows[k][0] if rows[k] else "").strip():
        cells = list(rows[k]) + [""] * ncol
        texts = [cell_text(c) for c in cells[1 : ncol + 1]]
        if any("°" in t or t.strip().endswith("C") for t in texts if t.strip()):
            temps = [_first_number(c) for c in cells[1 : ncol + 1]]
        elif any(t.strip() for t in texts):
            times = [_first_number(c) for c in cells[1 : ncol + 1]]
        k += 1
    wells: list[tuple[int, str, list]] = []
    seen: dict[str, int] = {}
    while k < len(rows):
        cells = list(rows[k])
        first = cell_text(cells[0] if cells else "").strip()
        if not first and not strip_trailing(cells):
            k += 1
            if wells:
                break
            continue
        if not _is_well(first):
            if wells and not strip_trailing(cells[1:]):
                break  # the footer: one text cell per row
            raise source.error(
                "expected a well row", sheet=name, line=k + 1,
                expected="a well name such as 'A1'", found=repr(first[:40]),
            )
        well = first
        r, c = parse_well(well)
        key = f"{r}{c}"
        if key in seen:
            raise source.error(
                "well listed twice", sheet=name, line=k + 1, well=key,
                expected="each well once", found=f"again (first at row {seen[key]})",
            )
        seen[key] = k + 1
        wells.append((k + 1, key, (cells[1 : ncol + 1] + [""] * ncol)[:ncol]))
        k += 1
    if not wells:
        raise source.error("no well rows", sheet=name, expected="rows 'A1', 'A2', ...", found="none")
    meas = _magellan_measurements(rows, k)
    distinct = list(dict.fromkeys(labels))
    reads_of_label: dict[str, str] = {}
    for i, lab in enumerate(distinct):
        read = None
        if i < len(meas):
            m = meas[i]
            read = _read_from_settings(m["mode"], m["wl"], m["ex"], m["em"], m["ref"])
        reads_of_label[lab] = read or slug(lab)
    out = _Reads(source)
    counts = {lab: labels.count(lab) for lab in distinct}
    cycle_no: list[int | None] = []
    running: dict[str, int] = {}
    col_reads = []
    for lab in labels:
        running[lab] = running.get(lab, 0) + 1
        cyc = running[lab] if counts[lab] > 1 else None
        cycle_no.append(cyc)
        read = out.unique("1", reads_of_label[lab], lab)
        col_reads.append(read if cyc is None else f"{read}@cycle{cyc}")
    for j in range(ncol):
        for _line, well, values in wells:
            out.add("1", well, col_reads[j], values[j], labels[j], cycle_no[j], times[j], temps[j])
    return out.table()


# ------------------------------------------------------------------ i-control

_ICONTROL_RE = re.compile(r"Tecan i-control|SparkControl|Application:\s*Tecan", re.I)


def _icontrol_sheets(source: Source) -> list[str]:
    names = []
    for name in source.sheet_names:
        rows = source.sheet(name)
        has_app = any(
            isinstance(c, str) and _ICONTROL_RE.search(c) for cells in rows[:10] for c in cells[:6]
        )
        has_label = any(cells and cell_text(cells[0]).startswith("Label:") for cells in rows)
        if has_label and (has_app or any(cells and cell_text(cells[0]).strip() == "<>" for cells in rows)):
            names.append(name)
    return names


def _sniff_icontrol(source: Source) -> bool:
    if source.kind not in ("xlsx", "xls"):
        return False
    try:
        return bool(_icontrol_sheets(source))
    except ReaderError:
        return False


def _setting(cells: Sequence[Any]) -> Any:
    return next((c for c in cells[1:] if cell_text(c).strip()), "")


def _kinetic_rows(rows, k, out: _Reads, *, source, sheet, plate, read, label) -> int:
    """Kinetic block with cycles across (``Cycle Nr.`` row, then one row per well)."""
    cycles_row = strip_trailing(rows[k])
    ncyc = len(cycles_row) - 1
    cycles = []
    for j, c in enumerate(cycles_row[1:], start=2):
        v = _first_number(c)
        if math.isnan(v):
            raise source.error(
                "cycle number is not a number", sheet=sheet, line=k + 1,
                expected="1, 2, 3 ...", found=f"{cell_text(c)!r} in column {j}",
            )
        cycles.append(int(v))
    times = [math.nan] * ncyc
    temps = [math.nan] * ncyc
    k += 1
    well_rows = []
    while k < len(rows):
        cells = list(rows[k]) + [""] * (ncyc + 1)
        first = cell_text(cells[0]).strip()
        if first.startswith("Time"):
            times = [_first_number(c) for c in cells[1 : ncyc + 1]]
        elif first.startswith("Temp"):
            temps = [_first_number(c) for c in cells[1 : ncyc + 1]]
        elif _is_well(first):
            well_rows.append((parse_well(first), cells[1 : ncyc + 1], k + 1))
        else:
            break
        k += 1
    if not well_rows:
        raise source.error(
            "kinetic block without wells", sheet=sheet, line=k + 1,
            expected="rows 'A1', 'A2', ... after 'Cycle Nr.'", found="none",
        )
    _emit_kinetic(out, source, sheet, plate, read, label, cycles, times, temps, well_rows)
    return k


def _emit_kinetic(out, source, sheet, plate, read, label, cycles, times, temps, well_rows) -> None:
    seen: set[str] = set()
    for (r, c), _values, line in well_rows:
        if f"{r}{c}" in seen:
            raise source.error(
                "well listed twice in kinetic block", sheet=sheet, line=line, well=f"{r}{c}",
                expected="each well once", found="again",
            )
        seen.add(f"{r}{c}")
    seen_cycles: set[int] = set()
    wells = [f"{r}{c}" for (r, c), _v, _l in well_rows]
    for j, cyc in enumerate(cycles):
        # a cycle announced but never measured (no time, every well empty) is not data
        if math.isnan(times[j]) and all(not cell_text(v[j]).strip() for _w, v, _l in well_rows):
            continue
        if cyc in seen_cycles:
            raise source.error(
                "cycle number repeated", sheet=sheet, line=well_rows[0][2] - 1,
                expected="distinct cycle numbers", found=f"cycle {cyc} again",
            )
        seen_cycles.add(cyc)
        out.add_many(plate, wells, f"{read}@cycle{cyc}", [v[j] for _w, v, _l in well_rows], label, cyc,
                     times[j], temps[j])


def _kinetic_columns(rows, k, out: _Reads, *, source, sheet, plate, read, label) -> int:
    """Transposed kinetic block: header ``Cycle Nr., Time [s], Temp. [°C], A1, A2, ...``."""
    header = strip_trailing(rows[k])
    wells = []
    for j, c in enumerate(header):
        if _is_well(c):
            wells.append((j, parse_well(cell_text(c).strip())))
    if not wells:
        raise source.error(
            "kinetic header without wells", sheet=sheet, line=k + 1,
            expected="'Cycle Nr.', 'Time [s]', 'A1', 'A2' ...", found=repr([cell_text(c) for c in header[:5]]),
        )
    names = [cell_text(c).strip() for c in header]
    t_col = next((j for j, n in enumerate(names) if n.startswith("Time")), None)
    temp_col = next((j for j, n in enumerate(names) if n.startswith("Temp")), None)
    cycles, times, temps, cols = [], [], [], {w: [] for _j, w in wells}
    k += 1
    while k < len(rows):
        cells = list(rows[k]) + [""] * len(header)
        cyc = _first_number(cells[0]) if cell_text(cells[0]).strip() else math.nan
        if math.isnan(cyc) or not _NUMBER_ONLY_RE.match(cell_text(cells[0]).strip()):
            break
        cycles.append(int(cyc))
        times.append(_first_number(cells[t_col]) if t_col is not None else math.nan)
        temps.append(_first_number(cells[temp_col]) if temp_col is not None else math.nan)
        for j, w in wells:
            cols[w].append(cells[j])
        k += 1
    well_rows = [(w, cols[w], k) for _j, w in wells]
    _emit_kinetic(out, source, sheet, plate, read, label, cycles, times, temps, well_rows)
    return k


@register(
    "tecan_icontrol",
    kind="plate",
    sniff=_sniff_icontrol,
    description="Tecan i-control / Spark .xlsx ('Label:' blocks, '<>' grids, kinetic cycles)",
)
def read_tecan_icontrol(source: Source) -> pd.DataFrame:
    """Read a Tecan i-control (infinite) or Spark workbook.

    Parameters
    ----------
    source : Source
        The .xlsx export.

    Returns
    -------
    pandas.DataFrame
        Canonical plate-read table with extra columns ``label`` (the Tecan label name),
        ``cycle`` (Int64; <NA> for endpoint grids), ``time_s`` and ``temperature_c``.
        Endpoint grids give reads such as ``'abs_600'``; kinetic cycles
        ``'abs_600@cycle1'`` ... A second label with the same read gets ``'#2'``.
        Each sheet holding labels is a plate (``'1'`` when there is one).

    Raises
    ------
    ReaderError
        A grid or kinetic block before any ``Label:`` line, broken grids, repeated
        wells or cycles, or a workbook without measurement blocks.
    """
    names = _icontrol_sheets(source)
    if not names:
        raise source.error(
            "no i-control measurement sheet", expected="'Label: ...' blocks with '<>' grids",
            found=f"sheets {source.sheet_names[:5]}",
        )
    out = _Reads(source)
    blocks_seen: dict[tuple[str, str, str], int] = {}
    for name in names:
        plate = "1" if len(names) == 1 else name
        rows = source.sheet(name)
        label = None
        settings: dict[str, Any] = {}
        temperature = math.nan
        k = 0
        while k < len(rows):
            cells = rows[k]
            first = cell_text(cells[0] if cells else "").strip()
            if first.startswith("Label:"):
                label = first[len("Label:"):].strip() or f"label{k + 1}"
                settings = {"mode": "", "wl": math.nan, "ex": math.nan, "em": math.nan, "ref": math.nan}
                temperature = math.nan
            elif label is not None and first in ("Mode",):
                settings["mode"] = cell_text(_setting(cells))
            elif label is not None and first in ("Measurement Wavelength", "Excitation Wavelength",
                                                 "Emission Wavelength", "Reference Wavelength"):
                key = {"M": "wl", "E": "ex" if first.startswith("Ex") else "em", "R": "ref"}[first[0]]
                settings[key] = _first_number(_setting(cells))
            elif any(isinstance(c, str) and c.strip().startswith("Temperature:") for c in cells[:3]):
                t = next(c for c in cells[:3] if isinstance(c, str) and c.strip().startswith("Temperature:"))
                temperature = _first_number(t)
            elif first in ("<>", "Cycle Nr.", "Cycle Nr"):
                if label is None:
                    raise source.error(
                        "data block before any 'Label:' line", sheet=name, line=k + 1,
                        expected="'Label: <name>' above the data", found=repr(first),
                    )
                read = _read_from_settings(settings["mode"], settings["wl"], settings["ex"],
                                           settings["em"], settings["ref"]) or slug(label)
                kind = "endpoint" if first == "<>" else "kinetic"
                if (plate, label, kind) in blocks_seen:
                    raise source.error(
                        f"a second {kind} block for the same label", sheet=name, line=k + 1,
                        expected=f"one {kind} block per label",
                        found=f"label {label!r} again (first block at row {blocks_seen[(plate, label, kind)]})",
                    )
                blocks_seen[(plate, label, kind)] = k + 1
                read = out.unique(plate, read, label, kind)
                if first == "<>":
                    grid = read_grid(rows, k, source=source, sheet=name)
                    for well, _line, cell in grid.cells():
                        out.add(plate, well, read, cell, label, None, math.nan, temperature)
                    k = grid.end
                    continue
                nxt = cell_text(cells[1] if len(cells) > 1 else "").strip()
                if nxt.startswith("Time") or _is_well(nxt):
                    k = _kinetic_columns(rows, k, out, source=source, sheet=name, plate=plate,
                                         read=read, label=label)
                else:
                    k = _kinetic_rows(rows, k, out, source=source, sheet=name, plate=plate,
                                      read=read, label=label)
                continue
            k += 1
    if not out.cols["well"]:
        raise source.error(
            "no data grid found", expected="a '<>' grid or a 'Cycle Nr.' block under a 'Label:' line",
            found="none",
        )
    return out.table()

