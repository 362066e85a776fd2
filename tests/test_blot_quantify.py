"""Band quantification against the exact truth of the synthetic blots and ImageJ 1.53t.

References
----------
* ``../shared/corpus/blot/synth_blot_{A,B}_*``: synthetic 16-bit blots whose band volumes
  are known exactly (``true_volume_in_box`` = sum of the noise-free band layer in the box),
  with the expected target/loading folds.
* ``../shared/reference/blot/imagej_{A,B}.csv``: ImageJ 1.53t's "Subtract Background"
  (rolling=50) volumes in the same boxes (RB32 = RB16 there).
* ``assaykit.simulate.blot``: a freshly simulated blot (no shared data needed).

Targets (issue 10): strong isolated bands ±1 %, faint bands (< 15 % of the strongest)
±5 %, the faint band of a close doublet ±20 %, folds vs control 1 % median / 3 % max,
saturated bands flagged exactly; automatic lanes and bands give folds within 5 % of the
given boxes'.
"""

from __future__ import annotations

from functools import cache

import numpy as np
import pandas as pd
import pytest

import assaykit.blot as blot
from assaykit.errors import AnalysisError
from assaykit.schema import BLOT_BANDS_COLUMNS, validate_blot_bands
from tests.conftest import shared_path

STEMS = {"A": "synth_blot_A_IkBa_timecourse", "B": "synth_blot_B_p65_fractions"}


@cache
def _truth(tag: str) -> pd.DataFrame:
    gt = pd.read_csv(shared_path("corpus", "blot", STEMS[tag] + "_ground_truth.csv"))
    return gt.rename(columns={"lane_index": "lane"})


@cache
def _image(tag: str) -> blot.BlotImage:
    return blot.read_image(shared_path("corpus", "blot", STEMS[tag] + ".tif"))


def _boxes(gt: pd.DataFrame) -> pd.DataFrame:
    return gt.rename(columns={"box_x": "x", "box_y": "y", "box_w": "w", "box_h": "h"})[
        ["lane", "target", "x", "y", "w", "h"]
    ]


@cache
def _measured(tag: str, method: str) -> pd.DataFrame:
    gt = _truth(tag)
    res = blot.quantify(_image(tag), boxes=_boxes(gt), background=method)
    m = res.bands.merge(gt, on=["lane", "target"], suffixes=("", "_true"))
    assert len(m) == len(gt)
    m["err_pct"] = (m["volume"] / m["true_volume_in_box"] - 1.0) * 100.0
    return m


def _groups(tag: str, m: pd.DataFrame) -> dict[str, pd.DataFrame]:
    """The band groups of the reference's grouped_error_summary.csv."""
    if tag == "A":
        doublet_lanes = set(m.loc[m["target"] == "p-IkBa", "lane"])
        core = m[m["target"].isin(["IkBa", "GAPDH"])]
        return {
            "strong": core[~((core["target"] == "IkBa") & core["lane"].isin(doublet_lanes))],
            "doublet_strong": m[(m["target"] == "IkBa") & m["lane"].isin(doublet_lanes)],
            "doublet_faint": m[m["target"] == "p-IkBa"],
        }
    faint = m["true_volume_in_box"] < 0.15 * m["true_volume_in_box"].max()
    return {"strong": m[~faint], "faint": m[faint]}


# ----------------------------------------------------------------------------- accuracy
@pytest.mark.shared
@pytest.mark.parametrize("tag", ["A", "B"])
def test_lane_profile_band_volumes_meet_the_accuracy_targets(tag):
    g = _groups(tag, _measured(tag, "lane_profile"))
    assert g["strong"]["err_pct"].abs().max() < 1.0  # ImageJ RB: A −0.9..0.5, B −3.8..−0.7
    if tag == "A":
        assert g["doublet_strong"]["err_pct"].abs().max() < 1.0  # ImageJ: +0.5..+2.1
        assert g["doublet_faint"]["err_pct"].abs().max() < 20.0  # ImageJ: +18..+159
        assert len(g["doublet_faint"]) == 5
    else:
        assert len(g["faint"]) == 10
        assert g["faint"]["err_pct"].abs().max() < 5.0  # ImageJ: +2.4..+40


