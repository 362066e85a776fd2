"""BioTek / Agilent Gen5 text exports (format 'gen5')."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given

from assaykit.errors import FormatDetectionError, ReaderError
from assaykit.io import Source, read_plate
from assaykit.io.plate.gen5 import classify_data_set, parse_gen5_value

GEN5 = ("plate_reader", "biotek_gen5")
OVRFLW = "abs450_96well_non_numeric_values_OVRFLW.txt"
BCA = "endpoint_stdcurve_singleplate.txt"
ALPHA = "alphalisa_endpoint_singleplate_4PL.txt"


def _val(df, well, read, metric="raw", plate="Plate 1"):
    sel = df[(df.plate == plate) & (df.well == well) & (df.read == read) & (df.metric == metric)]
    assert len(sel) == 1, (well, read, metric)
    return sel.iloc[0]


def _src(text: str, name: str = "t.txt") -> Source:
    return Source(data=text.encode(), name=name)


# ----------------------------------------------------------------- corpus files
# (format, rows, whole columns and spot values of each file: test_io_formats_table.py)
def test_overflow_missed_file(corpus):
    df = read_plate(corpus(*GEN5, OVRFLW))
    assert (df.flag == "overflow").sum() == 8
    assert (df.flag == "missed").sum() == 5
    # no layout block: extra columns present but empty
    assert (df.sample_label == "").all() and df.std_conc.isna().all()


def test_bca_file_three_data_sets_and_layout(corpus):
    df = read_plate(corpus(*GEN5, BCA))
    # the StdCurve fit results are not data: nothing beyond the 96 wells
    assert df.well.nunique() == 96


def test_alphalisa_file_flags_and_transforms(corpus):
    df = read_plate(corpus(*GEN5, ALPHA))
    assert (df.flag == "out_of_range_high").sum() == 3
    assert (df.flag == "invalid").sum() == 156


def test_every_well_and_data_set_present(corpus):
    for name, n_sets in ((OVRFLW, 1), (BCA, 3), (ALPHA, 4)):
        df = read_plate(corpus(*GEN5, name))
        counts = df.groupby("well").size()
        assert len(counts) == 96 and (counts == n_sets).all()


def test_crlf_lf_and_utf16_give_the_same_table(corpus):
    data = corpus(*GEN5, OVRFLW).read_bytes()
    a = read_plate(Source(data=data, name="x.txt"))
    b = read_plate(Source(data=data.replace(b"\r\n", b"\n"), name="x.txt"))
    c = read_plate(Source(data=data.decode().encode("utf-16"), name="x.txt"))
    for other in (b, c):
        assert a["value"].equals(other["value"]) and a["flag"].equals(other["flag"])


# ----------------------------------------------------------------- unit level
def test_parse_value_tokens():
    assert parse_gen5_value("1.5") == (1.5, "")
    for text, flag in (
        ("OVRFLW", "overflow"),
        ("MISSED", "missed"),
        ("?????", "invalid"),
        ("", "empty"),
        ("abc", "not_numeric"),
        ("nan", "not_numeric"),
        ("inf", "not_numeric"),
    ):
        v, f = parse_gen5_value(text)
        assert math.isnan(v) and f == flag, text
    # curve-range bounds keep the bound as the value, flagged
    assert parse_gen5_value(">3141492.000") == (3141492.0, "out_of_range_high")
    assert parse_gen5_value("< 0.1") == (0.1, "out_of_range_low")
    v, f = parse_gen5_value(">abc")
    assert math.isnan(v) and f == "out_of_range_high"


def test_classify_data_sets():
    steps = {
        "630nmAbsRead": "abs",
        "Read 1": "fluo",
        "Filter Lum": "lum",
        "Alpha Endpoint": "alpha",
    }
    assert classify_data_set("630nmAbsRead:630", steps) == ("abs_630", "raw")
    assert classify_data_set("Blank 630nmAbsRead:630", steps) == ("abs_630", "blank_corrected")
    assert classify_data_set("Read 1:485/20,528/20", steps) == ("fluo_485_528", "raw")
    assert classify_data_set("Filter Lum:460/40", steps) == ("lum_460", "raw")
    assert classify_data_set("Luminescence:Lum", {"Luminescence": "lum"}) == ("lum", "raw")
    assert classify_data_set("[Concentration]", steps) == ("", "instrument_conc")
    assert classify_data_set("Log Alpha", steps, {"Alpha"}) == ("alpha", "log")
    assert classify_data_set("normDAPI", steps) == ("normdapi", "calculated")


HEAD = (
    "Software Version\t3.12.08\n\nPlate Number\tPlate 1\n\nProcedure Details\n\n"
    "Plate Type\t96 WELL PLATE (Use plate lid)\nRead\tR\n\tAbsorbance Endpoint\n\tFull Plate\n"
    "\tWavelengths:  450\n\n"
)
COLS = "\t" + "\t".join(str(c) for c in range(1, 13)) + "\n"


def _grid(rows="ABCDEFGH", value="0.1", label="R:450", n=12):
    return "".join(f"{r}\t" + "\t".join([value] * n) + f"\t{label}\n" for r in rows)


def test_minimal_export_and_multi_plate():
    text = HEAD + "Results\n" + COLS + _grid()
    df = read_plate(_src(text))
    assert len(df) == 96 and set(df.read) == {"abs_450"}
    second = text.replace("Plate 1", "Plate 2").replace("0.1", "0.2")
    df2 = read_plate(_src(text + "\n\n" + second))
    assert df2.plate.unique().tolist() == ["Plate 1", "Plate 2"]
    assert _val(df2, "C3", "abs_450", plate="Plate 2").value == 0.2
    assert len(df2) == 192


def test_text_in_numeric_cell_is_flagged_not_an_error():
    text = (
        HEAD
        + "Results\n"
        + COLS
        + _grid("ABCDEFG")
        + "H\t"
        + "\t".join(["0.1"] * 11 + ["oops"])
        + "\tR:450\n"
    )
    df = read_plate(_src(text))
    h12 = _val(df, "H12", "abs_450")
    assert math.isnan(h12.value) and h12.flag == "not_numeric" and h12.raw == "oops"


def test_partial_plate_without_full_plate_is_accepted():
    text = HEAD.replace("\tFull Plate\n", "") + "Results\n" + "\t1\t2\t3\n" + _grid("AB", n=3)
    df = read_plate(_src(text))
    assert sorted(df.well) == sorted(["A1", "A2", "A3", "B1", "B2", "B3"])


def test_empty_cell_gives_flag_empty():
    text = (
        HEAD
        + "Results\n"
        + COLS
        + _grid("ABCDEFG")
        + "H\t"
        + "\t".join(["0.1"] * 11 + [""])
        + "\tR:450\n"
    )
    h12 = _val(read_plate(_src(text)), "H12", "abs_450")
    assert h12.flag == "empty" and math.isnan(h12.value)


# ----------------------------------------------------------------- errors
def test_error_empty_file():
    with pytest.raises(ReaderError, match="file is empty"):
        read_plate(_src(""), format="gen5")


def test_error_not_detected():
    with pytest.raises(FormatDetectionError, match="not a recognised plate export"):
        read_plate(_src("hello\tworld\n"))


def test_error_no_results():
    with pytest.raises(ReaderError, match="no Results block found") as e:
        read_plate(_src(HEAD))
    assert "t.txt" in str(e.value)


def test_error_truncated_grid_rows():
    text = HEAD + "Results\n" + COLS + _grid("ABCDE")
    with pytest.raises(ReaderError, match="does not cover the full plate") as e:
        read_plate(_src(text))
    assert "5 rows x 12 columns" in str(e.value) and "8 rows x 12 columns" in str(e.value)


def test_error_grid_row_misses_a_column():
    text = (
        HEAD
        + "Results\n"
        + COLS
        + _grid("ABC")
        + "D\t"
        + "\t".join(["0.1"] * 10)
        + "\n"
        + _grid("EFGH")
    )
    with pytest.raises(ReaderError, match="truncated or misses a column") as e:
        read_plate(_src(text))
    assert "line 18" in str(e.value) and "found 10" in str(e.value)


def test_error_data_set_missing_in_a_row():
    two = "".join(
        f"{r}\t"
        + "\t".join(["0.1"] * 12)
        + "\tR:450\n\t"
        + "\t".join(["0.2"] * 12)
        + "\tBlank R:450\n"
        for r in "ABCDEFGH"
    )
    broken = two.replace("\t" + "\t".join(["0.2"] * 12) + "\tBlank R:450\n", "", 1)
    with pytest.raises(ReaderError, match="does not carry every data set"):
        read_plate(_src(HEAD + "Results\n" + COLS + broken))


def test_error_extra_cells():
    text = HEAD + "Results\n" + COLS + _grid("ABCDEFGH", label="R:450\t9\t9")
    with pytest.raises(ReaderError, match="more cells than the column header"):
        read_plate(_src(text))


def test_error_repeated_row():
    text = (
        HEAD.replace("\tFull Plate\n", "")
        + "Results\n"
        + COLS
        + _grid("AB")
        + _grid("A", value="0.3")
    )
    with pytest.raises(ReaderError, match="does not carry every data set|value repeated"):
        read_plate(_src(text))


def test_error_missing_label():
    text = HEAD + "Results\n" + COLS + _grid(label="")
    with pytest.raises(ReaderError, match="data-set name missing"):
        read_plate(_src(text))


def test_error_bad_column_header():
    with pytest.raises(ReaderError, match="bad column header of the Results block"):
        read_plate(_src(HEAD + "Results\n\t1\t2\tx\n" + _grid()))
    with pytest.raises(ReaderError, match="not consecutive"):
        read_plate(_src(HEAD + "Results\n\t1\t3\n" + _grid(n=2)))
    with pytest.raises(ReaderError, match="Results block is truncated"):
        read_plate(_src(HEAD + "Results\n"))
    with pytest.raises(ReaderError, match="Results block has no rows"):
        read_plate(_src(HEAD + "Results\n" + COLS + "\nStdCurve\n"))


def test_error_kinetic_not_supported():
    text = HEAD.replace("Absorbance Endpoint", "Absorbance Kinetic") + "Results\n" + COLS + _grid()
    with pytest.raises(ReaderError, match="only endpoint reads are supported"):
        read_plate(_src(text))
    text = (
        HEAD.replace("Read\tR", "Start Kinetic\tRuntime 0:10:00\nRead\tR")
        + "Results\n"
        + COLS
        + _grid()
    )
    with pytest.raises(ReaderError, match="only endpoint reads are supported"):
        read_plate(_src(text))


def test_error_layout_conc_not_numeric():
    layout = (
        "Layout\n"
        + COLS
        + "".join(
            f"{r}\t"
            + "\t".join(["STD1"] * 12)
            + "\tWell ID\n\t"
            + "\t".join(["x"] * 12)
            + "\tConc/Dil\n"
            for r in "ABCDEFGH"
        )
    )
    with pytest.raises(ReaderError, match="Conc/Dil value is not a number") as e:
        read_plate(_src(HEAD + layout + "\nResults\n" + COLS + _grid()))
    assert "well A1" in str(e.value)


def test_error_layout_and_results_structure():
    with pytest.raises(ReaderError, match="Layout block is truncated"):
        read_plate(_src(HEAD + "Layout\n"))
    with pytest.raises(ReaderError, match="Layout line before the first row letter"):
        read_plate(_src(HEAD + "Layout\n" + COLS + "\tSTD1\tWell ID\n\nResults\n" + COLS + _grid()))
    with pytest.raises(ReaderError, match="Results line before the first row letter"):
        read_plate(_src(HEAD + "Results\n" + COLS + "\t" + "\t".join(["1"] * 12) + "\tR:450\n"))
    with pytest.raises(ReaderError, match="has no column header"):
        read_plate(_src(HEAD + "Results\nX\t\n" + _grid()))


def test_error_plates_repeated_or_without_results():
    text = HEAD + "Results\n" + COLS + _grid()
    with pytest.raises(ReaderError, match="plate name repeated"):
        read_plate(_src(text + text))
    with pytest.raises(ReaderError, match="plate has no Results block"):
        read_plate(_src(text + HEAD.replace("Plate 1", "Plate 2")))
    with pytest.raises(ReaderError, match="second Results block"):
        read_plate(_src(text + "\nResults\n" + COLS + _grid()))


def test_error_rows_or_columns_outside_plate():
    base = HEAD.replace("\tFull Plate\n", "")
    with pytest.raises(ReaderError, match="row letter outside the plate"):
        read_plate(_src(base + "Results\n" + COLS + _grid("ABZ")))
    cols13 = "\t" + "\t".join(str(c) for c in range(1, 14)) + "\n"
    with pytest.raises(ReaderError, match="column number outside the plate"):
        read_plate(_src(base + "Results\n" + cols13 + _grid("A", n=13)))


def test_error_messages_have_no_placeholders(corpus):
    data = corpus(*GEN5, BCA).read_bytes()
    cut = data[: data.index(b"\nE\t")]  # file ends inside the Results grid
    with pytest.raises(ReaderError) as e:
        read_plate(Source(data=cut, name="cut.txt"))
    assert "{" not in str(e.value) and "cut.txt" in str(e.value)


# ----------------------------------------------------------------- fuzzing
@pytest.mark.parametrize("name", [OVRFLW, BCA, ALPHA])
def test_fuzz_gen5(name, corpus):
    data = corpus(*GEN5, name).read_bytes()

    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(mut):
        df = check_reader_contract(mut, name, format="gen5")
        if df is not None:
            nan, flagged = np.isnan(df["value"]), df["flag"] != ""
            # no NaN without a flag; a number with a flag only for a curve-range bound
            assert np.all(nan <= flagged)
            assert df.loc[flagged & ~nan, "flag"].isin(["out_of_range_high", "out_of_range_low"]).all()

    run()


def test_two_read_steps_at_the_same_wavelength_stay_apart():
    head = (
        HEAD.replace("Read\tR\n", "Read\tR1\n")
        + "Read\tR2\n\tAbsorbance Endpoint\n\tFull Plate\n\n"
    )
    rows = "".join(
        f"{r}\t" + "\t".join(["0.1"] * 12) + "\tR1:450\n\t" + "\t".join(["0.2"] * 12) + "\tR2:450\n"
        for r in "ABCDEFGH"
    )
    df = read_plate(_src(head + "Results\n" + COLS + rows))
    assert sorted(df.read.unique()) == ["abs_450_r1", "abs_450_r2"]
    assert _val(df, "C5", "abs_450_r2").value == 0.2
    # names that cannot be told apart even so are an error, not a silent overwrite
    clash = rows.replace("R1:450", "R 2:450").replace("\tR2:450", "\tR_2:450")
    with pytest.raises(ReaderError, match="value repeated in the Results grid") as e:
        read_plate(_src(head.replace("\tFull Plate\n", "") + "Results\n" + COLS + clash))
    assert "well A1" in str(e.value)


def test_fluorescence_filter_sets_layout_and_calculated_sets():
    head = HEAD.replace("Absorbance Endpoint", "Fluorescence Endpoint").replace(
        "\tWavelengths:  450\n", ""
    )
    layout = (
        "Layout\n"
        + COLS
        + "".join(f"{r}\t" + "\t".join(["POS"] + ["SPL1"] * 11) + "\tWell ID\n" for r in "ABCDEFGH")
    )
    rows = "".join(
        f"{r}\t"
        + "\t".join(["9303"] * 12)
        + "\tR:360/40,460/40\n"
        + "\t"
        + "\t".join(["8277"] * 12)
        + "\tR:485/20,528/20\n"
        + "\t"
        + "\t".join(["1.001"] * 12)
        + "\tnormDAPI\n"
        for r in "ABCDEFGH"
    )
    df = read_plate(_src(head + layout + "\nResults\n" + COLS + rows))
    assert len(df) == 3 * 96
    assert set(zip(df.read, df.metric, strict=True)) == {
        ("fluo_360_460", "raw"),
        ("fluo_485_528", "raw"),
        ("normdapi", "calculated"),
    }
    a1 = _val(df, "A1", "fluo_485_528")
    assert a1.value == 8277 and a1.sample_label == "POS"
    assert _val(df, "H12", "normdapi", "calculated").sample_label == "SPL1"
