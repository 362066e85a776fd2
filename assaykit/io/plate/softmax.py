"""Reader of Molecular Devices SoftMax Pro text exports (format ``'softmax'``).

A SoftMax Pro ``.txt`` export starts with ``##BLOCKS= n`` and holds ``n`` blocks, each
ending with ``~End``: ``Plate:`` blocks (the measurements), ``Group:`` tables (sample
groups with the software's own calculations) and ``Note:`` blocks. Only the ``Plate:``
blocks are read; groups and notes are skipped (their numbers are derived by formulas
that assaykit recomputes in its analysis). The file may be UTF-8, cp1252 or UTF-16 with
a BOM (decoding is done by :class:`~assaykit.io.Source`).

Two layouts of plate blocks exist:

* ``PlateFormat``: a header line ``\\tTemperature(°C)\\t1\\t2...\\t12\\t\\t1...``, then one
  line per plate row; the grids of several wavelengths sit side by side separated by an
  empty column; the temperature is in the second cell of the first row. A second grid
  (header ``\\t\\t1\\t2...``) after a blank line holds the *reduced* values.
* ``TimeFormat``: a header line of well names (``A1 A2 ... H12``) and one line of values
  per wavelength (raw) or one line of reduced values.

The read / metric / flag mapping is documented in ``docs/formats/softmax.md``.

Examples
--------
>>> from assaykit.io import read_plate
>>> df = read_plate("softmaxpro_elisa_groups_RangeQ.txt")  # doctest: +SKIP
>>> sorted(df["read"].unique())  # doctest: +SKIP
['abs_450', 'abs_650']
"""

from __future__ import annotations

import math
import re

import pandas as pd

from assaykit.io._cells import parse_number
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.schema import parse_well, plate_dims, plate_table, row_letter

__all__ = ["parse_softmax_value", "read_softmax", "sniff_softmax"]

_NAN = float("nan")
_BLOCKS_RE = re.compile(r"^##BLOCKS=\s*(\d+)\s*$")
_WELL_RE = re.compile(r"^[A-Z]{1,2}\d{1,2}$")


def parse_softmax_value(text: str, *, reduced: bool = False) -> tuple[float, str]:
    """Parse one exported SoftMax Pro plate cell into ``(value, flag)``.

    Parameters
    ----------
    text : str
        The cell as exported.
    reduced : bool
        Whether the cell belongs to a reduced-data grid (changes the meaning of ``Range?``).

    Returns
    -------
    tuple of (float, str)
        The number (NaN when none) and the flag: ``''``; ``'missed'`` for ``NaN`` (a well
        the reader did not measure); ``'overflow'`` for ``Range?`` in a raw grid (a reading
        beyond the reader's range) and ``'invalid'`` for ``Range?`` in a reduced grid (the
        side is unknown there); ``'empty'`` for an empty cell; ``'not_numeric'`` otherwise.

    Examples
    --------
    >>> parse_softmax_value("0.4011")
    (0.4011, '')
    >>> parse_softmax_value("Range?")
    (nan, 'overflow')
    """
    t = text.strip()
    if not t:
        return _NAN, "empty"
    v = parse_number(t)
    if v is not None:
        return v, ""
    low = t.lower()
    if low == "range?":
        return _NAN, "invalid" if reduced else "overflow"
    if low == "nan":
        return _NAN, "missed"
    return _NAN, "not_numeric"


def sniff_softmax(source: Source) -> bool:
    """True when the first non-empty line is ``##BLOCKS= n``."""
    for line in source.head(400).splitlines():
        if line.strip():
            return bool(_BLOCKS_RE.match(line.strip()))
    return False


def _field(cells: list[str], i: int) -> str:
    return cells[i].strip() if i < len(cells) else ""


def _int_field(
    source: Source, cells: list[str], i: int, what: str, line_no: int, default: int | None = None
) -> int:
    t = _field(cells, i)
    if not t and default is not None:
        return default
    try:
        return int(float(t))
    except ValueError:
        raise source.error(
            f"bad {what} in the Plate: header",
            line=line_no,
            expected=f"a whole number (field {i + 1})",
            found=repr(t),
        ) from None


