"""``assaykit qpcr``: relative expression (ΔΔCq) of one or several qPCR exports.

Reads the exports with :func:`assaykit.read_qpcr`, joins an optional wellmap layout,
estimates efficiencies from the run's standards when asked (``--efficiency auto``,
:func:`assaykit.qpcr.standard_curve`), runs :func:`assaykit.qpcr.ddct`, and writes into
the output folder:

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

Options are merged in this order, later wins: built-in defaults, the ``[qpcr]`` table of a
protocol TOML (``--protocol``), the ``[qpcr]`` table of the layout, command-line options.
The keys of ``[qpcr]`` are the option names below in snake case (:data:`OPTION_KEYS`).

The layout is joined with :func:`assaykit.annotate`: every well of the exports is kept,
wells the layout does not describe get no group and are not analysed (a row with a reason
in ``wells.csv``). Layout wells absent from the exports are an error (``--how strict``,
the default) or ignored (``--how left``).

With inter-run calibrators (``--calibrator SAMPLE``, repeatable, or ``calibrators`` in a
``[qpcr]`` table), :func:`assaykit.qpcr.calibrate_runs` removes each plate × target's
Cq offset (the calibrators' mean Cq on that plate minus its mean over plates) before the
efficiencies and ``ddct``; with one plate the offsets are 0. ``wells.csv`` keeps the
measured Cq in ``cq_uncalibrated`` and the subtracted ``run_offset``.

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

from assaykit.errors import AnalysisError, ProtocolError, ReaderError
from assaykit.protocols import PROTOCOL_DIR, read_protocol_table, resolve_protocol

__all__ = [
    "DEFAULTS",
    "OPTION_KEYS",
    "PROTOCOL_DIR",
    "QpcrRun",
    "load_protocol",
    "merge_options",
    "qpcr",
    "read_efficiency_file",
    "run_qpcr",
]


#: Options of the ``[qpcr]`` table (protocol or layout) and their meaning.
OPTION_KEYS: dict[str, str] = {
    "reference": "reference gene name or list of names",
    "control": "control group (value of group_col)",
    "group_col": "column naming the condition of each sample",
    "sample_col": "column naming the biological sample",
    "method": "livak, pfaffl or thermo_ecq",
    "efficiency": "'auto' (standard curves of the run), a CSV file (target, efficiency) or a table {target = E}",
    "undetermined": "'exclude' or a cycle cut-off such as 40",
    "error": "sd, sem or ci95",
    "outlier": "technical-replicate outlier rule: median, sd, grubbs, max_dcq (or 'none')",
    "outlier_threshold": "threshold of the outlier rule",
    "test": "welch, student, mann_whitney, anova, tukey, dunnett or 'none'",
    "p_adjust": "holm, bh or none",
    "propagate_control": "add the control group's error to each ΔΔCq (true/false)",
    "pairing": "auto, same_well or separate",
    "ntc_margin": "cycles between NTC/no-RT and sample Cq below which wells are flagged",
    "tm_tolerance": "°C from the target's modal Tm above which wells are flagged",
    "calibrators": "inter-run calibrator sample name or list of names (calibrate_runs before ddct)",
    "instrument_flags": "wells with an instrument flag in cq_flag: 'flag' (kept, flagged) or 'exclude'",
    "p_adjust_family": "multiple-testing family: 'target' (per target) or 'all' (every test of the run)",
}

#: Defaults of the command (``method`` None = ``livak``, or ``pfaffl`` when efficiencies are given).
DEFAULTS: dict[str, Any] = {
    "group_col": "group",
    "sample_col": "sample",
    "method": None,
    "efficiency": None,
    "undetermined": "exclude",
    "error": "sd",
    "outlier": None,
    "test": "welch",
    "p_adjust": "holm",
    "propagate_control": False,
    "pairing": "auto",
    "instrument_flags": "flag",
    "p_adjust_family": "target",
}


def _is_num(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool)


def _is_str(v: Any) -> bool:
    return isinstance(v, str)


_TYPE_CHECKS: dict[str, tuple[Callable[[Any], bool], str]] = {
    "reference": (lambda v: _is_str(v) or (isinstance(v, list) and bool(v) and all(map(_is_str, v))),
                  "a gene name or a list of names"),
    "calibrators": (lambda v: _is_str(v) or (isinstance(v, list) and all(map(_is_str, v))),
                    "a sample name or a list of names"),
    "efficiency": (lambda v: _is_str(v) or (isinstance(v, Mapping) and all(map(_is_num, v.values()))),
                   "'auto', 'none', a CSV file name or a table {target = E}"),
    "undetermined": (lambda v: _is_str(v) or _is_num(v), "'exclude' or a number"),
    "propagate_control": (lambda v: isinstance(v, bool), "true or false"),
    **{k: (_is_num, "a number") for k in ("outlier_threshold", "ntc_margin", "tm_tolerance")},
    **{k: (_is_str, "a text") for k in ("control", "group_col", "sample_col", "method", "error", "outlier", "test",
                                         "p_adjust", "pairing", "instrument_flags", "p_adjust_family")},
}  # fmt: skip


def _check_table(table: Any, where: str) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise ProtocolError("[qpcr] must be a table of options", file=where, found=type(table).__name__)
    unknown = [k for k in table if k not in OPTION_KEYS]
    if unknown:
        raise ProtocolError(
            "unknown option in the [qpcr] table",
            file=where,
            expected=f"one of {sorted(OPTION_KEYS)}",
            found=repr(unknown[0]),
        )
    out = dict(table)
    for key, value in out.items():
        ok = _TYPE_CHECKS[key][0](value)
        if not ok:
            raise ProtocolError(
                f"option '{key}' of the [qpcr] table has the wrong type",
                file=where,
                expected=_TYPE_CHECKS[key][1],
                found=repr(value),
            )
    eff = out.get("efficiency")
    # a CSV named in a TOML file is relative to that file
    if isinstance(eff, str) and eff.lower() not in ("auto", "none") and not Path(eff).is_absolute():
        out["efficiency"] = str(Path(where).resolve().parent / eff)
    return out


def load_protocol(name_or_path: str | os.PathLike) -> dict[str, Any]:
    """Read the ``[qpcr]`` options of a protocol TOML.

    Parameters
    ----------
    name_or_path : str or path
        A TOML file, or the name of one in :data:`PROTOCOL_DIR` (``'qpcr_th_panel'``).

    Returns
    -------
    dict
        The ``[qpcr]`` table (option → value); a relative efficiency CSV path is made
        relative to the protocol file.

    Raises
    ------
    ProtocolError
        If the file is missing, not valid TOML, has no ``[qpcr]`` table, or names an
        unknown option.
    """
    table, p = read_protocol_table(name_or_path, "qpcr")
    return _check_table(table, str(p))


def merge_options(
    protocol: Mapping[str, Any] | None = None,
    layout: Mapping[str, Any] | None = None,
    explicit: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Merge option sources: :data:`DEFAULTS` < protocol < layout ``[qpcr]`` < explicit.

    Parameters
    ----------
    protocol, layout : mapping, optional
        ``[qpcr]`` tables (already checked).
    explicit : mapping, optional
        Options given on the command line or by the caller; ``None`` values are ignored.

    Returns
    -------
    dict
        The merged options.

    Examples
    --------
    >>> merge_options({"error": "sem", "control": "vehicle"}, {"error": "ci95"}, {"control": "dmso"})["error"]
    'ci95'
    """
    opts = dict(DEFAULTS)
    for src in (protocol, layout):
        opts.update(src or {})
    opts.update({k: v for k, v in (explicit or {}).items() if v is not None})
    return opts


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


