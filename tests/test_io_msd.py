"""MSD Discovery Workbench CSV reader.

Corpus file: ../shared/corpus/plate_reader/msd/msd_workbench_test_2.csv (synthetic round
numbers from allotropy's test data); values below were read from it by eye.
"""

from __future__ import annotations

import math

import pandas as pd
import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given

from assaykit.errors import ReaderError
from assaykit.immunoassay import standards_from_plate
from assaykit.io import Source, read_plate
from assaykit.io.plate.msd import MSD_EXTRA
from assaykit.schema import PLATE_COLUMNS, PLATE_FLAGS, validate_plate_table

MSD = ("corpus", "plate_reader", "msd", "msd_workbench_test_2.csv")


def _one(df: pd.DataFrame, well: str, read: str, metric: str) -> pd.Series:
    sel = df[(df["well"] == well) & (df["read"] == read) & (df["metric"] == metric)]
    assert len(sel) == 1, (well, read, metric, len(sel))
    return sel.iloc[0]


def _check(df: pd.DataFrame) -> None:
    validate_plate_table(df)
    assert list(df.columns) == [*PLATE_COLUMNS, *MSD_EXTRA]
    assert {f for x in df["flag"] for f in x.split(";") if f} <= set(PLATE_FLAGS)
    assert (df.loc[df["value"].isna(), "flag"] != "").all()


@pytest.fixture(scope="module")
def msd(shared_file):
    return read_plate(shared_file(*MSD))


# (format, rows, whole columns and spot values of the file: test_io_formats_table.py)
def test_corpus_structure(msd, shared_file):
    _check(msd)
    assert msd["well"].nunique() == 48
    # every well of the export (third column), independently of the reader
    lines = shared_file(*MSD).read_text().splitlines()[2:]
    wells = {ln.split(",")[2] for ln in lines if ln}
    assert set(msd["well0"]) == wells and len(wells) == 48


def test_corpus_standards(msd):
    std = standards_from_plate(msd)
    assert len(std) == 16
    assert std["sample_label"].tolist() == [f"S00{i}" for i in range(1, 9) for _ in (0, 1)]
    assert std["expected_conc"].tolist() == [
        c for c in (100.0, 50.0, 25.0, 12.5, 6.25, 3.125, 1.5625, 0.0) for _ in (0, 1)
    ]
    assert std["well"].tolist()[:4] == ["A1", "A2", "B1", "B2"]


HEADER = (
    "Plate Name,Sample,Detection Range,Assay,Well,Spot,Dilution,Standard Concentration,"
    "Signal,Calc. Concentration,Calc. Conc. Mean,Excluded,Concentration Units\n"
)
ROWS = (
    "P9,S001,In Detection Range,CRP,A01,1,1,100,5000,180,179,no,pg/mL\n"
    "P9,U1,Below Fit Curve Range,CRP,A02,1,2,,10,NaN,NaN,no,pg/mL\n"
    "P9,U2,Above Detection Range,CRP,A03,1,1,,90000,5000,5000,yes,pg/mL\n"
    "P9,U2,In Detection Range,IL6,A03,2,1,,900,50,50,no,pg/mL\n"
)


def read_bytes(data: bytes, format: str | None = None) -> pd.DataFrame:
    return read_plate(Source(data=data, name="m.csv"), format=format)


def test_plate_name_column_detection_range_excluded():
    df = read_bytes(("Experiment Data Table\n\n" + HEADER + ROWS).encode())
    _check(df)
    assert df.attrs["format"] == "msd"
    assert set(df["plate"]) == {"P9"}
    assert set(df["metric"]) == {"expected_conc", "raw", "instrument_conc", "instrument_conc_mean"}
    low = _one(df, "A2", "CRP", "instrument_conc")
    assert math.isnan(low["value"]) and low["flag"] == "not_numeric;out_of_range_low"
    assert low["comment"] == "Below Fit Curve Range"
    assert _one(df, "A2", "CRP", "raw")["flag"] == ""  # the signal itself is fine
    assert _one(df, "A2", "CRP", "raw")["dilution"] == 2.0
    high = _one(df, "A3", "CRP", "instrument_conc")
    assert high["value"] == 5000.0 and high["flag"] == "out_of_range_high;excluded"
    assert _one(df, "A3", "CRP", "raw")["flag"] == "excluded"
    assert _one(df, "A3", "IL6", "raw")["flag"] == ""
    assert _one(df, "A3", "IL6", "raw")["spot"] == "2"
    assert (df["analyte_unit"] == "pg/mL").all()
    assert _one(df, "A1", "CRP", "instrument_conc")["comment"] == "In Detection Range"
    assert _one(df, "A1", "CRP", "instrument_conc")["flag"] == ""


def test_several_plates_from_plate_lines_and_tabs():
    body = "Sample\tAssay\tWell\tSignal\nS1\tIL6\tA1\t10\n"
    df = read_bytes(f"Plate_AB12\n{body}\nPlate_CD34\n{body}".encode())
    assert sorted(set(df["plate"])) == ["AB12", "CD34"]
    assert (df["value"] == 10.0).all() and len(df) == 2
    unnamed = read_bytes(f"{body}\n{body}".encode(), format="msd")
    assert sorted(set(unnamed["plate"])) == ["1", "2"]


def _err(data: bytes) -> ReaderError:
    with pytest.raises(ReaderError) as ei:
        read_plate(Source(data=data, name="bad.csv"), format="msd")
    assert "bad.csv" in str(ei.value)
    return ei.value


def test_errors():
    e = _err((HEADER + ROWS.replace("A02", "Z")).encode())
    assert "cannot read the well" in str(e) and "line 3" in str(e) and "'Z'" in str(e)
    e = _err((HEADER + ROWS.replace("A02", "A01")).encode())
    assert "well × assay listed twice" in str(e) and "well A1" in str(e) and "read CRP" in str(e)
    e = _err((HEADER + ROWS.replace("pg/mL\n", "pg/mL,extra\n", 1)).encode())
    assert "row has more values than the header has columns" in str(e)
    assert "expected 13 columns; found 14 values" in str(e)
    e = _err(
        HEADER.replace("Calc. Concentration", "Calc. Conc")
        .replace("Calc. Conc. Mean", "Calc. Conc.")
        .encode()
    )
    assert "two columns give the same metric" in str(e) and "instrument_conc" in str(e)
    e = _err(b"Plate_X\nfoo,bar\n1,2\n")
    assert "no MSD data table found" in str(e)
    e = _err(HEADER.encode())
    assert "the MSD table has no rows" in str(e)
    e = _err(b"Sample,Assay,Well,Spot\nS1,IL6,A1,1\n")
    assert "no value columns in the MSD header" in str(e) and "line 1" in str(e)


def test_fuzz_corpus(shared_file):
    data = shared_file(*MSD).read_bytes()

    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(blob):
        df = check_reader_contract(blob, "msd.csv", format="msd")
        if df is not None:
            assert (df.loc[df["value"].isna(), "flag"] != "").all()

    run()
