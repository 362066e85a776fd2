"""Reader registration for the reader modules (the registry itself is :mod:`assaykit.kinds`)."""

from assaykit.kinds import ReaderSpec, detect, get_reader, readers, register

__all__ = ["ReaderSpec", "detect", "get_reader", "readers", "register"]
