"""Reader of BioTek / Agilent Gen5 plate-reader text exports (format ``'gen5'``).

A Gen5 "default export" (``.txt``, tab-separated, LF or CRLF) holds, for each plate,
a header (``Software Version``, ``Plate Number``, ...), a ``Procedure Details`` block
naming the read steps, an optional ``Layout`` block (well IDs such as ``STD1``,
``SPL1:2``, ``BLK`` and a ``Conc/Dil`` row), a ``Results`` block in which every plate
row spans one line per data set (the data-set name sits after the last column), and
optionally ``StdCurve Fitting Results`` (skipped: curve fitting belongs to assaykit's
analysis, not to the reader). Several plates are written one after the other, each
with its own ``Plate Number`` section.

The mapping of data-set names to ``read`` / ``metric`` and of instrument tokens to
flags is documented in ``docs/formats/gen5.md``.

Examples
--------
>>> from assaykit.io import read_plate
>>> df = read_plate("endpoint_stdcurve_singleplate.txt")  # doctest: +SKIP
>>> sorted(df["metric"].unique())  # doctest: +SKIP
['blank_corrected', 'instrument_conc', 'raw']
"""

from __future__ import annotations

import re

import pandas as pd

from assaykit.io._cells import parse_number
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.schema import plate_dims, plate_table, row_index

__all__ = ["classify_data_set", "parse_gen5_value", "read_gen5", "sniff_gen5"]

_NAN = float("nan")

#: Gen5 tokens for cells without a number, and the flag each one sets.
GEN5_TOKENS: dict[str, str] = {
    "OVRFLW": "overflow",
    "MISSED": "missed",
    "?????": "invalid",
}

_ROW_RE = re.compile(r"^[A-Z]{1,2}$")
_NUM_RE = re.compile(r"^\d+(?:\.\d+)?$")
_PLATE_SIZE_RE = re.compile(r"(\d+)\s*WELL", re.IGNORECASE)
_SECTIONS = ("Layout", "Results", "Procedure Details")
_NOT_ENDPOINT = ("kinetic", "spectrum", "spectral", "area scan", "well area", "linear scan")


def parse_gen5_value(text: str) -> tuple[float, str]:
    """Parse one exported Gen5 cell into ``(value, flag)``.

    Parameters
    ----------
    text : str
        The cell as exported.

    Returns
    -------
    tuple of (float, str)
        The number (NaN when the cell holds none) and the flag: ``''``, ``'overflow'``
        (``OVRFLW``), ``'missed'`` (``MISSED``), ``'invalid'`` (``?????``),
        ``'out_of_range_high'`` / ``'out_of_range_low'`` (``>3141492.000`` / ``<0.1``: the
        instrument's curve range; the number is the bound, as for every reader), ``'empty'`` or
        ``'not_numeric'``.

    Examples
    --------
    >>> parse_gen5_value("2.130")
    (2.13, '')
    >>> parse_gen5_value("OVRFLW")
    (nan, 'overflow')
    """
    t = text.strip()
    if not t:
        return _NAN, "empty"
    v = parse_number(t)
    if v is not None:
        return v, ""
    flag = GEN5_TOKENS.get(t.upper())
    if flag:
        return _NAN, flag
    if t[0] in "<>":
        # the instrument's curve-range bound, kept in value as for every reader
        # (docs/schemas.md); the flag says it is a bound, not a measurement
        bound = parse_number(t[1:].strip())
        flag = "out_of_range_high" if t[0] == ">" else "out_of_range_low"
        return (_NAN if bound is None else bound), flag
    return _NAN, "not_numeric"  # 'nan', 'inf' spelled out are not Gen5 numbers


def _snake(text: str) -> str:
    s = re.sub(r"[^0-9a-zA-Z]+", "_", text).strip("_").lower()
    return s or "value"


def _wavelength(spec: str) -> str:
    """'485/20' -> '485' (drop the band width); '450' -> '450'."""
    return spec.strip().split("/")[0].strip()


