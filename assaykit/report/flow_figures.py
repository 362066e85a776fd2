"""Flow cytometry figures: gates drawn on pseudocolour plots along the hierarchy, subset frequencies.

* :func:`gate_plot` — one gate on its parent's events: a pseudocolour plot (2-D gates)
  or a histogram (1-D range gates), the gate outline and its label with the % of parent.
* :func:`quadrant_plot` — two 1-D gates crossed (e.g. IFN-γ × IL-17A) with the % of
  each Boolean combination (Th1, Th17, Th1/17) in its quadrant.
* :func:`sample_gate_figure` — every gate of one sample, laid out along the hierarchy.
* :func:`frequency_plot` — a population's frequency per group, each donor a point
  (joined across groups).

Each plotting function takes ``ax=`` (a new figure is made when it is None) and returns
the Axes (:func:`sample_gate_figure` returns its Figure). No analysis happens here: event
values, masks, gates and percentages come from :class:`assaykit.flow.GatingResult` and
:func:`assaykit.flow.dimension_values`; :func:`gate_shape` only reads a FlowKit gate's
geometry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.colors import LogNorm
from matplotlib.figure import Figure
from matplotlib.patches import Polygon, Rectangle
from matplotlib.ticker import FuncFormatter

from assaykit.errors import ReportError

__all__ = [
    "GateShape",
    "frequency_plot",
    "gate_label",
    "gate_plot",
    "gate_shape",
    "quadrant_plot",
    "sample_gate_figure",
    "sample_strategy",
]

#: Colour of gate outlines and labels.
GATE_COLOUR = "#d62728"
_LAYOUT: str | None = None


@dataclass(frozen=True)
class GateShape:
    """The geometry of one gate, in the units its dimensions are gated in.

    Attributes
    ----------
    kind : {'polygon', 'rectangle', 'range', 'boolean', 'other'}
        ``range`` is a 1-D rectangle gate; ``boolean`` and ``other`` cannot be drawn
        as one outline.
    dims : tuple of str
        Dimension (channel) ids, x first.
    vertices : tuple of (float, float)
        Polygon vertices.
    bounds : tuple of (float or None, float or None)
        ``(min, max)`` per dimension of a rectangle or range (None: open).
    """

    kind: str
    dims: tuple[str, ...]
    vertices: tuple[tuple[float, float], ...] = ()
    bounds: tuple[tuple[float | None, float | None], ...] = ()


def gate_shape(gate: Any) -> GateShape:
    """Read the geometry of a FlowKit gate.

    Parameters
    ----------
    gate : flowkit gate
        ``PolygonGate``, ``RectangleGate`` (1-D: a range), ``BooleanGate`` or another gate.

    Returns
    -------
    GateShape
    """
    kind = type(gate).__name__
    dims = tuple(str(d.id) for d in (getattr(gate, "dimensions", None) or ()))
    if kind == "PolygonGate":
        verts = tuple((float(x), float(y)) for x, y in gate.vertices)
        return GateShape("polygon", dims, vertices=verts)
    if kind == "RectangleGate":
        bounds = tuple(
            (None if d.min is None else float(d.min), None if d.max is None else float(d.max)) for d in gate.dimensions
        )
        return GateShape("range" if len(dims) == 1 else "rectangle", dims, bounds=bounds)
    if kind == "BooleanGate":
        return GateShape("boolean", dims)
    return GateShape("other", dims)


def gate_label(label: str, pct: float, count: int | None = None) -> str:
    """The text drawn in a gate: ``'CD4+\\n61.7 %'`` (with ``'(n = 812)'`` when a count is given).

    Examples
    --------
    >>> gate_label("CD4+", 61.73)
    'CD4+\\n61.7 %'
    >>> gate_label("Th17", 0.0, 0)
    'Th17\\n0.0 % (n = 0)'
    """
    text = f"{label}\n{pct:.1f} %" if np.isfinite(pct) else f"{label}\nn/a"
    return text if count is None else f"{text} (n = {int(count)})"


def _new_axes(figsize: tuple[float, float] = (3.6, 3.2)) -> Axes:
    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def _limits(values: np.ndarray, extra: Sequence[float] = ()) -> tuple[float, float]:
    """View range: the data (0.05-99.95 % quantiles) and the gate's coordinates near them.

    Gate coordinates further than one data span from the data (e.g. a template polygon drawn
    out to 262144) are left out of view so that the events are not squeezed into a corner.
    """
    finite = values[np.isfinite(values)]
    pts = [float(v) for v in extra if v is not None and np.isfinite(v)]
    if finite.size:
        dlo, dhi = float(np.quantile(finite, 0.0005)), float(np.quantile(finite, 0.9995))
        span = max(dhi - dlo, 1e-12)
        pts = [v for v in pts if dlo - span <= v <= dhi + span] + [dlo, dhi]
    if not pts:
        return 0.0, 1.0
    lo, hi = min(pts), max(pts)
    pad = 0.04 * (hi - lo) if hi > lo else 0.5
    return lo - pad, hi + pad


def _thousands(ax: Axes) -> None:
    """Scatter-sized linear axes (up to 262144) labelled in thousands: ``50k``."""
    for axis, lim in ((ax.xaxis, ax.get_xlim()), (ax.yaxis, ax.get_ylim())):
        if max(abs(lim[0]), abs(lim[1])) >= 10000:
            axis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v / 1000:g}k"))


def _density(ax: Axes, x: np.ndarray, y: np.ndarray, xlim, ylim, bins: int) -> None:
    ok = np.isfinite(x) & np.isfinite(y)
    if not ok.any():
        return
    h, xe, ye = np.histogram2d(x[ok], y[ok], bins=bins, range=[xlim, ylim])
    h = np.where(h > 0, h, np.nan)
    if np.isfinite(h).any():
        ax.pcolormesh(xe, ye, h.T, cmap="jet", norm=LogNorm(vmin=1, vmax=max(1.0, float(np.nanmax(h)))),
                      rasterized=True)  # fmt: skip


def _label_point(verts: np.ndarray, x: np.ndarray, y: np.ndarray, xlim, ylim) -> tuple[float, float]:
    """Where a polygon's label goes: the median of the events drawn inside it, else its clipped centroid."""
    from matplotlib.path import Path as MplPath

    ok = np.isfinite(x) & np.isfinite(y)
    pts = np.column_stack([x[ok], y[ok]])[:: max(1, int(ok.sum()) // 5000)]
    inside = pts[MplPath(verts).contains_points(pts)] if len(pts) else pts
    if len(inside):
        cx, cy = np.median(inside, axis=0)
    else:
        cx, cy = verts.mean(axis=0)
    return float(np.clip(cx, *xlim)), float(np.clip(cy, *ylim))


def _draw_outline(ax: Axes, shape: GateShape, xlim, ylim, x: np.ndarray | None = None,
                  y: np.ndarray | None = None) -> tuple[float, float]:  # fmt: skip
    """Draw the gate; return where its label goes (data coordinates)."""
    if shape.kind == "polygon":
        verts = np.asarray(shape.vertices, dtype=float)
        ax.add_patch(Polygon(verts, closed=True, fill=False, edgecolor=GATE_COLOUR, linewidth=1.5, label="gate"))
        if x is not None and y is not None:
            return _label_point(verts, x, y, xlim, ylim)
        cx, cy = verts.mean(axis=0)
        return float(np.clip(cx, *xlim)), float(np.clip(cy, *ylim))
    if shape.kind == "rectangle":
        (x0, x1), (y0, y1) = shape.bounds[:2]
        x0, x1 = (xlim[0] if x0 is None else x0), (xlim[1] if x1 is None else x1)
        y0, y1 = (ylim[0] if y0 is None else y0), (ylim[1] if y1 is None else y1)
        ax.add_patch(Rectangle((x0, y0), x1 - x0, y1 - y0, fill=False, edgecolor=GATE_COLOUR, linewidth=1.5,
                               label="gate"))  # fmt: skip
        cx = (max(x0, xlim[0]) + min(x1, xlim[1])) / 2
        cy = (max(y0, ylim[0]) + min(y1, ylim[1])) / 2
        return cx, cy
    if shape.kind == "range":
        lo, hi = shape.bounds[0]
        a, b = (xlim[0] if lo is None else lo), (xlim[1] if hi is None else hi)
        ax.axvspan(a, b, color=GATE_COLOUR, alpha=0.08, label="gate")
        for v in (lo, hi):
            if v is not None:
                ax.axvline(v, color=GATE_COLOUR, linewidth=1.5)
        return (max(a, xlim[0]) + min(b, xlim[1])) / 2, float("nan")
    raise ReportError("gate cannot be drawn as an outline", expected="polygon, rectangle or range gate",
                      found=shape.kind)  # fmt: skip


def gate_plot(
    x: np.ndarray,
    y: np.ndarray | None,
    shape: GateShape,
    *,
    pct: float,
    count: int | None = None,
    label: str = "",
    xlabel: str | None = None,
    ylabel: str | None = None,
    title: str | None = None,
    bins: int = 128,
    ax: Axes | None = None,
) -> Axes:
    """Draw one gate on its parent's events, with its label and % of parent.

    Parameters
    ----------
    x, y : numpy.ndarray
        The parent population's values on the gate's dimensions (same units as the gate:
        compensated and transformed as the strategy says). ``y`` is None for a range gate.
    shape : GateShape
        The gate (:func:`gate_shape`).
    pct : float
        % of parent shown in the label.
    count : int, optional
        Events in the gate (shown as ``n = ...`` when given).
    label : str
        Display label of the gate (e.g. ``'CD4+'``).
    xlabel, ylabel, title : str, optional
        Axis labels (default: the dimension ids) and panel title.
    bins : int
        Bins per axis of the pseudocolour plot / histogram.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ReportError
        If the gate is not drawable (Boolean) or ``y`` is missing for a 2-D gate.
    """
    ax = _new_axes() if ax is None else ax
    x = np.asarray(x, dtype=float)
    extra_x = [b for b in (shape.bounds[0] if shape.bounds else ()) if b is not None]
    if shape.kind == "polygon":
        extra_x = [v[0] for v in shape.vertices]
    xlim = _limits(x, extra_x)
    if shape.kind == "range":
        finite = x[np.isfinite(x)]
        ax.hist(finite, bins=bins, range=xlim, histtype="stepfilled", color="0.55", edgecolor="0.3")
        ax.set_xlim(*xlim)
        lx, _ = _draw_outline(ax, shape, xlim, ax.get_ylim())
        ax.text(lx, 0.93, gate_label(label, pct, count), transform=ax.get_xaxis_transform(), ha="center", va="top",
                color=GATE_COLOUR, fontsize=8, bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})  # fmt: skip
        ax.set_ylabel(ylabel or "events")
    else:
        if y is None or shape.kind not in ("polygon", "rectangle"):
            raise ReportError("a 2-D gate needs x and y values" if y is None else "gate cannot be drawn as an outline",
                              gate=label or None, found=shape.kind)  # fmt: skip
        y = np.asarray(y, dtype=float)
        extra_y = [v[1] for v in shape.vertices] if shape.kind == "polygon" else [
            b for b in shape.bounds[1] if b is not None]  # fmt: skip
        ylim = _limits(y, extra_y)
        _density(ax, x, y, xlim, ylim, bins)
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        lx, ly = _draw_outline(ax, shape, xlim, ylim, x, y)
        ax.text(lx, ly, gate_label(label, pct, count), ha="center", va="center", color=GATE_COLOUR, fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})  # fmt: skip
        ax.set_ylabel(ylabel or shape.dims[1])
    ax.set_xlabel(xlabel or shape.dims[0])
    if title:
        ax.set_title(title, fontsize=9)
    _thousands(ax)
    return ax


