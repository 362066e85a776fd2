"""Deterministic, vectorised starting values for 4PL/5PL fits (internal)."""

from __future__ import annotations

import numpy as np


def start_values(x: np.ndarray, y: np.ndarray, model: str = "4pl") -> np.ndarray:
    """Starting G&D fitting parameters ``(a, b, ln c, d[, ln g])`` for m curves.

    ``x`` and ``y`` have shape (m, n); NaN marks unused points. The direction of the
    curve comes from the mean responses at the lowest and highest concentration;
    ``a``/``d`` start just beyond the observed range, ``b`` and ``c`` come from a
    least-squares line through the logit of the scaled responses against ln x.
    The slope is always started positive (``a`` at x -> 0).
    """
    x = np.asarray(x, dtype=float)
    y = np.asarray(y, dtype=float)
    ok = np.isfinite(x) & np.isfinite(y)
    xm = np.where(ok, x, np.nan)
    ym = np.where(ok, y, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"), _quiet():
        xmin = np.nanmin(xm, axis=1, keepdims=True)
        xmax = np.nanmax(xm, axis=1, keepdims=True)
        ylo = np.nanmean(np.where(ok & (xm == xmin), ym, np.nan), axis=1)
        yhi = np.nanmean(np.where(ok & (xm == xmax), ym, np.nan), axis=1)
        ymin = np.nanmin(ym, axis=1)
        ymax = np.nanmax(ym, axis=1)
        span = np.where(ymax > ymin, ymax - ymin, np.maximum(np.abs(ymax), 1.0))
        inc = ~(yhi < ylo)
        lo = ymin - 0.01 * span
        hi = ymax + 0.05 * span
        a0 = np.where(inc, lo, hi)
        d0 = np.where(inc, hi, lo)
        pos = ok & (xm > 0)
        lx = np.where(pos, np.log(np.where(pos, xm, 1.0)), 0.0)
        frac = (ym - a0[:, None]) / (d0 - a0)[:, None]
        frac = np.clip(np.where(pos, frac, 0.5), 1e-3, 1 - 1e-3)
        z = np.log(frac / (1 - frac))
        npos = pos.sum(axis=1)
        mx = np.where(npos > 0, (lx * pos).sum(axis=1) / np.maximum(npos, 1), 0.0)
        mz = np.where(npos > 0, (np.where(pos, z, 0.0)).sum(axis=1) / np.maximum(npos, 1), 0.0)
        dx = np.where(pos, lx - mx[:, None], 0.0)
        dz = np.where(pos, z - mz[:, None], 0.0)
        sxx = (dx * dx).sum(axis=1)
        b0 = np.where(sxx > 0, (dx * dz).sum(axis=1) / np.where(sxx > 0, sxx, 1.0), 1.0)
        good = np.isfinite(b0) & (b0 > 0.05)
        b0 = np.where(good, np.clip(b0, 0.3, 5.0), 1.0)
        lc0 = np.where(good, mx - mz / b0, mx)
    cols = [a0, b0, lc0, d0]
    if model == "5pl":
        cols.append(np.zeros_like(a0))
    out = np.stack(cols, axis=1)
    return np.where(np.isfinite(out), out, np.array([0.0, 1.0, 0.0, 1.0, 0.0][: out.shape[1]]))


class _quiet:
    def __enter__(self):
        import warnings

        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)

    def __exit__(self, *exc):
        self._w.__exit__(*exc)