@pytest.mark.shared
@pytest.mark.parametrize("tag", ["A", "B"])
def test_saturated_bands_are_flagged_exactly(tag):
    m = _measured(tag, "lane_profile")
    assert (m["n_saturated"] == m["n_saturated_px_in_box"]).all()
    assert (m["saturated"] == m["saturated_true"]).all()
    assert (m.loc[m["saturated"], "status"] == "saturated").all()
    assert m["saturated"].sum() == {"A": 5, "B": 2}[tag]


def _folds(m: pd.DataFrame, target: str, loading: str, control: str, label: str = "lane_label",
           value: str = "volume") -> pd.Series:
    t = m[m["target"] == target].set_index(label)[value]
    ld = m[m["target"] == loading].set_index(label)[value]
    ratio = (t / ld).dropna()
    return ratio / ratio[control]


def _fold_errors(tag: str, m: pd.DataFrame, value: str = "volume_total") -> list[np.ndarray]:
    """|fold error| % against the expected folds (true whole-band volumes, corpus CSV)."""
    exp = pd.read_csv(shared_path("corpus", "blot", STEMS[tag] + "_expected_ratios.csv"))
    if tag == "A":
        sets = [("IkBa", "GAPDH", "veh", None)]
    else:
        sets = [("p65", "GAPDH", "C_veh", "C_"), ("p65", "laminB1", "N_veh", "N_")]
    out = []
    for target, loading, control, prefix in sets:
        f = _folds(m, target, loading, control, value=value)
        e = exp[(exp["target"] == target) & (exp["control"] == loading)].set_index("lane_label")
        if prefix:
            e = e[e.index.str.startswith(prefix)]
            f = f[f.index.str.startswith(prefix)]
        true = e["true_ratio"] / e.loc[control, "true_ratio"]
        out.append(np.abs(f[true.index].to_numpy() / true.to_numpy() - 1.0) * 100.0)
    return out


@pytest.mark.shared
@pytest.mark.parametrize(("tag", "value"), [("A", "volume_total"), ("B", "volume")])
def test_folds_vs_control_within_1pct_median_3pct_max(tag, value):
    """Folds against the corpus's expected folds (ratios of true whole-band volumes).

    ImageJ RB16: A 1.0/4.1 %, B cytoplasmic 0.5/1.7 %, B nuclear 3.9/7.2 %. On B every box
    holds the same share of its band (±4 sigma), so in-box volumes give unbiased folds. On
    A the IκBα boxes next to p-IκBα are shorter and hold a smaller share of their band:
    even the *true* in-box volumes give folds up to 4.7 % off there, so the whole-band
    volumes extrapolated from the fitted shapes (``volume_total``) are compared.
    """
    for err in _fold_errors(tag, _measured(tag, "lane_profile"), value=value):
        assert np.median(err) < 1.0
        assert err.max() < 3.0


@pytest.mark.shared
@pytest.mark.parametrize("tag", ["A", "B"])
def test_in_box_folds_match_true_in_box_folds(tag):
    m = _measured(tag, "lane_profile")
    truth = m.assign(volume=m["true_volume_in_box"])
    sets = [("IkBa", "GAPDH", "veh")] if tag == "A" else [("p65", "GAPDH", "C_veh"), ("p65", "laminB1", "N_veh")]
    for target, loading, control in sets:
        f, t = _folds(m, target, loading, control), _folds(truth, target, loading, control)
        lanes = [i for i in f.index if i[0] == control[0]] if tag == "B" else f.index
        err = np.abs(f[lanes] / t[lanes] - 1.0) * 100.0
        # B's nuclear control band (N_veh p65) is faint (10 % of the strongest, -1.15 %):
        # its error enters every nuclear fold, hence 1.5 % rather than 1 % on the median
        assert np.median(err) < 1.5 and err.max() < 3.0


