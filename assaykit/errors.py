"""Exceptions and warnings raised by assaykit.

Every error carries *where* the problem is (file, line, sheet, well, sample,
analyte ...) and *what* was expected versus what was found, so that a scientist
can fix the input without reading a traceback.

Examples
--------
>>> err = ReaderError("no plate grid found", file="run1.txt", line=12,
...                   expected="a row starting with 'A'", found="'B,0.1,0.2'")
>>> print(err)
run1.txt, line 12: no plate grid found (expected a row starting with 'A'; found 'B,0.1,0.2')
"""

from __future__ import annotations

from os import PathLike

__all__ = [
    "AnalysisError",
    "AssaykitError",
    "AssaykitWarning",
    "FitError",
    "FormatDetectionError",
    "LayoutError",
    "ProtocolError",
    "ReaderError",
    "ReportError",
    "SchemaError",
    "SettingsError",
]

# Order in which location parts are printed.
#: Location keys, in print order. They cover the vocabulary of every assay: plates and
#: wells (plate readers, qPCR), channels, gates and populations (flow cytometry), lanes
#: and bands (western blots), analytes (multiplex bead assays), settings (protocols).
LOCATION_KEYS: tuple[str, ...] = (
    "file", "sheet", "line", "column", "key", "plate", "well", "sample", "analyte", "target",
    "read", "channel", "gate", "population", "lane", "band", "event",
)
_LOCATION_KEYS = LOCATION_KEYS


class AssaykitError(Exception):
    """Base class of every error raised on purpose by assaykit.

    Parameters
    ----------
    message : str
        What went wrong, in one sentence.
    file : str or path-like, optional
        The input file concerned.
    line : int, optional
        1-based line number in a text file (or row number in a sheet).
    sheet : str, optional
        Worksheet name of a spreadsheet.
    column : str, optional
        Column name or letter concerned.
    plate, well, sample, target, read : str, optional
        Further location of the problem inside the data.
    **where
        Other location keys of :data:`LOCATION_KEYS`: ``key`` (a setting), ``analyte``,
        ``channel``, ``gate``, ``population`` (flow), ``lane``, ``band`` (blots), ``event``.
    expected : str, optional
        What assaykit expected to find.
    found : str, optional
        What it found instead.

    Attributes
    ----------
    message, expected, found : str or None
        As given.
    location : dict
        The location parts that were given, in print order.
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | PathLike | None = None,
        line: int | None = None,
        sheet: str | None = None,
        column: str | None = None,
        plate: str | None = None,
        well: str | None = None,
        sample: str | None = None,
        target: str | None = None,
        read: str | None = None,
        expected: str | None = None,
        found: str | None = None,
        **where: object,
    ) -> None:
        self.message = str(message)
        self.expected = expected
        self.found = found
        unknown = set(where) - set(LOCATION_KEYS)
        if unknown:
            raise TypeError(f"unknown location key(s) {sorted(unknown)}; use one of {LOCATION_KEYS}")
        given = {
            "file": file,
            "sheet": sheet,
            "line": line,
            "column": column,
            "plate": plate,
            "well": well,
            "sample": sample,
            "target": target,
            "read": read,
            **where,
        }
        self.location = {k: given[k] for k in LOCATION_KEYS if given.get(k) is not None}
        super().__init__(self.__str__())

    def __str__(self) -> str:
        parts = []
        for key, value in self.location.items():
            if key == "file":
                parts.append(str(value))
            else:
                parts.append(f"{key} {value}" if key != "sheet" else f"sheet '{value}'")
        where = ", ".join(parts)
        text = f"{where}: {self.message}" if where else self.message
        detail = []
        if self.expected is not None:
            detail.append(f"expected {self.expected}")
        if self.found is not None:
            detail.append(f"found {self.found}")
        if detail:
            text += " (" + "; ".join(detail) + ")"
        return text

    def __reduce__(self):  # keep errors picklable across process executors
        return (_rebuild, (type(self), self.message, dict(self.location), self.expected, self.found))


def _rebuild(cls, message, location, expected, found):
    return cls(message, expected=expected, found=found, **location)


class ReaderError(AssaykitError):
    """An instrument export could not be read (bad structure, value, encoding ...)."""


class FormatDetectionError(ReaderError):
    """No reader recognised the content of a file (or the one asked for did not)."""


class SchemaError(AssaykitError):
    """A table does not follow the documented canonical schema."""


class LayoutError(AssaykitError):
    """A plate layout is invalid or does not match the data it is joined to."""


class FitError(AssaykitError):
    """A curve or model could not be fitted."""


class AnalysisError(AssaykitError):
    """The data cannot be analysed as asked (missing reference, no control ...)."""


class ProtocolError(AssaykitError):
    """A declarative protocol file is invalid."""


class SettingsError(AnalysisError, ProtocolError):
    """An option has an unknown name or an invalid value (keyword, protocol, layout or CLI).

    It is both an :class:`AnalysisError` (a bad keyword of an analysis function) and a
    :class:`ProtocolError` (a bad key of a protocol or layout table).
    """


class ReportError(AssaykitError):
    """A report (workbook, figure) could not be written."""


class AssaykitWarning(UserWarning):
    """Data-quality warnings that do not stop an analysis."""
