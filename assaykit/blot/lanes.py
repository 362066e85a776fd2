"""Lane detection by projection profiles, with pitch estimation for touching lanes.

The background-corrected image (rolling ball) is projected on the x axis. Bands curve
("smile") and slant ("tilt") across a lane, which moves them up and down but not
sideways, so the projection over the rows that hold bands keeps the lanes' columns
sharp. To be robust against a few very strong rows, each column's projection is the
mean of its rows' values after dividing every row by its own 99th percentile (every
band row votes with the same weight); only rows whose 99th percentile reaches a quarter
of the highest row's take part (rows with bands).

* The **pitch** (lane-to-lane distance) is the first clear maximum of the projection's
  autocorrelation.
* **Centres** are peaks of the smoothed projection at least 0.6 pitch apart and with a
  prominence of at least 10 % of the projection's range (the ``n`` most prominent when a
  lane count is given; if fewer are found, the columns where the projection rises above
  20 % of its range — the extent of the bands — are split into ``n`` equal lanes).
* **Edges**: from each centre outwards to where the projection falls to half-way between
  the lane's plateau and the valley towards its neighbour; touching lanes (no valley
  below that level) meet half-way between their centres.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import ndimage as ndi
from scipy import signal

from assaykit.errors import AnalysisError
from assaykit.images import BlotImage

__all__ = ["find_lanes", "lane_projection", "lane_pitch"]


def lane_projection(corrected: np.ndarray) -> np.ndarray:
    """Column projection of a background-corrected, bands-positive image (module docstring)."""
    a = np.asarray(corrected, dtype=np.float32)
    step = max(1, a.shape[0] // 600)
    rows = a[::step]
    scale = np.percentile(rows, 99, axis=1)
    keep = scale > 0.25 * float(scale.max()) if scale.size and scale.max() > 0 else scale > 0  # band rows
    if not keep.any():
        return np.zeros(a.shape[1])
    norm = np.clip(rows[keep] / scale[keep, None], 0.0, 1.5)
    return norm.mean(axis=0).astype(np.float64)


def lane_pitch(projection: np.ndarray, min_pitch: int = 12) -> float | None:
    """Lane-to-lane distance from the autocorrelation of a projection (None if unclear)."""
    p = np.asarray(projection, dtype=np.float64)
    p = p - ndi.uniform_filter1d(p, max(3, p.size // 4), mode="nearest")
    if p.size < 3 * min_pitch or not np.any(p):
        return None
    ac = np.correlate(p, p, mode="full")[p.size - 1 :]
    ac /= ac[0]
    peaks, props = signal.find_peaks(ac[: p.size // 2], height=0.1, prominence=0.05)
    peaks = peaks[peaks >= min_pitch]
    if peaks.size == 0:
        return None
    return float(peaks[0])


def _edges(p: np.ndarray, centers: np.ndarray, pitch: float) -> tuple[np.ndarray, np.ndarray]:
    """Lane edges: the steepest rise/fall between a centre and its neighbours' valleys.

    Touching lanes (the valley between them stays above 60 % of the lower plateau) share
    the valley as their edge.
    """
    n = centers.size
    grad = np.gradient(p)
    left, right = np.empty(n), np.empty(n)
    half = max(2, int(0.2 * pitch))
    tops = np.array([float(np.median(p[max(0, c - half) : c + half + 1])) for c in centers])
    for k, c in enumerate(centers):
        lo = int(centers[k - 1]) if k > 0 else max(0, int(c - 0.8 * pitch))
        hi = int(centers[k + 1]) if k + 1 < n else min(p.size - 1, int(c + 0.8 * pitch))
        for side in ("l", "r"):
            a, b = (lo, c) if side == "l" else (c, hi)
            if b - a < 2:
                edge = float(a if side == "l" else b)
            else:
                v = a + int(np.argmin(p[a : b + 1]))
                neighbour = (k > 0) if side == "l" else (k + 1 < n)
                lower = min(tops[k], tops[k - 1 if side == "l" else k + 1]) if neighbour else tops[k]
                if neighbour and p[v] > 0.6 * lower:
                    edge = float(v)  # touching lanes
                elif side == "l":
                    edge = v + int(np.argmax(grad[v : c + 1])) - 0.5
                else:
                    edge = c + int(np.argmin(grad[c : v + 1])) + 0.5
            (left if side == "l" else right)[k] = edge
    return np.clip(left, 0, p.size), np.clip(right, 0, p.size)


def find_lanes(image: BlotImage | np.ndarray, n: int | None = None, *, radius: float = 50.0,
               _corrected: np.ndarray | None = None) -> pd.DataFrame:
    """Find the lanes of a blot.

    Parameters
    ----------
    image : BlotImage or numpy.ndarray
        The blot (an array is taken as bands-positive signal).
    n : int, optional
        Number of lanes; detected when omitted.
    radius : float
        Rolling-ball radius of the background removed before projecting.

    Returns
    -------
    pandas.DataFrame
        One row per lane, left to right: ``lane`` (1-based), ``x_left``, ``x_right``,
        ``x_center`` (pixels; ``x_right`` exclusive).

    Raises
    ------
    AnalysisError
        No detectable lanes (the message suggests giving the lane count or band boxes).
    """
    from assaykit.blot.background import rolling_ball_background

    if _corrected is None:
        sig = image.signal(np.float32) if isinstance(image, BlotImage) else np.asarray(image, dtype=np.float32)
        _corrected = sig - rolling_ball_background(sig, radius)
    where = image.name if isinstance(image, BlotImage) else None
    proj = lane_projection(_corrected)
    smooth = ndi.gaussian_filter1d(proj, 1.5)
    rng = float(smooth.max() - smooth.min())
    pitch = lane_pitch(smooth)
    if n is None and (pitch is None or rng <= 0):
        raise _no_lanes(where)
    if pitch is None:
        pitch = smooth.size / max(n or 1, 1)
    wide = ndi.uniform_filter1d(smooth, max(3, int(0.5 * pitch)), mode="nearest")  # plateaus → round peaks
    wrng = float(wide.max() - wide.min())
    peaks, props = signal.find_peaks(wide, distance=max(1, int(0.6 * pitch)), prominence=0.1 * wrng if wrng > 0 else None)
    if n is not None:
        if peaks.size >= n:
            best = np.sort(np.argsort(props["prominences"])[::-1][:n])
            peaks = peaks[best]
        else:  # too little contrast between lanes: split the extent of the bands evenly
            above = np.flatnonzero(smooth > smooth.min() + 0.2 * rng) if rng > 0 else np.array([], int)
            lo, hi = (float(above[0]), float(above[-1] + 1)) if above.size else (0.0, float(smooth.size))
            edges = np.linspace(lo, hi, n + 1)
            return _table(edges[:-1], edges[1:])
    if peaks.size == 0:
        raise _no_lanes(where)
    left, right = _edges(smooth, peaks.astype(np.int64), pitch)
    if peaks.size >= 3:  # outer lanes run into gel borders: no side wider than the usual lane
        half = 0.6 * float(np.median(right - left))
        left = np.maximum(left, peaks - half)
        right = np.minimum(right, peaks + half)
    return _table(left, right)


def _table(left: np.ndarray, right: np.ndarray) -> pd.DataFrame:
    left = np.round(np.asarray(left, dtype=np.float64), 1)
    right = np.round(np.asarray(right, dtype=np.float64), 1)
    return pd.DataFrame({"lane": np.arange(1, left.size + 1, dtype=np.int64), "x_left": left, "x_right": right,
                         "x_center": (left + right) / 2.0})


def _no_lanes(where: str | None) -> AnalysisError:
    return AnalysisError(
        "no detectable lanes", file=where, expected="lanes of bands above the background",
        found="a flat column projection; give the lane count (lanes=N, --lanes N) or band boxes (boxes=, --boxes)",
    )
