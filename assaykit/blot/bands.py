"""Bands on lane profiles: peak shapes, peak fitting with a local baseline, band detection.

A *lane profile* is the sum of the (background-corrected) signal across a lane's columns,
row by row, so that summing a profile over a box's rows gives the box volume. Bands are
peaks of that profile:

* :func:`detect_bands` finds them (``scipy.signal.find_peaks`` with a prominence relative
  to the lane's strongest band, extents from the valleys between peaks);
* :func:`fit_profile` fits a sum of peak shapes (pseudo-Voigt: ``η·Lorentz + (1 − η)·Gauss``,
  or Gaussian) plus a quadratic baseline to a window of the profile by least squares, so
  that overlapping bands (a faint band 20 px above a strong one) and the tails of strong
  bands are separated from each other and from the background;
* :func:`split_volumes` shares each box's measured signal between the fitted bands in
  proportion to their fitted shapes, row by row: an isolated band keeps exactly its box
  sum minus the baseline, and misfit of the shapes goes to the data, not to the volumes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import optimize, signal

__all__ = ["PeakFit", "detect_bands", "fit_profile", "pseudo_voigt", "split_volumes"]

_SQRT2PI = np.sqrt(2.0 * np.pi)


def pseudo_voigt(y: np.ndarray, area: float, center: float, sigma: float, gamma: float, eta: float) -> np.ndarray:
    """Area-normalised pseudo-Voigt peak ``area·(η·L + (1 − η)·G)``.

    ``G`` is a Gaussian of standard deviation ``sigma``, ``L`` a Lorentzian of half width
    ``gamma``, both of unit area and centred on ``center``.

    Examples
    --------
    >>> y = np.arange(-2000, 2001)
    >>> round(float(pseudo_voigt(y, 100.0, 0.0, 5.0, 4.0, 0.3).sum()), 1)
    99.8
    """
    d = y - center
    g = np.exp(-0.5 * (d / sigma) ** 2) / (sigma * _SQRT2PI)
    lor = gamma / (np.pi * (d * d + gamma * gamma))
    return area * (eta * lor + (1.0 - eta) * g)


@dataclass(frozen=True)
class PeakFit:
    """Result of :func:`fit_profile` on one window of a lane profile.

    Attributes
    ----------
    y : numpy.ndarray
        Pixel rows of the window.
    baseline : numpy.ndarray
        Fitted baseline on ``y``.
    components : numpy.ndarray
        ``n_peaks × len(y)`` fitted peak shapes on ``y``.
    params : numpy.ndarray
        ``n_peaks × 5``: area, center, sigma, gamma, eta.
    success : bool
        Whether the least-squares fit converged.
    rms : float
        Root-mean-square residual.
    """

    y: np.ndarray
    baseline: np.ndarray
    components: np.ndarray
    params: np.ndarray
    success: bool
    rms: float


def _model(theta: np.ndarray, y: np.ndarray, n: int, shape: str, yc: float, span: float) -> tuple[np.ndarray, np.ndarray]:
    t = (y - yc) / span
    base = theta[0] + theta[1] * t + theta[2] * t * t
    comps = np.empty((n, y.size))
    for k in range(n):
        a, c, s, g, e = theta[3 + 5 * k : 8 + 5 * k]
        if shape == "gaussian":
            comps[k] = pseudo_voigt(y, a, c, s, 1.0, 0.0)
        else:
            comps[k] = pseudo_voigt(y, a, c, s, g, e)
    return base, comps


def _jacobian(theta: np.ndarray, y: np.ndarray, n: int, shape: str, yc: float, span: float) -> np.ndarray:
    """Analytic Jacobian of :func:`_model`'s sum (baseline, then 5 columns per peak)."""
    t = (y - yc) / span
    out = np.zeros((y.size, 3 + 5 * n))
    out[:, 0], out[:, 1], out[:, 2] = 1.0, t, t * t
    for k in range(n):
        a, c, s, g, e = theta[3 + 5 * k : 8 + 5 * k]
        if shape == "gaussian":
            g, e = 1.0, 0.0
        d = y - c
        gauss = np.exp(-0.5 * (d / s) ** 2) / (s * _SQRT2PI)
        q = d * d + g * g
        lor = g / (np.pi * q)
        j = out[:, 3 + 5 * k : 8 + 5 * k]
        j[:, 0] = e * lor + (1.0 - e) * gauss
        j[:, 1] = a * (e * lor * 2.0 * d / q + (1.0 - e) * gauss * d / (s * s))
        j[:, 2] = a * (1.0 - e) * gauss * (d * d / s**3 - 1.0 / s)
        if shape != "gaussian":
            j[:, 3] = a * e * lor * (1.0 / g - 2.0 * g / q)
            j[:, 4] = a * (lor - gauss)
    return out


