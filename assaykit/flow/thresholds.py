"""Data-driven gate boundaries, computed on a parent population's (transformed) values.

Methods (names used in ``[[flow.thresholds]]`` tables, see :mod:`assaykit.flow.settings`):

``density_valley`` (openCyto ``mindensity``-like)
    Kernel density of the values (binned, Gaussian kernel, bandwidth = Silverman's rule
    × ``adjust``); the cut is the lowest density between the two highest peaks. With a
    single peak there is no valley: the template boundary is kept (status says so).
    Parameters: ``adjust`` (2.0), ``bins`` (512), ``range`` ([lo, hi], default the
    0.1–99.9 % quantiles), ``min_peak`` (0.03, peak height as a fraction of the highest).
``tail`` (openCyto ``tailgate``-like, for rare positives without a second peak)
    Kernel density ``f`` and its derivative; right of the main peak, after the steepest
    descent, the cut is the first value where ``|f'|`` falls below ``tol`` × max ``|f'|``.
    Parameters: ``adjust`` (1.0), ``tol`` (0.01), ``bins``, ``range``. With
    ``side = "max"`` the left shoulder is used (a negative gate).
``control_quantile``
    The ``q`` quantile (0.999) of a control's values in the same parent gate (FMO or
    unstimulated tube named by the sample sheet's ``control`` column or
    ``params.control``), applied to the stained sample; ``side = "max"`` uses ``1 - q``.
``mixture``
    Two-component Gaussian mixture (EM); the cut is where the two weighted component
    densities are equal, between the two means. Parameters: ``max_iter`` (200),
    ``max_events`` (200000, a deterministic subsample).
``singlet``
    For a polygon on (area, height) scatter: a robust (Huber IRLS) regression of height on
    area; the polygon is the band ``± z × scale`` around the line (``level`` 0.999 gives
    ``z`` = 3.29; scale = MAD of the residuals), from the ``0.1 %`` to the ``99.9 %``
    quantile of the area. Parameters: ``level``, ``max_events``.

All methods are pure functions of NumPy arrays; :func:`place` dispatches by name and
returns ``(value, status)`` where a NaN value comes with the reason.

Inside :func:`assaykit.flow.gate` a boundary is computed on the parent population of the
sample (or the pooled parents of its group, or its control's parent), on at most 300,000
events (an even stride through the population) whose transformed values are computed
approximately (compensation by ``x @ inv(S)``, transform interpolated; within ~1e-6 of the
scale). The boundary placed is then applied exactly: membership of every event is
FlowKit's for the strategy holding that boundary (``GatingResult.export_gatingml``).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy import stats as _stats

__all__ = ["control_quantile", "density", "density_valley", "mixture", "place", "singlet_polygon", "tail"]


def _subsample(x: np.ndarray, n: int) -> np.ndarray:
    return x if x.size <= n else x[:: int(np.ceil(x.size / n))]


def density(x: np.ndarray, *, adjust: float = 1.0, bins: int = 512,
            range: Sequence[float] | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Binned Gaussian kernel density estimate.

    Parameters
    ----------
    x : array
        Values.
    adjust : float
        Bandwidth multiplier on Silverman's rule.
    bins : int
        Grid size.
    range : (lo, hi), optional
        Grid range; default the 0.1 and 99.9 % quantiles of ``x``.

    Returns
    -------
    grid, dens : numpy.ndarray
        Bin centres and density (integrates to ~1 over the grid).
    """
    x = np.asarray(x, dtype=np.float64)
    x = x[np.isfinite(x)]
    lo, hi = (np.quantile(x, [0.001, 0.999]) if range is None else range)
    if not hi > lo:
        hi = lo + 1e-9
    counts, edges = np.histogram(x, bins=bins, range=(lo, hi))
    grid = (edges[:-1] + edges[1:]) / 2
    step = edges[1] - edges[0]
    sd = np.std(x)
    iqr = np.subtract(*np.quantile(x, [0.75, 0.25]))
    bw = 0.9 * min(sd, iqr / 1.34 if iqr > 0 else sd) * x.size ** (-0.2) * adjust
    bw = max(bw, step)
    half = int(min(bins, np.ceil(4 * bw / step)))
    k = np.exp(-0.5 * ((np.arange(-half, half + 1) * step) / bw) ** 2)
    dens = np.convolve(counts.astype(np.float64), k / k.sum(), mode="same")
    total = dens.sum() * step
    return grid, dens / total if total > 0 else dens


def _peaks(d: np.ndarray, min_peak: float) -> np.ndarray:
    inner = np.flatnonzero((d[1:-1] > d[:-2]) & (d[1:-1] >= d[2:])) + 1
    cand = [0] if d[0] > d[1] else []
    cand += list(inner)
    if d[-1] > d[-2]:
        cand.append(d.size - 1)
    cand = np.array(cand, dtype=int)
    return cand[d[cand] >= min_peak * d.max()] if cand.size else cand


