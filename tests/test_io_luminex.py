"""Luminex xPONENT and INTELLIFLEX readers, and standards_from_plate.

Corpus files: ../shared/corpus/plate_reader/luminex_xponent (skipped when absent).
Values asserted below were read by eye from the exports (line numbers in comments).
"""

from __future__ import annotations

import math
import re
import warnings

import numpy as np
import pandas as pd
import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given

from assaykit.errors import AssaykitWarning, ReaderError, SchemaError
from assaykit.immunoassay import standards_from_plate
from assaykit.io import Source, read_plate
from assaykit.io.plate.luminex import (
    INTELLIFLEX_EXTRA,
    XPONENT_EXTRA,
    metric_name,
    parse_cells,
)
from assaykit.schema import PLATE_COLUMNS, PLATE_FLAGS, plate_table, validate_plate_table

LX = ("corpus", "plate_reader", "luminex_xponent")
F30 = "xponent_30plex_cytokines_5PL_results_pone.0187901.s001.csv"
FMAG = "xponent_magpix_serology_CO_reduced.csv"
FFLEX = "luminex_xPONENT_example02_flexmap3d.csv"
FIFX = "luminex_intelliflex_single_dataset.csv"

ANALYTES_30 = (
    "FGF IL1B G-CSF IL10 IL13 IL6 IL12 RANTES EOTAXIN IL17 MIP1A GMCSF MIP1B MCP1 IL15 EGF IL5 "
    "HGF VEGF IFNg IFNa IL1RA TNFa IL2 IL7 IP10 IL2R MIG IL4 IL8"
).split()


def _one(df: pd.DataFrame, well: str, read: str, metric: str) -> pd.Series:
    sel = df[(df["well"] == well) & (df["read"] == read) & (df["metric"] == metric)]
    assert len(sel) == 1, (well, read, metric, len(sel))
    return sel.iloc[0]


def _location_wells(path) -> set[str]:
    """Wells named in the Location column of the file's first DataType block (independent parse)."""
    text = path.read_bytes().decode("utf-8-sig", errors="replace")
    return {
        f"{m.group(1)}{int(m.group(2))}"
        for m in re.finditer(r'^"?\d+\(\d+,([A-H])(\d+)\)"?,', text, flags=re.MULTILINE)
    }


def _check_table(df: pd.DataFrame, extra: tuple[str, ...]) -> None:
    validate_plate_table(df)
    assert list(df.columns) == [*PLATE_COLUMNS, *extra]
    flags = {f for fl in df["flag"] for f in fl.split(";") if f}
    assert flags <= set(PLATE_FLAGS), flags - set(PLATE_FLAGS)
    # NaN only with a flag saying why
    assert (df.loc[df["value"].isna(), "flag"] != "").all()


# ----------------------------------------------------------------- corpus: 30-plex


@pytest.fixture(scope="module")
def plex30(shared_file):
    return read_plate(shared_file(*LX, F30))


def test_30plex_shape_and_analytes(plex30, shared_file):
    df = plex30
    _check_table(df, XPONENT_EXTRA)
    assert df.attrs["format"] == "xponent"
    assert list(pd.unique(df["read"])) == ANALYTES_30
    assert set(df["plate"]) == {"plate_1"}  # Batch,plate_1
    counts = df["metric"].value_counts().to_dict()
    assert counts == {
        "median": 2880,
        "net_mfi": 2880,
        "count": 2880,
        "result": 2880,
        "avg_net_mfi": 2820,  # 94 wells in replicate groups (Background0 has none) x 30
        "avg_result": 2820,
        "cv_replicates_pct": 2820,
        "recovery_pct": 690,  # 23 standard/control wells x 30
        "expected_conc": 690,  # 17 standard + 6 control wells x 30
        "control_range_low": 180,
        "control_range_high": 180,
    }
    assert len(df) == 21720
    assert set(df["well"]) == _location_wells(shared_file(*LX, F30))
    assert df["well"].nunique() == 96


def test_30plex_header_metadata(plex30):
    meta = plex30.attrs["metadata"]
    assert meta["Program"] == "xPONENT LX100/LX200"
    assert meta["Build"] == "3.1.871.0" and meta["SN"] == "drLumi1234567890"
    assert meta["Batch"] == "plate_1" and meta["ProtocolName"] == "Example STUDY"
    assert meta["ProtocolAnalysis"] == "Type Quan Mode FitOfAllStandards"
    assert meta["Samples"] == "91 Min Events 100 Per Bead"
    assert meta["Last MagCAL1 Calibration"] == "Passed 27/02/2014 12:24:09"
    assert "Lot" not in meta and "Standard1" not in meta  # CALInfo / AssayLotInfo tables
    two = read_bytes(xponent(MED, batch="a") + xponent(MED, batch="b"))
    assert two.attrs["metadata"]["Batch"] == "a; b"
    assert two.attrs["metadata"]["Build"] == "4.2.1705.0"
    assert two.copy().attrs["metadata"] is two.attrs["metadata"]  # cheap deep copies


