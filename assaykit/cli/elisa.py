"""``assaykit immunoassay`` (alias ``assaykit elisa``): standard curves and concentrations of an immunoassay export.

Parses the arguments, reads the export and the layout, joins them, runs
:func:`assaykit.immunoassay.workflow.run`, and writes ``wells.csv``, ``samples.csv``,
``standards.csv``, ``curves.csv``, ``linearity.csv``, ``results.xlsx`` (the tables after
an ``info`` sheet hashing the inputs) and the standard-curve figures (one PNG per curve;
a grid per plate for multiplex exports).

The analysis options are the settings of
:class:`~assaykit.immunoassay.settings.AnalysisSettings`, one command-line option each;
they are layered (later wins) over the defaults, a protocol TOML (``--protocol``: its
``[immunoassay]`` table, or ``[elisa]``, the older name) and the layout's own table
(:func:`~assaykit.immunoassay.workflow.settings_from_tables`).

The command is ``immunoassay``, the package's name; ``elisa`` is kept as an alias (same
options, same outputs).
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import click

from assaykit.cli._options import given_options, settings_options
from assaykit.errors import ProtocolError
from assaykit.immunoassay.settings import SECTION, SECTION_ALIASES, AnalysisSettings
from assaykit.protocols import PROTOCOL_DIR, read_protocol_table, resolve_protocol

__all__ = ["COMMANDS", "PROTOCOL_DIR", "elisa", "immunoassay", "load_protocol", "run_elisa", "run_immunoassay"]


def load_protocol(name_or_path: str | Path) -> dict[str, Any]:
    """Read the immunoassay options of a protocol TOML (its ``[immunoassay]`` or ``[elisa]`` table).

    Parameters
    ----------
    name_or_path : str or path
        A TOML file, or the name of a bundled protocol in
        :data:`assaykit.protocols.PROTOCOL_DIR` (``'elisa_il6_4pl'``).

    Returns
    -------
    dict
        The table (option → value), unchecked (see
        :meth:`~assaykit.immunoassay.settings.AnalysisSettings.from_mapping`).

    Raises
    ------
    ProtocolError
        If the file is missing, not valid TOML, has neither table, or has both.
    """
    found: dict[str, dict[str, Any]] = {}
    tables_in_file = None
    for name in (SECTION, *SECTION_ALIASES):
        try:
            found[name] = read_protocol_table(name_or_path, name)[0]
        except ProtocolError as exc:
            if not exc.message.startswith(f"protocol has no [{name}] table"):
                raise
            tables_in_file = exc.found
    path = str(resolve_protocol(name_or_path))
    if len(found) > 1:
        raise ProtocolError("protocol has both [immunoassay] and [elisa] tables: keep one (elisa is the older name)",
                            file=path, expected="one table of immunoassay options", found=", ".join(found))
    if not found:
        raise ProtocolError("protocol has no [immunoassay] table and no [elisa] table", file=path,
                            expected="an [immunoassay] table of options ([elisa] is accepted too)",
                            found=tables_in_file)
    return next(iter(found.values()))


def run_immunoassay(
    export: str | Path,
    layout: str | Path,
    outdir: str | Path,
    *,
    protocol: str | Path | None = None,
    options: dict[str, Any] | None = None,
    format: str | None = None,
    how: str = "strict",
    command: str = "assaykit immunoassay",
) -> tuple[Any, list[Path]]:
    """Run the immunoassay workflow on files and write its outputs (``run_elisa`` is its older name).

    Parameters
    ----------
    export, layout : path
        Instrument export and wellmap layout.
    outdir : path
        Output folder (created if needed).
    protocol : path or str, optional
        Protocol TOML with an ``[immunoassay]`` (or ``[elisa]``) table.
    options : dict, optional
        Settings given explicitly (override protocol and layout; ``None`` = not given).
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
    from assaykit.immunoassay import workflow
    from assaykit.layout import layout_params
    from assaykit.report import save_figure, write_workbook
    from assaykit.report.immunoassay_figures import standard_curve_figures

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    proto = {SECTION: load_protocol(protocol)} if protocol is not None else None
    where = (str(resolve_protocol(protocol)) if protocol is not None else None, str(layout))
    settings = workflow.settings_from_tables(proto, layout_params(layout), options, where=where)
    plate = assaykit.read_plate(export, format=format)
    ann = assaykit.annotate(plate, assaykit.read_layout(layout), how=how)
    res = workflow.run(ann, settings)
    paths: list[Path] = []
    for name, table in res.tables().items():
        p = out / f"{name}.csv"
        table.to_csv(p, index=False)
        paths.append(p)
    info = {"command": command, "format": plate.attrs.get("format", ""), "layout_join": how, **res.params}
    inputs = [export, layout] + ([resolve_protocol(protocol)] if protocol is not None else [])
    paths.append(write_workbook(res.tables(), out / "results.xlsx", info=info, inputs=inputs))
    for stem, fig in standard_curve_figures(res).items():
        paths.append(save_figure(fig, out / f"{stem}.png"))
    return res, paths