def quadrant_plot(
    x: np.ndarray,
    y: np.ndarray,
    xcut: float,
    ycut: float,
    quadrants: Mapping[tuple[bool, bool], tuple[str, float]],
    *,
    xlabel: str = "",
    ylabel: str = "",
    title: str | None = None,
    bins: int = 128,
    ax: Axes | None = None,
) -> Axes:
    """Two 1-D gates crossed: pseudocolour plot, both cuts, % of each quadrant population.

    Parameters
    ----------
    x, y : numpy.ndarray
        Parent events on the two dimensions.
    xcut, ycut : float
        Lower bounds of the two positive gates.
    quadrants : mapping
        ``{(x_positive, y_positive): (label, pct)}``, e.g. ``{(True, False): ('Th1', 12.3)}``.
    xlabel, ylabel, title : str
    bins : int
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
    """
    ax = _new_axes() if ax is None else ax
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    xlim, ylim = _limits(x, [xcut]), _limits(y, [ycut])
    _density(ax, x, y, xlim, ylim, bins)
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.axvline(xcut, color=GATE_COLOUR, linewidth=1.5)
    ax.axhline(ycut, color=GATE_COLOUR, linewidth=1.5)
    for (xpos, ypos), (label, pct) in quadrants.items():
        ax.text(0.97 if xpos else 0.03, 0.97 if ypos else 0.03, gate_label(label, pct), transform=ax.transAxes,
                ha="right" if xpos else "left", va="top" if ypos else "bottom", color=GATE_COLOUR, fontsize=8,
                bbox={"facecolor": "white", "alpha": 0.8, "edgecolor": "none"})  # fmt: skip
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    return ax