def classify_data_set(
    label: str, steps: dict[str, str], raw_labels: set[str] | None = None
) -> tuple[str, str]:
    """Map a Gen5 data-set name to ``(read, metric)``.

    Parameters
    ----------
    label : str
        The data-set name written after the last plate column (``'630nmAbsRead:630'``,
        ``'Blank 630nmAbsRead:630'``, ``'[Concentration]'``, ``'Alpha'``, ...).
    steps : dict
        Read-step names from ``Procedure Details`` → measurement mode (``'abs'``,
        ``'fluo'``, ``'lum'``, ``'alpha'``, ``''`` when unknown).
    raw_labels : set of str, optional
        Labels already known to be raw measurements (to recognise ``'Log Alpha'`` as a
        transform of ``'Alpha'``).

    Returns
    -------
    tuple of (str, str)
        ``read`` and ``metric``. ``metric`` is ``'raw'`` for measurements,
        ``'blank_corrected'`` for ``Blank <set>``, ``'instrument_conc'`` for
        ``[Concentration]`` (its ``read`` is ``''`` here; the reader fills it in),
        the snake-cased prefix for other transforms of a raw set (``'Log Alpha'`` →
        ``('alpha', 'log')``), and ``'calculated'`` for any other named data set
        (read = the snake-cased name).

    Examples
    --------
    >>> classify_data_set("630nmAbsRead:630", {"630nmAbsRead": "abs"})
    ('abs_630', 'raw')
    >>> classify_data_set("Read 1:485/20,528/20", {"Read 1": "fluo"})
    ('fluo_485_528', 'raw')
    """
    lab = label.strip()
    raw_labels = raw_labels or set()
    low = lab.lower()
    if low.strip("[] ") in ("concentration", "conc"):
        return "", "instrument_conc"
    if low.startswith("blank "):
        inner = lab[6:].strip()
        r, m = classify_data_set(inner, steps, raw_labels)
        if m == "raw":
            return r, "blank_corrected"
    raw = _raw_read(lab, steps)
    if raw is not None:
        return raw, "raw"
    # '<prefix> <raw label>' → transform of a raw data set
    for rl in sorted(raw_labels, key=len, reverse=True):
        if lab.endswith(rl) and len(lab) > len(rl):
            prefix = lab[: -len(rl)].strip()
            if prefix:
                return _raw_read(rl, steps) or _snake(rl), _snake(prefix)
    return _snake(lab), "calculated"


def _raw_read(label: str, steps: dict[str, str]) -> str | None:
    """The read name of a raw data-set label, or None if it is not a raw measurement."""
    if ":" in label:
        step, _, spec = label.rpartition(":")
        step = step.strip()
        spec = spec.strip()
        mode = steps.get(step, "")
        if not spec:
            return None
        if spec.lower() in ("lum", "luminescence"):
            return "lum"
        parts = [p for p in spec.split(",") if p.strip()]
        wls = [_wavelength(p) for p in parts]
        if not all(_NUM_RE.match(w) for w in wls):
            return None
        if mode == "lum" or (
            mode == "" and len(wls) == 1 and "/" in spec and not step.lower().startswith("abs")
        ):
            if mode == "lum":
                return "lum_" + wls[0] if len(wls) == 1 else "lum_" + "_".join(wls)
        if mode == "fluo" or len(wls) == 2:
            return "fluo_" + "_".join(wls)
        if mode == "alpha":
            return "alpha"
        return "abs_" + "_".join(wls)
    low = label.lower()
    if low in ("alpha", "lum", "luminescence"):
        return "alpha" if low == "alpha" else "lum"
    mode = steps.get(label)
    if mode in ("lum", "alpha"):
        return mode
    return None


def sniff_gen5(source: Source) -> bool:
    """True when the text looks like a Gen5 export (``Software Version`` plus Gen5 sections)."""
    head = source.head(6000)
    if "Software Version" not in head:
        return False
    return any(
        k in head
        for k in ("Plate Number", "Procedure Details", "Experiment File Path:", "\nResults")
    )


class _Plate:
    __slots__ = ("name", "steps", "full_plate", "n_wells", "layout", "line", "has_results")

    def __init__(self, name: str, line: int) -> None:
        self.name = name
        self.line = line
        self.steps: dict[str, str] = {}
        self.full_plate = False
        self.n_wells: int | None = None
        # well -> [sample_label, std_conc, dilution]
        self.layout: dict[str, list] = {}
        self.has_results = False