def density_valley(x, *, adjust: float = 2.0, bins: int = 512, range: Sequence[float] | None = None,
                   min_peak: float = 0.03) -> float:
    """Cut at the lowest density between the two highest peaks (NaN with one peak).

    Parameters
    ----------
    x : array
        The parent population's values on the gate's (transformed) scale.
    adjust : float
        Bandwidth multiplier on Silverman's rule (openCyto's peak finder uses 2).
    bins : int
        Grid size of the binned density.
    range : (lo, hi), optional
        Grid range; default the 0.1–99.9 % quantiles.
    min_peak : float
        Peaks lower than this fraction of the highest are ignored.

    Returns
    -------
    float
        The cut, in the units of ``x``; NaN when the density has fewer than two peaks.
    """
    grid, d = density(x, adjust=adjust, bins=bins, range=range)
    pk = _peaks(d, min_peak)
    if pk.size < 2:
        return float("nan")
    top = np.sort(pk[np.argsort(d[pk])[-2:]])
    seg = d[top[0]:top[1] + 1]
    return float(grid[top[0] + int(np.argmin(seg))])


def tail(x, *, adjust: float = 1.0, tol: float = 0.01, bins: int = 512, range: Sequence[float] | None = None,
         side: str = "min") -> float:
    """Cut on the shoulder of the main peak (right for ``side='min'``, left for ``'max'``).

    Parameters
    ----------
    x : array
        The parent population's values on the gate's (transformed) scale.
    adjust : float
        Bandwidth multiplier on Silverman's rule.
    tol : float
        The cut is where ``|f'|`` first falls below ``tol`` × max ``|f'|`` after the
        steepest descent.
    bins : int
        Grid size of the binned density.
    range : (lo, hi), optional
        Grid range; default the 0.1–99.9 % quantiles.
    side : {'min', 'max'}
        ``'min'``: a positive gate (right shoulder); ``'max'``: a negative gate.

    Returns
    -------
    float
        The cut; NaN when the density never flattens beyond the steepest descent.
    """
    x = np.asarray(x, dtype=np.float64)
    if side == "max":
        rng = None if range is None else (-range[1], -range[0])
        return -tail(-x, adjust=adjust, tol=tol, bins=bins, range=rng, side="min")
    grid, d = density(x, adjust=adjust, bins=bins, range=range)
    peak = int(np.argmax(d))
    deriv = np.gradient(d, grid)
    steep = peak + int(np.argmin(deriv[peak:]))
    limit = tol * np.max(np.abs(deriv))
    flat = np.flatnonzero(np.abs(deriv[steep:]) < limit)
    return float(grid[steep + flat[0]]) if flat.size else float("nan")


def control_quantile(control, q: float = 0.999, side: str = "min") -> float:
    """The ``q`` quantile of a control's values (``1 - q`` for ``side='max'``).

    Parameters
    ----------
    control : array
        The control tube's values in the same parent gate, on the gate's scale.
    q : float
        Quantile (0.999: 0.1 % of the control's events end up positive).
    side : {'min', 'max'}
        Which bound is placed.

    Returns
    -------
    float
        The cut; NaN for an empty control.
    """
    c = np.asarray(control, dtype=np.float64)
    c = c[np.isfinite(c)]
    if c.size == 0:
        return float("nan")
    return float(np.quantile(c, q if side == "min" else 1 - q))


def mixture(x, *, max_iter: int = 200, max_events: int = 200_000, tol: float = 1e-8) -> float:
    """Cut between the two components of a 1-D two-Gaussian mixture (EM fit).

    Parameters
    ----------
    x : array
        Values on the gate's scale.
    max_iter : int
        EM iterations at most.
    max_events : int
        At most this many values are used (an even stride).
    tol : float
        Relative change of the log-likelihood that stops EM.

    Returns
    -------
    float
        Where ``w1 N(μ1, σ1) = w2 N(μ2, σ2)`` between the means; NaN if the fit collapses.
    """
    v = _subsample(np.asarray(x, dtype=np.float64), max_events)
    v = v[np.isfinite(v)]
    if v.size < 10:
        return float("nan")
    lo, hi = np.quantile(v, [0.25, 0.75])
    mu = np.array([lo, hi])
    sd = np.full(2, max(np.std(v) / 2, 1e-9))
    w = np.array([0.5, 0.5])
    ll_old = -np.inf
    for _ in range(max_iter):
        dens = w * _stats.norm.pdf(v[:, None], mu, sd)
        tot = dens.sum(axis=1) + 1e-300
        r = dens / tot[:, None]
        nk = r.sum(axis=0)
        if np.any(nk < 1):
            return float("nan")
        w = nk / v.size
        mu = (r * v[:, None]).sum(axis=0) / nk
        sd = np.sqrt((r * (v[:, None] - mu) ** 2).sum(axis=0) / nk) + 1e-12
        ll = np.log(tot).sum()
        if abs(ll - ll_old) < tol * abs(ll):
            break
        ll_old = ll
    order = np.argsort(mu)
    mu, sd, w = mu[order], sd[order], w[order]
    grid = np.linspace(mu[0], mu[1], 2001)
    diff = w[0] * _stats.norm.pdf(grid, mu[0], sd[0]) - w[1] * _stats.norm.pdf(grid, mu[1], sd[1])
    cross = np.flatnonzero(np.diff(np.sign(diff)) != 0)
    return float(grid[cross[0]]) if cross.size else float("nan")


