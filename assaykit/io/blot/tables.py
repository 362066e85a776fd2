"""Band tables exported by other densitometry programs (kind ``blot_bands``).

Each reader turns one export into the canonical blot ``bands`` table
(``docs/schemas.md``, "Blot bands"; :func:`assaykit.schema.blot_bands_table`) with
``status = 'imported'``, ``method`` = the format and ``params`` = the column the volume
came from, so that :func:`assaykit.blot.normalize` treats imported and measured bands alike.

Formats (recognised from the header line, never from the file name):

``imagej_results``
    ImageJ/Fiji *Results* table saved as CSV or tab-separated text (``Analyze › Measure``
    on one rectangle per band, after *Subtract Background*): volume from ``RawIntDen``
    (else ``IntDen``); box from ``BX, BY, Width, Height`` when measured; lane and target
    from the ``Label`` (ROI named ``<lane>-<target>``, ``lane<lane>_<target>`` or
    ``<target>_lane<lane>``), else lanes numbered in row order. The *Gel Analyzer* table
    (``Area``, ``Percent``: one peak per row, areas in plot units) is read too, each row a
    lane in order.
``imagelab``
    Bio-Rad Image Lab (and Quantity One) reports exported as CSV/text, title lines before
    the header allowed: the *Lane and Bands* table (``Lane``, ``Band No.``, ``Band
    Label``, ``Adj. Volume (Int)``, ``Volume (Int)``), the *Lanes* table (``Lane No.``,
    ``Adj. Total Band Vol. (Int)``) and the *Volume* tool table (``Label``, ``Volume
    (Int)``, ``Adj. Vol. (Int)``, ``Mean Bkgd. (Int)``); ``(OD)`` units as well. Volume =
    the adjusted (background-subtracted) column.
``imagestudio``
    LI-COR Image Studio / Empiria shape tables exported as CSV: ``Signal`` (= ``Total −
    Bkgnd. × Area``) with ``Name``/``Lane``, ``Total``, ``Bkgnd.``, ``Area``, ``Channel``.
    Without a target in the name or a ``Target`` column, the channel names the target
    (two-colour fluorescent blots: ``'800'``, ``'700'``).

A cell that should hold a number and does not raises :class:`~assaykit.errors.ReaderError`
naming the file, line and column.
"""

from __future__ import annotations

import csv
import math
import re
from collections.abc import Callable, Sequence
from pathlib import PurePath

import numpy as np
import pandas as pd

from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.schema import blot_bands_table

__all__ = ["read_imagej_results", "read_imagelab", "read_imagestudio"]

_NUM = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_LABEL_PATTERNS = (
    re.compile(
        r"^\s*(?:lane\s*)?(\d+)\s*[-_:|/ ]\s*(.+?)\s*$", re.IGNORECASE
    ),  # 3-IkBa, lane3_IkBa
    re.compile(r"^\s*(.+?)\s*[-_:| ]\s*lane\s*(\d+)\s*$", re.IGNORECASE),  # IkBa_lane3
)


def _norm(h: str) -> str:
    return " ".join(str(h).replace("\ufeff", "").split()).strip().lower()


def _find_header(
    source: Source, test: Callable[[list[str]], bool], limit: int = 40
) -> tuple[int, str] | None:
    """(0-based line index, delimiter) of the first line whose fields pass ``test``."""
    for i, line in enumerate(source.lines[:limit]):
        if not line.strip():
            continue
        delim = "\t" if line.count("\t") >= max(line.count(","), 1) else ","
        fields = [_norm(f) for f in next(csv.reader([line], delimiter=delim), [])]
        if test(fields):
            return i, delim
    return None


def _sniff(test: Callable[[list[str]], bool]) -> Callable[[Source], bool]:
    def sniff(source: Source) -> bool:
        if source.kind != "text" or not source.head():
            return False
        try:
            return _find_header(source, test) is not None
        except Exception:  # a sniffer never raises
            return False

    return sniff