def _mode_of(text: str) -> str | None:
    low = text.lower()
    if "absorbance" in low:
        return "abs"
    if "fluorescence" in low:
        return "fluo"
    if "luminescence" in low:
        return "lum"
    if "alpha" in low:
        return "alpha"
    return None


def _header_columns(source: Source, cells: list[str], line_no: int, block: str) -> list[int]:
    cols: list[int] = []
    for c in cells[1:]:
        c = c.strip()
        if not c:
            break
        if not c.isdigit():
            raise source.error(
                f"bad column header of the {block} block",
                line=line_no,
                expected="column numbers 1, 2, 3, ...",
                found=repr(c),
            )
        cols.append(int(c))
    if not cols:
        raise source.error(
            f"{block} block has no column header",
            line=line_no,
            expected="a line '\\t1\\t2\\t...\\t12'",
            found="none",
        )
    if cols != list(range(cols[0], cols[0] + len(cols))):
        raise source.error(
            f"column numbers of the {block} block are not consecutive",
            line=line_no,
            expected="1, 2, 3, ...",
            found=", ".join(map(str, cols)),
        )
    return cols


def read_gen5(source: Source) -> pd.DataFrame:
    """Read a Gen5 text export into the canonical plate-read table.

    Parameters
    ----------
    source : Source
        The export.

    Returns
    -------
    pandas.DataFrame
        Canonical plate-read table with extra columns ``sample_label`` (Gen5 well ID from
        the ``Layout`` block, ``''`` without one), ``std_conc`` and ``dilution`` (from the
        ``Conc/Dil`` row: concentration for standards/controls, dilution for ``SPL`` wells;
        NaN where not exported).

    Raises
    ------
    ReaderError
        When the export has no ``Results`` block, a grid row is truncated or has a
        missing column, a data set is missing from a plate row, the plate is not fully
        exported although the procedure says ``Full Plate``, a value is repeated, or the
        read is not an endpoint read (kinetic, spectrum and area scans are not supported).
    """
    lines = source.lines
    n = len(lines)
    plates: list[_Plate] = []
    cur: _Plate | None = None

    plate_col: list[str] = []
    wells: list[str] = []
    reads: list[str] = []
    metrics: list[str] = []
    values: list[float] = []
    raws: list[str] = []
    flags: list[str] = []
    seen: dict[tuple[str, str, str, str], int] = {}

    def new_plate(name: str, line_no: int) -> _Plate:
        p = _Plate(name or str(len(plates) + 1), line_no)
        for other in plates:
            if other.name == p.name:
                raise source.error(
                    "plate name repeated",
                    line=line_no,
                    expected="one section per plate",
                    found=repr(p.name),
                )
        plates.append(p)
        return p

    i = 0
    while i < n:
        line = lines[i]
        cells = line.split("\t")
        key = cells[0].strip()
        if key == "Plate Number":
            cur = new_plate(cells[1].strip() if len(cells) > 1 else "", i + 1)
            i += 1
            continue
        if key == "Procedure Details":
            if cur is None:
                cur = new_plate("", i + 1)
            i = _parse_procedure(source, lines, i + 1, cur)
            continue
        if key == "Layout" and not "".join(cells[1:]).strip():
            if cur is None:
                cur = new_plate("", i + 1)
            i = _parse_layout(source, lines, i + 1, cur)
            continue
        if key == "Results" and not "".join(cells[1:]).strip():
            if cur is None:
                cur = new_plate("", i + 1)
            if cur.has_results:
                raise source.error(
                    "second Results block for one plate",
                    line=i + 1,
                    expected="a 'Plate Number' line before each plate's Results",
                    found="'Results' again",
                )
            cur.has_results = True
            i = _parse_results(
                source,
                lines,
                i + 1,
                cur,
                plate_col,
                wells,
                reads,
                metrics,
                values,
                raws,
                flags,
                seen,
            )
            continue
        i += 1

    if not plates or not any(p.has_results for p in plates):
        raise source.error(
            "no Results block found",
            expected="a line 'Results' followed by the plate grid",
            found="none",
        )
    for p in plates:
        if not p.has_results:
            raise source.error(
                "plate has no Results block",
                line=p.line,
                plate=p.name,
                expected="a 'Results' grid for every plate",
                found="none",
            )

    layouts = {p.name: p.layout for p in plates}
    empty = ("", _NAN, _NAN)
    lab, conc, dil = [], [], []
    for pl, w in zip(plate_col, wells, strict=True):
        info = layouts[pl].get(w, empty)
        lab.append(info[0])
        conc.append(info[1])
        dil.append(info[2])
    return plate_table(
        plate=plate_col,
        well=wells,
        read=reads,
        metric=metrics,
        value=values,
        raw=raws,
        flag=flags,
        source_file=source.name,
        extra={"sample_label": lab, "std_conc": conc, "dilution": dil},
    )


