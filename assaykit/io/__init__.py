"""Readers of instrument exports. Each returns one canonical tidy table.

* :func:`read_plate` — plate readers and bead-assay exports → plate-read table
  (``docs/schemas.md``, "Plate reads").
* :func:`read_qpcr` — qPCR runs → qPCR table ("qPCR wells").
* :func:`read_many` — many files, with a progress bar, optionally on an executor.

The format is detected from the content; pass ``format=`` to force one.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from concurrent.futures import Executor
from functools import partial

import numpy as np
import pandas as pd

from assaykit.errors import ReaderError
from assaykit.io._source import Source
from assaykit.kinds import (
    KindSpec,
    ReaderSpec,
    formats_table,
    kinds,
    read,
    register,
    register_kind,
)
from assaykit.schema import validate_plate_table, validate_qpcr_table

__all__ = [
    "KindSpec",
    "ReaderSpec",
    "Source",
    "formats",
    "kinds",
    "read",
    "read_many",
    "read_plate",
    "read_qpcr",
    "register",
    "register_kind",
]

# The kinds of data assaykit reads: one registration each (docs/architecture.md).
register_kind("plate", package="assaykit.io.plate", validate=validate_plate_table,
              description="plate readers and bead assays: one row per plate × well × read × metric")
register_kind("qpcr", package="assaykit.io.qpcr", validate=validate_qpcr_table,
              description="qPCR runs: one row per plate × well × target")
register_kind("flow", package="assaykit.io.flow", tabular=False,
              description="flow cytometry FCS files: one FlowSample (events, channels, markers, spill) per file")


def _read(kind: str, path, format: str | None) -> pd.DataFrame:
    return read(path, kind, format)


def read_plate(path: str | os.PathLike | Source, format: str | None = None) -> pd.DataFrame:
    """Read a plate-reader or bead-assay export into the canonical plate-read table.

    Parameters
    ----------
    path : str, path-like or Source
        The export.
    format : str, optional
        Force a format (see :func:`formats`); by default it is detected from the content.

    Returns
    -------
    pandas.DataFrame
        One row per plate × well × read × metric: ``plate, well, well0, row, col, read,
        metric, value, raw, flag, source_file`` (``docs/schemas.md``). ``df.attrs['format']``
        names the reader used.

    Raises
    ------
    ReaderError
        If the file cannot be read; :class:`FormatDetectionError` if no reader recognises it.

    Examples
    --------
    >>> from assaykit.datasets import path
    >>> df = read_plate(path("elisa_il6_gen5.txt"))  # doctest: +SKIP
    """
    return _read("plate", path, format)


def read_qpcr(path: str | os.PathLike | Source, format: str | None = None) -> pd.DataFrame:
    """Read a qPCR run export into the canonical qPCR table.

    Parameters
    ----------
    path : str, path-like or Source
        The export (QuantStudio/ViiA 7 txt or xlsx, Design & Analysis xlsx, StepOnePlus xls,
        SDS 2.x, CFX CSV, LightCycler 480 text, Rotor-Gene CSV, RDML).
    format : str, optional
        Force a format (see :func:`formats`); by default it is detected from the content.

    Returns
    -------
    pandas.DataFrame
        One row per plate × well × target (``docs/schemas.md``, "qPCR wells").
    """
    return _read("qpcr", path, format)


def read_many(
    paths: Iterable[str | os.PathLike],
    *,
    kind: str = "plate",
    format: str | None = None,
    executor: Executor | None = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Read many exports into one table, with a progress bar.

    Parameters
    ----------
    paths : iterable of path
        The exports.
    kind : {'plate', 'qpcr'}
        Which reader family to use.
    format : str, optional
        Force one format for all files.
    executor : concurrent.futures.Executor, optional
        Run the reads on this executor (a ``ProcessPoolExecutor``, or a
        ``dask.distributed.Client.get_executor()``); default: in this process.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    pandas.DataFrame
        The tables concatenated in the order of ``paths``. Plate names stay as read
        unless two files give the same plate name (e.g. ``'1'`` in two QuantStudio
        exports): then every plate is renamed after its file, as ``assaykit read`` and
        ``assaykit qpcr`` do with several exports: ``<file stem>``, or
        ``<file stem>/<plate>`` for a file holding several plates.

    Raises
    ------
    ReaderError
        From the readers, or if plates still share a name after renaming (two files
        with the same name in different folders).
    """
    from tqdm.auto import tqdm

    paths = list(paths)
    fn = partial(_read, kind, format=format)
    it = executor.map(fn, paths) if executor is not None else map(fn, paths)
    frames = list(tqdm(it, total=len(paths), disable=not progress, desc=f"reading {kind} exports"))
    if not frames:
        return pd.DataFrame(columns=[])
    out = pd.concat(frames, ignore_index=True)
    names = [f["plate"].unique() for f in frames]
    if sum(len(n) for n in names) != len(set().union(*names)):
        owner: dict[str, str] = {}
        parts = []
        for path, f, plates in zip(paths, frames, names, strict=True):
            where = path.name if isinstance(path, Source) else os.fspath(path)
            stem = os.path.splitext(os.path.basename(where))[0]
            new = [stem] if len(plates) == 1 else [f"{stem}/{p}" for p in plates]
            for name in new:
                if name in owner:
                    raise ReaderError(
                        "two exports give the same plate name after renaming plates after their files",
                        file=where,
                        plate=name,
                        expected="exports with distinct file names",
                        found=f"also from {owner[name]}",
                    )
                owner[name] = where
            if len(plates) == 1:
                parts.append(np.full(len(f), stem, dtype=object))
            else:
                parts.append(f["plate"].map(dict(zip(plates, new, strict=True))).to_numpy(dtype=object))
        out["plate"] = np.concatenate(parts)
    return out


def formats(kind: str = "plate") -> pd.DataFrame:
    """Table of the supported formats of one kind: ``format``, ``description``."""
    return formats_table(kind)