@pytest.mark.shared
def test_folds_through_normalize_agree():
    m = _measured("A", "lane_profile")
    bands = m[list(BLOT_BANDS_COLUMNS)].assign(sample=m["lane_label"])
    res = blot.normalize(bands, loading="GAPDH", control="veh")
    table = res.normalized if hasattr(res, "normalized") else res
    got = table[(table["target"] == "IkBa")].set_index("sample")["fold"]
    direct = _folds(m, "IkBa", "GAPDH", "veh")
    assert np.allclose(got[direct.index].to_numpy(dtype=float), direct.to_numpy(), rtol=1e-9)


# ----------------------------------------------------------------------------- ImageJ
@pytest.mark.shared
@pytest.mark.parametrize(("tag", "tol_pct"), [("A", 0.01), ("B", 0.5)])
def test_rolling_ball_reproduces_imagej_volumes(tag, tol_pct, reference):
    """Isolated boxes: ImageJ's numbers (notes: 0.0015 % on A, 0.45 % max on B)."""
    ij = pd.read_csv(reference("blot", f"imagej_{tag}.csv"))
    ij = ij[ij["method"] == "RB32"][["lane_label", "target", "volume"]].rename(columns={"volume": "imagej"})
    m = _measured(tag, "rolling_ball").merge(ij, on=["lane_label", "target"])
    alone = m[m["status"] != "fitted"]
    assert len(alone) >= 19  # A: all but the 5 doublets (10 boxes); B: all 24
    assert (np.abs(alone["volume"] / alone["imagej"] - 1.0) * 100.0).max() < tol_pct
    assert (m["method"] == "rolling_ball").all() and (m["params"].str.startswith("radius=50;smooth=True")).all()


@pytest.mark.shared
@pytest.mark.parametrize("tag", ["A", "B"])
def test_median_border_reproduces_imagej_medtb3(tag, reference):
    """ImageJ macro MEDTB3: box sum − median of 3-px strips above and below × area."""
    ij = pd.read_csv(reference("blot", f"imagej_{tag}.csv"))
    ij = ij[ij["method"] == "MEDTB3"][["lane_label", "target", "volume"]].rename(columns={"volume": "imagej"})
    m = _measured(tag, "median_border").merge(ij, on=["lane_label", "target"])
    assert len(m) == len(_truth(tag))
    assert np.allclose(m["volume"], m["imagej"], rtol=0, atol=0.06)  # ImageJ printed 0.1 ADU·px


@pytest.mark.shared
def test_rolling_ball_splits_the_doublet_better_than_imagej():
    g = _groups("A", _measured("A", "rolling_ball"))
    assert (g["doublet_faint"]["status"] == "fitted").all()
    assert g["doublet_faint"]["err_pct"].abs().max() < 20.0  # ImageJ: up to +159 %


# ----------------------------------------------------------------------------- automatic
def _match(auto: pd.DataFrame, gt: pd.DataFrame, lanes: pd.DataFrame) -> pd.Series:
    """Volume of the detected band nearest each true band (same lane by x, centre within half a box)."""
    out = []
    for r in gt.itertuples():
        xc = r.box_x + r.box_w / 2.0
        cand = auto[(auto["x"] <= xc) & (auto["x"] + auto["w"] >= xc)]
        d = (cand["y"] + cand["h"] / 2.0 - (r.box_y + r.box_h / 2.0)).abs()
        out.append(cand.loc[d.idxmin(), "volume"] if len(d) and d.min() < r.box_h / 2.0 else np.nan)
    return pd.Series(out, index=gt.index)


