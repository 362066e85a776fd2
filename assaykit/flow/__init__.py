"""Flow cytometry: FCS samples → compensation, transforms, gating → tidy population statistics.

Pure functions from :class:`~assaykit.events.FlowSample` objects to frozen results; built on
FlowKit (GatingML 2.0, FlowJo workspaces, transforms) with a fast gating path whose event
membership is exactly FlowKit's.

Public API
----------
read_fcs(paths) -> list[FlowSample]
    One sample per FCS file (2.0/3.0/3.1), ``name`` = file stem; the spillover in
    ``$SPILLOVER``/``$SPILL``/``SPILL`` is found; raises ReaderError naming the file.
gate(samples, strategy=..., settings=..., sample_sheet=..., executor=...) -> GatingResult
    Apply a gating strategy (GatingML 2.0 path, FlowJo ``.wsp`` path + group, a FlowKit
    ``GatingStrategy`` or a shipped template name such as ``'th_subsets'``) to a batch;
    ``.stats`` has one row per sample × population (``docs/schemas.md``), ``.errors`` lists
    the samples that failed, ``.thresholds`` the data-driven boundaries placed.
compensate(sample, spill='file') -> ndarray
    Compensated events (FlowKit's arithmetic).
logicle, asinh, hyperlog, biex, linear, log, default_transforms
    Transforms (FlowKit objects: ``.apply``/``.inverse``) and FlowJo-like defaults.
thresholds
    Data-driven boundaries: ``density_valley``, ``tail``, ``control_quantile``,
    ``mixture``, ``singlet_polygon`` (:mod:`assaykit.flow.thresholds`).
workflow.run(samples, settings) -> FlowRunResult
    The workflow used by ``assaykit flow``.
FlowSettings
    The options (``[flow]`` table of a protocol).
"""

from __future__ import annotations

import os
from collections.abc import Iterable

from assaykit.events import FlowSample, SpillMatrix
from assaykit.flow import thresholds, workflow
from assaykit.flow._result import GatingResult
from assaykit.flow.compensation import compensate, read_spill_csv
from assaykit.flow.gating import gate
from assaykit.flow.settings import FlowSettings, ThresholdSpec
from assaykit.flow.strategy import dimension_values, export_gatingml, load_strategy
from assaykit.flow.transforms import asinh, biex, default_transforms, hyperlog, linear, log, logicle

__all__ = [
    "FlowSample",
    "FlowSettings",
    "GatingResult",
    "SpillMatrix",
    "ThresholdSpec",
    "asinh",
    "biex",
    "compensate",
    "default_transforms",
    "dimension_values",
    "export_gatingml",
    "gate",
    "hyperlog",
    "linear",
    "load_strategy",
    "log",
    "logicle",
    "read_fcs",
    "read_spill_csv",
    "thresholds",
    "workflow",
]


def read_fcs(paths: str | os.PathLike | Iterable[str | os.PathLike]) -> list[FlowSample]:
    """Read FCS files (2.0, 3.0, 3.1) into samples.

    Parameters
    ----------
    paths : path or iterable of paths
        FCS files (a single path gives a one-element list).

    Returns
    -------
    list of FlowSample
        One per file, in order; ``name`` is the file stem, ``events`` the raw
        (uncompensated, untransformed) values, ``spill`` the stored spillover or None.

    Raises
    ------
    ReaderError
        Naming the file, when it is empty, truncated, corrupt or holds NaN/inf events
        (naming the channel). FlowKit's data-offset retry is used with an AssaykitWarning.
    """
    from assaykit.kinds import read

    if isinstance(paths, (str, os.PathLike)):
        paths = [paths]
    return [read(p, "flow") for p in paths]
