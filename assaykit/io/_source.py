"""One input file, loaded once and decoded lazily for every reader's sniffer.

A :class:`Source` holds the bytes of an export and gives readers what they need:
decoded text and lines (BOM, UTF-16 and legacy encodings handled), or the cell
grids of a spreadsheet (read with calamine). Readers never open files themselves.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from assaykit.errors import ReaderError

__all__ = ["Source", "load_source"]

_ZIP_MAGIC = b"PK\x03\x04"
_OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"


@dataclass(eq=False)
class Source:
    """The content of one input file.

    Parameters
    ----------
    data : bytes
        The file content.
    name : str
        How the file is named in messages and in the ``source_file`` column.

    Attributes
    ----------
    kind : {'text', 'xlsx', 'xls'}
        Container type detected from the first bytes (never from the file name).
    """

    data: bytes
    name: str
    _sheets: dict[str, list[list[Any]]] = field(default_factory=dict, repr=False)

    @classmethod
    def from_path(cls, path: str | os.PathLike) -> Source:
        """Read ``path`` into a Source (raises :class:`ReaderError` if unreadable)."""
        p = Path(path)
        try:
            data = p.read_bytes()
        except FileNotFoundError:
            raise ReaderError("file not found", file=str(path)) from None
        except IsADirectoryError:
            raise ReaderError("is a folder, not a file", file=str(path)) from None
        except OSError as exc:
            raise ReaderError(f"cannot read file ({exc.strerror})", file=str(path)) from None
        return cls(data=data, name=str(path))

    @cached_property
    def kind(self) -> str:
        """``'xlsx'`` (zip container), ``'xls'`` (OLE2 container) or ``'text'``."""
        if self.data.startswith(_ZIP_MAGIC):
            return "xlsx"
        if self.data.startswith(_OLE_MAGIC):
            return "xls"
        return "text"

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
        """Names of the worksheets (empty list for text files)."""
        if self.kind == "text":
            return []
        return list(self._workbook.sheet_names)

    def sheet(self, name: str | int = 0) -> list[list[Any]]:
        """Cells of a worksheet as a list of rows (values as Python objects, '' for empty).

        Parameters
        ----------
        name : str or int
            Sheet name or 0-based position.
        """
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
