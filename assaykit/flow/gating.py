"""The fast exact gating engine and :func:`gate`."""

from __future__ import annotations

__all__ = ["gate"]


def gate(samples, strategy=None, *, settings=None, sample_sheet=None, executor=None, progress: bool = True):
    """Apply a gating strategy to a batch of samples (see :mod:`assaykit.flow`)."""
    raise NotImplementedError
