"""Plate layouts: wellmap TOML files as tidy tables, joined onto plate data by well.

A layout says what is in each well (``sample``, ``std_conc_pg_ml``, ``dilution``,
``treatment`` ...). assaykit reads it with `wellmap <https://wellmap.rtfd.io>`_ and
joins it onto any canonical table (plate reads, qPCR wells) on ``plate`` and ``well``.

Examples
--------
>>> from assaykit.datasets import path
>>> layout = read_layout(path("elisa_il6_layout.toml"))  # doctest: +SKIP
>>> annotated = annotate(plate, layout)  # doctest: +SKIP
"""

from __future__ import annotations

import os
import re
import tomllib
from typing import Any, Literal

import pandas as pd

from assaykit.errors import LayoutError

__all__ = ["annotate", "layout_params", "read_layout"]

_TOML_AT = re.compile(r"\(at line (\d+), column \d+\)")
# Columns wellmap adds that duplicate the keys every canonical table already has.
_WELLMAP_KEYS = ("well0", "row", "col", "row_i", "col_j", "path")
# Canonical key columns (never replaced).
_KEYS = ("plate", "well", "well0", "row", "col")
# Columns of the canonical tables that a layout may not overwrite.
_RESERVED = (
    "read",
    "metric",
    "value",
    "raw",
    "flag",
    "source_file",
    "cq",
    "cq_raw",
    "cq_flag",
    "tm",
    "reporter",
)


def _load(path: str | os.PathLike, **kwargs: Any):
    import wellmap

    p = os.fspath(path)
    if not os.path.exists(p):
        raise LayoutError("layout file not found", file=p)
    if os.path.isdir(p):
        raise LayoutError("layout is a folder, not a file", file=p, expected="a wellmap TOML file")
    try:
        return wellmap.load(p, **kwargs)
    except wellmap.LayoutError as exc:
        # wellmap puts the path first already; keep its advice, drop the duplicate path
        msg = " ".join(str(exc).split())
        if msg.startswith(p):
            msg = msg[len(p) :].lstrip(": ")
        raise LayoutError(msg or "invalid layout", file=p) from None
    except UnicodeDecodeError as exc:
        raise LayoutError(
            "layout is not UTF-8 text",
            file=p,
            expected="a UTF-8 encoded wellmap TOML file",
            found=f"byte 0x{exc.object[exc.start]:02x} at offset {exc.start}",
        ) from None
    except tomllib.TOMLDecodeError as exc:
        msg = " ".join(str(exc).split())
        m = _TOML_AT.search(msg)
        line = int(m.group(1)) if m else None
        if m:
            msg = (msg[: m.start()] + msg[m.end() :]).strip()
        raise LayoutError(f"invalid TOML: {msg}", file=p, line=line, expected="a wellmap TOML layout") from None
    except OSError as exc:  # a file named by [meta] include/concat
        raise LayoutError(
            "cannot read a file the layout refers to",
            file=p,
            expected="files named in [meta] to exist",
            found=f"{exc.filename}: {exc.strerror}" if exc.filename else str(exc),
        ) from None
    except (ValueError, TypeError, KeyError) as exc:
        raise LayoutError(f"invalid layout ({exc})", file=p, expected="a wellmap TOML layout") from None


def _check_reserved(df: pd.DataFrame, where: str) -> None:
    """Refuse layout fields that reuse the names of wellmap's key columns."""
    dup = sorted({c for c in df.columns if list(df.columns).count(c) > 1})
    if dup:
        raise LayoutError(
            "layout field uses a reserved name",
            file=where,
            expected="field names other than well, plate, row, col, well0, row_i, col_j, path",
            found=", ".join(dup),
        )
    from assaykit.schema import parse_well, row_index

    keys = [parse_well(w) for w in df["well"]]
    derived = {
        "row": [r for r, _ in keys],
        "col": [c for _, c in keys],
        "row_i": [row_index(r) for r, _ in keys],
        "col_j": [c - 1 for _, c in keys],
        "well0": [f"{r}{c:02d}" for r, c in keys],
    }
    for name, expected in derived.items():
        if name in df.columns and [str(v) for v in df[name]] != [str(v) for v in expected]:
            raise LayoutError(
                "layout field uses a reserved name",
                file=where,
                expected="field names other than well, plate, row, col, well0, row_i, col_j, path",
                found=name,
            )


def read_layout(path: str | os.PathLike) -> pd.DataFrame:
    """Read a wellmap TOML layout into a tidy table, one row per well.

    Parameters
    ----------
    path : str or path-like
        A `wellmap <https://wellmap.readthedocs.io/en/latest/file_format.html>`_ TOML file.

    Returns
    -------
    pandas.DataFrame
        Columns ``plate`` (the ``[plate.NAME]`` a well belongs to, or missing when the
        layout describes one plate that applies to every plate of the export), ``well``
        (``'A1'``), then one column per field the layout defines.

    Raises
    ------
    LayoutError
        If the file is missing or not a valid layout (wellmap's message is kept).
    """
    df = _load(path)
    _check_reserved(df, os.fspath(path))
    if "plate" not in df.columns:
        df.insert(0, "plate", pd.Series([None] * len(df), dtype=object))
    else:
        df["plate"] = df["plate"].astype(str)
    df = df.drop(columns=[c for c in _WELLMAP_KEYS if c in df.columns])
    cols = ["plate", "well"] + [c for c in df.columns if c not in ("plate", "well")]
    df = df[cols].reset_index(drop=True)
    df.attrs["layout_file"] = os.fspath(path)
    return df


