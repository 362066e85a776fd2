"""Luminex xMAP bead-assay exports: xPONENT batch CSV (``'xponent'``), INTELLIFLEX CSV
(``'intelliflex'``) and Bio-Plex Manager XML readings (``'bioplex'``).

The readers return the canonical plate-read table (one row per plate × well ×
analyte × metric); ``read`` is the analyte name exactly as exported and ``metric``
says what the number is (``'median'``, ``'net_mfi'``, ``'count'``, ``'result'`` ...).
The format, the metric names and the flag rules are documented in
``docs/formats/luminex.md``.

:func:`xponent_fits` reads the instrument's own curve coefficients. The expected standard
concentrations an export carries (``metric == 'expected_conc'`` rows) are turned into a
standard series by the analysis layer
(:func:`assaykit.immunoassay.standards_from_plate`).

Examples
--------
>>> from assaykit.io import read_plate
>>> df = read_plate("batch.csv")  # doctest: +SKIP
>>> df.query("metric == 'net_mfi' and read == 'IL6'")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import os
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from assaykit.io._cells import (
    ExportMetadata,
    csv_rows,
    detect_delimiter,
    metric_name,
    pad_row,
    parse_cells,
    parse_number,
)
from assaykit.io._registry import register
from assaykit.io._source import Source, load_source
from assaykit.schema import (
    join_flags,
    plate_table,
    row_letter,
)

__all__ = [
    "metric_name",
    "read_bioplex",
    "read_intelliflex",
    "read_xponent",
    "xponent_fits",
]

#: Extra columns of an xPONENT table, always present, in this order.
XPONENT_EXTRA = ("sample_label", "analyte_unit", "dilution", "total_events", "comment", "warning")
#: Extra columns of an INTELLIFLEX table, always present, in this order.
INTELLIFLEX_EXTRA = ("sample_label", "reporter", "dilution")

# --------------------------------------------------------------------------- cells

def _text_flags(text: str) -> str:
    """Flags named by an instrument comment ('Extrapolated', 'Control Failed.', 'OOR <')."""
    low = text.lower()
    flags = []
    if "extrapolated" in low:
        flags.append("extrapolated")
    if "control failed" in low:
        flags.append("control_failed")
    m = re.search(r"oor\s*([<>])", low)
    if m:
        flags.append("out_of_range_low" if m.group(1) == "<" else "out_of_range_high")
    return ";".join(flags)


# --------------------------------------------------------------------------- xPONENT

_LOCATION_RE = re.compile(
    r"^(\d+)\s*\(\s*(\d+)\s*[,;\t]\s*([A-Za-z]{1,2})\s*0*([1-9]\d{0,2})\s*\)$"
)
_WARN_LOC_RE = re.compile(r"^(\d+)\s*[,;\t]\s*([A-Za-z]{1,2})\s*0*([1-9]\d{0,2})$")
_SPLIT_LOC_HEAD = re.compile(r"^\d+\s*\(\s*\d+$")
_SPLIT_LOC_TAIL = re.compile(r"^[A-Za-z]{1,2}\s*\d{1,3}\s*\)$")

# Blocks keyed by Location whose cells are not measurements.
_WELL_TEXT_BLOCKS = {"range", "comments"}
_WELL_SPECIAL_BLOCKS = {"dilution factor", "acquisition time", "warnings/errors"}
# Column headers that are not analytes.
_NOT_ANALYTES = {"location", "sample", "reagent", "analyte:", "total events", ""}


@dataclass
class _Block:
    name: str
    line: int
    header: list[str]
    rows: list[tuple[int, list[str]]] = field(default_factory=list)


@dataclass
class _Batch:
    header: dict[str, list[str]] = field(default_factory=dict)
    blocks: list[_Block] = field(default_factory=list)
    first_line: int = 1


def _merge_location(cells: list[str]) -> list[str]:
    """Re-join an unquoted ``1(1,A1)`` location that the CSV split into two cells."""
    if len(cells) >= 2 and _SPLIT_LOC_HEAD.match(cells[0]) and _SPLIT_LOC_TAIL.match(cells[1]):
        return [cells[0] + "," + cells[1], *cells[2:]]
    return cells


def _split_batches(rows: list[tuple[int, list[str]]]) -> list[_Batch]:
    batches: list[_Batch] = []
    cur = _Batch()
    block: _Block | None = None
    in_results = in_tables = False
    for line, cells in rows:
        first = cells[0] if cells else ""
        if first == "Program" and cur.blocks:  # a new batch starts after one that had data
            batches.append(cur)
            cur = _Batch(first_line=line)
            block, in_results, in_tables = None, False, False
        if first == "DataType:":
            block = _Block(name=cells[1] if len(cells) > 1 else "", line=line, header=[])
            cur.blocks.append(block)
            in_results = True
            continue
        if first.startswith("-- CRC") or first.startswith("CRC32"):
            block = None
            continue
        if not in_results:
            if first == "Results":
                in_results = True
            elif first in ("CALInfo:", "AssayLotInfo:"):
                in_tables = True  # calibrator / kit lot tables: not key/value lines
            elif first and first not in cur.header and (not in_tables or first == "Samples"):
                values = [c for c in cells[1:] if c]
                if values:
                    cur.header[first] = values
            continue
        if block is None:
            continue
        if not cells:
            # a blank row ends a block's data (blank rows before its header are skipped)
            if block.header:
                block = None
            continue
        if not block.header:
            block.header = cells
        else:
            block.rows.append((line, _merge_location(cells)))
    batches.append(cur)
    return [b for b in batches if b.blocks]


def _well_of(source: Source, text: str, line: int) -> tuple[str, str]:
    """``'12(1,D2)'`` → ``('1', 'D2')``."""
    m = _LOCATION_RE.match(text)
    if not m:
        raise source.error(
            "cannot read the well location",
            line=line,
            expected="a Location like '1(1,A1)' (index(plate,well))",
            found=repr(text[:60]),
        )
    return m.group(2), f"{m.group(3).upper()}{int(m.group(4))}"


def _analyte_columns(block: _Block) -> list[tuple[int, str]]:
    return [(i, h) for i, h in enumerate(block.header) if h.strip().lower() not in _NOT_ANALYTES]


class _XponentBuilder:
    """Collects the rows of one file; see :func:`read_xponent`."""

    def __init__(self, source: Source, decimal_comma: bool) -> None:
        self.source = source
        self.dc = decimal_comma
        # One entry per row of the output ...
        self.rows: dict[str, list] = {k: [] for k in ("wi", "read", "metric", "raw")}
        self.comments_at: dict[int, str] = {}  # row → Range/Comments text
        self.count_rows: list[tuple[int, int, dict[str, float], float | None]] = []
        # ... pointing into one entry per well (over all batches).
        self.wells: dict[str, list] = {
            k: []
            for k in (
                "plate",
                "well",
                "sample_label",
                "dilution",
                "total_events",
                "warning",
                "batch",
            )
        }
        self.units: list[dict[str, str]] = []  # per batch: analyte → unit
        self.used_names: set[str] = set()

    # ----------------------------------------------------------------- batch
    def batch(self, batch: _Batch, index: int) -> None:
        src = self.source
        wells, well_blocks, text_flags = self._location_blocks(batch)
        if not well_blocks:
            raise src.error(
                "no well data found",
                line=batch.first_line,
                expected="'DataType:' blocks with a 'Location' column (e.g. Median, Net MFI, Count)",
                found=f"blocks {[b.name for b in batch.blocks][:8]}",
            )

        units, per_bead = self._analyte_info(batch)
        self.units.append(units)
        min_events = self._min_events(batch)
        by_label, widx = self._add_wells(batch, index, wells)

        def emit_cells(wi, metric, analytes, cells, comments=None):
            self._emit_cells(wi, metric, analytes, cells, comments, per_bead, min_events)

        # Per-well measurement blocks.
        for blk, analytes, seen in well_blocks:
            metric = metric_name(blk.name)
            for key, cells in seen.items():
                comments = text_flags.get(key) if metric == "result" else None
                emit_cells(widx[key], metric, analytes, cells, comments)
        self._group_blocks(batch, by_label, widx, emit_cells)
        self._reagent_blocks(batch, by_label, widx, emit_cells)

    def _location_blocks(self, batch: _Batch) -> tuple[dict, list, dict]:
        """The wells of a batch (Location order) with their label, dilution, events and
        warning; the per-well measurement blocks ``(block, analytes, cells by well)``; and
        the Range/Comments texts by well and analyte."""
        src = self.source
        # Wells, in Location order, with their sample label, from every Location-keyed block.
        wells: dict[tuple[str, str], dict] = {}
        well_blocks: list[tuple[_Block, list[tuple[int, str]], dict]] = []
        text_flags: dict[tuple[str, str], dict[str, str]] = {}
        locations: dict[str, tuple[str, str]] = {}  # Location text -> (plate number, well)
        for blk in batch.blocks:
            if blk.header and _LOCATION_RE.match(_merge_location(blk.header)[0]):
                raise src.error(
                    f"the '{blk.name}' block has no header row",
                    line=blk.line,
                    expected="a 'Location,Sample,<analytes>' row after the DataType line",
                    found=f"a data row {','.join(blk.header[:3])!r}",
                )
            if not blk.header or blk.header[0].lower() != "location":
                continue
            lname = blk.name.strip().lower()
            if lname == "warnings/errors":
                self._warnings(blk, wells)
                continue
            analytes = _analyte_columns(blk)
            low_header = [h.lower() for h in blk.header]
            j_events = low_header.index("total events") if "total events" in low_header else None
            j_dil = low_header.index("dilution factor") if "dilution factor" in low_header else 2
            seen: dict[tuple[str, str], list[str]] = {}
            n_header = len(blk.header)
            for line, cells in blk.rows:
                key = locations.get(cells[0])
                if key is None:
                    key = locations[cells[0]] = _well_of(src, cells[0], line)
                well = key[1]
                if key in seen:
                    raise src.error(
                        f"well listed twice in the '{blk.name}' block",
                        line=line,
                        well=well,
                        expected="each well once per DataType block",
                        found=f"a second row for {well}",
                    )
                if len(cells) > n_header:
                    raise src.error(
                        f"row has more values than the '{blk.name}' header has columns",
                        line=line,
                        well=well,
                        expected=f"{len(blk.header)} columns",
                        found=f"{len(cells)} values",
                    )
                cells = cells + [""] * (n_header - len(cells))
                seen[key] = cells
                info = wells.get(key)
                if info is None:
                    info = wells[key] = {"label": "", "dilution": math.nan, "events": math.nan, "warning": ""}
                if not info["label"] and len(cells) > 1:
                    info["label"] = cells[1]
                if j_events is not None and math.isnan(info["events"]):
                    v = parse_number(cells[j_events], decimal_comma=self.dc)
                    if v is not None:
                        info["events"] = v
                if lname == "dilution factor":
                    v = parse_number(cells[j_dil], decimal_comma=self.dc) if j_dil < len(cells) else None
                    info["dilution"] = math.nan if v is None else v
            if lname in _WELL_TEXT_BLOCKS:
                for key, cells in seen.items():
                    for i, analyte in analytes:
                        if cells[i]:
                            d = text_flags.setdefault(key, {})
                            d[analyte] = f"{d[analyte]}; {cells[i]}" if analyte in d else cells[i]
            elif lname not in _WELL_SPECIAL_BLOCKS:
                well_blocks.append((blk, analytes, seen))
        return wells, well_blocks, text_flags

    def _add_wells(self, batch: _Batch, index: int, wells: dict) -> tuple[dict, dict]:
        """Append the wells of a batch to :attr:`wells`; returns the wells by sample label
        and the index of every well."""
        plate_nos = sorted({k[0] for k in wells}, key=int)
        plate_name = self._plate_names(batch, index, plate_nos)
        by_label: dict[str, list[tuple[str, str]]] = {}
        widx: dict[tuple[str, str], int] = {}
        W = self.wells
        for key, info in wells.items():
            by_label.setdefault(info["label"], []).append(key)
            widx[key] = len(W["well"])
            W["plate"].append(plate_name[key[0]])
            W["well"].append(key[1])
            W["sample_label"].append(info["label"])
            W["dilution"].append(info["dilution"])
            W["total_events"].append(info["events"])
            W["warning"].append(info["warning"])
            W["batch"].append(len(self.units) - 1)

        return by_label, widx

    def _emit_cells(self, wi, metric, analytes, cells, comments, per_bead, min_events) -> None:
        """Append one row per analyte of a block row to :attr:`rows`."""
        R = self.rows
        r_wi, r_read, r_metric, r_raw = R["wi"], R["read"], R["metric"], R["raw"]
        names = [a for _, a in analytes]
        n = len(names)
        start = len(r_raw)
        if n and len(cells) > analytes[-1][0]:
            r_raw.extend(cells[i] for i, _ in analytes)
        else:
            ncell = len(cells)
            r_raw.extend([cells[i] if i < ncell else "" for i, _ in analytes])
        r_read.extend(names)
        r_metric.extend([metric] * n)
        r_wi.extend([wi] * n)
        if metric == "count":
            self.count_rows.append((start, n, per_bead, min_events))
        if comments:
            for j, name in enumerate(names):
                c = comments.get(name)
                if c:
                    self.comments_at[start + j] = c

    def _group_blocks(self, batch: _Batch, by_label: dict, widx: dict, emit_cells) -> None:
        """Per-sample (replicate group) blocks: repeated on each well of the group."""
        src = self.source
        avg_text: dict[tuple[str, str], dict[str, str]] = {}
        group_blocks = [
            b for b in batch.blocks if b.header and b.header[0].lower() == "sample" and b.rows
        ]
        for blk in group_blocks:
            if blk.name.strip().lower() == "avg range":
                for keys, cells, _line in self._groups(blk, by_label):
                    for i, analyte in _analyte_columns(blk):
                        if i < len(cells) and cells[i]:
                            for key in keys:
                                avg_text.setdefault(key, {})[analyte] = cells[i]
        for blk in group_blocks:
            if blk.name.strip().lower() == "avg range":
                continue
            metric = metric_name(blk.name)
            analytes = _analyte_columns(blk)
            for keys, cells, line in self._groups(blk, by_label):
                if len(cells) > len(blk.header):
                    raise src.error(
                        f"row has more values than the '{blk.name}' header has columns",
                        line=line,
                        expected=f"{len(blk.header)} columns",
                        found=f"{len(cells)} values",
                    )
                for key in keys:
                    comments = avg_text.get(key) if metric == "avg_result" else None
                    emit_cells(widx[key], metric, analytes, cells, comments)


    def _reagent_blocks(self, batch: _Batch, by_label: dict, widx: dict, emit_cells) -> None:
        """Per-reagent blocks (expected concentrations, control ranges) → wells with that label."""
        src = self.source
        for blk in batch.blocks:
            if not blk.header or blk.header[0].lower() != "reagent":
                continue
            metric = metric_name(blk.name)
            analytes = _analyte_columns(blk)
            seen_reagents: set[str] = set()
            for line, cells in blk.rows:
                reagent = cells[0]
                if reagent in seen_reagents:
                    raise src.error(
                        f"reagent listed twice in the '{blk.name}' block",
                        line=line,
                        sample=reagent,
                        expected="each standard/control once",
                        found=f"a second row for {reagent!r}",
                    )
                seen_reagents.add(reagent)
                for key in by_label.get(reagent, []):
                    emit_cells(widx[key], metric, analytes, cells)

    def _groups(self, blk: _Block, by_label: dict[str, list[tuple[str, str]]]):
        """Yield ``(well keys, cells, line)`` for each row of a Sample-keyed block."""
        counts: dict[str, int] = {}
        for _line, cells in blk.rows:
            counts[cells[0]] = counts.get(cells[0], 0) + 1
        nth: dict[str, int] = {}
        for line, cells in blk.rows:
            label = cells[0]
            keys = by_label.get(label)
            if not keys:
                raise self.source.error(
                    f"sample in the '{blk.name}' block matches no well",
                    line=line,
                    sample=label,
                    expected="a Sample name used in the Location-keyed blocks",
                    found=repr(label),
                )
            i = nth.get(label, 0)
            nth[label] = i + 1
            if counts[label] == 1:
                yield keys, cells, line
            elif counts[label] == len(keys):
                yield [keys[i]], cells, line
            else:
                raise self.source.error(
                    f"cannot match the '{blk.name}' rows of a sample to its wells",
                    line=line,
                    sample=label,
                    expected=f"1 or {len(keys)} rows (one per well named {label!r})",
                    found=f"{counts[label]} rows",
                )

    def _warnings(self, blk: _Block, wells: dict) -> None:
        """Warnings/Errors rows ('1,B9', 'Warning', message) → the well's ``warning`` text."""
        for _line, cells in blk.rows:
            cells = list(cells)
            if (
                len(cells) >= 2
                and cells[0].isdigit()
                and re.match(r"^[A-Za-z]{1,2}\d{1,3}$", cells[1])
            ):
                cells = [cells[0] + "," + cells[1], *cells[2:]]  # unquoted '1,B9'
            m = _WARN_LOC_RE.match(cells[0]) if cells else None
            if not m:
                m2 = _LOCATION_RE.match(cells[0]) if cells else None
                if not m2:
                    continue  # batch-level message without a well
                key = (m2.group(2), f"{m2.group(3).upper()}{int(m2.group(4))}")
            else:
                key = (m.group(1), f"{m.group(2).upper()}{int(m.group(3))}")
            text = ": ".join(c for c in cells[1:3] if c)
            info = wells.setdefault(
                key, {"label": "", "dilution": math.nan, "events": math.nan, "warning": ""}
            )
            info["warning"] = f"{info['warning']}; {text}" if info["warning"] else text

    def _analyte_info(self, batch: _Batch) -> tuple[dict[str, str], dict[str, float]]:
        units: dict[str, str] = {}
        per_bead: dict[str, float] = {}
        for blk in batch.blocks:
            if not blk.header or blk.header[0].lower() != "analyte:":
                continue
            analytes = _analyte_columns(blk)
            for _line, cells in blk.rows:
                key = cells[0].lower() if cells else ""
                if key == "units:":
                    for i, a in analytes:
                        if i < len(cells) and cells[i]:
                            units[a] = cells[i]
                elif key == "per bead:":
                    for i, a in analytes:
                        v = parse_number(cells[i], decimal_comma=self.dc) if i < len(cells) else None
                        if v is not None:
                            per_bead[a] = v
        return units, per_bead

    def _min_events(self, batch: _Batch) -> float | None:
        vals = batch.header.get("Samples", [])
        for i, v in enumerate(vals[:-1]):
            if v.lower() == "min events":
                return parse_number(vals[i + 1], decimal_comma=self.dc)
        return None

    def _plate_names(self, batch: _Batch, index: int, plate_nos: list[str]) -> dict[str, str]:
        batch_name = (batch.header.get("Batch") or [""])[0] or str(index)
        if batch_name in self.used_names:
            batch_name = f"{batch_name}_{index}"
        self.used_names.add(batch_name)
        if len(plate_nos) == 1:
            return {plate_nos[0]: batch_name}
        return {p: f"{batch_name}_{p}" for p in plate_nos}

    def table(self) -> pd.DataFrame:
        R, W = self.rows, self.wells
        wi = np.asarray(R["wi"], dtype=np.intp)
        raw = np.asarray(R["raw"], dtype=object)
        reads = np.asarray(R["read"], dtype=object)
        value, flag = parse_cells(raw, self.dc)
        # Bead counts below the protocol's per-bead count.
        for start, n, per_bead, min_events in self.count_rows:
            for j in range(start, start + n):
                threshold = per_bead.get(reads[j], min_events)
                if threshold is not None and value[j] < threshold:
                    flag[j] = join_flags(flag[j], "low_bead_count")
        comment = np.full(len(raw), "", dtype=object)
        for j, text in self.comments_at.items():
            comment[j] = text
            flag[j] = join_flags(flag[j], _text_flags(text))

        def take(name, dtype=object):
            return np.asarray(W[name], dtype=dtype)[wi]

        # analyte_unit: per batch × analyte
        codes, uniq = pd.factorize(reads)
        batch = take("batch", np.intp)
        unit_table = np.asarray(
            [[u.get(r, "") for r in uniq] or [""] for u in self.units] or [[""]], dtype=object
        )
        unit_col = unit_table[batch, codes] if len(codes) else np.asarray([], dtype=object)
        return plate_table(
            plate=take("plate"),
            well=take("well"),
            read=reads,
            metric=np.asarray(R["metric"], dtype=object),
            value=value,
            raw=raw,
            flag=flag,
            source_file=self.source.name,
            extra={
                "sample_label": take("sample_label"),
                "analyte_unit": unit_col,
                "dilution": take("dilution", float),
                "total_events": take("total_events", float),
                "comment": comment,
                "warning": take("warning"),
            },
        )


