"""Readers of Thermo Fisher QuantStudio / ViiA 7 / StepOnePlus / Design & Analysis exports.

Formats (``docs/formats/quantstudio.md``):

* ``quantstudio_txt`` — QuantStudio 3–7 / 12K Flex and ViiA 7 text export: ``* Key = Value``
  header, ``[Sample Setup]``, ``[Amplification Data]``, ``[Results]`` ... sections,
  tab-separated, optional footer (``Endogenous Control = GAPDH``).
* ``quantstudio_xlsx`` — the same software's Excel export (``Results`` sheet with
  ``Key | Value`` rows above the header).
* ``design_analysis`` — QuantStudio Design & Analysis (2.x) Excel export (``Sample`` /
  ``Target`` / ``Cq`` / ``Amp Status`` columns; a standard's quantity is its sample name).
* ``steponeplus`` — StepOne / StepOnePlus software 2.x ``.xls`` export ('Cт' headers).

Each returns the canonical qPCR table (one row per well × target) with the instrument's own
summary numbers (Ct Mean, ΔCt, RQ, Efficiency ...) in ``instrument_*`` columns.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property

import pandas as pd

from assaykit.errors import ReaderError
from assaykit.io._cells import cell_text
from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.io.qpcr._thermo import (
    CQ_HEADERS,
    RawTable,
    build_table,
    normalize_header,
    parse_number,
    sheet_header,
    sheet_rows,
    sheet_table,
)

__all__ = [
    "read_design_analysis",
    "read_quantstudio_txt",
    "read_quantstudio_xlsx",
    "read_steponeplus",
]

_SNIFF_SECTION_RE = re.compile(
    r"^\[(Sample Setup|Results|Amplification Data|Raw Data|Multicomponent Data|Melt Curve Raw Data|"
    r"Melt Curve Result|Melt Region Temperature Data)\]\s*$",
    re.M,
)
_KEY_VALUE_RE = re.compile(r"^\*?\s*([^=\t]+?)\s*=\s*(.*?)\s*$")


# --------------------------------------------------------------------------- text
def _sniff_txt(source: Source) -> bool:
    if source.kind != "text":
        return False
    head = source.head(6000)
    if "[" in head and _SNIFF_SECTION_RE.search(head):
        return True
    first = next((ln for ln in head.splitlines() if ln.strip()), "")
    return (
        first.startswith("* ") and "=" in first and ("Block Type" in head or "Experiment" in head)
    )


_FIND_SECTION_RE = re.compile(r"\[([^\]\r\n]+)\][ \t]*(?=[\r\n]|$)")
# Line breaks of str.splitlines() other than \n, \r and \r\n.
_ODD_BREAKS = ("\v", "\f", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029")


@dataclass
class _Chunk:
    """One ``[Section]`` of the text: ``text[begin:stop]``, split into lines on first use.

    ``lines[0]`` is the section line itself and ``base`` its 0-based line index in the
    whole file, so that ``lines[i]`` is line ``base + i + 1`` of ``Source.lines``.
    """

    text: str
    begin: int
    stop: int
    base: int

    @cached_property
    def lines(self) -> list[str]:
        return self.text[self.begin : self.stop].splitlines()


@dataclass
class _Layout:
    """The sections of a QuantStudio text export, cut without splitting the whole file."""

    sections: dict[str, _Chunk]
    head: list[str]  # the lines before the first section


def _layout(source: Source) -> _Layout:
    """Find the ``[Section]`` lines (regex in C) and split only the text around them.

    Multi-megabyte exports are mostly amplification / raw data that are never read; only
    the chunks of the sections used are split into lines.
    """
    text = source.text
    marks: list[tuple[str, int]] = []
    for m in _FIND_SECTION_RE.finditer(text):
        begin = m.start()
        while begin > 0 and text[begin - 1] in " \t":
            begin -= 1
        if begin > 0 and text[begin - 1] not in "\r\n":
            continue  # not at the start of a line
        marks.append((m.group(1).strip(), begin))
    odd = any(ch in text for ch in _ODD_BREAKS)  # substring search: fast on large text
    has_cr = "\r" in text
    counted = [0, 0]  # (offset, line breaks before it): counts run once over the text

    def line_index(pos: int) -> int:  # number of lines before offset ``pos`` (a line start)
        if odd:
            return len(text[:pos].splitlines())
        start, n = counted
        n += text.count("\n", start, pos)
        if has_cr:
            n += text.count("\r", start, pos) - text.count("\r\n", start, pos)
        counted[:] = [pos, n]
        return n

    sections: dict[str, _Chunk] = {}
    for k, (name, begin) in enumerate(marks):
        if name in sections:
            continue
        stop = marks[k + 1][1] if k + 1 < len(marks) else len(text)
        sections[name] = _Chunk(text, begin, stop, line_index(begin))
    head = text[: marks[0][1] if marks else len(text)].splitlines()
    return _Layout(sections, head)


def _sections(source: Source) -> dict[str, int]:
    """Map section name → 0-based index of its ``[Name]`` line (first occurrence)."""
    return {name: chunk.base for name, chunk in _layout(source).sections.items()}


def _text_section(source: Source, chunk: _Chunk, name: str) -> tuple[RawTable, int]:
    """Cut the tab-separated table that follows the section line of ``chunk``.

    Returns the table and the index in ``chunk.lines`` where it ended.
    """
    lines = chunk.lines
    base = chunk.base
    i = 1
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines):
        raise source.error(
            f"[{name}] section has no header",
            line=base + 1,
            expected="a tab-separated header line after the section name",
            found="the next section or the end of the file",
        )
    header = [c.strip() for c in lines[i].split("\t")]
    while header and not header[-1]:
        header.pop()
    header_line = base + i + 1
    rows: list[list[str]] = []
    locs: list[int] = []
    i += 1
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            break
        if "\t" not in line and _KEY_VALUE_RE.match(line):
            break  # footer line such as 'Endogenous Control = GAPDH'
        rows.append(line.split("\t"))
        locs.append(base + i + 1)
        i += 1
    return RawTable(header, rows, locs, header_line, text=True), i


def _metadata(head: list[str]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for line in head:
        if line.startswith("*"):
            m = _KEY_VALUE_RE.match(line)
            if m:
                meta[m.group(1).strip()] = m.group(2)
    return meta


def _footer(lines: list[str]) -> dict[str, str]:
    meta: dict[str, str] = {}
    for line in lines:
        if "\t" not in line:
            m = _KEY_VALUE_RE.match(line)
            if m:
                meta[m.group(1).strip()] = m.group(2)
    return meta


def _plate_name(meta: dict[str, str]) -> str:
    barcode = meta.get("Experiment Barcode", "").strip()
    return barcode if barcode and barcode.upper() != "NA" else "1"


@register(
    "quantstudio_txt",
    kind="qpcr",
    sniff=_sniff_txt,
    description="Thermo QuantStudio 3-7/12K Flex, ViiA 7 text export ([Results] section)",
    priority=20,
)
def read_quantstudio_txt(source: Source) -> pd.DataFrame:
    """Read a QuantStudio / ViiA 7 ``.txt`` export.

    Parameters
    ----------
    source : Source
        The export.

    Returns
    -------
    pandas.DataFrame
        Canonical qPCR table (``docs/formats/quantstudio.md``); ``df.attrs['metadata']`` holds
        the ``* Key = Value`` header and the footer (Endogenous Control, Reference Sample ...).

    Raises
    ------
    ReaderError
        No ``[Results]`` section, a results table without Well/Target/Cq columns, a bad
        well, or a well × target given twice.
    """
    layout = _layout(source)
    sections = layout.sections
    if "Results" not in sections:
        raise source.error(
            "no [Results] section",
            expected="a [Results] section (export the results with the run)",
            found=f"sections {sorted(sections)}" if sections else "no [section] lines",
        )
    results = sections["Results"]
    table, end = _text_section(source, results, "Results")
    if not table.rows:
        raise source.error(
            "[Results] section has no rows",
            line=table.header_location,
            expected="one row per well below the header",
            found="an empty line or the end of the file",
        )
    meta = _metadata(layout.head)
    meta.update(_footer(results.lines[end:]))
    table.metadata = meta
    setup = None
    if "Sample Setup" in sections:
        setup, _ = _text_section(source, sections["Sample Setup"], "Sample Setup")
    df = build_table(source, table, default_plate=_plate_name(meta), setup=setup)
    if "Melt Curve Result" in sections and df["tm"].isna().any():
        _fill_tm(source, df, sections["Melt Curve Result"])
    return df


def _fill_tm(source: Source, df: pd.DataFrame, chunk: _Chunk) -> None:
    """Fill ``tm`` from the [Melt Curve Result] section (Tm1 per well × target) where missing."""
    table, _ = _text_section(source, chunk, "Melt Curve Result")
    head = [normalize_header(h) for h in table.header]
    try:
        i_pos = head.index("well position")
        i_tm = head.index("tm1") if "tm1" in head else head.index("tm")
    except ValueError:
        return
    i_target = head.index("target name") if "target name" in head else None
    tm_by_key: dict[tuple[str, str], float] = {}
    for r in table.rows:
        if max(i_pos, i_tm) >= len(r):
            continue
        value = parse_number(r[i_tm])
        if value is None:
            continue
        target = r[i_target].strip() if i_target is not None and i_target < len(r) else ""
        tm_by_key[(r[i_pos].strip().upper(), target)] = value
    if not tm_by_key:
        return
    missing = df["tm"].isna()
    keys = list(zip(df["well"], df["target"], strict=True))
    new = [
        tm_by_key.get((w, t), tm_by_key.get((w, ""), float("nan"))) if m else v
        for (w, t), m, v in zip(keys, missing, df["tm"], strict=True)
    ]
    df.loc[:, "tm"] = pd.Series(new, index=df.index, dtype=float)


# --------------------------------------------------------------------------- workbooks
def _workbook_header(source: Source) -> list[str]:
    if source.kind not in ("xlsx", "xls"):
        return []
    try:
        names = source.sheet_names
    except Exception:  # noqa: BLE001 - a corrupt workbook is simply not this format
        return []
    if "Results" not in names:
        return []
    return sheet_header(source, "Results")


def _instrument_type(source: Source) -> str:
    for r in sheet_rows(source, "Results")[:60]:
        if r and cell_text(r[0], strip=True) == "Instrument Type":
            return cell_text(r[1], strip=True) if len(r) > 1 else ""
    return ""


def _sniff_da(source: Source) -> bool:
    head = _workbook_header(source)
    return "target" in head and "target name" not in head and "cq" in head


def _sniff_steponeplus(source: Source) -> bool:
    head = _workbook_header(source)
    if "target name" not in head:
        return False
    itype = _instrument_type(source).lower()
    if "step" in itype:
        return True
    # StepOne software writes .xls; QuantStudio / ViiA 7 .xls exports say so in Instrument Type
    return source.kind == "xls" and not any(k in itype for k in ("quantstudio", "viia"))


def _sniff_qs_xlsx(source: Source) -> bool:
    head = _workbook_header(source)
    return "target name" in head and any(h in CQ_HEADERS for h in head)


def _read_results_sheet(source: Source, **kw) -> pd.DataFrame:
    if source.kind not in ("xlsx", "xls"):
        raise source.error(
            "expected a workbook", expected="an .xlsx/.xls export", found=source.describe()
        )
    if "Results" not in source.sheet_names:
        raise source.error(
            "no 'Results' sheet",
            expected="a sheet named 'Results'",
            found=f"sheets {source.sheet_names}",
        )
    table = sheet_table(source, "Results")
    setup = None
    if "Sample Setup" in source.sheet_names:
        try:
            setup = sheet_table(source, "Sample Setup", require_cq=False)
        except ReaderError:
            setup = None  # a Sample Setup sheet without a well table is not needed
    return build_table(source, table, default_plate=_plate_name(table.metadata), setup=setup, **kw)


@register(
    "quantstudio_xlsx",
    kind="qpcr",
    sniff=_sniff_qs_xlsx,
    description="Thermo QuantStudio 3-7/12K Flex, ViiA 7 Excel export (Results sheet)",
    priority=22,
)
def read_quantstudio_xlsx(source: Source) -> pd.DataFrame:
    """Read a QuantStudio / ViiA 7 ``.xlsx`` export (its ``Results`` sheet only).

    Parameters
    ----------
    source : Source
        The export.

    Returns
    -------
    pandas.DataFrame
        Canonical qPCR table; ``df.attrs['metadata']`` holds the key–value rows.

    Raises
    ------
    ReaderError
        No Results sheet or header row, a bad well, or a well × target given twice.
    """
    return _read_results_sheet(source)


@register(
    "design_analysis",
    kind="qpcr",
    sniff=_sniff_da,
    description="Thermo QuantStudio Design & Analysis 2.x Excel export (Results sheet)",
    priority=21,
)
def read_design_analysis(source: Source) -> pd.DataFrame:
    """Read a QuantStudio Design & Analysis ``.xlsx`` export (its ``Results`` sheet only).

    A standard's quantity is taken from its ``Sample`` cell (D&A names standards by
    quantity, e.g. '200.0'); ``Amp Status`` other than AMP and ``Result Quality Issues``
    become ``cq_flag`` entries.

    Parameters
    ----------
    source : Source
        The export.

    Returns
    -------
    pandas.DataFrame
        Canonical qPCR table.

    Raises
    ------
    ReaderError
        No Results sheet or header row, a bad well, or a well × target given twice.
    """
    return _read_results_sheet(source, standards_quantity_in_sample=True)


@register(
    "steponeplus",
    kind="qpcr",
    sniff=_sniff_steponeplus,
    description="Thermo StepOne/StepOnePlus software .xls export (Results sheet)",
    priority=21,
)
def read_steponeplus(source: Source) -> pd.DataFrame:
    """Read a StepOne / StepOnePlus ``.xls`` export (its ``Results`` sheet only).

    Parameters
    ----------
    source : Source
        The export.

    Returns
    -------
    pandas.DataFrame
        Canonical qPCR table; the Y/N flag columns (AMPNC, NOAMP, EXPFAIL, MTP ...) become
        lower-case ``cq_flag`` entries.

    Raises
    ------
    ReaderError
        No Results sheet or header row, a bad well, or a well × target given twice.
    """
    return _read_results_sheet(source)