def test_30plex_values(plex30):
    df = plex30
    # line 64: "1(1,A1)",Background0,21,20.5,...
    r = _one(df, "A1", "FGF", "median")
    assert r["value"] == 21.0 and r["raw"] == "21" and r["flag"] == ""
    assert r["sample_label"] == "Background0" and r["total_events"] == 4683.0
    assert _one(df, "A1", "IL1B", "median")["value"] == 20.5
    assert _one(df, "A1", "IL1B", "net_mfi")["value"] == -0.25
    assert _one(df, "H12", "IL8", "median")["value"] == 51.5
    assert _one(df, "B1", "FGF", "result")["value"] == pytest.approx(993.625341838801, rel=1e-15)
    assert _one(df, "B1", "FGF", "median")["analyte_unit"] == "pg/mL"
    # Dilution Factor block: 2 for samples/controls, empty for standards
    assert _one(df, "B1", "FGF", "median")["dilution"] == 2.0
    assert math.isnan(_one(df, "A2", "FGF", "median")["dilution"])


def test_30plex_out_of_range_and_flags(plex30):
    df = plex30
    low = _one(df, "C1", "FGF", "result")  # '< 0.10528564453125'
    assert low["value"] == 0.10528564453125 and low["flag"] == "out_of_range_low"
    assert low["raw"] == "< 0.10528564453125"
    high = _one(df, "A2", "FGF", "result")  # '> 3450'
    assert high["value"] == 3450.0 and high["flag"] == "out_of_range_high"
    # Comments block: 'Extrapolated' on C1 GMCSF, 'Control Failed.' on every control result
    ex = _one(df, "C1", "GMCSF", "result")
    assert ex["flag"] == "extrapolated" and ex["comment"] == "Extrapolated"
    assert ex["value"] == pytest.approx(0.417855282196249)
    cf = _one(df, "B1", "FGF", "result")
    assert cf["flag"] == "control_failed" and cf["comment"] == "Control Failed."
    # the comment only goes on the result rows
    assert _one(df, "C1", "GMCSF", "median")["flag"] == ""
    assert _one(df, "C1", "GMCSF", "median")["comment"] == ""
    # 'NaN' results of the background wells: NaN + not_numeric, raw kept
    bg = _one(df, "A1", "FGF", "result")
    assert math.isnan(bg["value"]) and bg["flag"] == "not_numeric" and bg["raw"] == "NaN"
    flags = df["flag"].str.split(";").explode().value_counts().to_dict()
    assert flags["out_of_range_low"] == 416  # 208 in Result + 208 in Avg Result
    assert flags["out_of_range_high"] == 62  # 32 in Result + 30 in Avg Result
    assert flags["extrapolated"] == 178
    assert flags["control_failed"] == 180
    assert flags["low_bead_count"] == 1


def test_30plex_low_bead_count_and_warning(plex30):
    # Per Bead Count block: 100 per analyte; B9 G-CSF counted 98 beads; the export warns on B9.
    r = _one(plex30, "B9", "G-CSF", "count")
    assert r["value"] == 98.0 and r["flag"] == "low_bead_count"
    assert "did not reach the maximum count" in r["warning"]
    assert _one(plex30, "B9", "FGF", "count")["flag"] == ""
    assert _one(plex30, "A1", "FGF", "count")["warning"] == ""


def test_30plex_group_blocks(plex30):
    df = plex30
    # Avg Result row 'Control1' (line 646) applies to both Control1 wells B1 and G10
    for w in ("B1", "G10"):
        assert _one(df, w, "FGF", "avg_result")["value"] == pytest.approx(1087.6501656434)
        assert _one(df, w, "FGF", "cv_replicates_pct")["value"] == pytest.approx(12.2255468922347)
        assert _one(df, w, "FGF", "avg_net_mfi")["value"] == 3017.75
    na = _one(df, "A2", "FGF", "avg_result")
    assert math.isnan(na["value"]) and na["raw"] == "N/A" and na["flag"] == "not_numeric"
    # Background0 is in no Avg block
    assert df[(df["sample_label"] == "Background0") & df["metric"].str.startswith("avg")].empty
    assert _one(df, "B1", "FGF", "recovery_pct")["value"] == 86.40
    assert _one(df, "B1", "FGF", "control_range_low")["value"] == 1150.0