def _read_exports(exports: Sequence[str | os.PathLike], fmt: str | None):
    import pandas as pd

    import assaykit

    frames = []
    for e in exports:
        df = assaykit.read_qpcr(e, format=fmt)
        if len(exports) > 1:
            stem = Path(e).stem
            plates = list(dict.fromkeys(df["plate"].astype(str)))
            df["plate"] = stem if len(plates) == 1 else [f"{stem}/{p}" for p in df["plate"].astype(str)]
        frames.append(df)
    if len(frames) == 1:
        return frames[0], [frames[0].attrs.get("format", "")]
    names = [list(dict.fromkeys(f["plate"])) for f in frames]
    seen: dict[str, str] = {}
    for e, ps in zip(exports, names, strict=True):
        for p in ps:
            if p in seen:
                raise ReaderError(
                    "two exports give the same plate name (files with the same name?)",
                    file=str(e),
                    plate=p,
                    expected="exports with distinct file names",
                    found=f"also in {seen[p]}",
                )
            seen[p] = str(e)
    data = pd.concat(frames, ignore_index=True)
    return data, [f.attrs.get("format", "") for f in frames]


def _undetermined(value: Any) -> str | float:
    if isinstance(value, bool):
        raise AnalysisError("undetermined must be 'exclude' or a cycle number", found=repr(value))
    if isinstance(value, int | float):
        return float(value)
    text = str(value).strip().lower()
    if text == "exclude":
        return "exclude"
    try:
        return float(text)
    except ValueError:
        raise AnalysisError(
            "undetermined must be 'exclude' or a cycle number", expected="'exclude' or e.g. 40", found=repr(value)
        ) from None