def _rows(
    source: Source, header_at: int, delim: str
) -> tuple[list[str], list[str], list[tuple[int, list[str]]]]:
    """The normalised header, the header as written and the non-blank rows (with line numbers)."""
    text = "\n".join(source.lines[header_at:])
    parsed = list(csv.reader(text.splitlines(), delimiter=delim))
    titles = [" ".join(h.replace("\ufeff", "").split()) for h in parsed[0]]
    header = [_norm(h) for h in parsed[0]]
    body = []
    for k, fields in enumerate(parsed[1:], start=header_at + 2):
        if not any(f.strip() for f in fields):
            continue
        if len(fields) > len(header) and any(f.strip() for f in fields[len(header) :]):
            raise source.error("row has more fields than the header", line=k, expected=f"{len(header)} fields",
                               found=f"{len(fields)}")  # fmt: skip
        body.append((k, fields + [""] * (len(header) - len(fields))))
    if not body:
        raise source.error(
            "band table has no rows",
            line=header_at + 1,
            expected="one row per band after the header",
        )
    return header, titles, body


def _number(source: Source, text: str, line: int, column: str, *, required: bool = True) -> float:
    t = text.strip().replace("\u2212", "-")
    if _THOUSANDS.match(t):
        t = t.replace(",", "")
    if _NUM.match(t):
        return float(t)
    if not t and not required:
        return math.nan
    if t.lower() in ("n/a", "na", "nan", "") and not required:
        return math.nan
    raise source.error(
        "not a number", line=line, column=column, expected="a number", found=repr(text[:40])
    )


def _int(source: Source, text: str, line: int, column: str) -> int:
    v = _number(source, text, line, column)
    if not (math.isfinite(v) and v == int(v) and 0 <= v < 1_000_000):
        raise source.error("not a lane or band number", line=line, column=column, expected="a whole number >= 0",
                           found=repr(text[:40]))  # fmt: skip
    return int(v)


def _col(header: Sequence[str], *names: str) -> int | None:
    for n in names:
        if n in header:
            return header.index(n)
    return None


def _parse_label(label: str) -> tuple[int | None, str]:
    name = label.rsplit(":", 1)[-1] if ":" in label else label
    m = _LABEL_PATTERNS[0].match(name)
    if m and len(m.group(1)) < 7:
        return int(m.group(1)), m.group(2).strip()
    m = _LABEL_PATTERNS[1].match(name)
    if m and len(m.group(2)) < 7:
        return int(m.group(2)), m.group(1).strip()
    m = re.match(r"^\s*(?:lane\s*)?(\d{1,6})\s*$", name, re.IGNORECASE)  # a bare lane number
    return (int(m.group(1)), "") if m else (None, "")


def _image_name(source: Source) -> str:
    return PurePath(source.name).stem


def _finish(source: Source, rec: dict[str, list], fmt: str, column: str) -> pd.DataFrame:
    n = len(rec["volume"])
    lanes = rec["lane"]
    if any(v is None for v in lanes):  # lanes not named: number the rows in order
        lanes = list(range(1, n + 1))
    df = pd.DataFrame({
        "image": [_image_name(source)] * n, "lane": np.asarray(lanes, dtype=np.int64), "sample": rec.get("sample", [""] * n),
        "target": rec["target"], "x": rec.get("x", [math.nan] * n), "y": rec.get("y", [math.nan] * n),
        "w": rec.get("w", [math.nan] * n), "h": rec.get("h", [math.nan] * n), "volume": rec["volume"],
        "background": rec.get("background", [math.nan] * n), "status": ["imported"] * n,
        "method": [fmt] * n, "params": [f"volume={column}"] * n,
    })  # fmt: skip
    if "band" in rec:
        df["band"] = np.asarray(rec["band"], dtype=np.int64)
    if (df["lane"] < 1).any():
        i = int(np.flatnonzero((df["lane"] < 1).to_numpy())[0])
        raise source.error(
            "lane numbers start at 1",
            line=rec["line"][i],
            expected="lane >= 1",
            found=str(df["lane"].iloc[i]),
        )
    dup = df.duplicated(
        ["lane", "band"] if "band" in df.columns else ["lane", "target"], keep=False
    )
    if (
        dup.any() and "band" not in df.columns
    ):  # several bands per lane: number them within the lane
        df["band"] = df.groupby("lane", sort=False).cumcount().to_numpy() + 1
    elif dup.any():
        i = int(np.flatnonzero(dup.to_numpy())[0])
        raise source.error("band listed twice", line=rec["line"][i], lane=int(df["lane"].iloc[i]),
                           expected="each lane × band once")  # fmt: skip
    return blot_bands_table(df)


