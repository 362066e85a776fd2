"""Reader of RDML 1.0–1.4 files (Real-time PCR Data Markup Language).

An ``.rdml`` file is a zip archive holding one XML document (``rdml_data.xml``; Bio-Rad
names it after the run, e.g. ``BioRad_qPCR_melt.xml``); plain XML is accepted too. The
reader is a small :mod:`xml.etree` walk of our own (see ``docs/formats/rdml.md``):

``rdml`` → ``sample`` (type, quantity), ``target`` (type ref/toi, dyeId) →
``experiment`` → ``run`` (pcrFormat) → ``react`` (id, sample) → ``data`` (tar, cq,
excl, meltTemp, N0, Ncopy, ampEff, note).

Element names are matched on their local name, so the namespace (which differs between
files and versions, or is absent) does not matter.
"""

from __future__ import annotations

import io
import math
import re
import zipfile
import zlib
from dataclasses import dataclass
from xml.etree import ElementTree as ET

import numpy as np
import pandas as pd

from assaykit.errors import SchemaError
from assaykit.io._cells import parse_number
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.schema import parse_well, qpcr_table, row_letter

__all__ = ["read_rdml", "react_id_to_well"]

#: RDML sample types → canonical tasks.
SAMPLE_TYPE_TASKS = {
    "unkn": "unknown",
    "std": "standard",
    "ntc": "ntc",
    "nrt": "nrt",
    "nac": "nac",
    "ntp": "ntp",
    "pos": "positive_control",
    "opt": "optical_calibrator",
}

_MAX_XML_BYTES = 512 * 1024 * 1024

# Runs of well-formed amplification / melting data points (<adp>/<mdp> holding only
# <cyc>/<tmp>/<fluor>), which this reader does not use: removed before parsing (they are
# > 90 % of a typical file), keeping their line breaks so that error lines stay right.
_P = rb"(?:[\w.-]+:)?"
_CURVES_RE = re.compile(
    rb"(?:\s*<" + _P + rb"[am]dp>[^<]*(?:<" + _P + rb"(?:cyc|tmp|fluor)>[^<]*</" + _P
    + rb"(?:cyc|tmp|fluor)>[^<]*)*</" + _P + rb"[am]dp>)+"
)
# The same without namespace prefixes, with possessive quantifiers (no backtracking into
# a matched run: the pattern never needs it): 2-4 times faster. Used when no curve tag
# of the file carries a prefix, where both patterns match the same runs.
_PLAIN_CURVES_RE = re.compile(
    rb"(?:\s*+<[am]dp>[^<]*+(?:<(?:cyc|tmp|fluor)>[^<]*+</(?:cyc|tmp|fluor)>[^<]*+)*+</[am]dp>)++"
)
_PREFIXED_TAGS = (b":adp>", b":mdp>", b":cyc>", b":tmp>", b":fluor>")


_WHITE = frozenset(b" \t\n\r\f\v")  # what \s matches in a bytes pattern


def _strip_curves(data: bytes) -> bytes:
    """``_CURVES_RE.sub(<as many newlines>, data)``, trying the pattern only where it can start.

    A match starts with the white space before a ``<[prefix:]adp>`` / ``<mdp>`` tag: find
    each ``dp>``, step back to its ``<`` and over the white space before it (not before the
    end of the previous match), and try the pattern there (``re.sub`` would try every byte).
    """
    prefixed = any(tag in data for tag in _PREFIXED_TAGS)
    match = (_CURVES_RE if prefixed else _PLAIN_CURVES_RE).match
    out: list[bytes] = []
    pos = find_from = 0  # end of the previous match; where to look for the next 'dp>'
    while True:
        k = data.find(b"dp>", find_from)
        if k < 0:
            break
        find_from = k + 3
        start = data.rfind(b"<", pos, k)
        if start < 0:
            continue
        while start > pos and data[start - 1] in _WHITE:
            start -= 1
        m = match(data, start)
        if m is None:
            continue
        out.append(data[pos:start])
        out.append(b"\n" * m.group(0).count(b"\n"))
        pos = find_from = m.end()
    if not out:
        return data
    out.append(data[pos:])
    return b"".join(out)


def _local(tag: object) -> str:
    if not isinstance(tag, str):
        return ""
    return tag.rsplit("}", 1)[-1]


def _children(elem: ET.Element, name: str) -> list[ET.Element]:
    return [c for c in elem if _local(c.tag) == name]


