"""PerkinElmer / Revvity EnVision CSV reader (``'envision'``).

See ``docs/formats/envision.md``. An EnVision "Plate2" export repeats, for every
plate (and every label), a ``Plate information`` block (header + one values row
with ``Plate`` and ``Repeat``), a ``Background information`` block and a grid under
``Results for <label>(<n>) - channel <c> (<unit>)`` or
``Calculated results: Calc <n>: <name> = ...``. The grid header is
``,01,02,...,12,`` and every row ends with a comma. Protocol information
(``Platemap:`` grids of ``-`` cells) follows and is not data.

Examples
--------
>>> from assaykit.io import read_plate
>>> df = read_plate("PE_Envision_absorbance_A450_example.csv")  # doctest: +SKIP
>>> sorted(df["plate"].unique()), df["read"].unique()  # doctest: +SKIP
(['1', '2'], array(['abs_450'], dtype=object))
"""

from __future__ import annotations

import re

import pandas as pd

from assaykit.io._cells import slug, split_line
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.io.plate._grid import grid_values, header_numbers, read_grid
from assaykit.schema import plate_table

__all__ = ["label_read", "read_envision"]

_RESULTS_RE = re.compile(r"^Results for\s+(?P<label>.*?)(?:\((?P<n>\d+)\))?\s*(?:-\s*channel\s*(?P<ch>\d+).*)?$")
_CALC_RE = re.compile(r"^Calculated results:\s*(?:Calc\s*\d+\s*:\s*)?(?P<name>[^=]*?)\s*(?:=(?P<rest>.*))?$")
_CALC_LABEL_RE = re.compile(r"Label\s*:\s*(?P<label>.*?)\(\d+\)(?:\s*channel\s*(?P<ch>\d+))?")
_STOP = ("Basic assay information", "Protocol information")


def label_read(label: str, measinfo: str = "") -> str:
    """Canonical read name of an EnVision label.

    ``'A450'`` → ``'abs_450'``; labels mentioning luminescence (``'US LUM 384'``,
    MeasInfo ``De=USLum``) → ``'lum'``; a label naming two wavelengths
    (``'Fluorescein 485/535'``) → ``'fluo_485_535'``; any other label → its slug.
    """
    lab = label.strip()
    m = re.match(r"^A\s?(\d{3})\b", lab)
    if m or "absorbance" in lab.lower():
        wl = m.group(1) if m else re.search(r"(\d{3})", lab)
        if m:
            return f"abs_{wl}"
        if wl:
            return f"abs_{wl.group(1)}"
    if re.search(r"\blum", lab, re.I) or "lum" in measinfo.lower():
        return "lum"
    m = re.search(r"(\d{3})\s*/\s*(\d{3})", lab)
    if m:
        return f"fluo_{m.group(1)}_{m.group(2)}"
    return slug(lab)


def _sniff(source: Source) -> bool:
    head = source.head()
    if not head:
        return False
    lines = [ln.strip() for ln in head.splitlines()]
    for i, ln in enumerate(lines[:-1]):
        if ln.rstrip(",").strip() == "Plate information" and lines[i + 1].startswith("Plate,"):
            return True
    return "Exported with EnVision" in head and re.search(r"^Results for ", head, re.M) is not None


