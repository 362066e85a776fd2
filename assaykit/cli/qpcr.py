"""``assaykit qpcr``: relative expression (ΔΔCq) of one or several qPCR exports.

The command parses its options, reads the exports with :func:`assaykit.read_qpcr`,
joins an optional wellmap layout, runs the qPCR workflow
(:func:`assaykit.qpcr.workflow.run`: inter-run calibration, efficiencies, method,
:func:`assaykit.qpcr.ddct`) and writes into the output folder:

* ``wells.csv``, ``samples.csv``, ``groups.csv``, ``stats.csv`` — the result tables
  (docs/qpcr.md §4); ``standard_curves.csv`` when efficiencies come from standards;
  ``run_calibration.csv`` (one row per plate × target: the run offset removed) when
  inter-run calibrators are given;
* ``results.xlsx`` — the same tables after an ``info`` sheet that hashes the inputs and
  lists every analysis option;
* ``fold_change.png`` — fold change per target and group (biological replicates as
  points over bars, error bars named in the axis label, significance marks);
* ``standard_curves.png`` (with ``--efficiency auto``) and ``plate_qc_<plate>.png`` — the
  Cq of every well on the plate, excluded and flagged wells marked (multiplexed plates:
  ``plate_qc_<plate>_<target>.png``, one per target).

The options are the settings of :class:`assaykit.qpcr.QpcrSettings` (one click option
per setting, built by :func:`assaykit.cli._options.settings_options`). They are layered
in this order, later wins: the settings' defaults, the ``[qpcr]`` table of a protocol
TOML (``--protocol``), the ``[qpcr]`` table of the layout, command-line options
(:func:`qpcr_settings`). The keys of ``[qpcr]`` are the setting names
(``QpcrSettings.keys()``).

The layout is joined with :func:`assaykit.annotate`: every well of the exports is kept,
wells the layout does not describe get no group and are not analysed (a row with a reason
in ``wells.csv``). Layout wells absent from the exports are an error (``--how strict``,
the default) or ignored (``--how left``).

An efficiency CSV (``--efficiency FILE``) is read here (:func:`read_efficiency_file`) and
its table handed to the workflow; ``wells.csv`` keeps the measured Cq in
``cq_uncalibrated`` and the subtracted ``run_offset`` when calibrators are given.

With several exports, plates are renamed after their file (``<file stem>``, or
``<file stem>/<plate>`` for a file holding several plates) so that they stay distinct; a
layout may address them as ``[plate.'<file stem>']``.
"""

from __future__ import annotations

import csv
import math
import os
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import click

from assaykit.cli._options import given_options, settings_options
from assaykit.errors import AnalysisError, ReaderError
from assaykit.protocols import PROTOCOL_DIR, read_protocol_table, resolve_protocol
from assaykit.qpcr import QpcrSettings

__all__ = [
    "DEFAULTS",
    "OPTION_KEYS",
    "PROTOCOL_DIR",
    "QpcrRun",
    "load_protocol",
    "merge_options",
    "qpcr",
    "qpcr_settings",
    "read_efficiency_file",
    "run_qpcr",
]

#: Settings of the ``[qpcr]`` table and their meaning (derived from :class:`QpcrSettings`;
#: kept for compatibility).
OPTION_KEYS: dict[str, str] = {s.name: s.help for s in QpcrSettings.specs()}

#: Default of every setting (``QpcrSettings().to_dict()``; kept for compatibility).
DEFAULTS: dict[str, Any] = QpcrSettings().to_dict()


def load_protocol(name_or_path: str | os.PathLike) -> dict[str, Any]:
    """Read the ``[qpcr]`` options of a protocol TOML.

    Parameters
    ----------
    name_or_path : str or path
        A TOML file, or the name of one in :data:`PROTOCOL_DIR` (``'qpcr_th_panel'``).

    Returns
    -------
    dict
        The ``[qpcr]`` table (option → value, only those given), checked by
        :meth:`QpcrSettings.from_table`; a relative efficiency CSV path is made
        relative to the protocol file.

    Raises
    ------
    ProtocolError
        If the file is missing, not valid TOML, has no ``[qpcr]`` table, or names an
        unknown option or a bad value.
    """
    table, p = read_protocol_table(name_or_path, "qpcr")
    return QpcrSettings.from_table(table, p)


def _layout_table(layout: str | os.PathLike | None) -> dict[str, Any]:
    from assaykit.layout import layout_params

    if layout is None:
        return {}
    params = layout_params(layout)
    return QpcrSettings.from_table(params["qpcr"], layout) if "qpcr" in params else {}


