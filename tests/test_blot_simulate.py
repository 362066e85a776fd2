"""assaykit.simulate.blot: exact truth, determinism, detector model, files written and read back."""

from __future__ import annotations

import math
import tomllib

import numpy as np
import pandas as pd
import pytest

from assaykit.errors import AnalysisError
from assaykit.simulate.blot import (
    BandRow,
    BlotSpec,
    boxes_table,
    demo_spec,
    dilution_series_spec,
    expected_ratios,
    ikba_timecourse_spec,
    p65_fractions_spec,
    simulate_blot,
    write_blot,
)


def _quiet(spec: BlotSpec, **kw) -> BlotSpec:
    """The same blot without noise-free background structure or noise changes."""
    from dataclasses import replace

    return replace(spec, **kw)


def test_same_seed_same_blot_and_other_seed_differs():
    a = simulate_blot(demo_spec(), seed=3)
    b = simulate_blot(demo_spec(), seed=3)
    c = simulate_blot(demo_spec(), seed=4)
    assert np.array_equal(a.image, b.image)
    pd.testing.assert_frame_equal(a.truth, b.truth)
    assert not np.array_equal(a.image, c.image)


@pytest.mark.parametrize(
    "make", [demo_spec, ikba_timecourse_spec, p65_fractions_spec, dilution_series_spec]
)
def test_truth_volumes_are_the_sums_of_the_noise_free_layers(make):
    # noise-free image minus true background = the sum of every band layer (no clipping)
    spec = _quiet(make(), white=60000.0) if make is p65_fractions_spec else make()
    spec = _quiet(spec, bits=16)
    blot = simulate_blot(spec, seed=1)
    bands = blot.noise_free - blot.background
    if spec.polarity == "light":
        bands = -bands
    unclipped = (
        ~blot.truth["saturated"].any()
        and np.isclose(
            blot.truth["noise_free_clipped_volume"], blot.truth["true_volume"], rtol=0, atol=1e-6
        ).all()
    )
    if unclipped:
        assert bands.sum() == pytest.approx(blot.truth["true_volume"].sum(), rel=1e-9)
    else:  # clipping removed exactly what the truth's clipped volumes lost
        assert bands.sum() == pytest.approx(blot.truth["noise_free_clipped_volume"].sum(), rel=1e-9)


def test_gaussian_band_volume_matches_closed_form():
    # a pure Gaussian (eta = 0) of height A on a lane of width W with near-hard edges:
    # volume = A * sigma * sqrt(2 pi) * W (pixel columns x_left..x_right, the two edge columns half in)
    row = BandRow("X", 150.0, (1.0,), peak=10000.0, sigma=5.0, gamma=5.0, eta=0.0)
    spec = BlotSpec(
        lanes=("a",), rows=(row,), height=300, lane_width=50, left_margin=40, edge_softness=0.01
    )
    blot = simulate_blot(spec, seed=0)
    t = blot.truth.iloc[0]
    assert t["true_volume"] == pytest.approx(10000.0 * 5.0 * math.sqrt(2 * math.pi) * 50, rel=1e-6)
    # the box (columns 40..89, rows ±4 sigma) holds 49.5 of the 50 column weights (column 40 is
    # half in the lane, column 90 outside the box) and erf(4 / sqrt 2) of the Gaussian
    expected = 49.5 / 50 * math.erf(4 / math.sqrt(2))
    assert t["true_volume_in_box"] / t["true_volume"] == pytest.approx(expected, rel=2e-4)


def test_lorentzian_band_volume_matches_closed_form():
    # a pure Lorentzian (eta = 1): integral of 1 / (1 + (d/g)^2) over [-a, b] = g (atan(b/g) + atan(a/g))
    row = BandRow("X", 200.0, (1.0,), peak=8000.0, sigma=4.0, gamma=4.0, eta=1.0)
    spec = BlotSpec(
        lanes=("a",), rows=(row,), height=401, lane_width=30, left_margin=40, edge_softness=0.01
    )
    blot = simulate_blot(spec, seed=0)
    # discrete sum over rows 0..400 of the Lorentzian centred at 200 (row 200 + smile 0)
    d = np.arange(401) - 200.0
    expected = 8000.0 * (1.0 / (1.0 + (d / 4.0) ** 2)).sum() * 30
    assert blot.truth.iloc[0]["true_volume"] == pytest.approx(expected, rel=1e-6)


def test_noise_is_poisson_plus_read_noise():
    spec = BlotSpec(
        lanes=("a",),
        rows=(),
        height=400,
        lane_width=40,
        left_margin=200,
        gain=2.0,
        read_sd=20.0,
        bg_base=5000.0,
        bias=300.0,
    )
    blot = simulate_blot(spec, seed=5)
    resid = blot.image.astype(float) - blot.noise_free
    assert abs(resid.mean()) < 1.0
    # Var = gain * S + read_sd^2 (+ 1/12 of rounding)
    assert resid.std() == pytest.approx(math.sqrt(2.0 * 5000.0 + 400.0 + 1 / 12), rel=0.02)