def _child(elem: ET.Element, name: str) -> ET.Element | None:
    for c in elem:
        if _local(c.tag) == name:
            return c
    return None


def _text(elem: ET.Element | None) -> str:
    if elem is None or elem.text is None:
        return ""
    return elem.text.strip()


def react_id_to_well(react_id: str, rows: int | None, columns: int | None) -> str:
    """Return the well name of an RDML ``react`` id.

    Parameters
    ----------
    react_id : str
        The ``id`` attribute: a 1-based position counted row-major (RDML ≥ 1.1), or a
        well name such as ``'A1'`` (RDML 1.0 files written by some software).
    rows, columns : int or None
        The run's ``pcrFormat``. When absent, positions ≤ 96 are placed on an 8 × 12
        grid, ≤ 384 on 16 × 24, ≤ 1536 on 32 × 48.

    Returns
    -------
    str
        ``'A1'`` style name (rows are always letters, columns numbers, whatever the
        ``rowLabel``/``columnLabel`` say).

    Raises
    ------
    ValueError
        If the id is neither a position inside the format nor a well name.

    Examples
    --------
    >>> react_id_to_well("13", 8, 12), react_id_to_well("B3", None, None)
    ('B1', 'B3')
    """
    rid = react_id.strip()
    if re.fullmatch(r"\d+", rid):
        pos = int(rid)
        if columns is None or rows is None:
            for r_, c_ in ((8, 12), (16, 24), (32, 48)):
                if pos <= r_ * c_:
                    rows, columns = r_, c_
                    break
            else:
                raise ValueError(f"position {pos} larger than a 1536-well plate")
        if not 1 <= pos <= rows * columns:
            raise ValueError(f"position {pos} outside a {rows} x {columns} format")
        r, c = divmod(pos - 1, columns)
        if r >= 26 * 27 or c >= 999:
            raise ValueError(f"position {pos} gives row {r + 1}, column {c + 1}: beyond well names 'ZZ999'")
        return f"{row_letter(r)}{c + 1}"
    try:
        r, c = parse_well(rid)
    except SchemaError:
        raise ValueError(f"react id {rid!r} is neither a position nor a well name") from None
    return f"{r}{c}"


def _is_rdml_zip(data: bytes) -> bool:
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            names = zf.namelist()
            if "[Content_Types].xml" in names:
                return False
            xmls = [n for n in names if n.lower().endswith(".xml")]
            if not xmls:
                return False
            name = "rdml_data.xml" if "rdml_data.xml" in xmls else xmls[0]
            with zf.open(name) as fh:
                head = fh.read(4096)
            return b"<rdml" in head
    except Exception:  # a sniffer never raises
        return False


def _is_zip(data: bytes) -> bool:
    # PK\x03\x04 (local header) or PK\x07\x08 (spanning marker, written by Bio-Rad)
    return data[:4] in (b"PK\x03\x04", b"PK\x07\x08", b"PK\x05\x06")


def _sniff(source: Source) -> bool:
    if _is_zip(source.head_bytes(4)):
        return _is_rdml_zip(source.data)
    if source.kind != "text":
        return False
    head = source.head_bytes(4096)
    if b"\x00" in head:  # UTF-16 XML
        try:
            head = source.head_bytes(8192).decode("utf-16").encode("utf-8")
        except UnicodeDecodeError:
            return False
    return b"<rdml" in head and head.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<")


def _xml_bytes(source: Source) -> tuple[bytes, str]:
    """The XML document of the source and its name inside the archive (or '')."""
    if not _is_zip(source.data):
        return source.data, ""
    try:
        with zipfile.ZipFile(io.BytesIO(source.data)) as zf:
            xmls = [n for n in zf.namelist() if n.lower().endswith(".xml")]
            if not xmls:
                raise source.error(
                    "RDML archive holds no XML document",
                    expected="rdml_data.xml inside the zip",
                    found=f"members {zf.namelist()[:5]}",
                )
            name = "rdml_data.xml" if "rdml_data.xml" in xmls else xmls[0]
            info = zf.getinfo(name)
            if info.file_size > _MAX_XML_BYTES:
                raise source.error(
                    "RDML document too large", expected=f"at most {_MAX_XML_BYTES} bytes", found=str(info.file_size)
                )
            return zf.read(name), name
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, NotImplementedError, RuntimeError, ValueError) as exc:
        raise source.error(
            "corrupt RDML archive", expected="a readable zip archive", found=f"{type(exc).__name__}: {str(exc)[:120]}"
        ) from None


