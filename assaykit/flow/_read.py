"""Reading FCS files for the flow analysis (through the kinds registry: no reader import)."""

from __future__ import annotations

import os
from collections.abc import Iterable

from assaykit.events import FlowSample

__all__ = ["read_fcs"]


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
