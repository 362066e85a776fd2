"""The registry of kinds of data and of their readers, format detection, and reading.

This is a neutral core module: ``assaykit.io`` registers the built-in kinds and their
readers here, and an assay package may read its own kind through :func:`read` (e.g.
``assaykit.flow.read_fcs``) without importing a reader.

A *kind* is one kind of data with its own canonical shape: ``plate`` (plate reads),
``qpcr`` (qPCR wells), ``flow`` (FCS samples), ``blot_image`` and ``blot_bands``... It is
declared once with :func:`register_kind`: the package whose import registers its readers,
the validator of what they return, and whether that is a table (concatenated by
``read_many``) or one object per file. Each reader module registers itself with
:func:`register` (``kind=`` one registered kind), giving a *sniffer* that looks at the
content of a :class:`Source` (never at the file name) and a *reader* that returns the
canonical table or object.

Examples
--------
A new kind needs one registration, then readers of its own:

>>> register_kind("toy", package="assaykit.io", description="toy tables")  # doctest: +SKIP
>>> @register("toy_csv", kind="toy", sniff=lambda s: s.head().startswith("toy"),
...           description="a toy format")  # doctest: +SKIP
... def read_toy(source): ...
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from importlib import import_module
from typing import Any

import pandas as pd

from assaykit.errors import FormatDetectionError, ReaderError, SchemaError
from assaykit.io._source import Source, load_source

__all__ = [
    "KindSpec",
    "ReaderSpec",
    "detect",
    "get_kind",
    "get_reader",
    "kinds",
    "read",
    "formats_table",
    "readers",
    "register",
    "register_kind",
]


@dataclass(frozen=True)
class KindSpec:
    """A registered kind of data.

    Attributes
    ----------
    name : str
        The kind's name (``kind=`` arguments, ``assaykit read --kind``).
    package : str
        Dotted name of the package whose import registers the kind's readers (imported on
        first use, so that unused kinds cost nothing).
    validate : callable or None
        ``validate(result, where=file_name)`` raises :class:`~assaykit.errors.SchemaError` when a
        reader's result does not follow the kind's canonical schema.
    tabular : bool
        True when readers return a DataFrame with a ``plate`` column (``read_many``
        concatenates them and renames plates); False when they return one object per
        file (``read_many`` returns a list).
    description : str
        One line for ``assaykit formats``.
    sheet : str
        Sheet name of the table in a workbook written by ``assaykit read -o out.xlsx``.
    """

    name: str
    package: str
    validate: Callable[[Any, str], None] | None = None
    tabular: bool = True
    description: str = ""
    sheet: str = "table"


_KINDS: dict[str, KindSpec] = {}


def register_kind(
    name: str,
    *,
    package: str,
    validate: Callable[[Any, str], None] | None = None,
    tabular: bool = True,
    description: str = "",
    sheet: str = "table",
) -> KindSpec:
    """Declare a kind of data (see :class:`KindSpec`); returns its spec.

    Registering the same name again replaces the declaration (its readers stay).
    """
    spec = KindSpec(name, package, validate, tabular, description, sheet)
    _KINDS[name] = spec
    _REGISTRY.setdefault(name, {})
    return spec


def kinds() -> list[KindSpec]:
    """The registered kinds, in registration order."""
    return list(_KINDS.values())


def get_kind(name: str) -> KindSpec:
    """The spec of kind ``name``, its readers loaded (FormatDetectionError lists the known kinds)."""
    try:
        spec = _KINDS[name]
    except KeyError:
        raise FormatDetectionError(
            "unknown kind of data", expected="one of: " + ", ".join(_KINDS), found=repr(name)
        ) from None
    if spec.name not in _LOADED:
        import_module(spec.package)
        _LOADED.add(spec.name)
    return spec


_LOADED: set[str] = set()


@dataclass(frozen=True)
class ReaderSpec:
    """A registered reader.

    Attributes
    ----------
    name : str
        Format name used in ``format=`` arguments (e.g. ``'gen5'``).
    kind : str
        Which registered kind of data it returns (:func:`register_kind`).
    sniff : callable
        ``sniff(source) -> bool``; True when the content is this format.
    read : callable
        ``read(source)`` → the kind's canonical table (or object, for non-tabular kinds).
    description : str
        One line shown by ``assaykit formats``.
    priority : int
        Lower is tried first; generic fallbacks use high numbers.
    """

    name: str
    kind: str
    sniff: Callable[[Source], bool]
    read: Callable[[Source], Any]
    description: str
    priority: int = 50


_REGISTRY: dict[str, dict[str, ReaderSpec]] = {}


def register(name: str, *, kind: str, sniff: Callable[[Source], bool], description: str, priority: int = 50):
    """Decorator registering ``read(source)`` as the reader of format ``name`` of ``kind``."""
    if kind not in _KINDS:
        raise ValueError(f"reader {name!r}: kind {kind!r} is not registered (known: {', '.join(_KINDS)})")

    def deco(read: Callable[[Source], Any]):
        _REGISTRY[kind][name] = ReaderSpec(name, kind, sniff, read, description, priority)
        return read

    return deco


def readers(kind: str) -> list[ReaderSpec]:
    """Registered readers of one kind, in the order they are tried."""
    get_kind(kind)
    return sorted(_REGISTRY[kind].values(), key=lambda r: (r.priority, r.name))


def get_reader(kind: str, name: str) -> ReaderSpec:
    """The reader of format ``name`` (raises FormatDetectionError listing the known ones)."""
    get_kind(kind)
    try:
        return _REGISTRY[kind][name]
    except KeyError:
        known = ", ".join(r.name for r in readers(kind))
        raise FormatDetectionError(
            f"unknown {kind} format", expected=f"one of: {known}", found=repr(name)
        ) from None


def detect(source: Source, kind: str) -> ReaderSpec:
    """Return the first reader of ``kind`` whose sniffer accepts the content of ``source``."""
    for spec in readers(kind):
        if spec.sniff(source):
            return spec
    if source.kind == "text":
        first = next((ln for ln in source.head().splitlines() if ln.strip()), "")
        found = f"first line {first[:80]!r}"
    elif source.kind == "binary":
        found = source.describe()
    else:
        found = f"a {source.kind} workbook with sheets {source.sheet_names[:5]}"
    known = ", ".join(r.name for r in readers(kind))
    raise FormatDetectionError(
        f"not a recognised {kind} export", file=source.name, expected=f"one of: {known}", found=found
    )


def read(path: str | os.PathLike | Source, kind: str, format: str | None = None) -> Any:
    """Read one export of any registered kind.

    Parameters
    ----------
    path : str, path-like or Source
        The export.
    kind : str
        The kind of data (:func:`kinds`).
    format : str, optional
        Force a format of that kind; by default it is detected from the content.

    Returns
    -------
    pandas.DataFrame or object
        The kind's canonical table (``attrs['format']`` names the reader), or its
        canonical object for a non-tabular kind.

    Raises
    ------
    ReaderError
        If the file cannot be read; :class:`FormatDetectionError` if no reader of the
        kind recognises it.
    """
    kspec = get_kind(kind)
    source = load_source(path)
    spec = get_reader(kind, format) if format else detect(source, kind)
    try:
        result = spec.read(source)
    except SchemaError as exc:
        raise _located(exc, spec, source) from None
    if kspec.validate is not None:
        kspec.validate(result, where=source.name)
    if isinstance(result, pd.DataFrame):
        result.attrs["format"] = spec.name
    return result


def _located(exc: SchemaError, spec: ReaderSpec, source: Source) -> SchemaError | ReaderError:
    """A reader's schema error as a ReaderError naming the file."""
    if exc.location.get("file"):
        return exc
    loc = {k: v for k, v in exc.location.items() if k != "file"}
    # e.g. a block or row repeated in the export gives a repeated well key
    hint = " (a block or row of the export is repeated)" if "duplicate" in exc.message else ""
    return ReaderError(
        f"{spec.name} export: {exc.message}{hint}", file=source.name, expected=exc.expected, found=exc.found, **loc
    )


def formats_table(kind: str) -> pd.DataFrame:
    """Table of the formats of one kind: ``format``, ``description`` (in the order tried)."""
    specs = readers(kind)
    return pd.DataFrame({"format": [r.name for r in specs], "description": [r.description for r in specs]})