@register(
    "envision",
    kind="plate",
    sniff=_sniff,
    description="PerkinElmer EnVision CSV (Plate information / Results for ... blocks, several plates)",
)
def read_envision(source: Source) -> pd.DataFrame:
    """Read a PerkinElmer EnVision CSV export.

    Parameters
    ----------
    source : Source
        The CSV export.

    Returns
    -------
    pandas.DataFrame
        Canonical plate-read table. ``plate`` is the EnVision plate number; a plate
        repeat other than 1 is appended to the read (``'abs_450@repeat2'``).
        ``Results for`` blocks give metric ``'raw'``; ``Calculated results`` blocks
        give metric ``'calc_<formula name>'`` (``'calc_crosstalk'``) on the read of the
        label the formula uses. When one label is exported on several channels the read
        gets ``'_ch<channel>'``. Extra column ``label`` holds the EnVision label text.

    Raises
    ------
    ReaderError
        No results block, a broken grid, or the same plate/read/metric twice.
    """
    lines = source.lines
    rows = [split_line(ln, ",") for ln in lines]
    plate, repeat, measinfo = None, "1", ""
    n_plates_seen = 0
    blocks: list[dict] = []
    k = 0
    while k < len(rows):
        line = lines[k].strip()
        first = line.split(",", 1)[0].strip()
        if first.startswith(_STOP):
            break
        if first == "Plate information" and k + 2 < len(rows):
            header = [c.strip() for c in rows[k + 1]]
            values = rows[k + 2]
            if "Plate" in header:
                i = header.index("Plate")
                plate = values[i].strip() if i < len(values) and values[i].strip() else None
                j = header.index("Repeat") if "Repeat" in header else None
                repeat = values[j].strip() if j is not None and j < len(values) else "1"
                mi = header.index("Measinfo") if "Measinfo" in header else None
                measinfo = values[mi] if mi is not None and mi < len(values) else ""
                n_plates_seen += 1
            k += 3
            continue
        res = _RESULTS_RE.match(first) if first.startswith("Results for") else None
        calc = _CALC_RE.match(line.rstrip(",")) if line.startswith("Calculated results") else None
        if (res or calc) and k + 1 < len(rows) and header_numbers(rows[k + 1]) is not None:
            grid = read_grid(rows, k + 1, source=source)
            if res:
                label = res.group("label").strip()
                channel = res.group("ch")
                metric = "raw"
            else:
                rest = calc.group("rest") or ""
                lm = _CALC_LABEL_RE.search(rest)
                label = lm.group("label").strip() if lm else calc.group("name")
                channel = None
                metric = "calc_" + slug(calc.group("name") or "value")
            blocks.append(
                {
                    "plate": plate if plate is not None else str(max(n_plates_seen, 1)),
                    "repeat": repeat or "1",
                    "label": label,
                    "channel": channel,
                    "metric": metric,
                    "measinfo": measinfo,
                    "grid": grid,
                    "line": k + 1,
                }
            )
            k = grid.end
            continue
        k += 1
    if not blocks:
        raise source.error(
            "no results block found",
            expected="a 'Results for <label>' line followed by a ',01,02,...' grid",
            found="none",
        )
    channels: dict[str, set] = {}
    for b in blocks:
        if b["channel"] is not None:
            channels.setdefault(b["label"], set()).add(b["channel"])
    frames = []
    seen: dict[tuple, int] = {}
    for b in blocks:
        read = label_read(b["label"], b["measinfo"])
        if b["channel"] is not None and len(channels.get(b["label"], ())) > 1:
            read += f"_ch{b['channel']}"
        if b["repeat"] not in ("", "1"):
            read += f"@repeat{b['repeat']}"
        key = (b["plate"], read, b["metric"])
        if key in seen:
            raise source.error(
                "the same results block appears twice", line=b["line"],
                expected="one block per plate, read and metric",
                found=f"plate {b['plate']}, read {read!r}, metric {b['metric']!r} again (first at line {seen[key]})",
            )
        seen[key] = b["line"]
        frames.append((b, read, grid_values(b["grid"])))
    if all(len(set(gv[0])) == len(gv[0]) > 0 for _, _, gv in frames):
        # one table for all blocks (their plate × read × metric keys differ): no concat
        cols: dict[str, list] = {k: [] for k in ("plate", "well", "read", "metric", "value", "raw", "flag", "label")}
        for b, read, (wells, values, raws, flags) in frames:
            n = len(wells)
            cols["plate"] += [b["plate"]] * n
            cols["well"] += wells
            cols["read"] += [read] * n
            cols["metric"] += [b["metric"]] * n
            cols["value"] += list(values)
            cols["raw"] += raws
            cols["flag"] += flags
            cols["label"] += [b["label"]] * n
        label = cols.pop("label")
        return plate_table(**cols, source_file=source.name, extra={"label": label})
    # an empty block or a well twice in one grid: build block by block (same error as before)
    return pd.concat(
        [
            plate_table(plate=b["plate"], well=wells, read=read, metric=b["metric"], value=values,
                        raw=raws, flag=flags, source_file=source.name,
                        extra={"label": [b["label"]] * len(wells)})
            for b, read, (wells, values, raws, flags) in frames
        ],
        ignore_index=True,
    )