def _path_str(path: Sequence[str], gate_id: str) -> str:
    """``GatingResult.stats['path']`` of a gate: its ancestors (without ``root``) and itself, ``/``-joined."""
    return "/".join([*[p for p in path if p != "root"], gate_id])


def _stats_row(stats: pd.DataFrame, path: str) -> tuple[float, int | None]:
    rows = stats.loc[stats["path"] == path] if "path" in stats.columns else stats.iloc[:0]
    if rows.empty:
        return float("nan"), None
    return float(rows["pct_parent"].iloc[0]), int(rows["count"].iloc[0])


def _quadrant_groups(strategy: Any, gates: Sequence[tuple[str, tuple[str, ...]]]) -> dict[tuple, dict[str, Any]]:
    """Boolean AND gates of two positive 1-D range gates, grouped by that pair.

    Returns ``{(first Boolean id, its path): group}``; a group names the two range gates
    (``x``, ``y`` as ``(id, path)``) and its Boolean ``members`` ``(id, path, x_positive, y_positive)``.
    """
    groups: dict[tuple, dict[str, Any]] = {}
    for gate_id, path in gates:
        g = strategy.get_gate(gate_id, path)
        refs = getattr(g, "gate_refs", None)
        if type(g).__name__ != "BooleanGate" or getattr(g, "type", "") != "and" or not refs or len(refs) != 2:
            continue
        ids = [(r["ref"], tuple(r["path"])) for r in refs]
        shapes = [gate_shape(strategy.get_gate(i, p)) for i, p in ids]
        if any(s.kind != "range" or s.bounds[0][0] is None or s.bounds[0][1] is not None for s in shapes):
            continue
        key = tuple(sorted(ids))
        grp = groups.setdefault(key, {"x": key[0], "y": key[1], "first": (gate_id, path), "members": []})
        positive = {(r["ref"], tuple(r["path"])): not r["complement"] for r in refs}
        grp["members"].append((gate_id, path, positive[key[0]], positive[key[1]]))
    return {g["first"]: g for g in groups.values()}


