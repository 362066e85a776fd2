"""Tests of the BMG LABTECH readers (MARS/PHERAstar CSV, SMART Control xlsx)."""

from __future__ import annotations

import io
import math
from pathlib import Path

import numpy as np
import openpyxl
import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given
from hypothesis import strategies as st

from assaykit.errors import AssaykitError, ReaderError
from assaykit.io import Source, read_plate
from assaykit.io.plate.bmg import metric_name, read_name
from assaykit.schema import validate_plate_table

BMG = ("plate_reader", "bmg")


def xlsx(rows: list[list], sheet: str = "Microplate End point") -> bytes:
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = sheet
    for r in rows:
        ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def smart_rows(raw_cell=None, std_cell=1000.0, blocks=("layout", "std", "raw", "blank")):
    head = ["", *range(1, 13), "", "Plate: NUNC 96"]
    rows = [["User: user"], ["Test ID: 1"], ["Fluorescence (FI)"], []]
    n = 0
    if "layout" in blocks:
        n += 1
        rows += [["", f"{n}. Layout"], head] + [[r, *(["S1"] * 12)] for r in "ABCDEFGH"] + [[]]
    if "std" in blocks:
        n += 1
        rows += [["", f"{n}. Standard Concentrations in pg/mL"], head]
        rows += [[r, std_cell, *([""] * 11)] for r in "ABCDEFGH"] + [[]]
    if "raw" in blocks:
        n += 1
        rows += [["", f"{n}. Raw Data (485-12/535-20)"], head]
        rows += [[r, raw_cell if (raw_cell is not None and r == "B") else 100.0, *([50.0] * 11)] for r in "ABCDEFGH"]
        rows += [[]]
    if "blank" in blocks:
        n += 1
        rows += [["", f"{n}. Blank corrected based on Raw Data (485-12/535-20)"], head]
        rows += [[r, 90.0, *([40.0] * 11)] for r in "ABCDEFGH"]
    return rows


# ---------------------------------------------------------------- naming


@pytest.mark.parametrize(
    "title, mode, read",
    [
        ("Raw Data (450 1)", "abs", "abs_450"),
        ("Raw Data  (450)", "abs", "abs_450"),
        ("Raw Data (480-14/520-30)", "fluo", "fluo_480_520"),
        ("Raw Data (Lum)", "lum", "lum"),
        ("Raw Data", "lum", "lum"),
        ("Ratio based on Raw Data (450 1/620 2)", "abs", "abs_450_620"),
        ("Raw Data (something odd)", None, "something_odd"),
        ("Raw Data", None, "value"),
    ],
)
def test_read_name(title, mode, read):
    assert read_name(title, mode) == read


def test_metric_name():
    assert metric_name("4. Raw Data (450)") == "raw"
    assert metric_name("Blank corrected based on Raw Data (450)") == "blank_corrected"
    assert metric_name("Average over replicates based on Raw Data (450)") == "average_over_replicates"


# ---------------------------------------------------------------- corpus


# (format, rows, whole columns and spot values of each file: test_io_formats_table.py)
def test_pherastar_standard_curve(corpus):
    df = read_plate(corpus("plate_reader", "bmg", "pherastar_output.csv"))
    # the standard curve in column 1 decreases down the plate
    col1 = df[df["col"] == 1].sort_values("row")["value"].to_numpy()
    assert np.all(np.diff(col1) < 0)


def test_smart_control_workbook(corpus):
    df = read_plate(corpus("plate_reader", "bmg", "smart_control_picogreen_stdcurve.xlsx"))
    assert list(df.columns[-4:]) == ["sample_label", "std_conc", "std_conc_unit", "dilution"]
    t = df.set_index(["metric", "well"])
    # independent check: blank corrected = raw - mean(raw of the 'B' wells), exported rounded
    raw = t.loc["raw"]
    blank = raw.loc[raw["sample_label"] == "B", "value"].mean()
    assert blank == pytest.approx(15454.666666667, abs=1e-6)  # 'Blank 15454.666666667' in the sheet
    bc = t.loc["blank_corrected"].dropna(subset=["value"])
    np.testing.assert_allclose(bc["value"], raw.loc[bc.index, "value"] - blank, atol=0.5 + 1e-9)


def _without_microplate_sheet(data: bytes) -> bytes:
    src = Source(data, "x.xlsx")
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name in src.sheet_names:
        if name != "Microplate End point":
            ws = wb.create_sheet(name)
            for r in src.sheet(name):
                ws.append([None if c == "" else c for c in r])
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def test_smart_control_table_sheet_agrees_with_microplate_sheet(corpus):
    data = corpus("plate_reader", "bmg", "smart_control_picogreen_stdcurve.xlsx").read_bytes()
    grid = read_plate(Source(data, "grid.xlsx"))
    table = read_plate(Source(_without_microplate_sheet(data), "table.xlsx"))
    assert table.attrs["format"] == "bmg_smart" and len(table) == 192
    key = ["metric", "well"]
    a = grid.drop(columns="source_file").sort_values(key).reset_index(drop=True)
    b = table.drop(columns="source_file").sort_values(key).reset_index(drop=True)
    assert list(a.columns) == list(b.columns)
    for col in a.columns:
        if col in ("value", "std_conc", "dilution"):
            np.testing.assert_array_equal(a[col].to_numpy(), b[col].to_numpy())
        else:
            assert (a[col] == b[col]).all(), col


