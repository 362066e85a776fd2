"""Band quantification: image → (lanes) → band boxes → background-corrected volumes.

Methods (``background=``; docs/blot.md gives the formulas and limits):

``rolling_ball``
    ImageJ's "Subtract Background" (:mod:`assaykit.blot.background`) on the whole image;
    volume = box sum of the corrected image (ImageJ's numbers). Boxes that overlap or touch
    in a lane (a faint band just above a strong one) are split by fitting peak shapes to
    the corrected lane profile (status ``fitted``).
``lane_profile``
    The most accurate method. The raw lane profile (box columns summed row by row) is
    fitted around each band, or group of neighbouring bands, with pseudo-Voigt peaks plus a
    quadratic baseline over a window reaching one box height beyond the boxes; volume =
    Σ_box (profile − baseline) × the band's share of the fitted peaks in each row. The
    baseline is not lifted by the bands' tails (they are part of the peak model) nor pulled
    down by noise minima (least squares), which a rolling ball is.
``median_border``
    Box sum minus the median of ``border``-pixel strips above and below the box × area
    (Image Studio "Median, Top/Bottom").
``none``
    Box sum.

Volumes are in signal units × pixels, bands positive whatever the polarity.

Known limits (measured in ``tests/test_blot_quantify.py`` on the synthetic blots of
``../shared/corpus/blot``): boxes are rectangles — a band that curves across its lane
(smile, tilt) is measured in a box tall enough for its curvature (automatic boxes span the
centre's movement across the lane ± ``box_sigmas`` sigmas); ``lane_profile`` assumes band
profiles close to a pseudo-Voigt (or Gaussian) on a baseline that is quadratic over about
three box heights, and splits bands closer than about one band width only as well as those
shapes fit; ``rolling_ball`` inherits ImageJ's biases (+11 % on faint bands of noisy blots,
−2 % under strong bands with wide tails); a saturated band's volume is a lower bound
(status ``saturated``); ``volume_total`` extrapolates the fitted shape's tails and is about
2 % low on the synthetic blots (consistently, so it cancels in folds).
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from assaykit.blot._result import QuantifyResult
from assaykit.blot.background import method_params, rolling_ball_background
from assaykit.blot.bands import detect_bands, fit_profile, split_volumes
from assaykit.blot.settings import QuantifySettings
from assaykit.errors import AnalysisError
from assaykit.images import BlotImage
from assaykit.schema import blot_bands_table

__all__ = ["as_image", "quantify", "read_boxes"]

_BOX_COLUMNS = ("lane", "x", "y", "w", "h")


def as_image(image: BlotImage | np.ndarray | str | os.PathLike, settings: QuantifySettings | None = None) -> BlotImage:
    """A :class:`BlotImage` from an image, an array or a file, with the settings' overrides."""
    s = settings or QuantifySettings()
    if isinstance(image, BlotImage):
        img = image
    elif isinstance(image, np.ndarray):
        img = BlotImage.from_array(image, polarity=s.polarity)
    elif isinstance(image, str | os.PathLike):
        from assaykit.kinds import read

        img = read(image, "blot_image")
    else:
        raise AnalysisError("not an image", expected="a BlotImage, a 2-D array or an image file", found=type(image).__name__)
    if s.polarity is not None and s.polarity != img.polarity:
        img = img.with_polarity(s.polarity)
    if s.saturation is not None:
        from dataclasses import replace

        img = replace(img, saturation=float(s.saturation))
    return img


