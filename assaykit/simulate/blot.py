"""Simulated western blots with an exactly known truth, and band tables as vendors export them.

:func:`simulate_blot` renders a blot image from a :class:`BlotSpec` (lanes, rows of bands,
geometry, background, noise, detector) and returns a :class:`SimulatedBlot` holding the
recorded image, the noise-free image, the true background and a truth table with one row
per band. :func:`write_blot` writes the image as a 16-bit (or 8-bit) TIFF beside CSV files
of the truth, the expected ratios, the band boxes and a layout, so that readers,
quantification and normalisation can be tested end to end against the truth.

Model
-----
Coordinates are pixel indices, origin top left, ``x`` to the right, ``y`` down.

* **Band**: ``A · w(x) · pv(y − y_c(x))``. ``A = peak · amount · loading`` (the lane's
  loading factor applies to loaded rows only, not to a ladder) is the height at the band's
  centre; ``pv`` is a peak-normalised pseudo-Voigt, ``η / (1 + (d/γ)²) + (1 − η) ·
  exp(−d² / 2σ²)``; ``w(x)`` is the lane's plateau with soft edges,
  ``½ [erf((x − x_left)/(√2 s)) − erf((x − x_right)/(√2 s))]`` (``s = edge_softness``).
* **Smile and tilt**: the band centre follows ``y_c(x) = y + smile · (1 − u²) + tilt ·
  (x − x_mid)`` with ``u = (x − x_mid) / (W/2)``: bands in the middle of the blot run
  ``smile`` pixels further than at its edges, and the whole blot is tilted by ``tilt``
  (dy/dx). Each band follows the curve across its lane.
* **Background** (signal units): ``bg_base + bg_grad_x · x/W + bg_grad_y · y/H`` plus a
  Gaussian blotch (amplitude ``blotch_amp``, width ``blotch_sigma``, random centre) plus a
  smear in every lane that fades down the lane (``smear_amp``).
* **Detector**: ``S = background + Σ bands`` is recorded as ``gain · Poisson(S / gain) +
  N(0, read_sd)``; a ``dark`` image (bright bands on a dark background, chemiluminescence
  or fluorescence) stores ``bias + that``, a ``light`` image (dark bands on a light
  background, film scans, colorimetric blots) stores ``white − that``; values are rounded
  and clipped to ``[0, 2^bits − 1]``. A clipped pixel is *saturated*: the detector maximum
  on dark images, 0 on light images.

Truth (one row per band, :func:`simulate_blot`)
-----------------------------------------------
``true_volume`` is the exact sum of the band's noise-free layer over the image (signal
units, ADU·px, background and bias excluded, positive for both polarities);
``true_volume_in_box`` its sum inside the band's box ``box_x, box_y, box_w, box_h`` (the
lane's columns, and the rows the band's centre spans across the lane ± ``box_sigmas`` σ);
``noise_free_clipped_volume`` what is left of the band once the noise-free image is clipped
(the clipped excess of a pixel is shared among the bands by their share of its signal);
``n_saturated_px_in_box`` counts the pixels of the recorded image inside the box that sit at
the clip value, and ``saturated`` is ``n_saturated_px_in_box > 0``.

Examples
--------
>>> from assaykit.simulate.blot import demo_spec, simulate_blot
>>> blot = simulate_blot(demo_spec(), seed=1)
>>> blot.image.dtype.name, blot.image.shape
('uint16', (300, 420))
>>> bool((blot.truth["true_volume"] > blot.truth["true_volume_in_box"]).all())
True
"""

from __future__ import annotations

import dataclasses
import json
import math
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from scipy.special import erf

from assaykit.errors import AnalysisError

__all__ = [
    "BandRow",
    "BlotSpec",
    "SimulatedBlot",
    "boxes_table",
    "demo_film_spec",
    "demo_spec",
    "dilution_series_spec",
    "expected_ratios",
    "ikba_timecourse_spec",
    "layout_toml",
    "p65_fractions_spec",
    "simulate_blot",
    "write_blot",
    "write_imagej_results",
    "write_imagelab_csv",
    "write_imagestudio_csv",
]

POLARITIES = ("dark", "light")


@dataclass(frozen=True)
class BandRow:
    """One row of bands: one target at one migration distance, across the lanes.

    Parameters
    ----------
    name : str
        The target (``'IkBa'``, ``'GAPDH'``, ``'total protein'``, ``'ladder_70kDa'`` ...).
    y : float
        Centre row at the middle of the blot before smile and tilt (pixels).
    amounts : tuple of float
        Relative amount in each lane (0 = no band in that lane).
    peak : float
        Height of a band of amount 1 and loading 1 at its centre (signal units, ADU).
    sigma, gamma, eta : float
        Gaussian σ, Lorentzian half width γ (pixels) and Lorentzian fraction η of the
        pseudo-Voigt profile along the lane.
    loaded : bool
        True when the lane's loading factor scales the band (False for a ladder).
    """

    name: str
    y: float
    amounts: tuple[float, ...]
    peak: float = 20000.0
    sigma: float = 6.0
    gamma: float = 5.0
    eta: float = 0.3
    loaded: bool = True


