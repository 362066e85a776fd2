"""Write plate-reader exports from a known truth table.

Formats written (each read back by ``assaykit.read_plate`` with the format detected):

``'generic'``
    assaykit's plain grid CSV (``docs/formats/generic.md``): for each read a block whose
    first row is ``<read>,1,2,...,12`` (``1..24`` for 384 wells) followed by one row per
    plate row ``A,v1,...,v12``; blocks separated by one blank line; a single plate.
``'gen5'``
    a BioTek Gen5 default text export (``docs/formats/gen5.md``): per plate a header,
    ``Procedure Details`` with one read step per measurement mode and a ``Results``
    grid with one line per read and plate row.
``'softmax'``
    a SoftMax Pro text export (``docs/formats/softmax.md``): ``##BLOCKS= n`` and one
    ``Plate:`` block per plate in ``PlateFormat`` with the wavelengths side by side.

Flags are written the way the instrument writes them: ``'overflow'`` as ``OVRFLW``
(generic, Gen5) or ``Range?`` (SoftMax); ``'missed'`` as ``MISSED`` (generic, Gen5) or
``NaN`` (SoftMax). A NaN value without flag, and a well missing from the truth, is
written as an empty cell (read back with flag ``'empty'``).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from assaykit.errors import SchemaError
from assaykit.schema import parse_well, plate_dims, row_letter

__all__ = ["PLATE_FORMATS", "random_plate_truth", "write_plate"]

#: Formats :func:`write_plate` can write, with the default number of decimals.
PLATE_FORMATS: dict[str, int] = {"generic": 4, "gen5": 3, "softmax": 4}

_TOKENS = {
    "generic": {"overflow": "OVRFLW", "missed": "MISSED"},
    "gen5": {"overflow": "OVRFLW", "missed": "MISSED"},
    "softmax": {"overflow": "Range?", "missed": "NaN"},
}
_ABS_RE = re.compile(r"^abs_(\d+)$")
_FLUO_RE = re.compile(r"^fluo_(\d+)_(\d+)$")


def random_plate_truth(
    n_wells: int = 96,
    reads: Sequence[str] = ("abs_450",),
    n_plates: int = 1,
    seed: int | None = None,
    *,
    p_overflow: float = 0.0,
    p_missed: float = 0.0,
) -> pd.DataFrame:
    """Draw a random, realistic truth table of plate reads.

    Parameters
    ----------
    n_wells : {96, 384}
        Plate size.
    reads : sequence of str
        Reads to simulate: ``'abs_<nm>'`` (OD 0.04–3.5), ``'fluo_<ex>_<em>'`` (RFU
        50–60,000), ``'lum'`` (RLU 10–1e6) or ``'alpha'`` (counts 0–1e5); any other name
        gets values in 0–1.
    n_plates : int
        Number of plates, named ``'1'``, ``'2'``, ...
    seed : int, optional
        Seed of the random generator (same seed, same table).
    p_overflow, p_missed : float
        Probability that a well is flagged ``'overflow'`` / ``'missed'`` (its value is then NaN).

    Returns
    -------
    pandas.DataFrame
        Columns ``plate`` (str), ``well`` (``'A1'``), ``read``, ``value`` (float, NaN for
        flagged wells), ``flag`` (``''``, ``'overflow'`` or ``'missed'``), one row per
        plate × read × well in row-major well order.

    Raises
    ------
    SchemaError
        For an unknown plate size, no reads, repeated reads, or probabilities outside [0, 1].

    Examples
    --------
    >>> t = random_plate_truth(n_wells=384, reads=("abs_450", "abs_630"), seed=0)
    >>> len(t), list(t.columns)
    (768, ['plate', 'well', 'read', 'value', 'flag'])
    """
    n_rows, n_cols = plate_dims(n_wells)
    reads = list(reads)
    if not reads or len(set(reads)) != len(reads):
        raise SchemaError("reads must be a non-empty list of distinct names", found=repr(reads))
    if int(n_plates) < 1:
        raise SchemaError("n_plates must be at least 1", found=str(n_plates))
    for name, p in (("p_overflow", p_overflow), ("p_missed", p_missed)):
        if not 0.0 <= p <= 1.0 or p_overflow + p_missed > 1.0:
            raise SchemaError(
                f"{name} must be a probability", expected="0 <= p, sum <= 1", found=str(p)
            )
    rng = np.random.default_rng(seed)
    wells = [f"{row_letter(r)}{c}" for r in range(n_rows) for c in range(1, n_cols + 1)]
    nw = len(wells)
    frames = []
    for p in range(1, int(n_plates) + 1):
        for read in reads:
            u = rng.random(nw)
            if read.startswith("abs_"):
                v = np.round(0.04 * np.exp(u * math.log(3.5 / 0.04)), 4)
            elif read.startswith("fluo_"):
                v = np.round(50 * np.exp(u * math.log(60000 / 50)))
            elif read == "lum":
                v = np.round(10 * np.exp(u * math.log(1e6 / 10)))
            elif read == "alpha":
                v = np.round(u * 1e5)
            else:
                v = np.round(u, 4)
            f = rng.random(nw)
            flag = np.where(
                f < p_overflow, "overflow", np.where(f < p_overflow + p_missed, "missed", "")
            )
            v = np.where(flag == "", v, np.nan)
            frames.append(
                pd.DataFrame(
                    {"plate": str(p), "well": wells, "read": read, "value": v, "flag": flag}
                )
            )
    out = pd.concat(frames, ignore_index=True)
    out["value"] = out["value"].astype(float)
    out["flag"] = out["flag"].astype(str)
    return out


def _check_truth(truth: pd.DataFrame) -> pd.DataFrame:
    if not isinstance(truth, pd.DataFrame):
        raise SchemaError("truth must be a DataFrame", found=type(truth).__name__)
    missing = [c for c in ("plate", "well", "read", "value") if c not in truth.columns]
    if missing:
        raise SchemaError(
            "truth table misses columns",
            expected="columns plate, well, read, value (flag optional)",
            found=f"columns {list(truth.columns)} (missing {missing})",
        )
    if truth.empty:
        raise SchemaError("truth table is empty", expected="at least one well", found="0 rows")
    t = truth.copy()
    t["plate"] = t["plate"].astype(str)
    t["read"] = t["read"].astype(str)
    try:
        t["value"] = pd.to_numeric(t["value"]).astype(float)
    except (TypeError, ValueError):
        raise SchemaError(
            "truth 'value' must be numeric", found=str(truth["value"].dtype)
        ) from None
    if "flag" in t.columns:
        t["flag"] = t["flag"].fillna("").astype(str)
    else:
        t["flag"] = ""
    bad = sorted(set(t["flag"]) - {"", "overflow", "missed"})
    if bad:
        raise SchemaError(
            "unsupported flag in truth",
            expected="'', 'overflow' or 'missed'",
            found=", ".join(map(repr, bad)),
        )
    rc = [parse_well(w) for w in t["well"].astype(str)]
    t["_row"] = [ord(r[0]) - 65 if len(r) == 1 else 26 + ord(r[1]) - 65 for r, _ in rc]
    t["_col"] = [c for _, c in rc]
    t["well"] = [f"{r}{c}" for r, c in rc]
    dup = t.duplicated(["plate", "well", "read"])
    if dup.any():
        first = t.loc[dup].iloc[0]
        raise SchemaError(
            "truth has a well twice",
            plate=first["plate"],
            well=first["well"],
            read=first["read"],
            expected="one row per plate × well × read",
            found="a duplicate",
        )
    return t


def _plate_size(t: pd.DataFrame, n_wells: int | None) -> tuple[int, int, int]:
    if n_wells is None:
        n_wells = 96 if t["_row"].max() < 8 and t["_col"].max() <= 12 else 384
    n_rows, n_cols = plate_dims(n_wells)
    if t["_row"].max() >= n_rows or t["_col"].max() > n_cols:
        raise SchemaError(
            "well outside the plate",
            expected=f"wells of a {n_wells}-well plate",
            found=f"row {row_letter(int(t['_row'].max()))} / column {int(t['_col'].max())}",
        )
    return n_wells, n_rows, n_cols


def _cells(t: pd.DataFrame, n_rows: int, n_cols: int, fmt: str, decimals: int) -> list[list[str]]:
    """Exported text of one plate × read, as a n_rows × n_cols grid."""
    grid = [[""] * n_cols for _ in range(n_rows)]
    tokens = _TOKENS[fmt]
    for r, c, v, f in zip(t["_row"], t["_col"], t["value"], t["flag"], strict=True):
        if f:
            text = tokens[f]
        elif math.isnan(v):
            text = ""
        else:
            text = f"{v:.{decimals}f}"
        grid[r][c - 1] = text
    return grid


def write_plate(
    truth: pd.DataFrame,
    path: str | os.PathLike,
    format: str = "generic",
    *,
    encoding: str | None = None,
    decimals: int | None = None,
    n_wells: int | None = None,
    newline: str | None = None,
    temperature_c: float | None = None,
) -> Path:
    """Write ``truth`` as a plate-reader export.

    Parameters
    ----------
    truth : pandas.DataFrame
        Columns ``plate``, ``well``, ``read``, ``value`` (NaN allowed) and optionally
        ``flag`` (``''``, ``'overflow'``, ``'missed'``), as from :func:`random_plate_truth`.
    path : str or path-like
        File to write (its folder must exist).
    format : {'generic', 'gen5', 'softmax'}
        Export format (see the module docstring).
    encoding : str, optional
        Text encoding (default ``'utf-8'``; e.g. ``'utf-16'`` writes a BOM as SoftMax Pro can).
    decimals : int, optional
        Decimals written for every value (default 4 for generic/softmax, 3 for Gen5).
    n_wells : {96, 384}, optional
        Plate size (default: 96 when all wells fit, else 384).
    newline : str, optional
        Line ending (default ``'\\r\\n'`` for Gen5 and SoftMax, ``'\\n'`` for generic).
    temperature_c : float, optional
        Plate temperature written in SoftMax Pro grids (empty when None).

    Returns
    -------
    pathlib.Path
        The written file.

    Raises
    ------
    SchemaError
        If the truth table is malformed, has several plates for 'generic', or has reads the
        format cannot express (Gen5/SoftMax: ``abs_<nm>``, ``fluo_<ex>_<em>``, ``lum``; Gen5
        also ``alpha``; SoftMax: one measurement mode per plate).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> t = random_plate_truth(reads=("abs_450", "abs_630"), seed=3)
    >>> p = write_plate(t, pathlib.Path(tempfile.mkdtemp()) / "x.txt", "softmax")
    >>> p.read_text().splitlines()[0]
    '##BLOCKS= 1'
    """
    if format not in PLATE_FORMATS:
        raise SchemaError(
            "unknown export format", expected=f"one of {sorted(PLATE_FORMATS)}", found=repr(format)
        )
    t = _check_truth(truth)
    dec = PLATE_FORMATS[format] if decimals is None else int(decimals)
    if dec < 0:
        raise SchemaError("decimals must be >= 0", found=str(decimals))
    size, n_rows, n_cols = _plate_size(t, n_wells)
    nl = newline if newline is not None else ("\n" if format == "generic" else "\r\n")
    if format != "generic":
        for plate in t["plate"].unique():
            if not plate.strip() or plate != plate.strip() or any(ch in plate for ch in "\t\r\n"):
                raise SchemaError(
                    "plate name not writable in an instrument export",
                    plate=plate,
                    expected="a non-empty name without tabs, line breaks or edge spaces",
                    found=repr(plate),
                )
    if format == "generic":
        lines = _generic(t, n_rows, n_cols, dec)
    elif format == "gen5":
        lines = _gen5(t, size, n_rows, n_cols, dec)
    else:
        lines = _softmax(t, size, n_rows, n_cols, dec, temperature_c)
    p = Path(path)
    with open(p, "w", encoding=encoding or "utf-8", newline="") as fh:
        fh.write(nl.join(lines) + nl)
    return p


def _groups(t: pd.DataFrame):
    """(plate, [(read, rows)]) in order of first appearance."""
    for plate, tp in t.groupby("plate", sort=False):
        yield plate, [(read, tr) for read, tr in tp.groupby("read", sort=False)]


def _generic(t: pd.DataFrame, n_rows: int, n_cols: int, dec: int) -> list[str]:
    plates = t["plate"].unique()
    if len(plates) != 1:
        raise SchemaError(
            "the generic grid format holds a single plate",
            expected="one plate",
            found=f"{len(plates)} plates",
        )
    lines: list[str] = []
    for _, reads in _groups(t):
        for k, (read, tr) in enumerate(reads):
            if "," in read or not read.strip():
                raise SchemaError(
                    "read name not writable in a CSV grid", read=read, found=repr(read)
                )
            if k:
                lines.append("")
            lines.append(read + "," + ",".join(str(c) for c in range(1, n_cols + 1)))
            grid = _cells(tr, n_rows, n_cols, "generic", dec)
            for r in range(n_rows):
                lines.append(row_letter(r) + "," + ",".join(grid[r]))
    return lines


def _mode(read: str) -> tuple[str, tuple[str, ...]]:
    m = _ABS_RE.match(read)
    if m:
        return "abs", (m.group(1),)
    m = _FLUO_RE.match(read)
    if m:
        return "fluo", (m.group(1), m.group(2))
    if read in ("lum", "alpha"):
        return read, ()
    raise SchemaError(
        "read cannot be written as an instrument export",
        read=read,
        expected="'abs_<nm>', 'fluo_<ex>_<em>', 'lum' or 'alpha'",
        found=repr(read),
    )


def _gen5(t: pd.DataFrame, size: int, n_rows: int, n_cols: int, dec: int) -> list[str]:
    step_names = {
        "abs": "Absorbance",
        "fluo": "Fluorescence",
        "lum": "Luminescence",
        "alpha": "Alpha",
    }
    mode_lines = {
        "abs": "Absorbance Endpoint",
        "fluo": "Fluorescence Endpoint",
        "lum": "Luminescence Endpoint",
        "alpha": "Alpha Endpoint",
    }
    lines: list[str] = []
    for plate, reads in _groups(t):
        modes: dict[str, list[tuple[str, ...]]] = {}
        labelled = []
        for read, tr in reads:
            mode, wl = _mode(read)
            modes.setdefault(mode, []).append(wl)
            step = step_names[mode]
            if mode == "abs":
                label = f"{step}:{wl[0]}"
            elif mode == "fluo":
                label = f"{step}:{wl[0]}/20,{wl[1]}/20"
            elif mode == "lum":
                label = f"{step}:Lum"
            else:
                label = "Alpha"
            labelled.append((label, _cells(tr, n_rows, n_cols, "gen5", dec)))
        lines += [
            "",
            "",
            "Software Version\t3.12.08",
            "",
            "",
            "",
            "Experiment File Path:\tC:\\assaykit\\simulated.xpt",
            "Protocol File Path:\t",
            "",
            "",
            "",
            f"Plate Number\t{plate}",
            "Date\t1/15/2024",
            "Time\t10:00:00 AM",
            "Reader Type:\tSynergy H1",
            "Reader Serial Number:\tSIMULATED",
            "Reading Type\tSimulation",
            "",
            "Procedure Details",
            "",
            f"Plate Type\t{size} WELL PLATE (Use plate lid)",
            "Eject plate on completion\t",
        ]
        for mode, wls in modes.items():
            lines += [f"Read\t{step_names[mode]}", f"\t{mode_lines[mode]}", "\tFull Plate"]
            if mode == "abs":
                lines.append("\tWavelengths:  " + ", ".join(w[0] for w in wls))
            elif mode == "fluo":
                for k, w in enumerate(wls, start=1):
                    lines += [
                        f"\tFilter Set {k}",
                        f"\t    Excitation: {w[0]}/20,  Emission: {w[1]}/20",
                    ]
        lines += ["", "Results", "\t" + "\t".join(str(c) for c in range(1, n_cols + 1))]
        for r in range(n_rows):
            for k, (label, grid) in enumerate(labelled):
                lead = row_letter(r) if k == 0 else ""
                lines.append(lead + "\t" + "\t".join(grid[r]) + "\t" + label)
        lines.append("")
    return lines


def _softmax(
    t: pd.DataFrame, size: int, n_rows: int, n_cols: int, dec: int, temperature_c: float | None
) -> list[str]:
    blocks: list[list[str]] = []
    for plate, reads in _groups(t):
        modes = {_mode(read)[0] for read, _ in reads}
        if len(modes) != 1 or "alpha" in modes or ("lum" in modes and len(reads) != 1):
            raise SchemaError(
                "a SoftMax Pro plate block holds one measurement mode",
                plate=plate,
                expected="only abs_<nm> reads, only fluo_<ex>_<em> reads, or a single 'lum' read",
                found=", ".join(r for r, _ in reads),
            )
        mode = modes.pop()
        wls = [_mode(read)[1] for read, _ in reads]
        n_wl = len(reads)
        if mode == "abs":
            hdr = [
                "Plate:",
                plate,
                "1.3",
                "PlateFormat",
                "Endpoint",
                "Absorbance",
                "Raw",
                "FALSE",
                "1",
            ]
            hdr += [""] * 5 + [
                str(n_wl),
                " ".join(w[0] for w in wls) + " ",
                "1",
                str(n_cols),
                str(size),
            ]
            hdr += ["1", str(n_rows), "", ""]
        elif mode == "fluo":
            hdr = [
                "Plate:",
                plate,
                "1.3",
                "PlateFormat",
                "Endpoint",
                "Fluorescence",
                "FALSE",
                "Raw",
            ]
            hdr += ["FALSE", "1"] + [""] * 5 + [str(n_wl), " ".join(w[1] for w in wls) + " "]
            hdr += ["1", str(n_cols), str(size), " ".join(w[0] for w in wls) + " ", "", "", "", ""]
            hdr += ["6", "", "", "", "1", str(n_rows), ""]
        else:
            hdr = [
                "Plate:",
                plate,
                "1.3",
                "PlateFormat",
                "Endpoint",
                "Luminescence",
                "Raw",
                "FALSE",
                "1",
            ]
            hdr += (
                [""] * 5
                + ["1", "", "1", str(n_cols), str(size)]
                + [""] * 9
                + ["1", str(n_rows), ""]
            )
        block = ["\t".join(hdr)]
        colnums = "\t".join(str(c) for c in range(1, n_cols + 1))
        block.append("\tTemperature(\u00b0C)\t" + "\t\t".join([colnums] * n_wl) + "\t")
        grids = [_cells(tr, n_rows, n_cols, "softmax", dec) for _, tr in reads]
        for r in range(n_rows):
            temp = "" if r or temperature_c is None else f"{temperature_c:.1f}"
            block.append("\t" + temp + "\t" + "\t\t".join("\t".join(g[r]) for g in grids) + "\t")
        block += ["", "~End"]
        blocks.append(block)
    lines = [f"##BLOCKS= {len(blocks)}"]
    for b in blocks:
        lines += b
    return lines
