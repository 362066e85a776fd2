"""Band tables of ImageJ, Image Lab and Image Studio (kind ``blot_bands``): import, normalise, fuzz."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from assaykit.blot.normalize import normalize
from assaykit.errors import AssaykitError, FormatDetectionError, ReaderError
from assaykit.io import Source
from assaykit.kinds import read
from assaykit.schema import BLOT_BANDS_COLUMNS
from assaykit.simulate.blot import (
    demo_spec,
    expected_ratios,
    simulate_blot,
    write_imagej_results,
    write_imagelab_csv,
    write_imagestudio_csv,
)
from tests.fuzzing import FUZZ_SETTINGS, mutated

WRITERS = {
    "imagej_results": write_imagej_results,
    "imagelab": write_imagelab_csv,
    "imagestudio": write_imagestudio_csv,
}


@pytest.fixture(scope="module")
def blot():
    return simulate_blot(demo_spec(), seed=1)


@pytest.mark.parametrize("fmt", sorted(WRITERS))
def test_twins_import_into_the_bands_schema_and_normalise(tmp_path, blot, fmt):
    path = WRITERS[fmt](blot.truth, tmp_path / f"{fmt}.csv")
    bands = read(path, "blot_bands")
    assert bands.attrs["format"] == fmt
    assert list(bands.columns[: len(BLOT_BANDS_COLUMNS)]) == list(BLOT_BANDS_COLUMNS)
    assert (bands["status"] == "imported").all() and (bands["method"] == fmt).all()
    t = blot.truth
    assert (
        bands["lane"].tolist() == t["lane"].tolist()
        and bands["target"].tolist() == t["target"].tolist()
    )
    assert np.allclose(
        bands["volume"], t["true_volume_in_box"], rtol=0, atol=0.51
    )  # exports round to 0.1 or 1
    res = normalize(
        bands.assign(sample=t["sample"].to_numpy()), loading="GAPDH", control="veh"
    ).normalized
    want = expected_ratios(t, [("IkBa", "GAPDH")], "veh").set_index("lane_label")
    got = res.set_index("sample")
    assert np.allclose(got["fold"], want.loc[got.index, "fold_in_box"], rtol=1e-6)


def test_imagej_box_and_background_columns(tmp_path, blot):
    bands = read(write_imagej_results(blot.truth, tmp_path / "r.csv"), "blot_bands")
    assert (
        bands[["x", "y", "w", "h"]].to_numpy().tolist()
        == blot.truth[["box_x", "box_y", "box_w", "box_h"]].to_numpy(float).tolist()
    )
    assert bands["params"].iloc[0] == "volume=RawIntDen"


def _src(text: str, name: str = "export.csv") -> Source:
    return Source(text.encode("utf-8"), name)


def test_imagelab_lane_table_with_title_lines_tabs_and_lane_words():
    text = "Experiment 12 pIkBa\n2026-01-02 exposure 30 s\nLane No.\tAdj. Total Band Vol. (Int)\tTotal Band Vol. (Int)\nLane 1\t2,908,950\t3781107\nLane 2\t1059916\t1769802\n"
    b = read(_src(text), "blot_bands")
    assert b.attrs["format"] == "imagelab"
    assert b["lane"].tolist() == [1, 2] and b["volume"].tolist() == [2908950.0, 1059916.0]
    assert b["background"].tolist() == [3781107.0 - 2908950.0, 1769802.0 - 1059916.0]
    assert b["params"].iloc[0] == "volume=Adj. Total Band Vol. (Int)"


def test_quantity_one_volume_table_in_od_units():
    text = ("No.,Label,Type,Volume (OD),Adj. Vol. (OD),Mean Bkgd. (OD),Abs. Quant.,Rel. Quant.,# of Pixels\n"
            "1,lane1_GAPDH,Unknown,12.5,10.25,0.01,N/A,N/A,225\n2,lane2_GAPDH,Unknown,11.0,9.5,0.01,N/A,N/A,225\n")  # fmt: skip
    b = read(_src(text), "blot_bands")
    assert b.attrs["format"] == "imagelab"
    assert b["lane"].tolist() == [1, 2] and b["target"].tolist() == ["GAPDH", "GAPDH"]
    assert b["volume"].tolist() == [10.25, 9.5]


def test_imagej_gel_analyzer_and_unlabelled_measure_tables():
    gel = read(
        _src(" \tArea\tPercent\n1\t8531.012\t41.2\n2\t12170.5\t58.8\n", "gel.xls"), "blot_bands"
    )
    assert gel["method"].tolist() == ["imagej_gel_analyzer"] * 2 and gel["lane"].tolist() == [1, 2]
    assert gel["target"].tolist() == ["", ""] and gel["volume"].tolist() == [8531.012, 12170.5]
    meas = read(
        _src(" ,Area,Mean,IntDen,RawIntDen\n1,100,5.5,550,550\n2,100,7,700,700\n"), "blot_bands"
    )
    assert meas["lane"].tolist() == [1, 2] and meas["volume"].tolist() == [550.0, 700.0]


def test_imagestudio_channel_names_the_target_of_two_colour_blots():
    text = "Name,Channel,Signal,Total,Bkgnd.,Area\n1,800,5000,6000,10,100\n1,700,300,1300,10,100\n2,800,4000,5000,10,100\n2,700,600,1600,10,100\n"
    b = read(_src(text), "blot_bands")
    assert b["target"].tolist() == ["800", "700", "800", "700"] and b["lane"].tolist() == [
        1,
        1,
        2,
        2,
    ]
    n = normalize(
        b.assign(sample=["veh", "veh", "tnf", "tnf"]), loading="700", control="veh"
    ).normalized
    assert n.set_index("sample").loc["tnf", "fold"] == pytest.approx((4000 / 600) / (5000 / 300))


@pytest.mark.parametrize(
    "text, match",
    [
        (
            " ,Label,Area,RawIntDen\n1,b:1-X,10,abc\n",
            r"line 2, column rawintden: not a number \(expected a number; found 'abc'\)",
        ),
        ("Lane,Band No.,Band Label,Adj. Volume (Int)\n", r"line 1: band table has no rows"),
        (
            "Lane,Band No.,Band Label,Adj. Volume (Int)\n0,1,X,5\n",
            r"line 2: lane numbers start at 1",
        ),
        (
            "Lane,Band No.,Band Label,Adj. Volume (Int)\n1,1,X,5\n1,1,Y,6\n",
            r"line 2, lane 1: band listed twice",
        ),
        ("Name,Signal,Total\n1-X,5,6,7,8\n", r"line 2: row has more fields than the header"),
        ("Lane,Adj. Volume (Int)\n1e999,5\n", r"line 2, column lane: not a lane or band number"),
    ],
)
def test_bad_tables_raise_reader_errors(text, match):
    with pytest.raises(ReaderError, match=match):
        read(_src(text), "blot_bands")


def test_unknown_content_is_not_detected():
    with pytest.raises(FormatDetectionError, match="not a recognised blot_bands export"):
        read(_src("well,value\nA1,3\n"), "blot_bands")


def _check(data: bytes, fmt: str | None = None) -> None:
    try:
        out = read(Source(data, "fuzz.csv"), "blot_bands", fmt)
    except AssaykitError:
        return
    assert isinstance(out, pd.DataFrame) and list(out.columns[: len(BLOT_BANDS_COLUMNS)]) == list(
        BLOT_BANDS_COLUMNS
    )


_SEEDS = {
    "imagej_results": b" ,Label,Area,Mean,BX,BY,Width,Height,IntDen,RawIntDen\n1,b.tif:1-IkBa,100,5,1,2,10,10,500,500\n2,b.tif:2-IkBa,100,6,20,2,10,10,600,600\n",
    "imagelab": b"Title\nLane,Band No.,Band Label,Adj. Volume (Int),Volume (Int)\n1,1,IkBa,1000,1200\n1,2,GAPDH,2000,2300\n2,1,IkBa,900,1100\n",
    "imagestudio": b"Name,Channel,Lane,Signal,Total,Bkgnd.,Area\n1-IkBa,800,1,5000,6000,10,100\n2-IkBa,800,2,4000,5000,10,100\n",
}


@pytest.mark.parametrize("fmt", sorted(_SEEDS))
@FUZZ_SETTINGS
@given(data=st.data())
def test_fuzzed_exports_raise_only_assaykit_errors(fmt, data):
    blob = data.draw(mutated(_SEEDS[fmt]))
    _check(blob)
    _check(blob, fmt)


@FUZZ_SETTINGS
@given(st.text(max_size=300))
def test_random_text_after_a_header_raises_only_assaykit_errors(body):
    for head in (
        "Name,Signal,Total\n",
        "Lane,Adj. Volume (Int)\n",
        " ,Area,RawIntDen\n",
        " \tArea\tPercent\n",
    ):
        _check((head + body).encode("utf-8", "surrogatepass"))