def _parse_procedure(source: Source, lines: list[str], i: int, plate: _Plate) -> int:
    n = len(lines)
    step: str | None = None
    while i < n:
        line = lines[i]
        cells = line.split("\t")
        key = cells[0].strip()
        if key in _SECTIONS and not "".join(cells[1:]).strip():
            return i
        if key == "Plate Number":
            return i
        if key == "Plate Type":
            m = _PLATE_SIZE_RE.search(line)
            if m and int(m.group(1)) in (6, 12, 24, 48, 96, 384, 1536):
                plate.n_wells = int(m.group(1))
        elif key.lower().startswith("start kinetic"):
            raise source.error(
                "only endpoint reads are supported",
                line=i + 1,
                expected="an 'Endpoint' read step",
                found=repr(key),
            )
        elif key == "Read":
            step = cells[1].strip() if len(cells) > 1 else ""
            plate.steps[step] = _mode_of(step) or ""
        elif key == "" and step is not None and line.strip():
            detail = "\t".join(cells[1:]).strip()
            low = detail.lower()
            if low == "full plate":
                plate.full_plate = True
            if any(k in low for k in _NOT_ENDPOINT) and "endpoint" not in low:
                raise source.error(
                    "only endpoint reads are supported",
                    line=i + 1,
                    expected="an 'Endpoint' read step",
                    found=repr(detail),
                )
            mode = _mode_of(detail)
            if mode and "endpoint" in low:
                plate.steps[step] = mode
        i += 1
    return i


def _block_rows(source: Source, lines: list[str], i: int, block: str) -> tuple[list[tuple[int, str, str, list[str]]], int]:
    """The grid lines of a Layout/Results block from line index ``i``.

    Returns ``([(index, row, key, cells), ...], end)``: ``row`` is the current row letter
    (continuation lines repeat it, ``key`` is then ``''``); the block ends at a blank line
    or a line whose first cell is not a row letter.
    """
    out: list[tuple[int, str, str, list[str]]] = []
    row: str | None = None
    n = len(lines)
    while i < n:
        line = lines[i]
        if not line.strip():
            break
        cells = line.split("\t")
        key = cells[0].strip()
        if key and not _ROW_RE.match(key):
            break
        if key:
            row = key
        if row is None:
            raise source.error(
                f"{block} line before the first row letter",
                line=i + 1,
                expected="a line starting with a row letter",
                found=repr(line[:40]),
            )
        out.append((i, row, key, cells))
        i += 1
    return out, i


