"""``assaykit elisa``: standard curves and concentrations of an immunoassay export.

Reads the export, joins the layout, runs :func:`assaykit.immunoassay.analyze`, and writes
``wells.csv``, ``samples.csv``, ``standards.csv``, ``curves.csv``, ``linearity.csv``,
``results.xlsx`` (the tables after an ``info`` sheet hashing the inputs) and the
standard-curve figures (one PNG per curve; a grid per plate for multiplex exports).

Analysis options are merged in this order (later wins): defaults, a protocol TOML
(``--protocol``: its ``[elisa]`` table), the layout's ``[elisa]`` table, command-line
options.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import click

from assaykit.protocols import PROTOCOL_DIR, read_protocol_table, resolve_protocol

__all__ = ["PROTOCOL_DIR", "elisa", "load_protocol", "run_elisa"]

def load_protocol(name_or_path: str | Path) -> dict[str, Any]:
    """Read the ``[elisa]`` options of a protocol TOML.

    Parameters
    ----------
    name_or_path : str or path
        A TOML file, or the name of a bundled protocol in
        :data:`assaykit.protocols.PROTOCOL_DIR` (``'elisa_il6_4pl'``).

    Returns
    -------
    dict
        The ``[elisa]`` table (option → value).

    Raises
    ------
    ProtocolError
        If the file is missing, not valid TOML, or has no ``[elisa]`` table.
    """
    return read_protocol_table(name_or_path, "elisa")[0]


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("_") or "x"


def run_elisa(
    export: str | Path,
    layout: str | Path,
    outdir: str | Path,
    *,
    protocol: str | Path | None = None,
    options: dict[str, Any] | None = None,
    format: str | None = None,
    how: str = "strict",
    command: str = "assaykit elisa",
) -> tuple[Any, list[Path]]:
    """Run the ELISA workflow on files and write its outputs.

    Parameters
    ----------
    export, layout : path
        Instrument export and wellmap layout.
    outdir : path
        Output folder (created if needed).
    protocol : path or str, optional
        Protocol TOML with an ``[elisa]`` table.
    options : dict, optional
        Options given explicitly (override protocol and layout).
    format : str, optional
        Force the reader format.
    how : {'strict', 'left'}
        Layout join (:func:`assaykit.annotate`): ``'strict'`` refuses a layout that
        describes wells absent from the export; ``'left'`` ignores them.
    command : str
        Recorded in the workbook's info sheet.

    Returns
    -------
    result : ImmunoassayResult
    paths : list of pathlib.Path
        Files written.
    """
    import assaykit
    from assaykit.immunoassay.analysis import analyze, options_from_mapping
    from assaykit.layout import layout_params
    from assaykit.report import save_figure, write_workbook
    from assaykit.report.immunoassay_figures import standard_curve_grid, standard_curve_plot

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    opts: dict[str, Any] = {}
    if protocol is not None:
        opts.update(load_protocol(protocol))
    opts.update(layout_params(layout).get("elisa", {}) or {})
    opts.update({k: v for k, v in (options or {}).items() if v is not None})
    kwargs = options_from_mapping(opts)
    plate = assaykit.read_plate(export, format=format)
    lay = assaykit.read_layout(layout)
    ann = assaykit.annotate(plate, lay, how=how)
    res = analyze(ann, **kwargs)
    paths: list[Path] = []
    for name, table in res.tables().items():
        p = out / f"{name}.csv"
        table.to_csv(p, index=False)
        paths.append(p)
    info = {"command": command, "format": plate.attrs.get("format", ""), "layout_join": how, **res.params}
    inputs = [export, layout] + ([resolve_protocol(protocol)] if protocol is not None else [])
    paths.append(write_workbook(res.tables(), out / "results.xlsx", info=info, inputs=inputs))
    for plate_name, reads in res.curves.groupby("plate", sort=False)["read"]:
        reads = list(reads)
        if len(reads) > 1:
            fig = standard_curve_grid(res, plate_name)
            paths.append(save_figure(fig, out / f"standard_curves_{_safe(plate_name)}.png"))
        else:
            ax = standard_curve_plot(res, plate_name, reads[0])
            paths.append(save_figure(ax, out / f"standard_curve_{_safe(plate_name)}_{_safe(reads[0])}.png"))
    return res, paths


@click.command("elisa")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layout", "layout", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="wellmap TOML layout with a role column (standard/blank/sample/control).")
@click.option("--model", type=click.Choice(["4pl", "5pl", "auto", "linear", "loglinear"]), default=None,
              help="Curve model [default: 4pl].")
@click.option("--weights", default=None, help="Variance model: none, 1/y, 1/y^2, 1/y^2-xponent, power, power:K [default: none].")
@click.option("--read", "reads", multiple=True, help="Read/analyte to analyse (repeatable) [default: all].")
@click.option("--metric", default=None, help="Metric to analyse [default: raw; net_mfi for bead assays].")
@click.option("--reference-read", default=None, help="Read subtracted well by well (e.g. abs_630).")
@click.option("--conc-col", default=None, help="Layout column of standard concentrations [default: std_conc*].")
@click.option("--blank", type=click.Choice(["subtract_mean", "zero_standard", "none"]), default=None,
              help="Blank handling [default: subtract_mean].")
@click.option("--protocol", default=None, help="Protocol TOML (path, or a name in protocols/).")
@click.option("--format", "fmt", default=None, help="Force the export format (see `assaykit formats`).")
@click.option("--how", type=click.Choice(["strict", "left"]), default="strict", show_default=True,
              help="Layout join: strict refuses layout wells absent from the export; left ignores them.")
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")
def elisa(export: Path, layout: Path, model: str | None, weights: str | None, reads: tuple[str, ...],
          metric: str | None, reference_read: str | None, conc_col: str | None, blank: str | None,
          protocol: str | None, fmt: str | None, how: str, outdir: Path) -> None:
    """Fit standard curves and back-calculate concentrations of an immunoassay EXPORT.

    Writes wells.csv, samples.csv, standards.csv, curves.csv, linearity.csv,
    results.xlsx and standard-curve figures into the output folder. Options may
    also come from the layout's [elisa] table or a --protocol TOML.
    """
    options = {"model": model, "weights": weights, "read": list(reads) or None, "metric": metric,
               "reference_read": reference_read, "conc_col": conc_col, "blank": blank}
    res, paths = run_elisa(export, layout, outdir, protocol=protocol, options=options, format=fmt, how=how)
    for p in paths:
        click.echo(f"wrote {p}", err=True)
    c = res.curves
    for row in c.itertuples(index=False):
        click.echo(f"{row.plate}/{row.read}: {row.model} {row.status}"
                   + (f" ({row.reason})" if row.status == "failed" else f", R2 {row.r2:.4f}, {row.qc_reason}"), err=True)
    counts = res.wells["status"].value_counts()
    click.echo("wells: " + ", ".join(f"{k} {v}" for k, v in counts.items()), err=True)