def test_saturated_pixels_counted_in_the_box_for_both_polarities():
    for make, clip in ((ikba_timecourse_spec, 65535), (p65_fractions_spec, 0)):
        blot = simulate_blot(make(), seed=1)
        assert blot.saturation == clip
        t = blot.truth
        assert t["saturated"].any()
        for _, r in t.iterrows():
            box = blot.image[r.box_y : r.box_y + r.box_h, r.box_x : r.box_x + r.box_w]
            assert int((box == clip).sum()) == r.n_saturated_px_in_box
        sat = t.loc[t["saturated"]]
        assert (sat["noise_free_clipped_volume"] <= sat["true_volume"] + 1e-6).all()


def test_dilution_series_clips_at_the_top():
    blot = simulate_blot(dilution_series_spec(), seed=2)
    g = blot.truth.loc[blot.truth["target"] == "GAPDH"].set_index("amount_ug")
    assert bool(g.loc[40.0, "saturated"]) and not bool(g.loc[2.5, "saturated"])
    # true volumes are proportional to the amount loaded
    per_ug = g["true_volume"] / g.index.to_numpy()
    assert per_ug.std() / per_ug.mean() < 0.1  # band widths vary by the sigma jitter only


def test_light_polarity_stores_white_minus_signal():
    blot = simulate_blot(p65_fractions_spec(), seed=1)
    assert blot.spec.polarity == "light"
    assert np.median(blot.image) > 40000  # light background
    r = blot.truth.iloc[0]
    box = blot.image[r.box_y : r.box_y + r.box_h, r.box_x : r.box_x + r.box_w]
    assert box.min() < np.median(blot.image)  # dark band


def test_write_blot_files_read_back(tmp_path):
    import tifffile

    blot = simulate_blot(demo_spec(), seed=1)
    paths = write_blot(blot, tmp_path, background=True)
    img = tifffile.imread(paths["image"])
    assert img.dtype == np.uint16 and np.array_equal(img, blot.image)
    assert paths["image"].stat().st_size < 1_000_000
    truth = pd.read_csv(paths["truth"])
    assert np.allclose(truth["true_volume"], blot.truth["true_volume"], rtol=1e-12)
    boxes = pd.read_csv(paths["boxes"])
    assert list(boxes.columns) == ["lane", "target", "x", "y", "w", "h"]
    pd.testing.assert_frame_equal(boxes, boxes_table(blot.truth), check_dtype=False)
    layout = tomllib.loads(paths["layout"].read_text(encoding="utf-8"))
    assert layout["lane"]["1"]["sample"] == "veh" and [r["target"] for r in layout["row"]] == [
        "IkBa",
        "GAPDH",
    ]
    assert tifffile.imread(paths["background"]).shape == img.shape
    spec2 = BlotSpec.from_dict(__import__("json").loads(paths["params"].read_text()))
    assert spec2 == blot.spec


def test_expected_ratios_reproduce_the_corpus(corpus):
    # independent check: the corpus' expected ratios from its own truth table
    for name, control in (
        ("synth_blot_A_IkBa_timecourse", "veh"),
        ("synth_blot_B_p65_fractions", None),
    ):
        truth = pd.read_csv(corpus("blot", f"{name}_ground_truth.csv"))
        exp = pd.read_csv(corpus("blot", f"{name}_expected_ratios.csv"))
        if control is None:
            truth["fraction"] = truth["lane_label"].str[0]
            got = expected_ratios(
                truth, [("p65", "GAPDH"), ("p65", "laminB1")], {"C": "C_veh", "N": "N_veh"}
            )
        else:
            got = expected_ratios(truth, [("IkBa", "GAPDH"), ("p-IkBa", "GAPDH")], control)
        m = exp.merge(
            got,
            left_on=["lane_label", "target", "control"],
            right_on=["lane_label", "target", "loading"],
        )
        assert len(m) == len(exp)
        assert np.allclose(
            m["true_ratio_x"], m["true_ratio_y"], rtol=1e-6, atol=6e-7
        )  # CSV holds 6 decimals
        has_fold = m["fold_vs_control_lane_x"].notna()
        assert has_fold.sum() >= 8
        assert np.allclose(
            m.loc[has_fold, "fold_vs_control_lane_x"],
            m.loc[has_fold, "fold_vs_control_lane_y"],
            rtol=1e-6,
            atol=6e-7,
        )


def test_bad_specs_raise_clear_errors():
    with pytest.raises(AnalysisError, match="at least one lane"):
        BlotSpec(lanes=())
    with pytest.raises(AnalysisError, match="one amount per lane"):
        BlotSpec(lanes=("a", "b"), rows=(BandRow("X", 10, (1.0,)),))
    with pytest.raises(AnalysisError, match="polarity"):
        BlotSpec(lanes=("a",), polarity="grey")
    with pytest.raises(AnalysisError, match="loading needs one value per lane"):
        BlotSpec(lanes=("a",), loading=(1.0, 2.0))


def test_eight_bit_film_scan_preset():
    from assaykit.simulate.blot import demo_film_spec

    blot = simulate_blot(demo_film_spec(), seed=1)
    assert blot.image.dtype == np.uint8 and blot.spec.polarity == "light" and blot.saturation == 0
    assert blot.image.shape == (220, 312) and int(np.median(blot.image)) > 200
    bands = blot.background - blot.noise_free  # light: bands darken the image
    assert bands.sum() == pytest.approx(blot.truth["noise_free_clipped_volume"].sum(), rel=1e-9)
