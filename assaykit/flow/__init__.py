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

from assaykit.events import FlowSample, SpillMatrix
from assaykit.flow import thresholds, workflow
from assaykit.flow._read import read_fcs
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
