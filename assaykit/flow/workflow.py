"""The flow workflow: ``run(samples, settings) -> FlowRunResult`` (used by ``assaykit flow``).

Read → gate (with data-driven thresholds) → tidy tables. The command line only parses its
arguments, reads, calls :func:`run` and writes :meth:`FlowRunResult.tables`, the workbook,
the figures and :meth:`FlowRunResult.gatingml`.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Executor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from assaykit.errors import AnalysisError
from assaykit.events import FlowSample
from assaykit.flow._result import GatingResult
from assaykit.flow.gating import gate
from assaykit.flow.settings import FlowSettings
from assaykit.flow.strategy import Workspace, gatingml_text

__all__ = ["FlowRunResult", "expand_paths", "run"]


@dataclass(frozen=True, eq=False)
class FlowRunResult:
    """Everything one flow run produced.

    Attributes
    ----------
    gating : GatingResult
        Statistics, thresholds, errors, masks and the strategy used.
    settings : FlowSettings
        The settings used.
    samples : tuple of str
        The sample names, in input order (failed ones included).
    """

    gating: GatingResult
    settings: FlowSettings
    samples: tuple[str, ...]

    @property
    def stats(self) -> pd.DataFrame:
        """The population statistics table (``GatingResult.stats``)."""
        return self.gating.stats

    def tables(self) -> dict[str, pd.DataFrame]:
        """Result tables by name: ``stats``, ``thresholds``, ``errors`` (``docs/schemas.md``)."""
        return self.gating.tables()

    def gatingml(self, sample: str | None = None) -> str:
        """GatingML 2.0 of the strategy used (with ``sample``'s data-driven boundaries when given).

        Raises
        ------
        AnalysisError
            For a FlowJo workspace strategy (FlowKit exports GatingStrategy objects only).
        """
        gs = self.gating.strategy
        if isinstance(gs, Workspace) or type(gs).__name__ == "Workspace":
            raise AnalysisError("a FlowJo workspace strategy is not exported as GatingML", key="strategy")
        return gatingml_text(gs, sample=sample)


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[str]:
    """FCS paths with folders expanded to their ``*.fcs`` files.

    Parameters
    ----------
    paths : iterable of path
        Files and folders.

    Returns
    -------
    list of str
        The files in order, each folder replaced by its ``.fcs`` files sorted by name.
    """
    out: list[str] = []
    for p in paths:
        q = Path(p)
        if q.is_dir():
            out += sorted(str(f) for f in q.iterdir() if f.suffix.lower() == ".fcs")
        else:
            out.append(str(q))
    return out


def run(samples: Iterable[FlowSample | str | os.PathLike] | None, settings: FlowSettings | None = None, *,
        strategy=None, sample_sheet: pd.DataFrame | str | os.PathLike | None = None,
        executor: Executor | None = None, progress: bool = True) -> FlowRunResult:
    """Run the flow workflow on a batch.

    Parameters
    ----------
    samples : iterable of FlowSample, FCS paths or folders; or None
        Folders are expanded to their ``.fcs`` files. None with a ``.wsp`` strategy: the
        workspace's FCS files.
    settings : FlowSettings, optional
        From a protocol's ``[flow]`` table, a layout and the command line
        (``FlowSettings.merged``); default settings otherwise.
    strategy : optional
        Overrides ``settings.strategy`` with an object (e.g. a FlowKit ``GatingStrategy``).
    sample_sheet : DataFrame or CSV path, optional
        Joined to the statistics on ``sample``; names groups and controls.
    executor : concurrent.futures.Executor, optional
        Where samples are gated (default: a process pool for several samples).
    progress : bool
        Show progress bars.

    Returns
    -------
    FlowRunResult
    """
    settings = settings or FlowSettings()
    items = None
    if samples is not None:
        items = [s if isinstance(s, FlowSample) else s for s in samples]
        items = [s for part in items for s in ([part] if isinstance(part, FlowSample) else expand_paths([part]))]
    result = gate(items, strategy, settings=settings, sample_sheet=sample_sheet, executor=executor, progress=progress)
    names = tuple(result.stats["sample"].drop_duplicates()) + tuple(result.errors["sample"])
    return FlowRunResult(gating=result, settings=settings, samples=names)
