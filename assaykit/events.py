"""Neutral core types of event data (flow cytometry): :class:`FlowSample` and :class:`SpillMatrix`.

These are the canonical objects of the kind ``"flow"``: the FCS reader
(``assaykit.io.flow``) returns one :class:`FlowSample` per file, and the flow analysis
(``assaykit.flow``) takes them as input. Both sides import this module; it imports
neither of them.

Examples
--------
>>> import numpy as np
>>> s = FlowSample("tube1", None, np.zeros((3, 2)), ("FSC-A", "B515-A"), ("", "CD4"))
>>> s.channel("CD4"), s.channel("FSC-A")
(1, 0)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from assaykit.errors import AnalysisError

__all__ = ["FlowSample", "SpillMatrix"]


def _readonly(values: Any, dtype=np.float64) -> np.ndarray:
    arr = np.array(values, dtype=dtype, copy=True) if not isinstance(values, np.ndarray) else values
    if arr.flags.writeable:
        arr = arr.view()
        arr.flags.writeable = False
    return arr


@dataclass(frozen=True, eq=False)
class SpillMatrix:
    """A spillover matrix (rows: the fluorochrome stained, columns: the detectors).

    Parameters
    ----------
    detectors : tuple of str
        Channel names (PnN) of the detectors, in the order of the matrix rows and columns.
    matrix : numpy.ndarray
        Square float array; entry ``[i, j]`` is the fraction of fluorochrome *i*'s signal
        seen in detector *j* (1 on the diagonal). Stored read-only.
    source : str
        Where it came from (``'$SPILLOVER'``, a CSV file name, ``'workspace'``...).
    """

    detectors: tuple[str, ...]
    matrix: np.ndarray
    source: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "detectors", tuple(str(d) for d in self.detectors))
        m = np.array(self.matrix, dtype=np.float64, copy=True)
        if m.ndim != 2 or m.shape[0] != m.shape[1] or m.shape[0] != len(self.detectors):
            raise AnalysisError(
                "spillover matrix is not square with one row per detector",
                expected=f"{len(self.detectors)}×{len(self.detectors)}",
                found="×".join(map(str, m.shape)),
            )
        m.flags.writeable = False
        object.__setattr__(self, "matrix", m)


@dataclass(frozen=True, eq=False)
class FlowSample:
    """One FCS file's events and keywords, as read (no compensation, no transform).

    Parameters
    ----------
    name : str
        The sample name: the file stem (``tube_01`` for ``tube_01.fcs``); the key of
        ``sample`` columns and sample sheets.
    path : str or None
        The file read (None for samples built in memory).
    events : numpy.ndarray
        ``n_events × n_channels`` array of the raw values, i.e. FlowKit's
        ``get_events(source='raw')`` (``$PnG`` gain and ``$PnE`` log scaling applied, not
        compensated, not transformed): float64, or float32 when that holds every value
        exactly (the reader's choice for float32 FCS data; half the memory). Analyses
        compute in float64. Stored read-only.
    channels : tuple of str
        Channel names (``$PnN``), in column order.
    markers : tuple of str
        Marker labels (``$PnS``), ``''`` when absent; same length as ``channels``.
    spill : SpillMatrix or None
        The spillover stored in the file (``$SPILLOVER``, ``$SPILL`` or ``SPILL``).
    metadata : mapping
        The file's keywords (lower-case keys without ``$``, as flowio gives them), read-only.

    Notes
    -----
    Channel lookups (:meth:`channel`) accept a channel name or a marker label, exactly or
    ignoring case, so that a template can name ``CD4`` while the file names ``B515-A``.
    """

    name: str
    path: str | None
    events: np.ndarray
    channels: tuple[str, ...]
    markers: tuple[str, ...] = ()
    spill: SpillMatrix | None = None
    metadata: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        ev = np.asarray(self.events)
        if ev.dtype != np.float64 and ev.dtype != np.float32:
            ev = ev.astype(np.float64)
        if ev.ndim != 2:
            raise AnalysisError("events must be a 2-D array (events × channels)", sample=self.name,
                                found=f"{ev.ndim}-D")
        object.__setattr__(self, "events", _readonly(ev))
        channels = tuple(str(c) for c in self.channels)
        markers = tuple(str(m or "") for m in self.markers) or ("",) * len(channels)
        if len(channels) != ev.shape[1] or len(markers) != len(channels):
            raise AnalysisError(
                "channel names do not match the event columns",
                sample=self.name,
                expected=f"{ev.shape[1]} channel names and markers",
                found=f"{len(channels)} names, {len(markers)} markers",
            )
        object.__setattr__(self, "channels", channels)
        object.__setattr__(self, "markers", markers)
        object.__setattr__(self, "metadata", MappingProxyType(dict(self.metadata)))

    def __reduce__(self):  # picklable for process pools and dask (the read-only mapping is rebuilt)
        return (FlowSample, (self.name, self.path, np.asarray(self.events), self.channels, self.markers,
                             self.spill, dict(self.metadata)))

    @property
    def n_events(self) -> int:
        """Number of events."""
        return int(self.events.shape[0])

    def channel(self, name_or_marker: str) -> int:
        """Column index of a channel given by its name (PnN) or its marker label (PnS).

        An exact PnN match wins, then an exact PnS match, then case-insensitive matches.

        Raises
        ------
        AnalysisError
            Naming the sample and the channel, listing the available channels and
            markers, when nothing matches (or a marker matches several channels).
        """
        key = str(name_or_marker)
        for labels in (self.channels, self.markers):
            hits = [i for i, v in enumerate(labels) if v == key]
            if len(hits) == 1:
                return hits[0]
        low = key.casefold()
        for labels in (self.channels, self.markers):
            hits = [i for i, v in enumerate(labels) if v and v.casefold() == low]
            if len(hits) == 1:
                return hits[0]
            if len(hits) > 1:
                raise AnalysisError("channel name is ambiguous", file=self.path, sample=self.name,
                                    channel=key, found=", ".join(self.channels[i] for i in hits))
        listed = ", ".join(c if not m else f"{c} ({m})" for c, m in zip(self.channels, self.markers, strict=True))
        raise AnalysisError("channel not found in sample", file=self.path, sample=self.name, channel=key,
                            expected=f"one of: {listed}")

    def label(self, index: int) -> str:
        """The marker label of column ``index``, or its channel name when it has none."""
        return self.markers[index] or self.channels[index]