def test_30plex_expected_concentrations(plex30):
    std = standards_from_plate_quiet(plex30)
    assert list(std.columns) == ["plate", "well", "read", "expected_conc", "sample_label"]
    assert len(std) == 690
    s1 = std[(std["sample_label"] == "Standard1") & (std["read"] == "FGF")]
    assert sorted(s1["well"]) == ["A2", "H4"] and (s1["expected_conc"] == 3450.0).all()
    row = std[(std["sample_label"] == "Standard1") & (std["read"] == "IL6")]
    assert (row["expected_conc"] == 5850.0).all()
    s16 = std[(std["sample_label"] == "Standard16") & (std["read"] == "FGF")]
    assert s16["expected_conc"].tolist() == [0.10528564453125] and s16["well"].tolist() == ["A10"]
    # 2-fold series: Standard4 IL6 = 5850 / 8
    s4 = std[(std["sample_label"] == "Standard4") & (std["read"] == "IL6")]
    assert s4["expected_conc"].tolist() == [731.25]
    # the export lost the decimal point of 215.625 (kept as exported; see the warning test)
    s5 = std[(std["sample_label"] == "Standard5") & (std["read"] == "FGF")]
    assert s5["expected_conc"].tolist() == [215625.0]
    ctrl = std[std["sample_label"] == "Control1"]
    assert set(ctrl["well"]) == {"B1", "G10"}


def standards_from_plate_quiet(df):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AssaykitWarning)
        return standards_from_plate(df)


def test_standards_warn_on_non_monotonic_series(plex30):
    with pytest.warns(AssaykitWarning, match="not monotonic") as rec:
        standards_from_plate(plex30)
    msg = str(rec[0].message)
    # every analyte has at least one standard whose 3-decimal value lost its point
    assert "FGF (plate plate_1)" in msg and "lost decimal point" in msg
    assert "and 20 more" in msg


def test_30plex_instrument_fits(shared_file):
    from assaykit.io.plate.luminex import xponent_fits

    fits = xponent_fits(shared_file(*LX, F30))
    assert list(fits.columns) == [
        "plate",
        "read",
        "analysis_type",
        "parameter",
        "value",
        "raw",
        "flag",
    ]
    assert len(fits) == 30 * 6 and set(fits["parameter"]) == {"A", "B", "C", "D", "F", "r_squared"}
    assert (fits["analysis_type"] == "Logistic 5P").all() and (fits["plate"] == "plate_1").all()
    fgf = fits[fits["read"] == "FGF"].set_index("parameter")["value"]
    assert fgf["A"] == -0.228742409930827 and fgf["B"] == 4042.42476800676
    assert fgf["C"] == 435.962541292928 and fgf["F"] == 0.607306274611151
    assert fgf["r_squared"] == 0.845900071353852
    il6 = fits[(fits["read"] == "IL6") & (fits["parameter"] == "r_squared")]
    assert il6["value"].tolist() == [0.982751412837542]
    assert (fits["flag"] == "").all()
    none = xponent_fits(shared_file(*LX, FFLEX))  # ProtocolAnalysis Off
    assert none.empty and list(none.columns) == list(fits.columns)


def test_fits_synthetic_two_plates():
    from assaykit.io.plate.luminex import xponent_fits

    blk = MED.replace('"3(1,C1)"', '"97(2,C1)"') + (
        "DataType:,Analysis Types\nAnalyte:,IL6,TNF\nAnalysisType,Logistic 4P,Logistic 4P\n\n"
        "DataType:,Analysis Coefficients\nAnalyte:,IL6,TNF\nCoefficient A,1.5,NaN\n\n"
        "DataType:,R^2\nAnalyte:,IL6,TNF\nValue,0.99,\n"
    )
    fits = xponent_fits(Source(data=xponent(blk, batch="r"), name="f.csv"))
    assert sorted(set(fits["plate"])) == ["r_1", "r_2"] and len(fits) == 2 * 3
    one = fits[fits["plate"] == "r_1"].set_index(["read", "parameter"])
    assert one.loc[("IL6", "A"), "value"] == 1.5 and one.loc[("IL6", "r_squared"), "value"] == 0.99
    assert one.loc[("TNF", "A"), "flag"] == "not_numeric"
    assert (fits["analysis_type"] == "Logistic 4P").all()