class _Out:
    """Column lists of the output table."""

    __slots__ = ("plate", "well", "read", "metric", "value", "raw", "flag", "temp", "seen")

    def __init__(self) -> None:
        self.plate: list[str] = []
        self.well: list[str] = []
        self.read: list[str] = []
        self.metric: list[str] = []
        self.value: list[float] = []
        self.raw: list[str] = []
        self.flag: list[str] = []
        self.temp: list[float] = []
        self.seen: set[tuple[str, str, str, str]] = set()


def read_softmax(source: Source) -> pd.DataFrame:
    """Read a SoftMax Pro text export into the canonical plate-read table.

    Parameters
    ----------
    source : Source
        The export.

    Returns
    -------
    pandas.DataFrame
        Canonical plate-read table (one row per plate × well × read × metric; metric
        ``'raw'`` for the measured grids, ``'reduced'`` for SoftMax's reduced grid) with an
        extra column ``temperature_c`` (the plate temperature exported with the read, NaN
        when absent). Wells not exported are absent; wells exported empty are present
        with flag ``'empty'``.

    Raises
    ------
    ReaderError
        When there is no ``Plate:`` block, a block is not closed by ``~End``, the header
        is malformed, a grid is truncated, a row misses a column, or the read is not an
        endpoint read (kinetic reads, spectra and well scans are not supported).
    """
    lines = source.lines
    n = len(lines)
    start = 0
    while start < n and not lines[start].strip():
        start += 1
    if start >= n or not _BLOCKS_RE.match(lines[start].strip()):
        raise source.error(
            "not a SoftMax Pro export",
            line=start + 1,
            expected="a first line '##BLOCKS= n'",
            found=repr(lines[start][:40]) if start < n else "no content",
        )
    out = _Out()
    names: list[str] = []
    i = start + 1
    while i < n:
        line = lines[i]
        if line.startswith("Plate:"):
            end = i + 1
            while end < n and not lines[end].startswith("~End"):
                if lines[end].startswith(("Plate:", "Group:", "Note:")):
                    break
                end += 1
            if end >= n or not lines[end].startswith("~End"):
                raise source.error(
                    "Plate block is not closed (truncated file?)",
                    line=i + 1,
                    expected="a line '~End' after the plate grid",
                    found="end of file" if end >= n else repr(lines[end][:40]),
                )
            name = _field(line.split("\t"), 1) or str(len(names) + 1)
            if name in names:
                raise source.error(
                    "plate name repeated",
                    line=i + 1,
                    expected="one Plate: block per plate",
                    found=repr(name),
                )
            _parse_plate_block(source, lines, i, end, out, len(names) + 1)
            names.append(name)
            i = end + 1
            continue
        i += 1
    if not names:
        raise source.error(
            "no Plate: block found", expected="a block starting with 'Plate:'", found="none"
        )
    return plate_table(
        plate=out.plate,
        well=out.well,
        read=out.read,
        metric=out.metric,
        value=out.value,
        raw=out.raw,
        flag=out.flag,
        source_file=source.name,
        extra={"temperature_c": out.temp},
    )


