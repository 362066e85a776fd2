"""FCS 2.0 / 3.0 / 3.1 files → :class:`~assaykit.events.FlowSample` (parsed by flowio via FlowKit).

The events are FlowKit's ``raw`` events (``$PnG`` gain and ``$PnE`` log scaling applied),
so that every downstream number agrees with FlowKit; they are kept as float32 when that
holds every value exactly (float32 FCS data without scaling) and as float64 otherwise. The spillover stored in
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


def _spill(fk_sample, meta: dict, where: str) -> SpillMatrix | None:
    """The file's spillover, as FlowKit builds it for compensation_ref='FCS' (else as stored)."""
    text = meta.get("spillover") or meta.get("spill")
    if not text:
        return None
    import flowkit as fk

    stored = spill_from_text(text, where)
    detectors = [fk_sample.pnn_labels[i] for i in fk_sample.fluoro_indices]
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            m = fk.Matrix(text, detectors, null_channels=fk_sample.null_channels)
        if m.matrix.shape == (len(m.detectors), len(m.detectors)):
            return SpillMatrix(tuple(m.detectors), np.asarray(m.matrix, dtype=np.float64), source="$SPILLOVER")
    except Exception:  # FlowKit cannot use it for all fluorescence channels: keep the stored one
        pass
    return stored


def _open(source: Source):
    import flowkit as fk

    stem = Path(source.name).stem
    if len(source.data) < _HEADER_BYTES:
        raise ReaderError("FCS file is empty or truncated in its header", file=source.name,
                          expected=f"at least {_HEADER_BYTES} header bytes", found=f"{len(source.data)} bytes")
    try:
        return fk.Sample(io.BytesIO(source.data), sample_id=stem, subsample=0)
    except Exception as exc:  # flowio/FlowKit errors: retry the known offset problem once
        first = f"{type(exc).__name__}: {exc}"
    if "offset" in first.lower():
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                s = fk.Sample(io.BytesIO(source.data), sample_id=stem, subsample=0, ignore_offset_error=True)
        except Exception as exc:
            raise ReaderError("cannot read FCS file", file=source.name, found=f"{type(exc).__name__}: {str(exc)[:160]}") from None
        warnings.warn(f"{source.name}: FCS data offsets are inconsistent ({first[:120]}); "
                      "read with FlowKit's ignore_offset_error", AssaykitWarning, stacklevel=3)
        return s
    raise ReaderError("cannot read FCS file (corrupt or truncated)", file=source.name, found=first[:200])


@register("fcs", kind="flow", sniff=_sniff, description="FCS 2.0/3.0/3.1 flow cytometry data (flowio via FlowKit)")
def read_fcs_source(source: Source) -> FlowSample:
    """Read one FCS file into a FlowSample (raises ReaderError naming the file)."""
    s = _open(source)
    events = s.get_events(source="raw")
    if events.ndim != 2 or events.shape[0] == 0:
        raise ReaderError("FCS file holds no events", file=source.name, expected="at least one event",
                          found=f"$TOT={s.metadata.get('tot', '?')}")
    channels = tuple(str(c) for c in s.pnn_labels)
    bad = ~np.isfinite(events)
    if bad.any():
        col = int(np.nonzero(bad.any(axis=0))[0][0])
        n_bad = int(bad[:, col].sum())
        raise ReaderError("events hold NaN or infinite values", file=source.name, channel=channels[col],
                          expected="finite numbers", found=f"{n_bad} non-finite value(s), first at event {int(np.argmax(bad[:, col])) + 1}")
    small = events.astype(np.float32)
    if np.array_equal(small, events):  # typical float32 FCS data: half the memory, same values
        events = small
    del small
    markers = tuple((m or "").strip() for m in s.pns_labels)
    meta = dict(s.metadata)
    spill = _spill(s, meta, source.name)
    return FlowSample(name=Path(source.name).stem, path=source.name, events=events, channels=channels,
                      markers=markers, spill=spill, metadata=meta)
