"""Declarative protocols: TOML recipes holding the options of one workflow.

A protocol file has one table per workflow (``[elisa]``, ``[qpcr]`` ...). The recipes in
the repository's ``protocols/`` folder are shipped inside the wheel (as
``assaykit/_protocols``), so they can be named without a path after ``pip install``.

Examples
--------
>>> from assaykit.protocols import list_protocols, read_protocol_table
>>> "qpcr_th_panel" in list_protocols()  # doctest: +SKIP
True
>>> options, path = read_protocol_table("qpcr_th_panel", "qpcr")  # doctest: +SKIP
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from assaykit.errors import ProtocolError

__all__ = ["PROTOCOL_DIR", "list_protocols", "read_protocol_table", "resolve_protocol"]


def _protocol_dir() -> Path:
    packaged = Path(__file__).resolve().parent / "_protocols"  # wheel install
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[1] / "protocols"  # source tree / editable install


#: Folder of the bundled protocols (packaged copy in a wheel, ``protocols/`` in a checkout).
PROTOCOL_DIR: Path = _protocol_dir()


def list_protocols() -> list[str]:
    """Names of the bundled protocols (file stems in :data:`PROTOCOL_DIR`)."""
    return sorted(p.stem for p in PROTOCOL_DIR.glob("*.toml")) if PROTOCOL_DIR.is_dir() else []


def resolve_protocol(name_or_path: str | os.PathLike) -> Path:
    """Return the file of a protocol given as a path or as a bundled protocol's name.

    Raises
    ------
    ProtocolError
        If it is neither an existing file nor a bundled protocol (the names are listed).
    """
    p = Path(name_or_path)
    if p.is_file():
        return p
    cand = PROTOCOL_DIR / (p.name if p.suffix == ".toml" else f"{p.name}.toml")
    if cand.is_file():
        return cand
    raise ProtocolError(
        "protocol not found",
        file=str(name_or_path),
        expected=f"a TOML file or one of {list_protocols()}",
        found="no such file",
    )


def read_protocol_table(name_or_path: str | os.PathLike, section: str) -> tuple[dict[str, Any], Path]:
    """Read the ``[section]`` table of a protocol.

    Parameters
    ----------
    name_or_path : str or path
        A TOML file, or the name of a bundled protocol (``'elisa_il6_4pl'``).
    section : str
        The workflow table to read (``'elisa'``, ``'qpcr'``).

    Returns
    -------
    options : dict
        The table (option → value), unchecked: each workflow validates its own keys.
    path : pathlib.Path
        The file read.

    Raises
    ------
    ProtocolError
        If the file is missing, not UTF-8 TOML, has no ``[section]`` table, or
        ``section`` is not a table.
    """
    p = resolve_protocol(name_or_path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except UnicodeDecodeError:
        raise ProtocolError("protocol is not UTF-8 text", file=str(p), expected="a UTF-8 TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ProtocolError("protocol is not valid TOML", file=str(p), found=str(exc)) from None
    if section not in data:
        raise ProtocolError(
            f"protocol has no [{section}] table",
            file=str(p),
            expected=f"a [{section}] table of options",
            found=", ".join(data) or "no tables",
        )
    table = data[section]
    if not isinstance(table, dict):
        raise ProtocolError(
            f"[{section}] must be a table of options", file=str(p), found=type(table).__name__
        )
    return dict(table), p
