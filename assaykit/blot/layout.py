"""Blot layouts: which sample is in each lane and which target is in each row of bands.

A layout is a small TOML file (or a CSV of lanes). Lanes are numbered 1, 2, ... from the
left of the image; rows of bands are listed from the top::

    name = "replicate 1"          # optional: names this blot among replicate blots

    [blot]                        # optional: analysis options, as in a protocol's [blot]
    loading = "GAPDH"
    control = "veh"

    [lane.1]
    sample = "ladder"
    role = "ladder"
    [lane.2]
    sample = "veh"
    condition = "veh"             # any further field: fraction, replicate, amount_ug ...
    fraction = "cytoplasmic"

    [[row]]
    target = "p-IkBa"
    y = 330                       # optional: centre row (pixels), or y_min and y_max
    [[row]]
    target = "IkBa"
    y = 352

The compact form ``[lanes] samples = ["ladder", "veh", ...]`` (with optional lists
``conditions``, ``fractions``, ``replicates``, ``roles``) names the lanes in order. A CSV
layout has one row per lane: ``lane, sample`` and any further columns.

:func:`read_layout` returns a frozen :class:`BlotLayout`; :func:`apply_layout` joins it
onto a bands table (measured or imported): lane fields by lane number, targets by the
band's vertical position (``y`` ranges of the rows) or, without positions, by the order of
the bands in each lane.

Errors are :class:`~assaykit.errors.LayoutError` naming the file and key and saying how
to fix them.
"""

from __future__ import annotations

import math
import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from assaykit.errors import LayoutError

__all__ = ["BlotLayout", "LAYOUT_ROLES", "TARGET_KINDS", "apply_layout", "read_layout"]

#: Roles a lane may have (``role`` field); ``standard`` lanes with ``amount_ug`` form a dilution series.
LAYOUT_ROLES: tuple[str, ...] = ("sample", "ladder", "standard", "empty")
#: Kinds of rows of bands.
TARGET_KINDS: tuple[str, ...] = ("target", "loading", "total_protein", "marker")
#: Columns of a bands table a layout field may not use.
_RESERVED = ("lane", "image", "target", "band", "x", "y", "w", "h", "volume", "background", "n_saturated",
             "saturated", "status", "method", "params", "group", "ratio", "fold")  # fmt: skip
_TOP_KEYS = ("name", "blot", "lane", "lanes", "row", "protocol", "meta")
_TOML_AT = re.compile(r"\(at line (\d+), column \d+\)")


@dataclass(frozen=True)
class BlotLayout:
    """A blot layout (module docstring).

    Attributes
    ----------
    lanes : pandas.DataFrame
        One row per lane: ``lane`` (int, 1-based), ``sample``, ``role`` (``'sample'``
        unless given), then every other field of the file.
    rows : pandas.DataFrame
        One row per row of bands, top to bottom: ``row`` (1-based), ``target``, ``kind``,
        ``y``, ``y_min``, ``y_max`` (pixels; NaN when not given).
    settings : dict
        The ``[blot]`` table (analysis options, checked by the workflow's settings).
    blot : str
        The blot's name (top-level ``name = "..."``), or ``''``.
    file : str
        The file read (``''`` for layouts built in Python).
    """

    lanes: pd.DataFrame = field(repr=False)
    rows: pd.DataFrame = field(repr=False)
    settings: Mapping[str, Any] = field(default_factory=dict)
    blot: str = ""
    file: str = ""

    @property
    def targets(self) -> list[str]:
        """The targets, top to bottom."""
        return self.rows["target"].tolist()


def _err(msg: str, where: str, **kw: Any) -> LayoutError:
    return LayoutError(msg, file=where or None, **kw)


def _load_toml(p: str) -> dict[str, Any]:
    try:
        text = Path(p).read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise _err("layout file not found", p, expected="an existing TOML or CSV file") from None
    except IsADirectoryError:
        raise _err("layout is a folder, not a file", p, expected="a TOML or CSV file") from None
    except UnicodeDecodeError as exc:
        raise _err("layout is not UTF-8 text", p, expected="a UTF-8 TOML file",
                   found=f"byte 0x{exc.object[exc.start]:02x} at offset {exc.start}") from None  # fmt: skip
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = " ".join(str(exc).split())
        m = _TOML_AT.search(msg)
        if m:
            msg = (msg[: m.start()] + msg[m.end() :]).strip()
        raise LayoutError(f"invalid TOML: {msg}", file=p, line=int(m.group(1)) if m else None,
                          expected="a blot layout (docs/blot.md, 'Layout')") from None  # fmt: skip