def _float(text: str) -> float | None:
    """A number element: NaN when empty or 'NaN', None when not a number."""
    if text == "" or text.strip().lower() == "nan":
        return math.nan
    return parse_number(text)


@register(
    "rdml",
    kind="qpcr",
    sniff=_sniff,
    description="RDML 1.0-1.4 (.rdml zip or plain XML): Cq, sample types, quantities, exclusions",
    priority=10,
)
def read_rdml(source: Source) -> pd.DataFrame:
    """Read an RDML file (versions 1.0 to 1.4) into the canonical qPCR table.

    Parameters
    ----------
    source : Source
        The ``.rdml`` zip archive or a plain RDML XML document.

    Returns
    -------
    pandas.DataFrame
        One row per run × react × target. ``plate`` is the run id (``'experiment/run'``
        when two experiments hold runs of the same id). Extra columns:
        ``instrument_experiment``, ``instrument_react_id``, ``instrument_sample_type``
        (as written: unkn, std, ntc, ...), ``instrument_target_type`` (ref/toi),
        ``instrument_excl`` (exclusion reason), ``instrument_n0``, ``instrument_ncopy``,
        ``instrument_amp_eff`` (per-reaction efficiency, e.g. LinRegPCR),
        ``instrument_quantity`` (a quantity stored in the reaction data, RDML 1.0),
        ``instrument_note`` and ``instrument_quantity_unit`` (unit of ``quantity``: cop,
        fold, dil, ng, ...; ``''`` when none).

    Raises
    ------
    ReaderError
        Corrupt zip, malformed XML (with its line), a root element other than ``rdml``,
        a react without id or sample, a position outside the run's format, a Cq or a
        number that is not numeric, or a react listing one target twice.

    Notes
    -----
    * ``cq``: the ``<cq>`` value. ``-1`` (RDML's "not available") and ``NaN`` give NaN
      with ``cq_flag='undetermined'``. A missing ``<cq>`` also gives ``'undetermined'``
      when the file holds Cq values elsewhere, but ``'empty'`` when the file holds no
      ``<cq>`` at all (e.g. files carrying only N0/Ncopy).
    * ``<excl>`` present → ``'omitted'`` added to ``cq_flag``.
    * ``task`` from the sample type (a type given for the react's target, RDML ≥ 1.3,
      takes precedence over the sample's general type; default ``unkn``):
      unkn → unknown, std → standard, ntc, nrt, nac, ntp, pos → positive_control,
      opt → optical_calibrator.
    * ``quantity``: the sample's ``<quantity><value>`` (target-specific one first).
    * ``tm``: the first ``<meltTemp>`` value of the data element.
    * ``reporter``: the target's dye id.
    * Some software writes an undetermined Cq as the last cycle (StepOne: 40.0); such
      values are kept as they are.
    """
    root = _parse_root(source)
    defs = _definitions(source, root)
    has_cq = any(_local(e.tag) == "cq" for e in root.iter())
    runs = []
    for exp in _children(root, "experiment"):
        for run in _children(exp, "run"):
            runs.append((exp.get("id", ""), run))
    run_ids = [run.get("id", "") for _, run in runs]
    out: dict[str, list] = {k: [] for k in _COLUMNS}
    for exp_id, run in runs:
        run_id = run.get("id", "")
        plate = run_id if run_ids.count(run_id) == 1 else f"{exp_id}/{run_id}"
        rows, columns = _run_format(source, run, plate)
        seen: set[tuple[str, str]] = set()
        for react in _children(run, "react"):
            _read_react(source, react, plate, rows, columns, exp_id, defs, has_cq, seen, out)
    if not out["well"]:
        raise source.error(
            "RDML file holds no reaction data", expected="experiment/run/react/data elements", found="none"
        )
    for name in ("instrument_n0", "instrument_ncopy", "instrument_amp_eff", "instrument_quantity"):
        out[name] = np.asarray(out[name], dtype=float)
    return qpcr_table(out, source_file=source.name)


_COLUMNS = (
    "plate", "well", "sample", "target", "task", "reporter", "quantity", "cq", "cq_raw", "cq_flag", "tm",
    "instrument_experiment", "instrument_react_id", "instrument_sample_type", "instrument_target_type",
    "instrument_excl", "instrument_n0", "instrument_ncopy", "instrument_amp_eff", "instrument_quantity",
    "instrument_note", "instrument_quantity_unit",
)  # fmt: skip