# --------------------------------------------------------------------------- ImageJ
def _is_imagej(f: list[str]) -> bool:
    measure = ("rawintden" in f or "intden" in f) and ("area" in f or "mean" in f)
    gel = "area" in f and "percent" in f and len([x for x in f if x]) <= 3
    return measure or gel


@register("imagej_results", kind="blot_bands", sniff=_sniff(_is_imagej),
          description="ImageJ/Fiji Results table (Measure: RawIntDen per band box; Gel Analyzer: Area, Percent)")  # fmt: skip
def read_imagej_results(source: Source) -> pd.DataFrame:
    """Read an ImageJ *Results* table (Measure or Gel Analyzer) into the bands table.

    Parameters
    ----------
    source : Source
        The CSV / tab-separated export.

    Returns
    -------
    pandas.DataFrame
        The canonical bands table (``status = 'imported'``).
    """
    found = _find_header(source, _is_imagej)
    if found is None:
        raise source.error(
            "not an ImageJ Results table",
            expected="a header with RawIntDen or IntDen, or Area and Percent",
        )
    header, titles, body = _rows(source, *found)
    vcol = _col(header, "rawintden", "intden", "area")
    name = header[vcol]
    lab = _col(header, "label")
    box = [_col(header, c) for c in ("bx", "by", "width", "height")]
    rec: dict[str, list] = {k: [] for k in ("lane", "target", "volume", "x", "y", "w", "h", "line")}
    for line, f in body:
        lane, target = _parse_label(f[lab]) if lab is not None else (None, "")
        rec["lane"].append(lane)
        rec["target"].append(target)
        rec["volume"].append(_number(source, f[vcol], line, name))
        for key, c in zip(("x", "y", "w", "h"), box, strict=True):
            rec[key].append(_number(source, f[c], line, header[c]) if c is not None else math.nan)
        rec["line"].append(line)
    fmt = "imagej_gel_analyzer" if name == "area" else "imagej_results"
    return _finish(source, rec, fmt, titles[vcol])


# --------------------------------------------------------------------------- Image Lab
_IL_ADJ = ("adj. volume (int)", "adj. vol. (int)", "adj. total band vol. (int)", "adj. volume (od)",
           "adj. vol. (od)", "adj. total band vol. (od)")  # fmt: skip
_IL_RAW = ("volume (int)", "total band vol. (int)", "volume (od)", "total band vol. (od)")


def _is_imagelab(f: list[str]) -> bool:
    return any(c in f for c in _IL_ADJ)


@register("imagelab", kind="blot_bands", sniff=_sniff(_is_imagelab),
          description="Bio-Rad Image Lab / Quantity One report (Lane and Bands, Lanes or Volume table; Adj. Volume)")  # fmt: skip