def _lane_number(key: Any, where: str) -> int:
    try:
        n = int(str(key).strip())
    except ValueError:
        n = 0
    if n < 1 or str(n) != str(key).strip():
        raise _err("lane keys must be lane numbers", where, key=f"lane.{key}",
                   expected="[lane.1], [lane.2] ... (1 = leftmost lane)", found=repr(key))  # fmt: skip
    return n


def _check_fields(fields: Mapping[str, Any], where: str, key: str) -> dict[str, Any]:
    out = {}
    for name, value in fields.items():
        if name in _RESERVED and name != "lane":
            raise _err("layout field uses a reserved name", where, key=f"{key}.{name}",
                       expected=f"field names other than {', '.join(_RESERVED)}", found=name)  # fmt: skip
        if isinstance(value, Mapping | list):
            raise _err("a lane field must be a single value", where, key=f"{key}.{name}",
                       expected="a text, number or boolean", found=type(value).__name__)  # fmt: skip
        out[name] = value
    return out


def _lanes_from_tables(data: Mapping[str, Any], where: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    lane_tab = data.get("lane", {})
    if not isinstance(lane_tab, Mapping):
        raise _err(
            "[lane] must hold one table per lane",
            where,
            key="lane",
            expected="[lane.1] sample = ...",
        )
    for key, fields in lane_tab.items():
        n = _lane_number(key, where)
        if not isinstance(fields, Mapping):
            raise _err("a lane must be a table", where, key=f"lane.{key}", expected='[lane.N] with sample = "..."',
                       found=repr(fields))  # fmt: skip
        out.append({"lane": n, **_check_fields(fields, where, f"lane.{key}")})
    compact = data.get("lanes")
    if compact is not None:
        if out:
            raise _err(
                "lanes given twice",
                where,
                key="lanes",
                expected="either [lane.N] tables or a [lanes] list",
            )
        out = _compact_lanes(compact, where)
    return out


def _compact_lanes(compact: Any, where: str) -> list[dict[str, Any]]:
    if not isinstance(compact, Mapping) or not isinstance(compact.get("samples"), list):
        raise _err("[lanes] needs a list of samples", where, key="lanes.samples",
                   expected='samples = ["veh", "TNF", ...] (lane 1 first)')  # fmt: skip
    n = len(compact["samples"])
    cols = {"samples": "sample", "conditions": "condition", "fractions": "fraction", "replicates": "replicate",
            "roles": "role", "amounts_ug": "amount_ug"}  # fmt: skip
    for key in compact:
        if key not in cols:
            raise _err(
                "unknown list in [lanes]",
                where,
                key=f"lanes.{key}",
                expected="one of: " + ", ".join(cols),
            )
        if not isinstance(compact[key], list) or len(compact[key]) != n:
            raise _err("every list of [lanes] needs one value per lane", where, key=f"lanes.{key}",
                       expected=f"{n} values (as many as samples)", found=str(len(compact[key])) if isinstance(compact[key], list) else repr(compact[key]))  # fmt: skip
    return [{"lane": i + 1, **{cols[k]: compact[k][i] for k in compact}} for i in range(n)]


def _rows(data: Mapping[str, Any], where: str) -> pd.DataFrame:
    rows = data.get("row", [])
    if isinstance(rows, Mapping) or not isinstance(rows, list):
        raise _err("rows of bands must be an array of tables", where, key="row",
                   expected='[[row]] entries with target = "..." (top row first)')  # fmt: skip
    out = []
    seen: set[str] = set()
    for i, r in enumerate(rows, start=1):
        if not isinstance(r, Mapping) or not str(r.get("target", "")).strip():
            raise _err(
                "a row of bands needs a target", where, key=f"row {i}", expected='target = "IkBa"'
            )
        t = str(r["target"]).strip()
        if t in seen:
            raise _err("target named in two rows", where, key=f"row {i}", target=t,
                       expected="each target in one [[row]] (name doublets apart, e.g. p-IkBa and IkBa)")  # fmt: skip
        seen.add(t)
        unknown = set(r) - {"target", "kind", "y", "y_min", "y_max"}
        if unknown:
            raise _err("unknown key in a row of bands", where, key=f"row {i}.{sorted(unknown)[0]}",
                       expected="target, kind, y, y_min, y_max")  # fmt: skip
        kind = str(r.get("kind", "target"))
        if kind not in TARGET_KINDS:
            raise _err("unknown row kind", where, key=f"row {i}.kind", expected="one of: " + ", ".join(TARGET_KINDS),
                       found=repr(kind))  # fmt: skip
        rec = {"row": i, "target": t, "kind": kind}
        for k in ("y", "y_min", "y_max"):
            v = r.get(k, math.nan)
            if isinstance(v, bool) or not isinstance(v, int | float):
                raise _err(
                    "row position must be a number of pixels",
                    where,
                    key=f"row {i}.{k}",
                    found=repr(v),
                )
            rec[k] = float(v)
        out.append(rec)
    return pd.DataFrame(out, columns=["row", "target", "kind", "y", "y_min", "y_max"])


def _lanes_frame(lanes: list[dict[str, Any]], where: str) -> pd.DataFrame:
    if not lanes:
        raise _err(
            "layout names no lanes",
            where,
            expected='[lane.1] sample = "..." (or [lanes] samples = [...])',
        )
    df = pd.DataFrame(lanes)
    dup = df["lane"].duplicated()
    if dup.any():
        raise _err(
            "lane given twice",
            where,
            lane=int(df.loc[dup, "lane"].iloc[0]),
            expected="each lane once",
        )
    if "sample" not in df.columns or df["sample"].isna().any():
        bad = (
            int(df.loc[df["sample"].isna(), "lane"].iloc[0])
            if "sample" in df.columns
            else int(df["lane"].iloc[0])
        )
        raise _err(
            "lane has no sample",
            where,
            key=f"lane.{bad}.sample",
            expected='sample = "..." in every lane',
        )
    df["sample"] = df["sample"].astype(str)
    df["role"] = df["role"].fillna("sample").astype(str) if "role" in df.columns else "sample"
    bad = ~df["role"].isin(LAYOUT_ROLES)
    if bad.any():
        i = int(df.loc[bad, "lane"].iloc[0])
        raise _err("unknown lane role", where, key=f"lane.{i}.role", expected="one of: " + ", ".join(LAYOUT_ROLES),
                   found=repr(df.loc[bad, "role"].iloc[0]))  # fmt: skip
    df = df.sort_values("lane").reset_index(drop=True)
    first = ["lane", "sample", "role"]
    return df[first + [c for c in df.columns if c not in first]]


def read_layout(path: str | os.PathLike) -> BlotLayout:
    """Read a blot layout (TOML, or CSV of lanes).

    Parameters
    ----------
    path : str or path-like
        The layout file (module docstring for the format).

    Returns
    -------
    BlotLayout

    Raises
    ------
    LayoutError
        Missing file, invalid TOML (with its line), unknown top-level key, lane key that
        is not a lane number, lane without sample, repeated lane or target, reserved field
        name, unknown role or row kind; each message names the file and key.
    """
    p = os.fspath(path)
    if p.lower().endswith(".csv"):
        return _read_csv_layout(p)
    data = _load_toml(p)
    unknown = [k for k in data if k not in _TOP_KEYS]
    if unknown:
        raise _err(
            "unknown key in a blot layout",
            p,
            key=unknown[0],
            expected="one of: " + ", ".join(_TOP_KEYS),
        )
    settings = data.get("blot", {})
    name = data.get("name", "")
    if not isinstance(name, str):
        raise _err(
            "the blot name must be a text",
            p,
            key="name",
            expected='name = "replicate 1"',
            found=repr(name),
        )
    if not isinstance(settings, Mapping):
        raise _err("[blot] must be a table of options", p, key="blot", found=repr(settings))
    lanes = _lanes_frame(_lanes_from_tables(data, p), p)
    return BlotLayout(lanes, _rows(data, p), dict(settings), name, p)


def _read_csv_layout(p: str) -> BlotLayout:
    try:
        df = pd.read_csv(p, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except FileNotFoundError:
        raise _err("layout file not found", p, expected="an existing TOML or CSV file") from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise _err("layout CSV cannot be read", p, expected="a CSV with columns lane, sample",
                   found=" ".join(str(exc).split())[:120]) from None  # fmt: skip
    df.columns = [str(c).strip().lower() for c in df.columns]
    if "lane" not in df.columns or "sample" not in df.columns:
        raise _err("layout CSV lacks columns", p, line=1, expected="a header with lane and sample",
                   found=", ".join(df.columns))  # fmt: skip
    lanes = []
    for i, rec in enumerate(df.to_dict("records"), start=2):
        try:
            rec["lane"] = _lane_number(rec["lane"], p)
        except LayoutError:
            raise _err("lane must be a lane number", p, line=i, expected="1, 2, ... (1 = leftmost lane)",
                       found=repr(rec["lane"])) from None  # fmt: skip
        if "amount_ug" in rec:
            rec["amount_ug"] = (
                float(rec["amount_ug"]) if rec["amount_ug"] not in ("", None) else math.nan
            )
        lanes.append(_check_fields(rec, p, f"line {i}"))
    return BlotLayout(_lanes_frame(lanes, p), _rows({}, p), {}, "", p)


def _match_by_position(b: pd.DataFrame, todo: np.ndarray, rows: pd.DataFrame, target: pd.Series) -> None:
    """In each lane, give each row the nearest unnamed band whose box holds the row's position.

    A row's position is its ``y`` (or the middle of ``y_min``..``y_max``); a band qualifies
    when its box ``[y, y + h]`` holds that position or its centre lies in the row's range.
    Each band takes at most one row (nearest pairs first); bands no row claims keep no target.
    """
    top, height = b["y"].to_numpy(float), b["h"].to_numpy(float)
    centre = top + height / 2
    lo, hi = rows["y_min"].to_numpy(float), rows["y_max"].to_numpy(float)
    mid = np.where(np.isfinite(rows["y"].to_numpy(float)), rows["y"].to_numpy(float), (lo + hi) / 2)
    for _, pos in b.loc[todo].groupby("lane", sort=False).indices.items():
        idx = np.flatnonzero(todo)[pos]
        pairs = []
        for k in range(len(rows)):
            for i in idx:
                in_box = top[i] <= mid[k] <= top[i] + height[i]
                in_range = np.isfinite(lo[k]) and np.isfinite(hi[k]) and lo[k] <= centre[i] <= hi[k]
                if in_box or in_range:
                    pairs.append((abs(centre[i] - mid[k]), k, i))
        used_rows, used_bands = set(), set()
        for _, k, i in sorted(pairs):
            if k not in used_rows and i not in used_bands:
                target.iloc[i] = rows["target"].iloc[k]
                used_rows.add(k)
                used_bands.add(i)


def _assign_targets(b: pd.DataFrame, rows: pd.DataFrame) -> pd.Series:
    """Targets of bands that have none, from row positions or from band order in each lane."""
    target = b["target"].astype(object).where(b["target"].notna(), "").astype(str)
    todo = (target == "").to_numpy()
    if not todo.any() or rows.empty:
        return target
    centre = (b["y"] + b["h"] / 2).to_numpy(float)
    positioned = rows[["y", "y_min", "y_max"]].notna().any(axis=1).all()
    if positioned and np.isfinite(centre[todo]).all():
        _match_by_position(b, todo, rows, target)
        return target
    for _, pos in b.loc[todo].groupby("lane", sort=False).indices.items():
        idx = np.flatnonzero(todo)[pos]
        if len(idx) != len(rows):
            continue  # cannot tell which band is which: left without target
        order = np.argsort(centre[idx]) if np.isfinite(centre[idx]).all() else np.arange(len(idx))
        for k, j in enumerate(order):
            target.iloc[idx[j]] = rows["target"].iloc[k]
    return target


def apply_layout(bands: pd.DataFrame, layout: BlotLayout, *, how: str = "strict",
                 add_missing: bool = True) -> pd.DataFrame:  # fmt: skip
    """Join a layout onto a bands table.

    Parameters
    ----------
    bands : pandas.DataFrame
        A bands table (``docs/schemas.md``, "Blot bands").
    layout : BlotLayout
        From :func:`read_layout`.
    how : {'strict', 'left'}
        ``strict``: a band in a lane the layout does not name is an error; ``left``: such
        bands keep an empty sample.
    add_missing : bool
        Add a ``not_found`` row (volume NaN) for every target of the layout that a sample
        lane lacks, so that a missing band is visible instead of silently absent.

    Notes
    -----
    With row positions, each row takes the nearest band of the lane whose box holds the
    row's ``y`` (or whose centre lies in ``y_min``..``y_max``); other detected bands stay
    in the table without a target (normalisation ignores them). Without positions, the
    bands of a lane are named top to bottom when there are as many as rows.

    Returns
    -------
    pandas.DataFrame
        The bands with ``sample`` (from the layout), ``target`` (kept when given, else from
        the rows), the lane fields of the layout (``role``, ``condition``, ``fraction`` ...)
        and ``blot`` (the layout's blot name, else the image name).

    Raises
    ------
    LayoutError
        A band's lane is not in the layout (``how='strict'``), naming the lane and the
        lanes the layout has.
    """
    if how not in ("strict", "left"):
        raise LayoutError("unknown join", key="how", expected="'strict' or 'left'", found=repr(how))
    b = bands.copy().reset_index(drop=True)
    lanes = layout.lanes.set_index("lane")
    unknown = sorted(set(b["lane"].astype(int)) - set(lanes.index))
    if unknown and how == "strict":
        raise LayoutError("a lane of the bands is not in the layout", file=layout.file or None, lane=unknown[0],
                          expected=f"lanes {list(lanes.index)} (add [lane.{unknown[0]}] or use how='left')")  # fmt: skip
    for col in lanes.columns:
        mapped = b["lane"].astype(int).map(lanes[col])
        if col == "sample" and "sample" in b.columns:
            keep = b["sample"].astype(object).where(b["sample"].notna(), "").astype(str)
            b["sample"] = mapped.where(mapped.notna(), keep)
        else:
            b[col] = mapped
    for col in ("sample", "role"):
        b[col] = (
            b[col].astype(object).where(b[col].notna(), "").astype(str) if col in b.columns else ""
        )
    if "target" not in b.columns:
        b["target"] = ""
    for c in ("y", "h"):
        if c not in b.columns:
            b[c] = np.nan
    b["target"] = _assign_targets(b, layout.rows)
    if "image" not in b.columns:
        b["image"] = ""
    b["blot"] = layout.blot or ""
    b.loc[b["blot"] == "", "blot"] = b["image"].astype(str)
    if add_missing and not layout.rows.empty:
        b = _add_missing(b, layout)
    return b


def _add_missing(b: pd.DataFrame, layout: BlotLayout) -> pd.DataFrame:
    """A ``not_found`` row for every layout target a sample lane lacks."""
    lanes = layout.lanes.loc[layout.lanes["role"] == "sample"]
    extra = []
    for img in b["image"].astype(str).unique() if len(b) else [""]:
        mine = b.loc[b["image"].astype(str) == img]
        have = set(zip(mine["lane"].astype(int), mine["target"], strict=True))
        next_band = mine.groupby("lane")["band"].max().to_dict() if "band" in mine.columns else {}
        for _, lane in lanes.iterrows():
            n = int(lane["lane"])
            for t in layout.rows["target"]:
                if (n, t) in have:
                    continue
                next_band[n] = int(next_band.get(n, 0)) + 1
                rec = {c: lane[c] for c in lanes.columns}
                rec.update(image=img, target=t, volume=np.nan, status="not_found", saturated=False, n_saturated=0,
                           band=next_band[n], blot=layout.blot or img)  # fmt: skip
                extra.append(rec)
    if not extra:
        return b
    add = pd.DataFrame(extra)
    out = pd.concat(
        [b, add.reindex(columns=b.columns.union(add.columns, sort=False))], ignore_index=True
    )
    out = out[[*b.columns, *[c for c in add.columns if c not in b.columns]]]
    for c in ("x", "y", "w", "h", "background", "volume"):
        if c in out.columns:
            out[c] = out[c].astype(float)
    for c, kind in (("n_saturated", np.int64), ("band", np.int64), ("saturated", bool)):
        if c in out.columns:
            values = out[c].to_numpy(dtype=object, na_value=None)
            out[c] = np.array(
                [(v if v is not None else (False if kind is bool else 0)) for v in values]
            ).astype(kind)
    return out