def test_fast_table_equals_plate_table(plex30):
    # the reader's fast table builder gives exactly what schema.plate_table builds
    df = plex30
    ref = plate_table(
        plate=df["plate"].to_numpy(),
        well=df["well"].to_numpy(),
        read=df["read"].to_numpy(),
        metric=df["metric"].to_numpy(),
        value=df["value"].to_numpy(),
        raw=df["raw"].to_numpy(),
        flag=df["flag"].to_numpy(),
        source_file=df["source_file"].iloc[0],
        extra={k: df[k].to_numpy() for k in XPONENT_EXTRA},
    )
    pd.testing.assert_frame_equal(df.reset_index(drop=True), ref)
    assert df["dilution"].dtype == float and df["total_events"].dtype == float


# ----------------------------------------------------------------- corpus: MAGPIX, FLEXMAP 3D


def test_magpix_serology(shared_file):
    path = shared_file(*LX, FMAG)
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")  # UTF-8 BOM, unquoted variant
    df = read_plate(path)
    _check_table(df, XPONENT_EXTRA)
    # (format, rows, whole columns and spot values: test_io_formats_table.py)
    assert df["well"].nunique() == 49
    assert set(df["well"]) == _location_wells(path)
    # cells turned into Polish dates by a spreadsheet ('24.kwi'): NaN + not_numeric, raw kept
    bad = df[df["flag"] == "not_numeric"]
    assert set(bad["metric"]) == {"cv_pct", "std_dev"} and len(bad) == 28
    assert "24.kwi" in set(bad["raw"])
    # Per Bead Count 15: no count below it
    assert not df["flag"].str.contains("low_bead_count").any()
    assert standards_from_plate(df).empty


def test_flexmap3d_minimal(shared_file):
    path = shared_file(*LX, FFLEX)
    df = read_plate(path)
    _check_table(df, XPONENT_EXTRA)
    # (format, rows, whole columns and spot values: test_io_formats_table.py)
    warn = df.loc[df["well"] == "A1", "warning"].unique().tolist()
    assert len(warn) == 1 and warn[0].startswith("Warning: The acquisition had at least one region")
    assert (df.loc[df["well"] != "A1", "warning"] == "").all()
    assert standards_from_plate(df).empty


# ----------------------------------------------------------------- corpus: INTELLIFLEX


def test_intelliflex(shared_file):
    path = shared_file(*LX, FIFX)
    df = read_plate(path)
    _check_table(df, INTELLIFLEX_EXTRA)
    # (format, rows, whole columns and spot values: test_io_formats_table.py)


# ----------------------------------------------------------------- synthetic xPONENT variants

HEAD = """Program,xPONENT,,MAGPIX
Build,4.2.1705.0
Batch,{batch}
ProtocolAnalysis,Type,Quan
Samples,3,Min Events,50,Per Bead

Results

"""


def xponent(blocks: str, batch: str = "B1") -> bytes:
    return (HEAD.format(batch=batch) + blocks + "\n-- CRC --\nCRC32: 00000000\n").encode()


MED = """DataType:,Median
Location,Sample,IL6,TNF,Total Events
"1(1,A1)",Standard1,1000,2000,500
"2(1,B1)",Standard2,500,1000,480
"3(1,C1)",Unknown1,20,30,470

"""


def read_bytes(data: bytes, name: str = "x.csv", format: str | None = None) -> pd.DataFrame:
    return read_plate(Source(data=data, name=name), format=format)


def test_synthetic_minimal_and_min_events():
    blocks = (
        MED
        + """DataType:,Count
Location,Sample,IL6,TNF,Total Events
"1(1,A1)",Standard1,60,49,500
"2(1,B1)",Standard2,50,55,480
"3(1,C1)",Unknown1,51,52,470
"""
    )
    df = read_bytes(xponent(blocks))
    assert df.attrs["format"] == "xponent"
    _check_table(df, XPONENT_EXTRA)
    # no Per Bead Count block: the 'Min Events,50' setting is the threshold
    assert _one(df, "A1", "TNF", "count")["flag"] == "low_bead_count"
    assert _one(df, "B1", "IL6", "count")["flag"] == ""
    assert _one(df, "A1", "IL6", "median")["analyte_unit"] == ""
    assert math.isnan(_one(df, "A1", "IL6", "median")["dilution"])


def test_unquoted_locations_are_rejoined():
    blocks = MED.replace('"', "")
    df = read_bytes(xponent(blocks))
    assert _one(df, "B1", "IL6", "median")["value"] == 500.0
    assert _one(df, "C1", "TNF", "median")["sample_label"] == "Unknown1"


def test_all_quoted_and_bom_and_crlf():
    quoted = "\r\n".join(
        ",".join(f'"{c}"' for c in ln.split(",")) if ln and not ln.startswith('"') else ln
        for ln in xponent(MED).decode().splitlines()
    )
    df = read_bytes(b"\xef\xbb\xbf" + quoted.encode())
    assert df.attrs["format"] == "xponent"
    assert _one(df, "A1", "IL6", "median")["value"] == 1000.0


