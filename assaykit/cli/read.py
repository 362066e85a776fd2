"""``assaykit read`` and ``assaykit formats``, and the table writer other commands reuse."""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import click
import pandas as pd

from assaykit.errors import ReportError

__all__ = ["TABLE_SUFFIXES", "formats", "read", "read_exports", "write_table"]

#: Output types of :func:`write_table`, by suffix.
TABLE_SUFFIXES: tuple[str, ...] = (".csv", ".tsv", ".xlsx")


def write_table(
    df: pd.DataFrame,
    out: str | os.PathLike,
    *,
    sheet: str = "table",
    extra_sheets: Mapping[str, pd.DataFrame] | None = None,
    info: Mapping[str, Any] | None = None,
    inputs: Iterable[str | os.PathLike] = (),
) -> Path:
    """Write a tidy table as CSV, TSV or an Excel workbook, chosen by the suffix of ``out``.

    Parameters
    ----------
    df : pandas.DataFrame
        The table (the index is not written; NaN becomes an empty field).
    out : str or path-like
        ``*.csv``, ``*.tsv`` or ``*.xlsx``; its folder must exist.
    sheet : str
        Sheet name of ``df`` in a workbook.
    extra_sheets : mapping, optional
        Further tables written after ``df`` in a workbook (ignored for CSV/TSV).
    info, inputs
        Passed to :func:`assaykit.report.write_workbook` (ignored for CSV/TSV).

    Returns
    -------
    pathlib.Path
        ``out``.

    Raises
    ------
    ReportError
        On another suffix or a missing folder.
    """
    path = Path(out)
    suffix = path.suffix.lower()
    if suffix not in TABLE_SUFFIXES:
        raise ReportError(
            "unsupported output type", file=str(path), expected=" or ".join(TABLE_SUFFIXES), found=repr(path.suffix)
        )
    if not path.parent.is_dir():
        raise ReportError("output folder does not exist", file=str(path), found=f"no folder {path.parent}")
    if suffix == ".xlsx":
        from assaykit.report.excel import write_workbook

        tables = {sheet: df, **dict(extra_sheets or {})}
        return write_workbook(tables, path, info=info, inputs=inputs)
    df.to_csv(path, index=False, sep="\t" if suffix == ".tsv" else ",")
    return path


@click.command("read")
@click.argument("exports", metavar="EXPORT...", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "format_", metavar="FORMAT", help="Force a format (see `assaykit formats`); default: detected from the content.")
@click.option("--kind", type=click.Choice(["plate", "qpcr"]), default="plate", show_default=True, help="Plate-reader/bead-assay export or qPCR run.")
@click.option("--layout", type=click.Path(dir_okay=False, path_type=Path), help="wellmap TOML layout to join on plate and well.")
@click.option(
    "--how",
    type=click.Choice(["strict", "left"]),
    default="strict",
    show_default=True,
    help="strict: every layout well must be in the export; left: ignore layout wells (and plates) the export lacks.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="out.csv, out.tsv or out.xlsx (workbook with an info sheet); default: CSV on stdout.",
)
def read(
    exports: tuple[Path, ...], format_: str | None, kind: str, layout: Path | None, how: str, output: Path | None
) -> None:
    """Read instrument EXPORTs into one tidy table (one row per well x read).

    The format is detected from each file's content. With several exports (a
    progress bar is shown), plates are renamed after their file: '<file stem>', or
    '<file stem>/<plate>' for a file holding several plates. With --layout the table
    is joined to a wellmap plate layout; every well of the exports is kept.
    """
    import assaykit

    df, formats_used = read_exports(exports, kind=kind, format=format_)
    fmt = ", ".join(formats_used)
    extra: dict[str, pd.DataFrame] = {}
    inputs: list[Path] = list(exports)
    if layout is not None:
        lay = assaykit.read_layout(layout)
        df = assaykit.annotate(df, lay, how=how)
        extra["layout"] = lay
        inputs.append(layout)
    n_plates = df["plate"].nunique()
    source = str(exports[0]) if len(exports) == 1 else f"{len(exports)} exports"
    summary = f"read {len(df)} rows from {source} (format {fmt}, {n_plates} plate{'s' if n_plates != 1 else ''})"
    if output is None:
        click.echo(df.to_csv(index=False), nl=False)
        click.echo(summary, err=True)
        return
    info = {"command": "assaykit read", "kind": kind, "format": fmt, "layout_join": how if layout else None}
    write_table(
        df,
        output,
        sheet="reads" if kind == "plate" else "wells",
        extra_sheets=extra,
        info=info,
        inputs=inputs,
    )
    click.echo(f"{summary}; wrote {output}", err=True)