def _parse_plate_block(
    source: Source, lines: list[str], start: int, end: int, out: _Out, index: int
) -> str:
    """Parse lines[start:end] (the Plate: header up to, excluding, ~End); return the plate name."""
    hdr = lines[start].split("\t")
    ln = start + 1
    name = _field(hdr, 1) or str(index)
    fmt = _field(hdr, 3)
    read_type = _field(hdr, 4)
    mode = _field(hdr, 5)
    fluo = mode == "Fluorescence"
    off = 1 if fluo else 0  # fluorescence headers carry an extra scan-position field
    data_type = _field(hdr, 6 + off)
    if read_type != "Endpoint":
        raise source.error(
            "only endpoint reads are supported",
            line=ln,
            plate=name,
            expected="read type 'Endpoint'",
            found=repr(read_type),
        )
    kin = _int_field(source, hdr, 8 + off, "number of reads", ln, default=1)
    if kin != 1:
        raise source.error(
            "only endpoint reads are supported",
            line=ln,
            plate=name,
            expected="1 read per well",
            found=f"{kin} kinetic reads",
        )
    wl_text = _field(hdr, 15 + off).split()
    n_wl = _int_field(
        source, hdr, 14 + off, "number of wavelengths", ln, default=max(len(wl_text), 1)
    )
    if len(wl_text) != n_wl and not (mode == "Luminescence" and not wl_text):
        raise source.error(
            "wavelength list does not match the number of wavelengths",
            line=ln,
            plate=name,
            expected=f"{n_wl} wavelengths",
            found=repr(" ".join(wl_text)),
        )
    n_wells = _int_field(source, hdr, 18 + off, "number of wells", ln, default=96)
    n_rows, n_cols = plate_dims(n_wells) if n_wells in (6, 12, 24, 48, 96, 384, 1536) else (0, 0)
    if not n_rows:
        raise source.error(
            "unknown plate size in the Plate: header",
            line=ln,
            plate=name,
            expected="96 or 384 wells",
            found=str(n_wells),
        )
    reads, reduced_read, n_wl = _block_reads(source, hdr, mode, wl_text, n_wl, ln, name)
    if data_type not in ("Raw", "Reduced", "Both"):
        raise source.error(
            "unknown data type in the Plate: header",
            line=ln,
            plate=name,
            expected="Raw, Reduced or Both",
            found=repr(data_type),
        )
    sections = _sections(lines, start + 1, end)  # runs of non-blank lines
    if not sections:
        raise source.error(
            "Plate block has no grid",
            line=ln,
            plate=name,
            expected="a grid header",
            found="nothing",
        )
    ctx = (source, lines, name, n_rows, n_cols, out)
    if fmt == "PlateFormat":
        first = sections[0]
        temp = _NAN
        if data_type == "Reduced":
            _plate_grid(ctx, first, [reduced_read], "reduced", reduced=True, temp_out=None)
            rest = sections[1:]
        else:
            temp = _plate_grid(ctx, first, reads, "raw", reduced=False, temp_out=True)
            rest = sections[1:]
            if rest:
                _plate_grid(ctx, rest[0], [reduced_read], "reduced", reduced=True, temp_out=None)
                rest = rest[1:]
        if rest:
            raise source.error(
                "unexpected lines after the plate grids",
                line=rest[0][0] + 1,
                plate=name,
                expected="'~End'",
                found=repr(lines[rest[0][0]][:40]),
            )
        _fill_temp(out, name, temp)
    elif fmt == "TimeFormat":
        _time_format(ctx, sections, reads, reduced_read, data_type)
    else:
        raise source.error(
            "unknown export format in the Plate: header",
            line=ln,
            plate=name,
            expected="PlateFormat or TimeFormat",
            found=repr(fmt),
        )
    return name


def _block_reads(
    source: Source, hdr: list[str], mode: str, wl_text: list[str], n_wl: int, ln: int, name: str
) -> tuple[list[str], str, int]:
    """The read names of a Plate: block's wavelengths, the name of its reduced read, and
    the number of wavelengths (from the read mode and the wavelength fields)."""
    fluo = mode == "Fluorescence"
    if mode == "Absorbance":
        reads = [f"abs_{w}" for w in wl_text]
        reduced_read = (
            reads[0] if n_wl == 1 else ("abs_" + "-".join(wl_text) if n_wl == 2 else "abs_reduced")
        )
    elif fluo:
        ex = _field(hdr, 20).split()
        if len(ex) != n_wl:
            raise source.error(
                "excitation wavelengths do not match the emission wavelengths",
                line=ln,
                plate=name,
                expected=f"{n_wl} excitation wavelengths",
                found=repr(" ".join(ex)),
            )
        reads = [f"fluo_{e}_{w}" for e, w in zip(ex, wl_text, strict=True)]
        reduced_read = reads[0] if n_wl == 1 else "fluo_reduced"
    elif mode == "Luminescence":
        reads = ["lum"] if n_wl <= 1 else [f"lum_{w}" for w in wl_text]
        n_wl = len(reads)
        reduced_read = reads[0] if n_wl == 1 else "lum_reduced"
    else:
        raise source.error(
            "unsupported read mode",
            line=ln,
            plate=name,
            expected="Absorbance, Fluorescence or Luminescence",
            found=repr(mode),
        )
    return reads, reduced_read, n_wl