@pytest.mark.shared
@pytest.mark.parametrize("tag", ["A", "B"])
def test_automatic_lanes_and_bands_give_folds_within_5pct_of_boxes(tag):
    gt = _truth(tag)
    res = blot.quantify(_image(tag), background="lane_profile")
    assert len(res.lanes) == gt["lane"].nunique()
    assert len(res.bands) == len(gt)  # every band found, none invented
    auto = gt.assign(volume_total=_match(res.bands.assign(volume=res.bands["volume_total"]), gt, res.lanes))
    assert auto["volume_total"].notna().all()
    boxed = _measured(tag, "lane_profile")
    for target, loading, control in ([("IkBa", "GAPDH", "veh")] if tag == "A" else
                                     [("p65", "GAPDH", "C_veh"), ("p65", "laminB1", "N_veh")]):
        # whole-band volumes: automatic boxes are drawn at ±4 sigma, the corpus's IκBα boxes
        # beside p-IκBα are shorter, so in-box volumes would differ by the box, not the method
        fa = _folds(auto, target, loading, control, value="volume_total")
        fb = _folds(boxed, target, loading, control, value="volume_total")
        assert (np.abs(fa[fb.index] / fb - 1.0) * 100.0).max() < 5.0


# ----------------------------------------------------------------------------- fresh clone
@cache
def _simulated():
    from assaykit.simulate.blot import boxes_table, ikba_timecourse_spec, simulate_blot

    sb = simulate_blot(ikba_timecourse_spec(), seed=3)
    img = blot.BlotImage.from_array(sb.image, polarity="dark")
    return sb, img, boxes_table(sb.truth)


def test_simulated_blot_volumes_and_folds_without_shared_data():
    sb, img, boxes = _simulated()
    res = blot.quantify(img, boxes=boxes, background="lane_profile")
    m = res.bands.merge(sb.truth, on=["lane", "target"], suffixes=("", "_true"))
    err = (m["volume"] / m["true_volume_in_box"] - 1.0) * 100.0
    core = m["target"].isin(["IkBa", "GAPDH"])
    assert err[core].abs().max() < 1.5
    assert err[m["target"] == "p-IkBa"].abs().max() < 20.0
    assert (m["n_saturated"] == m["n_saturated_px_in_box"]).all()
    f = _folds(m, "IkBa", "GAPDH", "veh")
    t = _folds(m.assign(volume=m["true_volume_in_box"]), "IkBa", "GAPDH", "veh")
    assert (np.abs(f / t[f.index] - 1.0) * 100.0).max() < 3.0


def test_bands_table_follows_the_schema():
    sb, img, boxes = _simulated()
    res = blot.quantify(img, boxes=boxes)
    b = res.bands
    assert list(b.columns[: len(BLOT_BANDS_COLUMNS)]) == list(BLOT_BANDS_COLUMNS)
    validate_blot_bands(b)
    assert (b["method"] == "rolling_ball").all()
    assert set(res.tables()) == {"bands", "lanes", "profiles"}
    assert res.background is not None and not res.background.flags.writeable
    assert {"lane", "y", "raw", "background", "signal", "fit"} <= set(res.profiles.columns)


@pytest.mark.parametrize("method", ["median_border", "none", "lane_profile", "rolling_ball"])
def test_every_method_records_itself(method):
    sb, img, boxes = _simulated()
    b = blot.quantify(img, boxes=boxes.head(6), background=method).bands
    assert (b["method"] == method).all()
    assert b["volume"].notna().all()
    if method == "none":
        assert (b["background"] == 0).all()


def test_median_border_closed_form():
    a = np.full((60, 40), 100.0)
    a[20:30, 10:30] += 50.0
    img = blot.BlotImage.from_array(a.astype(np.uint16), polarity="dark")
    boxes = pd.DataFrame({"lane": [1], "target": ["x"], "x": [10], "y": [20], "w": [20], "h": [10]})
    b = blot.quantify(img, boxes=boxes, background="median_border").bands
    assert b["volume"].iloc[0] == pytest.approx(50.0 * 200)
    assert b["background"].iloc[0] == pytest.approx(100.0 * 200)