def run_elisa(export: str | Path, layout: str | Path, outdir: str | Path, *, command: str = "assaykit elisa",
              **kwargs: Any) -> tuple[Any, list[Path]]:
    """:func:`run_immunoassay` under its older name (``command`` recorded as ``'assaykit elisa'``).

    Parameters
    ----------
    export, layout, outdir : path
        As :func:`run_immunoassay`.
    command : str
        Recorded in the workbook's info sheet.
    **kwargs
        ``protocol``, ``options``, ``format``, ``how`` as :func:`run_immunoassay`.

    Returns
    -------
    result : ImmunoassayResult
    paths : list of pathlib.Path
    """
    return run_immunoassay(export, layout, outdir, command=command, **kwargs)


@click.command("immunoassay")
@click.argument("export", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--layout", "layout", required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="wellmap TOML layout with a role column (standard/blank/sample/control).")
@settings_options(AnalysisSettings, exclude=("recovery_window",))
@click.option("--recovery-window", "recovery_window", nargs=2, type=float, default=None,
              help="Accepted back-fit recovery of standards in percent: LOW HIGH [default: 80 120].")
@click.option("--protocol", default=None, help="Protocol TOML (path, or a name in protocols/).")
@click.option("--format", "fmt", default=None, help="Force the export format (see `assaykit formats`).")
@click.option("--how", type=click.Choice(["strict", "left"]), default="strict", show_default=True,
              help="Layout join: strict refuses layout wells absent from the export; left ignores them.")
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")
@click.pass_context
def immunoassay(ctx: click.Context, export: Path, layout: Path, protocol: str | None, fmt: str | None, how: str,
                outdir: Path, **params: Any) -> None:
    """Fit standard curves and back-calculate concentrations of an immunoassay EXPORT.

    Writes wells.csv, samples.csv, standards.csv, curves.csv, linearity.csv,
    results.xlsx and standard-curve figures into the output folder. Options may
    also come from the layout's [immunoassay] table or a --protocol TOML ([elisa]
    is accepted as the older name). `assaykit elisa` is an alias of this command.
    """
    options = given_options(AnalysisSettings, params)
    res, paths = run_immunoassay(export, layout, outdir, protocol=protocol, options=options, format=fmt, how=how,
                                 command=f"assaykit {ctx.info_name}")
    for p in paths:
        click.echo(f"wrote {p}", err=True)
    c = res.curves
    for row in c.itertuples(index=False):
        click.echo(f"{row.plate}/{row.read}: {row.model} {row.status}"
                   + (f" ({row.reason})" if row.status == "failed" else f", R2 {row.r2:.4f}, {row.qc_reason}"), err=True)
    counts = res.wells["status"].value_counts()
    click.echo("wells: " + ", ".join(f"{k} {v}" for k, v in counts.items()), err=True)


#: ``assaykit elisa``: the same command under its older name.
elisa = click.Command(
    "elisa", callback=immunoassay.callback, params=immunoassay.params,
    help="Alias of `assaykit immunoassay` (the older name): same options, same outputs.\n\n"
    + re.sub(r"\s*`assaykit elisa` is an alias of\s+this command\.", "", inspect.cleandoc(immunoassay.help or "")),
    short_help="Alias of `assaykit immunoassay`.",
)

#: The commands this module adds to ``assaykit``.
COMMANDS = (immunoassay, elisa)
