"""``assaykit read`` and ``assaykit formats``, and the table writer other commands reuse."""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import click
import pandas as pd

from assaykit.errors import ReaderError, ReportError

__all__ = ["TABLE_SUFFIXES", "KindChoice", "formats", "read", "write_table"]

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


class KindChoice(click.Choice):
    """``--kind``: one of the kinds registered when the command runs (:func:`assaykit.kinds.kinds`)."""

    name = "kind"

    def __init__(self) -> None:
        super().__init__((), case_sensitive=True)

    @property
    def choices(self) -> tuple[str, ...]:  # type: ignore[override]
        from assaykit.io import kinds  # importing assaykit.io registers the built-in kinds

        return tuple(k.name for k in kinds())

    @choices.setter
    def choices(self, value) -> None:  # set by click.Choice.__init__; the kinds are looked up when used
        pass


def _reader(kind: str):
    """The function reading one export of ``kind``: ``assaykit.read_<kind>`` when the package
    offers one (what Python users call), else :func:`assaykit.kinds.read`."""
    import assaykit

    return getattr(assaykit, f"read_{kind}", None)


@click.command("read")
@click.argument("exports", metavar="EXPORT...", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--format", "format_", metavar="FORMAT", help="Force a format (see `assaykit formats`); default: detected from the content.")
@click.option("--kind", type=KindChoice(), default="plate", show_default=True, help="Kind of data (see `assaykit formats`): plate-reader/bead-assay export, qPCR run...")
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
    from assaykit.kinds import get_kind

    spec = get_kind(kind)
    if not spec.tabular:
        raise ReaderError(
            "this kind of data is read into objects, not one table",
            key="kind",
            expected="a kind read into tables: " + ", ".join(k.name for k in assaykit.io.kinds() if k.tabular),
            found=kind,
        )
    df = assaykit.read_many(
        exports, kind=kind, format=format_, progress=len(exports) > 1, rename="files", reader=_reader(kind)
    )
    fmt = ", ".join(df.attrs["formats"])
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
    write_table(df, output, sheet=spec.sheet, extra_sheets=extra, info=info, inputs=inputs)
    click.echo(f"{summary}; wrote {output}", err=True)


@click.command("formats")
@click.option("--kind", type=KindChoice(), help="Only this kind of data (default: every kind).")
def formats(kind: str | None) -> None:
    """List the export formats assaykit reads (names usable with --format), by kind of data."""
    import assaykit.io

    for k in (kind,) if kind else [spec.name for spec in assaykit.io.kinds()]:
        table = assaykit.io.formats(k)
        click.echo(f"{k} formats:")
        if table.empty:
            click.echo("  (none available)")
        width = max((len(n) for n in table["format"]), default=0)
        for name, desc in zip(table["format"], table["description"], strict=True):
            click.echo(f"  {name:<{width}}  {desc}")