def _parse_layout(source: Source, lines: list[str], i: int, plate: _Plate) -> int:
    n = len(lines)
    if i >= n:
        raise source.error(
            "Layout block is truncated", line=i, expected="a column header", found="end of file"
        )
    cols = _header_columns(source, lines[i].split("\t"), i + 1, "Layout")
    ncol = len(cols)
    rows, end = _block_rows(source, lines, i + 1, "Layout")
    for i, row, key, cells in rows:
        label = cells[ncol + 1].strip() if len(cells) > ncol + 1 else ""
        vals = cells[1 : ncol + 1]
        vals += [""] * (ncol - len(vals))
        low = label.lower()
        for c, v in zip(cols, vals, strict=True):
            v = v.strip()
            well = f"{row}{c}"
            info = plate.layout.setdefault(well, ["", _NAN, _NAN])
            if low == "well id" or (label == "" and key):
                info[0] = v
            elif v and low in ("conc/dil", "conc", "concentration", "dil", "dilution"):
                try:
                    num = float(v)
                except ValueError:
                    raise source.error(
                        f"{label} value is not a number",
                        line=i + 1,
                        well=well,
                        expected="a number or an empty cell",
                        found=repr(v),
                    ) from None
                is_sample = info[0].upper().startswith("SPL")
                if low in ("dil", "dilution") or (low == "conc/dil" and is_sample):
                    info[2] = num
                else:
                    info[1] = num
    return end


def _parse_results(
    source: Source,
    lines: list[str],
    i: int,
    plate: _Plate,
    plate_col: list[str],
    wells: list[str],
    reads: list[str],
    metrics: list[str],
    values: list[float],
    raws: list[str],
    flags: list[str],
    seen: dict,
) -> int:
    n = len(lines)
    if i >= n or not lines[i].strip():
        raise source.error(
            "Results block is truncated",
            line=i + 1,
            expected="a column header '\\t1\\t2...'",
            found="nothing",
        )
    cols = _header_columns(source, lines[i].split("\t"), i + 1, "Results")
    ncol = len(cols)
    steps = plate.steps
    grid, i = _results_grid(source, lines, i, plate, ncol)

    labels_in_order = list(dict.fromkeys(lab for _, _, _, lab in grid))
    kinds, raw_reads = _data_set_kinds(source, grid, labels_in_order, steps, plate.name)

    _check_results_shape(source, grid, labels_in_order, plate, cols)

    prev_read = raw_reads[0] if raw_reads else "value"
    single_raw = raw_reads[0] if len(set(raw_reads)) == 1 else None
    name = plate.name
    for ln, r, cells, lab in grid:
        read, metric = kinds[lab]
        if metric == "instrument_conc":
            read = single_raw or prev_read
        else:
            prev_read = read
        for c, text in zip(cols, cells, strict=True):
            well = f"{r}{c}"
            k = (name, well, read, metric)
            if k in seen:
                raise source.error(
                    "value repeated in the Results grid",
                    line=ln,
                    plate=name,
                    well=well,
                    expected="one value per well and data set",
                    found=f"a second '{lab}' value",
                )
            seen[k] = ln
            t = text.strip()
            v = parse_number(t)
            if v is None:
                v, f = parse_gen5_value(t)
            else:
                f = ""
            plate_col.append(name)
            wells.append(well)
            reads.append(read)
            metrics.append(metric)
            values.append(v)
            raws.append(t)
            flags.append(f)
    return i



def _results_grid(
    source: Source, lines: list[str], i: int, plate: _Plate, ncol: int
) -> tuple[list[tuple[int, str, list[str], str]], int]:
    """The grid lines of a Results block: ``(line_no, row, values, data-set label)``, and
    the index of the line after the block."""
    grid: list[tuple[int, str, list[str], str]] = []  # (line_no, row, values, label)
    rows, i = _block_rows(source, lines, i + 1, "Results")
    for j, row, _key, cells in rows:
        if len(cells) < ncol + 1:
            raise source.error(
                "grid row is truncated or misses a column",
                line=j + 1,
                plate=plate.name,
                expected=f"{ncol} values after the row letter",
                found=f"{len(cells) - 1}",
            )
        label = cells[ncol + 1].strip() if len(cells) > ncol + 1 else ""
        extra = [c for c in cells[ncol + 2 :] if c.strip()]
        if extra:
            raise source.error(
                "grid row has more cells than the column header",
                line=j + 1,
                plate=plate.name,
                expected=f"{ncol} values and a data-set name",
                found=f"extra cells {extra[:3]}",
            )
        grid.append((j + 1, row, cells[1 : ncol + 1], label))
    if not grid:
        raise source.error(
            "Results block has no rows",
            line=i + 1,
            plate=plate.name,
            expected="rows 'A', 'B', ...",
            found="none",
        )
    return grid, i


