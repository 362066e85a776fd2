"""Gating strategies: shipped templates, GatingML 2.0 files, FlowJo workspaces, FlowKit objects.

A strategy is a FlowKit ``GatingStrategy`` (FlowKit parses GatingML and ``.wsp``; nothing is
re-implemented here). A FlowJo workspace holds one strategy per sample: :class:`Workspace`
keeps the parsed workspace and gives each sample's strategy by file stem.

Shipped templates are GatingML files in ``protocols/`` named ``flow_<name>.xml``
(``'th_subsets'`` → ``protocols/flow_th_subsets.xml``).
"""

from __future__ import annotations

import io
import os
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from assaykit.errors import AnalysisError, ProtocolError, ReaderError
from assaykit.events import FlowSample

__all__ = ["Workspace", "dimension_values", "export_gatingml", "load_strategy", "template_path"]


def template_path(name: str) -> Path:
    """The GatingML file of a shipped template (``'th_subsets'`` → ``protocols/flow_th_subsets.xml``)."""
    from assaykit.protocols import PROTOCOL_DIR

    stem = name[:-4] if name.endswith(".xml") else name
    for cand in (PROTOCOL_DIR / f"flow_{stem}.xml", PROTOCOL_DIR / f"{stem}.xml"):
        if cand.is_file():
            return cand
    known = sorted(p.stem.removeprefix("flow_") for p in PROTOCOL_DIR.glob("flow_*.xml"))
    raise ProtocolError("unknown gating template", key="strategy", expected="a GatingML/.wsp file or one of: " + ", ".join(known),
                        found=repr(name))


@dataclass(frozen=True, eq=False)
class Workspace:
    """A parsed FlowJo workspace: one gating strategy per sample of a group.

    Attributes
    ----------
    path : str
        The ``.wsp`` file.
    group : str
        The sample group used.
    sample_ids : tuple of str
        The workspace's sample ids (FCS file names) in that group.
    """

    path: str
    group: str
    sample_ids: tuple[str, ...]
    wsp: Any

    def strategy_for(self, sample: FlowSample):
        """The strategy of the workspace sample whose file stem (or ``$FIL``) is ``sample.name``."""
        sid = self.sample_id(sample)
        return self.wsp.get_gating_strategy(sid)

    def sample_id(self, sample: FlowSample) -> str:
        """The workspace sample id matching ``sample`` (AnalysisError naming both when none does)."""
        fil = str(sample.metadata.get("fil", ""))
        for sid in self.sample_ids:
            if Path(sid).stem == sample.name or sid == sample.name or (fil and sid == fil):
                return sid
        raise AnalysisError("sample is not in the FlowJo workspace group", file=self.path, sample=sample.name,
                            expected=f"one of group {self.group!r}: " + ", ".join(self.sample_ids))

    def missing_files(self, folder: str | os.PathLike | None = None) -> list[tuple[str, str]]:
        """``(sample id, expected path)`` of the group's FCS files absent beside the workspace."""
        base = Path(folder) if folder is not None else Path(self.path).parent
        return [(sid, str(base / sid)) for sid in self.sample_ids if not (base / sid).is_file()]


def _load_wsp(path: str, group: str | None) -> Workspace:
    import flowkit as fk

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            wsp = fk.Workspace(path, load_missing_file_data=True)
    except Exception as exc:
        raise ReaderError("FlowKit cannot parse this FlowJo workspace", file=path,
                          found=f"{type(exc).__name__}: {str(exc)[:200]}") from None
    groups = list(wsp.get_sample_groups())
    group = group or "All Samples"
    if group not in groups:
        raise AnalysisError("no such sample group in the FlowJo workspace", file=path, key="group",
                            expected="one of: " + ", ".join(groups), found=repr(group))
    ids = tuple(wsp.get_sample_ids(group_name=group, loaded_only=False))
    return Workspace(path, group, ids, wsp)


