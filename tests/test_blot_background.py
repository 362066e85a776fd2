"""ImageJ's rolling ball, reproduced: the ball, closed forms, ImageJ's background numbers, truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import tifffile

import assaykit.blot as blot
from assaykit.blot.background import (
    _enlarge,
    _shrink,
    ball_patch,
    roll_ball,
    rolling_ball_background,
)
from assaykit.errors import AnalysisError
from tests.conftest import shared_path


@pytest.mark.parametrize(("radius", "shrink", "width"), [(5, 1, 9), (20, 2, 17), (50, 4, 19), (150, 8, 25)])
def test_ball_patch_follows_imagej(radius, shrink, width):
    """Shrink 1/2/4/8 and trimmed half widths: r=50 → r/4 = 12.5, trim 32 % → int(400)/100 = 4 →
    round(8.5) = 9 → 19 px (notes §3); r=5: trim int(120)/100 = 1 → round(4) = 4 → 9."""
    s, z = ball_patch(radius)
    assert (s, z.shape) == (shrink, (width, width))
    r = max(radius / s, 1)
    assert z[width // 2, width // 2] == pytest.approx(r)


def test_roll_ball_is_an_opening_by_the_ball():
    rng = np.random.default_rng(1)
    a = rng.normal(100, 5, (40, 50)).astype(np.float32)
    _, z = ball_patch(8)
    got = roll_ball(a, z)
    # brute force: erosion over centres (also outside the image), then dilation
    h, w, r = a.shape[0], a.shape[1], z.shape[0] // 2
    ero = np.full((h + 2 * r, w + 2 * r), np.inf)
    for cy in range(-r, h + r):
        for cx in range(-r, w + r):
            y0, y1, x0, x1 = max(0, cy - r), min(h, cy + r + 1), max(0, cx - r), min(w, cx + r + 1)
            patch = a[y0:y1, x0:x1] - z[y0 - cy + r : y1 - cy + r, x0 - cx + r : x1 - cx + r]
            ero[cy + r, cx + r] = patch.min()
    out = np.full((h, w), -np.inf)
    for cy in range(-r, h + r):
        for cx in range(-r, w + r):
            y0, y1, x0, x1 = max(0, cy - r), min(h, cy + r + 1), max(0, cx - r), min(w, cx + r + 1)
            cand = ero[cy + r, cx + r] + z[y0 - cy + r : y1 - cy + r, x0 - cx + r : x1 - cx + r]
            np.maximum(out[y0:y1, x0:x1], cand, out=out[y0:y1, x0:x1])
    assert np.allclose(got, out, atol=1e-4)


def test_shrink_and_enlarge_follow_imagej():
    a = np.arange(7 * 9, dtype=np.float32).reshape(7, 9)
    small = _shrink(a, 4)
    assert small.shape == (2, 3) and small[1, 2] == a[4, 8] and small[0, 0] == 0
    flat = _enlarge(np.full((3, 4), 5.0, np.float32), (12, 16), 4)
    assert np.allclose(flat, 5.0)  # weights sum to 1, also where ImageJ extrapolates
    ramp = _enlarge(np.array([[0.0, 4.0, 8.0]] * 2, np.float32), (8, 12), 4)
    assert np.allclose(ramp[0], np.arange(12) - 1.5)  # x = 0 sits 3/8 of a block before centre 0


def test_flat_background_and_narrow_band_closed_form():
    a = np.full((200, 240), 1000.0, np.float32)
    y = np.arange(200)[:, None]
    band = 5000.0 * np.exp(-0.5 * ((y - 100) / 3.0) ** 2) * np.ones((1, 240))
    bg = rolling_ball_background(a + band, 50)
    assert np.allclose(bg, 1000.0, atol=1.0)  # the ball passes under the band (< 1 ADU/px)
    corrected, _ = blot.subtract_background(a + band, "rolling_ball", 50)
    assert corrected.sum() == pytest.approx(band.sum(), rel=1e-3)


def test_background_never_exceeds_the_image_and_bad_input():
    rng = np.random.default_rng(2)
    a = rng.poisson(500, (90, 130)).astype(np.float32)
    assert (rolling_ball_background(a, 20) <= a).all()
    with pytest.raises(AnalysisError, match="NaN or infinite"):
        rolling_ball_background(np.full((20, 20), np.nan), 10)
    with pytest.raises(AnalysisError, match="not an image-wide background method"):
        blot.subtract_background(a, "median_border")


@pytest.mark.shared
@pytest.mark.parametrize(("stem", "tag", "tol_pct"), [
    ("synth_blot_A_IkBa_timecourse", "A", 0.01),  # notes: agree within 0.0015 %
    ("synth_blot_B_p65_fractions", "B", 0.5),     # notes: 0.45 % max, median 0.004 %
])
def test_box_volumes_equal_imagej_rolling_ball(stem, tag, tol_pct, reference):
    img = blot.read_image(shared_path("corpus", "blot", stem + ".tif"))
    corrected, bg = blot.subtract_background(img, "rolling_ball", 50)
    gt = pd.read_csv(shared_path("corpus", "blot", stem + "_ground_truth.csv"))
    ij = pd.read_csv(reference("blot", f"imagej_{tag}.csv"))
    ij = ij[ij["method"] == "RB16"].merge(gt, on=["lane_label", "target"])
    ours = np.array([corrected[r.box_y : r.box_y + r.box_h, r.box_x : r.box_x + r.box_w].sum() for r in ij.itertuples()])
    diff = np.abs(ours / ij["volume"].to_numpy() - 1.0) * 100.0
    assert len(ij) == len(gt) and diff.max() < tol_pct
    assert np.median(diff) < 0.01


@pytest.mark.shared
@pytest.mark.parametrize("stem", ["synth_blot_A_IkBa_timecourse", "synth_blot_B_p65_fractions"])
def test_rolling_ball_against_the_true_background(stem):
    """The ball follows the noise minima, as ImageJ's does: the median offset from the true
    background stays within 100 ADU/px (notes: ImageJ −23 / +76 on A / B; scikit-image's
    rolling_ball −316 / −623)."""
    import json

    img = blot.read_image(shared_path("corpus", "blot", stem + ".tif"))
    _, bg = blot.subtract_background(img, "rolling_ball", 50)
    params = json.loads(shared_path("corpus", "blot", stem + "_params.json").read_text())
    true = tifffile.imread(shared_path("corpus", "blot", stem + "_true_background.tif")).astype(float)
    # the same units as BlotImage.signal(): dark = bias + S, light = 65535 − (white − S)
    offset = params["bias"] if img.polarity == "dark" else img.white - params["white"]
    off = float(np.median(bg - (true + offset)))
    assert abs(off) < 100.0
