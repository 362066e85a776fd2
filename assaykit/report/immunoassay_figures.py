"""Standard-curve figures of an immunoassay analysis (matplotlib object API, no pyplot state).

* :func:`standard_curve_plot` — one curve (plate × read): log-x axis, every standard well
  (replicates as separate points; masked / hook-masked standards drawn hollow), the
  fitted curve, LLOQ/ULOQ lines, and the samples placed on the curve at their
  back-calculated in-well concentration. Takes ``ax=`` and returns it.
* :func:`standard_curve_grid` — a grid of panels, one per curve (multiplex), as a Figure.
* :func:`standard_curve_figures` — the figures a report writes: per plate, one plot when
  it has one read, else a grid; keyed by their file names.

Both draw what :func:`assaykit.immunoassay.analyze` returned; they compute nothing
but the curve's predictions for the drawn line.
"""

from __future__ import annotations

import math
import re
import textwrap
from typing import TYPE_CHECKING

import numpy as np
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from assaykit.errors import ReportError

if TYPE_CHECKING:
    from assaykit.immunoassay import ImmunoassayResult

__all__ = ["standard_curve_figures", "standard_curve_grid", "standard_curve_plot"]

_SAMPLE_COLORS = {"ok": "#1f77b4", "below_lloq": "#ff7f0e", "above_uloq": "#ff7f0e", "extrapolated": "#d62728"}


def _zero_x(conc_pos: np.ndarray) -> float:
    """Where to draw zero-concentration points on a log axis (a decade below the lowest)."""
    return float(conc_pos.min()) / 10.0 if conc_pos.size else 1e-3


def standard_curve_plot(result: ImmunoassayResult, plate: str | None = None, read: str | None = None, *, ax: Axes | None = None,
                        show_samples: bool = True) -> Axes:
    """Draw the standard curve of one plate × read.

    Parameters
    ----------
    result : ImmunoassayResult
        From :func:`assaykit.immunoassay.analyze`.
    plate, read : str, optional
        The curve to draw (default: the first of ``result.curves``).
    ax : matplotlib.axes.Axes, optional
        Axes to draw on (a new figure when None).
    show_samples : bool
        Place samples and controls on the curve (at their in-well concentration).

    Returns
    -------
    matplotlib.axes.Axes
        The Axes drawn on.

    Raises
    ------
    ReportError
        If the result has no such curve.
    """
    curves = result.curves
    if curves.empty:
        raise ReportError("the analysis has no curve to draw")
    if plate is None:
        plate = str(curves["plate"].iloc[0])
    if read is None:
        read = str(curves.loc[curves["plate"] == str(plate), "read"].iloc[0]) if (curves["plate"] == str(plate)).any() \
            else str(curves["read"].iloc[0])
    row = curves.loc[(curves["plate"] == str(plate)) & (curves["read"] == str(read))]
    if row.empty:
        raise ReportError("no such curve in the analysis", plate=str(plate), read=str(read),
                          expected="a plate × read of result.curves",
                          found=", ".join(f"{p}/{r}" for p, r in zip(curves["plate"], curves["read"], strict=True)))
    row = row.iloc[0]
    if ax is None:
        fig = Figure(figsize=(5.0, 4.0), layout="constrained")
        ax = fig.add_subplot()
    wl = result.wells
    sel = (wl["plate"] == str(plate)).to_numpy() & (wl["read"] == str(read)).to_numpy()
    w = wl.loc[sel]
    std = w.loc[w["std_conc"].notna()]
    conc = std["std_conc"].to_numpy(float)
    pos = conc[conc > 0]
    zx = _zero_x(pos)
    xs = np.where(conc > 0, conc, zx)
    used = std["used_in_fit"].to_numpy(bool)
    y = std["response"].to_numpy(float)
    ax.scatter(xs[used], y[used], s=22, color="black", zorder=3, label="standards")
    if np.any(~used):
        ax.scatter(xs[~used], y[~used], s=26, facecolors="none", edgecolors="red", zorder=3,
                   label="standards not fitted (masked / flagged)")
    curve = result.curve(plate, read)
    unit = str(row.get("conc_unit", "") or "")
    if curve is not None and pos.size:
        grid = np.geomspace(pos.min() / 3.0, pos.max() * 3.0, 200)
        ax.plot(grid, curve.predict(grid), color="#444444", lw=1.5,
                label=f"{row['model'].upper()} fit (R² {row['r2']:.4f})")
    for lim, name in ((row["lloq"], "LLOQ"), (row["uloq"], "ULOQ")):
        if np.isfinite(lim):
            ax.axvline(lim, color="#2ca02c", ls="--", lw=1)
            ax.text(lim, 1.0, f" {name}", transform=ax.get_xaxis_transform(), va="top", fontsize=7,
                    color="#2ca02c")
    if show_samples:
        s = w.loc[w["role"].isin(["sample", "control"]) & np.isfinite(w["conc_in_well"].to_numpy(float))]
        for st, g in s.groupby("status", sort=True):
            ax.scatter(g["conc_in_well"], g["response"], s=12, marker="x", color=_SAMPLE_COLORS.get(st, "gray"),
                       zorder=2, label=f"samples ({st})")
    ax.set_xscale("log")
    ax.set_xlabel(f"concentration{' (' + unit.replace('_', '/') + ')' if unit else ''}")
    ax.set_ylabel("response" + (" (blank-subtracted)" if row.get("blank_method") == "subtract_mean"
                                and np.isfinite(row.get("blank_response", np.nan)) else ""))
    title = f"{read}" if result.curves["plate"].nunique() == 1 else f"{plate} / {read}"
    if row["status"] == "failed":
        title += " — fit failed"
        ax.text(0.5, 0.5, textwrap.fill(str(row["reason"]), 32), transform=ax.transAxes, ha="center",
                va="center", fontsize=6, clip_on=True, color="#b00000")
    ax.set_title(title, fontsize=9)
    if np.any(conc == 0):
        ax.annotate("0", (zx, 0), xycoords=("data", "axes fraction"), fontsize=7, ha="center", va="bottom")
    ax.legend(fontsize=6, loc="best")
    return ax


