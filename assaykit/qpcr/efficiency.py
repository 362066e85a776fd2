"""Amplification efficiency: standard curves, efficiency-corrected Cq, Pfaffl ratio.

Conventions
-----------
*Efficiency* ``E`` is a fraction (0.95 = 95 %); the amplification factor per
cycle is ``1 + E`` (Pfaffl 2001 and REST write the factor itself, e.g. 1.95).

Standard curve: least squares ``Cq = intercept + slope · log10(quantity)``;
``E = 10^(−1/slope) − 1``. The 95 % CI of the slope is ``slope ± t(0.975, n−2) · SE``
and is mapped through the (monotone) formula to the CI of ``E``.

Efficiency-corrected Cq (Thermo Design & Analysis "EqCq", Bio-Rad CFX
"efficiency-corrected Cq"): ``ECq = Cq · log2(1 + E)`` — the Cq a 100 %-efficient
assay would have had, so that ``2^(−ΔΔECq)`` equals Pfaffl's ratio.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats as _st

from assaykit.errors import AnalysisError
from assaykit.qpcr._result import StandardCurveResult

__all__ = ["efficiency_corrected_cq", "efficiency_from_slope", "livak_validation", "pfaffl_ratio", "standard_curve"]

_CURVE_COLUMNS = (
    "target",
    "n_points",
    "n_levels",
    "slope",
    "slope_se",
    "slope_ci95_low",
    "slope_ci95_high",
    "intercept",
    "r_squared",
    "efficiency",
    "efficiency_ci95_low",
    "efficiency_ci95_high",
    "amplification_factor",
    "status",
    "reason",
)


def efficiency_from_slope(slope: float | np.ndarray) -> float | np.ndarray:
    """Return the efficiency ``10^(−1/slope) − 1`` (fraction) of a standard-curve slope.

    Parameters
    ----------
    slope : float or numpy.ndarray
        Slope of Cq against log10(quantity) (cycles per decade; about −3.32 at 100 %).

    Returns
    -------
    float or numpy.ndarray
        Efficiency as a fraction (1.0 = 100 %, doubling per cycle).

    Examples
    --------
    >>> round(efficiency_from_slope(-3.32193), 4)
    1.0
    """
    s = np.asarray(slope, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = 10.0 ** (-1.0 / s) - 1.0
    return float(e) if e.ndim == 0 else e


def efficiency_corrected_cq(cq: float | np.ndarray, efficiency: float | np.ndarray) -> float | np.ndarray:
    """Return ``Cq · log2(1 + E)`` (Thermo "EqCq").

    Parameters
    ----------
    cq : float or numpy.ndarray
        Quantification cycles.
    efficiency : float or numpy.ndarray
        Efficiency as a fraction (0.95 = 95 %).

    Returns
    -------
    float or numpy.ndarray
        The Cq a 100 %-efficient assay would have reached for the same starting amount.

    Examples
    --------
    >>> efficiency_corrected_cq(20.0, 1.0)
    20.0
    """
    out = np.asarray(cq, dtype=float) * np.log2(1.0 + np.asarray(efficiency, dtype=float))
    return float(out) if out.ndim == 0 else out


def pfaffl_ratio(
    target_control: float,
    target_sample: float,
    ref_control: float,
    ref_sample: float,
    efficiency_target: float,
    efficiency_ref: float,
) -> float:
    """Pfaffl (2001) ratio ``(1+E_t)^(Cq_t,control − Cq_t,sample) / (1+E_r)^(Cq_r,control − Cq_r,sample)``.

    Parameters
    ----------
    target_control, target_sample, ref_control, ref_sample : float
        Mean Cq of the target and reference genes in control and sample.
    efficiency_target, efficiency_ref : float
        Efficiencies as fractions (0.97 for an amplification factor of 1.97).

    Returns
    -------
    float
        The expression ratio sample / control.

    Examples
    --------
    >>> round(pfaffl_ratio(27.5025, 24.655, 26.9525, 26.645, 1.01, 0.97), 4)
    5.9266
    """
    _check_efficiency({"target": efficiency_target, "reference": efficiency_ref})
    return float(
        (1 + efficiency_target) ** (target_control - target_sample)
        / (1 + efficiency_ref) ** (ref_control - ref_sample)
    )


def _check_efficiency(eff: Mapping[str, float]) -> None:
    for target, e in eff.items():
        try:
            e = float(e)
        except (TypeError, ValueError):
            raise AnalysisError(
                "efficiency is not a number", target=str(target), expected="a fraction such as 0.95", found=repr(e)
            ) from None
        if not (0.0 < e <= 1.5):
            raise AnalysisError(
                "efficiency out of range",
                target=str(target),
                expected="a fraction in (0, 1.5], e.g. 0.95 for 95 % (amplification factor 1.95)",
                found=repr(e),
            )


def standard_curve(
    data: pd.DataFrame,
    *,
    target_col: str = "target",
    quantity_col: str = "quantity",
    task_col: str | None = "task",
    tasks: tuple[str, ...] = ("standard",),
    ci_level: float = 0.95,
) -> StandardCurveResult:
    """Fit a standard curve ``Cq = intercept + slope · log10(quantity)`` per target.

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical qPCR table (or any table with ``cq``, target and quantity columns).
        Every well with a finite ``cq`` and a positive quantity is used; wells whose
        ``cq_flag`` is ``omitted`` are skipped.
    target_col, quantity_col : str
        Column names.
    task_col : str or None
        Column holding the well task; ``None`` uses every row.
    tasks : tuple of str
        Tasks that are standards (compared lower-case).
    ci_level : float
        Confidence level of the slope and efficiency intervals (column names keep
        ``ci95`` only for the default 0.95; other levels raise).

    Returns
    -------
    StandardCurveResult
        ``curves`` (one row per target, ``status`` ``ok`` or ``not_fitted`` with a
        ``reason``) and ``points``.

    Raises
    ------
    AnalysisError
        If a needed column is missing or no row is a standard.
    """
    if ci_level != 0.95:
        raise AnalysisError("standard_curve reports 95 % intervals only", expected="ci_level=0.95", found=repr(ci_level))
    for c in (target_col, quantity_col, "cq"):
        if c not in data.columns:
            raise AnalysisError("column missing for standard curve", column=c, expected=f"a column '{c}'")
    d = data
    if task_col is not None:
        if task_col not in data.columns:
            raise AnalysisError("column missing for standard curve", column=task_col, expected=f"a column '{task_col}'")
        d = d.loc[d[task_col].astype(str).str.lower().isin([t.lower() for t in tasks])]
    if "cq_flag" in d.columns:
        d = d.loc[~d["cq_flag"].astype(str).str.contains("omitted")]
    if d.empty:
        raise AnalysisError("no standard wells found", expected=f"rows with task in {tasks}", found="none")
    q = pd.to_numeric(d[quantity_col], errors="coerce").astype(float)
    cq = d["cq"].astype(float)
    ok = np.isfinite(cq.to_numpy()) & (q.to_numpy() > 0)
    pts = pd.DataFrame(
        {
            "target": d[target_col].astype(str).to_numpy()[ok],
            "plate": (d["plate"].astype(str).to_numpy()[ok] if "plate" in d.columns else ""),
            "well": (d["well"].astype(str).to_numpy()[ok] if "well" in d.columns else ""),
            "quantity": q.to_numpy()[ok],
            "log10_quantity": np.log10(q.to_numpy()[ok]),
            "cq": cq.to_numpy()[ok],
        }
    )
    rows = []
    fitted = np.full(len(pts), np.nan)
    for target in pd.unique(d[target_col].astype(str)):
        idx = np.flatnonzero(pts["target"].to_numpy() == target)
        x, y = pts["log10_quantity"].to_numpy()[idx], pts["cq"].to_numpy()[idx]
        row = dict.fromkeys(_CURVE_COLUMNS, np.nan)
        row.update(target=target, n_points=len(idx), n_levels=int(np.unique(x).size), status="ok", reason="")
        if row["n_levels"] < 2 or len(idx) < 3:
            row.update(status="not_fitted", reason=f"{len(idx)} points at {row['n_levels']} quantities; need ≥ 3 points at ≥ 2 quantities")
            rows.append(row)
            continue
        r = _st.linregress(x, y)
        n = len(idx)
        tq = _st.t.ppf(0.5 + ci_level / 2, n - 2)
        lo, hi = r.slope - tq * r.stderr, r.slope + tq * r.stderr
        row.update(
            slope=r.slope,
            slope_se=r.stderr,
            slope_ci95_low=lo,
            slope_ci95_high=hi,
            intercept=r.intercept,
            r_squared=r.rvalue**2,
            efficiency=efficiency_from_slope(r.slope),
        )
        # E(s) increases with s for s < 0; an interval reaching s >= 0 has no upper bound.
        row["efficiency_ci95_low"] = efficiency_from_slope(lo) if lo < 0 else np.nan
        row["efficiency_ci95_high"] = efficiency_from_slope(hi) if hi < 0 else np.inf
        row["amplification_factor"] = 1 + row["efficiency"]
        if not r.slope < 0:
            row.update(status="not_fitted", reason=f"slope {r.slope:.4g} is not negative", efficiency=np.nan)
        fitted[idx] = r.intercept + r.slope * x
        rows.append(row)
    pts["fitted_cq"] = fitted
    pts["residual"] = pts["cq"] - fitted
    curves = pd.DataFrame(rows, columns=list(_CURVE_COLUMNS))
    curves["n_points"] = curves["n_points"].astype(int)
    curves["n_levels"] = curves["n_levels"].astype(int)
    return StandardCurveResult(curves=curves, points=pts)


def livak_validation(
    data: pd.DataFrame,
    reference: str,
    *,
    sample_col: str = "sample",
    target_col: str = "target",
    quantity_col: str = "quantity",
    max_abs_slope: float = 0.1,
) -> pd.DataFrame:
    """Check that target and reference amplify with equal efficiency (Livak & Schmittgen 2001).

    For a dilution series, each sample's ``ΔCq = mean Cq(target) − mean Cq(reference)``
    is regressed on ``log10(quantity)``; the 2^−ΔΔCq method is valid when
    ``|slope| < max_abs_slope`` (0.1 in Livak & Schmittgen 2001).

    Parameters
    ----------
    data : pandas.DataFrame
        Canonical qPCR table; each sample is one dilution (its wells share a quantity).
    reference : str
        Reference gene.
    sample_col, target_col, quantity_col : str
        Column names.
    max_abs_slope : float
        Acceptance limit of the slope.

    Returns
    -------
    pandas.DataFrame
        One row per target: ``target``, ``n_points``, ``slope``, ``intercept``,
        ``r_squared``, ``max_abs_slope``, ``passes`` (bool), ``reason``.

    Raises
    ------
    AnalysisError
        A missing column, or the reference gene absent.
    """
    for c in (sample_col, target_col, quantity_col, "cq"):
        if c not in data.columns:
            raise AnalysisError("column missing for the efficiency check", column=c, expected=f"a column '{c}'")
    d = data.loc[np.isfinite(data["cq"].to_numpy(dtype=float))]
    if "cq_flag" in d.columns:
        d = d.loc[~d["cq_flag"].astype(str).str.contains("omitted")]
    if reference not in set(d[target_col].astype(str)):
        raise AnalysisError("reference gene not found", target=reference, expected="a target with Cq values")
    q = pd.to_numeric(d[quantity_col], errors="coerce").astype(float)
    frame = pd.DataFrame({"s": d[sample_col].astype(str).to_numpy(), "t": d[target_col].astype(str).to_numpy(), "cq": d["cq"].to_numpy(float), "q": q.to_numpy()})
    cq = frame.pivot_table(index="s", columns="t", values="cq", aggfunc="mean")
    qs = frame.groupby("s")["q"].mean()
    rows = []
    for t in [c for c in cq.columns if c != reference]:
        dcq = cq[t] - cq[reference]
        x = np.log10(qs.reindex(dcq.index))
        ok = np.isfinite(dcq.to_numpy()) & np.isfinite(x.to_numpy())
        row = {"target": t, "n_points": int(ok.sum()), "slope": np.nan, "intercept": np.nan, "r_squared": np.nan, "max_abs_slope": max_abs_slope, "passes": False, "reason": ""}
        if ok.sum() < 3 or np.unique(x.to_numpy()[ok]).size < 2:
            row["reason"] = "need ≥ 3 samples at ≥ 2 quantities with both genes"
        else:
            r = _st.linregress(x.to_numpy()[ok], dcq.to_numpy()[ok])
            row.update(slope=r.slope, intercept=r.intercept, r_squared=r.rvalue**2, passes=bool(abs(r.slope) < max_abs_slope))
            if not row["passes"]:
                row["reason"] = f"|slope| {abs(r.slope):.3f} ≥ {max_abs_slope:g}: efficiencies differ, use method='pfaffl'"
        rows.append(row)
    return pd.DataFrame(rows, columns=["target", "n_points", "slope", "intercept", "r_squared", "max_abs_slope", "passes", "reason"])