def _sections(lines: list[str], start: int, end: int) -> list[list[int]]:
    """Indices of the runs of non-blank lines in ``lines[start:end]``."""
    sections: list[list[int]] = []
    cur: list[int] = []
    for j in range(start, end):
        if lines[j].strip():
            cur.append(j)
        elif cur:
            sections.append(cur)
            cur = []
    if cur:
        sections.append(cur)
    return sections


def _fill_temp(out: _Out, name: str, temp: float) -> None:
    k = len(out.temp)
    out.temp.extend([temp] * (len(out.plate) - k))


def _emit(ctx, well: str, read: str, metric: str, text: str, reduced: bool, line_no: int) -> None:
    source, _, name, _, _, out = ctx
    key = (name, well, read, metric)
    if key in out.seen:
        raise source.error(
            "well repeated in a plate grid",
            line=line_no,
            plate=name,
            well=well,
            expected="one value per well",
            found="a second value",
        )
    out.seen.add(key)
    t = text.strip()
    v = parse_number(t)
    if v is None:
        v, f = parse_softmax_value(t, reduced=reduced)
    else:
        f = ""
    out.plate.append(name)
    out.well.append(well)
    out.read.append(read)
    out.metric.append(metric)
    out.value.append(v)
    out.raw.append(t)
    out.flag.append(f)


def _plate_grid(
    ctx, section: list[int], reads: list[str], metric: str, *, reduced: bool, temp_out
) -> float:
    """Parse one PlateFormat grid (header + rows), side-by-side grids for each read."""
    source, lines, name, n_rows, n_cols, out = ctx
    hdr_no = section[0]
    hdr = lines[hdr_no].split("\t")
    groups: list[list[tuple[int, int]]] = []  # per read: (cell index, column number)
    g: list[tuple[int, int]] = []
    for idx in range(2, len(hdr)):
        c = hdr[idx].strip()
        if not c:
            if g:
                groups.append(g)
                g = []
            continue
        if not c.isdigit() or not 1 <= int(c) <= n_cols:
            raise source.error(
                "bad column header in a plate grid",
                line=hdr_no + 1,
                plate=name,
                expected=f"column numbers 1..{n_cols}",
                found=repr(c),
            )
        g.append((idx, int(c)))
    if g:
        groups.append(g)
    if len(groups) != len(reads):
        raise source.error(
            "number of side-by-side grids does not match the wavelengths",
            line=hdr_no + 1,
            plate=name,
            expected=f"{len(reads)} grid(s) for {', '.join(reads)}",
            found=f"{len(groups)}",
        )
    rows = section[1:]
    if len(rows) != n_rows:
        raise source.error(
            "plate grid is truncated" if len(rows) < n_rows else "plate grid has too many rows",
            line=(rows[-1] if rows else hdr_no) + 1,
            plate=name,
            expected=f"{n_rows} rows",
            found=f"{len(rows)} rows",
        )
    need = max(idx for grp in groups for idx, _ in grp) + 1
    temp = _NAN
    for r, j in enumerate(rows):
        cells = lines[j].split("\t")
        if len(cells) < need:
            raise source.error(
                "plate grid row misses a column",
                line=j + 1,
                plate=name,
                expected=f"{need} cells",
                found=f"{len(cells)} cells",
            )
        if r == 0 and temp_out:
            tt = cells[1].strip()
            try:
                temp = float(tt) if tt else _NAN
            except ValueError:
                temp = _NAN
        letter = row_letter(r)
        for read, grp in zip(reads, groups, strict=True):
            for idx, c in grp:
                _emit(ctx, f"{letter}{c}", read, metric, cells[idx], reduced, j + 1)
    return temp