def test_semicolon_and_decimal_comma():
    text = xponent(MED.replace("1000,2000", "1000,5;2000")).decode()
    text = text.replace(",", ";").replace("1000;5", "1000,5")
    df = read_bytes(text.encode())
    assert _one(df, "A1", "IL6", "median")["value"] == 1000.5
    assert _one(df, "A1", "TNF", "median")["value"] == 2000.0


def test_units_per_batch():
    u1 = MED + "DataType:,Units\nAnalyte:,IL6,TNF\nUnits:,pg/mL,ng/mL\n"
    u2 = MED + "DataType:,Units\nAnalyte:,IL6\nUnits:,IU/mL\n"
    df = read_bytes(xponent(u1, batch="a") + xponent(u2, batch="b"))
    assert _one(df[df["plate"] == "a"], "A1", "IL6", "median")["analyte_unit"] == "pg/mL"
    assert _one(df[df["plate"] == "b"], "A1", "IL6", "median")["analyte_unit"] == "IU/mL"
    assert _one(df[df["plate"] == "b"], "A1", "TNF", "median")["analyte_unit"] == ""


def test_several_batches_and_plates():
    two_plates = MED.replace('"3(1,C1)"', '"97(2,A1)"')
    data = xponent(two_plates, batch="run1") + xponent(MED, batch="run2")
    df = read_bytes(data)
    assert sorted(set(df["plate"])) == ["run1_1", "run1_2", "run2"]
    assert _one(df[df["plate"] == "run1_2"], "A1", "IL6", "median")["sample_label"] == "Unknown1"
    assert _one(df[df["plate"] == "run2"], "C1", "IL6", "median")["value"] == 20.0
    same = read_bytes(xponent(MED, batch="x") + xponent(MED, batch="x"))
    assert sorted(set(same["plate"])) == ["x", "x_2"]
    unnamed = read_bytes(xponent(MED, batch="") + xponent(MED, batch=""))
    assert sorted(set(unnamed["plate"])) == ["1", "2"]


def test_range_block_and_oor_tokens():
    blocks = (
        MED
        + """DataType:,Result
Location,Sample,IL6,TNF,Total Events
"1(1,A1)",Standard1,OOR >,*12.5,500
"2(1,B1)",Standard2,OOR <,> 99,480
"3(1,C1)",Unknown1,N/A,,470

DataType:,Range
Location,Sample,IL6,TNF,Total Events
"1(1,A1)",Standard1,OOR >,Extrapolated,500
"2(1,B1)",Standard2,,,480
"3(1,C1)",Unknown1,Something else,,470

DataType:,Units
Analyte:,IL6,TNF
BeadID:,19,52
Units:,pg/mL,ng/mL

DataType:,Dilution Factor
Location,Sample,Dilution Factor
"1(1,A1)",Standard1,
"2(1,B1)",Standard2,
"3(1,C1)",Unknown1,4
"""
    )
    df = read_bytes(xponent(blocks))
    a = _one(df, "A1", "IL6", "result")
    assert math.isnan(a["value"]) and a["flag"] == "out_of_range_high" and a["comment"] == "OOR >"
    t = _one(df, "A1", "TNF", "result")
    assert t["value"] == 12.5 and t["flag"] == "extrapolated"
    b = _one(df, "B1", "IL6", "result")
    assert math.isnan(b["value"]) and b["flag"] == "out_of_range_low"
    assert _one(df, "B1", "TNF", "result")["flag"] == "out_of_range_high"
    c = _one(df, "C1", "IL6", "result")
    assert c["flag"] == "not_numeric" and c["comment"] == "Something else"
    e = _one(df, "C1", "TNF", "result")
    assert math.isnan(e["value"]) and e["flag"] == "empty"
    assert _one(df, "C1", "TNF", "median")["analyte_unit"] == "ng/mL"
    assert _one(df, "C1", "TNF", "median")["dilution"] == 4.0
    assert math.isnan(_one(df, "A1", "TNF", "median")["dilution"])
    assert set(df["metric"]) == {"median", "result"}  # Range/Units/Dilution are not metrics