def test_smart_table_errors():
    rows = [["User: u"], ["Fluorescence (FI)"], [], ["Well", "A01", "A02", "B1x"], ["Content", "Sample X1"]]
    with pytest.raises(ReaderError, match="not a well name in the 'Well' row") as info:
        read_plate(Source(xlsx(rows, sheet="Table End point"), "t.xlsx"))
    assert info.value.location["line"] == 4 and "column 4" in str(info.value)
    rows[3] = ["Well", "A01", "A02", "A1"]
    with pytest.raises(ReaderError, match="well listed twice") as info:
        read_plate(Source(xlsx(rows, sheet="Table End point"), "t.xlsx"))
    assert info.value.location["well"] == "A1"
    rows[3] = ["Well", "A01", "A02"]
    rows.append(["Dilutions", 1, "ten"])
    with pytest.raises(ReaderError, match="not a number in row 'Dilutions'") as info:
        read_plate(Source(xlsx(rows, sheet="Table End point"), "t.xlsx"))
    assert info.value.location["well"] == "A2"
    rows[-1] = ["Dilutions", 1, 10]
    with pytest.raises(ReaderError, match="no data block found"):
        read_plate(Source(xlsx(rows, sheet="Table End point"), "t.xlsx"))
    rows += [["Raw Data (485-12/535-20)", 5, 6], ["Raw Data (485-12/535-20)", 5, 6]]
    with pytest.raises(ReaderError, match="appears twice"):
        read_plate(Source(xlsx(rows, sheet="Table End point"), "t.xlsx"))
    df = read_plate(Source(xlsx(rows[:-1], sheet="Table End point"), "t.xlsx")).set_index("well")
    assert df.loc["A2", "dilution"] == 10 and df.loc["A1", "sample_label"] == "X1"
    assert df.loc["A2", "value"] == 6 and df.loc["A2", "read"] == "fluo_485_535"


def test_utf16_and_semicolon_variants(corpus):
    data = corpus("plate_reader", "bmg", "mars_absorbance_450.csv").read_bytes()
    df16 = read_plate(Source(data.decode("utf-8").encode("utf-16"), "mars16.csv"))
    assert df16.set_index("well").loc["A1", "value"] == 0.073
    semi = data.replace(b",", b";").replace(b"0.", b"0,")
    dfs = read_plate(Source(semi, "mars_semicolon.csv"))
    assert dfs.attrs["format"] == "bmg_csv" and dfs.set_index("well").loc["H12", "value"] == 0.207


def test_two_chromatics_and_overflow():
    text = (
        "User: U,Path: C:\\x,Test run no.: 1\r\nTest name: t,Date: 1/1/2024,Time: 1:00 PM\r\n\r\n"
        "Absorbance\r\n\r\n"
    )
    for wl, n in (("450", 1), ("620", 2)):
        text += f"Raw Data ({wl} {n})\r\n\r\n,1,2,3,4,5,6,7,8,9,10,11,12,\r\n"
        text += "".join(f"{r}," + ",".join(["overflow" if (r, wl) == ("A", "450") else "0.5"] * 12) + "\r\n"
                        for r in "ABCDEFGH")
        text += "\r\n"
    df = read_plate(Source(text.encode(), "two.csv"))
    assert sorted(df["read"].unique()) == ["abs_450", "abs_620"] and len(df) == 192
    t = df.set_index(["read", "well"])
    assert t.loc[("abs_450", "A5"), "flag"] == "overflow" and math.isnan(t.loc[("abs_450", "A5"), "value"])
    assert t.loc[("abs_620", "A5"), "value"] == 0.5


def test_smart_synthetic_variants():
    df = read_plate(Source(xlsx(smart_rows()), "s.xlsx"))
    assert df.attrs["format"] == "bmg_smart" and set(df["read"]) == {"fluo_485_535"}
    assert set(df["std_conc_unit"]) == {"pg/mL", ""}
    assert df["dilution"].isna().all() and df["dilution"].dtype == float
    no_layout = read_plate(Source(xlsx(smart_rows(blocks=("raw",))), "s2.xlsx"))
    assert (no_layout["sample_label"] == "").all() and len(no_layout) == 96
    txt = read_plate(Source(xlsx(smart_rows(raw_cell="OVER")), "s3.xlsx")).set_index(["metric", "well"])
    assert txt.loc[("raw", "B1"), "flag"] == "overflow"


# ---------------------------------------------------------------- errors


def _mars(extra_blocks: str = "", title: str = "Raw Data (450 1)") -> str:
    head = "User: U,Path: P,Test run no.: 1\nTest name: t,Date: d,Time: t\n\nAbsorbance\n\n"
    grid = ",1,2,3,4,5,6,7,8,9,10,11,12,\n" + "".join(f"{r}" + ",0.1" * 12 + "\n" for r in "ABCDEFGH")
    return head + (f"{title}\n\n" if title else "") + grid + extra_blocks