def _panel_values(sample: Any, strategy: Any, gate_id: str, path: tuple[str, ...], spill: Any) -> np.ndarray:
    from assaykit.flow import dimension_values

    values, _dims = dimension_values(sample, strategy, gate_id, spill=spill, gate_path=path)
    values = np.asarray(values, dtype=float)
    return values.reshape(len(values), -1)


def _dim_label(sample: Any, dim: str) -> str:
    try:
        i = sample.channel(dim)
    except Exception:  # noqa: BLE001 - a label only
        return dim
    marker = sample.markers[i] if i < len(sample.markers) else ""
    return f"{marker} ({dim})" if marker else dim


def sample_gate_figure(
    result: Any,
    sample: Any,
    *,
    labels: Mapping[str, str] | None = None,
    ncols: int = 4,
    bins: int = 128,
) -> Figure:
    """Every gate of one sample on its parent's events, laid out along the hierarchy.

    Panels follow the strategy's gate order (parents before children). Polygon and
    rectangle gates are pseudocolour plots, 1-D range gates histograms; Boolean AND
    gates of two 1-D positive gates (Th1 = IFN-γ+ ∧ ¬IL-17A+, ...) are drawn together
    as one quadrant plot in place of their two range gates. Each panel shows the gate's
    label and its % of parent from ``result.stats``.

    Parameters
    ----------
    result : assaykit.flow.GatingResult
        The gating result (masks must have been kept: ``keep_masks=True``).
    sample : assaykit.events.FlowSample
        The sample drawn (its ``name`` is a sample of ``result``).
    labels : mapping, optional
        Gate id → display label (e.g. the ``[protocol.labels]`` table of the protocol).
    ncols : int
        Panels per row.
    bins : int
        Bins per axis.

    Returns
    -------
    matplotlib.figure.Figure

    Raises
    ------
    ReportError
        If the sample is not in the result.
    """
    labels = dict(labels or {})
    stats = result.stats.loc[result.stats["sample"] == sample.name]
    if stats.empty:
        raise ReportError("sample not in the gating result", sample=sample.name,
                          expected="one of: " + ", ".join(map(str, result.stats["sample"].unique())))  # fmt: skip
    strategy = sample_strategy(result.strategy, sample)
    spill = getattr(result.settings, "compensation", "file")
    gates = list(strategy.get_gate_ids())
    quads = _quadrant_groups(strategy, gates)
    in_quads = {i for q in quads.values() for i in (q["x"], q["y"])}
    panels = []
    for gate_id, path in gates:
        shape = gate_shape(_gate(strategy, gate_id, path, sample.name))
        if (gate_id, path) in quads:
            panels.append(("quadrant", gate_id, path))
        elif shape.kind in ("polygon", "rectangle", "range") and (gate_id, path) not in in_quads:
            panels.append(("gate", gate_id, path))
    nrows = max(1, -(-len(panels) // ncols))
    fig = Figure(figsize=(3.2 * min(ncols, max(1, len(panels))), 2.9 * nrows), layout=_LAYOUT)
    fig.suptitle(sample.name)
    if _LAYOUT is None:  # a fixed layout: a third faster to save than matplotlib's constrained layout
        height, width = fig.get_size_inches()[::-1]
        fig.subplots_adjust(left=0.75 / width, right=1 - 0.15 / width, bottom=0.55 / height, top=1 - 0.55 / height,
                            wspace=0.45, hspace=0.55)  # fmt: skip
    for k, (kind, gate_id, path) in enumerate(panels):
        ax = fig.add_subplot(nrows, min(ncols, len(panels)), k + 1)
        parent = path[-1]
        pmask = (np.ones(sample.n_events, dtype=bool) if parent == "root"
                 else np.asarray(result.mask(sample.name, _path_str(path[:-1], parent))))  # fmt: skip
        title = labels.get(parent, parent) if parent != "root" else "all events"
        if kind == "gate":
            shape = gate_shape(_gate(strategy, gate_id, path, sample.name))
            vals = _panel_values(sample, strategy, gate_id, path, spill)[pmask]
            pct, _count = _stats_row(stats, _path_str(path, gate_id))
            gate_plot(vals[:, 0], vals[:, 1] if vals.shape[1] > 1 else None, shape, pct=pct,
                      label=labels.get(gate_id, gate_id), xlabel=_dim_label(sample, shape.dims[0]),
                      ylabel=_dim_label(sample, shape.dims[1]) if len(shape.dims) > 1 else None,
                      title=title, bins=bins, ax=ax)  # fmt: skip
            continue
        q = quads[(gate_id, path)]
        xs, ys = (gate_shape(_gate(strategy, q[a][0], q[a][1], sample.name)) for a in ("x", "y"))
        xv = _panel_values(sample, strategy, *q["x"], spill)[pmask, 0]
        yv = _panel_values(sample, strategy, *q["y"], spill)[pmask, 0]
        quadrants = {(xp, yp): (labels.get(m, m), _stats_row(stats, _path_str(mp, m))[0])
                     for m, mp, xp, yp in q["members"]}  # fmt: skip
        quadrant_plot(xv, yv, xs.bounds[0][0], ys.bounds[0][0], quadrants, xlabel=_dim_label(sample, xs.dims[0]),
                      ylabel=_dim_label(sample, ys.dims[0]), title=title, bins=bins, ax=ax)  # fmt: skip
    return fig


def sample_strategy(strategy: Any, sample: Any) -> Any:
    """The FlowKit ``GatingStrategy`` a sample was gated with.

    A FlowJo workspace (FlowKit ``Workspace``) holds one strategy per sample: the one whose
    sample id is the sample's file name, file stem or ``$FIL``; any other strategy is
    returned as it is.

    Raises
    ------
    ReportError
        If the workspace has no such sample, or the strategy is not a FlowKit strategy.
    """
    if hasattr(strategy, "get_gating_strategy") and hasattr(strategy, "get_sample_ids"):
        fil = str(getattr(sample, "metadata", {}).get("fil", ""))
        for sid in strategy.get_sample_ids(loaded_only=False):
            if sid in (sample.name, fil) or sid.rsplit(".", 1)[0] == sample.name:
                return strategy.get_gating_strategy(sid)
        raise ReportError("sample not in the FlowJo workspace", sample=sample.name)
    if not hasattr(strategy, "get_gate_ids"):
        raise ReportError("gate figures need a FlowKit gating strategy", sample=sample.name,
                          found=type(strategy).__name__)  # fmt: skip
    return strategy


def _gate(strategy: Any, gate_id: str, path: tuple[str, ...], sample_id: str) -> Any:
    """The gate applied to ``sample_id`` (its custom gate when a data-driven boundary was placed)."""
    try:
        return strategy.get_gate(gate_id, path, sample_id=sample_id)
    except Exception:  # noqa: BLE001 - FlowKit raises different errors for "no custom gate"
        return strategy.get_gate(gate_id, path)


def frequency_plot(
    stats: pd.DataFrame,
    populations: Sequence[str],
    *,
    group_col: str,
    donor_col: str | None = None,
    value: str = "pct_parent",
    labels: Mapping[str, str] | None = None,
    groups: Sequence[str] | None = None,
    ax: Axes | None = None,
) -> Axes:
    """Frequency of each population per group: bars at the mean, each donor a point.

    Parameters
    ----------
    stats : pandas.DataFrame
        ``GatingResult.stats`` joined with a sample sheet (one row per sample × population,
        with ``group_col`` and, optionally, ``donor_col``).
    populations : sequence of str
        Gate ids to draw, left to right.
    group_col : str
        Column naming each sample's group (condition).
    donor_col : str, optional
        Column naming each sample's donor; a donor's points are joined across groups.
    value : str
        The frequency column (``pct_parent``, ``pct_total`` or ``pct_ancestor``).
    labels : mapping, optional
        Gate id → display label.
    groups : sequence of str, optional
        Groups in drawing order (default: order of appearance).
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ReportError
        If a column or population is missing.
    """
    for col in [group_col, value, "population", *([donor_col] if donor_col else [])]:
        if col not in stats.columns:
            raise ReportError("statistics table lacks a column", column=col, expected="a sample-sheet column joined on sample")
    missing = [p for p in populations if p not in set(stats["population"])]
    if missing:
        raise ReportError("population not in the statistics table", population=missing[0])
    labels = dict(labels or {})
    groups = list(groups) if groups is not None else list(dict.fromkeys(stats[group_col].astype(str)))
    ax = _new_axes((1.2 + 0.45 * len(groups) * len(populations), 3.4)) if ax is None else ax
    colours = [f"C{i}" for i in range(len(groups))]
    width = 0.8 / max(1, len(groups))
    donors = sorted(stats[donor_col].astype(str).unique()) if donor_col else []
    markers = dict(zip(donors, "osD^v<>ph*", strict=False))
    for i, pop in enumerate(populations):
        sub = stats.loc[stats["population"] == pop]
        xs = {g: i - 0.4 + width * (j + 0.5) for j, g in enumerate(groups)}
        for j, g in enumerate(groups):
            vals = sub.loc[sub[group_col].astype(str) == g, value].astype(float)
            ax.bar(xs[g], vals.mean() if len(vals) else 0.0, width * 0.85, color=colours[j], alpha=0.35,
                   edgecolor=colours[j], label=g if i == 0 else None)  # fmt: skip
            if not donor_col:
                ax.scatter(np.full(len(vals), xs[g]), vals, color=colours[j], s=14, zorder=3)
        for d in donors:
            dsub = sub.loc[sub[donor_col].astype(str) == d]
            pts = [(xs[g], float(v)) for g, v in zip(dsub[group_col].astype(str), dsub[value], strict=True) if g in xs]
            pts.sort()
            if pts:
                px, py = zip(*pts, strict=True)
                ax.plot(px, py, color="0.3", linewidth=0.8, marker=markers.get(d, "o"), markersize=4, zorder=3,
                        label=d if i == 0 else None)  # fmt: skip
    ax.set_xticks(range(len(populations)), [labels.get(p, p) for p in populations], rotation=30, ha="right")
    ylabel = {"pct_parent": "% of parent", "pct_total": "% of all events"}.get(value, value.replace("_", " "))
    parents = set(stats.loc[stats["population"].isin(list(populations)), "parent"].astype(str)) if "parent" in stats else set()
    if value == "pct_parent" and len(parents) == 1 and parents != {"root"}:
        parent = parents.pop()
        ylabel = f"% of {labels.get(parent, parent)}"
    ax.set_ylabel(ylabel)
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=7, frameon=False, ncols=2)
    return ax