def test_avg_range_flags_avg_result():
    blocks = (
        MED
        + """DataType:,Avg Result
Sample,IL6,TNF
Standard1,< 1.5,10
Standard2,5,6
Unknown1,7,8

DataType:,Avg Range
Sample,IL6,TNF
Standard1,,Extrapolated
Standard2,,
Unknown1,,
"""
    )
    df = read_bytes(xponent(blocks))
    assert _one(df, "A1", "IL6", "avg_result")["flag"] == "out_of_range_low"
    assert _one(df, "A1", "TNF", "avg_result")["flag"] == "extrapolated"
    assert _one(df, "A1", "TNF", "avg_result")["comment"] == "Extrapolated"
    assert _one(df, "C1", "TNF", "avg_result")["value"] == 8.0


def test_numbers_like_nan_inf_are_not_numbers():
    value, flag = parse_cells(
        np.array(["nan", "inf", "-Infinity", "1_000", "1e3", "", "x"], dtype=object)
    )
    assert np.isnan(value[:4]).all() and list(flag[:4]) == ["not_numeric"] * 4
    assert value[4] == 1000.0 and flag[5] == "empty" and flag[6] == "not_numeric"


def test_metric_names():
    assert metric_name("Median") == "median"
    assert metric_name("Avg Net MFI") == "avg_net_mfi"
    assert metric_name("%CV Replicates") == "cv_replicates_pct"
    assert metric_name("Control Expected Concentration") == "expected_conc"
    assert metric_name("Control Range - High") == "control_range_high"
    assert metric_name("%") == "value_pct"


# ----------------------------------------------------------------- errors


def _err(data: bytes, format: str = "xponent") -> ReaderError:
    with pytest.raises(ReaderError) as ei:
        read_bytes(data, name="bad.csv", format=format)
    assert "bad.csv" in str(ei.value)
    return ei.value


def test_error_bad_location():
    e = _err(xponent(MED.replace('"2(1,B1)"', "B1")))
    assert "cannot read the well location" in str(e) and e.location["line"] == 12
    assert "'B1'" in str(e)


def test_error_duplicate_well():
    e = _err(xponent(MED.replace('"3(1,C1)"', '"3(1,A1)"')))
    assert "well listed twice in the 'Median' block" in str(e) and "well A1" in str(e)


def test_error_row_longer_than_header():
    e = _err(xponent(MED.replace("470", "470,12")))
    assert "row has more values than the 'Median' header has columns" in str(e)
    assert "expected 5 columns; found 6 values" in str(e)
    grp = (
        MED
        + "DataType:,Avg Net MFI\nSample,IL6,TNF\nStandard1,1,2,3\nStandard2,1,2\nUnknown1,1,2\n"
    )
    e = _err(xponent(grp))
    assert "row has more values than the 'Avg Net MFI' header" in str(e)


def test_error_repeated_block():
    e = _err(xponent(MED + MED))
    assert "duplicate well in plate table (a block or row of the export is repeated)" in str(e)
    assert str(e).startswith("bad.csv")
    assert "well A1" in str(e) and "read IL6" in str(e)


def test_error_column_zero():
    e = _err(xponent(MED.replace('"1(1,A1)"', '"1(1,A0)"')))
    assert "cannot read the well location" in str(e)


def test_error_block_without_header():
    e = _err(xponent(MED.replace("Location,Sample,IL6,TNF,Total Events\n", "")))
    assert "the 'Median' block has no header row" in str(e) and "line 9" in str(e)


def test_error_group_sample_without_well():
    grp = MED + "DataType:,Avg Net MFI\nSample,IL6,TNF\nStandard9,1,2\n"
    e = _err(xponent(grp))
    assert "sample in the 'Avg Net MFI' block matches no well" in str(e)
    assert "sample Standard9" in str(e)


def test_error_group_rows_ambiguous():
    med = MED.replace("Standard2", "Standard1").replace("Unknown1", "Standard1")
    grp = med + "DataType:,Avg Net MFI\nSample,IL6,TNF\nStandard1,1,2\nStandard1,3,4\n"
    e = _err(xponent(grp))
    assert "cannot match the 'Avg Net MFI' rows of a sample to its wells" in str(e)
    assert "expected 1 or 3 rows" in str(e) and "found 2 rows" in str(e)


def test_error_reagent_twice():
    blk = MED + (
        "DataType:,Standard Expected Concentration\nReagent,IL6,TNF\n"
        "Standard1,100,200\nStandard1,100,200\n"
    )
    e = _err(xponent(blk))
    assert "reagent listed twice in the 'Standard Expected Concentration' block" in str(e)


def test_error_no_well_blocks():
    e = _err(xponent("DataType:,Units\nAnalyte:,IL6\nUnits:,pg/mL\n"))
    assert "no well data found" in str(e) and "Units" in str(e)
    warn_only = 'DataType:,Warnings/Errors\nLocation,Status,Message\n"1,B9",Warning,low\n'
    e = _err(xponent(warn_only))
    assert "no well data found" in str(e) and "Warnings/Errors" in str(e)


