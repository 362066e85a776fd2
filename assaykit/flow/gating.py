"""Gating a batch of samples: :func:`gate` → :class:`~assaykit.flow.GatingResult`.

Each sample is gated by the exact engine (:mod:`assaykit.flow._engine`) on any
``concurrent.futures`` executor (a process pool by default, or e.g.
``dask.distributed.Client.get_executor()``), with a tqdm progress bar. A sample that
fails (unreadable file, missing channel, ...) becomes one row of ``.errors``; the others
complete. Data-driven thresholds (:mod:`assaykit.flow.thresholds`) are placed per sample
while its tree is evaluated (each on its parent population's events), or — for
``by = "group"`` and the ``control_quantile`` method — in two passes: the first collects
the parent populations' values, the second gates with the pooled/control thresholds.
"""

from __future__ import annotations

import copy
import os
import warnings
from collections.abc import Iterable, Mapping
from concurrent.futures import Executor, ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from assaykit.errors import AnalysisError, AssaykitError, AssaykitWarning
from assaykit.events import FlowSample
from assaykit.flow._engine import Node, evaluate
from assaykit.flow._result import ERROR_COLUMNS, THRESHOLD_COLUMNS, GatingResult
from assaykit.flow._stats import mfi_columns, population_stats
from assaykit.flow.settings import FlowSettings, ThresholdSpec
from assaykit.flow.strategy import Workspace, load_strategy

__all__ = ["gate"]

#: At most this many events per sample are kept for pooled (group/control) thresholds.
MAX_POOLED = 1_000_000


@dataclass
class _Outcome:
    name: str
    file: str | None
    stats: pd.DataFrame | None = None
    thresholds: list = field(default_factory=list)
    masks: dict | None = None
    gates: list = field(default_factory=list)  # (gate, path) placed for this sample
    collected: dict = field(default_factory=dict)  # (gate, channel, side) -> values (pass 1)
    error: str | None = None


