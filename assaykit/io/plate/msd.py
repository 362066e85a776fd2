"""MSD (Meso Scale Discovery) Discovery Workbench CSV exports (``'msd'``).

One row per well × spot (assay) in the export becomes one row per exported number
in the canonical plate-read table: ``read`` = the Assay name, ``metric`` from the
column (``Signal`` → ``'raw'``, ``Adjusted Signal`` → ``'adjusted'``,
``Concentration`` → ``'expected_conc'``, ``Calc. Concentration`` →
``'instrument_conc'`` ...). See ``docs/formats/msd.md``.

Examples
--------
>>> from assaykit.io import read_plate
>>> df = read_plate("msd_plate.csv")  # doctest: +SKIP
>>> df.query("metric == 'raw'")  # doctest: +SKIP
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from assaykit.io._cells import (
    csv_rows,
    detect_delimiter,
    metric_name,
    pad_row,
    parse_cells,
    parse_number,
)
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.schema import join_flags, plate_table

__all__ = ["MSD_EXTRA", "MSD_METRICS", "read_msd"]

#: Extra columns of an MSD table, always present, in this order.
MSD_EXTRA = ("sample_label", "spot", "dilution", "analyte_unit", "comment")

#: Column (lower-case) → metric. Other numeric columns get the snake_case of their name.
MSD_METRICS: dict[str, str] = {
    "signal": "raw",
    "adjusted signal": "adjusted",
    "mean": "signal_mean",
    "std dev": "signal_sd",
    "sd": "signal_sd",
    "cv": "signal_cv_pct",
    "adj. sig. mean": "adjusted_mean",
    "adj. sig. std dev": "adjusted_sd",
    "adj. sig. cv": "adjusted_cv_pct",
    "concentration": "expected_conc",
    "standard concentration": "expected_conc",
    "calc. concentration": "instrument_conc",
    "calc. conc": "instrument_conc",
    "calc. conc.": "instrument_conc",
    "calc. conc. mean": "instrument_conc_mean",
    "calc. conc. std dev": "instrument_conc_sd",
    "calc. conc. cv": "instrument_conc_cv_pct",
    "% recovery": "recovery_pct",
    "% recovery mean": "recovery_mean_pct",
}

# Columns that are keys or text, never metrics.
_KEY_COLUMNS = {"sample", "assay", "well", "spot", "dilution", "plate name", "plate"}
_TEXT_COLUMNS = {
    "detection range",
    "excluded",
    "sample group",
    "sample type",
    "concentration units",
    "units",
    "assay units",
    "reader",
    "comments",
    "comment",
}
# Metrics whose rows take the Detection Range flags.
_CONC_METRICS = {"instrument_conc", "instrument_conc_mean"}

_WELL_RE = re.compile(r"^([A-Za-z]{1,2})\s*0*(\d{1,3})$")


def _detection_flags(text: str) -> str:
    """'Below Fit Curve Range' → out_of_range_low, 'Above Detection Range' → out_of_range_high."""
    low = text.lower()
    flags = []
    if "below" in low:
        flags.append("out_of_range_low")
    if "above" in low:
        flags.append("out_of_range_high")
    return ";".join(flags)


def _is_header(cells: list[str]) -> bool:
    low = {c.lower() for c in cells}
    return "sample" in low and "well" in low and "assay" in low


def _sniff_msd(source: Source) -> bool:
    head = source.head(3000)
    lines = [ln for ln in head.splitlines() if ln.strip()][:25]
    if not lines:
        return False
    for ln in lines:
        cells = {c.strip().strip('"').lower() for c in re.split(r"[,;\t]", ln)}
        if {"sample", "assay", "well"} <= cells and (
            "signal" in cells or "calc. concentration" in cells or "spot" in cells
        ):
            return True
    return False


@register(
    "msd",
    kind="plate",
    sniff=_sniff_msd,
    description="MSD Discovery Workbench CSV (Sample, Assay, Well, Spot, Signal, Calc. Concentration ...)",
    priority=20,
)
def read_msd(source: Source) -> pd.DataFrame:
    """Read an MSD Discovery Workbench CSV export.

    Parameters
    ----------
    source : Source
        The export (see :func:`assaykit.io.read_plate`).

    Returns
    -------
    pandas.DataFrame
        Canonical plate-read table: ``read`` = Assay, ``metric`` per :data:`MSD_METRICS`
        (``raw`` = Signal, ``adjusted``, ``expected_conc``, ``instrument_conc`` ...).
        ``plate`` = the name on the ``Plate_<name>`` line above the table, or a Plate Name
        column, else ``'1', '2' ...`` in file order. Extra columns :data:`MSD_EXTRA`:
        ``sample_label`` (Sample), ``spot``, ``dilution`` (float, NaN when empty),
        ``analyte_unit`` (a units column when exported, else ``''``) and ``comment``
        (the Detection Range text).

    Raises
    ------
    ReaderError
        If no header row (Sample, Assay, Well ...) is found, a well is unreadable, a
        row is longer than its header, or a well × assay appears twice on a plate.
    """
    delim = detect_delimiter(source.lines)
    rows = csv_rows(source, delim)
    dc = delim == ";"
    out: dict[str, list] = {
        k: []
        for k in (
            "plate",
            "well",
            "read",
            "metric",
            "raw",
            "extra_flag",
            "comment",
            "sample_label",
            "spot",
            "dilution",
            "analyte_unit",
        )
    }
    header: list[str] | None = None
    low: list[str] = []
    plate_from_line: str | None = None
    n_tables = 0
    seen: set[tuple[str, str, str]] = set()
    for line, cells in rows:
        if not cells:
            continue
        if len(cells) == 1 and cells[0].lower().startswith("plate_"):
            plate_from_line = cells[0][len("plate_") :].strip() or None
            header = None
            continue
        if _is_header(cells):
            header = cells
            low = [c.lower() for c in cells]
            n_tables += 1
            _check_metrics(source, line, cells, low)
            continue
        if header is None:
            continue  # title lines ('Experiment Data Table', 'Plate_...')
        _read_row(source, line, cells, header, low, plate_from_line or str(n_tables), seen, dc, out)
    if n_tables == 0:
        raise source.error(
            "no MSD data table found",
            expected="a header row with Sample, Assay, Well (and Signal ...)",
            found=f"{len(source.lines)} lines without it",
        )
    if not out["well"]:
        raise source.error(
            "the MSD table has no rows",
            expected="one row per well and assay",
            found="only a header",
        )
    raw = np.asarray(out["raw"], dtype=object)
    value, flag = parse_cells(raw, dc)
    flag = np.asarray(
        [join_flags(a, b) for a, b in zip(flag, out["extra_flag"], strict=True)], dtype=object
    )
    return plate_table(
        plate=np.asarray(out["plate"], dtype=object),
        well=np.asarray(out["well"], dtype=object),
        read=np.asarray(out["read"], dtype=object),
        metric=np.asarray(out["metric"], dtype=object),
        value=value,
        raw=raw,
        flag=flag,
        source_file=source.name,
        extra={
            "sample_label": np.asarray(out["sample_label"], dtype=object),
            "spot": np.asarray(out["spot"], dtype=object),
            "dilution": np.asarray(out["dilution"], dtype=float),
            "analyte_unit": np.asarray(out["analyte_unit"], dtype=object),
            "comment": np.asarray(out["comment"], dtype=object),
        },
    )


def _check_metrics(source: Source, line: int, cells: list[str], low: list[str]) -> None:
    """Raise when a header row has no value column, or two columns give one metric."""
    metrics = [
        MSD_METRICS.get(c) or metric_name(c)
        for c in low
        if c and c not in _KEY_COLUMNS and c not in _TEXT_COLUMNS
    ]
    if not metrics:
        raise source.error(
            "no value columns in the MSD header",
            line=line,
            expected="columns such as Signal, Adjusted Signal, Calc. Concentration",
            found=f"{cells[:8]}",
        )
    dup = sorted({m for m in metrics if metrics.count(m) > 1})
    if dup:
        raise source.error(
            "two columns give the same metric",
            line=line,
            expected="one column per statistic",
            found=f"several columns read as {dup}",
        )


def _read_row(
    source: Source, line: int, cells: list[str], header: list[str], low: list[str], default_plate: str,
    seen: set[tuple[str, str, str]], dc: bool, out: dict[str, list],
) -> None:
    """Append the values of one table row (one per value column) to ``out``."""
    cells = pad_row(source, line, cells, len(header))
    rec = dict(zip(low, cells, strict=True))
    wtext = rec.get("well", "")
    m = _WELL_RE.match(wtext)
    if not m or int(m.group(2)) < 1:
        raise source.error(
            "cannot read the well",
            line=line,
            expected="a well like 'A01'",
            found=repr(wtext[:40]),
        )
    well = f"{m.group(1).upper()}{int(m.group(2))}"
    plate = rec.get("plate name") or rec.get("plate") or default_plate
    assay = rec.get("assay", "")
    if (plate, well, assay) in seen:
        raise source.error(
            "well × assay listed twice",
            line=line,
            plate=plate,
            well=well,
            read=assay,
            expected="one row per well and assay (spot) on a plate",
            found="a second row",
        )
    seen.add((plate, well, assay))
    det = rec.get("detection range", "")
    excluded = rec.get("excluded", "").lower() in ("yes", "true", "1", "y")
    dil = parse_number(rec.get("dilution", ""), decimal_comma=dc)
    unit = rec.get("concentration units") or rec.get("units") or rec.get("assay units") or ""
    for col, text in zip(low, cells, strict=True):
        if col in _KEY_COLUMNS or col in _TEXT_COLUMNS or not col:
            continue
        metric = MSD_METRICS.get(col) or metric_name(col)
        in_conc = metric in _CONC_METRICS
        out["plate"].append(plate)
        out["well"].append(well)
        out["read"].append(assay)
        out["metric"].append(metric)
        out["raw"].append(text)
        out["extra_flag"].append(
            join_flags(_detection_flags(det) if in_conc else "", "excluded" if excluded else "")
        )
        out["comment"].append(det if in_conc else "")
        out["sample_label"].append(rec.get("sample", ""))
        out["spot"].append(rec.get("spot", ""))
        out["dilution"].append(math.nan if dil is None else dil)
        out["analyte_unit"].append(unit)