def _parse_root(source: Source) -> ET.Element:
    """The ``<rdml>`` root element of the document (curves stripped)."""
    data, _member = _xml_bytes(source)
    data = _strip_curves(data)
    try:
        root = ET.fromstring(data)
    except ET.ParseError as exc:
        line, column = exc.position if exc.position else (None, None)
        raise source.error(
            "malformed RDML XML", line=line, expected="well-formed XML", found=f"{str(exc)[:100]} (column {column})"
        ) from None
    except (ValueError, UnicodeError, LookupError) as exc:
        raise source.error("cannot decode RDML XML", expected="UTF-8 XML", found=str(exc)[:100]) from None
    if _local(root.tag) != "rdml":
        raise source.error("not an RDML document", expected="root element <rdml>", found=f"<{_local(root.tag)}>")
    return root


@dataclass
class _Definitions:
    """What the document says of its samples (type, quantity and unit, by target id or
    None for all targets) and of its targets (type, dye)."""

    sample_type: dict[str, dict[str | None, str]]
    sample_qty: dict[str, dict[str | None, float]]
    sample_unit: dict[str, dict[str | None, str]]
    target_type: dict[str, str]
    target_dye: dict[str, str]


def _definitions(source: Source, root: ET.Element) -> _Definitions:
    """The samples and targets of the document."""
    sample_type: dict[str, dict[str | None, str]] = {}
    sample_qty: dict[str, dict[str | None, float]] = {}
    sample_unit: dict[str, dict[str | None, str]] = {}
    for s in _children(root, "sample"):
        sid = s.get("id", "")
        types: dict[str | None, str] = {}
        for t in _children(s, "type"):
            types[t.get("targetId")] = _text(t)
        qtys: dict[str | None, float] = {}
        units: dict[str | None, str] = {}
        for q in _children(s, "quantity"):
            v = _float(_text(_child(q, "value")))
            if v is None:
                raise source.error(
                    "sample quantity is not a number",
                    sample=sid,
                    expected="a number",
                    found=repr(_text(_child(q, "value"))[:40]),
                )
            qtys[q.get("targetId")] = v
            units[q.get("targetId")] = _text(_child(q, "unit"))
        sample_type[sid] = types
        sample_qty[sid] = qtys
        sample_unit[sid] = units
    target_type: dict[str, str] = {}
    target_dye: dict[str, str] = {}
    for t in _children(root, "target"):
        tid = t.get("id", "")
        target_type[tid] = _text(_child(t, "type"))
        dye = _child(t, "dyeId")
        target_dye[tid] = (dye.get("id") or _text(dye)) if dye is not None else ""
    return _Definitions(sample_type, sample_qty, sample_unit, target_type, target_dye)


def _run_format(source: Source, run: ET.Element, plate: str) -> tuple[int | None, int | None]:
    """Rows and columns of a run's ``<pcrFormat>`` (None when not given)."""
    rows = columns = None
    fmt = _child(run, "pcrFormat")
    if fmt is not None:
        r_txt, c_txt = _text(_child(fmt, "rows")), _text(_child(fmt, "columns"))
        if r_txt or c_txt:
            if not (r_txt.isdigit() and c_txt.isdigit()) or int(r_txt) < 1 or int(c_txt) < 1:
                raise source.error(
                    "invalid pcrFormat",
                    plate=plate,
                    expected="positive integer rows and columns",
                    found=f"rows {r_txt!r}, columns {c_txt!r}",
                )
            rows, columns = int(r_txt), int(c_txt)
    return rows, columns


def _read_react(
    source: Source, react: ET.Element, plate: str, rows: int | None, columns: int | None, exp_id: str,
    defs: _Definitions, has_cq: bool, seen: set, out: dict[str, list],
) -> None:
    """Append the rows of one ``<react>`` (one per ``<data>``, or one placeholder) to ``out``."""
    rid = react.get("id")
    if rid is None:
        raise source.error("react without id", plate=plate, expected="<react id='...'>", found="no id")
    try:
        well = react_id_to_well(rid, rows, columns)
    except ValueError as exc:
        raise source.error(
            "react id is not a well of the run", plate=plate, expected="a position of the pcrFormat", found=str(exc)
        ) from None
    sref = _child(react, "sample")
    if sref is None or sref.get("id") is None:
        raise source.error("react without sample", plate=plate, well=well, expected="<sample id='...'/>", found="none")
    sid = sref.get("id", "")
    datas = _children(react, "data")
    no_data = not datas
    if no_data:  # a reaction without data stays in the table (target '', cq_flag 'empty')
        placeholder = ET.Element("data")
        ET.SubElement(placeholder, "tar", id="")
        datas = [placeholder]
    for d in datas:
        _read_data(source, d, plate, well, rid, sid, exp_id, no_data, defs, has_cq, seen, out)