def load_strategy(strategy: Any, group: str | None = None):
    """Resolve a strategy given in any accepted form.

    Parameters
    ----------
    strategy : str, path, flowkit.GatingStrategy or Workspace
        A shipped template name (``'th_subsets'``), a GatingML 2.0 file, a FlowJo ``.wsp``
        file, or a FlowKit ``GatingStrategy`` (used as is).
    group : str, optional
        For a ``.wsp``: the sample group (default ``'All Samples'``).

    Returns
    -------
    flowkit.GatingStrategy or Workspace
        A workspace gives one strategy per sample (:meth:`Workspace.strategy_for`).

    Raises
    ------
    ReaderError
        Naming the file when FlowKit cannot parse it.
    ProtocolError
        For an unknown template name.
    """
    import flowkit as fk

    if isinstance(strategy, (fk.GatingStrategy, Workspace)):
        return strategy
    if not isinstance(strategy, (str, os.PathLike)):
        raise AnalysisError("strategy must be a template name, a GatingML/.wsp path or a flowkit.GatingStrategy",
                            key="strategy", found=type(strategy).__name__)
    p = Path(strategy)
    if not p.is_file():
        if p.suffix.lower() in (".xml", ".wsp") or os.sep in str(strategy):
            raise ReaderError("gating strategy file not found", file=str(strategy))
        p = template_path(str(strategy))
    head = p.read_bytes()[:4000].decode("utf-8", "replace")
    if p.suffix.lower() == ".wsp" or "<Workspace" in head:
        return _load_wsp(str(p), group)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fk.parse_gating_xml(str(p))
    except Exception as exc:
        raise ReaderError("FlowKit cannot parse this GatingML 2.0 file (gate ids must be valid XML NCNames)",
                          file=str(p), found=f"{type(exc).__name__}: {str(exc)[:200]}") from None


def export_gatingml(strategy, path_or_handle, sample: str | None = None) -> None:
    """Write a strategy as GatingML 2.0 (FlowKit's exporter).

    Parameters
    ----------
    strategy : flowkit.GatingStrategy
    path_or_handle : path or text/binary file handle
        Written as UTF-8.
    sample : str, optional
        Write this sample's custom gates (its data-driven boundaries) instead of the template's.
    """
    import flowkit as fk

    if isinstance(path_or_handle, (str, os.PathLike)):
        with open(path_or_handle, "wb") as fh:
            fk.export_gatingml(strategy, fh, sample_id=sample)
    elif isinstance(path_or_handle, io.TextIOBase):
        buf = io.BytesIO()
        fk.export_gatingml(strategy, buf, sample_id=sample)
        path_or_handle.write(buf.getvalue().decode("utf-8"))
    else:
        fk.export_gatingml(strategy, path_or_handle, sample_id=sample)


def gatingml_text(strategy, sample: str | None = None) -> str:
    """The GatingML 2.0 document of a strategy, as text."""
    buf = io.StringIO()
    export_gatingml(strategy, buf, sample=sample)
    return buf.getvalue()


def dimension_values(sample: FlowSample, strategy, gate_id: str, spill="file",
                     gate_path: tuple[str, ...] | None = None) -> tuple[np.ndarray, list[str]]:
    """Compensated and transformed values of one gate's dimensions for all events (for figures).

    Parameters
    ----------
    sample : FlowSample
    strategy : flowkit.GatingStrategy or anything :func:`load_strategy` accepts
    gate_id : str
        The gate whose dimensions are wanted.
    spill : 'file', 'none' or SpillMatrix
        Meaning of ``compensation_ref="FCS"``.
    gate_path : tuple of str, optional
        Ancestors of the gate when its id is ambiguous.

    Returns
    -------
    values : numpy.ndarray
        ``n_events × n_dims`` float64, exactly the values the gate is tested on.
    labels : list of str
        Dimension ids (channel names or markers as the strategy names them).
    """
    from assaykit.flow._engine import Node, _Evaluator

    gs = load_strategy(strategy)
    if isinstance(gs, Workspace):
        gs = gs.strategy_for(sample)
    g = gs.get_gate(gate_id, gate_path, sample_id=sample.name)
    ev = _Evaluator(sample, gs, spill)
    root = Node("root", (), None, "root", rows=None, count=sample.n_events)
    comp_ref = ev.gate_comp_ref(g, gate_id)
    cols, labels = [], []
    for dim in g.dimensions:
        cols.append(ev.dim_values(dim, comp_ref, root, gate_id))
        labels.append(getattr(dim, "id", None) or getattr(dim, "dimension_ref", None) or dim.ratio_ref)
    return np.column_stack(cols) if cols else np.empty((sample.n_events, 0)), labels
