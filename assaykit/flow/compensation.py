"""Compensation: spillover from the file, a CSV matrix or a workspace, FlowKit's arithmetic."""

from __future__ import annotations

import os

import numpy as np

from assaykit.events import FlowSample, SpillMatrix

__all__ = ["compensate", "read_spill_csv", "resolve_spill"]


def read_spill_csv(path: str | os.PathLike) -> SpillMatrix:
    """Read a spillover matrix from a CSV file (header row of detector names)."""
    raise NotImplementedError


def resolve_spill(sample: FlowSample, spill: str | os.PathLike | SpillMatrix | None = "file") -> SpillMatrix | None:
    """The spillover to use for ``sample``: ``'file'``, ``'none'``/None, a CSV path or a SpillMatrix."""
    raise NotImplementedError


def compensate(sample: FlowSample, spill: str | os.PathLike | SpillMatrix | None = "file",
               rows: np.ndarray | None = None) -> np.ndarray:
    """Compensated events of ``sample`` (all channels; non-detector columns unchanged).

    Uses FlowKit's arithmetic (``numpy.linalg.solve(S.T, X.T).T``), so values are
    bit-identical to ``flowkit.Matrix.apply``.
    """
    raise NotImplementedError
