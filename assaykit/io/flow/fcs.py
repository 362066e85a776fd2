"""FCS 2.0 / 3.0 / 3.1 files → :class:`~assaykit.events.FlowSample` (parsed by flowio via FlowKit).

The events are FlowKit's ``raw`` events (``$PnG`` gain and ``$PnE`` log scaling applied),
so that every downstream number agrees with FlowKit: float32 FCS data that FlowKit's
preprocessing leaves unchanged (no gain, no log decades, no time step) are used as float32
straight from flowio's buffer (no copy); otherwise flowio's preprocessed float64 array is
used (as float32 when that holds every value exactly). The spillover stored in
``$SPILLOVER``, ``$SPILL`` or ``SPILL`` is attached as a :class:`SpillMatrix` built the way
FlowKit builds it for ``compensation_ref="FCS"``.
"""

from __future__ import annotations

import io
import warnings
from pathlib import Path

import numpy as np

from assaykit.errors import AssaykitWarning, ReaderError
from assaykit.events import FlowSample, SpillMatrix
from assaykit.io._registry import register
from assaykit.io._source import Source

__all__ = ["read_fcs_source", "spill_from_text"]

_HEADER_BYTES = 58  # FCS header: version (6) + 4 spaces + 6 offsets of 8 bytes


def _sniff(source: Source) -> bool:
    return source.data[:3] == b"FCS"


def spill_from_text(text: str, where: str | None = None) -> SpillMatrix:
    """Parse a ``$SPILLOVER`` value ``n,det_1..det_n,v_11..v_nn`` into a SpillMatrix."""
    parts = [p.strip() for p in str(text).replace("\n", ",").split(",") if p.strip() != ""]
    try:
        n = int(float(parts[0]))
        names = parts[1:1 + n]
        values = np.array([float(v) for v in parts[1 + n:1 + n + n * n]], dtype=np.float64)
        if n < 1 or len(names) != n or values.size != n * n:
            raise ValueError
    except (ValueError, IndexError):
        raise ReaderError("spillover keyword is malformed", file=where, key="$SPILLOVER",
                          expected="n, n detector names, n×n numbers", found=repr(str(text)[:80])) from None
    return SpillMatrix(tuple(names), values.reshape(n, n), source="$SPILLOVER")


def _spill(fd, meta: dict, where: str) -> SpillMatrix | None:
    """The file's spillover, as FlowKit builds it for compensation_ref='FCS' (else as stored)."""
    text = meta.get("spillover") or meta.get("spill")
    if not text:
        return None
    import flowkit as fk

    stored = spill_from_text(text, where)
    detectors = [fd.pnn_labels[i] for i in fd.fluoro_indices]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = fk.Matrix(text, detectors, null_channels=fd.null_channels)
        if m.matrix.shape == (len(m.detectors), len(m.detectors)):
            return SpillMatrix(tuple(m.detectors), np.asarray(m.matrix, dtype=np.float64), source="$SPILLOVER")
    except Exception:  # FlowKit cannot use it for all fluorescence channels: keep the stored one
        pass
    return stored


def _parse(source: Source, **kw):
    import flowio

    return flowio.FlowData(io.BytesIO(source.data), **kw)


def _open(source: Source):
    if len(source.data) < _HEADER_BYTES:
        raise ReaderError("FCS file is empty or truncated in its header", file=source.name,
                          expected=f"at least {_HEADER_BYTES} header bytes", found=f"{len(source.data)} bytes")
    try:
        return _parse(source)
    except Exception as exc:  # flowio errors: retry the known offset problem once, as FlowKit allows
        first = f"{type(exc).__name__}: {exc}"
    if "offset" in first.lower():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                fd = _parse(source, ignore_offset_error=True)
        except Exception as exc:
            raise ReaderError("cannot read FCS file", file=source.name, found=f"{type(exc).__name__}: {str(exc)[:160]}") from None
        warnings.warn(f"{source.name}: FCS data offsets are inconsistent ({first[:120]}); "
                      "read with FlowKit's ignore_offset_error", AssaykitWarning, stacklevel=3)
        return fd
    raise ReaderError("cannot read FCS file (corrupt or truncated)", file=source.name, found=first[:200])


def _identity_preprocess(fd) -> bool:
    """True when FlowKit's preprocessing (gain, log decades, time step) leaves every value unchanged."""
    step = str(fd.text.get("timestep", "")).strip()
    if fd.time_index is not None and step not in ("", "1", "1.0"):
        try:
            if float(step) != 1.0:
                return False
        except ValueError:
            return False
    return all(ch["pne"][0] == 0 and ch["png"] in (1.0, 0.0) for ch in fd.channels.values())


def _events(fd, where: str) -> np.ndarray:
    """FlowKit's raw events: float32 straight from the file when that is exact, else float64."""
    n_ch = fd.channel_count
    if getattr(fd.events, "typecode", "") == "f" and _identity_preprocess(fd):
        return np.frombuffer(fd.events, dtype=np.float32).reshape(-1, n_ch)
    events = fd.as_array(preprocess=True)  # what flowkit.Sample holds as 'raw'
    small = events.astype(np.float32)
    return small if np.array_equal(small, events) else events


@register("fcs", kind="flow", sniff=_sniff, description="FCS 2.0/3.0/3.1 flow cytometry data (flowio, FlowKit's preprocessing)")
def read_fcs_source(source: Source) -> FlowSample:
    """Read one FCS file into a FlowSample (raises ReaderError naming the file)."""
    fd = _open(source)
    if fd.events is None or fd.event_count == 0 or len(fd.events) == 0:
        raise ReaderError("FCS file holds no events", file=source.name, expected="at least one event",
                          found=f"$TOT={fd.text.get('tot', '?')}")
    try:
        events = _events(fd, source.name)
    except ValueError as exc:
        raise ReaderError("FCS data do not fill whole events", file=source.name, found=str(exc)[:160]) from None
    channels = tuple(str(c) for c in fd.pnn_labels)
    bad = _nonfinite_column(events)
    if bad is not None:
        col, n_bad, first = bad
        raise ReaderError("events hold NaN or infinite values", file=source.name, channel=channels[col],
                          expected="finite numbers", found=f"{n_bad} non-finite value(s), first at event {first + 1}")
    markers = tuple((m or "").strip() for m in fd.pns_labels)
    meta = dict(fd.text)
    spill = _spill(fd, meta, source.name)
    return FlowSample(name=Path(source.name).stem, path=source.name, events=events, channels=channels,
                      markers=markers, spill=spill, metadata=meta)


def _nonfinite_column(events: np.ndarray) -> tuple[int, int, int] | None:
    """(column, count, first event) of the first column holding NaN/inf, checked in chunks."""
    for start in range(0, events.shape[0], 1 << 18):
        blk = events[start:start + (1 << 18)]
        if not np.isfinite(blk).all():
            col = int(np.nonzero(~np.isfinite(blk).all(axis=0))[0][0])
            colv = events[:, col]
            bad = ~np.isfinite(colv)
            return col, int(bad.sum()), int(np.argmax(bad))
    return None
