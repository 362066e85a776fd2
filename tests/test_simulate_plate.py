"""assaykit.simulate: truth tables and simulated plate exports, round-tripped through the readers."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest

import assaykit
from assaykit.errors import SchemaError
from assaykit.simulate import PLATE_FORMATS, random_plate_truth, write_plate

HAS_GENERIC = importlib.util.find_spec("assaykit.io.plate.generic") is not None


def _written(v: float, decimals: int) -> float:
    """The value as written at ``decimals`` (what a reader must give back)."""
    return float(f"{v:.{decimals}f}")


def _round_trip(truth: pd.DataFrame, path, fmt: str, **kw) -> pd.DataFrame:
    p = write_plate(truth, path, fmt, **kw)
    df = assaykit.read_plate(p)
    assert df.attrs["format"] == fmt
    raw = df[df.metric.isin(["raw"])]
    assert len(raw) == len(truth), "every written well must be read back"
    m = truth.merge(
        raw, on=["plate", "well", "read"], how="left", suffixes=("_t", "_r"), validate="1:1"
    )
    dec = kw.get("decimals", PLATE_FORMATS[fmt])
    flagged = m.flag_t != ""
    assert (m.flag_r[flagged] == m.flag_t[flagged]).all()
    assert m.value_r[flagged].isna().all()
    ok = ~flagged
    want = np.array([_written(v, dec) for v in m.value_t[ok]])
    np.testing.assert_array_equal(m.value_r[ok].to_numpy(), want)
    assert (m.flag_r[ok] == "").all()
    return df


def test_random_truth_shape_and_determinism():
    t = random_plate_truth(
        96, ("abs_450", "fluo_485_528", "lum"), n_plates=2, seed=7, p_overflow=0.1
    )
    assert list(t.columns) == ["plate", "well", "read", "value", "flag"]
    assert len(t) == 2 * 3 * 96
    assert t.plate.unique().tolist() == ["1", "2"]
    assert t.value.dtype == float and t.flag.map(type).eq(str).all()
    assert (t.value.isna() == (t.flag != "")).all()
    od = t[(t.read == "abs_450") & (t.flag == "")].value
    assert od.between(0.04, 3.5).all()
    assert t.equals(
        random_plate_truth(96, ("abs_450", "fluo_485_528", "lum"), 2, seed=7, p_overflow=0.1)
    )
    assert len(random_plate_truth(384, seed=0)) == 384


@pytest.mark.parametrize(
    ("fmt", "reads", "n_wells", "n_plates", "kw"),
    [
        ("gen5", ("abs_450",), 96, 1, {}),
        ("gen5", ("abs_450", "abs_630", "fluo_485_528", "lum"), 384, 2, {}),
        ("gen5", ("alpha",), 96, 1, {"encoding": "utf-16", "newline": "\n"}),
        ("softmax", ("abs_450", "abs_650"), 96, 2, {"temperature_c": 23.4}),
        ("softmax", ("abs_562",), 384, 1, {"encoding": "utf-16"}),
        ("softmax", ("fluo_485_528", "fluo_360_460"), 96, 1, {"decimals": 1}),
        ("softmax", ("lum",), 96, 1, {"encoding": "cp1252"}),
    ],
)
def test_round_trip_instrument_formats(tmp_path, fmt, reads, n_wells, n_plates, kw):
    truth = random_plate_truth(n_wells, reads, n_plates, seed=11, p_overflow=0.03, p_missed=0.03)
    assert (truth.flag != "").any()
    df = _round_trip(truth, tmp_path / "export.txt", fmt, **kw)
    assert df.plate.unique().tolist() == truth.plate.unique().tolist()
    if fmt == "softmax" and "temperature_c" in kw:
        assert (df.temperature_c == 23.4).all()


@pytest.mark.skipif(
    not HAS_GENERIC, reason="generic grid reader (assaykit/io/plate/generic.py) not available"
)
@pytest.mark.parametrize("n_wells", [96, 384])
def test_round_trip_generic(tmp_path, n_wells):
    truth = random_plate_truth(
        n_wells, ("abs_450", "abs_630"), 1, seed=5, p_overflow=0.05, p_missed=0.05
    )
    _round_trip(truth, tmp_path / "grid.csv", "generic")


def test_generic_text_matches_the_spec(tmp_path):
    truth = random_plate_truth(96, ("abs_450", "lum"), seed=1)
    text = write_plate(truth, tmp_path / "g.csv", "generic").read_text()
    lines = text.split("\n")
    assert lines[0] == "abs_450," + ",".join(str(c) for c in range(1, 13))
    assert lines[1].startswith("A,") and len(lines[1].split(",")) == 13
    assert lines[8].startswith("H,") and lines[9] == ""
    assert lines[10].startswith("lum,1,2,")
    assert text.endswith("\n") and "\r" not in text


def test_gen5_and_softmax_text_look_like_the_instruments(tmp_path):
    t = random_plate_truth(96, ("abs_450",), seed=2, p_overflow=0.2, p_missed=0.2)
    g = write_plate(t, tmp_path / "g.txt", "gen5").read_bytes()
    assert b"\r\n" in g and b"Software Version\t3.12.08" in g and b"OVRFLW" in g and b"MISSED" in g
    assert b"\tAbsorbance:450\r\n" in g
    s = write_plate(t, tmp_path / "s.txt", "softmax", encoding="utf-16").read_bytes()
    assert s[:2] == b"\xff\xfe"
    text = s.decode("utf-16")
    assert text.startswith("##BLOCKS= 1\r\nPlate:\t1\t1.3\tPlateFormat\tEndpoint\tAbsorbance")
    assert "Range?" in text and "\tNaN" in text and "~End" in text


def test_missing_wells_and_nan_values_are_written_empty(tmp_path):
    t = random_plate_truth(96, ("abs_450",), seed=3)
    t.loc[0, "value"] = np.nan  # A1: NaN without flag
    t = t[t.well != "B2"]  # B2 not in the truth at all
    for fmt in ("gen5", "softmax"):
        df = assaykit.read_plate(write_plate(t, tmp_path / f"{fmt}.txt", fmt))
        assert len(df) == 96
        for w in ("A1", "B2"):
            row = df[df.well == w].iloc[0]
            assert row.flag == "empty" and math.isnan(row.value)


def test_errors(tmp_path):
    t = random_plate_truth(96, ("abs_450",), n_plates=2, seed=0)
    with pytest.raises(SchemaError, match="generic grid format holds a single plate"):
        write_plate(t, tmp_path / "x.csv", "generic")
    with pytest.raises(SchemaError, match="unknown export format"):
        write_plate(t, tmp_path / "x.csv", "xlsx")
    with pytest.raises(SchemaError, match="truth table misses columns"):
        write_plate(t.drop(columns="value"), tmp_path / "x.txt", "gen5")
    with pytest.raises(SchemaError, match="truth table is empty"):
        write_plate(t.iloc[:0], tmp_path / "x.txt", "gen5")
    bad = t.assign(flag="saturated")
    with pytest.raises(SchemaError, match="unsupported flag in truth"):
        write_plate(bad, tmp_path / "x.txt", "gen5")
    with pytest.raises(SchemaError, match="truth has a well twice"):
        write_plate(pd.concat([t, t.iloc[:1]]), tmp_path / "x.txt", "gen5")
    with pytest.raises(SchemaError, match="truth 'value' must be numeric"):
        write_plate(t.assign(value="x"), tmp_path / "x.txt", "gen5")
    with pytest.raises(SchemaError, match="read cannot be written as an instrument export"):
        write_plate(t.assign(read="od"), tmp_path / "x.txt", "gen5")
    mixed = random_plate_truth(96, ("abs_450", "lum"), seed=0)
    with pytest.raises(SchemaError, match="one measurement mode"):
        write_plate(mixed, tmp_path / "x.txt", "softmax")
    with pytest.raises(SchemaError, match="well outside the plate"):
        write_plate(random_plate_truth(384, seed=0), tmp_path / "x.txt", "gen5", n_wells=96)
    with pytest.raises(SchemaError, match="decimals must be >= 0"):
        write_plate(t, tmp_path / "x.txt", "gen5", decimals=-1)
    with pytest.raises(SchemaError, match="truth must be a DataFrame"):
        write_plate([1, 2], tmp_path / "x.txt", "gen5")
    one = random_plate_truth(96, ("abs,450",), seed=0)
    with pytest.raises(SchemaError, match="read name not writable in a CSV grid"):
        write_plate(one, tmp_path / "x.csv", "generic")
    with pytest.raises(SchemaError, match="plate name not writable"):
        write_plate(random_plate_truth(96, seed=0).assign(plate=" "), tmp_path / "x.txt", "softmax")
    with pytest.raises(SchemaError, match="plate name not writable"):
        write_plate(random_plate_truth(96, seed=0).assign(plate="a\tb"), tmp_path / "x.txt", "gen5")
    with pytest.raises(SchemaError, match="unknown plate size"):
        random_plate_truth(100)
    with pytest.raises(SchemaError, match="non-empty list of distinct names"):
        random_plate_truth(96, ())
    with pytest.raises(SchemaError, match="n_plates must be at least 1"):
        random_plate_truth(96, n_plates=0)
    with pytest.raises(SchemaError, match="p_overflow must be a probability"):
        random_plate_truth(96, p_overflow=1.5)