def fit_profile(
    y: np.ndarray,
    profile: np.ndarray,
    centers: list[float],
    half_widths: list[float],
    *,
    shape: str = "pseudo_voigt",
    init: np.ndarray | None = None,
) -> PeakFit:
    """Fit peaks plus a quadratic baseline to one window of a lane profile.

    Parameters
    ----------
    y : numpy.ndarray
        Pixel rows of the window (increasing).
    profile : numpy.ndarray
        Profile values on ``y``.
    centers : list of float
        Starting centre (pixel row) of each peak.
    half_widths : list of float
        Starting half extent of each peak (e.g. half a band box); the width starts at
        a quarter of it and each centre may move by at most half of it.
    shape : {'pseudo_voigt', 'gaussian'}
        Peak shape.
    init : numpy.ndarray, optional
        ``n_peaks × 5`` starting values (area, center, sigma, gamma, eta), e.g. from an
        earlier fit; NaN rows fall back to the defaults.

    Returns
    -------
    PeakFit
    """
    y = np.asarray(y, dtype=np.float64)
    p = np.asarray(profile, dtype=np.float64)
    n = len(centers)
    yc, span = float(y.mean()), max(float(y[-1] - y[0]) / 2.0, 1.0)
    edge = np.r_[p[:3], p[-3:]]
    b0 = float(np.median(edge))
    theta0 = [b0, 0.0, 0.0]
    lo = [-np.inf, -np.inf, -np.inf]
    hi = [np.inf, np.inf, np.inf]
    scale = max(float(np.abs(p - b0).max()), 1.0)
    for c, hw in zip(centers, half_widths, strict=True):
        hw = max(float(hw), 2.0)
        s0 = hw / 4.0
        i = int(np.clip(np.searchsorted(y, c), 0, y.size - 1))
        area0 = max(float(p[i] - b0), scale * 1e-3) * s0 * _SQRT2PI
        theta0 += [area0, float(c), s0, s0, 0.3]
        lo += [0.0, c - hw / 2.0, 0.5, 0.5, 0.0]
        hi += [np.inf, c + hw / 2.0, 2.0 * hw, 2.0 * hw, 1.0]
    theta0 = np.asarray(theta0, dtype=np.float64)
    if init is not None:
        start = np.asarray(init, dtype=np.float64).reshape(n, 5)
        for k in range(n):
            if np.isfinite(start[k]).all():
                theta0[3 + 5 * k : 8 + 5 * k] = start[k]
    theta0 = np.clip(theta0, np.array(lo) + 1e-9, np.array(hi) - 1e-9)

    def resid(theta: np.ndarray) -> np.ndarray:
        base, comps = _model(theta, y, n, shape, yc, span)
        return (base + comps.sum(axis=0) - p) / scale

    def jac(theta: np.ndarray) -> np.ndarray:
        return _jacobian(theta, y, n, shape, yc, span) / scale

    try:
        res = optimize.least_squares(resid, theta0, jac=jac, bounds=(lo, hi), x_scale="jac", max_nfev=200 * (n + 1))
        theta, ok = res.x, bool(res.success)
    except (ValueError, np.linalg.LinAlgError):
        theta, ok = theta0, False
    base, comps = _model(theta, y, n, shape, yc, span)
    rms = float(np.sqrt(np.mean((base + comps.sum(axis=0) - p) ** 2)))
    params = theta[3:].reshape(n, 5).copy()
    if shape == "gaussian":
        params[:, 3:] = np.nan
    return PeakFit(y, base, comps, params, ok, rms)


