"""Relative quantification by the relative standard-curve method (ABI User Bulletin #2).

Each well's Cq is turned into a quantity with its target's standard curve,
``q = 10^((Cq − intercept)/slope)``; quantities are averaged per group × gene
(all wells of the group are replicates), the target is divided by the reference
and the ratio by the control group's ratio:

* ``separate`` wells: ``normalized = q̄_t / q̄_ref``, ``cv = √(cv_t² + cv_ref²)``
  with ``cv = SD/mean`` of the quantities; ``normalized_sd = normalized · cv``;
* ``same_well`` (multiplexed): per-well ratios ``q_t/q_ref``, ``normalized`` their mean,
  ``normalized_sd`` their SD, ``cv = SD/mean``;
* ``calibrated = normalized / normalized(control)`` and ``calibrated_sd = calibrated · cv``
  (the control's normalized value is treated as a constant, as in the bulletin).

With several reference genes ``q̄_ref`` is the geometric mean of their mean quantities
and ``cv_ref² = Σ cv_r² / k²``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from assaykit.errors import AnalysisError
from assaykit.qpcr._result import StandardCurveResult

__all__ = ["relative_standard_curve"]

COLUMNS = (
    "group",
    "target",
    "n_wells",
    "quantity_mean",
    "quantity_sd",
    "ref_quantity_mean",
    "pairing",
    "normalized",
    "normalized_sd",
    "cv",
    "calibrated",
    "calibrated_sd",
    "status",
    "reason",
)


def relative_standard_curve(
    data: pd.DataFrame,
    curves: StandardCurveResult,
    reference: str | Sequence[str],
    control: str,
    *,
    group_col: str = "group",
    target_col: str = "target",
    tasks: tuple[str, ...] = ("unknown",),
    pairing: str = "auto",
) -> pd.DataFrame:
    """Relative expression from standard-curve quantities (ABI User Bulletin #2).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical qPCR table with a group column. Wells without a Cq, omitted wells
        and rows whose task is not in ``tasks`` are not used.
    curves : StandardCurveResult
        Standard curves of every target and reference (:func:`standard_curve`).
    reference : str or list of str
        Reference gene(s).
    control : str
        Control group.
    group_col, target_col : str
        Column names.
    tasks : tuple of str
        Tasks analysed.
    pairing : {'auto', 'same_well', 'separate'}
        ``same_well`` divides quantities well by well (multiplexed wells); ``auto``
        uses it when every target well also holds every reference.

    Returns
    -------
    pandas.DataFrame
        One row per group × target of interest; columns in ``COLUMNS`` (the group
        column keeps its name). ``status`` ``ok``, ``no_valid_wells``,
        ``no_reference`` or ``no_control``, with a ``reason``.

    Raises
    ------
    AnalysisError
        Missing column, unknown pairing, reference gene or control absent, or a
        target without a fitted standard curve.
    """
    refs = [reference] if isinstance(reference, str) else list(reference)
    if pairing not in ("auto", "same_well", "separate"):
        raise AnalysisError("unknown pairing", expected="'auto', 'same_well' or 'separate'", found=repr(pairing))
    for c in ("plate", "well", "cq", group_col, target_col):
        if c not in data.columns:
            raise AnalysisError("column missing for the standard-curve method", column=c, expected=f"a column '{c}'")
    d = data
    if "task" in d.columns:
        d = d.loc[d["task"].astype(str).str.lower().isin([t.lower() for t in tasks])]
    if "cq_flag" in d.columns:
        d = d.loc[~d["cq_flag"].astype(str).str.contains("omitted")]
    d = d.loc[np.isfinite(d["cq"].to_numpy(dtype=float))]
    targets = list(pd.unique(d[target_col].astype(str)))
    for r in refs:
        if r not in targets:
            raise AnalysisError("reference gene not found", target=r, expected=f"one of {targets}")
    groups = list(pd.unique(d[group_col].astype(str)))
    if str(control) not in groups:
        raise AnalysisError("control group not found", sample=str(control), expected=f"one of {groups}")
    cur = curves.curves.set_index("target")
    for t in targets:
        if t not in cur.index or cur.loc[t, "status"] != "ok":
            raise AnalysisError("no fitted standard curve for this target", target=t, expected="a curve with status 'ok'")
    frame = pd.DataFrame(
        {
            "g": d[group_col].astype(str).to_numpy(),
            "t": d[target_col].astype(str).to_numpy(),
            "pw": (d["plate"].astype(str) + "|" + d["well"].astype(str)).to_numpy(),
            "cq": d["cq"].to_numpy(dtype=float),
        }
    )
    slope = frame["t"].map(cur["slope"]).to_numpy(dtype=float)
    intercept = frame["t"].map(cur["intercept"]).to_numpy(dtype=float)
    frame["q"] = 10.0 ** ((frame["cq"] - intercept) / slope)
    stats = frame.groupby(["g", "t"])["q"].agg(["count", "mean", "std"])
    k = len(refs)
    is_ref = frame["t"].isin(refs)
    ref_wells = frame.loc[is_ref].groupby("pw").agg(n=("t", "nunique"), logq=("q", lambda x: np.log(x).mean()))
    ref_wells = ref_wells.loc[ref_wells["n"] == k, "logq"]
    rows = []
    for g in groups:
        ref_ok = all((g, r) in stats.index for r in refs)
        if ref_ok:
            rm = np.array([stats.loc[(g, r), "mean"] for r in refs])
            rcv = np.array([stats.loc[(g, r), "std"] / stats.loc[(g, r), "mean"] for r in refs])
            ref_mean = float(np.exp(np.log(rm).mean()))
            ref_cv = float(np.sqrt(np.sum(rcv**2)) / k)
        for t in targets:
            if t in refs:
                continue
            row = dict.fromkeys(COLUMNS, np.nan)
            row.update(group=g, target=t, n_wells=0, status="ok", reason="", pairing="")
            if (g, t) not in stats.index:
                row.update(status="no_valid_wells", reason="no well with a Cq for this group × target")
                rows.append(row)
                continue
            st = stats.loc[(g, t)]
            row.update(n_wells=int(st["count"]), quantity_mean=st["mean"], quantity_sd=st["std"])
            if not ref_ok:
                row.update(status="no_reference", reason="a reference gene has no well with a Cq in this group")
                rows.append(row)
                continue
            row["ref_quantity_mean"] = ref_mean
            tw = frame.loc[(frame["g"] == g) & (frame["t"] == t)]
            ratio = tw["q"].to_numpy() / np.exp(tw["pw"].map(ref_wells).to_numpy(dtype=float))
            paired = np.isfinite(ratio)
            use_pair = pairing == "same_well" or (pairing == "auto" and paired.all() and paired.size > 0)
            if use_pair and paired.sum() >= 1:
                r = ratio[paired]
                row["pairing"] = "same_well"
                row["normalized"] = float(r.mean())
                row["normalized_sd"] = float(r.std(ddof=1)) if r.size > 1 else np.nan
                row["cv"] = row["normalized_sd"] / row["normalized"]
            else:
                row["pairing"] = "separate"
                row["normalized"] = float(st["mean"] / ref_mean)
                row["cv"] = float(np.sqrt((st["std"] / st["mean"]) ** 2 + ref_cv**2))
                row["normalized_sd"] = row["normalized"] * row["cv"]
            rows.append(row)
    out = pd.DataFrame(rows, columns=list(COLUMNS))
    ctrl = out.loc[(out["group"] == str(control)) & (out["status"] == "ok")].set_index("target")["normalized"]
    c = out["target"].map(ctrl).to_numpy(dtype=float)
    out["calibrated"] = out["normalized"].to_numpy(dtype=float) / c
    out["calibrated_sd"] = out["calibrated"] * out["cv"]
    noc = (out["status"] == "ok") & ~np.isfinite(c)
    out.loc[noc, "status"] = "no_control"
    out.loc[noc, "reason"] = f"the control group '{control}' has no normalized value for this target"
    out["n_wells"] = out["n_wells"].astype(int)
    return out.rename(columns={"group": group_col}) if group_col != "group" else out