def _first_cells(source: Source) -> list[str]:
    head = source.head(2000)
    for ln in head.splitlines():
        if ln.strip():
            return [c.strip().strip('"').strip() for c in re.split(r"[,;\t]", ln)]
    return []


def _sniff_xponent(source: Source) -> bool:
    cells = _first_cells(source)
    if cells and cells[0] == "Program" and any(c.lower() == "xponent" for c in cells[1:4]):
        return True
    head = source.head(6000)
    return "DataType:" in head and "Location" in head and "Batch" in head


@register(
    "xponent",
    kind="plate",
    sniff=_sniff_xponent,
    description="Luminex xPONENT batch CSV (MAGPIX, LX100/200, FLEXMAP 3D): Median, Net MFI, Count, Result ...",
    priority=20,
)
def read_xponent(source: Source) -> pd.DataFrame:
    """Read a Luminex xPONENT batch CSV export.

    Parameters
    ----------
    source : Source
        The export (see :func:`assaykit.io.read_plate`).

    Returns
    -------
    pandas.DataFrame
        Canonical plate-read table; ``read`` = analyte name as exported, ``metric`` =
        snake_case of the DataType (``median``, ``net_mfi``, ``count``, ``result``,
        ``avg_net_mfi``, ``avg_result``, ``cv_replicates_pct``, ``recovery_pct``,
        ``expected_conc``, ``control_range_low`` ...). Extra columns :data:`XPONENT_EXTRA`:
        ``sample_label`` (the Sample column), ``analyte_unit`` (Units block, ``''`` when not
        given), ``dilution`` (Dilution Factor block, NaN when not given), ``total_events``,
        ``comment`` (Range/Comments text of a Result cell) and ``warning`` (the
        Warnings/Errors text of the well). ``df.attrs['metadata']`` holds the header
        key/values (``Program``, ``Build``, ``SN``, ``Batch``, ``ProtocolName`` ...).

    Raises
    ------
    ReaderError
        If no Location-keyed block is found, a location cannot be read, a well is listed
        twice in a block, a row is longer than its header, or a replicate-group row
        cannot be matched to wells.
    """
    builder, batches = _xponent_parse(source)
    df = builder.table()
    df.attrs["metadata"] = _header_metadata(batches)
    return df