def read_imagelab(source: Source) -> pd.DataFrame:
    """Read a Bio-Rad Image Lab (or Quantity One) band, lane or volume table into the bands table.

    Parameters
    ----------
    source : Source
        The exported report (CSV or tab-separated; title lines before the header allowed).

    Returns
    -------
    pandas.DataFrame
        The canonical bands table (``status = 'imported'``; ``background`` = volume −
        adjusted volume when both are given).
    """
    found = _find_header(source, _is_imagelab)
    if found is None:
        raise source.error(
            "not an Image Lab report",
            expected="a header with 'Adj. Volume (Int)' or 'Adj. Vol. (Int)'",
        )
    header, titles, body = _rows(source, *found)
    vcol = _col(header, *_IL_ADJ)
    raw = _col(header, *_IL_RAW)
    lane_c = _col(header, "lane", "lane no.", "lane no")
    band_c = _col(header, "band no.", "band no", "band")
    label_c = _col(header, "band label", "label", "name")
    rec: dict[str, list] = {k: [] for k in ("lane", "target", "volume", "background", "line")}
    if band_c is not None:
        rec["band"] = []
    for line, f in body:
        label = f[label_c].strip() if label_c is not None else ""
        lane, target = (None, "")
        if lane_c is not None:
            lane_text = re.sub(r"(?i)^\s*lane\s*", "", f[lane_c])
            lane = _int(source, lane_text, line, header[lane_c])
            target = "" if label.lower() in ("", "n/a") else label
        elif label:
            lane, target = _parse_label(label)
        vol = _number(source, f[vcol], line, header[vcol])
        rec["lane"].append(lane)
        rec["target"].append(target)
        rec["volume"].append(vol)
        rec["background"].append(
            _number(source, f[raw], line, header[raw], required=False) - vol
            if raw is not None
            else math.nan
        )
        if band_c is not None:
            rec["band"].append(_int(source, f[band_c], line, header[band_c]))
        rec["line"].append(line)
    return _finish(source, rec, "imagelab", titles[vcol])


# --------------------------------------------------------------------------- Image Studio
def _is_imagestudio(f: list[str]) -> bool:
    return (
        "signal" in f
        and ("total" in f or "bkgnd." in f or "bkgnd" in f)
        and ("name" in f or "lane" in f)
    )


@register("imagestudio", kind="blot_bands", sniff=_sniff(_is_imagestudio),
          description="LI-COR Image Studio / Empiria shape table (Signal = Total - Bkgnd. x Area)")  # fmt: skip
def read_imagestudio(source: Source) -> pd.DataFrame:
    """Read a LI-COR Image Studio / Empiria shape table into the bands table.

    Parameters
    ----------
    source : Source
        The exported CSV.

    Returns
    -------
    pandas.DataFrame
        The canonical bands table (``status = 'imported'``, ``background`` = ``Total −
        Signal``).
    """
    found = _find_header(source, _is_imagestudio)
    if found is None:
        raise source.error(
            "not an Image Studio table", expected="a header with Signal, Total/Bkgnd. and Name/Lane"
        )
    header, titles, body = _rows(source, *found)
    sig = header.index("signal")
    tot = _col(header, "total")
    name_c, lane_c = _col(header, "name"), _col(header, "lane")
    tgt_c, ch_c = _col(header, "target", "protein", "analyte"), _col(header, "channel")
    rec: dict[str, list] = {k: [] for k in ("lane", "target", "volume", "background", "line")}
    for line, f in body:
        lane, target = _parse_label(f[name_c]) if name_c is not None else (None, "")
        if lane_c is not None and f[lane_c].strip():
            lane = _int(source, f[lane_c], line, header[lane_c])
        if tgt_c is not None and f[tgt_c].strip():
            target = f[tgt_c].strip()
        if not target and ch_c is not None:
            target = f[ch_c].strip()
        vol = _number(source, f[sig], line, header[sig])
        rec["lane"].append(lane)
        rec["target"].append(target)
        rec["volume"].append(vol)
        rec["background"].append(
            _number(source, f[tot], line, header[tot], required=False) - vol
            if tot is not None
            else math.nan
        )
        rec["line"].append(line)
    return _finish(source, rec, "imagestudio", titles[sig])
