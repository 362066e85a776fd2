"""assaykit.blot.layout: reading blot layouts, joining them onto bands, and every error message."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assaykit.blot.layout import apply_layout, read_layout
from assaykit.errors import LayoutError
from assaykit.simulate.blot import (
    boxes_table,
    demo_spec,
    p65_fractions_spec,
    simulate_blot,
    write_blot,
)
from tests.fuzzing import FUZZ_SETTINGS

FULL = """
name = "rep1"

[blot]
loading = "GAPDH"
control = "veh"

[lane.1]
sample = "ladder"
role = "ladder"
[lane.2]
sample = "veh"
fraction = "cytoplasmic"
replicate = 1
[lane.3]
sample = "TNF"
fraction = "cytoplasmic"
replicate = 1

[[row]]
target = "p-IkBa"
y_min = 300
y_max = 340
[[row]]
target = "IkBa"
y = 352
[[row]]
target = "GAPDH"
kind = "loading"
y = 640
"""


def _write(tmp_path, text, name="layout.toml"):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_read_full_layout(tmp_path):
    lay = read_layout(_write(tmp_path, FULL))
    assert lay.blot == "rep1" and lay.settings == {"loading": "GAPDH", "control": "veh"}
    assert lay.lanes["lane"].tolist() == [1, 2, 3]
    assert lay.lanes["role"].tolist() == ["ladder", "sample", "sample"]
    assert lay.lanes.loc[1, "fraction"] == "cytoplasmic" and lay.lanes.loc[2, "replicate"] == 1
    assert lay.targets == ["p-IkBa", "IkBa", "GAPDH"]
    assert lay.rows.loc[2, "kind"] == "loading" and np.isnan(lay.rows.loc[0, "y"])


def test_compact_lanes_and_csv(tmp_path):
    lay = read_layout(
        _write(tmp_path, '[lanes]\nsamples = ["a", "b"]\nconditions = ["veh", "tnf"]\n')
    )
    assert lay.lanes[["lane", "sample", "condition"]].values.tolist() == [
        [1, "a", "veh"],
        [2, "b", "tnf"],
    ]
    csv = _write(
        tmp_path, "lane,sample,condition,amount_ug\n1,std,standard,20\n2,veh,veh,\n", "l.csv"
    )
    lay = read_layout(csv)
    assert lay.lanes["sample"].tolist() == ["std", "veh"] and lay.lanes.loc[0, "amount_ug"] == 20.0
    assert np.isnan(lay.lanes.loc[1, "amount_ug"])


@pytest.mark.parametrize(
    "text, match",
    [
        (
            "[lane.x]\nsample = 'a'\n",
            r"layout.toml, key lane.x: lane keys must be lane numbers \(expected \[lane.1\]",
        ),
        ("[lane.1]\ncondition = 'a'\n", r"key lane.1.sample: lane has no sample"),
        (
            "[lane.1]\nsample = 'a'\nvolume = 3\n",
            r"key lane.1.volume: layout field uses a reserved name",
        ),
        (
            "[lane.1]\nsample = 'a'\nrole = 'blank'\n",
            r"key lane.1.role: unknown lane role \(expected one of: sample, ladder",
        ),
        (
            "[lane.1]\nsample = 'a'\n[[row]]\nkind = 'target'\n",
            r"key row 1: a row of bands needs a target",
        ),
        (
            "[lane.1]\nsample = 'a'\n[[row]]\ntarget = 'X'\n[[row]]\ntarget = 'X'\n",
            r"target X: target named in two rows",
        ),
        (
            "[lane.1]\nsample = 'a'\n[[row]]\ntarget = 'X'\ny = 'top'\n",
            r"key row 1.y: row position must be a number",
        ),
        (
            "[lane.1]\nsample = 'a'\n[[row]]\ntarget = 'X'\nkind = 'odd'\n",
            r"key row 1.kind: unknown row kind",
        ),
        (
            "[lanes]\nsamples = ['a', 'b']\nroles = ['sample']\n",
            r"key lanes.roles: every list of \[lanes\] needs one value per lane",
        ),
        (
            "[plates]\nx = 1\n",
            r"key plates: unknown key in a blot layout \(expected one of: name, blot, lane",
        ),
        ("[lane.1\nsample = 'a'\n", r"layout.toml, line 1: invalid TOML"),
        ("", r"layout names no lanes"),
    ],
)
def test_layout_errors_name_file_and_key(tmp_path, text, match):
    with pytest.raises(LayoutError, match=match):
        read_layout(_write(tmp_path, text))


def test_missing_file_and_bad_csv(tmp_path):
    with pytest.raises(LayoutError, match="layout file not found"):
        read_layout(tmp_path / "nope.toml")
    with pytest.raises(
        LayoutError,
        match=r"line 1: layout CSV lacks columns \(expected a header with lane and sample",
    ):
        read_layout(_write(tmp_path, "position,name\n1,a\n", "x.csv"))
    with pytest.raises(LayoutError, match=r"line 3: lane must be a lane number"):
        read_layout(_write(tmp_path, "lane,sample\n1,a\nleft,b\n", "y.csv"))


def test_apply_layout_names_bands_by_position(tmp_path):
    blot = simulate_blot(demo_spec(), seed=1)
    paths = write_blot(blot, tmp_path)
    lay = read_layout(paths["layout"])
    bands = boxes_table(blot.truth).assign(
        target="", volume=blot.truth["true_volume"], image="demo.tif"
    )
    out = apply_layout(bands, lay)
    assert (out["target"].to_numpy() == blot.truth["target"].to_numpy()).all()
    assert (out["sample"].to_numpy() == blot.truth["sample"].to_numpy()).all()
    assert (out["blot"] == "demo_ikba").all()


def test_apply_layout_by_order_and_missing_targets(tmp_path):
    lay = read_layout(
        _write(
            tmp_path,
            '[lanes]\nsamples = ["veh", "tnf"]\n[[row]]\ntarget = "IkBa"\n[[row]]\ntarget = "GAPDH"\n',
        )
    )
    bands = pd.DataFrame({"lane": [1, 1, 2], "x": 0.0, "y": [50.0, 10.0, 12.0], "w": 5.0, "h": 4.0,
                          "volume": [3.0, 1.0, 2.0], "band": [1, 2, 1], "image": ""})  # fmt: skip
    out = apply_layout(bands, lay)
    # lane 1: two bands, ordered by position → IkBa (top), GAPDH; lane 2: one band, cannot tell → empty
    assert out.loc[out["lane"] == 1].sort_values("y")["target"].tolist() == ["IkBa", "GAPDH"]
    assert out.loc[(out["lane"] == 2) & out["volume"].notna(), "target"].tolist() == [""]
    nf = out.loc[out["status"] == "not_found"]
    assert (
        sorted(nf["target"]) == ["GAPDH", "IkBa"]
        and nf["volume"].isna().all()
        and (nf["lane"] == 2).all()
    )
    assert nf["band"].tolist() == [2, 3]


def test_apply_layout_unknown_lane(tmp_path):
    lay = read_layout(_write(tmp_path, '[lanes]\nsamples = ["veh"]\n'))
    bands = pd.DataFrame({"lane": [1, 2], "target": "X", "volume": 1.0, "image": ""})
    with pytest.raises(
        LayoutError,
        match=r"lane 2: a lane of the bands is not in the layout \(expected lanes \[1\]",
    ):
        apply_layout(bands, lay)
    out = apply_layout(bands, lay, how="left", add_missing=False)
    assert out["sample"].tolist() == ["veh", ""]


def test_simulated_fraction_layout_round_trip(tmp_path):
    blot = simulate_blot(p65_fractions_spec(), seed=1)
    lay = read_layout(write_blot(blot, tmp_path)["layout"])
    assert set(lay.lanes["fraction"]) == {"cytoplasmic", "nuclear"}
    assert lay.lanes["condition"].tolist()[:4] == ["veh", "TNF30", "drug+TNF30", "drug"]


def test_spurious_detected_bands_stay_unnamed(tmp_path):
    lay = read_layout(
        _write(
            tmp_path,
            '[lanes]\nsamples = ["veh"]\n[[row]]\ntarget = "IkBa"\ny = 80\n[[row]]\ntarget = "GAPDH"\ny = 155\n',
        )
    )
    # a faint artefact at the top, a box spanning the lane, and the two real bands
    bands = pd.DataFrame({"lane": 1, "x": 0.0, "y": [5.0, 0.0, 66.0, 139.0], "w": 36.0, "h": [30.0, 220.0, 30.0, 34.0],
                          "volume": [1.0, 2.0, 3.0, 4.0], "band": [1, 2, 3, 4], "image": ""})  # fmt: skip
    out = apply_layout(bands, lay)
    assert out["target"].tolist() == ["", "", "IkBa", "GAPDH"]


@FUZZ_SETTINGS
@given(text=st.text(max_size=200))
def test_any_text_is_a_layout_or_a_layout_error(tmp_path_factory, text):
    p = tmp_path_factory.mktemp("fuzz") / "l.toml"
    p.write_text('[lane.1]\nsample = "a"\n' + text, encoding="utf-8", errors="surrogatepass")
    try:
        read_layout(p)
    except LayoutError:
        pass
