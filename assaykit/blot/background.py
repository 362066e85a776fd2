"""Background of blot images: ImageJ's rolling ball, reproduced step by step.

:func:`rolling_ball_background` follows ImageJ's "Process › Subtract Background"
(``BackgroundSubtracter``, after Sternberg 1983) on a bands-positive float image:

1. optional 3×3 mean pre-smoothing (edge pixels repeated);
2. shrinking by the block **minimum** by a factor 1/2/4/8 for radius ≤ 10/30/100/> 100;
3. a ball of radius ``radius / shrink`` (in pixel units *and* pixel-value units), trimmed
   by 24/24/32/40 % of its radius into a square patch (19 × 19 for radius 50);
4. the ball rolled under the surface: a grey-level **erosion** by the ball (ball centres
   also outside the image, only pixels inside counted) followed by a **dilation**, i.e. an
   opening with the ball as the non-flat structuring element;
5. enlargement back to full size by ImageJ's bilinear interpolation (its interpolation
   indices and weights, with their slight extrapolation at the borders);
6. with pre-smoothing, the background is capped at the original image (it never exceeds a
   pixel), so the subtracted image is never negative.

The opening is computed exactly but quickly: because the ball decreases away from its
centre along both axes, it is the upper envelope of flat rectangles ``|dy| ≤ i, |dx| ≤ j``
of height ``z(i, j)``; an erosion by the ball is therefore the minimum over (i, j) of flat
rectangular erosions minus ``z(i, j)``, and the flat erosions are built incrementally
(two ``numpy.minimum`` calls each), in strips of rows that stay in the CPU cache.

Light-background images need no inversion here: :meth:`BlotImage.signal` already turns
them bands-positive (``white − pixel``), and every step commutes with ``white − ·``
(ImageJ negates instead; the results are the same).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy import ndimage as ndi

from assaykit.errors import AnalysisError
from assaykit.images import BlotImage

__all__ = ["IMAGE_METHODS", "ball_patch", "rolling_ball_background", "subtract_background"]

#: The background methods that estimate a background image (the others work per box).
IMAGE_METHODS: tuple[str, ...] = ("rolling_ball", "none")

_STRIP = 48  # rows per strip in the morphology (cache-sized)


def ball_patch(radius: float) -> tuple[int, np.ndarray]:
    """ImageJ's shrink factor and trimmed ball for a rolling-ball radius.

    Parameters
    ----------
    radius : float
        Ball radius in full-resolution pixels.

    Returns
    -------
    shrink : int
        1, 2, 4 or 8 (radius ≤ 10, ≤ 30, ≤ 100, > 100).
    z : numpy.ndarray
        Square float32 patch of ball heights ``sqrt(r² − dx² − dy²)`` (0 outside the ball)
        with ``r = radius / shrink``; its half width is ``round(r − trim)``, ``trim`` being
        24/24/32/40 % of ``r`` (integer pixels).

    Examples
    --------
    >>> shrink, z = ball_patch(50)
    >>> shrink, z.shape
    (4, (19, 19))
    """
    if radius <= 10:
        shrink, trim_pct = 1, 24
    elif radius <= 30:
        shrink, trim_pct = 2, 24
    elif radius <= 100:
        shrink, trim_pct = 4, 32
    else:
        shrink, trim_pct = 8, 40
    r = max(radius / shrink, 1.0)
    xtrim = int(trim_pct * r) // 100
    half = int(np.floor(r - xtrim + 0.5))  # Java Math.round
    d = np.arange(-half, half + 1, dtype=np.float64)
    t = r * r - d[:, None] ** 2 - d[None, :] ** 2
    z = np.sqrt(np.clip(t, 0.0, None)).astype(np.float32)
    return shrink, z


def _smooth3(a: np.ndarray) -> np.ndarray:
    """ImageJ's 3×3 mean (edge pixels repeated), float32."""
    h, w = a.shape
    if h < 2 or w < 2:
        return ndi.uniform_filter(a, 3, mode="nearest")
    r = np.empty_like(a)
    np.add(a[:, :-2], a[:, 2:], out=r[:, 1:-1])
    r[:, 1:-1] += a[:, 1:-1]
    r[:, 0] = 2 * a[:, 0] + a[:, 1]
    r[:, -1] = 2 * a[:, -1] + a[:, -2]
    out = np.empty_like(a)
    np.add(r[:-2], r[2:], out=out[1:-1])
    out[1:-1] += r[1:-1]
    out[0] = 2 * r[0] + r[1]
    out[-1] = 2 * r[-1] + r[-2]
    out *= np.float32(1.0 / 9.0)
    return out