@dataclass(frozen=True)
class BlotSpec:
    """Everything that defines a simulated blot (see the module docstring for the model).

    Parameters
    ----------
    name : str
        Base name of the files written by :func:`write_blot`.
    lanes : tuple of str
        Lane labels, left to right (also the ``sample`` of the layout).
    rows : tuple of BandRow
        The rows of bands.
    loading : tuple of float, optional
        Loading factor of each lane (default 1 everywhere).
    fractions : tuple of str, optional
        Fraction of each lane (``'cytoplasmic'``, ``'nuclear'``) for fractionation blots.
    conditions : tuple of str, optional
        Condition of each lane (default: the lane label).
    amounts_ug : tuple of float, optional
        Protein loaded in each lane (µg) for a dilution series (NaN elsewhere).
    height, lane_width, lane_gap, left_margin : int
        Geometry (pixels); the width is ``2 · left_margin + n · lane_width + (n − 1) ·
        lane_gap``.
    lane_jitter : float
        Standard deviation (pixels) of a random shift of each lane.
    sigma_jitter : float
        Relative standard deviation of a random change of each band's σ and γ.
    edge_softness : float
        Width (pixels) of the soft lane edges.
    smile, tilt : float
        Band curvature (pixels) and slope (dy/dx).
    polarity : {'dark', 'light'}
        ``dark``: bright bands on a dark background; ``light``: dark bands on light.
    bits : {8, 16}
        Bit depth of the recorded image.
    bias, white, gain, read_sd : float
        Detector offset (dark images), white level (light images), gain (ADU per Poisson
        count) and read noise (ADU).
    bg_base, bg_grad_x, bg_grad_y, blotch_amp, blotch_sigma, smear_amp : float
        Background (signal units).
    box_sigmas : float
        Half height of a band box in σ beyond the band's centre line.
    well_y : float
        Row of the wells (top of the lanes, where the smear starts).
    """

    name: str = "synthetic_blot"
    lanes: tuple[str, ...] = ()
    rows: tuple[BandRow, ...] = ()
    loading: tuple[float, ...] | None = None
    fractions: tuple[str, ...] | None = None
    conditions: tuple[str, ...] | None = None
    amounts_ug: tuple[float, ...] | None = None
    height: int = 600
    lane_width: int = 60
    lane_gap: int = 24
    left_margin: int = 60
    lane_jitter: float = 0.0
    sigma_jitter: float = 0.0
    edge_softness: float = 2.0
    smile: float = 0.0
    tilt: float = 0.0
    polarity: str = "dark"
    bits: int = 16
    bias: float = 500.0
    white: float = 52000.0
    gain: float = 1.0
    read_sd: float = 12.0
    bg_base: float = 900.0
    bg_grad_x: float = 0.0
    bg_grad_y: float = 0.0
    blotch_amp: float = 0.0
    blotch_sigma: float = 200.0
    smear_amp: float = 0.0
    box_sigmas: float = 4.0
    well_y: float = 40.0

    def __post_init__(self) -> None:
        n = len(self.lanes)
        if n == 0:
            raise AnalysisError(
                "a simulated blot needs at least one lane",
                expected="lanes=('veh', ...)",
                found="()",
            )
        if self.polarity not in POLARITIES:
            raise AnalysisError(
                "unknown polarity", expected=f"one of {POLARITIES}", found=repr(self.polarity)
            )
        if self.bits not in (8, 16):
            raise AnalysisError("unsupported bit depth", expected="8 or 16", found=repr(self.bits))
        for name in ("loading", "fractions", "conditions", "amounts_ug"):
            value = getattr(self, name)
            if value is not None and len(value) != n:
                raise AnalysisError(
                    f"{name} needs one value per lane",
                    key=name,
                    expected=f"{n} values",
                    found=f"{len(value)}",
                )
        for row in self.rows:
            if len(row.amounts) != n:
                raise AnalysisError("a row needs one amount per lane", target=row.name, expected=f"{n} amounts",
                                    found=f"{len(row.amounts)}")  # fmt: skip

    @property
    def width(self) -> int:
        """Image width (pixels)."""
        n = len(self.lanes)
        return int(2 * self.left_margin + n * self.lane_width + (n - 1) * self.lane_gap)

    @property
    def max_value(self) -> int:
        """The detector maximum (``2^bits − 1``)."""
        return (1 << self.bits) - 1

    def to_dict(self) -> dict[str, Any]:
        """All parameters as JSON-friendly values (rows as dicts)."""
        out = dataclasses.asdict(self)
        out["width"] = self.width
        return out

    @classmethod
    def from_dict(cls, params: Mapping[str, Any]) -> BlotSpec:
        """Build a spec from :meth:`to_dict` output (or a hand-written mapping)."""
        p = {k: v for k, v in params.items() if k in {f.name for f in dataclasses.fields(cls)}}
        p["rows"] = tuple(
            BandRow(**{**r, "amounts": tuple(r["amounts"])}) for r in params.get("rows", ())
        )
        for key in ("lanes", "loading", "fractions", "conditions", "amounts_ug"):
            if p.get(key) is not None:
                p[key] = tuple(p[key])
        return cls(**p)