def test_error_no_datatype_blocks():
    e = _err(b"Program,xPONENT\nBatch,x\n")
    assert "no 'DataType:' blocks found" in str(e)


def test_error_malformed_csv():
    e = _err(xponent(MED).replace(b"Results", b'"Results' + b"x" * 140_000))
    assert "malformed CSV" in str(e)


def test_error_empty_and_workbook():
    e = _err(b"   \n")
    assert "file is empty" in str(e)
    e = _err(b"PK\x03\x04rest")
    assert "expected a text export" in str(e)


# INTELLIFLEX synthetic
IFX = (
    "INSTRUMENT TYPE,PLATE NAME,WELL LOCATION,SAMPLE ID,DILUTION,IL6: RP1 MEDIAN,IL6: RP1 COUNT\n"
    "INTELLIFLEX,P1,A1,Std1,2,100.5,50\n"
    "INTELLIFLEX,P1,B01,Unk1,,NaN,\n"
)


def test_intelliflex_synthetic():
    df = read_bytes(IFX.encode())
    assert df.attrs["format"] == "intelliflex"
    assert _one(df, "A1", "IL6", "median")["value"] == 100.5
    assert _one(df, "A1", "IL6", "median")["dilution"] == 2.0
    b = _one(df, "B1", "IL6", "median")
    assert math.isnan(b["value"]) and b["flag"] == "not_numeric"
    assert _one(df, "B1", "IL6", "count")["flag"] == "empty"
    no_plate = read_bytes(IFX.replace(",P1,", ",,").encode())
    assert set(no_plate["plate"]) == {"1"}


def test_intelliflex_errors():
    e = _err(IFX.replace("B01", "B00").encode(), "intelliflex")
    assert "cannot read the well location" in str(e) and "'B00'" in str(e)
    e = _err(IFX.replace("B01", "A1").encode(), "intelliflex")
    assert "well listed twice" in str(e) and "well A1" in str(e)
    e = _err(IFX.replace("50\n", "50,7\n").encode(), "intelliflex")
    assert "row has more values than the header has columns" in str(e)
    e = _err(IFX.replace("IL6: RP1 COUNT", "IL6: RP1 MEDIAN").encode(), "intelliflex")
    assert "two columns give the same analyte and statistic" in str(e)
    e = _err(
        IFX.replace("IL6: RP1 MEDIAN", "X").replace("IL6: RP1 COUNT", "Y").encode(), "intelliflex"
    )
    assert "no value columns in the INTELLIFLEX header" in str(e)
    e = _err(b"INTELLIFLEX,P1,A1\n" + IFX.encode(), "intelliflex")
    assert "no INTELLIFLEX header before the data" in str(e) and "line 1" in str(e)
    e = _err(IFX.splitlines()[0].encode() + b"\n", "intelliflex")
    assert "no wells found" in str(e)


def test_standards_from_plate_errors_and_empty():
    with pytest.raises(SchemaError, match="not a bead-assay plate table"):
        standards_from_plate(pd.DataFrame({"plate": ["1"]}))
    df = read_bytes(xponent(MED))
    out = standards_from_plate(df)
    assert out.empty and list(out.columns) == [
        "plate",
        "well",
        "read",
        "expected_conc",
        "sample_label",
    ]


def test_standards_from_synthetic_export():
    blk = MED + (
        "DataType:,Standard Expected Concentration\nReagent,IL6,TNF\n"
        "Standard1,100,200\nStandard2,50,100\nStandard3,25,50\n"
    )
    df = read_bytes(xponent(blk))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        std = standards_from_plate(df)  # Standard3 is on no well: skipped, no warning
    assert std.to_dict("list") == {
        "plate": ["B1"] * 4,
        "well": ["A1", "A1", "B1", "B1"],
        "read": ["IL6", "TNF", "IL6", "TNF"],
        "expected_conc": [100.0, 200.0, 50.0, 100.0],
        "sample_label": ["Standard1", "Standard1", "Standard2", "Standard2"],
    }


# ----------------------------------------------------------------- fuzz


def _fuzz(shared_file, fname: str, fmt: str):
    data = shared_file(*LX, fname).read_bytes()

    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(blob):
        df = check_reader_contract(blob, fname, format=fmt)
        if df is not None:
            assert (df.loc[df["value"].isna(), "flag"] != "").all()

    run()


def test_fuzz_30plex(shared_file):
    _fuzz(shared_file, F30, "xponent")


