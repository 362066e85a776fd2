"""Reader of Applied Biosystems SDS 2.x results text exports (7900HT, TaqMan arrays).

Format ``sds`` (``docs/formats/sds.md``): a first line ``SDS 2.3 RQ Results<TAB>1.2`` (or
``SDS 2.1RQ Results``), ``Key<TAB>Value`` metadata lines (Filename, Assay Type, one
EmbeddedFile / Run DateTime block per plate), a blank line, then the results table
(one row per well × detector) up to the next blank line; a summary block may follow.
"""

from __future__ import annotations

import re

import pandas as pd

from assaykit.io._registry import register
from assaykit.io._source import Source
from assaykit.io.qpcr._thermo import CQ_HEADERS, RawTable, build_table, normalize_header

__all__ = ["read_sds"]

_FIRST_RE = re.compile(r"^\s*SDS\s*\d+(\.\d+)*\s*\w*\s*Results", re.I)


def _sniff(source: Source) -> bool:
    if source.kind != "text":
        return False
    head = source.head(400)
    first = next((ln for ln in head.splitlines() if ln.strip()), "")
    return bool(_FIRST_RE.match(first))


def _is_header(cells: list[str]) -> bool:
    norm = [normalize_header(c) for c in cells]
    return ("detector" in norm or "target name" in norm) and any(c in CQ_HEADERS for c in norm)


@register(
    "sds",
    kind="qpcr",
    sniff=_sniff,
    description="Applied Biosystems SDS 2.x (7900HT) RQ/AQ results text export",
    priority=20,
)
def read_sds(source: Source) -> pd.DataFrame:
    """Read an ABI SDS 2.x results text export.

    Parameters
    ----------
    source : Source
        The export.

    Returns
    -------
    pandas.DataFrame
        Canonical qPCR table. ``plate`` is the Plate / PlateID column, or the embedded
        file name (``Filename`` column) when those are empty; the exported task
        ('Target', 'Endogenous Control') is kept in ``instrument_task`` (``task`` is
        'unknown' for both). ``df.attrs['metadata']`` holds the key–value lines.

    Raises
    ------
    ReaderError
        No results header (a line naming Detector and Ct), an empty table, a bad well,
        or a well × detector given twice on one plate.
    """
    lines = source.lines
    meta: dict[str, str] = {}
    header_at = None
    for i, line in enumerate(lines):
        cells = line.split("\t")
        if _is_header(cells):
            header_at = i
            break
        if len(cells) >= 2 and cells[0].strip():
            meta.setdefault(cells[0].strip(), cells[1].strip())
    if header_at is None:
        raise source.error(
            "no SDS results header",
            expected="a tab-separated header naming 'Detector' and 'Ct'",
            found=f"{len(lines)} lines without one",
        )
    header = [c.strip() for c in lines[header_at].split("\t")]
    while header and not header[-1]:
        header.pop()
    # the table runs to the first blank line
    stripped = list(map(str.strip, lines[header_at + 1 :]))
    i = header_at + 1 + (stripped.index("") if "" in stripped else len(stripped))
    rows: list[list[str]] = [ln.split("\t") for ln in lines[header_at + 1 : i]]
    locs = list(range(header_at + 2, i + 1))
    if not rows:
        raise source.error(
            "SDS results table has no rows",
            line=header_at + 1,
            expected="one row per well below the header",
            found="an empty line or the end of the file",
        )
    for line in lines[i:]:
        cells = [c.strip() for c in line.split("\t")]
        # footer 'Key<TAB>Value' lines only (not the summary table)
        if (
            len(cells) >= 2
            and cells[0]
            and cells[1]
            and not any(cells[2:])
            and cells[0] not in meta
        ):
            meta[cells[0]] = cells[1]
    table = RawTable(header, rows, locs, header_at + 1, metadata=meta, text=True)
    return build_table(source, table, default_plate="1", keep_instrument_task=True)