def _read_data(
    source: Source, d: ET.Element, plate: str, well: str, rid: str, sid: str, exp_id: str, no_data: bool,
    defs: _Definitions, has_cq: bool, seen: set, out: dict[str, list],
) -> None:
    """Append the row of one ``<data>`` element (one target of a reaction) to ``out``."""
    # children by local name, looked up many times below (first one, as _child)
    kids: dict[str, list[ET.Element]] = {}
    for c in d:
        kids.setdefault(_local(c.tag), []).append(c)
    first_kid = {k: v[0] for k, v in kids.items()}
    tar = first_kid.get("tar")
    if tar is None or tar.get("id") is None:
        raise source.error("data without target", plate=plate, well=well, expected="<tar id='...'/>", found="none")
    tid = tar.get("id", "")
    if (well, tid) in seen:
        raise source.error(
            "target listed twice for one reaction",
            plate=plate,
            well=well,
            target=tid,
            expected="one <data> per target",
            found="a second one",
        )
    seen.add((well, tid))
    cq_el = first_kid.get("cq")
    cq_text = _text(cq_el)
    cq = _float(cq_text)
    if cq is None:
        raise source.error(
            "Cq is not a number", plate=plate, well=well, target=tid, expected="a number", found=repr(cq_text[:40])
        )
    flags = []
    if cq_el is None or cq_text == "":
        flags.append("undetermined" if has_cq and not no_data else "empty")
    elif math.isnan(cq) or cq < 0:
        cq = math.nan
        flags.append("undetermined")
    excl_el = first_kid.get("excl")
    if excl_el is not None:
        flags.append("omitted")
    nums = {}
    for name in ("N0", "Ncopy", "ampEff"):
        text = _text(first_kid.get(name))
        v = _float(text)
        if v is None:
            raise source.error(
                f"<{name}> is not a number", plate=plate, well=well, target=tid, expected="a number", found=repr(text[:40])
            )
        nums[name] = math.nan if v == -1 else v
    dq = first_kid.get("quantity")
    dq_text = _text(_child(dq, "value")) if dq is not None else ""
    dq_v = _float(dq_text)
    if dq_v is None:
        raise source.error(
            "reaction quantity is not a number", plate=plate, well=well, target=tid, expected="a number", found=repr(dq_text[:40])
        )
    tm = math.nan
    melt = kids.get("meltTemp", [])
    if melt:
        first = _text(melt[0]).split(";")[0].strip()
        v = _float(first)
        if v is None:
            raise source.error(
                "<meltTemp> is not a number", plate=plate, well=well, target=tid, expected="a number", found=repr(first[:40])
            )
        tm = v
    types = defs.sample_type.get(sid, {})
    stype = types.get(tid) or types.get(None) or "unkn"
    qtys = defs.sample_qty.get(sid, {})
    quantity = qtys.get(tid, qtys.get(None, math.nan))
    units = defs.sample_unit.get(sid, {})
    unit = units.get(tid, units.get(None, ""))
    out["plate"].append(plate)
    out["well"].append(well)
    out["sample"].append(sid)
    out["target"].append(tid)
    out["task"].append(SAMPLE_TYPE_TASKS.get(stype.lower(), stype.lower()))
    out["reporter"].append(defs.target_dye.get(tid, ""))
    out["quantity"].append(quantity)
    out["cq"].append(cq)
    out["cq_raw"].append(cq_text)
    out["cq_flag"].append(";".join(flags))
    out["tm"].append(tm)
    out["instrument_experiment"].append(exp_id)
    out["instrument_react_id"].append(rid)
    out["instrument_sample_type"].append(stype)
    out["instrument_target_type"].append(defs.target_type.get(tid, ""))
    out["instrument_excl"].append(_text(excl_el) if excl_el is not None else "")
    out["instrument_n0"].append(nums["N0"])
    out["instrument_ncopy"].append(nums["Ncopy"])
    out["instrument_amp_eff"].append(nums["ampEff"])
    out["instrument_quantity"].append(dq_v)
    out["instrument_note"].append(_text(first_kid.get("note")))
    out["instrument_quantity_unit"].append(unit)