def read_exports(
    paths: Sequence[str | os.PathLike], *, kind: str = "plate", format: str | None = None, progress: bool | None = None
) -> tuple[pd.DataFrame, list[str]]:
    """Read one or several exports into one canonical table.

    Parameters
    ----------
    paths : sequence of path
        The exports.
    kind : {'plate', 'qpcr'}
        Reader family.
    format : str, optional
        Force one format for every file.
    progress : bool, optional
        Show a progress bar on stderr (default: when there are several files).

    Returns
    -------
    table : pandas.DataFrame
        One export: its table unchanged. Several: the tables concatenated in order, each
        plate renamed ``<file stem>`` (or ``<file stem>/<plate>`` when the file holds
        several plates).
    formats : list of str
        The formats detected, without repeats, in file order.

    Raises
    ------
    ReaderError
        From the readers.
    ReportError
        If two exports give the same plate name after renaming (e.g. same file name in
        two folders).
    """
    import assaykit
    from assaykit.schema import validate_plate_table, validate_qpcr_table

    reader = assaykit.read_plate if kind == "plate" else assaykit.read_qpcr
    paths = list(paths)
    if len(paths) == 1:
        df = reader(paths[0], format=format)
        return df, [df.attrs.get("format", format or "")]
    from tqdm.auto import tqdm

    show = len(paths) > 1 if progress is None else progress
    frames: list[pd.DataFrame] = []
    formats_used: list[str] = []
    owner: dict[str, str] = {}
    for p in tqdm(paths, desc=f"reading {kind} exports", disable=not show, file=sys.stderr):
        df = reader(p, format=format)
        fmt = df.attrs.get("format", format or "")
        if fmt not in formats_used:
            formats_used.append(fmt)
        stem = Path(p).stem
        plates = list(dict.fromkeys(df["plate"].astype(str)))
        df = df.assign(plate=stem if len(plates) == 1 else [f"{stem}/{x}" for x in df["plate"].astype(str)])
        for name in dict.fromkeys(df["plate"]):
            if name in owner:
                raise ReportError(
                    "two exports give the same plate name (files with the same name?)",
                    file=str(p),
                    plate=name,
                    expected="distinct file names",
                    found=f"also from {owner[name]}",
                )
            owner[name] = str(p)
        frames.append(df)
    out = pd.concat(frames, ignore_index=True)
    (validate_plate_table if kind == "plate" else validate_qpcr_table)(out)
    return out, formats_used


@click.command("formats")
@click.option("--kind", type=click.Choice(["plate", "qpcr"]), help="Only this kind of export (default: both).")
def formats(kind: str | None) -> None:
    """List the export formats assaykit reads (names usable with --format)."""
    from assaykit.io import formats as _formats

    for k in (kind,) if kind else ("plate", "qpcr"):
        table = _formats(k)
        click.echo(f"{k} formats:")
        if table.empty:
            click.echo("  (none available)")
        width = max((len(n) for n in table["format"]), default=0)
        for name, desc in zip(table["format"], table["description"], strict=True):
            click.echo(f"  {name:<{width}}  {desc}")
