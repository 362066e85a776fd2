"""qPCR figures: fold change per target and group, standard curves, plate QC map.

Each function takes ``ax=`` (a new figure is made when it is None), draws with
matplotlib's object API and returns the Axes. No analysis happens here: the
numbers come from :class:`assaykit.qpcr.DdctResult` / :class:`StandardCurveResult`.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.patches import Patch
from matplotlib.transforms import offset_copy

from assaykit.errors import ReportError
from assaykit.qpcr import DdctResult, StandardCurveResult
from assaykit.schema import row_index

__all__ = ["ERROR_LABELS", "IMPUTED_LABEL", "fold_change_plot", "plate_qc_map", "significance_mark", "standard_curve_plot"]

#: Legend label of bars whose group includes a Cq set to the cut-off (``groups.n_imputed > 0``).
IMPUTED_LABEL = "includes cut-off Cq"

#: How each error convention is named on the figure.
ERROR_LABELS: dict[str, str] = {
    "sd": "error bars: ± 1 SD of ΔΔCq",
    "sem": "error bars: ± 1 SEM of ΔΔCq",
    "ci95": "error bars: 95 % CI of ΔΔCq",
}


def _new_axes(figsize: tuple[float, float]) -> Axes:
    fig = Figure(figsize=figsize, layout="constrained")
    return fig.add_subplot()


def significance_mark(p: float) -> str:
    """Return ``'***'`` (p < 0.001), ``'**'`` (< 0.01), ``'*'`` (< 0.05), ``'ns'`` or ``''`` (NaN).

    Examples
    --------
    >>> significance_mark(0.003), significance_mark(0.2)
    ('**', 'ns')
    """
    if p is None or not np.isfinite(p):
        return ""
    return "***" if p < 0.001 else "**" if p < 0.01 else "*" if p < 0.05 else "ns"


def fold_change_plot(
    result: DdctResult,
    *,
    targets: list[str] | None = None,
    error: str | None = None,
    log_scale: bool = True,
    show_points: bool = True,
    show_significance: bool = True,
    ax: Axes | None = None,
) -> Axes:
    """Bars of the fold change per target and group, biological replicates as points.

    Parameters
    ----------
    result : DdctResult
        Output of :func:`assaykit.qpcr.ddct`.
    targets : list of str, optional
        Targets to draw (default: all targets of interest, in result order).
    error : {'sd', 'sem', 'ci95'}, optional
        Error-bar convention (default: the one the analysis was run with); named in the
        y-axis label and the legend title.
    log_scale : bool
        Log2 y axis (fold changes are ratios).
    show_points : bool
        Draw each sample's ``rq`` over its bar.
    show_significance : bool
        Mark each non-control bar with the adjusted p-value of ``result.stats``, a few
        points above the highest drawn element of that bar (error bar or replicate point).
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes
        A group × target without a fold change is labelled ``n/a`` at the foot of the
        axes. When ``result.groups`` has an ``n_imputed`` column, bars of groups with
        ``n_imputed > 0`` (a Cq set to the Undetermined cut-off) are hatched, with the
        legend entry :data:`IMPUTED_LABEL`.

    Raises
    ------
    ReportError
        Unknown error convention or target.
    """
    error = error or result.settings.get("error", "sd")
    if error not in ERROR_LABELS:
        raise ReportError("unknown error convention", expected=f"one of {list(ERROR_LABELS)}", found=repr(error))
    gcol = result.settings.get("group_col", "group")
    g = result.groups
    all_targets = list(pd.unique(g["target"]))
    targets = all_targets if targets is None else list(targets)
    for t in targets:
        if t not in all_targets:
            raise ReportError("target not in the result", target=t, expected=f"one of {all_targets}")
    groups = list(pd.unique(g[gcol]))
    control = result.settings.get("control")
    if control in groups:
        groups = [control] + [x for x in groups if x != control]
    ax = ax if ax is not None else _new_axes((2.8 + 0.5 * len(targets) * max(len(groups), 1), 3.6))
    width = 0.8 / max(len(groups), 1)
    colors = [f"C{i}" for i in range(len(groups))]
    gi = g.set_index([gcol, "target"])
    stats = result.stats
    has_imputed = "n_imputed" in g.columns
    any_imputed = False
    # marks sit 3 points above their anchor (the top of the bar's error bar or points)
    above = offset_copy(ax.transData, fig=ax.figure, y=3, units="points")
    tops: list[float] = []
    for j, grp in enumerate(groups):
        xs, ys, lo, hi, imputed = [], [], [], [], []
        for i, t in enumerate(targets):
            x = i - 0.4 + width * (j + 0.5)
            if (grp, t) not in gi.index:
                continue
            row = gi.loc[(grp, t)]
            fc = float(row["fold_change"])
            if not np.isfinite(fc):
                # at the foot of the axes (axes fraction): inside whatever the y limits are
                ax.text(x, 0.02, "n/a", transform=ax.get_xaxis_transform(), ha="center", va="bottom", fontsize=7,
                        rotation=90, gid="not_available")  # fmt: skip
                continue
            xs.append(x)
            ys.append(fc)
            lo.append(fc - float(row[f"fold_change_{error}_low"]))
            hi.append(float(row[f"fold_change_{error}_high"]) - fc)
            imputed.append(has_imputed and float(row["n_imputed"]) > 0)
            top = fc + (hi[-1] if np.isfinite(hi[-1]) else 0.0)
            if show_points:
                s = result.samples
                pts = s.loc[(s[gcol] == grp) & (s["target"] == t) & (s["status"] == "ok"), "rq"].to_numpy(dtype=float)
                jitter = np.linspace(-width / 4, width / 4, len(pts)) if len(pts) > 1 else np.zeros(len(pts))
                ax.scatter(x + jitter, pts, s=10, color="black", zorder=3, linewidths=0)
                pts = pts[np.isfinite(pts)]
                top = max(top, float(pts.max())) if len(pts) else top
            if show_significance and grp != control and len(stats):
                m = stats.loc[(stats["target"] == t) & (stats["group"] == grp) & (stats["versus"] == control)]
                if len(m):
                    mark = significance_mark(float(m["p_adjusted"].iloc[0]))
                    ax.text(x, top, mark, transform=above, ha="center", va="bottom", fontsize=8, gid="significance")
                    tops.append(top)
        err = np.array([lo, hi], dtype=float)
        err = np.where(np.isfinite(err), err, 0.0)
        bars = ax.bar(xs, ys, width=width * 0.9, color=colors[j], alpha=0.7, label=str(grp), zorder=1)
        for patch, imp in zip(bars.patches, imputed, strict=True):
            if imp:
                patch.set_hatch("///")
                patch.set_edgecolor("black")
                patch.set_gid("imputed")
                any_imputed = True
        ax.errorbar(xs, ys, yerr=err, fmt="none", ecolor="black", capsize=3, linewidth=1, zorder=2)
    ax.set_xticks(range(len(targets)), targets)
    ax.set_xlim(-0.5, len(targets) - 0.5)
    if log_scale:
        ax.set_yscale("log", base=2)
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--", zorder=0)
    method = result.settings.get("method", "livak")
    ax.set_ylim(*_room_above(ax, tops, log_scale))
    ax.set_ylabel(f"fold change vs {control} (2^-ΔΔCq, {method})\n{ERROR_LABELS[error]}")
    handles, labels = ax.get_legend_handles_labels()
    if any_imputed:
        handles.append(Patch(facecolor="none", edgecolor="black", hatch="///", label=IMPUTED_LABEL))
        labels.append(IMPUTED_LABEL)
    ax.legend(handles, labels, title=ERROR_LABELS[error], fontsize=7, title_fontsize=7, frameon=False,
              loc="upper left", bbox_to_anchor=(1.0, 1.0))  # fmt: skip
    return ax


def _room_above(ax: Axes, tops: list[float], log_scale: bool) -> tuple[float, float]:
    """Y limits leaving room for the marks: the highest mark anchor at most 80 % up the axes."""
    lo_y, hi_y = ax.get_ylim()
    hi_y = hi_y * 1.6 if log_scale else hi_y * 1.12
    top = max(tops, default=np.nan)
    if np.isfinite(top):
        if log_scale and lo_y > 0 and top > 0:
            hi_y = max(hi_y, float(np.exp(np.log(lo_y) + (np.log(top) - np.log(lo_y)) / 0.8)))
        elif not log_scale:
            hi_y = max(hi_y, lo_y + (top - lo_y) / 0.8)
    return lo_y, hi_y


def standard_curve_plot(curves: StandardCurveResult, *, target: str | None = None, ax: Axes | None = None) -> Axes:
    """Cq against log10(quantity) with the fitted line, slope, R² and efficiency.

    Parameters
    ----------
    curves : StandardCurveResult
        Output of :func:`assaykit.qpcr.standard_curve`.
    target : str, optional
        One target (default: every fitted target, one colour each).
    ax : matplotlib Axes, optional
        Where to draw.

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ReportError
        If ``target`` has no standard curve.
    """
    c = curves.curves
    names = list(c["target"]) if target is None else [target]
    if target is not None and target not in set(c["target"]):
        raise ReportError("no standard curve for this target", target=target, expected=f"one of {list(c['target'])}")
    ax = ax if ax is not None else _new_axes((4.5, 3.5))
    for i, t in enumerate(names):
        row = c.loc[c["target"] == t].iloc[0]
        pts = curves.points.loc[curves.points["target"] == t]
        ax.scatter(pts["log10_quantity"], pts["cq"], s=14, color=f"C{i}", zorder=3)
        if row["status"] == "ok":
            x = np.linspace(pts["log10_quantity"].min(), pts["log10_quantity"].max(), 2)
            label = (
                f"{t}: slope {row['slope']:.3f}, R² {row['r_squared']:.4f}, "
                f"E {100 * row['efficiency']:.1f} % ({100 * row['efficiency_ci95_low']:.1f}–"
                f"{100 * row['efficiency_ci95_high']:.1f})"
            )
            ax.plot(x, row["intercept"] + row["slope"] * x, color=f"C{i}", label=label)
        else:
            ax.plot([], [], color=f"C{i}", label=f"{t}: not fitted ({row['reason']})")
    ax.set_xlabel("log10(quantity)")
    ax.set_ylabel("Cq")
    ax.legend(fontsize=7, frameon=False)
    return ax


#: Labels drawn in wells without a Cq, by ``cq_flag`` (others: the flag's first 6 letters).
_NO_CQ_LABELS = {"undetermined": "undet", "omitted": "omit", "not_numeric": "text", "empty": "empty"}


def plate_qc_map(
    wells: pd.DataFrame,
    *,
    plate: str | None = None,
    target: str | None = None,
    ax: Axes | None = None,
    annotate: bool = True,
) -> Axes:
    """Cq of every well on the plate, with excluded and flagged wells marked.

    Draws with :func:`assaykit.report.figures.plate_heatmap`: colour and number = the
    measured Cq; hatched grey = no Cq (labelled ``undet`` for Undetermined ...), whether
    excluded or not; red outline = a Cq with a QC flag (``qc_flag`` of
    :func:`assaykit.qpcr.ddct`, an instrument flag) or excluded; a black × = a Cq excluded
    from the analysis (``status == 'excluded'``). The x-axis label is the legend: it counts
    exactly the wells carrying each mark (the × count is of excluded wells with a Cq;
    excluded wells without a Cq are counted with the hatched ones).

    Parameters
    ----------
    wells : pandas.DataFrame
        ``DdctResult.wells`` (or a canonical qPCR table: then only ``cq_flag`` marks wells).
    plate : str, optional
        Plate to draw; required when there are several.
    target : str, optional
        Target to draw; required when wells hold several targets (multiplex).
    ax : matplotlib Axes, optional
        Where to draw.
    annotate : bool
        Write each well's Cq (1 decimal).

    Returns
    -------
    matplotlib.axes.Axes

    Raises
    ------
    ReportError
        Missing columns, unknown plate or target, several plates or targets per well
        without ``plate=`` / ``target=``, or no well with a Cq.
    """
    from assaykit.report.figures import plate_heatmap

    need = ("plate", "well", "row", "col", "target", "cq")
    missing = [c for c in need if c not in wells.columns]
    if missing:
        raise ReportError("not a qPCR wells table", expected=f"columns {list(need)}", found=f"missing {missing}")
    w = wells
    plates = list(dict.fromkeys(w["plate"].astype(str)))
    if plate is None:
        if len(plates) > 1:
            raise ReportError("several plates in the table: pass plate=", expected="one plate name", found=", ".join(plates))
        plate = plates[0]
    elif str(plate) not in plates:
        raise ReportError("plate not in the table", expected=f"one of {plates}", found=repr(plate))
    w = w.loc[w["plate"].astype(str) == str(plate)]
    if target is not None:
        targets = list(dict.fromkeys(w["target"].astype(str)))
        if str(target) not in targets:
            raise ReportError("target not on this plate", plate=str(plate), expected=f"one of {targets}", found=repr(target))
        w = w.loc[w["target"].astype(str) == str(target)]
    if w["well"].duplicated().any():
        dup = w.loc[w["well"].duplicated(), "well"].iloc[0]
        raise ReportError(
            "several targets in one well (multiplex): pass target=",
            plate=str(plate),
            well=str(dup),
            expected="one row per well",
            found=f"targets {sorted(set(w.loc[w['well'] == dup, 'target'].astype(str)))}",
        )
    cq_flag = w["cq_flag"].fillna("").astype(str) if "cq_flag" in w.columns else pd.Series("", index=w.index)
    qc_flag = w["qc_flag"].fillna("").astype(str) if "qc_flag" in w.columns else pd.Series("", index=w.index)
    status = w["status"].fillna("").astype(str) if "status" in w.columns else pd.Series("", index=w.index)
    cq = pd.to_numeric(w["cq"], errors="coerce")
    flags = []
    for f_cq, f_qc, st, v in zip(cq_flag, qc_flag, status, cq, strict=True):
        parts = []
        if not np.isfinite(v):
            first = f_cq.split(";")[0]
            parts.append(_NO_CQ_LABELS.get(first, first) if first else "no_cq")
        elif f_cq:
            parts.append(f_cq)
        parts += [x for x in (f_qc, "excluded" if st == "excluded" else "") if x]
        flags.append(";".join(parts))
    table = pd.DataFrame(
        {
            "plate": str(plate),
            "row": w["row"].astype(str).to_numpy(),
            "col": w["col"].to_numpy(dtype=int),
            "read": "cq",
            "metric": "raw",
            "value": cq.to_numpy(dtype=float),
            "flag": flags,
        }
    )
    if not np.isfinite(table["value"]).any():
        raise ReportError("nothing to draw: no well with a Cq", plate=str(plate), target=target, found=f"{len(table)} wells")
    what = f"Cq of {target}" if target is not None else "Cq per well"
    plate_label = str(plate) if str(plate).lower().startswith("plate") else f"plate {plate}"
    ax = plate_heatmap(
        table, "cq", plate=str(plate), ax=ax, annotate=annotate, cmap="viridis_r", fmt="{:.1f}",
        title=f"{what}, {plate_label}",
    )  # fmt: skip
    excluded = (status == "excluded").to_numpy() & np.isfinite(cq.to_numpy(dtype=float))
    if excluded.any():
        ax.scatter(table["col"][excluded], [_row_number(r) for r in table["row"][excluded]], marker="x", s=40,
                   color="black", linewidths=1.0, alpha=0.8, zorder=4, gid="excluded")  # fmt: skip
    has_cq = np.isfinite(cq.to_numpy(dtype=float))
    n_cross = int(excluded.sum())
    n_flag = int(((table["flag"] != "").to_numpy() & has_cq).sum())
    n_none = int((~has_cq).sum())
    n_none_ex = int(((status == "excluded").to_numpy() & ~has_cq).sum())
    ax.set_xlabel(
        f"{n_cross} excluded with a Cq (×); {n_flag} with a Cq and a flag or excluded (red outline); "
        f"{n_none} without a Cq (hatched, {n_none_ex} of them excluded; undet = Undetermined)",
        fontsize=7,
    )
    return ax


def _row_number(row: str) -> int:

    return row_index(str(row)) + 1