def _table_file(path: str | os.PathLike, keys: tuple[str, ...], what: str) -> pd.DataFrame:
    """A CSV file, or a TOML file holding an array of tables under one of ``keys``."""
    where = str(path)
    try:
        if where.lower().endswith(".toml"):
            import tomllib

            with open(path, "rb") as fh:
                data = tomllib.load(fh)
            key = next((k for k in keys if isinstance(data.get(k), list)), None)
            if key is None:
                raise AnalysisError(f"no {what} in the TOML file", file=where,
                                    expected="an array of tables [[" + keys[0] + "]]", found=f"keys {sorted(data)}")
            return pd.DataFrame(data[key])
        return pd.read_csv(path)
    except (OSError, pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as exc:
        raise AnalysisError(f"cannot read the {what} file", file=where, found=str(exc)[:120]) from None


def read_boxes(boxes: pd.DataFrame | str | os.PathLike, image: BlotImage) -> pd.DataFrame:
    """Band boxes from a DataFrame or CSV, checked against the image.

    Parameters
    ----------
    boxes : DataFrame or path
        Columns ``lane``, ``x``, ``y``, ``w``, ``h`` (pixels, origin top-left) and
        optionally ``target``, ``sample``; a CSV file, or a TOML file with one ``[[box]]``
        table per band.
    image : BlotImage
        The image the boxes are drawn on.

    Returns
    -------
    pandas.DataFrame
        ``lane, target, sample, x, y, w, h`` (integers; text columns ``''`` when absent).

    Raises
    ------
    AnalysisError
        A missing column, a non-numeric or non-positive size, or a box reaching outside
        the image (naming its lane and band/target).
    """
    where = None
    if not isinstance(boxes, pd.DataFrame):
        where = str(boxes)
        boxes = _table_file(boxes, ("box", "boxes", "band"), "boxes")
    df = boxes.rename(columns=lambda c: str(c).strip().lower()).reset_index(drop=True)
    missing = [c for c in _BOX_COLUMNS if c not in df.columns]
    if missing:
        raise AnalysisError(
            "band boxes lack columns", file=where, expected="columns lane, target, x, y, w, h",
            found=f"columns {list(boxes.columns)} (missing {missing})",
        )
    out = pd.DataFrame({c: df[c] if c in df.columns else "" for c in ("target", "sample")})
    for c in _BOX_COLUMNS:
        num = pd.to_numeric(df[c], errors="coerce")
        bad = num.isna() | (num != np.round(num))
        if bad.any():
            i = int(np.flatnonzero(bad.to_numpy())[0])
            raise AnalysisError(f"box column '{c}' is not a whole number", file=where, line=i + 2,
                                expected="pixels as integers", found=repr(df[c].iloc[i]))
        out[c] = num.astype(np.int64)
    out["target"] = out["target"].astype(object).where(out["target"].notna(), "").astype(str)
    out["sample"] = out["sample"].astype(object).where(out["sample"].notna(), "").astype(str)
    for r in out.itertuples():
        band = r.target or None
        if r.w <= 0 or r.h <= 0:
            raise AnalysisError("band box has no area", file=where, lane=r.lane, band=band, expected="w > 0 and h > 0",
                                found=f"w={r.w}, h={r.h}")
        if r.x < 0 or r.y < 0 or r.x + r.w > image.width or r.y + r.h > image.height:
            raise AnalysisError(
                "band box outside the image", file=where, lane=r.lane, band=band,
                expected=f"0 <= x, x + w <= {image.width}, 0 <= y, y + h <= {image.height}",
                found=f"x={r.x}, y={r.y}, w={r.w}, h={r.h}",
            )
    return out[["lane", "target", "sample", "x", "y", "w", "h"]]


@dataclass
class _Measure:
    """Per-box measurements of one lane group (same columns)."""

    volume: np.ndarray
    background: np.ndarray
    fitted: np.ndarray
    total: np.ndarray


def _clusters(tops: np.ndarray, bottoms: np.ndarray, margin: float) -> list[list[int]]:
    """Indices of boxes grouped when their windows (box ± margin) overlap."""
    order = np.argsort(tops, kind="stable")
    groups: list[list[int]] = []
    end = -np.inf
    for i in order:
        if groups and tops[i] - margin < end + margin:
            groups[-1].append(int(i))
            end = max(end, bottoms[i])
        else:
            groups.append([int(i)])
            end = bottoms[i]
    return groups


def _fit_group(prof: np.ndarray, tops: np.ndarray, bottoms: np.ndarray, idx: list[int], margin: int,
               shape: str, m: _Measure, fits: list, init: np.ndarray | None = None) -> None:
    """Fit one cluster of boxes on a lane profile; fill ``m`` for its boxes."""
    lo = max(0, int(tops[idx].min()) - margin)
    hi = min(prof.size, int(bottoms[idx].max()) + margin)
    y = np.arange(lo, hi)
    window = prof[lo:hi]
    centers = [(tops[i] + bottoms[i]) / 2.0 for i in idx]
    halves = [(bottoms[i] - tops[i]) / 2.0 for i in idx]
    if shape == "none":  # straight baseline through the window rows outside the boxes
        outside = np.ones(y.size, bool)
        for i in idx:
            outside[tops[i] - lo : bottoms[i] - lo] = False
        pts = y[outside] if outside.sum() >= 2 else y[[0, -1]]
        vals = window[outside] if outside.sum() >= 2 else window[[0, -1]]
        line = np.polyval(np.polyfit(pts.astype(float), vals, 1), y)
        for i in idx:
            sl = slice(tops[i] - lo, bottoms[i] - lo)
            m.background[i] = line[sl].sum()
            m.volume[i] = window[sl].sum() - m.background[i]
        fits.append((y, line, None))
        return
    fit = fit_profile(y, window, centers, halves, shape=shape, init=None if init is None else init[idx])
    vols, bgs, tots = split_volumes(fit, window, [(int(tops[i]), int(bottoms[i])) for i in idx])
    m.volume[idx] = vols
    m.background[idx] = bgs
    m.total[idx] = tots
    m.fitted[idx] = len(idx) > 1
    fits.append((y, fit.baseline, fit.components.sum(axis=0)))


def _measure_group(sig: np.ndarray, bg: np.ndarray | None, g: pd.DataFrame, s: QuantifySettings,
                   method: str) -> tuple[_Measure, dict[str, np.ndarray]]:
    """Volumes of the boxes of one lane group (boxes sharing their columns)."""
    x0, x1 = int(g["x"].iloc[0]), int(g["x"].iloc[0] + g["w"].iloc[0])
    tops = g["y"].to_numpy(np.int64)
    bottoms = tops + g["h"].to_numpy(np.int64)
    n = len(g)
    m = _Measure(np.zeros(n), np.zeros(n), np.zeros(n, bool), np.full(n, np.nan))
    raw = sig[:, x0:x1].sum(axis=1, dtype=np.float64)
    width = x1 - x0
    curves = {"raw": raw / width, "background": np.full(raw.size, np.nan), "fit": np.full(raw.size, np.nan)}
    fits: list = []
    init = np.array(g["_init"].tolist(), dtype=np.float64) if "_init" in g.columns else None
    if method == "lane_profile":
        margin = int(g["h"].max())
        for idx in _clusters(tops, bottoms, margin):
            _fit_group(raw, tops, bottoms, idx, margin, s.peak_shape, m, fits, init)
    elif method == "rolling_ball":
        bgp = bg[:, x0:x1].sum(axis=1, dtype=np.float64)
        corr = raw - bgp
        curves["background"] = bgp / width
        for i in range(n):
            m.background[i] = bgp[tops[i] : bottoms[i]].sum()
            m.volume[i] = corr[tops[i] : bottoms[i]].sum()
        if s.peak_shape != "none":  # overlapping or touching boxes: split by fitted peaks
            for idx in _clusters(tops, bottoms, 1.0):  # boxes that overlap or touch
                if len(idx) > 1:
                    extra = _Measure(m.volume.copy(), np.zeros(n), m.fitted, m.total)
                    _fit_group(corr, tops, bottoms, idx, int(g["h"].max()), s.peak_shape, extra, [])
                    m.volume[idx] = extra.volume[idx]
                    m.background[idx] += extra.background[idx]
    elif method == "median_border":
        for i in range(n):
            above = sig[max(0, tops[i] - s.border) : tops[i], x0:x1]
            below = sig[bottoms[i] : bottoms[i] + s.border, x0:x1]
            strip = np.concatenate([above.ravel(), below.ravel()])
            per_px = float(np.median(strip)) if strip.size else 0.0
            m.background[i] = per_px * width * (bottoms[i] - tops[i])
            m.volume[i] = raw[tops[i] : bottoms[i]].sum() - m.background[i]
    else:  # none
        for i in range(n):
            m.volume[i] = raw[tops[i] : bottoms[i]].sum()
    for y, base, fit in fits:
        curves["background"][y] = base / width
        if fit is not None:
            curves["fit"][y] = fit / width
    return m, curves


def _status(volume: float, n_sat: int, fitted: bool) -> str:
    if n_sat > 0:
        return "saturated"
    if not volume > 0:
        return "not_positive"
    return "fitted" if fitted else "ok"


def _measure(img: BlotImage, sig: np.ndarray, bg: np.ndarray | None, boxes: pd.DataFrame,
             s: QuantifySettings) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The bands table (before the layout) and the profiles table."""
    method = s.background
    sat = img.saturated_mask()
    boxes = boxes.reset_index(drop=True)
    vol, bgv, tot = np.zeros(len(boxes)), np.zeros(len(boxes)), np.full(len(boxes), np.nan)
    fitted = np.zeros(len(boxes), bool)
    profiles = []
    for (lane, _x, _w), g in boxes.groupby(["lane", "x", "w"], sort=True):
        m, curves = _measure_group(sig, bg, g, s, method)
        vol[g.index], bgv[g.index], fitted[g.index], tot[g.index] = m.volume, m.background, m.fitted, m.total
        y = np.arange(sig.shape[0])
        profiles.append(pd.DataFrame({"lane": np.int64(lane), "x": np.int64(_x), "y": y, "raw": curves["raw"],
                                      "background": curves["background"],
                                      "signal": curves["raw"] - curves["background"], "fit": curves["fit"]}))
    nsat = np.array([int(sat[r.y : r.y + r.h, r.x : r.x + r.w].sum()) for r in boxes.itertuples()], dtype=np.int64)
    bands = pd.DataFrame({
        "image": img.name, "lane": boxes["lane"].to_numpy(np.int64), "sample": boxes["sample"].to_numpy(object),
        "target": boxes["target"].to_numpy(object), "x": boxes["x"].astype(float), "y": boxes["y"].astype(float),
        "w": boxes["w"].astype(float), "h": boxes["h"].astype(float), "volume": vol, "volume_total": tot,
        "background": bgv,
        "n_saturated": nsat, "saturated": nsat > 0,
        "status": [_status(v, k, f) for v, k, f in zip(vol, nsat, fitted, strict=True)],
        "method": method, "params": method_params(method, s) + (f";peak_shape={s.peak_shape}" if method in (
            "lane_profile", "rolling_ball") else ""),
    })
    if "band" in boxes.columns:
        bands.insert(4, "band", boxes["band"].to_numpy(np.int64))
    else:
        bands = bands.sort_values(["lane", "y"], kind="stable")
        bands.insert(4, "band", bands.groupby("lane").cumcount().to_numpy() + 1)
        bands = bands.sort_index()
    prof = pd.concat(profiles, ignore_index=True) if profiles else pd.DataFrame(
        columns=["lane", "x", "y", "raw", "background", "signal", "fit"])
    return bands, prof


def _settings(settings: QuantifySettings | None, background: str, radius: float, options: dict[str, Any]) -> QuantifySettings:
    base = settings or QuantifySettings()
    changes = dict(options)
    if background != "rolling_ball" or settings is None:
        changes["background"] = background
    if float(radius) != 50.0 or settings is None:
        changes["radius"] = radius
    return base.replace(**changes) if changes else base


def _lanes_from_boxes(box: pd.DataFrame) -> pd.DataFrame:
    g = box.assign(right=box["x"] + box["w"]).groupby("lane", sort=True)
    left, right = g["x"].min().astype(float), g["right"].max().astype(float)
    return pd.DataFrame({"lane": left.index.to_numpy(np.int64), "x_left": left.to_numpy(), "x_right": right.to_numpy(),
                         "x_center": ((left + right) / 2.0).to_numpy(), "source": "boxes"})


def _lanes_arg(lanes: Any, img: BlotImage, corrected: np.ndarray, s: QuantifySettings) -> pd.DataFrame:
    """Lanes given as a table, as a count, or detected."""
    from assaykit.blot.lanes import find_lanes

    if isinstance(lanes, str | os.PathLike):
        lanes = _table_file(lanes, ("lane", "lanes"), "lanes")
    if isinstance(lanes, pd.DataFrame):
        missing = [c for c in ("lane", "x_left", "x_right") if c not in lanes.columns]
        if missing:
            raise AnalysisError("lanes table lacks columns", expected="lane, x_left, x_right", found=f"missing {missing}")
        out = lanes[["lane", "x_left", "x_right"]].astype({"lane": np.int64, "x_left": float, "x_right": float})
        bad = (out["x_left"] < 0) | (out["x_right"] > img.width) | (out["x_right"] <= out["x_left"])
        if bad.any():
            r = out[bad].iloc[0]
            raise AnalysisError("lane outside the image", lane=int(r["lane"]), expected=f"0 <= x_left < x_right <= {img.width}",
                                found=f"x_left={r['x_left']:g}, x_right={r['x_right']:g}")
        return out.assign(x_center=(out["x_left"] + out["x_right"]) / 2.0, source="given")
    n = int(lanes) if lanes is not None else s.lanes
    found = find_lanes(img, n, _corrected=corrected)
    return found.assign(source="count" if n else "detected")


def _noise(profile: np.ndarray) -> float:
    """Robust noise SD of a profile (median absolute first difference)."""
    d = np.diff(profile)
    return float(1.4826 * np.median(np.abs(d - np.median(d))) / np.sqrt(2.0)) if d.size else 0.0


def _bic(fit: Any, window: np.ndarray) -> float:
    n = window.size
    rss = max(float(((window - fit.baseline - fit.components.sum(axis=0)) ** 2).sum()), 1e-300)
    return n * np.log(rss / n) + (3 + 5 * fit.params.shape[0]) * np.log(n)


def _fit_peaks(raw: np.ndarray, centers: list[float], halves: list[float], shape: str,
               min_height: float) -> list[tuple[float, ...]]:
    """Fitted ``(area, center, sigma, gamma, eta)`` of the bands of one lane (raw profile).

    Neighbouring candidates are fitted together; one more peak is added to a group where
    the smoothed residual of its fit shows a band the detection missed (a faint shoulder
    beside a strong band).
    """
    from scipy.ndimage import gaussian_filter1d
    from scipy.signal import find_peaks

    order = np.argsort(centers)
    c_arr, h_arr = np.asarray(centers, float)[order], np.asarray(halves, float)[order]
    margin = int(2 * h_arr.max())
    out: list[tuple[float, float]] = []
    for idx in _clusters(c_arr - h_arr, c_arr + h_arr, margin / 2.0):
        lo = max(0, int(c_arr[idx].min() - h_arr[idx].max()) - margin)
        hi = min(raw.size, int(c_arr[idx].max() + h_arr[idx].max()) + margin)
        y, window = np.arange(lo, hi), raw[lo:hi]
        cs, hs = list(c_arr[idx]), list(h_arr[idx])
        fit = fit_profile(y, window, cs, hs, shape=shape)
        resid = gaussian_filter1d(window - fit.baseline - fit.components.sum(axis=0), 2.0)
        extra, _ = find_peaks(resid, height=min_height, distance=5)
        if extra.size:  # one more band if the Bayesian information criterion prefers it
            k = int(extra[np.argmax(resid[extra])])
            more = fit_profile(y, window, [*cs, float(y[k])], [*hs, float(np.median(hs))], shape=shape)
            if _bic(more, window) + 10.0 < _bic(fit, window) and more.params[-1, 0] > 0:
                fit = more
        for row in fit.params:
            if row[0] > 0:
                out.append(tuple(float(v) for v in row))
    return sorted(out, key=lambda r: r[1])


def _lane_curvature(lane: np.ndarray, peaks: list[tuple[float, ...]], n_seg: int = 4) -> tuple[float, float]:
    """How far band centres move up and down across a lane (smile, tilt): ``(lowest, highest)``
    offset in rows of the lane's column segments from the whole-lane centre.

    Measured on the lane's strongest band: its peak row in each of ``n_seg`` column segments
    (parabolic refinement of the maximum of the segment's profile within 2 sigma of the
    centre); smile and tilt move every band of a lane alike.
    """
    if not peaks or lane.shape[1] < 2 * n_seg:
        return 0.0, 0.0
    area, c, sigma = max(peaks, key=lambda p: p[0])[:3]
    lo, hi = int(max(0, c - 2 * sigma - 2)), int(min(lane.shape[0], c + 2 * sigma + 3))
    if hi - lo < 5:
        return 0.0, 0.0
    offsets = []
    for seg in np.array_split(np.arange(lane.shape[1]), n_seg):
        prof = lane[lo:hi, seg].mean(axis=1, dtype=np.float64)
        prof = np.convolve(prof, np.ones(3) / 3.0, mode="same")
        k = int(np.clip(np.argmax(prof[1:-1]) + 1, 1, prof.size - 2))
        den = prof[k - 1] - 2 * prof[k] + prof[k + 1]
        frac = 0.5 * (prof[k - 1] - prof[k + 1]) / den if den < 0 else 0.0
        offsets.append(lo + k + float(np.clip(frac, -0.5, 0.5)) - c)
    off = np.asarray(offsets)
    off -= off.mean()
    return float(min(off.min(), 0.0)), float(max(off.max(), 0.0))


def _detect_boxes(sig: np.ndarray, corrected: np.ndarray, lanes: pd.DataFrame, s: QuantifySettings) -> pd.DataFrame:
    """Band boxes found on the lane profiles: candidates on the background-corrected profile
    (central 60 % of the lane), then centres and widths fitted on the raw profile; each box
    spans the lane and ``box_sigmas`` Gaussian sigmas either side of the band's centre."""
    rows = []
    h_img = corrected.shape[0]
    shape = s.peak_shape if s.peak_shape != "none" else "pseudo_voigt"
    for r in lanes.itertuples():
        x0, x1 = int(round(r.x_left)), int(round(r.x_right))
        if x1 - x0 < 3:
            continue
        inner = max(1, int(0.2 * (x1 - x0)))
        prof = corrected[:, x0 + inner : x1 - inner].mean(axis=1, dtype=np.float64)
        found = detect_bands(prof, min_prominence=s.min_prominence)
        if not found:
            continue
        raw = sig[:, x0:x1].sum(axis=1, dtype=np.float64)
        peak_max = max(prof[p] for _, p, _ in found) * (x1 - x0)
        min_height = max(0.5 * s.min_prominence * peak_max, 3.0 * _noise(raw))
        centers = [float(p) for _, p, _ in found]
        halves = [max(3.0, (b - t) / 2.0) for t, _, b in found]
        peaks = _fit_peaks(raw, centers, halves, shape, min_height)
        d_lo, d_hi = _lane_curvature(corrected[:, x0:x1], peaks)
        for area, c, sigma, gamma, eta in peaks:
            span = d_hi - d_lo  # the band's centre moves by `span` rows across the lane
            core = np.sqrt(max(sigma * sigma - span * span / 12.0, 0.25 * sigma * sigma))
            top = max(0, int(round(c + d_lo - s.box_sigmas * core)))
            bottom = min(h_img, int(round(c + d_hi + s.box_sigmas * core)))
            if bottom - top >= 2:
                rows.append({"lane": int(r.lane), "target": "", "sample": "", "x": x0, "y": top, "w": x1 - x0,
                             "h": bottom - top, "_init": (area, c, sigma, gamma, eta)})
    if not rows:
        raise AnalysisError(
            "no bands detected in the lanes", expected="bands above the background",
            found=f"{len(lanes)} lanes without peaks; give band boxes (boxes=, --boxes) or lower min_prominence",
        )
    return pd.DataFrame(rows)


def quantify(
    image: BlotImage | np.ndarray | str | os.PathLike,
    boxes: pd.DataFrame | str | os.PathLike | None = None,
    lanes: pd.DataFrame | str | os.PathLike | int | None = None,
    layout: Any = None,
    background: str = "rolling_ball",
    radius: float = 50.0,
    *,
    settings: QuantifySettings | None = None,
    **options: Any,
) -> QuantifyResult:
    """Quantify the bands of a blot.

    Parameters
    ----------
    image : BlotImage, 2-D array or path
        The blot (:func:`assaykit.blot.read_image`).
    boxes : DataFrame or path, optional
        Band boxes: ``lane``, ``target``, ``x``, ``y``, ``w``, ``h`` (pixels, origin
        top-left; ``sample`` optional), as a DataFrame, a CSV file or a TOML file with one
        ``[[box]]`` table per band. Without boxes, lanes and bands are detected.
    lanes : DataFrame, path or int, optional
        Without boxes: the lanes (``lane, x_left, x_right``, e.g. from
        :func:`assaykit.blot.find_lanes`; or a CSV file, or a TOML file with ``[[lane]]``
        tables) or their number; detected when omitted.
    layout : BlotLayout or path, optional
        Lane → sample and row → target (:func:`assaykit.blot.layout.read_layout`);
        applied with :func:`assaykit.blot.layout.apply_layout` (targets of detected bands
        from their rows; a ``not_found`` row for a target missing from a lane).
    background : {'rolling_ball', 'lane_profile', 'median_border', 'none'}
        Background method (module docstring). ``rolling_ball`` gives ImageJ's numbers;
        ``lane_profile`` is the most accurate (docs/blot.md).
    radius : float
        Rolling-ball radius in pixels.
    settings : QuantifySettings, optional
        All options at once; ``background``/``radius`` and ``**options`` override it.
    **options
        Further settings of :class:`QuantifySettings` (``smooth``, ``border``,
        ``polarity``, ``saturation``, ``peak_shape``, ``min_prominence``, ``box_sigmas``).

    Returns
    -------
    QuantifyResult
        ``.bands`` (one row per lane × band: ``image, lane, sample, target, band, x, y, w,
        h, volume, background, n_saturated, saturated, status, method, params``, then
        layout fields), ``.lanes``, ``.profiles``, ``.background``, ``.settings``.

    Raises
    ------
    AnalysisError
        Boxes outside the image (naming lane and band), no detectable lanes (suggesting a
        lane count or boxes), no detectable bands; SettingsError for a bad option.
    """
    s = _settings(settings, background, radius, options)
    img = as_image(image, s)
    sig = img.signal(np.float32)
    need_rb = s.background == "rolling_ball" or boxes is None
    bg = rolling_ball_background(sig, s.radius, smooth=s.smooth) if need_rb else None
    if boxes is not None:
        box = read_boxes(boxes, img)
        lanes_df = _lanes_from_boxes(box)
    else:
        corrected = sig - bg
        lanes_df = _lanes_arg(lanes, img, corrected, s)
        box = _detect_boxes(sig, corrected, lanes_df, s)
    bands, profiles = _measure(img, sig, bg if s.background == "rolling_ball" else None, box, s)
    bands = blot_bands_table(bands)
    if layout is not None:
        from assaykit.blot.layout import BlotLayout, apply_layout, read_layout

        lay = layout if isinstance(layout, BlotLayout) else read_layout(layout)
        bands = blot_bands_table(apply_layout(bands, lay))
    if bg is not None and s.background == "rolling_ball":
        bg.flags.writeable = False
    else:
        bg = None
    return QuantifyResult(bands=bands, lanes=lanes_df.reset_index(drop=True), profiles=profiles,
                          background=bg, settings=s, image=img.name)
