"""Western-blot figures: annotated image, lane profiles, fold chart.

No analysis happens here: the numbers come from :func:`assaykit.blot.quantify` (bands,
lanes, profiles) and :func:`assaykit.blot.normalize` (normalized, replicates). Functions
drawing one panel take ``ax=`` (a new figure is made when it is None) and return the Axes;
:func:`lane_profiles` returns a Figure with one panel per lane.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch, Rectangle

from assaykit.errors import ReportError

__all__ = ["SATURATED_COLOUR", "annotated_image", "fold_chart", "lane_profiles"]

#: Colour of saturated pixels on the annotated image.
SATURATED_COLOUR = (1.0, 0.0, 0.8, 1.0)  # magenta: distinct from the grey image and the box colours
_BOX_COLOURS = (
    "tab:cyan",
    "tab:orange",
    "tab:green",
    "tab:red",
    "tab:purple",
    "tab:olive",
    "tab:blue",
)


def _new_axes(figsize: tuple[float, float]) -> Axes:
    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _need(table: pd.DataFrame, cols: tuple[str, ...], what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ReportError(
            f"{what} must be a table", expected="a pandas DataFrame", found=type(table).__name__
        )
    missing = [c for c in cols if c not in table.columns]
    if missing:
        raise ReportError(f"{what} lacks columns", column=missing[0], expected=", ".join(cols),
                          found=", ".join(map(str, table.columns)))  # fmt: skip


def annotated_image(
    image: np.ndarray,
    bands: pd.DataFrame,
    lanes: pd.DataFrame | None = None,
    *,
    polarity: str = "dark",
    saturation: float | None = None,
    title: str = "",
    ax: Axes | None = None,
) -> Axes:
    """The blot with its lanes, band boxes and saturated pixels.

    Parameters
    ----------
    image : numpy.ndarray
        The raw 2-D image.
    bands : pandas.DataFrame
        The bands table (``lane``, ``x``, ``y``, ``w``, ``h``; ``target``, ``saturated``
        used when present). Boxes of saturated bands are drawn dashed.
    lanes : pandas.DataFrame, optional
        ``lane``, ``x_left``, ``x_right``: drawn as thin vertical lines with lane numbers.
    polarity : {'dark', 'light'}
        Shown so that bands are dark on light (as on film) in both cases.
    saturation : float, optional
        Raw value of a saturated pixel; those pixels are painted :data:`SATURATED_COLOUR`.
    title : str
        Axes title.
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    arr = np.asarray(image, dtype=float)
    if arr.ndim != 2:
        raise ReportError(
            "image must be 2-D", expected="a greyscale image", found=f"shape {arr.shape}"
        )
    _need(bands, ("lane", "x", "y", "w", "h"), "bands")
    h, w = arr.shape
    ax = ax if ax is not None else _new_axes((min(12.0, 2 + w / 110), min(10.0, 1.5 + h / 110)))
    lo, hi = np.nanpercentile(arr, [0.5, 99.8])
    cmap = "gray_r" if polarity == "dark" else "gray"
    ax.imshow(arr, cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
    if saturation is not None:
        mask = arr == float(saturation)
        if mask.any():
            overlay = np.zeros((h, w, 4))
            overlay[mask] = SATURATED_COLOUR
            ax.imshow(overlay, interpolation="nearest")
    if lanes is not None and len(lanes):
        _need(lanes, ("lane", "x_left", "x_right"), "lanes")
        for r in lanes.itertuples(index=False):
            for x in (r.x_left, r.x_right):
                ax.axvline(x, color="tab:blue", lw=0.6, alpha=0.6)
            ax.text(
                (r.x_left + r.x_right) / 2,
                2,
                str(r.lane),
                color="tab:blue",
                ha="center",
                va="top",
                fontsize=8,
            )
    handles = _draw_boxes(ax, bands)
    ax.set_xlim(-0.5, w - 0.5)
    ax.set_ylim(h - 0.5, -0.5)
    ax.set_xlabel("x (pixels)")
    ax.set_ylabel("y (pixels)")
    handles["saturated pixels"] = Patch(facecolor=SATURATED_COLOUR)
    ax.legend(list(handles.values()), list(handles), loc="upper center", bbox_to_anchor=(0.5, -0.12),
              ncol=min(len(handles), 5), fontsize=7, frameon=False)  # fmt: skip
    if title:
        ax.set_title(title)
    return ax


def _draw_boxes(ax: Axes, bands: pd.DataFrame) -> dict[str, Line2D]:
    """Draw the band boxes (dashed when saturated); return legend handles by label."""
    targets = (
        [t for t in pd.unique(bands["target"].astype(str))] if "target" in bands.columns else [""]
    )
    colour = {t: _BOX_COLOURS[i % len(_BOX_COLOURS)] for i, t in enumerate(targets)}
    for r in bands.itertuples(index=False):
        if not all(math.isfinite(float(v)) for v in (r.x, r.y, r.w, r.h)):
            continue
        t = str(getattr(r, "target", ""))
        sat = bool(getattr(r, "saturated", False))
        ax.add_patch(Rectangle((r.x - 0.5, r.y - 0.5), r.w, r.h, fill=False, lw=1.0, ec=colour.get(t, "tab:cyan"),
                               ls="--" if sat else "-", label=t))  # fmt: skip
    return {(t or "band") + " box": Line2D([], [], color=c, lw=1.5) for t, c in colour.items()}


def lane_profiles(
    profiles: pd.DataFrame,
    bands: pd.DataFrame | None = None,
    *,
    ncols: int = 4,
    title: str = "",
) -> Figure:
    """One panel per lane: raw profile, background, background-subtracted signal and fitted peaks.

    Parameters
    ----------
    profiles : pandas.DataFrame
        ``QuantifyResult.profiles``: ``lane``, ``y``, ``raw``, ``background``, ``signal``,
        ``fit`` (NaN where no peak was fitted).
    bands : pandas.DataFrame, optional
        Band boxes (``lane``, ``y``, ``h``, ``target``): shaded on each panel.
    ncols : int
        Panels per row.
    title : str
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        One Axes per lane (``fig.axes``), position along the lane on x.
    """
    _need(profiles, ("lane", "y", "raw", "background", "signal"), "profiles")
    lanes = list(pd.unique(profiles["lane"]))
    if not lanes:
        raise ReportError(
            "no lane profiles to draw",
            expected="profiles of at least one lane",
            found="an empty table",
        )
    ncols = max(1, min(ncols, len(lanes)))
    nrows = math.ceil(len(lanes) / ncols)
    fig = Figure(figsize=(3.2 * ncols, 2.4 * nrows), layout="constrained")
    axes = fig.subplots(nrows, ncols, squeeze=False, sharey=True)
    for k, lane in enumerate(lanes):
        ax = axes[k // ncols][k % ncols]
        p = profiles.loc[profiles["lane"] == lane].sort_values("y")
        ax.plot(p["y"], p["raw"], color="0.6", lw=0.8, label="raw")
        ax.plot(p["y"], p["background"], color="tab:blue", lw=0.8, ls="--", label="baseline")
        ax.plot(p["y"], p["signal"], color="black", lw=1.0, label="signal")
        if "fit" in p.columns and p["fit"].notna().any():
            ax.plot(p["y"], p["fit"], color="tab:red", lw=1.0, label="fitted peaks")
        if bands is not None and len(bands) and {"lane", "y", "h"} <= set(bands.columns):
            for r in bands.loc[bands["lane"] == lane].itertuples(index=False):
                if math.isfinite(float(r.y)) and math.isfinite(float(r.h)):
                    ax.axvspan(r.y, r.y + r.h, color="tab:orange", alpha=0.15, lw=0)
                    ax.text(r.y + r.h / 2, 1.0, str(getattr(r, "target", "")), transform=ax.get_xaxis_transform(),
                            ha="center", va="top", fontsize=6, rotation=90)  # fmt: skip
        ax.set_title(f"lane {lane}", fontsize=9)
        ax.set_xlabel("y (pixels)", fontsize=8)
        ax.tick_params(labelsize=7)
    for k in range(len(lanes), nrows * ncols):
        axes[k // ncols][k % ncols].set_visible(False)
    axes[0][0].set_ylabel("mean signal across the lane", fontsize=8)
    axes[0][0].legend(fontsize=6, loc="upper left")
    if title:
        fig.suptitle(title)
    return fig


def fold_chart(
    normalized: pd.DataFrame,
    replicates: pd.DataFrame | None = None,
    *,
    target: str | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Fold versus control per group: bars = mean, points = each lane (replicate blots as points).

    Parameters
    ----------
    normalized : pandas.DataFrame
        ``normalize(...).normalized``: ``target``, ``group``, ``fold``, ``status`` (and
        ``fraction``, ``image``).
    replicates : pandas.DataFrame, optional
        ``normalize(...).replicates`` (``mean_fold``, ``sd_fold``): bars ± SD. Without it
        the bars are the mean of the points.
    target : str, optional
        Only this target (default: every target, side by side).
    ax : matplotlib.axes.Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Points of flagged lanes (status other than ``ok``) are drawn hollow.
    """
    _need(normalized, ("target", "group", "fold", "status"), "normalized")
    d = normalized if target is None else normalized.loc[normalized["target"] == target]
    if "fraction" not in d.columns:
        d = d.assign(fraction="")
    keys = list(dict.fromkeys(zip(d["target"], d["fraction"].fillna(""), strict=True)))
    groups = list(pd.unique(d["group"]))
    ax = (
        ax
        if ax is not None
        else _new_axes((max(4.5, 1.5 + 0.5 * len(groups) * max(len(keys), 1)), 4.0))
    )
    width = 0.8 / max(len(keys), 1)
    rng = np.random.default_rng(0)
    for k, (t, f) in enumerate(keys):
        sub = d.loc[(d["target"] == t) & (d["fraction"].fillna("") == f)]
        label = f"{t} ({f})" if f else str(t)
        colour = _BOX_COLOURS[k % len(_BOX_COLOURS)]
        means, sds = [], []
        for g in groups:
            vals = sub.loc[sub["group"] == g, "fold"].to_numpy(float)
            rep = None
            if replicates is not None and len(replicates):
                m = replicates.loc[(replicates["target"] == t) & (replicates["group"] == g)
                                   & (replicates["fraction"].fillna("") == f)]  # fmt: skip
                rep = m.iloc[0] if len(m) else None
            means.append(
                float(rep["mean_fold"])
                if rep is not None
                else (float(np.nanmean(vals)) if np.isfinite(vals).any() else np.nan)
            )
            sds.append(float(rep["sd_fold"]) if rep is not None else np.nan)
        x = np.arange(len(groups)) + (k - (len(keys) - 1) / 2) * width
        ax.bar(x, means, width * 0.9, color=colour, alpha=0.45, label=label,
               yerr=np.nan_to_num(sds, nan=0.0), capsize=2, error_kw={"lw": 0.8})  # fmt: skip
        for i, g in enumerate(groups):
            pts = sub.loc[sub["group"] == g]
            jit = rng.uniform(-0.25, 0.25, len(pts)) * width
            ok = (pts["status"] == "ok").to_numpy()
            ax.scatter(
                x[i] + jit[ok], pts["fold"].to_numpy(float)[ok], s=14, color=colour, zorder=3
            )
            ax.scatter(x[i] + jit[~ok], pts["fold"].to_numpy(float)[~ok], s=14, facecolors="none", edgecolors=colour,
                       zorder=3)  # fmt: skip
    ax.axhline(1.0, color="0.4", lw=0.8, ls=":")
    ax.set_xticks(
        np.arange(len(groups)), [str(g) for g in groups], rotation=45, ha="right", fontsize=8
    )
    ax.set_ylabel(
        "fold vs control (target / loading)\nbars: mean ± SD; points: lanes; hollow: flagged"
    )
    ax.legend(fontsize=7)
    return ax