def test_light_images_are_measured_bands_positive():
    sb, img, boxes = _simulated()
    light = blot.BlotImage.from_array(65535 - sb.image, polarity="light")
    d = blot.quantify(img, boxes=boxes, background="lane_profile").bands
    li = blot.quantify(light, boxes=boxes, background="lane_profile").bands
    assert np.allclose(d["volume"], li["volume"], rtol=1e-6)
    assert (d["n_saturated"] == li["n_saturated"]).all()  # 0 on the light image = max on the dark one


# ----------------------------------------------------------------------------- bad input
def test_box_outside_the_image_names_lane_and_band():
    sb, img, boxes = _simulated()
    bad = boxes.copy()
    bad.loc[0, "y"] = img.height - 5
    with pytest.raises(AnalysisError, match=r"lane 3, band p-IkBa: band box outside the image") as e:
        blot.quantify(img, boxes=bad)
    assert "y + h <= 900" in str(e.value)


def test_boxes_without_required_columns():
    sb, img, boxes = _simulated()
    with pytest.raises(AnalysisError, match=r"band boxes lack columns.*missing \['h'\]"):
        blot.quantify(img, boxes=boxes.drop(columns="h"))


def test_boxes_csv_with_non_numeric_size(tmp_path):
    sb, img, boxes = _simulated()
    p = tmp_path / "boxes.csv"
    boxes.astype({"w": object}).assign(w=["wide"] + list(boxes["w"].iloc[1:])).to_csv(p, index=False)
    with pytest.raises(AnalysisError, match=r"boxes.csv, line 2: box column 'w' is not a whole number"):
        blot.quantify(img, boxes=p)


def test_no_detectable_lanes_suggests_lanes_or_boxes():
    flat = blot.BlotImage.from_array(np.full((200, 300), 1000, np.uint16), polarity="dark")
    with pytest.raises(AnalysisError, match=r"no detectable lanes.*--lanes N.*--boxes"):
        blot.quantify(flat)


def test_unknown_option_is_a_settings_error():
    from assaykit.errors import SettingsError

    sb, img, boxes = _simulated()
    with pytest.raises(SettingsError, match="radius"):
        blot.quantify(img, boxes=boxes, radius=-1)
    with pytest.raises(SettingsError, match="not a setting"):
        blot.quantify(img, boxes=boxes, raduis=5)


# ----------------------------------------------------------------------------- committed crop
def test_committed_crop_volumes_and_fold():
    """tests/data/blot: two lanes cropped from synthetic blot A (SOURCES.md), no ../shared needed."""
    from pathlib import Path

    here = Path(__file__).parent / "data" / "blot"
    gt = pd.read_csv(here / "synth_A_crop_truth.csv").rename(columns={"lane_index": "lane"})
    img = blot.read_image(here / "synth_A_crop.tif")
    assert (img.polarity, img.bit_depth) == ("dark", 16)
    res = blot.quantify(img, boxes=_boxes(gt), background="lane_profile")
    m = res.bands.merge(gt, on=["lane", "target"])
    err = (m["volume"] / m["true_volume_in_box"] - 1.0) * 100.0
    strong = m["target"].isin(["IkBa", "GAPDH"]).to_numpy()
    assert np.abs(err[strong]).max() < 1.0
    assert abs(float(err[m["target"] == "p-IkBa"].iloc[0])) < 20.0
    f = _folds(m, "IkBa", "GAPDH", "veh", value="volume_total")["TNF_5"]
    true = _folds(m, "IkBa", "GAPDH", "veh", value="true_volume")["TNF_5"]
    assert f == pytest.approx(true, rel=0.03)
    assert true == pytest.approx(0.584819, rel=1e-5)  # the corpus's expected fold