def _time_format(
    ctx, sections: list[list[int]], reads: list[str], reduced_read: str, data_type: str
) -> None:
    source, lines, name, n_rows, n_cols, out = ctx
    wells: list[tuple[int, str]] | None = None
    data_lines: list[int] = []
    reduced_lines: list[int] = []
    headers_seen = 0
    for sec in sections:
        for j in sec:
            cells = lines[j].split("\t")
            c2 = _field(cells, 2)
            if _WELL_RE.match(c2):
                wells = []
                for idx in range(2, len(cells)):
                    w = cells[idx].strip()
                    if not w:
                        continue
                    try:
                        r, c = parse_well(w)
                    except Exception:
                        raise source.error(
                            "bad well name in a TimeFormat header",
                            line=j + 1,
                            plate=name,
                            expected="names like 'A1'",
                            found=repr(w),
                        ) from None
                    if (
                        c > n_cols
                        or len(r) > 1
                        and n_rows <= 26
                        or (len(r) == 1 and ord(r) - 64 > n_rows)
                    ):
                        raise source.error(
                            "well outside the plate",
                            line=j + 1,
                            plate=name,
                            expected=f"a well of a {n_rows * n_cols}-well plate",
                            found=repr(w),
                        )
                    wells.append((idx, f"{r}{c}"))
                headers_seen += 1
                continue
            if wells is None:
                raise source.error(
                    "TimeFormat values before the well header",
                    line=j + 1,
                    plate=name,
                    expected="a line of well names",
                    found=repr(lines[j][:40]),
                )
            if data_type == "Reduced" or headers_seen > 1:
                reduced_lines.append(j)
            else:
                data_lines.append(j)
    assert wells is not None  # sections are non-empty: a value line before a header raised above
    if data_type != "Reduced" and len(data_lines) != len(reads):
        raise source.error(
            "TimeFormat block does not hold one line per wavelength",
            line=(data_lines[-1] if data_lines else sections[0][0]) + 1,
            plate=name,
            expected=f"{len(reads)} line(s) for {', '.join(reads)}",
            found=f"{len(data_lines)}",
        )
    if len(reduced_lines) > 1 or (data_type == "Reduced" and not reduced_lines):
        raise source.error(
            "TimeFormat block must hold one line of reduced values",
            line=sections[-1][-1] + 1,
            plate=name,
            expected="1 line",
            found=f"{len(reduced_lines)}",
        )
    temp = _NAN
    jobs = [
        (j, rd, "raw", False) for j, rd in zip(data_lines, reads[: len(data_lines)], strict=True)
    ]
    jobs += [(j, reduced_read, "reduced", True) for j in reduced_lines]
    for j, read, metric, reduced in jobs:
        cells = lines[j].split("\t")
        need = max(idx for idx, _ in wells) + 1
        if len(cells) < need:
            raise source.error(
                "TimeFormat line misses values",
                line=j + 1,
                plate=name,
                expected=f"{len(wells)} values",
                found=f"{max(len(cells) - 2, 0)}",
            )
        if not reduced and math.isnan(temp):
            tt = cells[1].strip()
            try:
                temp = float(tt) if tt else _NAN
            except ValueError:
                temp = _NAN
        for idx, w in wells:
            _emit(ctx, w, read, metric, cells[idx], reduced, j + 1)
    _fill_temp(out, name, temp)


register(
    "softmax",
    kind="plate",
    sniff=sniff_softmax,
    description="Molecular Devices SoftMax Pro text export (.txt, ##BLOCKS): Plate blocks, 96/384 wells",
    priority=20,
)(read_softmax)