@dataclass(frozen=True)
class SimulatedBlot:
    """A simulated blot and its truth.

    Attributes
    ----------
    spec : BlotSpec
        What was simulated.
    seed : int
        The seed used.
    image : numpy.ndarray
        The recorded image (uint16 or uint8), as a detector would store it.
    noise_free : numpy.ndarray
        The noise-free recorded image (float64, clipped to the detector range).
    background : numpy.ndarray
        The true background as stored (float64: ``bias + background`` on dark images,
        ``white − background`` on light ones), without bands or noise.
    truth : pandas.DataFrame
        One row per band (module docstring, "Truth").
    lane_edges : tuple of (float, float)
        ``(x_left, x_right)`` of every lane.
    """

    spec: BlotSpec
    seed: int
    image: np.ndarray = field(repr=False)
    noise_free: np.ndarray = field(repr=False)
    background: np.ndarray = field(repr=False)
    truth: pd.DataFrame = field(repr=False)
    lane_edges: tuple[tuple[float, float], ...] = ()

    @property
    def saturation(self) -> int:
        """The stored value of a saturated pixel (detector maximum, or 0 on light images)."""
        return self.spec.max_value if self.spec.polarity == "dark" else 0

    def expected_ratios(
        self, pairs: Sequence[tuple[str, str]], control: str | Mapping[str, str]
    ) -> pd.DataFrame:
        """:func:`expected_ratios` of this blot's truth."""
        return expected_ratios(self.truth, pairs, control)


# --------------------------------------------------------------------------- model
def _pseudo_voigt(d: np.ndarray, sigma: float, gamma: float, eta: float) -> np.ndarray:
    return eta / (1.0 + (d / gamma) ** 2) + (1.0 - eta) * np.exp(-0.5 * (d / sigma) ** 2)


def _lane_profile(x: np.ndarray, left: float, right: float, soft: float) -> np.ndarray:
    s = math.sqrt(2.0) * max(soft, 1e-6)
    return 0.5 * (erf((x - left) / s) - erf((x - right) / s))


def _centre_line(spec: BlotSpec, y: float, x: np.ndarray) -> np.ndarray:
    mid = (spec.width - 1) / 2.0
    u = (x - mid) / (spec.width / 2.0)
    return y + spec.smile * (1.0 - u**2) + spec.tilt * (x - mid)


def _lane_edges(spec: BlotSpec, rng: np.random.Generator) -> list[tuple[float, float]]:
    edges = []
    for i in range(len(spec.lanes)):
        left = (
            spec.left_margin
            + i * (spec.lane_width + spec.lane_gap)
            + spec.lane_jitter * rng.standard_normal()
        )
        edges.append((round(float(left), 2), round(float(left) + spec.lane_width, 2)))
    return edges


def _background(
    spec: BlotSpec, edges: list[tuple[float, float]], rng: np.random.Generator
) -> np.ndarray:
    h, w = spec.height, spec.width
    yy, xx = np.mgrid[0:h, 0:w].astype(float)
    bg = spec.bg_base + spec.bg_grad_x * xx / w + spec.bg_grad_y * yy / h
    if spec.blotch_amp:
        cx, cy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.2, 0.8) * h
        bg = bg + spec.blotch_amp * np.exp(
            -((xx - cx) ** 2 + (yy - cy) ** 2) / (2 * spec.blotch_sigma**2)
        )
    if spec.smear_amp:
        x = np.arange(w, dtype=float)
        fade = np.clip(np.exp(-(np.arange(h) - spec.well_y) / (0.6 * h)), 0, 1)
        fade[: int(max(spec.well_y, 0))] = 0.0
        for left, right in edges:
            bg = bg + spec.smear_amp * np.outer(
                fade, _lane_profile(x, left, right, spec.edge_softness)
            )
    return bg


def _render_band(spec: BlotSpec, row: BandRow, lane: int, edge: tuple[float, float], amp: float,
                 sigma: float, gamma: float) -> tuple[np.ndarray, slice, dict[str, float]]:  # fmt: skip
    """The band's layer on the columns of its lane (full height) and its box."""
    left, right = edge
    pad = 6.0 * spec.edge_softness + 2
    x0, x1 = max(int(math.floor(left - pad)), 0), min(int(math.ceil(right + pad)) + 1, spec.width)
    x = np.arange(x0, x1, dtype=float)
    yc = _centre_line(spec, row.y, x)
    y = np.arange(spec.height, dtype=float)[:, None]
    layer = (
        amp
        * _lane_profile(x, left, right, spec.edge_softness)[None, :]
        * _pseudo_voigt(y - yc[None, :], sigma, gamma, row.eta)
    )
    inside = (x >= left) & (x <= right)
    lo, hi = float(yc[inside].min()), float(yc[inside].max())
    box_x, box_w = int(round(left)), int(round(right - left))
    box_y = max(int(math.floor(lo - spec.box_sigmas * sigma)), 0)
    box_h = min(int(math.ceil(hi + spec.box_sigmas * sigma)), spec.height - 1) - box_y + 1
    centre = float(_centre_line(spec, row.y, np.array([(left + right) / 2]))[0])
    box = {
        "box_x": box_x,
        "box_y": box_y,
        "box_w": box_w,
        "box_h": box_h,
        "y_center_at_lane_center": round(centre, 2),
    }
    return layer, slice(x0, x1), box