def split_volumes(
    fit: PeakFit, profile: np.ndarray, boxes: list[tuple[int, int]]
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Volumes of fitted bands in their boxes, sharing the measured signal row by row.

    Parameters
    ----------
    fit : PeakFit
        The fit of the window holding the boxes.
    profile : numpy.ndarray
        The measured profile on ``fit.y``.
    boxes : list of (top, bottom)
        Rows of each band's box (``bottom`` exclusive), one per fitted peak.

    Returns
    -------
    volumes, backgrounds, totals : numpy.ndarray
        ``Σ_box (profile − baseline) · share_k`` and ``Σ_box baseline`` per band, where
        ``share_k = component_k / Σ components`` (1 for a band alone in its rows); and the
        volume extrapolated to the whole band, ``volume · area_k / Σ_box component_k``
        (the fitted shape's tails outside the box added).
    """
    comps = np.clip(fit.components, 0.0, None)
    total = comps.sum(axis=0)
    n = comps.shape[0]
    share = np.where(total > 0, comps / np.where(total > 0, total, 1.0), 1.0 / n)
    above = np.asarray(profile, dtype=np.float64) - fit.baseline
    y0 = int(fit.y[0])
    vols, bgs, tots = np.empty(n), np.empty(n), np.full(n, np.nan)
    for k, (top, bottom) in enumerate(boxes):
        sl = slice(top - y0, bottom - y0)
        vols[k] = float((above[sl] * share[k, sl]).sum())
        bgs[k] = float(fit.baseline[sl].sum())
        inside = float(comps[k, sl].sum())
        if inside > 0:
            tots[k] = vols[k] * float(fit.params[k, 0]) / inside
    return vols, bgs, tots


def detect_bands(profile: np.ndarray, *, min_prominence: float = 0.02, min_distance: int = 5) -> list[tuple[int, int, int]]:
    """Find bands on a background-corrected lane profile.

    Parameters
    ----------
    profile : numpy.ndarray
        Lane profile (bands positive, background removed).
    min_prominence : float
        Minimum prominence as a fraction of the highest peak of the profile.
    min_distance : int
        Minimum distance between peaks in pixels.

    Returns
    -------
    list of (top, peak, bottom)
        Rows of each band: its extent (``bottom`` exclusive), where the profile falls to
        about 5 % of the peak height or reaches the valley towards a neighbour.
    """
    p = np.asarray(profile, dtype=np.float64)
    if p.size < 5 or not np.isfinite(p).all() or p.max() <= 0:
        return []
    sm = np.convolve(p, np.ones(3) / 3.0, mode="same")
    peaks, props = signal.find_peaks(sm, prominence=min_prominence * float(sm.max()), distance=min_distance)
    if peaks.size == 0:
        return []
    _, _, left, right = signal.peak_widths(sm, peaks, rel_height=0.95, prominence_data=(
        props["prominences"], props["left_bases"], props["right_bases"]))
    out = []
    for k, pk in enumerate(peaks):
        top = int(np.floor(left[k]))
        bottom = int(np.ceil(right[k])) + 1
        if k > 0:
            valley = peaks[k - 1] + int(np.argmin(sm[peaks[k - 1] : pk + 1]))
            top = max(top, valley)
        if k + 1 < peaks.size:
            valley = pk + int(np.argmin(sm[pk : peaks[k + 1] + 1]))
            bottom = min(bottom, valley + 1)
        out.append((max(top, 0), int(pk), min(bottom, p.size)))
    return out