def layout_params(path: str | os.PathLike) -> dict[str, Any]:
    """Return the extra (non-well) tables of a layout, e.g. assay parameters.

    wellmap passes unknown top-level tables through untouched; assaykit reads its
    analysis options from them (``[elisa]``, ``[qpcr]`` ...).

    Returns
    -------
    dict
        Table name → dict of values (empty when there are none).
    """
    _, meta = _load(path, meta=True)
    return dict(meta.extras or {})


def annotate(
    data: pd.DataFrame,
    layout: pd.DataFrame,
    *,
    how: Literal["strict", "left"] = "strict",
) -> pd.DataFrame:
    """Join a layout onto a canonical table by ``plate`` and ``well``.

    Parameters
    ----------
    data : pandas.DataFrame
        A canonical table (plate reads or qPCR wells) with ``plate`` and ``well``.
    layout : pandas.DataFrame
        From :func:`read_layout`. Rows whose ``plate`` is missing apply to every plate.
    how : {'strict', 'left'}
        ``'strict'`` (default): every layout well must be present in ``data`` — a well
        described in the layout but absent from the export raises :class:`LayoutError`.
        ``'left'``: keep all rows of ``data`` and ignore layout wells it lacks, and layout
        plates it lacks as long as at least one layout plate (or a plate-less part of the
        layout) applies to the data.
        In both modes every row of ``data`` is kept; wells the layout does not describe
        get missing values in the layout columns. A data column that holds no value at all
        (e.g. the ``dilution`` column a Gen5 reader adds when the export has no layout block)
        is replaced by the layout field of the same name; a data column with values is never
        overwritten (:class:`LayoutError`).

    Returns
    -------
    pandas.DataFrame
        ``data`` with the layout's columns appended, same row order.

    Raises
    ------
    LayoutError
        On a duplicated layout well, a layout column that would overwrite a data column,
        (strict) layout plates or wells missing from the data, or (left) a layout none of
        whose plates is in the data.
    """
    if how not in ("strict", "left"):
        raise LayoutError("unknown join mode", expected="'strict' or 'left'", found=repr(how))
    for name, df in (("data", data), ("layout", layout)):
        for key in ("plate", "well"):
            if key not in df.columns:
                raise LayoutError(f"{name} has no '{key}' column", expected="columns plate and well")
    where = layout.attrs.get("layout_file")
    fields = [c for c in layout.columns if c not in ("plate", "well")]
    # A data column that is entirely empty (e.g. a reader's ``dilution`` column when the
    # export has no layout block) gives way to the layout field of the same name.
    empty = [c for c in fields if c in data.columns and c not in _KEYS + _RESERVED and _all_missing(data[c])]
    if empty:
        data = data.drop(columns=empty)
    clash = [c for c in fields if c in data.columns or c in _RESERVED]
    if clash:
        raise LayoutError(
            "layout fields would overwrite data columns",
            file=where,
            expected="field names other than the data's own columns",
            found=", ".join(clash),
        )
    lay = layout.copy()
    lay["well"] = [_norm_well(w, where) for w in lay["well"]]
    dup = lay.duplicated(["plate", "well"], keep=False)
    if dup.any():
        first = lay.loc[dup].iloc[0]
        raise LayoutError("well described twice in layout", file=where, plate=_plate_str(first["plate"]), well=first["well"])

    data_plates = list(dict.fromkeys(str(p) for p in data["plate"]))
    generic = lay[lay["plate"].isna()]
    specific = lay[lay["plate"].notna()]
    layout_plates = set(specific["plate"].astype(str))
    unknown = sorted(layout_plates - set(data_plates))
    # left join: plates of a multi-plate layout that this export lacks are ignored, as long
    # as the layout matches the data at all (a layout matching nothing is always an error)
    if unknown and (how == "strict" or (not len(generic) and not layout_plates & set(data_plates))):
        raise LayoutError(
            "layout plates not found in the data",
            file=where,
            expected=f"plate names among {data_plates}",
            found=", ".join(unknown),
        )
    parts = []
    for p in data_plates:
        spec_p = specific[specific["plate"].astype(str) == p]
        extra = generic[~generic["well"].isin(spec_p["well"])] if len(spec_p) else generic
        part = pd.concat([spec_p, extra], ignore_index=True)
        if len(part):
            part = part.assign(plate=p)
            parts.append(part)
    full = pd.concat(parts, ignore_index=True) if parts else lay.iloc[0:0].assign(plate=pd.Series(dtype=str))

    if how == "strict" and len(full):
        present = set(zip(data["plate"].astype(str), data["well"], strict=True))
        missing = [(p, w) for p, w in zip(full["plate"], full["well"], strict=True) if (p, w) not in present]
        if missing:
            p, w = missing[0]
            raise LayoutError(
                f"layout well not in the export ({len(missing)} such wells; pass how='left' to ignore)",
                file=where,
                plate=p,
                well=w,
            )
    left = data.copy()
    left["plate"] = left["plate"].astype(str)
    out = left.merge(full, on=["plate", "well"], how="left", validate="many_to_one", sort=False)
    return out


def _all_missing(col: pd.Series) -> bool:
    missing = col.isna()
    if col.dtype == object or pd.api.types.is_string_dtype(col.dtype):  # pandas 3 text: str dtype
        missing = missing | (col.astype(str).str.strip() == "")
    return bool(missing.all())


def _norm_well(w: Any, where: str | None) -> str:
    from assaykit.schema import parse_well, well_name

    try:
        r, c = parse_well(str(w))
    except Exception:
        raise LayoutError("not a well name", file=where, found=repr(w)) from None
    return well_name(r, c)


def _plate_str(p: Any) -> str | None:
    return None if pd.isna(p) else str(p)