def _header_metadata(batches: list[_Batch]) -> ExportMetadata:
    """Header key/values (``Program``, ``Build``, ``SN``, ``Batch`` ...) of all batches.

    Values are the non-empty cells after the key joined with ``' '``; when batches
    disagree, their distinct values are joined with ``'; '``.
    """
    out: dict[str, list[str]] = {}
    for b in batches:
        for key, vals in b.header.items():
            text = " ".join(vals)
            seen = out.setdefault(key, [])
            if text not in seen:
                seen.append(text)
    return ExportMetadata({k: "; ".join(v) for k, v in out.items()})


def _xponent_parse(source: Source) -> tuple[_XponentBuilder, list[_Batch]]:
    source.text  # noqa: B018 - raises ReaderError for binary/empty input
    delim = detect_delimiter(source.lines)
    rows = csv_rows(source, delim)
    batches = _split_batches(rows)
    if not batches:
        raise source.error(
            "no 'DataType:' blocks found",
            expected="an xPONENT export with a Results section",
            found=f"{len(source.lines)} lines without data blocks",
        )
    builder = _XponentBuilder(source, decimal_comma=(delim == ";"))
    for i, batch in enumerate(batches, start=1):
        builder.batch(batch, i)
    return builder, batches


def xponent_fits(path: str | os.PathLike | Source) -> pd.DataFrame:
    """The standard-curve fits an xPONENT export reports, one row per plate × analyte × parameter.

    Reads the Analysis Types, Analysis Coefficients and R^2 blocks, so that an
    independent fit can be compared with the instrument's.

    Parameters
    ----------
    path : str, path-like or Source
        An xPONENT batch CSV.

    Returns
    -------
    pandas.DataFrame
        Columns ``plate`` (as in :func:`read_xponent`; a batch's fit is repeated for each
        of its plates), ``read`` (analyte), ``analysis_type`` (``'Logistic 5P'`` ...),
        ``parameter`` (the coefficient letter ``'A'``, ``'B'`` ... or ``'r_squared'``),
        ``value`` (float, NaN when not a number), ``raw`` (the exported text) and
        ``flag`` (``''``, or ``not_numeric`` / ``empty`` where ``value`` is NaN). Empty
        (same columns) when the export reports no fit (``ProtocolAnalysis,Off``). How the
        letters enter the curve equation is the instrument's convention (see its manual).

    Raises
    ------
    ReaderError
        As :func:`read_xponent`.
    """
    source = load_source(path)
    builder, batches = _xponent_parse(source)
    W = builder.wells
    out: dict[str, list] = {k: [] for k in ("plate", "read", "analysis_type", "parameter", "raw")}
    for bi, batch in enumerate(batches):
        plates = list(
            dict.fromkeys(p for p, b in zip(W["plate"], W["batch"], strict=True) if b == bi)
        )
        types: dict[str, str] = {}
        params: list[tuple[str, str, str]] = []  # analyte, parameter, raw
        for blk in batch.blocks:
            if not blk.header or blk.header[0].lower() != "analyte:":
                continue
            name = blk.name.strip().lower()
            analytes = _analyte_columns(blk)
            for _line, cells in blk.rows:
                key = cells[0].strip()
                for i, analyte in analytes:
                    text = cells[i] if i < len(cells) else ""
                    if name == "analysis types" and key.lower() == "analysistype":
                        types[analyte] = text
                    elif name == "analysis coefficients" and key.lower().startswith("coefficient"):
                        params.append((analyte, key.split()[-1], text))
                    elif name == "r^2" and text:
                        params.append((analyte, "r_squared", text))
        for plate in plates:
            for analyte, param, text in params:
                out["plate"].append(plate)
                out["read"].append(analyte)
                out["analysis_type"].append(types.get(analyte, ""))
                out["parameter"].append(param)
                out["raw"].append(text)
    value = (
        np.asarray([parse_number(t, decimal_comma=builder.dc) for t in out["raw"]], dtype=float) if out["raw"] else []
    )
    return pd.DataFrame(
        {
            "plate": pd.Series(out["plate"], dtype=object),
            "read": pd.Series(out["read"], dtype=object),
            "analysis_type": pd.Series(out["analysis_type"], dtype=object),
            "parameter": pd.Series(out["parameter"], dtype=object),
            "value": pd.Series(value, dtype=float),
            "raw": pd.Series(out["raw"], dtype=object),
            "flag": pd.Series(
                [
                    "" if v == v else ("not_numeric" if t else "empty")
                    for v, t in zip(value, out["raw"], strict=True)
                ],
                dtype=object,
            ),
        }
    )


