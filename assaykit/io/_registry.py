"""Registries of instrument readers, and format detection from content.

Each reader module registers itself with :func:`register` (``kind='plate'`` or
``'qpcr'``), giving a *sniffer* that looks at the content of a :class:`Source`
(never at the file name) and a *reader* that returns the canonical table.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import pandas as pd

from assaykit.errors import FormatDetectionError
from assaykit.io._source import Source

__all__ = ["ReaderSpec", "register", "readers", "detect", "get_reader"]


@dataclass(frozen=True)
class ReaderSpec:
    """A registered reader.

    Attributes
    ----------
    name : str
        Format name used in ``format=`` arguments (e.g. ``'gen5'``).
    kind : {'plate', 'qpcr'}
        Which canonical table it returns.
    sniff : callable
        ``sniff(source) -> bool``; True when the content is this format.
    read : callable
        ``read(source) -> DataFrame`` in the canonical schema.
    description : str
        One line shown by ``assaykit formats``.
    priority : int
        Lower is tried first; generic fallbacks use high numbers.
    """

    name: str
    kind: str
    sniff: Callable[[Source], bool]
    read: Callable[[Source], pd.DataFrame]
    description: str
    priority: int = 50


_REGISTRY: dict[str, dict[str, ReaderSpec]] = {"plate": {}, "qpcr": {}}


def register(name: str, *, kind: str, sniff: Callable[[Source], bool], description: str, priority: int = 50):
    """Decorator registering ``read(source)`` as the reader of format ``name``."""

    def deco(read: Callable[[Source], pd.DataFrame]):
        _REGISTRY[kind][name] = ReaderSpec(name, kind, sniff, read, description, priority)
        return read

    return deco


def readers(kind: str) -> list[ReaderSpec]:
    """Registered readers of one kind, in the order they are tried."""
    return sorted(_REGISTRY[kind].values(), key=lambda r: (r.priority, r.name))


def get_reader(kind: str, name: str) -> ReaderSpec:
    """The reader of format ``name`` (raises FormatDetectionError listing the known ones)."""
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
    else:
        found = f"a {source.kind} workbook with sheets {source.sheet_names[:5]}"
    known = ", ".join(r.name for r in readers(kind))
    raise FormatDetectionError(
        f"not a recognised {kind} export", file=source.name, expected=f"one of: {known}", found=found
    )