def qpcr_settings(
    *,
    protocol: str | os.PathLike | None = None,
    layout: str | os.PathLike | None = None,
    options: Mapping[str, Any] | None = None,
) -> QpcrSettings:
    """The settings of a run: defaults < protocol ``[qpcr]`` < layout ``[qpcr]`` < ``options``.

    Parameters
    ----------
    protocol : path or str, optional
        Protocol TOML (or the name of a bundled one).
    layout : path, optional
        wellmap TOML layout whose ``[qpcr]`` table supplies settings.
    options : mapping, optional
        Settings given on the command line (:func:`assaykit.cli._options.given_options`)
        or by the caller; a None value is a value (it switches ``outlier``, ``test``,
        ``efficiency`` ... off).

    Returns
    -------
    QpcrSettings

    Raises
    ------
    ProtocolError, SettingsError
        A bad protocol or table; an unknown setting or a bad value.
    """
    proto = load_protocol(protocol) if protocol is not None else {}
    return QpcrSettings.merged(proto, _layout_table(layout), options)


def merge_options(
    protocol: Mapping[str, Any] | None = None,
    layout: Mapping[str, Any] | None = None,
    explicit: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge option tables into :class:`QpcrSettings` and return them flat (compatibility).

    Parameters
    ----------
    protocol, layout : mapping, optional
        ``[qpcr]`` tables.
    explicit : mapping, optional
        Options given on the command line or by the caller; ``None`` values are ignored.

    Returns
    -------
    dict
        ``QpcrSettings.merged(protocol, layout, explicit).to_dict()``.

    Examples
    --------
    >>> merge_options({"error": "sem", "control": "vehicle"}, {"error": "ci95"}, {"control": "dmso"})["error"]
    'ci95'
    """
    given = {k: v for k, v in (explicit or {}).items() if v is not None}
    return QpcrSettings.merged(protocol, layout, given).to_dict()


def read_efficiency_file(path: str | os.PathLike) -> dict[str, float]:
    """Read per-target amplification efficiencies from a CSV with columns ``target, efficiency``.

    Parameters
    ----------
    path : str or path
        CSV file; ``efficiency`` is a fraction (0.95 = 95 %), as in
        :func:`assaykit.qpcr.ddct`.

    Returns
    -------
    dict
        ``{target: efficiency}``.

    Raises
    ------
    ReaderError
        If the file cannot be read, lacks the columns, repeats a target or holds a
        non-numeric efficiency (the line is named).
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ReaderError("efficiency file cannot be read", file=str(p), found=exc.strerror or str(exc)) from None
    rows = list(csv.reader(text.splitlines()))
    header = [h.strip().lower() for h in rows[0]] if rows else []
    if "target" not in header or "efficiency" not in header:
        raise ReaderError(
            "efficiency file lacks columns",
            file=str(p),
            line=1,
            expected="a header with 'target' and 'efficiency' (fraction, 0.95 = 95 %)",
            found=repr(",".join(rows[0]) if rows else ""),
        )
    it, ie = header.index("target"), header.index("efficiency")
    out: dict[str, float] = {}
    for n, row in enumerate(rows[1:], start=2):
        if not any(c.strip() for c in row):
            continue
        target = row[it].strip() if it < len(row) else ""
        raw = row[ie].strip() if ie < len(row) else ""
        try:
            value = float(raw)
        except ValueError:
            raise ReaderError(
                "efficiency is not a number", file=str(p), line=n, target=target or None, found=repr(raw)
            ) from None
        if not target:
            raise ReaderError("efficiency row without a target", file=str(p), line=n, found=repr(",".join(row)))
        if target in out:
            raise ReaderError("target listed twice in the efficiency file", file=str(p), line=n, target=target)
        out[target] = value
    if not out:
        raise ReaderError("efficiency file has no rows", file=str(p), expected="one row per target", found="none")
    return out


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("_") or "x"


@dataclass(frozen=True)
class QpcrRun:
    """What :func:`run_qpcr` did: the data analysed, the results and the files written.

    Attributes
    ----------
    data : pandas.DataFrame
        The exports read (and annotated with the layout).
    result : DdctResult
        Output of :func:`assaykit.qpcr.ddct`.
    curves : StandardCurveResult or None
        Standard curves, when ``efficiency='auto'``.
    options : dict
        The settings the analysis ran with, flat (``method`` resolved).
    paths : list of pathlib.Path
        Files written.
    calibration : RunCalibration or None
        Inter-run calibration applied before ``ddct`` (option ``calibrators``).
    workflow : QpcrRunResult or None
        The workflow's result (settings, tables, parameters).
    """

    data: Any
    result: Any
    curves: Any
    options: dict
    paths: list
    calibration: Any = None
    workflow: Any = None


def run_qpcr(
    exports: Sequence[str | os.PathLike] | str | os.PathLike,
    outdir: str | os.PathLike,
    *,
    layout: str | os.PathLike | None = None,
    protocol: str | os.PathLike | None = None,
    options: Mapping[str, Any] | None = None,
    format: str | None = None,
    how: str = "strict",
    command: str = "assaykit qpcr",
    figures: bool = True,
    extra_tables: Mapping[str, Any] | Callable[[Any], Mapping[str, Any]] | None = None,
    settings: QpcrSettings | None = None,
) -> QpcrRun:
    """Read export files, run the qPCR workflow, write its tables, workbook and figures.

    Parameters
    ----------
    exports : path or list of paths
        qPCR exports (any format :func:`assaykit.read_qpcr` reads).
    outdir : path
        Output folder (created if needed).
    layout : path, optional
        wellmap TOML layout (its ``[qpcr]`` table supplies settings).
    protocol : path or str, optional
        Protocol TOML (or the name of one in :data:`PROTOCOL_DIR`) with a ``[qpcr]`` table.
    options : mapping, optional
        Settings (names of :class:`QpcrSettings`) that override protocol and layout;
        ``None`` values are ignored.
    settings : QpcrSettings, optional
        The settings, already merged (e.g. by :func:`qpcr_settings`); then the
        protocol and layout are not read for settings (they are still listed as
        inputs, and the layout is joined to the data), and ``options`` must be None.
    format : str, optional
        Force the reader format.
    how : {'strict', 'left'}
        Layout join (:func:`assaykit.annotate`): ``'strict'`` refuses a layout that
        describes wells absent from the exports; ``'left'`` ignores them.
    command : str
        Recorded in the workbook's info sheet.
    figures : bool
        Draw the figures (False: tables and workbook only).
    extra_tables : mapping, or callable taking the DdctResult and returning one, optional
        More sheets appended to the workbook (e.g. a comparison with a known truth).

    Returns
    -------
    QpcrRun

    Raises
    ------
    AssaykitError
        ReaderError (unreadable export or efficiency file), LayoutError, ProtocolError
        (bad protocol or [qpcr] table), SettingsError (bad option), AnalysisError (no
        reference or control given, reference gene or control group absent, a
        calibrator missing on a plate × target ...), ReportError.
    """
    import assaykit
    from assaykit.qpcr import workflow

    exports = [exports] if isinstance(exports, str | os.PathLike) else list(exports)
    if not exports:
        raise AnalysisError("no export given", expected="at least one qPCR export file", found="none")
    if settings is None:
        given = {k: v for k, v in (options or {}).items() if v is not None}
        settings = qpcr_settings(protocol=protocol, layout=layout, options=given)
    elif options is not None:
        raise AnalysisError("options given together with settings", expected="one of options= or settings=",
                            found="both")  # fmt: skip
    workflow.check_settings(settings)
    data = assaykit.read_many(exports, kind="qpcr", format=format, progress=False, rename="files")
    fmts = data.attrs["formats"]
    if layout is not None:
        data = assaykit.annotate(data, assaykit.read_layout(layout), how=how)
    eff_file = _efficiency_file(settings)
    table = read_efficiency_file(eff_file) if eff_file is not None else None
    result = workflow.run(data, settings, efficiency=table)

    inputs = [*exports] + ([layout] if layout is not None else [])
    if protocol is not None:
        inputs.append(resolve_protocol(protocol))
    if eff_file is not None:
        inputs.append(Path(eff_file))
    info = {"command": command, "format": ", ".join(dict.fromkeys(fmts)), **result.parameters()}
    paths = _write(result, Path(outdir), info, inputs, extra_tables, figures)
    options_used = {**settings.to_dict(), "method": result.method, "calibrators": list(settings.calibrators) or None}
    return QpcrRun(result.data, result.ddct, result.curves, options_used, paths, result.calibration, result)


def _efficiency_file(settings: QpcrSettings) -> str | None:
    eff = settings.efficiency
    return eff if isinstance(eff, str) and eff.strip().lower() != "auto" else None


def _write(result, out: Path, info: dict, inputs: list, extra_tables, figures: bool) -> list[Path]:
    """Write the tables (CSV), the workbook and, with ``figures``, the figures."""
    from assaykit.report import write_workbook

    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    tables = result.tables()
    for name, table in tables.items():
        p = out / f"{name}.csv"
        table.to_csv(p, index=False)
        paths.append(p)
    sheets = dict(tables)
    extra = extra_tables(result.ddct) if callable(extra_tables) else extra_tables
    sheets.update(extra or {})
    paths.append(write_workbook(sheets, out / "results.xlsx", info=info, inputs=inputs))
    if figures:
        paths += _figures(result.ddct, result.curves, out)
    return paths


def _figures(res, curves, out: Path) -> list[Path]:
    from assaykit.report import save_figure
    from assaykit.report.qpcr_figures import fold_change_plot, plate_qc_map, standard_curve_plot

    paths = [save_figure(fold_change_plot(res), out / "fold_change.png")]
    if curves is not None and len(curves.curves):
        paths.append(save_figure(standard_curve_plot(curves), out / "standard_curves.png"))
    w = res.wells
    for plate in dict.fromkeys(w["plate"].astype(str)):
        on_plate = w.loc[w["plate"].astype(str) == plate]
        if on_plate["well"].duplicated().any():  # multiplex: one map per target
            for t in dict.fromkeys(on_plate["target"].astype(str)):
                ax = plate_qc_map(w, plate=plate, target=t)
                paths.append(save_figure(ax, out / f"plate_qc_{_safe(plate)}_{_safe(t)}.png"))
        else:
            ax = plate_qc_map(w, plate=plate)
            paths.append(save_figure(ax, out / f"plate_qc_{_safe(plate)}.png"))
    return paths


def _fmt(x: float) -> str:
    return "n/a" if x is None or not math.isfinite(x) else f"{x:.3g}"


@click.command("qpcr")
@click.argument("exports", nargs=-1, required=True, type=click.Path(dir_okay=False, path_type=Path))
@settings_options(QpcrSettings)
@click.option("--layout", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="wellmap TOML layout (its [qpcr] table supplies options).")
@click.option("--protocol", default=None, help="Protocol TOML (path, or a name in protocols/).")
@click.option("--figures/--no-figures", default=True, help="Draw the figures [default: yes].")
@click.option("--format", "fmt", default=None, help="Force the export format (see `assaykit formats`).")
@click.option("--how", type=click.Choice(["strict", "left"]), default="strict", show_default=True,
              help="Layout join: strict refuses layout wells absent from the exports; left ignores them.")
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")
def qpcr(exports: tuple[Path, ...], layout: Path | None, protocol: str | None, figures: bool, fmt: str | None,
         how: str, outdir: Path, **settings: Any) -> None:
    """Relative expression (ΔΔCq) of qPCR EXPORTS against reference genes.

    Writes wells.csv, samples.csv, groups.csv, stats.csv, results.xlsx and figures
    (fold change, standard curves with --efficiency auto, plate QC maps) into the
    output folder; with --calibrator also run_calibration.csv. Options may also come from the layout's [qpcr] table or a
    --protocol TOML; options given here win.
    """  # fmt: skip
    merged = qpcr_settings(protocol=protocol, layout=layout, options=given_options(QpcrSettings, settings))
    run = run_qpcr(
        exports, outdir, layout=layout, protocol=protocol, settings=merged, format=fmt, figures=figures, how=how
    )
    for p in run.paths:
        click.echo(f"wrote {p}", err=True)
    _summary(run.workflow)


def _summary(result) -> None:
    """One line per group × target on stdout; calibration, well and sample counts on stderr."""
    s = result.settings
    if result.calibration is not None:
        off = result.calibration.offsets
        click.echo(
            f"inter-run calibration ({', '.join(s.calibrators)}): {off['plate'].nunique()} plates x "
            f"{off['target'].nunique()} targets, run offsets {off['run_offset'].min():+.3f} to "
            f"{off['run_offset'].max():+.3f} cycles",
            err=True,
        )
    res = result.ddct
    conv = s.error
    for d in res.groups.to_dict("records"):
        lo, hi = d.get(f"fold_change_{conv}_low"), d.get(f"fold_change_{conv}_high")
        click.echo(
            f"{d['target']} {d[s.group_col]}: fold change {_fmt(d['fold_change'])} ({conv} {_fmt(lo)}-{_fmt(hi)})"
            + ("" if d["status"] == "ok" else f" [{d['status']}: {d['reason']}]")
        )
    counts = res.wells["status"].value_counts()
    click.echo("wells: " + ", ".join(f"{k} {v}" for k, v in counts.items()), err=True)
    smp = res.samples.loc[~res.samples["is_reference"].astype(bool), "status"].value_counts()
    click.echo("samples x targets: " + ", ".join(f"{k} {v}" for k, v in smp.items()), err=True)
