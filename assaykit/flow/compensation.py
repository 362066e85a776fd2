"""Compensation: spillover from the file, a CSV matrix or a workspace, with FlowKit's arithmetic.

The compensated values are ``numpy.linalg.solve(S.T, X.T).T`` over the detector columns,
the same call FlowKit makes (``flowutils.compensate.compensate``), so the numbers are
bit-identical to ``flowkit.Matrix.apply``. LAPACK takes another code path for very few
rows (one right-hand side), so row subsets smaller than :data:`MIN_ROWS` are padded.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from assaykit.errors import AnalysisError, ReaderError
from assaykit.events import FlowSample, SpillMatrix

__all__ = ["MIN_ROWS", "compensate", "compensate_rows", "read_spill_csv", "resolve_spill"]

#: Row subsets are padded to at least this many rows so that LAPACK's blocked path is taken.
MIN_ROWS = 64


def read_spill_csv(path: str | os.PathLike) -> SpillMatrix:
    """Read a spillover matrix from a CSV/TSV file.

    Parameters
    ----------
    path : path
        Text file whose first row names the detectors (PnN) and whose next rows hold the
        matrix (one row per fluorochrome, in the detectors' order); a leading row-label
        column is ignored.

    Returns
    -------
    SpillMatrix

    Raises
    ------
    ReaderError
        Naming the file when it is not a square numeric matrix with a header.
    """
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise ReaderError(f"cannot read spillover file ({exc.strerror})", file=str(path)) from None
    sep = "\t" if "\t" in text.splitlines()[0] else ","
    rows = [[c.strip().strip('"') for c in ln.split(sep)] for ln in text.splitlines() if ln.strip()]
    if len(rows) < 2:
        raise ReaderError("spillover file has no matrix", file=str(path), expected="a header row and matrix rows")
    header = [c for c in rows[0] if c != ""]
    n = len(header)
    values = []
    for i, r in enumerate(rows[1:], start=2):
        cells = r[-n:] if len(r) >= n else r
        try:
            values.append([float(c) for c in cells])
        except ValueError:
            raise ReaderError("spillover matrix holds a non-number", file=str(path), line=i, found=repr(r)) from None
    m = np.array(values, dtype=np.float64)
    if m.shape != (n, n):
        raise ReaderError("spillover matrix is not square with one column per detector", file=str(path),
                          expected=f"{n}×{n}", found="×".join(map(str, m.shape)))
    return SpillMatrix(tuple(header), m, source=p.name)


def resolve_spill(sample: FlowSample, spill: str | os.PathLike | SpillMatrix | None = "file") -> SpillMatrix | None:
    """The spillover to use for ``sample``.

    Parameters
    ----------
    sample : FlowSample
    spill : 'file', 'none', None, path or SpillMatrix
        ``'file'``: the one stored in the FCS keywords (None when there is none);
        ``'none'``/None: no compensation; a path: a CSV matrix (:func:`read_spill_csv`).

    Raises
    ------
    AnalysisError
        Naming the sample and the channel when a detector of the matrix is not a channel
        of the sample.
    """
    if spill is None or (isinstance(spill, str) and spill.lower() == "none"):
        return None
    if isinstance(spill, str) and spill.lower() == "file":
        m = sample.spill
    elif isinstance(spill, SpillMatrix):
        m = spill
    else:
        m = read_spill_csv(spill)
    if m is not None:
        for d in m.detectors:
            if d not in sample.channels:
                raise AnalysisError("spillover detector is not a channel of the sample", file=sample.path,
                                    sample=sample.name, channel=d, expected="detectors among: " + ", ".join(sample.channels),
                                    found=f"matrix from {m.source or 'the caller'}")
    return m


def compensate_rows(events: np.ndarray, spill: SpillMatrix, indices: list[int], rows: np.ndarray | None = None) -> np.ndarray:
    """Compensated detector columns (``len(rows) × len(indices)``) of some rows, FlowKit's arithmetic."""
    x = events[:, indices] if rows is None else events[rows][:, indices]
    x = np.asarray(x, dtype=np.float64)  # float32 events hold the same values exactly
    n = x.shape[0]
    if n < MIN_ROWS:
        x = np.vstack([x, np.ones((MIN_ROWS - n, x.shape[1]))])
    out = np.linalg.solve(spill.matrix.T, x.T).T
    return out[:n] if n < MIN_ROWS else out


def compensate(sample: FlowSample, spill: str | os.PathLike | SpillMatrix | None = "file",
               rows: np.ndarray | None = None) -> np.ndarray:
    """Compensated events of ``sample``.

    Parameters
    ----------
    sample : FlowSample
    spill : 'file', 'none', None, path or SpillMatrix
        See :func:`resolve_spill`.
    rows : integer array, optional
        Only these events (default: all).

    Returns
    -------
    numpy.ndarray
        A new float64 array with every channel (non-detector columns unchanged);
        bit-identical to ``flowkit.Matrix.apply``.
    """
    m = resolve_spill(sample, spill)
    data = np.array(sample.events if rows is None else sample.events[rows], dtype=np.float64, copy=True)
    if m is None:
        return data
    idx = [sample.channels.index(d) for d in m.detectors]
    data[:, idx] = compensate_rows(data, m, idx)
    return data
