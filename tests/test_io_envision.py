"""Tests of the PerkinElmer EnVision CSV reader."""

from __future__ import annotations

import math

import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given

from assaykit.errors import ReaderError
from assaykit.io import Source, read_plate
from assaykit.io.plate.envision import label_read

ENV = ("plate_reader", "perkinelmer_envision")
ABS = "PE_Envision_absorbance_A450_example.csv"
LUM = "PE_Envision_luminescence_example01.csv"




def plate_block(plate="1", repeat="1", label="A450(1) - channel 1 (A)", value="0.5", rows="ABCDEFGH"):
    info = (
        "Plate information\n"
        "Plate,Repeat,Barcode,Measured height,Group,Label,Measinfo,Kinetics,Measurement date,\n"
        f"{plate},{repeat},=\"\",14.35,1,A450(1),De=1st Ex=Btm,0,1/15/2024 10:30:00 AM,\n\n"
        "Background information\nPlate,Label,Result,Signal,Flashes/Time,Meastime,MeasInfo,\n"
        f"{plate},A450,0,295000,300,00:00:00.000,De=1st,\n\n"
    )
    grid = f"Results for {label}\n,01,02,03,04,05,06,07,08,09,10,11,12,\n"
    grid += "".join(f"{r}," + ",".join([value] * 12) + ",\n" for r in rows)
    return info + grid + "\n"


@pytest.mark.parametrize(
    "label, measinfo, read",
    [
        ("A450", "", "abs_450"),
        ("A 405", "", "abs_405"),
        ("Absorbance 600", "", "abs_600"),
        ("0_1 US LUM 384", "", "lum"),
        ("Luminescence", "", "lum"),
        ("Emission", "De=USLum Ex=N/A", "lum"),
        ("Fluorescein 485/535", "", "fluo_485_535"),
        ("AlphaScreen", "", "alphascreen"),
    ],
)
def test_label_read(label, measinfo, read):
    assert label_read(label, measinfo) == read


# (format, rows, whole columns and spot values of each file: test_io_formats_table.py)
def test_luminescence_384_partial_rows_and_calculated(corpus):
    df = read_plate(corpus("plate_reader", "perkinelmer_envision", LUM))
    assert df["col"].max() == 24


def test_repeats_channels_and_flags():
    text = plate_block("1", "1") + plate_block("1", "2", value="0.7")
    text += plate_block("1", "1", label="Europium 615(1) - channel 1 (cps)", value="")
    text += plate_block("1", "1", label="Europium 615(1) - channel 2 (cps)", value="OVER")
    df = read_plate(Source(text.encode(), "rep.csv"))
    assert sorted(df["read"].unique()) == ["abs_450", "abs_450@repeat2", "europium_615_ch1", "europium_615_ch2"]
    t = df.set_index(["read", "well"])
    assert t.loc[("abs_450@repeat2", "B2"), "value"] == 0.7
    assert t.loc[("europium_615_ch1", "B2"), "flag"] == "empty"
    assert t.loc[("europium_615_ch2", "B2"), "flag"] == "overflow"
    assert math.isnan(t.loc[("europium_615_ch2", "B2"), "value"])


def test_error_duplicate_block():
    text = plate_block("1") + plate_block("1")
    with pytest.raises(ReaderError, match="appears twice") as info:
        read_plate(Source(text.encode(), "dup.csv"))
    e = info.value
    assert "dup.csv" in str(e) and e.location["line"] == 28 and "plate 1" in str(e)


def test_error_no_results_and_broken_grid():
    text = plate_block().split("Results for")[0]
    with pytest.raises(ReaderError, match="no results block found") as info:
        read_plate(Source(text.encode(), "nores.csv"))
    assert "nores.csv" in str(info.value)
    text = plate_block(rows="ABCDEFGHH")
    with pytest.raises(ReaderError, match="duplicate plate row") as info:
        read_plate(Source(text.encode(), "duprow.csv"))
    assert info.value.location["line"] == 19


def test_utf16_export(corpus):
    data = corpus("plate_reader", "perkinelmer_envision", ABS).read_bytes()
    df = read_plate(Source(data.decode("utf-8").encode("utf-16"), "abs16.csv"))
    assert len(df) == 192 and df.set_index(["plate", "well"]).loc[("2", "A4"), "value"] == 2.0


def _fuzz_file(data: bytes, name: str) -> None:
    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(blob):
        check_reader_contract(blob, name)

    run()


def test_fuzz_absorbance(corpus):
    _fuzz_file(corpus(*ENV, ABS).read_bytes(), "abs.csv")


def test_fuzz_luminescence(corpus):
    _fuzz_file(corpus(*ENV, LUM).read_bytes(), "lum.csv")
