"""``assaykit read`` and ``assaykit formats``, and the table writer other commands reuse."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click
import pandas as pd

from assaykit.errors import ReportError

__all__ = ["TABLE_SUFFIXES", "formats", "read", "write_table"]

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
@click.argument("export", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "format_", metavar="FORMAT", help="Force a format (see `assaykit formats`); default: detected from the content.")
@click.option("--kind", type=click.Choice(["plate", "qpcr"]), default="plate", show_default=True, help="Plate-reader/bead-assay export or qPCR run.")
@click.option("--layout", type=click.Path(dir_okay=False, path_type=Path), help="wellmap TOML layout to join on plate and well.")
@click.option(
    "--how",
    type=click.Choice(["strict", "left"]),
    default="strict",
    show_default=True,
    help="strict: every layout well must be in the export; left: ignore layout wells the export lacks.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="out.csv, out.tsv or out.xlsx (workbook with an info sheet); default: CSV on stdout.",
)
def read(export: Path, format_: str | None, kind: str, layout: Path | None, how: str, output: Path | None) -> None:
    """Read an instrument EXPORT into one tidy table (one row per well x read).

    The format is detected from the file's content. With --layout the table is
    joined to a wellmap plate layout; every well of the export is kept.
    """
    import assaykit

    reader = assaykit.read_plate if kind == "plate" else assaykit.read_qpcr
    df = reader(export, format=format_)
    fmt = df.attrs.get("format", format_ or "")
    extra: dict[str, pd.DataFrame] = {}
    inputs: list[Path] = [export]
    if layout is not None:
        lay = assaykit.read_layout(layout)
        df = assaykit.annotate(df, lay, how=how)
        extra["layout"] = lay
        inputs.append(layout)
    n_plates = df["plate"].nunique()
    summary = f"read {len(df)} rows from {export} (format {fmt}, {n_plates} plate{'s' if n_plates != 1 else ''})"
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
