"""One input file, loaded once and decoded lazily for every reader's sniffer.

A :class:`Source` holds the bytes of an export and gives readers what they need:
decoded text and lines (BOM, UTF-16 and legacy encodings handled), the cell grids
of a spreadsheet (read with calamine), or, for binary files (FCS, TIFF, PNG), the
bytes themselves and the path to stream from. Readers never open files themselves.

A Source made with :meth:`Source.from_path` is lazy: it keeps the path and reads
the content on first use of :attr:`Source.data`; sniffers look at
:meth:`Source.head_bytes`, which reads only the start of the file, so a large
binary file is read once, by the reader that accepts it.
"""

from __future__ import annotations

import io
import os
from functools import cached_property
from pathlib import Path
from typing import Any

from assaykit.errors import ReaderError

__all__ = ["Source", "load_source"]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
#: Binary containers recognised from their first bytes: magic -> what the file is.
_BINARY_MAGIC: dict[bytes, str] = {
    b"FCS2.0": "an FCS 2.0 file",
    b"FCS3.0": "an FCS 3.0 file",
    b"FCS3.1": "an FCS 3.1 file",
    b"II*\x00": "a TIFF image",
    b"MM\x00*": "a TIFF image",
    b"\x89PNG": "a PNG image",
}
_MAGIC_BYTES = max(len(m) for m in (_ZIP_MAGIC, _OLE_MAGIC, *_BINARY_MAGIC))


def _os_error(exc: OSError, path: str) -> ReaderError:
    if isinstance(exc, FileNotFoundError):
        return ReaderError("file not found", file=path)
    if isinstance(exc, IsADirectoryError):
        return ReaderError("is a folder, not a file", file=path)
    return ReaderError(f"cannot read file ({exc.strerror})", file=path)


