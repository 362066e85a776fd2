"""Readers of instrument exports. Each returns one canonical tidy table.

* :func:`read_plate` — plate readers and bead-assay exports → plate-read table
  (``docs/schemas.md``, "Plate reads").
* :func:`read_qpcr` — qPCR runs → qPCR table ("qPCR wells").
* :func:`read_many` — many files, with a progress bar, optionally on an executor.

The format is detected from the content; pass ``format=`` to force one.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterable
from concurrent.futures import Executor
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from assaykit.errors import ReaderError
from assaykit.images import validate_blot_image
from assaykit.io._source import Source
from assaykit.kinds import (
    KindSpec,
    ReaderSpec,
    formats_table,
    get_kind,
    kinds,
    read,
    register,
    register_kind,
)
from assaykit.schema import validate_blot_bands, validate_plate_table, validate_qpcr_table

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
register_kind("plate", package="assaykit.io.plate", validate=validate_plate_table, sheet="reads",
              description="plate readers and bead assays: one row per plate × well × read × metric")
register_kind("qpcr", package="assaykit.io.qpcr", validate=validate_qpcr_table, sheet="wells",
              description="qPCR runs: one row per plate × well × target")
register_kind("blot_image", package="assaykit.io.blot", validate=validate_blot_image, tabular=False,
              description="blot and gel images (TIFF, PNG): one greyscale BlotImage per file")
register_kind("blot_bands", package="assaykit.io.blot", validate=validate_blot_bands, tabular=False,
              description="band tables of ImageJ, Image Lab, Image Studio: one row per image × lane × band")
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


RENAME_MODES: tuple[str, ...] = ("auto", "files", "none")


def read_many(
    paths: Iterable[str | os.PathLike | Source],
    *,
    kind: str = "plate",
    format: str | None = None,
    executor: Executor | None = None,
    progress: bool = True,
    rename: str = "auto",
    reader: Callable[..., Any] | None = None,
) -> pd.DataFrame | list[Any]:
    """Read many exports into one table, with a progress bar.

    Parameters
    ----------
    paths : iterable of path or Source
        The exports.
    kind : str
        The kind of data (:func:`kinds`): ``'plate'``, ``'qpcr'``...
    format : str, optional
        Force one format for all files.
    executor : concurrent.futures.Executor, optional
        Run the reads on this executor (a ``ProcessPoolExecutor``, or a
        ``dask.distributed.Client.get_executor()``); default: in this process.
    progress : bool
        Show a tqdm progress bar (on stderr).
    rename : {'auto', 'files', 'none'}
        How plates are named in the combined table (tabular kinds):

        * ``'auto'`` — plate names stay as read unless two files give the same plate
          name (e.g. ``'1'`` in two QuantStudio exports); then every plate is renamed
          after its file, as with ``'files'``;
        * ``'files'`` — with several files, every plate is renamed after its file:
          ``<file stem>``, or ``<file stem>/<plate>`` for a file holding several plates
          (what ``assaykit read`` does); one file keeps its plate names;
        * ``'none'`` — plate names stay as read; two files giving the same plate name
          is an error.
    reader : callable, optional
        Reads one file as ``reader(path, format=format)``; default: :func:`read` of
        ``kind``.

    Returns
    -------
    pandas.DataFrame or list
        For a tabular kind, the tables concatenated in the order of ``paths``, with
        ``attrs['formats']`` the formats detected (file order, no repeats). For a kind
        whose readers return objects, the list of objects in the order of ``paths``.

    Raises
    ------
    ReaderError
        From the readers; if plates share a name after renaming (two files with the
        same name in different folders, or any shared name with ``rename='none'``);
        on an unknown ``rename``.
    """
    from tqdm.auto import tqdm

    if rename not in RENAME_MODES:
        raise ReaderError("unknown rename mode", key="rename", expected=" or ".join(RENAME_MODES), found=repr(rename))
    spec = get_kind(kind)
    paths = list(paths)
    fn = partial(reader or partial(read, kind=kind), format=format)
    it = executor.map(fn, paths) if executor is not None else map(fn, paths)
    frames = list(tqdm(it, total=len(paths), disable=not progress, desc=f"reading {kind} exports"))
    if not spec.tabular:
        return frames
    if not frames:
        return pd.DataFrame(columns=[])
    out = pd.concat(frames, ignore_index=True)
    plates = _renamed_plates(paths, frames, rename)
    if plates is not None:
        out["plate"] = plates
    out.attrs["formats"] = list(dict.fromkeys(f.attrs.get("format", format or "") for f in frames))
    return out


_COLLISION = {
    "auto": "two exports give the same plate name after renaming plates after their files",
    "files": "two exports give the same plate name (files with the same name?)",
    "none": "two exports give the same plate name (rename='none' keeps the names as read)",
}


def _renamed_plates(paths: list, frames: list[pd.DataFrame], rename: str) -> np.ndarray | None:
    """The ``plate`` column of the concatenated frames after ``rename``, or None when unchanged."""
    where = [p.name if isinstance(p, Source) else os.fspath(p) for p in paths]
    names = [f["plate"].unique() for f in frames]
    clash = sum(len(n) for n in names) != len(set().union(*names))
    if rename == "none" or (rename == "auto" and not clash) or (rename == "files" and len(frames) == 1):
        if clash:
            _check_distinct([list(n) for n in names], where, rename)
        return None
    parts, new_names = [], []
    for w, f, plates in zip(where, frames, names, strict=True):
        stem = os.path.splitext(os.path.basename(w))[0]
        new = [stem] if len(plates) == 1 else [f"{stem}/{p}" for p in plates]
        new_names.append(new)
        if len(plates) == 1:
            parts.append(np.full(len(f), stem, dtype=object))
        else:
            parts.append(f["plate"].map(dict(zip(plates, new, strict=True))).to_numpy(dtype=object))
    _check_distinct(new_names, where, rename)
    return np.concatenate(parts)


def _check_distinct(names: list[list[str]], where: list[str], rename: str) -> None:
    """Raise ReaderError at the first plate name given by two files."""
    owner: dict[str, str] = {}
    expected = "distinct plate names" if rename == "none" else "exports with distinct file names"
    for w, plates in zip(where, names, strict=True):
        for name in plates:
            if name in owner:
                raise ReaderError(
                    _COLLISION[rename], file=w, plate=name, expected=expected, found=f"also from {owner[name]}"
                )
            owner[name] = w


def formats(kind: str = "plate") -> pd.DataFrame:
    """Table of the supported formats of one kind: ``format``, ``description``."""
    return formats_table(kind)