# --------------------------------------------------------------------------- INTELLIFLEX

_IFX_COL_RE = re.compile(r"^(.+?):\s*(RP\d+)\s+(.+)$", re.IGNORECASE)


def _sniff_intelliflex(source: Source) -> bool:
    cells = [c.upper() for c in _first_cells(source)]
    return "WELL LOCATION" in cells and any(_IFX_COL_RE.match(c) for c in cells)


@register(
    "intelliflex",
    kind="plate",
    sniff=_sniff_intelliflex,
    description="Luminex INTELLIFLEX CSV (one row per well, 'R25: RP1 MEDIAN' columns)",
    priority=20,
)
def read_intelliflex(source: Source) -> pd.DataFrame:
    """Read a Luminex INTELLIFLEX CSV export (one row per well).

    Parameters
    ----------
    source : Source
        The export.

    Returns
    -------
    pandas.DataFrame
        Canonical plate-read table. A column ``'<name>: <RPn> <STATISTIC>'`` gives
        ``read`` = ``<name>`` for reporter RP1 and ``'<name> <RPn>'`` for the other
        reporters, and ``metric`` = snake_case of the statistic (``median``, ``count``,
        ``average_mfi`` ...). Extra columns :data:`INTELLIFLEX_EXTRA`: ``sample_label``
        (SAMPLE ID), ``reporter`` (``'RP1'``, ``'RP2'``) and ``dilution`` (a DILUTION
        column when exported, else NaN). ``plate`` = PLATE NAME (``'1'`` when empty).

    Raises
    ------
    ReaderError
        If the header lacks WELL LOCATION or value columns, a well is unreadable or
        listed twice, or a row is longer than the header.
    """
    delim = detect_delimiter(source.lines)
    rows = csv_rows(source, delim)
    dc = delim == ";"
    cols: dict[str, list] = {
        k: [] for k in ("plate", "well", "read", "metric", "raw", *INTELLIFLEX_EXTRA)
    }
    header: list[str] | None = None
    spec: list[tuple[int, str, str, str]] = []
    idx: dict[str, int] = {}
    seen: set[tuple[str, str]] = set()
    for line, cells in rows:
        if not cells:
            continue
        upper = [c.upper() for c in cells]
        if "WELL LOCATION" in upper:
            header = cells
            idx = {h: i for i, h in enumerate(upper)}
            spec = []
            for i, h in enumerate(cells):
                m = _IFX_COL_RE.match(h)
                if m:
                    name, rep, stat = m.group(1).strip(), m.group(2).upper(), m.group(3).strip()
                    read = name if rep == "RP1" else f"{name} {rep}"
                    spec.append((i, read, rep, metric_name(stat)))
            pairs = [(r, m) for _, r, _, m in spec]
            dup = sorted({f"{r} {m}" for r, m in pairs if pairs.count((r, m)) > 1})
            if dup:
                raise source.error(
                    "two columns give the same analyte and statistic",
                    line=line,
                    expected="one column per analyte × reporter × statistic",
                    found=f"repeated {dup[:3]}",
                )
            if not spec:
                raise source.error(
                    "no value columns in the INTELLIFLEX header",
                    line=line,
                    expected="columns like 'R25: RP1 MEDIAN'",
                    found=f"{cells[:8]}",
                )
            continue
        if header is None:
            raise source.error(
                "no INTELLIFLEX header before the data",
                line=line,
                expected="a header row with 'WELL LOCATION' and 'R25: RP1 MEDIAN'-like columns",
                found=repr(",".join(cells)[:80]),
            )
        cells = pad_row(source, line, cells, len(header))
        wtext = cells[idx["WELL LOCATION"]]
        m = re.match(r"^([A-Za-z]{1,2})\s*0*(\d{1,3})$", wtext)
        if not m or int(m.group(2)) < 1:
            raise source.error(
                "cannot read the well location",
                line=line,
                expected="a well like 'A1'",
                found=repr(wtext[:40]),
            )
        well = f"{m.group(1).upper()}{int(m.group(2))}"
        plate = cells[idx["PLATE NAME"]] if "PLATE NAME" in idx else ""
        plate = plate or "1"
        if (plate, well) in seen:
            raise source.error(
                "well listed twice",
                line=line,
                plate=plate,
                well=well,
                expected="one row per well",
                found=f"a second row for {well}",
            )
        seen.add((plate, well))
        label = cells[idx["SAMPLE ID"]] if "SAMPLE ID" in idx else ""
        dil = math.nan
        for name in ("DILUTION", "DILUTION FACTOR"):
            if name in idx:
                v = parse_number(cells[idx[name]], decimal_comma=dc)
                dil = math.nan if v is None else v
        for i, read, rep, metric in spec:
            cols["plate"].append(plate)
            cols["well"].append(well)
            cols["read"].append(read)
            cols["metric"].append(metric)
            cols["raw"].append(cells[i])
            cols["sample_label"].append(label)
            cols["reporter"].append(rep)
            cols["dilution"].append(dil)
    if not cols["well"]:
        raise source.error(
            "no wells found",
            expected="an INTELLIFLEX header row and one row per well",
            found="only a header row",
        )
    raw = np.asarray(cols["raw"], dtype=object)
    value, flag = parse_cells(raw, dc)
    return plate_table(
        plate=np.asarray(cols["plate"], dtype=object),
        well=np.asarray(cols["well"], dtype=object),
        read=np.asarray(cols["read"], dtype=object),
        metric=np.asarray(cols["metric"], dtype=object),
        value=value,
        raw=raw,
        flag=flag,
        source_file=source.name,
        extra={
            "sample_label": np.asarray(cols["sample_label"], dtype=object),
            "reporter": np.asarray(cols["reporter"], dtype=object),
            "dilution": np.asarray(cols["dilution"], dtype=float),
        },
    )