def _shrink(a: np.ndarray, s: int) -> np.ndarray:
    """Block minimum over ``s × s`` blocks (partial blocks at the right and bottom edges)."""
    h, w = a.shape
    hs, ws = -(-h // s), -(-w // s)
    if hs * s != h or ws * s != w:
        padded = np.full((hs * s, ws * s), np.inf, dtype=a.dtype)
        padded[:h, :w] = a
        a = padded
    cols = a[:, 0::s].copy()
    for k in range(1, s):
        np.minimum(cols, a[:, k::s], out=cols)
    out = cols[0::s].copy()
    for k in range(1, s):
        np.minimum(out, cols[k::s], out=out)
    return out


def _interp_arrays(length: int, small: int, s: int) -> tuple[np.ndarray, np.ndarray]:
    """ImageJ's ``makeInterpolationArrays``: lower small-image index and its weight."""
    i = np.arange(length)
    idx = np.trunc((i - s // 2) / s).astype(np.int64)  # Java integer division truncates
    idx = np.minimum(idx, small - 2)
    dist = (i + 0.5) / s - (idx + 0.5)
    return idx, (1.0 - dist).astype(np.float32)


def _enlarge(small: np.ndarray, shape: tuple[int, int], s: int, cap: np.ndarray | None = None) -> np.ndarray:
    """ImageJ's ``enlargeImage``: separable linear interpolation (x first, then y), float32.

    With ``cap``, the result is limited to ``cap`` pixel by pixel (done chunk by chunk while
    the rows are in the cache).
    """
    h, w = shape
    if small.shape[0] < 2:
        small = np.repeat(small, 2, axis=0)
    if small.shape[1] < 2:
        small = np.repeat(small, 2, axis=1)
    xi, xw = _interp_arrays(w, small.shape[1], s)
    yi, yw = _interp_arrays(h, small.shape[0], s)
    rows = small[:, xi + 1]  # small rows at full width
    rows += (small[:, xi] - rows) * xw
    diff = rows[:-1] - rows[1:]
    out = np.empty((h, w), dtype=np.float32)
    starts = np.flatnonzero(np.r_[True, yi[1:] != yi[:-1]])  # runs of rows between 2 small rows
    for b, e in zip(starts, np.r_[starts[1:], h], strict=True):
        k = yi[b]
        o = out[b:e]
        np.multiply(diff[k], yw[b:e, None], out=o)
        o += rows[k + 1]
        if cap is not None:
            np.minimum(o, cap[b:e], out=o)
    return out


def _morph_strip(src: np.ndarray, zq: np.ndarray, rows: int, width: int, erode: bool) -> np.ndarray:
    """Erosion (or dilation) of ``rows`` output rows by the ball, from rows ``src`` (+2R halo).

    Output ``[r, c]`` uses ``src[r : r + 2R + 1, c : c + 2R + 1]``.
    """
    half = zq.shape[0] - 1
    op = np.minimum if erode else np.maximum
    sign = -1.0 if erode else 1.0
    out = np.full((rows, width), np.inf if erode else -np.inf, dtype=np.float32)
    tmp = np.empty((rows, width), dtype=np.float32)
    hj = src[:, half : half + width].copy()  # flat erosion over |dx| <= j
    for j in range(half + 1):
        if j:
            op(hj, src[:, half - j : half - j + width], out=hj)
            op(hj, src[:, half + j : half + j + width], out=hj)
        v = hj[half : half + rows].copy()  # ... and over |dy| <= i
        for i in range(half + 1):
            if i:
                op(v, hj[half - i : half - i + rows], out=v)
                op(v, hj[half + i : half + i + rows], out=v)
            np.add(v, sign * zq[i, j], out=tmp)
            op(out, tmp, out=out)
    return out


def _morph(src: np.ndarray, zq: np.ndarray, height: int, width: int, erode: bool) -> np.ndarray:
    half = zq.shape[0] - 1
    out = np.empty((height, width), dtype=np.float32)
    for r0 in range(0, height, _STRIP):
        r1 = min(r0 + _STRIP, height)
        out[r0:r1] = _morph_strip(src[r0 : r1 + 2 * half], zq, r1 - r0, width, erode)
    return out


def roll_ball(a: np.ndarray, z: np.ndarray) -> np.ndarray:
    """Grey-level opening of ``a`` by the ball ``z`` as ImageJ's ``rollBall`` computes it.

    Ball centres run over the image extended by the ball's half width on every side;
    at each centre the ball rises until it touches an image pixel (pixels outside the image
    do not count), and each pixel gets the highest ball surface above it.
    """
    half = z.shape[0] // 2
    h, w = a.shape
    he, we = h + 2 * half, w + 2 * half  # the centres
    big = np.full((he + 2 * half, we + 2 * half), np.inf, dtype=np.float32)
    big[2 * half : 2 * half + h, 2 * half : 2 * half + w] = a
    zq = np.ascontiguousarray(z[half:, half:])
    eroded = _morph(big, zq, he, we, erode=True)
    return _morph(eroded, zq, h, w, erode=False)


def rolling_ball_background(
    signal: np.ndarray, radius: float = 50.0, *, smooth: bool = True
) -> np.ndarray:
    """The background ImageJ's "Subtract Background" (rolling ball) would subtract.

    Parameters
    ----------
    signal : numpy.ndarray
        2-D image, bands positive (bright bands on a dark background; use
        :meth:`BlotImage.signal` for light-background images).
    radius : float
        Rolling-ball radius in pixels (ImageJ's ``rolling=``).
    smooth : bool
        3×3 mean pre-smoothing (ImageJ's default; "disable smoothing" = False).

    Returns
    -------
    numpy.ndarray
        float32 background (ImageJ works in float32 too), same shape; never above
        ``signal`` when ``smooth`` is True (ImageJ caps it the same way).
    """
    a = np.asarray(signal, dtype=np.float32)
    if a.ndim != 2 or a.size == 0:
        raise AnalysisError("background needs a non-empty 2-D image", found=f"shape {a.shape}")
    if not np.isfinite(a).all():
        raise AnalysisError("image holds NaN or infinite pixels", found=f"{int((~np.isfinite(a)).sum())} pixels")
    work = _smooth3(a) if smooth else a
    shrink, z = ball_patch(radius)
    small = _shrink(work, shrink) if shrink > 1 else work
    bg = roll_ball(small, z)
    if shrink > 1:
        return _enlarge(bg, a.shape, shrink, cap=a if smooth else None)
    if smooth:
        np.minimum(bg, a, out=bg)
    return bg


def subtract_background(
    image: BlotImage | np.ndarray,
    method: str = "rolling_ball",
    radius: float = 50.0,
    *,
    smooth: bool = True,
) -> tuple[np.ndarray, np.ndarray]:
    """Subtract an image-wide background.

    Parameters
    ----------
    image : BlotImage or numpy.ndarray
        The blot (an array is taken as bands-positive signal).
    method : {'rolling_ball', 'none'}
        ``'rolling_ball'``: :func:`rolling_ball_background`; ``'none'``: zero background.
        (``median_border`` and ``lane_profile`` work per band box:
        :func:`assaykit.blot.quantify`.)
    radius : float
        Rolling-ball radius in pixels.
    smooth : bool
        3×3 pre-smoothing of the rolling ball.

    Returns
    -------
    corrected, background : numpy.ndarray
        float64 arrays, bands positive: ``corrected = signal − background``.

    Raises
    ------
    AnalysisError
        For a per-box or unknown method.
    """
    signal = image.signal() if isinstance(image, BlotImage) else np.asarray(image, dtype=np.float64)
    method = str(method).replace("-", "_")
    if method == "rolling_ball":
        bg = rolling_ball_background(signal, radius, smooth=smooth)
    elif method == "none":
        bg = np.zeros_like(signal)
    else:
        raise AnalysisError(
            "not an image-wide background method", key="background", expected="one of: " + ", ".join(IMAGE_METHODS),
            found=repr(method),
        )
    return signal - bg, bg


def method_params(method: str, settings: Any) -> str:
    """The parameters of a background method, as recorded in the bands table."""
    if method == "rolling_ball":
        return f"radius={settings.radius:g};smooth={settings.smooth}"
    if method == "median_border":
        return f"border={settings.border};sides=top_bottom"
    if method == "lane_profile":
        return "baseline=profile_minima"
    return ""