def _none(value: Any) -> Any:
    return None if isinstance(value, str) and value.strip().lower() == "none" else value


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
        The merged options the analysis ran with.
    paths : list of pathlib.Path
        Files written.
    calibration : RunCalibration or None
        Inter-run calibration applied before ``ddct`` (option ``calibrators``).
    """

    data: Any
    result: Any
    curves: Any
    options: dict
    paths: list
    calibration: Any = None


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
) -> QpcrRun:
    """Run the qPCR workflow on export files and write its tables, workbook and figures.

    Parameters
    ----------
    exports : path or list of paths
        qPCR exports (any format :func:`assaykit.read_qpcr` reads).
    outdir : path
        Output folder (created if needed).
    layout : path, optional
        wellmap TOML layout (its ``[qpcr]`` table supplies options).
    protocol : path or str, optional
        Protocol TOML (or the name of one in :data:`PROTOCOL_DIR`) with a ``[qpcr]`` table.
    options : mapping, optional
        Explicit options (override protocol and layout; ``None`` values ignored); keys
        as in :data:`OPTION_KEYS`. ``calibrators`` (a sample name or list) applies
        :func:`assaykit.qpcr.calibrate_runs` to the pooled data before the efficiencies
        and ``ddct``; the other options are passed to ``ddct``.
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
        (bad protocol or [qpcr] table), AnalysisError (no reference or control given,
        reference gene or control group absent, a calibrator missing on a plate × target,
        bad option ...), ReportError.
    """
    import assaykit
    from assaykit.layout import layout_params
    from assaykit.qpcr import ddct, standard_curve
    from assaykit.report import write_workbook

    exports = [exports] if isinstance(exports, str | os.PathLike) else list(exports)
    if not exports:
        raise AnalysisError("no export given", expected="at least one qPCR export file", found="none")
    out = Path(outdir)
    proto_opts = load_protocol(protocol) if protocol is not None else {}
    layout_opts: dict[str, Any] = {}
    if layout is not None:
        params = layout_params(layout)
        if "qpcr" in params:
            layout_opts = _check_table(params["qpcr"], os.fspath(layout))
    opts = merge_options(proto_opts, layout_opts, options)

    refs = opts.get("reference")
    refs = [refs] if isinstance(refs, str) else list(refs or [])
    if not refs:
        raise AnalysisError(
            "no reference gene given", expected="--reference GAPDH (repeatable) or reference in a [qpcr] table", found="none"
        )
    control = opts.get("control")
    if control is None or str(control) == "":
        raise AnalysisError("no control group given", expected="--control NAME or control in a [qpcr] table", found="none")
    control = str(control)

    data, fmts = _read_exports(exports, format)
    if layout is not None:
        data = assaykit.annotate(data, assaykit.read_layout(layout), how=how)
    cals = opts.get("calibrators")
    cals = [cals] if isinstance(cals, str) else [str(c) for c in (cals or [])]
    calibration = None
    if cals:
        from assaykit.qpcr import calibrate_runs

        calibration = calibrate_runs(data, cals, sample_col=str(opts["sample_col"]))
        data = calibration.data

    eff_opt = _none(opts.get("efficiency"))
    curves = None
    efficiency: Any = None
    eff_label: Any = None
    if isinstance(eff_opt, Mapping):
        efficiency = {str(k): v for k, v in eff_opt.items()}
        eff_label = dict(efficiency)
    elif isinstance(eff_opt, str | os.PathLike) and str(eff_opt).lower() == "auto":
        if not (data["task"].astype(str) == "standard").any():
            raise AnalysisError(
                "efficiency 'auto' needs standard wells in the run",
                expected="wells with task 'standard' and a quantity, or an efficiency CSV file",
                found="no standard wells",
            )
        curves = standard_curve(data)
        efficiency = curves
        eff_label = "auto (standard curves of the run)"
    elif eff_opt is not None:
        efficiency = read_efficiency_file(eff_opt)
        eff_label = os.fspath(eff_opt)
    method = opts.get("method") or ("livak" if efficiency is None else "pfaffl")
    outlier = _none(opts.get("outlier"))
    test = _none(opts.get("test"))
    kwargs: dict[str, Any] = {
        "group_col": str(opts["group_col"]),
        "sample_col": str(opts["sample_col"]),
        "method": method,
        "efficiency": efficiency,
        "undetermined": _undetermined(opts.get("undetermined", "exclude")),
        "outlier": outlier,
        "error": opts["error"],
        "test": test,
        "p_adjust": opts["p_adjust"],
        "propagate_control": bool(opts["propagate_control"]),
        "pairing": opts["pairing"],
        "instrument_flags": opts["instrument_flags"],
        "p_adjust_family": opts["p_adjust_family"],
    }
    for k in ("outlier_threshold", "ntc_margin", "tm_tolerance"):
        if opts.get(k) is not None:
            kwargs[k] = float(opts[k])
    res = ddct(data, refs, control, **kwargs)

    out.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    tables = {"wells": res.wells, "samples": res.samples, "groups": res.groups, "stats": res.stats}
    if curves is not None:
        tables["standard_curves"] = curves.curves
        tables["standard_points"] = curves.points
    if calibration is not None:
        tables["run_calibration"] = calibration.offsets
    for name, table in tables.items():
        p = out / f"{name}.csv"
        table.to_csv(p, index=False)
        paths.append(p)
    info: dict[str, Any] = {
        "command": command,
        "format": ", ".join(dict.fromkeys(fmts)),
        "reference": refs,
        "control": control,
        **{k: v for k, v in kwargs.items() if k != "efficiency"},
        "efficiency": eff_label,
        "calibrators": cals or None,
    }
    if efficiency is not None:
        used = res.wells.dropna(subset=["efficiency"]).groupby("target", sort=False)["efficiency"].first()
        info.update({f"efficiency_{t}": float(e) for t, e in used.items()})
    inputs = [*exports] + ([layout] if layout is not None else [])
    if protocol is not None:
        inputs.append(resolve_protocol(protocol))
    if isinstance(eff_label, str) and curves is None:  # an efficiency file
        inputs.append(Path(eff_opt))
    sheets = dict(tables)
    extra = extra_tables(res) if callable(extra_tables) else extra_tables
    sheets.update(extra or {})
    paths.append(write_workbook(sheets, out / "results.xlsx", info=info, inputs=inputs))

    if figures:
        paths += _figures(res, curves, out)
    final = {**opts, "method": method, "reference": refs, "control": control, "calibrators": cals or None}
    return QpcrRun(data, res, curves, final, paths, calibration)


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
@click.option("--reference", "references", multiple=True, help="Reference gene (repeatable: geometric mean).")
@click.option("--control", default=None, help="Control group (a value of the group column).")
@click.option("--layout", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="wellmap TOML layout (its [qpcr] table supplies options).")
@click.option("--group-col", default=None, help="Column naming each sample's group [default: group].")
@click.option("--sample-col", default=None, help="Column naming the biological sample [default: sample].")
@click.option("--method", type=click.Choice(["livak", "pfaffl", "thermo_ecq"]), default=None,
              help="Quantification [default: livak, or pfaffl with --efficiency].")
@click.option("--efficiency", default=None,
              help="'auto' (from the run's standards) or a CSV with columns target, efficiency (fraction).")
@click.option("--undetermined", default=None, help="'exclude' or a Cq cut-off such as 40 [default: exclude].")
@click.option("--error", type=click.Choice(["sd", "sem", "ci95"]), default=None,
              help="Error-bar convention shown [default: sd].")
@click.option("--outlier", type=click.Choice(["median", "sd", "grubbs", "max_dcq", "none"]), default=None,
              help="Technical-replicate outlier rule [default: none].")
@click.option("--outlier-threshold", type=float, default=None, help="Threshold of the outlier rule.")
@click.option("--test", type=click.Choice(["welch", "student", "mann_whitney", "anova", "tukey", "dunnett", "none"]),
              default=None, help="Test of ΔCq against the control [default: welch].")
@click.option("--p-adjust", type=click.Choice(["holm", "bh", "none"]), default=None,
              help="Multiple-testing correction [default: holm].")
@click.option("--propagate-control/--no-propagate-control", default=None,
              help="Add the control group's error to each ΔΔCq [default: no].")
@click.option("--pairing", type=click.Choice(["auto", "same_well", "separate"]), default=None,
              help="Target and reference in the same well (multiplex) or separate wells [default: auto].")
@click.option("--ntc-margin", type=float, default=None,
              help="Flag sample wells less than this many cycles below an amplified NTC/no-RT [default: 5].")
@click.option("--tm-tolerance", type=float, default=None,
              help="Flag wells whose Tm is further than this (°C) from the target's modal Tm [default: 1].")
@click.option("--instrument-flags", type=click.Choice(["flag", "exclude"]), default=None,
              help="Wells with an instrument flag (e.g. HIGHSD): keep and flag, or exclude [default: flag].")
@click.option("--p-adjust-family", type=click.Choice(["target", "all"]), default=None,
              help="Multiple-testing family: each target, or all tests of the run [default: target].")
@click.option("--calibrator", "calibrators", multiple=True,
              help="Inter-run calibrator sample on every plate (repeatable): Cq shifts between plates "
                   "are removed before ΔΔCq; writes run_calibration.csv.")
@click.option("--protocol", default=None, help="Protocol TOML (path, or a name in protocols/).")
@click.option("--figures/--no-figures", default=True, help="Draw the figures [default: yes].")
@click.option("--format", "fmt", default=None, help="Force the export format (see `assaykit formats`).")
@click.option("--how", type=click.Choice(["strict", "left"]), default="strict", show_default=True,
              help="Layout join: strict refuses layout wells absent from the exports; left ignores them.")
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")
def qpcr(exports: tuple[Path, ...], references: tuple[str, ...], control: str | None, layout: Path | None,
         group_col: str | None, sample_col: str | None, method: str | None, efficiency: str | None,
         undetermined: str | None, error: str | None, outlier: str | None, outlier_threshold: float | None,
         test: str | None, p_adjust: str | None, propagate_control: bool | None, pairing: str | None,
         ntc_margin: float | None, tm_tolerance: float | None, instrument_flags: str | None,
         p_adjust_family: str | None, calibrators: tuple[str, ...], protocol: str | None,
         figures: bool, fmt: str | None, how: str, outdir: Path) -> None:
    """Relative expression (ΔΔCq) of qPCR EXPORTS against reference genes.

    Writes wells.csv, samples.csv, groups.csv, stats.csv, results.xlsx and figures
    (fold change, standard curves with --efficiency auto, plate QC maps) into the
    output folder; with --calibrator also run_calibration.csv. Options may also come from the layout's [qpcr] table or a
    --protocol TOML; options given here win.
    """
    explicit = {
        "reference": list(references) or None, "control": control, "group_col": group_col,
        "sample_col": sample_col, "method": method, "efficiency": efficiency, "undetermined": undetermined,
        "error": error, "outlier": outlier, "outlier_threshold": outlier_threshold, "test": test,
        "p_adjust": p_adjust, "propagate_control": propagate_control, "pairing": pairing,
        "ntc_margin": ntc_margin, "tm_tolerance": tm_tolerance, "instrument_flags": instrument_flags,
        "p_adjust_family": p_adjust_family, "calibrators": list(calibrators) or None,
    }  # fmt: skip
    run = run_qpcr(
        exports, outdir, layout=layout, protocol=protocol, options=explicit, format=fmt, figures=figures, how=how
    )
    for p in run.paths:
        click.echo(f"wrote {p}", err=True)
    if run.calibration is not None:
        off = run.calibration.offsets
        click.echo(
            f"inter-run calibration ({', '.join(run.options['calibrators'])}): {off['plate'].nunique()} plates x "
            f"{off['target'].nunique()} targets, run offsets {off['run_offset'].min():+.3f} to "
            f"{off['run_offset'].max():+.3f} cycles",
            err=True,
        )
    res = run.result
    gcol = run.options["group_col"]
    g = res.groups
    conv = run.options["error"]
    for d in g.to_dict("records"):
        lo, hi = d.get(f"fold_change_{conv}_low"), d.get(f"fold_change_{conv}_high")
        click.echo(
            f"{d['target']} {d[gcol]}: fold change {_fmt(d['fold_change'])} ({conv} {_fmt(lo)}-{_fmt(hi)})"
            + ("" if d["status"] == "ok" else f" [{d['status']}: {d['reason']}]")
        )
    counts = res.wells["status"].value_counts()
    click.echo("wells: " + ", ".join(f"{k} {v}" for k, v in counts.items()), err=True)
    smp = res.samples.loc[~res.samples["is_reference"].astype(bool), "status"].value_counts()
    click.echo("samples x targets: " + ", ".join(f"{k} {v}" for k, v in smp.items()), err=True)