class Source:
    """The content of one input file.

    Parameters
    ----------
    data : bytes, optional
        The file content; None with ``path`` (read on first use).
    name : str
        How the file is named in messages and in the ``source_file`` column.
    path : path-like, optional
        The file on disk, for a lazy Source (:meth:`from_path`) and for readers that
        stream from disk.

    Attributes
    ----------
    kind : {'text', 'xlsx', 'xls', 'binary'}
        Container type detected from the first bytes (never from the file name).
    path : pathlib.Path or None
        The file on disk, when the Source was made from one.
    """

    def __init__(self, data: bytes | None = None, name: str = "", *, path: str | os.PathLike | None = None):
        if data is None and path is None:
            raise TypeError("Source needs data or a path")
        self._data = data
        self.name = name
        self.path = Path(path) if path is not None else None
        self._head = b""
        self._sheets: dict[str, list[list[Any]]] = {}

    def __repr__(self) -> str:
        return f"Source(name={self.name!r}, kind={self.kind!r})"

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> Source:
        """A lazy Source of the file ``path`` (raises :class:`ReaderError` if it cannot be read).

        The file is opened at once (so a missing or unreadable file is reported here)
        but its content is read on first use of :attr:`data`.
        """
        p = Path(path)
        src = cls(None, str(path), path=p)
        src._head = src._read(_MAGIC_BYTES)
        return src

    def _read(self, n: int | None = None) -> bytes:
        """Read the whole file (or its first ``n`` bytes) from :attr:`path`."""
        try:
            with open(self.path, "rb") as fh:
                return fh.read() if n is None else fh.read(n)
        except OSError as exc:
            raise _os_error(exc, self.name) from None

    @property
    def data(self) -> bytes:
        """The file content (read from :attr:`path` on first use)."""
        if self._data is None:
            self._data = self._read()
        return self._data

    def head_bytes(self, n: int) -> bytes:
        """The first ``n`` bytes, reading only them when the content is not loaded yet."""
        if self._data is not None:
            return self._data[:n]
        if len(self._head) < n:
            self._head = self._read(n)
        return self._head[:n]

    @cached_property
    def kind(self) -> str:
        """``'xlsx'`` (zip container), ``'xls'`` (OLE2 container), ``'binary'`` (FCS, TIFF,
        PNG) or ``'text'``."""
        head = self.head_bytes(_MAGIC_BYTES)
        if head.startswith(_ZIP_MAGIC):
            return "xlsx"
        if head.startswith(_OLE_MAGIC):
            return "xls"
        if self.binary_type is not None:
            return "binary"
        return "text"

    @cached_property
    def binary_type(self) -> str | None:
        """What a binary file is (e.g. ``'an FCS 3.1 file'``), None for text and workbooks."""
        head = self.head_bytes(_MAGIC_BYTES)
        return next((what for magic, what in _BINARY_MAGIC.items() if head.startswith(magic)), None)

    def describe(self) -> str:
        """What the container is, for messages: ``'a text file'``, ``'an xlsx workbook'``, ``'an FCS 3.1 file'``."""
        if self.kind == "binary":
            return str(self.binary_type)
        return "a text file" if self.kind == "text" else f"a {self.kind} workbook"

    def error(self, message: str, **where: Any) -> ReaderError:
        """Return a :class:`ReaderError` located in this file."""
        return ReaderError(message, file=self.name, **where)

    # ------------------------------------------------------------------ text
    @cached_property
    def encoding(self) -> str:
        """The text encoding detected (BOM first, then UTF-16 heuristics, UTF-8, cp1252)."""
        d = self.data
        if d.startswith(b"\xef\xbb\xbf"):
            return "utf-8-sig"
        if d.startswith(b"\xff\xfe") or d.startswith(b"\xfe\xff"):
            return "utf-16"
        head = d[:4096]
        if len(head) >= 4 and head.count(b"\x00") > len(head) // 4:
            # UTF-16 without BOM: zeros sit in the odd (LE) or even (BE) positions
            odd = head[1::2].count(0)
            even = head[0::2].count(0)
            return "utf-16-le" if odd >= even else "utf-16-be"
        try:
            d.decode("utf-8")
            return "utf-8"
        except UnicodeDecodeError:
            return "cp1252"

    @cached_property
    def text(self) -> str:
        """The decoded text (raises :class:`ReaderError` for binary or empty files)."""
        if self.kind == "binary":
            raise self.error(
                "a binary file is not a text export", expected="text (csv/txt)", found=self.describe()
            )
        if self.kind != "text":
            raise self.error(
                "expected a text export", expected="text (csv/txt)", found=f"a {self.kind} workbook"
            )
        if not self.data.strip():
            raise self.error("file is empty", expected="an instrument export", found="no content")
        enc = self.encoding
        try:
            text = self.data.decode(enc)
        except UnicodeDecodeError as exc:
            if enc == "cp1252":
                text = self.data.decode("latin-1")
            else:
                raise self.error(
                    "cannot decode text", expected=f"valid {enc}", found=f"bad byte at offset {exc.start}"
                ) from None
        if text.startswith("\ufeff"):
            text = text[1:]
        if "\x00" in text:
            raise self.error("file looks binary", expected="a text export", found="NUL characters")
        return text

    @cached_property
    def lines(self) -> list[str]:
        """The text split into lines (line endings removed); ``lines[i]`` is line ``i + 1``."""
        return self.text.splitlines()

    def head(self, n_chars: int = 4000) -> str:
        """The first characters of the text, or ``''`` if it is no text (for sniffers)."""
        if self.kind != "text":
            return ""
        try:
            return self.text[:n_chars]
        except ReaderError:
            return ""

    # ---------------------------------------------------------- spreadsheets
    @cached_property
    def _workbook(self):
        if self.kind == "binary":
            raise self.error(
                "a binary file is not a workbook export", expected="an .xlsx/.xls file", found=self.describe()
            )
        if self.kind not in ("xlsx", "xls"):
            raise self.error("expected a workbook", expected="an .xlsx/.xls file", found="text")
        from python_calamine import CalamineWorkbook

        try:
            return CalamineWorkbook.from_filelike(io.BytesIO(self.data))
        except BaseException as exc:  # calamine errors; its Rust panics are BaseException
            if isinstance(exc, KeyboardInterrupt | SystemExit):
                raise
            raise self.error(
                "cannot open workbook", expected=f"a valid {self.kind} file", found=str(exc)[:200]
            ) from None

    @property
    def sheet_names(self) -> list[str]:
        """Names of the worksheets (empty list for text and binary files)."""
        if self.kind not in ("xlsx", "xls"):
            return []
        return list(self._workbook.sheet_names)

    def sheet(self, name: str | int = 0) -> list[list[Any]]:
        """Cells of a worksheet as a list of rows (values as Python objects, '' for empty).

        Parameters
        ----------
        name : str or int
            Sheet name or 0-based position.
        """
        if self.kind == "binary":
            raise self.error(
                "a binary file is not a workbook export", expected="an .xlsx/.xls file", found=self.describe()
            )
        names = self.sheet_names
        if isinstance(name, int):
            if not 0 <= name < len(names):
                raise self.error("no such sheet", expected=f"sheet index < {len(names)}", found=str(name))
            name = names[name]
        if name not in names:
            raise self.error("no such sheet", expected=f"one of {names}", found=repr(name))
        if name not in self._sheets:
            try:
                rows = self._workbook.get_sheet_by_name(name).to_python()
            except BaseException as exc:  # calamine errors; its Rust panics are BaseException
                if isinstance(exc, KeyboardInterrupt | SystemExit):
                    raise
                raise self.error("cannot read sheet", sheet=name, found=str(exc)[:200]) from None
            self._sheets[name] = rows
        return self._sheets[name]


def load_source(path_or_source: str | os.PathLike | Source) -> Source:
    """Return a :class:`Source` for a path (or the Source itself)."""
    if isinstance(path_or_source, Source):
        return path_or_source
    return Source.from_path(path_or_source)
