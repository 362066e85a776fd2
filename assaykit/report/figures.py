"""Figures drawn with matplotlib's object API (no pyplot state, nothing shown).

Every plotting function takes ``ax=`` (a new figure is made when it is None) and
returns the Axes it drew on, so figures compose into panels. :func:`save_figure`
writes a figure to disk.

Examples
--------
>>> import assaykit
>>> from assaykit.datasets import path
>>> plate = assaykit.read_plate(path("elisa_il6_gen5.txt"))  # doctest: +SKIP
>>> ax = plate_heatmap(plate, "abs_450")  # doctest: +SKIP
>>> save_figure(ax, "plate.png")  # doctest: +SKIP
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm, Normalize
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

from assaykit.errors import ReportError
from assaykit.schema import row_index, row_letter

__all__ = ["FLAG_ABBREVIATIONS", "plate_heatmap", "save_figure"]

#: Short labels drawn in wells that have no value, by flag (other flags: the first 6 letters).
FLAG_ABBREVIATIONS: dict[str, str] = {
    "overflow": "OVER",
    "missed": "MISS",
    "not_numeric": "text",
    "invalid": "inval",
    "out_of_range_low": "<OOR",
    "out_of_range_high": ">OOR",
    "extrapolated": "extrap",
    "empty": "empty",
    "low_bead_count": "lowN",
}

_PLATE_SHAPES = ((8, 12), (16, 24), (32, 48))
_FORMATS = (".png", ".pdf", ".svg", ".jpg", ".jpeg", ".tif", ".tiff", ".eps")


def _new_axes(figsize: tuple[float, float]) -> Axes:
    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _flag_label(flag: str) -> str:
    first = flag.split(";")[0]
    return FLAG_ABBREVIATIONS.get(first, first[:6])


def _select(table: pd.DataFrame, read: str, metric: str, plate: str | None) -> tuple[pd.DataFrame, str]:
    needed = ("plate", "row", "col", "read", "metric", "value", "flag")
    missing = [c for c in needed if c not in table.columns]
    if missing:
        raise ReportError(
            "not a plate-read table",
            expected=f"columns {list(needed)}",
            found=f"missing {missing}",
        )
    reads = list(dict.fromkeys(table["read"].astype(str)))
    if read not in reads:
        raise ReportError("read not in the table", read=read, expected=f"one of {reads}", found=repr(read))
    sub = table.loc[table["read"].astype(str) == read]
    metrics = list(dict.fromkeys(sub["metric"].astype(str)))
    if metric not in metrics:
        raise ReportError(
            "metric not in the table for this read", read=read, expected=f"one of {metrics}", found=repr(metric)
        )
    sub = sub.loc[sub["metric"].astype(str) == metric]
    plates = list(dict.fromkeys(sub["plate"].astype(str)))
    if plate is None:
        if len(plates) > 1:
            raise ReportError(
                "several plates in the table: pass plate=", read=read, expected="one plate name", found=", ".join(plates)
            )
        plate = plates[0]
    elif str(plate) not in plates:
        raise ReportError("plate not in the table", read=read, expected=f"one of {plates}", found=repr(plate))
    sub = sub.loc[sub["plate"].astype(str) == str(plate)]
    return sub, str(plate)


def _shape(sub: pd.DataFrame, n_wells: int | None) -> tuple[int, int]:
    max_r = max(row_index(r) for r in sub["row"].astype(str)) + 1
    max_c = int(sub["col"].max())
    if n_wells is not None:
        from assaykit.schema import plate_dims

        n_rows, n_cols = plate_dims(n_wells)
        if max_r > n_rows or max_c > n_cols:
            raise ReportError(
                "wells outside the plate size asked for",
                expected=f"wells within {n_rows} rows × {n_cols} columns",
                found=f"a well in row {row_letter(max_r - 1)} or column {max_c}",
            )
        return n_rows, n_cols
    for n_rows, n_cols in _PLATE_SHAPES:
        if max_r <= n_rows and max_c <= n_cols:
            return n_rows, n_cols
    raise ReportError("plate too large to draw", expected="at most 32 rows × 48 columns", found=f"{max_r} × {max_c}")


def plate_heatmap(
    plate_table: pd.DataFrame,
    read: str,
    *,
    metric: str = "raw",
    plate: str | None = None,
    ax: Axes | None = None,
    annotate: bool = True,
    cmap: str = "viridis",
    log: bool = False,
    fmt: str = "{:.3g}",
    n_wells: int | None = None,
    colorbar: bool = True,
    title: str | None = None,
) -> Axes:
    """Draw one read of one plate as a plate-shaped heat map.

    Parameters
    ----------
    plate_table : pandas.DataFrame
        A canonical plate-read table (``plate, row, col, read, metric, value, flag``),
        annotated or not.
    read : str
        The read to draw (``'abs_450'``, an analyte ...).
    metric : str
        The metric of that read (default ``'raw'``).
    plate : str, optional
        Plate name; required when the table holds several plates for this read.
    ax : matplotlib.axes.Axes, optional
        Where to draw; a new figure is made when None.
    annotate : bool
        Write each well's value (``fmt``) in its cell; wells without a value show a short
        label of their flag (:data:`FLAG_ABBREVIATIONS`) or ``'NaN'``.
    cmap : str
        Colour map name.
    log : bool
        Logarithmic colour scale; values ≤ 0 cannot be placed on it and are drawn grey
        (still annotated with their number).
    fmt : str
        Format of the annotations.
    n_wells : int, optional
        Plate size to draw (96, 384, 1536); default: the smallest of those that holds
        every well of the table.
    colorbar : bool
        Add a colour bar labelled with the read and metric.
    title : str, optional
        Axes title (default ``'<read> (<metric>), plate <plate>'``).

    Returns
    -------
    matplotlib.axes.Axes
        The axes drawn on. Rows are labelled with letters (top to bottom), columns with
        numbers (on top, as on the plate). Wells without a value are grey and hatched;
        wells with a value *and* a flag get a red outline; wells absent from the export
        stay white.

    Raises
    ------
    ReportError
        If the read, metric or plate is not in the table, the plate is ambiguous, the
        table is not a plate-read table, or it has no finite value to scale colours.
    """
    import matplotlib

    if cmap not in matplotlib.colormaps:
        raise ReportError("unknown colour map", expected="a matplotlib colormap name such as 'viridis'", found=repr(cmap))
    sub, plate_name = _select(plate_table, read, metric, plate)
    n_rows, n_cols = _shape(sub, n_wells)
    values = np.full((n_rows, n_cols), np.nan)
    present = np.zeros((n_rows, n_cols), dtype=bool)
    flags = np.full((n_rows, n_cols), "", dtype=object)
    rows = np.fromiter((row_index(r) for r in sub["row"].astype(str)), dtype=int, count=len(sub))
    cols = sub["col"].to_numpy(dtype=int) - 1
    values[rows, cols] = sub["value"].to_numpy(dtype=float)
    present[rows, cols] = True
    flags[rows, cols] = sub["flag"].fillna("").astype(str).to_numpy()

    finite = values[np.isfinite(values)]
    if log:
        finite = finite[finite > 0]
    if finite.size == 0:
        raise ReportError(
            "nothing to draw: no finite value" + (" above 0 for a log scale" if log else ""),
            plate=plate_name,
            read=read,
            expected="at least one numeric well",
            found=f"{int(present.sum())} wells without a usable value",
        )
    vmin, vmax = float(finite.min()), float(finite.max())
    if vmin == vmax:
        vmin, vmax = (vmin / 2, vmax * 2) if log else (vmin - 0.5, vmax + 0.5)
    norm = LogNorm(vmin, vmax) if log else Normalize(vmin, vmax)
    color_values = np.where(values > 0, values, np.nan) if log else values

    big = n_rows > 8
    if ax is None:
        ax = _new_axes((10, 6.2) if big else (7.5, 4.6))
    cm = matplotlib.colormaps[cmap].with_extremes(bad="#d9d9d9")
    image = ax.imshow(
        np.ma.masked_invalid(color_values),
        cmap=cm,
        norm=norm,
        aspect="equal",
        interpolation="nearest",
        extent=(0.5, n_cols + 0.5, n_rows + 0.5, 0.5),
    )
    image.set_gid("plate_heatmap")

    # absent wells: white; no value: hatched grey; value with a flag: red outline
    for r, c in zip(*np.nonzero(~present), strict=True):
        ax.add_patch(Rectangle((c + 0.5, r + 0.5), 1, 1, facecolor="white", edgecolor="#eeeeee", lw=0.5))
    no_value = present & ~np.isfinite(values)
    for r, c in zip(*np.nonzero(no_value), strict=True):
        ax.add_patch(
            Rectangle((c + 0.5, r + 0.5), 1, 1, facecolor="none", edgecolor="#777777", hatch="///", lw=0.0, gid="no_value")
        )
    flagged = present & np.isfinite(values) & (flags != "")
    for r, c in zip(*np.nonzero(flagged), strict=True):
        ax.add_patch(
            Rectangle((c + 0.56, r + 0.56), 0.88, 0.88, facecolor="none", edgecolor="red", lw=1.2, gid="flagged")
        )

    if annotate:
        size = 4.0 if n_rows > 16 else (5.0 if big else 7.0)
        for r, c in zip(*np.nonzero(present), strict=True):
            v = values[r, c]
            if np.isfinite(v):
                text = fmt.format(v)
                rgba = cm(norm(v)) if (not log or v > 0) else cm.get_bad()
                lum = 0.299 * rgba[0] + 0.587 * rgba[1] + 0.114 * rgba[2]
                color = "black" if lum > 0.5 else "white"
            else:
                text = _flag_label(flags[r, c]) if flags[r, c] else "NaN"
                color = "black"
            ax.text(c + 1, r + 1, text, ha="center", va="center", fontsize=size, color=color, gid="well_label")

    ax.set_xticks(np.arange(1, n_cols + 1), [str(i) for i in range(1, n_cols + 1)])
    ax.set_yticks(np.arange(1, n_rows + 1), [row_letter(i) for i in range(n_rows)])
    ax.xaxis.tick_top()
    ax.tick_params(length=0, labelsize=6 if big else 8)
    ax.set_xlim(0.5, n_cols + 0.5)
    ax.set_ylim(n_rows + 0.5, 0.5)
    for spine in ax.spines.values():
        spine.set_visible(False)
    plate_label = plate_name if plate_name.lower().startswith("plate") else f"plate {plate_name}"
    ax.set_title(title if title is not None else f"{read} ({metric}), {plate_label}", fontsize=10)
    if colorbar:
        cb = ax.figure.colorbar(image, ax=ax, shrink=0.8)
        cb.set_label(f"{read} ({metric})" + (", log scale" if log else ""))
    n_flag = int((present & (flags != "")).sum())
    if n_flag:
        ax.set_xlabel(
            f"{n_flag} flagged well{'s' if n_flag > 1 else ''}: red outline = flagged value, "
            "hatched = no value",
            fontsize=7,
        )
    return ax


def save_figure(fig: Figure | Axes, path: str | os.PathLike, *, dpi: int = 150, **kwargs: Any) -> Path:
    """Save a figure (or the figure of an Axes) to ``path``.

    Parameters
    ----------
    fig : matplotlib.figure.Figure or matplotlib.axes.Axes
        What to save.
    path : str or path-like
        Output file; the format follows the suffix (``.png``, ``.pdf``, ``.svg`` ...).
        Its folder must exist.
    dpi : int
        Resolution of raster formats.
    **kwargs
        Passed to :meth:`matplotlib.figure.Figure.savefig`.

    Returns
    -------
    pathlib.Path
        ``path``.

    Raises
    ------
    ReportError
        On an unsupported suffix, a missing folder, or a write failure.
    """
    if isinstance(fig, Axes):
        fig = fig.figure
    if not isinstance(fig, Figure):
        raise ReportError("not a matplotlib figure", expected="Figure or Axes", found=type(fig).__name__)
    out = Path(path)
    if out.suffix.lower() not in _FORMATS:
        raise ReportError("unsupported figure format", file=str(out), expected=" ".join(_FORMATS), found=repr(out.suffix))
    if not out.parent.is_dir():
        raise ReportError("folder of the figure does not exist", file=str(out), found=f"no folder {out.parent}")
    try:
        fig.savefig(out, dpi=dpi, **kwargs)
    except OSError as exc:
        raise ReportError("cannot write figure", file=str(out), found=exc.strerror or str(exc)) from None
    return out