def test_error_duplicate_block():
    text = _mars("\nRaw Data (450 1)\n\n,1,2,3,4,5,6,7,8,9,10,11,12,\n"
                 + "".join(f"{r}" + ",0.2" * 12 + "\n" for r in "ABCDEFGH"))
    with pytest.raises(ReaderError, match="appears twice") as info:
        read_plate(Source(text.encode(), "dup.csv"))
    assert info.value.location["line"] == 18 and "dup.csv" in str(info.value)


def test_error_grid_without_title_and_no_grid():
    with pytest.raises(ReaderError, match="without a block title") as info:
        read_plate(Source(_mars(title="").encode(), "notitle.csv"), format="bmg_csv")
    assert info.value.location["line"] == 6
    text = "User: U,Path: P,Test run no.: 1\nTest name: t\nAbsorbance\nRaw Data (450 1)\n\n"
    with pytest.raises(ReaderError, match="no data grid found"):
        read_plate(Source(text.encode(), "nogrid.csv"))


def test_error_broken_grid_row():
    text = _mars().replace("C,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1,0.1", "C,0.1,0.1")
    with pytest.raises(ReaderError, match="missing cells") as info:
        read_plate(Source(text.encode(), "ragged.csv"))
    assert info.value.location["line"] == 11


def test_error_smart_sheet_missing_and_bad_numbers():
    other = xlsx([["abs", *range(1, 13)]] + [[r, *([1.0] * 12)] for r in "ABCDEFGH"], sheet="Data")
    with pytest.raises(ReaderError, match="no SMART Control data sheet"):
        read_plate(Source(other, "other.xlsx"), format="bmg_smart")
    with pytest.raises(ReaderError, match="not a number in block") as info:
        read_plate(Source(xlsx(smart_rows(std_cell="lots")), "badstd.xlsx"))
    e = info.value
    assert e.location["sheet"] == "Microplate End point" and e.location["well"] == "A1" and "'lots'" in str(e)
    with pytest.raises(ReaderError, match="no data block found"):
        read_plate(Source(xlsx(smart_rows(blocks=("layout", "std"))), "nodata.xlsx"))
    rows = smart_rows(blocks=("raw",)) + [[]] + smart_rows(blocks=("raw",))[4:]
    with pytest.raises(ReaderError, match="appears twice") as info:
        read_plate(Source(xlsx(rows), "dup.xlsx"))
    assert info.value.location["sheet"] == "Microplate End point"


# ------------------------------------------------------------------ fuzz


def _fuzz_file(path: Path, name: str) -> None:
    @FUZZ_SETTINGS
    @given(mutated(path.read_bytes()))
    def run(data):
        check_reader_contract(data, name)

    run()


def test_fuzz_mars(corpus):
    _fuzz_file(corpus(*BMG, "mars_absorbance_450.csv"), "mars.csv")


def test_fuzz_pherastar(corpus):
    _fuzz_file(corpus(*BMG, "pherastar_output.csv"), "pherastar.csv")


def test_fuzz_smart_xlsx(corpus):
    _fuzz_file(corpus(*BMG, "smart_control_picogreen_stdcurve.xlsx"), "smart.xlsx")


def test_fuzz_inputs_exist_or_skip(corpus):
    path = corpus(*BMG, "mars_absorbance_450.csv")
    assert isinstance(path, Path) and path.read_bytes()


# Cell-level fuzz of the SMART Control workbook (zip-level mutations rarely stay readable).
_CELLS = ["", None, "OVER", "A", "1. Layout", "4. Raw Data (1/2)", "Absorbance", 1.0, -2.5, "x", True]


@st.composite
def _cell_edits(draw):
    return draw(st.lists(st.tuples(st.sampled_from(["set", "delete", "dup", "cut"]), st.integers(0, 10_000),
                                   st.integers(0, 10_000), st.sampled_from(_CELLS)), min_size=1, max_size=4))


def test_fuzz_smart_cells(corpus):
    data = corpus(*BMG, "smart_control_picogreen_stdcurve.xlsx").read_bytes()

    @FUZZ_SETTINGS
    @given(_cell_edits())
    def run(edits):
        _smart_cells(data, edits)

    run()


def _smart_cells(data: bytes, edits) -> None:
    base, src = Source(data, "smart.xlsx"), Source(data, "smart.xlsx")
    for sheet in base.sheet_names:
        rows = [list(r) for r in base.sheet(sheet)]
        for op, i, j, val in edits:
            i %= len(rows)
            if op == "set" and rows[i]:
                rows[i][j % len(rows[i])] = val
            elif op == "delete":
                del rows[i]
            elif op == "dup":
                rows.insert(i, list(rows[i]))
            else:
                rows[i] = rows[i][: j % (len(rows[i]) + 1)]
        src._sheets[sheet] = rows
    try:
        df = read_plate(src)
    except AssaykitError as exc:
        assert str(exc)
        return
    validate_plate_table(df)