def test_automatic_quantification_with_a_layout(tmp_path):
    """Simulated blot written with its layout: detected bands get their targets from the rows,
    a target a lane lacks gets a not_found row, and IκBα/GAPDH folds are within 3 % of truth."""
    from assaykit.simulate.blot import ikba_timecourse_spec, simulate_blot, write_blot

    sb = simulate_blot(ikba_timecourse_spec(), seed=3)
    paths = {k: str(v) for k, v in write_blot(sb, tmp_path).items()}
    tif = next(v for v in paths.values() if v.endswith(".tif"))
    layout = next(v for k, v in paths.items() if "layout" in k)
    res = blot.quantify(tif, layout=layout, background="lane_profile")
    b = res.bands
    validate_blot_bands(b)
    found = b[b["status"] != "not_found"]
    assert set(found["target"]) >= {"IkBa", "GAPDH", "p-IkBa"}
    missing = b[b["status"] == "not_found"]
    assert set(missing["target"]) == {"p-IkBa"} and missing["volume"].isna().all()
    truth = sb.truth.set_index(["lane", "target"])["true_volume"]
    m = found[found["target"].isin(["IkBa", "GAPDH"])].set_index(["lane", "target"])
    f = _folds(m.reset_index().assign(lane_label=lambda d: d["sample"]), "IkBa", "GAPDH", "veh",
               value="volume_total")
    t = _folds(truth.reset_index().merge(sb.truth[["lane", "target", "lane_label"]]), "IkBa", "GAPDH", "veh",
               value="true_volume")
    assert (np.abs(f / t[f.index] - 1.0) * 100.0).max() < 3.0


def test_boxes_from_toml_and_lanes_from_csv(tmp_path):
    sb, img, boxes = _simulated()
    toml = tmp_path / "boxes.toml"
    toml.write_text("".join(
        f'[[box]]\nlane = {r.lane}\ntarget = "{r.target}"\nx = {r.x}\ny = {r.y}\nw = {r.w}\nh = {r.h}\n\n'
        for r in boxes.itertuples()))
    a = blot.quantify(img, boxes=toml).bands
    b = blot.quantify(img, boxes=boxes).bands
    assert np.allclose(a["volume"], b["volume"])
    lanes = blot.find_lanes(img)
    p = tmp_path / "lanes.csv"
    lanes.to_csv(p, index=False)
    res = blot.quantify(img, lanes=p)
    assert (res.lanes["source"] == "given").all() and len(res.lanes) == len(lanes)
    (tmp_path / "empty.toml").write_text('title = "x"\n')
    with pytest.raises(AnalysisError, match=r"empty.toml: no boxes in the TOML file"):
        blot.quantify(img, boxes=tmp_path / "empty.toml")


def test_random_boxes_never_give_silent_nan():
    """Property: any box inside the image gives a finite volume and a valid status."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    from assaykit.schema import BLOT_BAND_STATUS
    from assaykit.simulate.blot import demo_spec, simulate_blot

    img = blot.BlotImage.from_array(simulate_blot(demo_spec(), seed=4).image, polarity="dark")
    h, w = img.shape

    @settings(max_examples=25, deadline=None)
    @given(st.lists(st.tuples(st.integers(0, w - 2), st.integers(0, h - 2), st.integers(1, 80), st.integers(1, 80),
                              st.integers(1, 3)), min_size=1, max_size=5),
           st.sampled_from(["rolling_ball", "lane_profile", "median_border", "none"]))
    def check(raw, method):
        boxes = pd.DataFrame([{"lane": lane, "target": f"t{i}", "x": x, "y": y, "w": min(bw, w - x), "h": min(bh, h - y)}
                              for i, (x, y, bw, bh, lane) in enumerate(raw)])
        b = blot.quantify(img, boxes=boxes, background=method).bands
        assert len(b) == len(boxes)
        assert np.isfinite(b["volume"]).all() and np.isfinite(b["background"]).all()
        assert b["status"].isin(list(BLOT_BAND_STATUS)).all()

    check()
