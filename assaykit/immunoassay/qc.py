"""Quality control of immunoassay standard curves: hook detection, LLOQ/ULOQ, dilution linearity.

Pure functions on tidy tables, used by :func:`assaykit.immunoassay.analysis.analyze`.

* :func:`detect_hook` — high-dose hook: the mean response of the top standards falls
  (for a decreasing, competitive curve: rises) after the extreme level by more than a
  tolerance; then the extreme level itself (and the next ones down) is tested against the
  4PL trend of the levels below it. Hooked standards are masked from the fit and recorded.
* :func:`quantification_limits` — LLOQ/ULOQ: the lowest/highest non-zero standard
  levels whose back-fitted recovery lies within the window and whose replicate %CV is
  at most ``cv_max`` (a level with a single well has no CV and passes on recovery alone).
* :func:`dilution_linearity` — for samples read at several dilutions: agreement of
  the dilution-corrected concentrations (%CV) and the log–log slope of the in-well
  concentration against ``1/dilution`` (1 for parallel dilution).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

__all__ = ["detect_hook", "dilution_linearity", "level_passes", "quantification_limits"]


def detect_hook(
    conc: np.ndarray,
    response: np.ndarray,
    *,
    tolerance: float = 0.05,
    trend: bool = True,
    level: float = 0.99,
) -> tuple[np.ndarray, str]:
    """Find the standard levels beyond a high-dose hook.

    Parameters
    ----------
    conc, response : numpy.ndarray
        Concentrations and responses of the usable standard wells of one curve (zero
        standards take part in the trend fit only).
    tolerance : float
        Smallest drop that counts, as a fraction of the response range of the level means.
    trend : bool
        After a hook is found, also test the peak level (and then the next ones down)
        against the 4PL trend of the levels below it (second stage, see Notes).
    level : float
        One-sided coverage of the prediction bound of the trend test.

    Returns
    -------
    hooked_levels : numpy.ndarray
        Concentrations of the hooked levels, ascending (empty when no hook).
    reason : str
        Description of the hook ('' when none).

    Notes
    -----
    **Stage 1 (descending limb).** The level means are taken in order of concentration.
    The curve direction is the sign of (mean of the upper half of levels − mean of the
    lower half). For an increasing curve the hook starts after the level with the largest
    mean response: if a higher level's mean is lower by more than ``tolerance`` × range,
    every level above the peak is hooked. At least 4 levels must remain at or below the
    peak. A competitive (decreasing) curve is handled with the signs reversed.

    **Stage 2 (depressed peak; only when stage 1 found a hook).** A hook does not start
    exactly at the highest level that is still above its neighbour: the peak level itself
    may already be depressed while its mean still exceeds the level below. An unweighted
    4PL is fitted to the wells below the peak (zero standards included) and its prediction
    ŷ at the peak concentration is compared with the peak's mean response ȳ (m wells).
    The peak is hooked too when the shortfall ŷ − ȳ (reversed for a decreasing curve)
    exceeds both ``tolerance`` × range and t(level, df) · √(∇f V ∇fᵀ + σ²/m) (the one-sided
    prediction bound: parameter covariance V of the trend fit plus the noise of a mean of
    m wells). This is repeated down the curve while it holds and at least 4 non-zero levels
    remain below the tested one. Stage 2 never runs on a curve without a falling top, so it
    adds no detections on hook-free curves.
    """
    conc = np.asarray(conc, float)
    response = np.asarray(response, float)
    ok = np.isfinite(conc) & np.isfinite(response) & (conc > 0)
    if ok.sum() < 5:
        return np.array([]), ""
    lv, inv = np.unique(conc[ok], return_inverse=True)
    if lv.size < 5:
        return np.array([]), ""
    means = np.bincount(inv, weights=response[ok]) / np.bincount(inv)
    half = lv.size // 2
    increasing = means[-half:].mean() >= means[:half].mean()
    s = means if increasing else -means
    peak = int(np.argmax(s))
    rng = float(s.max() - s.min())
    if peak == lv.size - 1 or rng <= 0 or peak < 3:
        return np.array([]), ""
    drop = s[peak] - s[peak + 1:]
    if not np.any(drop > tolerance * rng):
        return np.array([]), ""
    word = "falls" if increasing else "rises"
    reason = (f"high-dose hook: the mean response {word} above {lv[peak]:g} "
              f"(by up to {drop.max() / rng * 100:.0f} % of the response range)")
    top = peak  # levels above index `top` are hooked
    if trend:
        fin = np.isfinite(conc) & np.isfinite(response) & (conc >= 0)
        while top >= 4:
            below = fin & (conc < lv[top])
            short, bound = _trend_shortfall(conc[below], response[below], lv[top],
                                            means[top], int(np.count_nonzero(ok & (conc == lv[top]))),
                                            increasing, level)
            if not (short > tolerance * rng and short > bound):
                break
            reason += (f"; the {lv[top]:g} level is {short / rng * 100:.0f} % of the response range "
                       f"{'below' if increasing else 'above'} the 4PL trend of the lower standards "
                       f"(one-sided {level * 100:g} % prediction bound {bound / rng * 100:.0f} %)")
            top -= 1
    hooked = lv[top + 1:]
    reason += f"; standards at {', '.join(f'{c:g}' for c in hooked)} masked"
    return hooked, reason


def _trend_shortfall(x: np.ndarray, y: np.ndarray, x0: float, y0: float, m: int, increasing: bool,
                     level: float) -> tuple[float, float]:
    """Shortfall of the mean y0 (m wells) at x0 below the 4PL fitted to (x, y), and its bound.

    Returns (nan, nan) when the trend fit is not usable (fit error or not status 'ok').
    """
    import warnings

    from scipy import stats

    from assaykit.errors import FitError
    from assaykit.immunoassay.fit import fit_curve
    from assaykit.immunoassay.models import gd_jacobian

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            c = fit_curve(x, y, "4pl")
    except (FitError, ValueError, FloatingPointError, np.linalg.LinAlgError):
        return np.nan, np.nan
    if c.status != "ok" or not c.df > 0:
        return np.nan, np.nan
    a, b, cc, d, g = c.gd
    f, J = gd_jacobian(np.array([x0]), a, b, np.log(cc), d, np.log(g), with_g=True)
    J = J[0] * np.array([1.0, 1.0, 1.0 / cc, 1.0, 1.0 / g])
    se = float(np.sqrt(J @ c.gd_cov @ J + c.sigma**2 / max(m, 1)))
    short = float(f[0] - y0) if increasing else float(y0 - f[0])
    return short, float(stats.t.ppf(level, c.df) * se)


def level_passes(recovery_pct: np.ndarray, cv_pct: np.ndarray, conc: np.ndarray,
                 recovery_window: tuple[float, float] = (80.0, 120.0), cv_max: float = 20.0) -> np.ndarray:
    """Whether standard levels pass QC: non-zero, recovery within the window, CV <= cv_max.

    Parameters
    ----------
    recovery_pct, cv_pct, conc : numpy.ndarray
        Back-fit recovery (NaN fails), replicate %CV (NaN = single well, passes) and
        nominal concentration of each level.
    recovery_window : (float, float)
        Accepted recovery in percent (inclusive).
    cv_max : float
        Largest accepted %CV.

    Returns
    -------
    numpy.ndarray
        Boolean per level.
    """
    lo, hi = recovery_window
    rec = np.asarray(recovery_pct, float)
    cv = np.asarray(cv_pct, float)
    with np.errstate(invalid="ignore"):
        return (rec >= lo) & (rec <= hi) & ~(cv > cv_max) & (np.asarray(conc, float) > 0)


def quantification_limits(
    levels: pd.DataFrame,
    *,
    recovery_window: tuple[float, float] = (80.0, 120.0),
    cv_max: float = 20.0,
) -> tuple[pd.DataFrame, np.ndarray]:
    """LLOQ and ULOQ per curve from per-level standard QC.

    Parameters
    ----------
    levels : pandas.DataFrame
        One row per curve × standard level with columns ``plate``, ``read``,
        ``expected_conc``, ``recovery_pct`` (NaN when not back-calculable) and
        ``cv_pct`` (NaN for single wells).
    recovery_window : (float, float)
        Accepted back-fit recovery in percent (inclusive).
    cv_max : float
        Largest accepted replicate %CV.

    Returns
    -------
    limits : pandas.DataFrame
        ``plate``, ``read``, ``lloq``, ``uloq`` (NaN when no level qualifies).
    within : numpy.ndarray
        Per row of ``levels``: whether the level passes (recovery in window, CV <= cv_max,
        non-zero concentration).
    """
    conc = levels["expected_conc"].to_numpy(float)
    within = level_passes(levels["recovery_pct"].to_numpy(float), levels["cv_pct"].to_numpy(float), conc,
                          recovery_window, cv_max)
    tmp = pd.DataFrame({"plate": levels["plate"].to_numpy(), "read": levels["read"].to_numpy(),
                        "qc_conc": np.where(within, conc, np.nan)})
    agg = tmp.groupby(["plate", "read"], sort=False)["qc_conc"].agg(["min", "max"]).reset_index()
    agg.columns = ["plate", "read", "lloq", "uloq"]
    return agg, within


def dilution_linearity(samples: pd.DataFrame, *, cv_max: float = 20.0,
                       slope_window: tuple[float, float] = (0.8, 1.25)) -> pd.DataFrame:
    """Dilution linearity (parallelism) of samples read at several dilutions.

    Parameters
    ----------
    samples : pandas.DataFrame
        The ``samples`` table of an analysis (``plate``, ``read``, ``role``, ``sample``,
        ``dilution``, ``conc_in_well``, ``conc``, ``status``).
    cv_max : float
        Largest accepted %CV of the dilution-corrected concentrations.
    slope_window : (float, float)
        Accepted slope of ln(conc_in_well) against ln(1/dilution).

    Returns
    -------
    pandas.DataFrame
        One row per plate × read × sample with at least two dilutions: ``plate``,
        ``read``, ``sample``, ``n_dilutions``, ``n_quantified`` (dilutions with status
        ``ok``), ``dilutions`` (';'-joined), ``conc_mean``, ``conc_cv_pct`` (of the
        dilution-corrected ``conc`` of the quantified dilutions), ``slope`` (NaN with fewer
        than 2 quantified dilutions), ``linear`` (bool), ``reason``.
    """
    cols = ["plate", "read", "sample", "n_dilutions", "n_quantified", "dilutions", "conc_mean",
            "conc_cv_pct", "slope", "linear", "reason"]
    empty = pd.DataFrame({c: pd.Series(dtype=t) for c, t in zip(cols, [object, object, object, "int64", "int64",
                                                                      object, float, float, float, bool, object],
                                                                 strict=True)})
    role = samples["role"].to_numpy(object)
    keep = np.flatnonzero((role == "sample") | (role == "control"))
    if keep.size == 0:
        return empty
    plate = samples["plate"].to_numpy(object)[keep]
    read = samples["read"].to_numpy(object)[keep]
    name = samples["sample"].to_numpy(object)[keep]
    dil = samples["dilution"].to_numpy(float)[keep]
    x = samples["conc_in_well"].to_numpy(float)[keep]
    conc = samples["conc"].to_numpy(float)[keep]
    ok = samples["status"].to_numpy(object)[keep] == "ok"
    groups: dict[tuple, list[int]] = {}
    for i, k in enumerate(zip(plate.tolist(), read.tolist(), name.tolist(), strict=True)):
        groups.setdefault(k, []).append(i)
    rows = []
    for (p, r, smp), idx in groups.items():
        idx = np.asarray(idx)
        dl = np.unique(dil[idx])
        if dl.size < 2:
            continue
        q = idx[ok[idx]]
        nq = q.size
        c = conc[q]
        mean = float(c.mean()) if nq else np.nan
        cv = float(c.std(ddof=1) / mean * 100) if nq >= 2 and mean > 0 else np.nan
        slope = np.nan
        if nq >= 2 and np.unique(dil[q]).size >= 2:
            lx = -np.log(dil[q])
            ly = np.log(x[q])
            lx = lx - lx.mean()
            slope = float((lx * (ly - ly.mean())).sum() / (lx * lx).sum())
        if nq < 2:
            linear, why = False, f"only {nq} dilution(s) quantified (status ok): linearity not assessable"
        else:
            bad = []
            if not cv <= cv_max:
                bad.append(f"CV {cv:.1f} % > {cv_max:g} %")
            if not slope_window[0] <= slope <= slope_window[1]:
                bad.append(f"slope {slope:.2f} outside {slope_window[0]:g}-{slope_window[1]:g}")
            linear = not bad
            why = "dilution-corrected concentrations agree" if linear else "; ".join(bad)
        rows.append((p, r, smp, int(dl.size), int(nq), ";".join(f"{d:g}" for d in dl), mean, cv, slope,
                     bool(linear), why))
    if not rows:
        return empty
    return pd.DataFrame(rows, columns=cols)