def standard_curve_grid(result: ImmunoassayResult, plate: str | None = None, *, ncols: int | None = None,
                        panel_size: tuple[float, float] = (3.2, 2.6)) -> Figure:
    """A grid of standard-curve panels, one per read (analyte) of a plate.

    Parameters
    ----------
    result : ImmunoassayResult
        From :func:`assaykit.immunoassay.analyze`.
    plate : str, optional
        Plate to draw (default: the first).
    ncols : int, optional
        Panels per row (default: about the square root of the panel count).
    panel_size : (float, float)
        Size of one panel in inches.

    Returns
    -------
    matplotlib.figure.Figure
        The figure (one Axes per curve; unused grid cells hidden).

    Raises
    ------
    ReportError
        If the result has no curve for the plate.
    """
    curves = result.curves
    if plate is None and not curves.empty:
        plate = str(curves["plate"].iloc[0])
    reads = curves.loc[curves["plate"] == str(plate), "read"].tolist()
    if not reads:
        raise ReportError("no curve for this plate", plate=str(plate),
                          expected="a plate of result.curves", found=", ".join(map(str, curves["plate"].unique())))
    k = len(reads)
    ncols = ncols or max(1, math.ceil(math.sqrt(k)))
    nrows = math.ceil(k / ncols)
    fig = Figure(figsize=(panel_size[0] * ncols, panel_size[1] * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False)
    for i, ax in enumerate(axes.ravel()):
        if i < k:
            standard_curve_plot(result, plate, reads[i], ax=ax)
            if k > 1 and ax.get_legend() is not None:
                ax.get_legend().remove()
            ax.xaxis.label.set_size(7)
            ax.yaxis.label.set_size(7)
            ax.tick_params(labelsize=6)
        else:
            ax.set_visible(False)
    return fig


def _safe(name: object) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", str(name)).strip("_") or "x"


def standard_curve_figures(result: ImmunoassayResult) -> dict[str, Figure | Axes]:
    """The standard-curve figures of a result, by file name (without suffix).

    Per plate: ``standard_curves_<plate>`` (a :func:`standard_curve_grid`) when the plate
    has several curves, else ``standard_curve_<plate>_<read>`` (a
    :func:`standard_curve_plot`). Names keep only letters, digits, ``.``, ``_`` and ``-``.

    Parameters
    ----------
    result : ImmunoassayResult
        From :func:`assaykit.immunoassay.analyze`.

    Returns
    -------
    dict
        File stem → Figure or Axes, in the order of ``result.curves``.
    """
    out: dict[str, Figure | Axes] = {}
    for plate_name, reads in result.curves.groupby("plate", sort=False)["read"]:
        reads = list(reads)
        if len(reads) > 1:
            out[f"standard_curves_{_safe(plate_name)}"] = standard_curve_grid(result, plate_name)
        else:
            out[f"standard_curve_{_safe(plate_name)}_{_safe(reads[0])}"] = standard_curve_plot(result, plate_name,
                                                                                              reads[0])
    return out