def _record(spec: BlotSpec, signal: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    counts = spec.gain * rng.poisson(
        np.clip(signal, 0, None) / spec.gain
    ) + spec.read_sd * rng.standard_normal(signal.shape)
    stored = spec.bias + counts if spec.polarity == "dark" else spec.white - counts
    dtype = np.uint16 if spec.bits == 16 else np.uint8
    return np.clip(np.rint(stored), 0, spec.max_value).astype(dtype)


def _store(spec: BlotSpec, signal: np.ndarray) -> np.ndarray:
    stored = spec.bias + signal if spec.polarity == "dark" else spec.white - signal
    return np.clip(stored, 0, spec.max_value)


def simulate_blot(spec: BlotSpec, seed: int = 0) -> SimulatedBlot:
    """Render a blot with an exactly known truth.

    Parameters
    ----------
    spec : BlotSpec
        The blot (see the module docstring for the model).
    seed : int
        Seed of every random part (lane jitter, band widths, blotch, noise): the same
        spec and seed give the same image and truth.

    Returns
    -------
    SimulatedBlot
        The recorded image, the noise-free image, the true background and the truth table.
    """
    rng = np.random.default_rng(seed)
    edges = _lane_edges(spec, rng)
    bg = _background(spec, edges, rng)
    bands: list[tuple[dict[str, Any], np.ndarray, slice]] = []
    for row in spec.rows:
        for i, amount in enumerate(row.amounts):
            if amount <= 0:
                continue
            load = (spec.loading[i] if spec.loading is not None else 1.0) if row.loaded else 1.0
            jitter = 1.0 + spec.sigma_jitter * rng.standard_normal()
            sigma, gamma = row.sigma * jitter, row.gamma * jitter
            layer, cols, box = _render_band(
                spec, row, i, edges[i], row.peak * amount * load, sigma, gamma
            )
            info = _band_info(spec, row, i, edges[i], amount, load, sigma, gamma)
            bands.append(({**info, **box}, layer, cols))
    signal = bg.copy()
    for _, layer, cols in bands:
        signal[:, cols] += layer
    image = _record(spec, signal, rng)
    noise_free = _store(spec, signal)
    truth = _truth(spec, bands, signal, image)
    return SimulatedBlot(spec, seed, image, noise_free, _store(spec, bg), truth, tuple(edges))


def _band_info(spec: BlotSpec, row: BandRow, i: int, edge: tuple[float, float], amount: float, load: float,
               sigma: float, gamma: float) -> dict[str, Any]:  # fmt: skip
    return {
        "image": f"{spec.name}.tif",
        "polarity": spec.polarity,
        "lane": i + 1,
        "lane_label": spec.lanes[i],
        "sample": spec.lanes[i],
        "condition": spec.conditions[i] if spec.conditions is not None else spec.lanes[i],
        "fraction": spec.fractions[i] if spec.fractions is not None else "",
        "amount_ug": spec.amounts_ug[i] if spec.amounts_ug is not None else math.nan,
        "target": row.name,
        "true_amount": amount,
        "loading_factor": load,
        "peak_counts": row.peak * amount * load,
        "sigma_y": round(sigma, 3),
        "gamma_y": round(gamma, 3),
        "eta": row.eta,
        "x_left": edge[0],
        "x_right": edge[1],
    }


def _truth(spec: BlotSpec, bands: list, signal: np.ndarray, image: np.ndarray) -> pd.DataFrame:
    limit = spec.max_value - spec.bias if spec.polarity == "dark" else spec.white
    excess = np.clip(signal - limit, 0, None)  # what clipping removes from the noise-free image
    total_bands = signal * 0.0
    for _, layer, cols in bands:
        total_bands[:, cols] += layer
    share = np.divide(excess, total_bands, out=np.zeros_like(excess), where=total_bands > 0)
    clip_value = spec.max_value if spec.polarity == "dark" else 0
    rows = []
    for info, layer, cols in bands:
        bx, by, bw, bh = info["box_x"], info["box_y"], info["box_w"], info["box_h"]
        in_box = layer[by : by + bh, max(bx - cols.start, 0) : max(bx - cols.start, 0) + bw]
        lost = float((np.minimum(share[:, cols], 1.0) * layer).sum())
        n_sat = int((image[by : by + bh, bx : bx + bw] == clip_value).sum())
        rows.append({**info, "true_volume": float(layer.sum()), "true_volume_in_box": float(in_box.sum()),
                     "noise_free_clipped_volume": float(layer.sum()) - lost,
                     "saturated": n_sat > 0, "n_saturated_px_in_box": n_sat})  # fmt: skip
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- derived tables
def expected_ratios(
    truth: pd.DataFrame,
    pairs: Sequence[tuple[str, str]],
    control: str | Mapping[str, str],
) -> pd.DataFrame:
    """True target/loading ratios and folds versus a control lane.

    Parameters
    ----------
    truth : pandas.DataFrame
        A truth table of :func:`simulate_blot` (or one read from a ``_ground_truth.csv``).
    pairs : sequence of (target, loading)
        The ratios wanted, e.g. ``[("IkBa", "GAPDH")]``.
    control : str or mapping
        The control lane label, or ``{fraction: lane label}`` when each fraction has its own.

    Returns
    -------
    pandas.DataFrame
        One row per lane × pair where both bands exist: ``lane_label``, ``fraction``,
        ``target``, ``loading``, ``control_lane``, ``true_ratio`` (of ``true_volume``),
        ``fold_vs_control_lane``, ``true_ratio_in_box`` and ``fold_in_box`` (of
        ``true_volume_in_box``).
    """
    t = truth.copy()
    if "fraction" not in t.columns:
        t["fraction"] = ""
    t["fraction"] = t["fraction"].fillna("").astype(str)
    rows = []
    for target, loading in pairs:
        num = t.loc[t["target"] == target].set_index("lane_label")
        den = t.loc[t["target"] == loading].set_index("lane_label")
        for lane in [v for v in num.index if v in den.index]:
            frac = str(num.at[lane, "fraction"])
            ctrl = control.get(frac) if isinstance(control, Mapping) else control
            rec = {
                "lane_label": lane,
                "fraction": frac,
                "target": target,
                "loading": loading,
                "control_lane": ctrl,
            }
            for col, suffix in (("true_volume", ""), ("true_volume_in_box", "_in_box")):
                ratio = num.at[lane, col] / den.at[lane, col]
                rec["true_ratio" + suffix] = ratio
                ok = ctrl in num.index and ctrl in den.index
                cref = num.at[ctrl, col] / den.at[ctrl, col] if ok else math.nan
                rec["fold_vs_control_lane" if not suffix else "fold_in_box"] = ratio / cref
            rows.append(rec)
    cols = ["lane_label", "fraction", "target", "loading", "control_lane", "true_ratio", "fold_vs_control_lane",
            "true_ratio_in_box", "fold_in_box"]  # fmt: skip
    return pd.DataFrame(rows, columns=cols)


def boxes_table(truth: pd.DataFrame) -> pd.DataFrame:
    """The band boxes of a truth table as ``assaykit blot --boxes`` reads them.

    Returns
    -------
    pandas.DataFrame
        ``lane`` (1-based), ``target``, ``x``, ``y``, ``w``, ``h`` (pixels, origin top left).
    """
    b = truth[["lane", "target", "box_x", "box_y", "box_w", "box_h"]]
    return b.rename(columns={"box_x": "x", "box_y": "y", "box_w": "w", "box_h": "h"}).reset_index(
        drop=True
    )


def _toml_str(v: Any) -> str:
    return json.dumps(str(v), ensure_ascii=False)


def layout_toml(spec: BlotSpec, truth: pd.DataFrame | None = None, blot: str | None = None) -> str:
    """A blot layout (``docs/blot.md``) describing the simulated lanes and rows.

    Parameters
    ----------
    spec : BlotSpec
        The simulated blot.
    truth : pandas.DataFrame, optional
        Its truth table: when given, each row gets the ``y`` of its band centre at the
        middle of the blot, so that detected bands can be named by position.
    blot : str, optional
        The blot's name (default: the spec's name).

    Returns
    -------
    str
        TOML text naming the blot (``name = "..."``), with one ``[lane.N]`` table per lane
        and one ``[[row]]`` entry per row of bands, top to bottom.
    """
    lines = [
        "# Blot layout written by assaykit.simulate.blot",
        f"name = {_toml_str(blot or spec.name)}",
        "",
    ]
    for i, label in enumerate(spec.lanes):
        lines.append(f"[lane.{i + 1}]")
        lines.append(f"sample = {_toml_str(label)}")
        if spec.conditions is not None:
            lines.append(f"condition = {_toml_str(spec.conditions[i])}")
        if spec.fractions is not None:
            lines.append(f"fraction = {_toml_str(spec.fractions[i])}")
        if spec.amounts_ug is not None and not math.isnan(spec.amounts_ug[i]):
            lines.append(f"amount_ug = {spec.amounts_ug[i]!r}")
        if all(not r.loaded or r.amounts[i] == 0 for r in spec.rows) and any(
            r.amounts[i] > 0 for r in spec.rows
        ):
            lines.append('role = "ladder"')
        elif (
            spec.amounts_ug is not None
            and spec.conditions is not None
            and spec.conditions[i] == "standard"
        ):
            lines.append('role = "standard"')
        lines.append("")
    for row in sorted((r for r in spec.rows if r.loaded), key=lambda r: r.y):
        lines.append("[[row]]")
        lines.append(f"target = {_toml_str(row.name)}")
        if truth is not None:
            lines.append(
                f"y = {round(float(truth.loc[truth['target'] == row.name, 'y_center_at_lane_center'].mean()), 1)!r}"
            )
        lines.append("")
    return "\n".join(lines)


def write_blot(blot: SimulatedBlot, folder: str | os.PathLike, *, compress: bool = True,
               background: bool = False) -> dict[str, Path]:  # fmt: skip
    """Write a simulated blot as an imager would, with its truth beside it.

    Parameters
    ----------
    blot : SimulatedBlot
        From :func:`simulate_blot`.
    folder : str or path-like
        Existing or new folder.
    compress : bool
        Deflate-compress the TIFF (lossless; readable by tifffile and Pillow without
        extra codecs).
    background : bool
        Also write the true background as ``<name>_true_background.tif`` (float32).

    Returns
    -------
    dict
        ``image`` (``<name>.tif``), ``truth`` (``<name>_ground_truth.csv``), ``boxes``
        (``<name>_boxes.csv``), ``layout`` (``<name>_layout.toml``), ``params``
        (``<name>_params.json``) and, when asked, ``background`` → path.
    """
    import tifffile

    out = Path(folder)
    out.mkdir(parents=True, exist_ok=True)
    name = blot.spec.name
    paths = {
        "image": out / f"{name}.tif",
        "truth": out / f"{name}_ground_truth.csv",
        "boxes": out / f"{name}_boxes.csv",
        "layout": out / f"{name}_layout.toml",
        "params": out / f"{name}_params.json",
    }
    tifffile.imwrite(paths["image"], blot.image, compression="zlib" if compress else None,
                     metadata=None, software="assaykit.simulate.blot")  # fmt: skip
    blot.truth.to_csv(paths["truth"], index=False)
    boxes_table(blot.truth).to_csv(paths["boxes"], index=False)
    paths["layout"].write_text(layout_toml(blot.spec, blot.truth), encoding="utf-8")
    params = {
        **blot.spec.to_dict(),
        "seed": blot.seed,
        "lane_edges": [list(e) for e in blot.lane_edges],
    }
    paths["params"].write_text(
        json.dumps(params, indent=1, default=_json_default), encoding="utf-8"
    )
    if background:
        paths["background"] = out / f"{name}_true_background.tif"
        tifffile.imwrite(
            paths["background"],
            blot.background.astype(np.float32),
            compression="zlib" if compress else None,
        )
    return paths


def _json_default(v: Any) -> Any:
    if isinstance(v, float) and math.isnan(v):
        return None
    if isinstance(v, np.generic):
        return v.item()
    raise TypeError(type(v).__name__)


# --------------------------------------------------------------------------- presets
def ikba_timecourse_spec(name: str = "sim_ikba_timecourse") -> BlotSpec:
    """IκBα degradation after TNF, ± drug: a ladder and 10 lanes, p-IκBα 22 px above IκBα.

    Dark polarity (chemiluminescence), smile and tilt, an uneven background, GAPDH as
    the loading control with some bands clipped at the detector maximum; the faint
    p-IκBα bands form close doublets with IκBα.
    """
    lanes = ("ladder", "veh", "TNF_5", "TNF_15", "TNF_30", "TNF_60", "drug+TNF_5", "drug+TNF_15",
             "drug+TNF_30", "drug+TNF_60", "drug")  # fmt: skip
    ladder = tuple(1.0 if i == 0 else 0.0 for i in range(len(lanes)))
    rows = (
        BandRow("p-IkBa", 330, (0, 0, 0.9, 0.5, 0.15, 0, 0, 0.35, 0.2, 0, 0), peak=9000, sigma=5.0, gamma=4.0),
        BandRow("IkBa", 352, (0, 1.0, 0.55, 0.2, 0.35, 0.8, 0.95, 0.8, 0.6, 0.85, 1.05), peak=56000),
        BandRow("GAPDH", 640, (0, *([1.0] * 10)), peak=60000, sigma=7.0, gamma=6.0),
        *(BandRow(f"ladder_{kda}kDa", y, ladder, peak=20000, sigma=3.5, gamma=2.5, eta=0.2, loaded=False)
          for kda, y in ((100, 150), (70, 215), (55, 270), (40, 420), (25, 560))),
    )  # fmt: skip
    return BlotSpec(name=name, lanes=lanes, rows=rows, loading=(1, 1, 0.92, 1.08, 0.85, 1.1, 0.97, 1.05, 0.9, 1.12, 1.02),
                    height=900, lane_width=70, lane_gap=30, left_margin=90, well_y=60, lane_jitter=1.0,
                    sigma_jitter=0.06, smile=9.0, tilt=0.008, bg_grad_x=1400, bg_grad_y=700, blotch_amp=1500,
                    blotch_sigma=220, smear_amp=250, read_sd=12.0)  # fmt: skip


def p65_fractions_spec(name: str = "sim_p65_fractions") -> BlotSpec:
    """p65 nuclear translocation: cytoplasmic and nuclear fractions, light polarity.

    Four cytoplasmic then four nuclear lanes (vehicle, TNF 30 min, drug + TNF, drug);
    lamin B1 marks the nuclear fraction (a little in the cytoplasmic lanes), GAPDH the
    cytoplasmic fraction (a little in the nuclear lanes); dark bands on a light
    background, with two GAPDH bands clipped at 0.
    """
    treat = ("veh", "TNF30", "drug+TNF30", "drug")
    lanes = tuple(f"{f}_{t}" for f in ("C", "N") for t in treat)
    rows = (
        BandRow("laminB1", 170, (0.04, 0.05, 0.04, 0.03, 1.0, 1.0, 1.0, 1.0), peak=30000, sigma=6.5, gamma=5.5, eta=0.35),
        BandRow("p65", 400, (1.0, 0.6, 0.85, 1.0, 0.1, 0.9, 0.35, 0.1), peak=30000, sigma=7.0, gamma=6.0, eta=0.35),
        BandRow("GAPDH", 640, (1.0, 1.0, 1.0, 1.0, 0.06, 0.05, 0.07, 0.06), peak=48500, sigma=7.5, gamma=6.0, eta=0.35),
    )  # fmt: skip
    return BlotSpec(name=name, lanes=lanes, rows=rows, loading=(1.0, 0.95, 1.07, 0.9, 1.03, 0.88, 1.1, 0.96),
                    fractions=("cytoplasmic",) * 4 + ("nuclear",) * 4, conditions=treat * 2, height=820,
                    lane_width=80, lane_gap=28, left_margin=70, well_y=50, polarity="light", white=52000.0,
                    bias=0.0, gain=2.0, read_sd=40.0, bg_base=1500.0, bg_grad_x=-1200, bg_grad_y=2500,
                    blotch_amp=2500, blotch_sigma=180, smear_amp=500, smile=14.0, tilt=-0.012, lane_jitter=1.0,
                    sigma_jitter=0.06)  # fmt: skip


def dilution_series_spec(name: str = "sim_gapdh_dilution") -> BlotSpec:
    """A GAPDH loading-control dilution series (40 → 1.25 µg, 2-fold) beside 4 samples at 10 µg.

    The 40 and 20 µg GAPDH bands are clipped at the detector maximum, so the series
    leaves the linear range at its top.
    """
    series = (40.0, 20.0, 10.0, 5.0, 2.5, 1.25)
    ug = (*series, 10.0, 10.0, 10.0, 10.0)
    lanes = (*(f"std_{u:g}ug" for u in series), "veh", "TNF_15", "TNF_30", "drug")
    rel = tuple(u / 10.0 for u in ug)
    rows = (
        BandRow("IkBa", 300, (0,) * 6 + (1.0, 0.25, 0.45, 1.0), peak=20000),
        BandRow("GAPDH", 480, rel, peak=30000, sigma=6.5, gamma=5.5),
    )
    return BlotSpec(name=name, lanes=lanes, rows=rows, amounts_ug=ug, height=640, lane_width=60, lane_gap=22,
                    left_margin=50, well_y=40, bg_grad_x=600, bg_grad_y=300, smear_amp=100, read_sd=10.0,
                    conditions=("standard",) * 6 + ("veh", "TNF_15", "TNF_30", "drug"))  # fmt: skip


def demo_spec(name: str = "demo_ikba") -> BlotSpec:
    """A small IκBα blot (6 lanes, 420 × 300 px) for the demo and quick tests."""
    lanes = ("veh", "TNF_5", "TNF_15", "TNF_30", "TNF_60", "drug+TNF_15")
    rows = (
        BandRow("IkBa", 110, (1.0, 0.55, 0.2, 0.35, 0.8, 0.8), peak=30000, sigma=4.5, gamma=3.5),
        BandRow("GAPDH", 210, (1.0,) * 6, peak=30000, sigma=5.0, gamma=4.0),
    )
    return BlotSpec(name=name, lanes=lanes, rows=rows, loading=(1.0, 0.92, 1.08, 0.85, 1.1, 1.0), height=300,
                    lane_width=48, lane_gap=16, left_margin=26, well_y=30, smile=4.0, tilt=0.005, bg_grad_x=600,
                    bg_grad_y=300, blotch_amp=600, blotch_sigma=90, smear_amp=80, read_sd=10.0)  # fmt: skip


def demo_film_spec(name: str = "demo_film") -> BlotSpec:
    """The demo IκBα blot as an 8-bit film scan (dark bands on light, 312 × 220 px).

    Small enough to bundle (≈ 30 kB as a deflate TIFF); the strongest GAPDH bands reach
    0 (film saturation) in a few pixels.
    """
    lanes = ("veh", "TNF_5", "TNF_15", "TNF_30", "TNF_60", "drug+TNF_15")
    rows = (
        BandRow("IkBa", 80, (1.0, 0.55, 0.2, 0.35, 0.8, 0.8), peak=120.0, sigma=4.0, gamma=3.0),
        BandRow("GAPDH", 155, (1.0,) * 6, peak=150.0, sigma=4.5, gamma=3.5),
    )
    return BlotSpec(name=name, lanes=lanes, rows=rows, loading=(1.0, 0.92, 1.08, 0.85, 1.1, 1.0), height=220,
                    lane_width=36, lane_gap=12, left_margin=18, well_y=20, smile=3.0, tilt=0.005, polarity="light",
                    bits=8, white=235.0, bias=0.0, gain=0.02, read_sd=0.8, bg_base=12.0, bg_grad_x=20.0,
                    bg_grad_y=10.0, blotch_amp=6.0, blotch_sigma=120.0, smear_amp=0.0)  # fmt: skip


# --------------------------------------------------------------------------- vendor band tables
def _bands_for_export(bands: pd.DataFrame, volume: str) -> pd.DataFrame:
    need = {"lane", "target", volume}
    missing = need - set(bands.columns)
    if missing:
        raise AnalysisError("band table lacks columns for export", expected=", ".join(sorted(need)),
                            found=", ".join(map(str, bands.columns)))  # fmt: skip
    b = bands.copy()
    if "box_x" in b.columns:
        b = b.rename(columns={"box_x": "x", "box_y": "y", "box_w": "w", "box_h": "h"})
    for c in ("x", "y", "w", "h"):
        if c not in b.columns:
            b[c] = 0
    return b.reset_index(drop=True)


def write_imagej_results(bands: pd.DataFrame, path: str | os.PathLike, *, volume: str = "true_volume_in_box",
                         image: str = "blot.tif", background: float = 0.0) -> Path:  # fmt: skip
    """Write bands as ImageJ's *Results* table saved as CSV (Analyze › Measure on each box).

    The twin of what a user gets after *Subtract Background* and *Measure* of one
    rectangle per band with *Display label* on: a blank first header (the row number),
    ``Label`` (``<image>:<lane>-<target>``, the ROI named in the ROI Manager), ``Area``,
    ``Mean``, ``Min``, ``Max``, ``BX``, ``BY``, ``Width``, ``Height``, ``IntDen``,
    ``RawIntDen`` (the sum of pixel values in the box, here ``volume + background · area``).

    Parameters
    ----------
    bands : pandas.DataFrame
        ``lane``, ``target``, the volume column and the boxes (``x, y, w, h`` or ``box_*``).
    path : str or path-like
        The CSV to write.
    volume : str
        Column holding the band volumes.
    image : str
        Image name used in the labels.
    background : float
        A flat background left under every box (0 after *Subtract Background*).

    Returns
    -------
    pathlib.Path
    """
    b = _bands_for_export(bands, volume)
    area = (b["w"] * b["h"]).astype(float)
    raw = b[volume].astype(float) + background * area
    mean = raw / area.where(area > 0)
    out = pd.DataFrame({
        " ": np.arange(1, len(b) + 1),
        "Label": [f"{image}:{lane}-{t}" for lane, t in zip(b["lane"], b["target"], strict=True)],
        "Area": area.astype(int), "Mean": mean.round(3), "Min": (mean * 0.2).round(0), "Max": (mean * 3).round(0),
        "BX": b["x"], "BY": b["y"], "Width": b["w"], "Height": b["h"], "IntDen": raw.round(3), "RawIntDen": raw.round(0),
    })  # fmt: skip
    p = Path(path)
    out.to_csv(p, index=False)
    return p


def write_imagelab_csv(bands: pd.DataFrame, path: str | os.PathLike, *, volume: str = "true_volume_in_box",
                       background: float = 100.0) -> Path:  # fmt: skip
    """Write bands as a Bio-Rad Image Lab *Lane and Bands* report exported as CSV.

    The columns are those of Image Lab's band table (``Lane``, ``Band No.``, ``Band
    Label``, ``Mol. Wt. (KDa)``, ``Relative Front``, ``Adj. Volume (Int)``, ``Volume
    (Int)``, ``Abs. Quant.``, ``Rel. Quant.``, ``Band %``, ``Lane %``), after two title
    lines as in the exported reports. The band label holds the target; the adjusted
    volume is the band volume, the volume adds ``background`` per pixel of the box.

    Returns
    -------
    pathlib.Path
    """
    b = _bands_for_export(bands, volume)
    area = (b["w"] * b["h"]).astype(float)
    adj = b[volume].astype(float)
    lane_tot = adj.groupby(b["lane"]).transform("sum")
    b = b.assign(_adj=adj)
    b["_no"] = b.groupby("lane").cumcount() + 1
    out = pd.DataFrame({
        "Lane": b["lane"], "Band No.": b["_no"], "Band Label": b["target"], "Mol. Wt. (KDa)": "N/A",
        "Relative Front": ((b["y"] + b["h"] / 2) / max(float((b["y"] + b["h"]).max()), 1.0)).round(3),
        "Adj. Volume (Int)": adj.round(0), "Volume (Int)": (adj + background * area).round(0),
        "Abs. Quant.": "N/A", "Rel. Quant.": "N/A", "Band %": (100 * adj / lane_tot).round(1), "Lane %": "N/A",
    })  # fmt: skip
    p = Path(path)
    with p.open("w", encoding="utf-8", newline="") as fh:
        fh.write("Analysis Table: simulated blot\nLane and Bands\n")
        out.to_csv(fh, index=False)
    return p


def write_imagestudio_csv(bands: pd.DataFrame, path: str | os.PathLike, *, volume: str = "true_volume_in_box",
                          background: float = 250.0, channel: str = "800") -> Path:  # fmt: skip
    """Write bands as a LI-COR Image Studio / Empiria shape table exported as CSV.

    Image Studio reports ``Signal = Total − Bkgnd. × Area`` per shape; this twin writes
    ``Name`` (``<lane>-<target>``), ``Channel``, ``Lane``, ``Target``, ``Signal``,
    ``Total``, ``Bkgnd.``, ``Area``, ``Type``. No public export of Image Studio was
    found: the column names follow LI-COR's documentation (``docs/blot.md``).

    Returns
    -------
    pathlib.Path
    """
    b = _bands_for_export(bands, volume)
    area = (b["w"] * b["h"]).astype(float)
    sig = b[volume].astype(float)
    out = pd.DataFrame({
        "Name": [f"{lane}-{t}" for lane, t in zip(b["lane"], b["target"], strict=True)], "Channel": channel,
        "Lane": b["lane"], "Target": b["target"], "Signal": sig.round(1), "Total": (sig + background * area).round(1),
        "Bkgnd.": background, "Area": area.astype(int), "Type": "Rectangle",
    })  # fmt: skip
    p = Path(path)
    out.to_csv(p, index=False)
    return p