class _Placer:
    """Places the data-driven boundaries of one sample while its tree is evaluated."""

    def __init__(self, sample: FlowSample, specs: tuple[ThresholdSpec, ...], settings: FlowSettings,
                 fixed: Mapping[tuple, float], collect: set):
        self.sample = sample
        self.by_gate: dict[str, list[ThresholdSpec]] = {}
        for sp in specs:
            self.by_gate.setdefault(sp.gate, []).append(sp)
        self.settings = settings
        self.fixed = fixed
        self.collect = collect
        self.records: list[list] = []
        self.gates: list = []
        self.collected: dict = {}

    def __call__(self, gid: str, path, g, parent: Node, ev):
        specs = self.by_gate.get(gid)
        if not specs:
            return g
        g = copy.deepcopy(g)
        for sp in specs:
            self._place(sp, g, parent, ev)
        self.gates.append((g, tuple(path)))
        return g

    def _dim(self, sp: ThresholdSpec, g, ev):
        dims = list(g.dimensions)
        if sp.channel is None:
            if len(dims) == 1:
                return dims[0]
            raise AnalysisError("threshold needs 'channel' for a gate of several dimensions", gate=sp.gate,
                                expected="one of: " + ", ".join(getattr(d, "id", "?") for d in dims))
        want = ev.column(sp.channel, None, sp.gate) if sp.channel not in [getattr(d, "id", None) for d in dims] else None
        for d in dims:
            if getattr(d, "id", None) == sp.channel:
                return d
            if want is not None and getattr(d, "id", None) is not None:
                try:
                    if ev.column(d.id, d.compensation_ref, sp.gate) == want:
                        return d
                except AssaykitError:
                    continue
        raise AnalysisError("threshold channel is not a dimension of the gate", sample=self.sample.name,
                            gate=sp.gate, channel=sp.channel,
                            expected="one of: " + ", ".join(str(getattr(d, "id", "?")) for d in dims))

    def _place(self, sp: ThresholdSpec, g, parent: Node, ev) -> None:
        import assaykit.flow.thresholds as th

        by = sp.by or self.settings.threshold_by
        if sp.method == "singlet":
            comp_ref = ev.gate_comp_ref(g, sp.gate)
            xy = [ev.fast_values(d, comp_ref, parent, sp.gate) for d in g.dimensions[:2]]
            status = "ok"
            if parent.count >= int(sp.param("min_events", 50)):
                g.vertices = [list(v) for v in th.singlet_polygon(xy[0], xy[1], **dict(sp.params))]
            else:
                status = f"too few events ({parent.count}): template polygon kept"
            self.records.append([self.sample.name, sp.gate, "/".join(str(d.id) for d in g.dimensions[:2]), "polygon",
                                 sp.method, np.nan, "sample", self.sample.name, parent.count, status])
            return
        dim = self._dim(sp, g, ev)
        comp_ref = ev.gate_comp_ref(g, sp.gate)
        x = ev.fast_values(dim, comp_ref, parent, sp.gate)
        key = (sp.gate, str(getattr(dim, "id", sp.channel)), sp.side)
        if key in self.collect:
            self.collected[key] = x[:: max(1, x.size // MAX_POOLED + (x.size % MAX_POOLED > 0))] if x.size > MAX_POOLED else x.copy()
        old = getattr(dim, sp.side, None)
        pooled = self.sample.name
        if key in self.fixed:
            value, pooled, n_used = self.fixed[key]
            status = "ok" if np.isfinite(value) else "no pooled threshold: template boundary kept"
            by_used = "control" if sp.method == "control_quantile" else by
        else:
            n_used, by_used = x.size, "sample"
            value, status = th.place(sp.method, x, side=sp.side, **dict(sp.params))
            if sp.method == "control_quantile" and status == "ok":
                status = "no control named: quantile of the sample's own events"
        if np.isfinite(value):
            setattr(dim, sp.side, float(value))
        else:
            value = old if old is not None else np.nan
        self.records.append([self.sample.name, sp.gate, key[1], sp.side, sp.method, value, by_used, pooled,
                             int(n_used), status])


def _as_sample(item) -> FlowSample:
    if isinstance(item, FlowSample):
        return item
    from assaykit.flow._read import read_fcs

    return read_fcs([item])[0]


def _item_name(item) -> tuple[str, str | None]:
    if isinstance(item, FlowSample):
        return item.name, item.path
    return os.path.splitext(os.path.basename(os.fspath(item)))[0], os.fspath(item)


def _gate_one(item, strategy, settings: FlowSettings, fixed: Mapping, collect: set, stats: bool = True) -> _Outcome:
    """Gate one sample (runs in a worker); every assaykit error becomes ``_Outcome.error``."""
    name, file = _item_name(item)
    try:
        sample = _as_sample(item)
        gs = strategy.strategy_for(sample) if isinstance(strategy, Workspace) else strategy
        placer = _Placer(sample, settings.thresholds, settings, fixed.get(sample.name, {}), collect)
        spill = settings.compensation
        nodes = evaluate(sample, gs, spill, adjust=placer if settings.thresholds else None,
                         adjusted=set(placer.by_gate))
        out = _Outcome(sample.name, sample.path, thresholds=placer.records, gates=placer.gates,
                       collected=placer.collected)
        if stats:
            out.stats = population_stats(sample, nodes, markers=tuple(settings.mfi_channels),
                                         pct_of=settings.pct_of, mfi_source=settings.mfi_source, spill=spill)
            if settings.keep_masks:
                out.masks = {nd.path_str: nd.mask for nd in nodes if nd.parent is not None}
        return out
    except AssaykitError as exc:
        return _Outcome(name, file, error=str(exc))


def _read_sheet(sheet) -> pd.DataFrame | None:
    if sheet is None:
        return None
    if isinstance(sheet, (str, os.PathLike)):
        from assaykit.errors import ReaderError

        try:
            sheet = pd.read_csv(sheet, dtype={"sample": str})
        except (OSError, ValueError) as exc:
            raise ReaderError(f"cannot read sample sheet ({exc})", file=os.fspath(sheet)) from None
    if not isinstance(sheet, pd.DataFrame) or "sample" not in sheet.columns:
        raise AnalysisError("sample sheet needs a 'sample' column (file stems)", column="sample",
                            found=", ".join(map(str, getattr(sheet, "columns", []))))
    if sheet["sample"].duplicated().any():
        dup = sheet.loc[sheet["sample"].duplicated(), "sample"].iloc[0]
        raise AnalysisError("sample sheet lists a sample twice", sample=str(dup), column="sample")
    return sheet.assign(sample=sheet["sample"].astype(str))


def _map(fn, items: list, executor: Executor | None, workers: int, progress: bool, desc: str) -> list:
    from tqdm.auto import tqdm

    own = None
    if executor is None and len(items) > 1 and workers != 1:
        own = executor = ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1)
    try:
        it = executor.map(fn, items) if executor is not None else map(fn, items)
        return list(tqdm(it, total=len(items), disable=not progress, desc=desc))
    finally:
        if own is not None:
            own.shutdown()


def _pooled(specs, settings: FlowSettings, sheet: pd.DataFrame | None, first: list[_Outcome]) -> dict:
    """Pass 2's fixed thresholds: ``{sample: {(gate, channel, side): (value, pooled_from, n)}}``."""
    import assaykit.flow.thresholds as th

    names = [o.name for o in first if o.error is None]
    col = settings.group_column
    groups = {n: n for n in names}
    controls: dict[str, str] = {}
    if sheet is not None:
        idx = sheet.set_index("sample")
        if col in idx.columns:
            groups.update({n: str(idx.at[n, col]) for n in names if n in idx.index and pd.notna(idx.at[n, col])})
        cc = settings.control_column
        if cc in idx.columns:
            controls = {n: str(idx.at[n, cc]) for n in names if n in idx.index and pd.notna(idx.at[n, cc]) and str(idx.at[n, cc])}
    got = {o.name: o.collected for o in first if o.error is None}
    fixed: dict[str, dict] = {n: {} for n in names}
    for sp in specs:
        for n in names:
            for key in [k for k in got[n] if k[0] == sp.gate and k[2] == sp.side]:
                if sp.method == "control_quantile":
                    ctl = sp.param("control", None) or controls.get(n)
                    if ctl is None or ctl == n:
                        continue  # no control named: the quantile of the sample's own events
                    if ctl not in got or key not in got[ctl]:
                        raise AnalysisError("control_quantile needs the control sample in the batch", sample=n,
                                            gate=sp.gate, expected=f"a '{settings.control_column}' sample-sheet column or params.control naming a gated sample",
                                            found=repr(ctl))
                    x = got[ctl][key]
                    value, _ = th.place(sp.method, x, side=sp.side, **dict(sp.params))
                    fixed[n][key] = (value, ctl, x.size)
                else:
                    members = sorted(m for m in names if groups[m] == groups[n])
                    x = np.concatenate([got[m][key] for m in members if key in got[m]])
                    value, _ = th.place(sp.method, x, side=sp.side, **dict(sp.params))
                    fixed[n][key] = (value, ",".join(members), x.size)
    return fixed


def gate(samples: Iterable[FlowSample | str | os.PathLike] | None, strategy: Any = None, *,
         settings: FlowSettings | None = None, sample_sheet: pd.DataFrame | str | os.PathLike | None = None,
         executor: Executor | None = None, progress: bool = True) -> GatingResult:
    """Apply one gating strategy to a batch of samples.

    Parameters
    ----------
    samples : iterable of FlowSample or FCS paths, or None
        The samples (paths are read in the workers). None with a FlowJo ``.wsp`` strategy:
        the group's FCS files beside the workspace.
    strategy : str, path, flowkit.GatingStrategy or Workspace, optional
        A shipped template name (``'th_subsets'``), a GatingML 2.0 file, a FlowJo ``.wsp``
        (group from ``settings.group``) or a FlowKit ``GatingStrategy``; default
        ``settings.strategy``.
    settings : FlowSettings, optional
        Compensation, MFI channels, ``pct_of``, data-driven thresholds... (defaults).
    sample_sheet : DataFrame or CSV path, optional
        One row per sample (column ``sample`` = file stem); its columns are joined to
        ``stats`` and name groups (``settings.group_column``) and controls
        (``settings.control_column``).
    executor : concurrent.futures.Executor, optional
        Where samples are gated (default: a process pool when there are several
        samples and ``settings.workers != 1``).
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    GatingResult
        ``stats`` (one row per sample × population), ``errors`` (failed samples),
        ``thresholds`` (data-driven boundaries), ``strategy`` (with per-sample gates),
        ``masks``.

    Raises
    ------
    AssaykitError
        For a strategy that cannot be loaded or settings that are invalid; per-sample
        problems go to ``errors`` instead.
    """
    settings = settings or FlowSettings()
    loaded = load_strategy(settings.strategy if strategy is None else strategy, settings.group)
    _check_threshold_gates(loaded, settings)
    sheet = _read_sheet(sample_sheet)
    errors: list[list] = []
    if samples is None:
        if not isinstance(loaded, Workspace):
            raise AnalysisError("no samples given", expected="FCS files or FlowSample objects")
        missing = dict(loaded.missing_files())
        errors += [[os.path.splitext(s)[0], f, f"{f}: FCS file referenced by the FlowJo workspace is missing"]
                   for s, f in missing.items()]
        base = os.path.dirname(loaded.path)
        samples = [os.path.join(base, s) for s in loaded.sample_ids if s not in missing]
    items = list(samples)
    names = [_item_name(i)[0] for i in items]
    if len(set(names)) != len(names):
        dup = next(n for n in names if names.count(n) > 1)
        raise AnalysisError("two samples have the same name (file stem)", sample=dup)
    cross = [sp for sp in settings.thresholds if sp.method == "control_quantile" or (sp.by or settings.threshold_by) == "group"]
    fixed: dict = {}
    if cross:
        collect = {(sp.gate, None, sp.side) for sp in cross}
        first = _map(partial(_gate_one, strategy=loaded, settings=settings, fixed={}, collect=_AnyChannel(collect),
                             stats=False), items, executor, settings.workers, progress, "flow thresholds (pass 1)")
        fixed = _pooled(cross, settings, sheet, first)
    outcomes = _map(partial(_gate_one, strategy=loaded, settings=settings, fixed=fixed, collect=set()),
                    items, executor, settings.workers, progress, "gating samples")
    return _assemble(outcomes, errors, loaded, settings, sheet)


def _check_threshold_gates(loaded, settings: FlowSettings) -> None:
    """Every ``[[flow.thresholds]]`` gate must be a gate of the strategy (SettingsError otherwise)."""
    if isinstance(loaded, Workspace) or not settings.thresholds:
        return
    from assaykit.errors import SettingsError

    ids = sorted({g for g, _ in loaded.get_gate_ids()})
    for sp in settings.thresholds:
        if sp.gate not in ids:
            raise SettingsError("a threshold names a gate that is not in the strategy", key="thresholds",
                                gate=sp.gate, expected="one of: " + ", ".join(ids))


class _AnyChannel(set):
    """Membership ``(gate, channel, side)`` ignoring the channel (pass 1 collects every placed dimension)."""

    def __contains__(self, key) -> bool:  # type: ignore[override]
        return super().__contains__((key[0], None, key[2]))


def _assemble(outcomes: list[_Outcome], errors: list, loaded, settings: FlowSettings, sheet) -> GatingResult:
    frames, thr, masks = [], [], {}
    gs = loaded.wsp if isinstance(loaded, Workspace) else copy.deepcopy(loaded)
    for o in outcomes:
        if o.error is not None:
            errors.append([o.name, o.file, o.error])
            continue
        frames.append(o.stats)
        thr += o.thresholds
        if o.masks is not None:
            masks[o.name] = o.masks
        if not isinstance(loaded, Workspace):
            for g, path in o.gates:
                gs.add_gate(g, path, sample_id=o.name)
    cols = [*frames[0].columns] if frames else [*_empty_cols(settings)]
    stats = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    if sheet is not None:
        missing = sorted(set(stats["sample"]) - set(sheet["sample"]))
        if missing:
            warnings.warn(f"samples not in the sample sheet (their sheet columns are empty): {', '.join(missing)}",
                          AssaykitWarning, stacklevel=3)
        extra = [c for c in sheet.columns if c == "sample" or c not in stats.columns]
        stats = stats.merge(sheet[extra], on="sample", how="left")
    return GatingResult(stats=stats, errors=pd.DataFrame(errors, columns=list(ERROR_COLUMNS)),
                        thresholds=pd.DataFrame(thr, columns=list(THRESHOLD_COLUMNS)), strategy=gs,
                        settings=settings, masks=masks)


def _empty_cols(settings: FlowSettings) -> list[str]:
    from assaykit.flow._result import STAT_COLUMNS

    return [*STAT_COLUMNS, *mfi_columns(tuple(settings.mfi_channels)), "mfi_flag"]