# --------------------------------------------------------------------------- Bio-Plex Manager XML

#: Extra columns of a Bio-Plex Manager table, always present, in this order.
BIOPLEX_EXTRA = ("sample_label", "sample_type", "dilution", "comment")
_BIOPLEX_GROUPS = {
    "blank": "blank",
    "control": "control",
    "standard": "standard",
    "unknown": "unknown",
}
# MWAnalyte children → metric (others with a number: snake_case of the tag).
_BIOPLEX_METRICS = {"reading": "fi", "mwobsconc": "instrument_conc", "mwexpconc": "expected_conc"}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _sniff_bioplex(source: Source) -> bool:
    head = source.head(4000).lstrip()
    return head.startswith("<") and (
        "BioPlexManager" in head or "<MemberWell" in head or "<MWAnalyte" in head
    )


@register(
    "bioplex",
    kind="plate",
    sniff=_sniff_bioplex,
    description="Bio-Rad Bio-Plex Manager XML (Samples / MemberWell / MWAnalyte readings)",
    priority=20,
)
def read_bioplex(source: Source) -> pd.DataFrame:
    """Read the per-well analyte readings of a Bio-Plex Manager XML export.

    Reads every ``<Blank>``, ``<Control>``, ``<Standard>`` and ``<Unknown>`` sample of
    the ``<Samples>`` element: each ``<MemberWell RowNo ColNo>`` × ``<MWAnalyte>``
    gives rows with ``read`` = ``AnalyteName`` and ``metric`` = ``'fi'`` (the
    ``<Reading>``, Bio-Plex's fluorescence intensity), ``'instrument_conc'``
    (``<MWObsConc>``), ``'expected_conc'`` (``<MWExpConc>``, when exported) or the
    snake_case of another numeric child tag.

    Parameters
    ----------
    source : Source
        The XML export (a whole Bio-Plex Manager document or a ``<Samples>`` fragment).

    Returns
    -------
    pandas.DataFrame
        Canonical plate-read table with extra columns :data:`BIOPLEX_EXTRA`:
        ``sample_label`` (``<Label>``), ``sample_type`` (``blank``, ``control``,
        ``standard``, ``unknown``), ``dilution`` (``<Dilution>``, NaN when absent) and
        ``comment`` (``ReadError`` / outlier text). ``plate`` = the first ``<PlateID>``
        of the document, else ``'1'``. ``Reading Valid="false"`` or
        ``ReadingOK="false"`` → NaN with flag ``invalid`` (the exported number, often
        a placeholder 0, stays in ``raw``).

    Raises
    ------
    ReaderError
        If the XML is malformed, holds no MemberWell readings (e.g. a ``<Well>``
        fragment with run settings only), or a MemberWell has no valid row/column.
    """
    import xml.etree.ElementTree as ET

    try:
        root = ET.fromstring(source.data)
    except ET.ParseError as exc:
        raise source.error(
            f"malformed XML ({exc.msg if hasattr(exc, 'msg') else exc})",
            line=exc.position[0] if exc.position else None,
            expected="a Bio-Plex Manager XML document",
        ) from None
    plate = next(
        (
            el.text.strip()
            for el in root.iter()
            if _local(el.tag) == "PlateID" and el.text and el.text.strip()
        ),
        "1",
    )
    cols: dict[str, list] = {
        k: [] for k in ("well", "read", "metric", "raw", "flag", "comment", *BIOPLEX_EXTRA[:3])
    }
    for group in root.iter():
        stype = _BIOPLEX_GROUPS.get(_local(group.tag).lower())
        if stype is None:
            continue
        label, dil = "", math.nan
        for child in group:
            name = _local(child.tag)
            if name == "Label":
                label = (child.text or "").strip()
            elif name == "Dilution":
                v = parse_number((child.text or "").strip())
                dil = math.nan if v is None else v
        for mw in group.iter():
            if _local(mw.tag) != "MemberWell":
                continue
            r, c = mw.get("RowNo", ""), mw.get("ColNo", "")
            if not (r.isdigit() and c.isdigit() and int(r) >= 1 and int(c) >= 1):
                raise source.error(
                    "MemberWell without a valid position",
                    sample=label or stype,
                    expected="RowNo and ColNo attributes >= 1",
                    found=f"RowNo={r!r} ColNo={c!r}",
                )
            well = f"{row_letter(int(r) - 1)}{int(c)}"
            for an in mw.iter():
                if _local(an.tag) != "MWAnalyte":
                    continue
                analyte = ""
                values = []
                for el in an:
                    tag = _local(el.tag)
                    if tag == "AnalyteName":
                        analyte = (el.text or "").strip()
                    elif len(el) == 0:
                        values.append(el)
                analyte = analyte or f"R{an.get('RegionNumber', '?')}"
                for el in values:
                    tag = _local(el.tag)
                    text = (el.text or "").strip()
                    metric = _BIOPLEX_METRICS.get(tag.lower())
                    if metric is None:
                        if parse_number(text) is None:
                            continue  # descriptive text, not a value
                        metric = metric_name(re.sub(r"(?<=[a-z])(?=[A-Z])", " ", tag))
                    bad = el.get("Valid", "true").lower() == "false" or (
                        el.get("ReadingOK", "true").lower() == "false"
                    )
                    notes = []
                    if el.get("ReadError"):
                        notes.append(el.get("ReadError"))
                    outlier = el.get("OutlierType", "None")
                    if outlier not in ("None", ""):
                        notes.append(f"outlier: {outlier}")
                    if el.get("RecoveryRange") not in (None, "", "InRange"):
                        notes.append(f"recovery: {el.get('RecoveryRange')}")
                    cols["well"].append(well)
                    cols["read"].append(analyte)
                    cols["metric"].append(metric)
                    cols["raw"].append(text)
                    cols["flag"].append("invalid" if bad else "")
                    cols["comment"].append("; ".join(notes))
                    cols["sample_label"].append(label)
                    cols["sample_type"].append(stype)
                    cols["dilution"].append(dil)
    if not cols["well"]:
        raise source.error(
            "no analyte readings in this Bio-Plex XML",
            expected="<Samples> with <MemberWell>/<MWAnalyte> readings",
            found=f"root element <{_local(root.tag)}>",
        )
    raw = np.asarray(cols["raw"], dtype=object)
    value, flag = parse_cells(raw)
    invalid = np.asarray(cols["flag"], dtype=object) == "invalid"
    value[invalid] = np.nan
    flag = np.asarray(
        [join_flags("invalid", f) if i else f for f, i in zip(flag, invalid, strict=True)],
        dtype=object,
    )
    n = len(raw)
    return plate_table(
        plate=np.full(n, plate, dtype=object),
        well=np.asarray(cols["well"], dtype=object),
        read=np.asarray(cols["read"], dtype=object),
        metric=np.asarray(cols["metric"], dtype=object),
        value=value,
        raw=raw,
        flag=flag,
        source_file=source.name,
        extra={
            "sample_label": np.asarray(cols["sample_label"], dtype=object),
            "sample_type": np.asarray(cols["sample_type"], dtype=object),
            "dilution": np.asarray(cols["dilution"], dtype=float),
            "comment": np.asarray(cols["comment"], dtype=object),
        },
    )


# --------------------------------------------------------------------------- helpers