def _data_set_kinds(
    source: Source, grid: list, labels_in_order: list[str], steps: dict, plate_name: str
) -> tuple[dict[str, tuple[str, str]], list[str]]:
    """``(read, metric)`` of every data-set label, and the raw reads in order."""
    # classify the data sets: raw first, then the rest (which may refer to raw ones)
    raw_labels = {
        lab for lab in labels_in_order if lab and classify_data_set(lab, steps)[1] == "raw"
    }
    kinds: dict[str, tuple[str, str]] = {}
    raw_reads = []
    for lab in labels_in_order:
        if not lab:
            only = [m for m in steps.values()]
            if len(labels_in_order) == 1 and len(steps) == 1 and only[0] in ("lum", "alpha"):
                kinds[lab] = (only[0], "raw")
            else:
                raise source.error(
                    "data-set name missing after the last column",
                    line=next(ln for ln, _, _, lb in grid if lb == lab),
                    plate=plate_name,
                    expected="a name such as '450nmRead:450'",
                    found="an empty cell",
                )
        else:
            kinds[lab] = classify_data_set(lab, steps, raw_labels)
    # two read steps measuring the same thing (e.g. two 450 nm steps): keep both, apart,
    # by appending the snake-cased step name to the read of each colliding data set
    by_key: dict[tuple[str, str], list[str]] = {}
    for lab, key in kinds.items():
        if key[1] != "instrument_conc":
            by_key.setdefault(key, []).append(lab)
    for key, labs in by_key.items():
        if len(labs) > 1:
            for lab in labs:
                core = lab[6:].strip() if lab.lower().startswith("blank ") else lab
                step = core.rpartition(":")[0] or core
                kinds[lab] = (f"{key[0]}_{_snake(step)}", key[1])
    for lab in labels_in_order:
        if kinds[lab][1] == "raw":
            raw_reads.append(kinds[lab][0])

    return kinds, raw_reads


def _check_results_shape(source: Source, grid: list, labels_in_order: list[str], plate: _Plate, cols: list[int]) -> None:
    """Raise when a plate row lacks a data set or the grid does not fit the plate."""
    ncol = len(cols)
    # each plate row must carry the same data sets
    per_row: dict[str, list[str]] = {}
    row_line: dict[str, int] = {}
    for ln, r, _, lab in grid:
        per_row.setdefault(r, []).append(lab)
        row_line.setdefault(r, ln)
    for r, labs in per_row.items():
        if labs != labels_in_order:
            missing = [x for x in labels_in_order if x not in labs]
            raise source.error(
                "plate row does not carry every data set",
                line=row_line[r],
                plate=plate.name,
                expected=f"data sets {labels_in_order}",
                found=f"{labs}" + (f" (missing {missing})" if missing else ""),
            )
    if plate.full_plate and plate.n_wells:
        n_rows, n_cols = plate_dims(plate.n_wells)
        if len(per_row) != n_rows or ncol != n_cols:
            raise source.error(
                "Results grid does not cover the full plate",
                line=grid[-1][0],
                plate=plate.name,
                expected=f"{n_rows} rows x {n_cols} columns (Full Plate, {plate.n_wells} wells)",
                found=f"{len(per_row)} rows x {ncol} columns",
            )
    if plate.n_wells:
        n_rows, n_cols = plate_dims(plate.n_wells)
        for ln, r, _, _ in grid:
            if row_index(r) >= n_rows:
                raise source.error(
                    "row letter outside the plate",
                    line=ln,
                    plate=plate.name,
                    expected=f"rows A..{chr(64 + n_rows)} of a {plate.n_wells}-well plate",
                    found=repr(r),
                )
        if cols[-1] > n_cols:
            raise source.error(
                "column number outside the plate",
                plate=plate.name,
                expected=f"columns 1..{n_cols}",
                found=str(cols[-1]),
            )

register(
    "gen5",
    kind="plate",
    sniff=sniff_gen5,
    description="BioTek/Agilent Gen5 text export (.txt): Layout, Results with several data sets per row",
    priority=20,
)(read_gen5)
