"""Molecular Devices SoftMax Pro text exports (format 'softmax')."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given

from assaykit.errors import ReaderError
from assaykit.io import Source, read_plate
from assaykit.io.plate.softmax import parse_softmax_value

SMP = ("plate_reader", "softmax_pro")
ELISA = "softmaxpro_elisa_groups_RangeQ.txt"
REDUCED = "softmaxpro_example_reduced_spike_recovery.txt"
UTF16 = "MD_SMP_absorbance_endpoint_example01.txt"


def _val(df, plate, well, read, metric="raw"):
    sel = df[(df.plate == plate) & (df.well == well) & (df.read == read) & (df.metric == metric)]
    assert len(sel) == 1, (plate, well, read, metric)
    return sel.iloc[0]


def _src(text: str, name: str = "s.txt") -> Source:
    return Source(data=text.encode(), name=name)


# ----------------------------------------------------------------- corpus files
# (format, rows, whole columns and spot values of each file: test_io_formats_table.py)
def test_elisa_dual_wavelength_side_by_side(corpus):
    df = read_plate(corpus(*SMP, ELISA))
    # the Group tables (with 'Range?' back-calculations) are skipped, not read as wells
    assert df.well.nunique() == 96


def test_reduced_time_format(corpus):
    df = read_plate(corpus(*SMP, REDUCED))
    assert df.temperature_c.isna().all()


def test_utf16_two_plates_raw_and_reduced(corpus):
    path = corpus(*SMP, UTF16)
    assert path.read_bytes()[:2] == b"\xff\xfe"
    df = read_plate(path)
    assert len(df) == 4 * 96
    assert df.plate.unique().tolist() == ["Plate01", "Plate02"]
    assert df.groupby(["plate", "metric"]).size().tolist() == [96, 96, 96, 96]
    a1 = _val(df, "Plate01", "A1", "abs_450")
    assert a1.value == 3.41797666666667 and a1.raw == "3.41797666666667"
    assert _val(df, "Plate01", "A1", "abs_450", "reduced").value == 3.4179766666666667
    assert _val(df, "Plate01", "H2", "abs_450").value == -0.000243333333333333
    assert _val(df, "Plate02", "H12", "abs_450").value == 1.79018796133333
    assert _val(df, "Plate02", "A4", "abs_450", "reduced").value == 0.69885662733333331
    # 'NaN' in the temperature cell is the temperature, not a well
    assert df.temperature_c.isna().all() and (df.flag == "").all()


def test_every_well_present(corpus):
    for name, n in ((ELISA, 2), (REDUCED, 1), (UTF16, 4)):
        counts = read_plate(corpus(*SMP, name)).groupby("well").size()
        assert len(counts) == 96 and (counts == n).all()


# ----------------------------------------------------------------- synthetic
def _plate_block(
    name="P1",
    wl="450",
    n_wl=1,
    rows=8,
    cols=12,
    fill="0.1",
    size=96,
    fmt="PlateFormat",
    dtype="Raw",
):
    hdr = [
        "Plate:",
        name,
        "1.3",
        fmt,
        "Endpoint",
        "Absorbance",
        dtype,
        "FALSE",
        "1",
        "",
        "",
        "",
        "",
        "",
    ]
    hdr += [str(n_wl), wl + " ", "1", str(cols), str(size), "1", str(rows)]
    colnums = "\t".join(str(c) for c in range(1, cols + 1))
    out = ["\t".join(hdr), "\tTemperature(\u00a1C)\t" + "\t\t".join([colnums] * n_wl) + "\t"]
    for r in range(rows):
        temp = "22.5" if r == 0 else ""
        out.append("\t" + temp + "\t" + "\t\t".join(["\t".join([fill] * cols)] * n_wl) + "\t")
    return "\n".join(out + ["", "~End"]) + "\n"


def test_384_well_plate_and_partial_columns():
    text = "##BLOCKS= 1\n" + _plate_block(rows=16, cols=24, size=384)
    df = read_plate(_src(text))
    assert len(df) == 384 and df.well.iloc[-1] == "P24"
    assert (df.temperature_c == 22.5).all()
    # reduced plate: only columns 1..6 exported -> wells of columns 7..12 are absent
    hdr = ["Plate:", "P1", "1.3", "PlateFormat", "Endpoint", "Absorbance", "Raw", "FALSE", "1"]
    hdr += [""] * 5 + ["1", "450 ", "1", "6", "96", "1", "8"]
    lines = ["##BLOCKS= 1", "\t".join(hdr), "\tTemperature(C)\t1\t2\t3\t4\t5\t6\t"]
    lines += ["\t\t" + "\t".join(["0.2"] * 6) + "\t"] * 8 + ["", "~End"]
    df = read_plate(_src("\n".join(lines) + "\n"))
    assert len(df) == 48 and df.col.max() == 6


def test_flags_in_plate_grid():
    block = _plate_block()
    lines = block.split("\n")
    cells = lines[2].split("\t")
    cells[2:6] = ["Range?", "NaN", "", "abc"]
    lines[2] = "\t".join(cells)
    df = read_plate(_src("##BLOCKS= 1\n" + "\n".join(lines)))
    assert len(df) == 96
    got = {w: _val(df, "P1", w, "abs_450").flag for w in ("A1", "A2", "A3", "A4", "A5")}
    assert got == {"A1": "overflow", "A2": "missed", "A3": "empty", "A4": "not_numeric", "A5": ""}
    assert math.isnan(_val(df, "P1", "A1", "abs_450").value)


def test_parse_value():
    assert parse_softmax_value("0.5") == (0.5, "")
    assert parse_softmax_value("Range?", reduced=True)[1] == "invalid"
    assert parse_softmax_value("Range?")[1] == "overflow"
    assert parse_softmax_value("inf")[1] == "not_numeric"


def test_groups_and_notes_are_skipped():
    group = "Group: Standards\nSample\tWells\tValues\n01\tA1\tRange?\n\nGroup Summaries\n~End\n"
    note = "Note:\nsome text\n~End\n"
    df = read_plate(_src("##BLOCKS= 3\n" + note + _plate_block() + group))
    assert len(df) == 96 and (df.flag == "").all()


# ----------------------------------------------------------------- errors
def test_error_empty_file():
    with pytest.raises(ReaderError, match="file is empty"):
        read_plate(_src("   \n"), format="softmax")


def test_error_not_softmax():
    with pytest.raises(ReaderError, match="not a SoftMax Pro export"):
        read_plate(_src("hello\n"), format="softmax")


def test_error_no_plate_block():
    with pytest.raises(ReaderError, match="no Plate: block found"):
        read_plate(_src("##BLOCKS= 1\nNote:\n~End\n"))


def test_error_truncated_grid():
    lines = _plate_block().split("\n")
    del lines[7:9]
    with pytest.raises(ReaderError, match="plate grid is truncated") as e:
        read_plate(_src("##BLOCKS= 1\n" + "\n".join(lines)))
    assert "expected 8 rows; found 6 rows" in str(e.value)


def test_error_truncated_file():
    text = "##BLOCKS= 1\n" + _plate_block()
    with pytest.raises(ReaderError, match="not closed"):
        read_plate(_src(text[: text.index("~End")]))


def test_error_grid_with_missing_column():
    lines = _plate_block().split("\n")
    lines[4] = "\t".join(lines[4].split("\t")[:-3])
    with pytest.raises(ReaderError, match="misses a column") as e:
        read_plate(_src("##BLOCKS= 1\n" + "\n".join(lines)))
    assert "line 6" in str(e.value) and "plate P1" in str(e.value)


def test_error_header_problems():
    with pytest.raises(ReaderError, match="only endpoint reads"):
        read_plate(_src("##BLOCKS= 1\n" + _plate_block().replace("Endpoint", "Kinetic")))
    kinetic = _plate_block().replace("\tRaw\tFALSE\t1\t", "\tRaw\tFALSE\t5\t")
    with pytest.raises(ReaderError, match="only endpoint reads are supported") as e:
        read_plate(_src("##BLOCKS= 1\n" + kinetic))
    assert "5 kinetic reads" in str(e.value)
    with pytest.raises(ReaderError, match="wavelength list does not match"):
        read_plate(_src("##BLOCKS= 1\n" + _plate_block(n_wl=2)))
    with pytest.raises(ReaderError, match="number of side-by-side grids"):
        read_plate(_src("##BLOCKS= 1\n" + _plate_block().replace("\t1\t450 \t", "\t2\t450 650 \t")))
    with pytest.raises(ReaderError, match="unknown plate size"):
        read_plate(_src("##BLOCKS= 1\n" + _plate_block(size=97)))
    with pytest.raises(ReaderError, match="bad number of wells"):
        read_plate(_src("##BLOCKS= 1\n" + _plate_block().replace("\t96\t", "\tx\t")))
    with pytest.raises(ReaderError, match="unsupported read mode"):
        read_plate(_src("##BLOCKS= 1\n" + _plate_block().replace("Absorbance", "Imaging")))
    with pytest.raises(ReaderError, match="unknown data type"):
        read_plate(_src("##BLOCKS= 1\n" + _plate_block(dtype="Odd")))
    with pytest.raises(ReaderError, match="unknown export format"):
        read_plate(_src("##BLOCKS= 1\n" + _plate_block(fmt="ListFormat")))
    with pytest.raises(ReaderError, match="bad column header in a plate grid"):
        read_plate(_src("##BLOCKS= 1\n" + _plate_block().replace("\t11\t12\t", "\t11\t13\t", 1)))
    with pytest.raises(ReaderError, match="plate name repeated"):
        read_plate(_src("##BLOCKS= 2\n" + _plate_block() + _plate_block()))
    with pytest.raises(ReaderError, match="too many rows"):
        read_plate(_src("##BLOCKS= 1\n" + _plate_block(rows=9)))


def test_error_fluorescence_and_time_format():
    hdr = [
        "Plate:",
        "F",
        "1.3",
        "PlateFormat",
        "Endpoint",
        "Fluorescence",
        "FALSE",
        "Raw",
        "FALSE",
        "1",
    ]
    hdr += [""] * 5 + [
        "1",
        "528 ",
        "1",
        "12",
        "96",
        "485 530",
        "",
        "",
        "",
        "",
        "6",
        "",
        "",
        "",
        "1",
        "8",
    ]
    with pytest.raises(ReaderError, match="excitation wavelengths do not match"):
        read_plate(_src("##BLOCKS= 1\n" + "\t".join(hdr) + "\n\t\t1\n~End\n"))
    wells = "\t".join(f"{r}{c}" for r in "ABCDEFGH" for c in range(1, 13))
    hdr_t = ["Plate:", "T", "1.3", "TimeFormat", "Endpoint", "Absorbance", "Reduced", "FALSE", "1"]
    hdr_t += [""] * 5 + ["1", "450 ", "1", "12", "96", "1", "8"]
    good = (
        "##BLOCKS= 1\n"
        + "\t".join(hdr_t)
        + "\n\t\t"
        + wells
        + "\n\t\t"
        + "\t".join(["0.3"] * 96)
        + "\n~End\n"
    )
    assert len(read_plate(_src(good))) == 96
    with pytest.raises(ReaderError, match="TimeFormat line misses values"):
        read_plate(_src(good.replace("\t0.3\n", "\n")))
    with pytest.raises(ReaderError, match="well outside the plate"):
        read_plate(_src(good.replace("\tH12", "\tH13")))
    with pytest.raises(ReaderError, match="values before the well header"):
        read_plate(_src(good.replace("\t\t" + wells + "\n", "")))
    with pytest.raises(ReaderError, match="one line of reduced values"):
        read_plate(
            _src(good.replace("\t\t" + wells + "\n\t\t" + "\t".join(["0.3"] * 96), "\t\t" + wells))
        )
    raw = good.replace("Reduced", "Raw")
    raw2 = raw.replace("\n~End", "\n\t\t" + "\t".join(["0.3"] * 96) + "\n~End")
    with pytest.raises(ReaderError, match="one line per wavelength"):
        read_plate(_src(raw2))
    bad = good.replace("\tA2\t", "\tZ9x\t")
    with pytest.raises(ReaderError, match="bad well name in a TimeFormat header"):
        read_plate(_src(bad))


def test_error_unexpected_lines_and_repeated_well():
    block = _plate_block()
    reduced = "\t\t" + "\t".join(str(c) for c in range(1, 13)) + "\n"
    reduced += ("\t\t" + "\t".join(["0.1"] * 12) + "\n") * 8
    ok = read_plate(_src("##BLOCKS= 1\n" + block.replace("\n~End", "\n" + reduced + "~End")))
    assert ok.groupby("metric").size().to_dict() == {"raw": 96, "reduced": 96}
    extra = block.replace("\n~End", "\n" + reduced + "\nstray\n~End")
    with pytest.raises(ReaderError, match="unexpected lines after the plate grids"):
        read_plate(_src("##BLOCKS= 1\n" + extra))
    rep = block.replace("Temperature(\u00a1C)\t1\t2", "Temperature(\u00a1C)\t1\t1")
    with pytest.raises(ReaderError, match="well repeated"):
        read_plate(_src("##BLOCKS= 1\n" + rep))
    with pytest.raises(ReaderError, match="Plate block has no grid"):
        read_plate(_src("##BLOCKS= 1\n" + block.split("\n")[0] + "\n\n~End\n"))


# ----------------------------------------------------------------- fuzzing
@pytest.mark.parametrize("name", [ELISA, REDUCED, UTF16])
def test_fuzz_softmax(name, corpus):
    data = corpus(*SMP, name).read_bytes()

    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(mut):
        df = check_reader_contract(mut, name, format="softmax")
        if df is not None:
            assert np.all(np.isnan(df["value"]) == (df["flag"] != ""))

    run()