def singlet_polygon(area, height, *, level: float = 0.999, max_events: int = 50_000,
                    min_events: int = 50) -> list[tuple[float, float]]:
    """Band polygon of singlets around a robust regression of height on area.

    Parameters
    ----------
    area, height : array
        The parent population's area and height scatter values (the polygon's dimensions).
    level : float
        Coverage of the band for normal residuals (``z`` = its two-sided quantile).
    max_events : int
        At most this many events are used (an even stride).
    min_events : int
        Accepted for symmetry with :func:`place` (the caller checks it).

    Returns
    -------
    list of (area, height)
        Four vertices: the lower then the upper edge of the band.
    """
    a = _subsample(np.asarray(area, dtype=np.float64), max_events)
    h = _subsample(np.asarray(height, dtype=np.float64), max_events)
    X = np.column_stack([np.ones_like(a), a])
    beta = np.linalg.lstsq(X, h, rcond=None)[0]
    for _ in range(20):  # Huber IRLS
        res = h - X @ beta
        s = 1.4826 * np.median(np.abs(res - np.median(res))) or 1e-9
        u = np.abs(res) / (1.345 * s)
        wts = np.where(u <= 1, 1.0, 1.0 / np.maximum(u, 1e-12))
        new = np.linalg.lstsq(X * np.sqrt(wts)[:, None], h * np.sqrt(wts), rcond=None)[0]
        if np.allclose(new, beta, rtol=1e-10, atol=1e-12):
            beta = new
            break
        beta = new
    res = h - X @ beta
    s = 1.4826 * np.median(np.abs(res - np.median(res)))
    z = float(_stats.norm.ppf(0.5 + level / 2))
    x0, x1 = np.quantile(a, [0.001, 0.999])
    line = lambda x: beta[0] + beta[1] * x  # noqa: E731
    w = z * s
    return [(float(x0), float(line(x0) - w)), (float(x1), float(line(x1) - w)),
            (float(x1), float(line(x1) + w)), (float(x0), float(line(x0) + w))]


_MIN_EVENTS = 50


def place(method: str, x, *, side: str = "min", min_events: int = _MIN_EVENTS, **params) -> tuple[float, str]:
    """Compute one boundary by method name.

    Parameters
    ----------
    method : {'density_valley', 'tail', 'control_quantile', 'mixture'}
        The method (``singlet`` places polygons: :func:`singlet_polygon`).
    x : array
        The values (the control's for ``control_quantile``).
    side : {'min', 'max'}
        Which bound is placed.
    min_events : int
        Fewer values give NaN with a status.
    **params
        The method's parameters (``control`` is ignored here: it names the control sample).

    Returns
    -------
    value : float
        The boundary, or NaN.
    status : str
        ``'ok'`` or why no boundary was placed (too few events, one peak ...); the caller
        then keeps the template boundary.
    """
    x = np.asarray(x, dtype=np.float64)
    if x.size < int(min_events):
        return float("nan"), f"too few events ({x.size} < {min_events}): template boundary kept"
    params.pop("control", None)
    if method == "density_valley":
        v = density_valley(x, **params)
        return v, "ok" if np.isfinite(v) else "one density peak, no valley: template boundary kept"
    if method == "tail":
        v = tail(x, side=side, **params)
        return v, "ok" if np.isfinite(v) else "density never flattens: template boundary kept"
    if method == "control_quantile":
        v = control_quantile(x, side=side, **params)
        return v, "ok" if np.isfinite(v) else "empty control: template boundary kept"
    if method == "mixture":
        v = mixture(x, **params)
        return v, "ok" if np.isfinite(v) else "mixture fit collapsed: template boundary kept"
    raise ValueError(f"unknown threshold method {method!r}")
