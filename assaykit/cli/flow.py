"""``assaykit flow``: apply one gating strategy to a batch of FCS files; population statistics out.

Reads every FCS file given (folders: their ``*.fcs`` files) with
:func:`assaykit.flow.read_fcs`, joins an optional sample sheet on ``sample`` (the file
stem), runs :func:`assaykit.flow.workflow.run` and writes into the output folder:

* ``stats.csv`` — one row per sample × population (``docs/schemas.md``, flow statistics);
* ``thresholds.csv`` — every data-driven boundary placed (gate, channel, method, value);
* ``errors.csv`` — the files or samples that failed, with the reason (the others complete);
* ``results.xlsx`` — the same tables after an ``info`` sheet (inputs hashed, every setting);
* ``strategy.xml`` — the strategy applied, as GatingML 2.0, and, when thresholds were
  placed, ``strategy_<sample>.xml`` with that sample's boundaries (open them in FlowJo or
  FlowKit to inspect the gates);
* ``gates_<sample>.png`` — every gate of the sample along the hierarchy, and
  ``frequencies.png`` — the frequency of each final population per group (when the sample
  sheet has the group column), donors as points (``--donor-col``).

Options come from :class:`assaykit.flow.FlowSettings`, merged in this order (later wins):
defaults, the ``[flow]`` table of a protocol TOML (``--protocol``), command-line options.
Display labels of the gates come from the protocol's ``[protocol.labels]`` table (for the
shipped ``th_subsets`` template, from ``protocols/flow_th_subsets.toml`` by default).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import click
import pandas as pd

from assaykit.cli._options import given_options, settings_options
from assaykit.errors import AnalysisError, AssaykitError, ReaderError
from assaykit.flow import FlowSettings
from assaykit.protocols import read_protocol_table, resolve_protocol

__all__ = ["FlowCliRun", "flow", "load_labels", "read_sample_sheet", "run_flow"]

#: Protocol whose labels are used for the shipped template when no protocol is given.
TH_PROTOCOL = "flow_th_subsets"
_CLI_EXCLUDED = ("thresholds", "keep_masks")


@dataclass(frozen=True)
class FlowCliRun:
    """What :func:`run_flow` did.

    Attributes
    ----------
    result : object
        The :func:`assaykit.flow.workflow.run` result.
    settings : FlowSettings
        The merged settings used.
    errors : pandas.DataFrame
        ``sample, file, error``: files that could not be read and samples that could not be gated.
    paths : list of pathlib.Path
        Files written.
    """

    result: Any
    settings: Any
    errors: pd.DataFrame
    paths: list[Path] = field(default_factory=list)


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("_") or "x"


def expand_inputs(inputs: Iterable[str | os.PathLike]) -> list[Path]:
    """FCS files of the inputs: files as given, folders replaced by their ``*.fcs`` files (sorted).

    A file that does not exist is kept: the workflow reports it in its errors and the other
    files complete.

    Parameters
    ----------
    inputs : iterable of path
        FCS files and folders.

    Returns
    -------
    list of pathlib.Path

    Raises
    ------
    ReaderError
        If a folder holds no FCS file, or nothing is given.
    """
    files: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.is_file() and q.suffix.lower() == ".fcs")
            if not found:
                raise ReaderError("folder holds no FCS file", file=str(p), expected="files ending in .fcs")
            files.extend(found)
        else:  # a missing or unreadable file is reported by the workflow; the others complete
            files.append(p)
    if not files:
        raise ReaderError("no FCS file given", expected="FCS files or folders holding them", found="none")
    return files


def read_sample_sheet(path: str | os.PathLike) -> pd.DataFrame:
    """Read a sample sheet (CSV, or TSV by suffix) keyed by ``sample`` (the FCS file stem).

    Parameters
    ----------
    path : path
        The sheet (``.csv``; ``.tsv``/``.txt``: tab-separated).

    Returns
    -------
    pandas.DataFrame
        One row per sample; ``sample`` as text, other columns as pandas infers them.

    Raises
    ------
    ReaderError
        If the file cannot be read, has no ``sample`` column, or lists a sample twice.
    """
    p = Path(path)
    try:
        sheet = pd.read_csv(p, sep="\t" if p.suffix.lower() in (".tsv", ".txt") else ",", dtype={"sample": str})
    except (OSError, UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
        raise ReaderError("cannot read the sample sheet", file=str(p), found=str(exc).splitlines()[0]) from None
    if "sample" not in sheet.columns:
        raise ReaderError("sample sheet has no 'sample' column", file=str(p), expected="a column 'sample' (FCS file stem)",
                          found=", ".join(sheet.columns) or "no columns")  # fmt: skip
    dup = sheet["sample"][sheet["sample"].duplicated()]
    if len(dup):
        raise ReaderError("sample listed twice in the sample sheet", file=str(p), sample=str(dup.iloc[0]))
    return sheet


def load_labels(protocol: str | os.PathLike | None, strategy: str | None) -> dict[str, str]:
    """Display labels of the gates: ``[protocol.labels]`` of the protocol (or of the shipped Th protocol).

    Parameters
    ----------
    protocol : str or path, optional
        Protocol TOML (path or bundled name).
    strategy : str, optional
        The strategy setting; without a protocol, ``'th_subsets'`` takes the labels of
        ``protocols/flow_th_subsets.toml``.

    Returns
    -------
    dict
        Gate id → label; empty when there are none (gate ids are then shown).
    """
    source = protocol
    if source is None and strategy in ("th_subsets", TH_PROTOCOL):
        source = TH_PROTOCOL
    if source is None:
        return {}
    try:
        data = tomllib.loads(resolve_protocol(source).read_text(encoding="utf-8"))
    except (AssaykitError, OSError, UnicodeDecodeError, tomllib.TOMLDecodeError):
        return {}  # the [flow] table read reports a bad protocol; labels are display only
    labels = data.get("protocol", {}).get("labels", {})
    return {str(k): str(v) for k, v in labels.items()} if isinstance(labels, dict) else {}


def _settings(protocol: str | os.PathLike | None, options: Mapping[str, Any] | None) -> tuple[Any, Path | None]:
    proto: dict[str, Any] = {}
    ppath = None
    if protocol is not None:
        proto, ppath = read_protocol_table(protocol, "flow")
    given = {k: v for k, v in (options or {}).items() if v is not None}
    settings = FlowSettings.merged(proto, given, where=(str(ppath) if ppath else None, None))
    return settings, ppath


def _leaves(stats: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """The populations without children (in ``stats`` order): the subsets of the summary and frequency figure.

    Returns the statistics with a ``population`` column that names each leaf uniquely (its
    gate id, or its path when the same id sits under several parents) and the leaf names.
    """
    paths = list(dict.fromkeys(stats["path"].astype(str)))
    leaves = [p for p in paths if not any(q.startswith(p + "/") for q in paths)]
    ids = [p.rsplit("/", 1)[-1] for p in leaves]
    if len(set(ids)) == len(ids):
        return stats, ids
    return stats.assign(population=stats["path"].astype(str)), leaves


def _explicit_compensation(strategy: Any) -> Any:
    """A copy of a strategy whose dimensions all name their compensation.

    FlowKit reads a FlowJo workspace's uncompensated dimensions with ``compensation_ref=None``
    (which it gates as uncompensated) but then writes GatingML without the attribute, which
    its own parser rejects; ``'uncompensated'`` is the same thing, spelled out.
    """
    import copy

    gs = copy.deepcopy(strategy)
    for gate_id, path in gs.get_gate_ids():
        for dim in getattr(gs.get_gate(gate_id, path), "dimensions", None) or ():
            if getattr(dim, "compensation_ref", "") is None:
                dim.compensation_ref = "uncompensated"
    return gs


def _write_strategies(result: Any, files: Mapping[str, Path], out: Path,
                      echo: Callable[[str], None] | None) -> list[Path]:  # fmt: skip
    """The strategy actually used, as GatingML 2.0.

    ``strategy.xml`` (the template applied) and ``strategy_<sample>.xml`` for each sample
    whose boundaries were placed from its data; for a FlowJo workspace, one
    ``strategy_<sample>.xml`` per sample (the workspace holds one strategy per sample).
    """
    gating = result.gating
    paths: list[Path] = []
    if hasattr(gating.strategy, "get_gating_strategy"):  # a FlowJo workspace
        from assaykit.flow import export_gatingml, read_fcs
        from assaykit.report.flow_figures import sample_strategy

        for name in dict.fromkeys(gating.stats["sample"].astype(str)):
            q = out / f"strategy_{_safe(name)}.xml"
            try:
                export_gatingml(_explicit_compensation(sample_strategy(gating.strategy, read_fcs(files[name])[0])), q)
            except Exception as exc:  # noqa: BLE001 - FlowKit cannot export every workspace gate/transform
                if echo is not None:
                    echo(f"note: the workspace strategy of {name} cannot be written as GatingML ({type(exc).__name__})")
                q.unlink(missing_ok=True)
                continue
            paths.append(q)
        return paths
    p = out / "strategy.xml"
    p.write_text(result.gatingml(), encoding="utf-8")
    paths.append(p)
    thr = gating.thresholds
    for sample in dict.fromkeys(thr["sample"].astype(str)) if len(thr) else ():
        q = out / f"strategy_{_safe(sample)}.xml"
        q.write_text(result.gatingml(sample), encoding="utf-8")
        paths.append(q)
    return paths


def _write_figures(gating: Any, files: Mapping[str, Path], settings: Any, labels: Mapping[str, str], out: Path,
                   donor_col: str | None, echo: Callable[[str], None] | None) -> list[Path]:  # fmt: skip
    from assaykit.errors import ReportError
    from assaykit.flow import read_fcs
    from assaykit.report import save_figure
    from assaykit.report.flow_figures import frequency_plot, sample_gate_figure

    paths: list[Path] = []
    for name in dict.fromkeys(gating.stats["sample"].astype(str)):
        if name not in files:
            continue
        s = read_fcs(files[name])[0]  # one sample in memory at a time
        try:
            fig = sample_gate_figure(gating, s, labels=labels)
        except ReportError as exc:
            if echo is not None:
                echo(f"note: no gate figure for {s.name}: {' '.join(str(exc).split())}")
            continue
        paths.append(save_figure(fig, out / f"gates_{_safe(s.name)}.png", dpi=110))
    stats = gating.stats
    group = settings.group_column
    if group in stats.columns and stats[group].astype(str).str.len().gt(0).any():
        donor = donor_col if donor_col and donor_col in stats.columns else None
        named, leaves = _leaves(stats)
        ax = frequency_plot(named, leaves, group_col=group, donor_col=donor, labels=labels)
        paths.append(save_figure(ax, out / "frequencies.png"))
    return paths


def run_flow(
    inputs: Sequence[str | os.PathLike] | str | os.PathLike,
    outdir: str | os.PathLike,
    *,
    samples: str | os.PathLike | pd.DataFrame | None = None,
    protocol: str | os.PathLike | None = None,
    options: Mapping[str, Any] | None = None,
    labels: Mapping[str, str] | None = None,
    donor_col: str | None = "donor",
    command: str = "assaykit flow",
    figures: bool = True,
    executor: Any = None,
    progress: bool = True,
    echo: Callable[[str], None] | None = None,
    extra_tables: Mapping[str, pd.DataFrame] | Callable[[Any], Mapping[str, pd.DataFrame]] | None = None,
) -> FlowCliRun:
    """Run the flow workflow on FCS files and write its tables, workbook, strategies and figures.

    Parameters
    ----------
    inputs : path or list of paths
        FCS files and/or folders (their ``*.fcs`` files).
    outdir : path
        Output folder (created if needed).
    samples : path or DataFrame, optional
        Sample sheet: one row per sample (``sample`` = file stem) with e.g. ``donor``,
        ``condition``, ``control``; its columns are joined to the statistics.
    protocol : path or str, optional
        Protocol TOML (or the name of one in ``protocols/``) with a ``[flow]`` table.
    options : mapping, optional
        :class:`~assaykit.flow.FlowSettings` values that win over the protocol (``None``
        values ignored).
    labels : mapping, optional
        Gate id → display label (default: :func:`load_labels`).
    donor_col : str, optional
        Sample-sheet column drawn as points joined across groups in ``frequencies.png``.
    command : str
        Recorded in the workbook's info sheet.
    figures : bool
        Draw the gate and frequency figures.
    executor : concurrent.futures.Executor, optional
        Where samples are gated (default: the workflow's choice from ``workers``).
    progress : bool
        Progress bar while gating.
    echo : callable, optional
        Called with one line per problem file (``error: ...``) and note.
    extra_tables : mapping or callable, optional
        More workbook sheets (or a function of the workflow result returning them).

    Returns
    -------
    FlowCliRun

    Raises
    ------
    AssaykitError
        ReaderError (missing input, unreadable sample sheet, every file unreadable),
        ProtocolError/SettingsError (bad protocol or option), AnalysisError (no sample
        could be gated, duplicate sample names); a single unreadable or ungatable file
        is reported in ``errors`` instead.
    """
    from assaykit.flow import workflow
    from assaykit.report import write_workbook

    inputs = [inputs] if isinstance(inputs, str | os.PathLike) else list(inputs)
    files = expand_inputs(inputs)
    settings, ppath = _settings(protocol, options)
    labels = dict(labels) if labels is not None else load_labels(protocol, settings.strategy)
    sheet = samples if isinstance(samples, pd.DataFrame) or samples is None else read_sample_sheet(samples)
    names = [f.stem for f in files]
    dup = sorted({n for n in names if names.count(n) > 1})
    if dup:
        raise AnalysisError("two FCS files have the same name (file stem)", sample=dup[0],
                            expected="distinct file names: the stem names the sample")  # fmt: skip
    # the workflow reads each file with assaykit.flow.read_fcs where it is gated (a worker process by
    # default), so that a batch never has to fit in this process's memory
    result = workflow.run([os.fspath(f) for f in files], settings, sample_sheet=sheet, executor=executor,
                          progress=progress)  # fmt: skip
    gating = result.gating
    errors = gating.errors
    if gating.stats.empty:
        raise AnalysisError(f"no sample could be gated ({len(errors)} failed; the first:)",
                            found=" ".join(str(errors["error"].iloc[0]).split()) if len(errors) else "no samples")  # fmt: skip
    if echo is not None:
        for rec in errors.to_dict("records"):
            echo(f"error: {' '.join(str(rec['error']).split())} (sample {rec['sample']} skipped; the others completed)")

    out = Path(outdir)
    out.mkdir(parents=True, exist_ok=True)
    tables = dict(result.tables())
    paths: list[Path] = []
    for name in ("stats", "thresholds", "errors"):
        p = out / f"{name}.csv"
        tables[name].to_csv(p, index=False)
        paths.append(p)
    info = {"command": command, **settings.to_dict(), "labels": labels or None, "files": len(files),
            "files_failed": len(errors)}  # fmt: skip
    extra = extra_tables(result) if callable(extra_tables) else extra_tables
    sheets = {**tables, **(extra or {})}
    in_files = [f for f in files if f.is_file()] + ([samples] if isinstance(samples, str | os.PathLike) else [])
    if ppath is not None:
        in_files.append(ppath)
    paths.append(write_workbook(sheets, out / "results.xlsx", info=info, inputs=in_files))
    by_name = dict(zip(names, files, strict=True))
    paths += _write_strategies(result, by_name, out, echo)
    if figures:
        paths += _write_figures(gating, by_name, settings, labels, out, donor_col, echo)
    return FlowCliRun(result, settings, errors, paths)


def _summary(run: FlowCliRun) -> list[str]:
    """One line per sample: the % of parent of each final population."""
    named, leaves = _leaves(run.result.tables()["stats"])
    lines = []
    for sample, sub in named.groupby("sample", sort=False):
        pct = dict(zip(sub["population"].astype(str), sub["pct_parent"], strict=True))
        parts = [f"{p} {pct[p]:.2f} %" for p in leaves if p in pct]
        lines.append(f"{sample}: " + ", ".join(parts))
    return lines


@click.command("flow")
@click.argument("inputs", nargs=-1, required=True, type=click.Path(path_type=Path), metavar="FCS_OR_DIR...")
@settings_options(FlowSettings, exclude=_CLI_EXCLUDED)
@click.option("--samples", "sample_sheet", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Sample sheet (CSV) keyed by 'sample' = FCS file stem (e.g. donor, condition, control).")
@click.option("--protocol", default=None, help="Protocol TOML (path, or a name in protocols/) with a [flow] table.")
@click.option("--donor-col", default="donor", show_default=True,
              help="Sample-sheet column whose values are joined across groups in frequencies.png.")
@click.option("--figures/--no-figures", default=True, help="Draw gate and frequency figures [default: yes].")
@click.option("--progress/--no-progress", default=True, help="Show a progress bar while gating [default: yes].")
@click.option("-o", "--output", "outdir", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="Output folder (created if needed).")
def flow(inputs: tuple[Path, ...], sample_sheet: Path | None, protocol: str | None, donor_col: str,
         figures: bool, progress: bool, outdir: Path, **params: Any) -> None:
    """Gate FCS files (or folders of them) with one strategy; population statistics out.

    The strategy is a shipped template (th_subsets: lymphocytes > singlets > live > CD3+ >
    CD4+ > Th1, Th17, Th1/17, Tfh, Treg), a GatingML 2.0 file or a FlowJo .wsp (with
    --group). Writes stats.csv, thresholds.csv, errors.csv, results.xlsx, the strategy
    used as GatingML (strategy.xml, strategy_<sample>.xml) and figures (gates_<sample>.png,
    frequencies.png) into the output folder. A file that cannot be read or gated is
    reported and the others complete. Options may also come from a --protocol TOML's
    [flow] table (e.g. --protocol flow_th_subsets for data-driven thresholds); options
    given here win.
    """
    echo = lambda line: click.echo(line, err=True)  # noqa: E731
    run = run_flow(inputs, outdir, samples=sample_sheet, protocol=protocol, options=given_options(FlowSettings, params),
                   donor_col=donor_col, figures=figures, progress=progress, echo=echo)  # fmt: skip
    for p in run.paths:
        click.echo(f"wrote {p}", err=True)
    for line in _summary(run):
        click.echo(line)
    n_err = len(run.errors)
    if n_err:
        click.echo(f"{n_err} file(s) or sample(s) failed: see {Path(outdir) / 'errors.csv'}", err=True)