def test_fuzz_magpix(shared_file):
    _fuzz(shared_file, FMAG, "xponent")


def test_fuzz_flexmap(shared_file):
    _fuzz(shared_file, FFLEX, "xponent")


def test_fuzz_intelliflex(shared_file):
    _fuzz(shared_file, FIFX, "intelliflex")


# ----------------------------------------------------------------- Bio-Plex Manager XML

BPX = ("corpus", "plate_reader", "bioplex_manager")


def test_bioplex_samples_fragment(shared_file):
    from assaykit.io.plate.luminex import BIOPLEX_EXTRA

    df = read_plate(shared_file(*BPX, "sample_xml_example.xml"))
    _check_table(df, BIOPLEX_EXTRA)
    # (format, rows, whole columns and spot values: test_io_formats_table.py)
    # MWObsConc ReadingOK="false": the placeholder 0 is not a concentration, its text is kept
    assert _one(df, "C1", "alpha", "instrument_conc")["raw"].startswith("0.000")


BPX_DOC = """<?xml version="1.0" encoding="utf-8"?>
<bpm:BioPlexManager xmlns:bpm="urn:x" BioPlexManagerVersion="6.2.0.175">
 <Wells><Well RowNo="1" ColNo="1"><PlateID>555</PlateID></Well></Wells>
 <Samples><Standards><Standard><Label>S1</Label>
  <MemberWells><MemberWell RowNo="1" ColNo="1" WellNumber="1"><MWAnalytes>
   <MWAnalyte RegionNumber="12"><AnalyteName>IL-6</AnalyteName>
    <Reading Valid="false" Code="3" OutlierType="High">1.5E+003</Reading>
    <MWExpConc>3.2E+003</MWExpConc><MWObsConc ReadingOK="true">3.1E+003</MWObsConc>
    <MWFoo>7</MWFoo><MWNote>text</MWNote>
   </MWAnalyte>
   <MWAnalyte RegionNumber="15"><Reading Valid="true">20</Reading></MWAnalyte>
  </MWAnalytes></MemberWell></MemberWells>
 </Standard></Standards></Samples>
</bpm:BioPlexManager>
"""


def test_bioplex_document():
    df = read_bytes(BPX_DOC.encode())
    assert df.attrs["format"] == "bioplex"
    assert set(df["plate"]) == {"555"}
    r = _one(df, "A1", "IL-6", "fi")
    assert math.isnan(r["value"]) and r["flag"] == "invalid" and r["comment"] == "outlier: High"
    assert _one(df, "A1", "IL-6", "expected_conc")["value"] == 3200.0
    assert _one(df, "A1", "IL-6", "instrument_conc")["value"] == 3100.0
    assert _one(df, "A1", "IL-6", "mwfoo")["value"] == 7.0
    assert _one(df, "A1", "R15", "fi")["value"] == 20.0  # no AnalyteName: region number
    assert set(df["metric"]) == {"fi", "expected_conc", "instrument_conc", "mwfoo"}
    std = standards_from_plate(df)
    assert std["expected_conc"].tolist() == [3200.0] and std["sample_label"].tolist() == ["S1"]


def test_bioplex_errors(shared_file):
    e = _err(shared_file(*BPX, "well_xml_example.xml").read_bytes(), "bioplex")
    assert "no analyte readings in this Bio-Plex XML" in str(e) and "<Well>" in str(e)
    e = _err(BPX_DOC.replace("</Samples>", "").encode(), "bioplex")
    assert "malformed XML" in str(e) and "line" in str(e)
    e = _err(
        BPX_DOC.replace(
            'RowNo="1" ColNo="1" WellNumber', 'RowNo="0" ColNo="1" WellNumber'
        ).encode(),
        "bioplex",
    )
    assert "MemberWell without a valid position" in str(e) and "sample S1" in str(e)
    dup = BPX_DOC.replace(
        "</Standards>",
        "<Standard><Label>S2</Label><MemberWells>"
        '<MemberWell RowNo="1" ColNo="1"><MWAnalytes><MWAnalyte><AnalyteName>IL-6'
        "</AnalyteName><Reading>1</Reading></MWAnalyte></MWAnalytes></MemberWell>"
        "</MemberWells></Standard></Standards>",
    )
    e = _err(dup.encode(), "bioplex")
    assert "duplicate well in plate table" in str(e) and "well A1" in str(e)


def test_fuzz_bioplex(shared_file):
    _fuzz_path(shared_file(*BPX, "sample_xml_example.xml"), "bioplex")


def _fuzz_path(path, fmt):
    data = path.read_bytes()

    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(blob):
        check_reader_contract(blob, path.name, format=fmt)

    run()
