"""Tests of the generic plate-grid reader and the shared grid helpers."""

from __future__ import annotations

import io
import math

import numpy as np
import openpyxl
import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given

from assaykit.errors import AssaykitError, AssaykitWarning, FormatDetectionError, ReaderError
from assaykit.io import Source, read_plate
from assaykit.io.plate.generic import cell_text, parse_value, read_grid, slug


def grid_text(read="abs_450", rows="ABCDEFGH", ncol=12, sep=",", fill=None):
    head = sep.join([read] + [str(c) for c in range(1, ncol + 1)])
    lines = [head]
    for i, r in enumerate(rows):
        vals = [fill(i, j) if fill else f"{(i * ncol + j) / 1000:.3f}" for j in range(ncol)]
        lines.append(sep.join([r] + vals))
    return "\n".join(lines)


def src(text: str, name: str = "grid.csv") -> Source:
    return Source(data=text.encode("utf-8"), name=name)


def xlsx(sheets: dict[str, list[list]]) -> bytes:
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def grid_rows(read="abs_450", value=0.5):
    return [[read, *range(1, 13)]] + [[r, *([value] * 12)] for r in "ABCDEFGH"]


# ------------------------------------------------------------------ values


@pytest.mark.parametrize(
    "cell, value, raw, flag",
    [
        ("0.125", 0.125, "0.125", ""),
        (" 1e-3 ", 0.001, " 1e-3 ", ""),
        (2.0, 2.0, "2", ""),
        (0.1, 0.1, "0.1", ""),
        (7, 7.0, "7", ""),
        ("", math.nan, "", "empty"),
        (None, math.nan, "", "empty"),
        ("OVER", math.nan, "OVER", "overflow"),
        ("OVRFLW", math.nan, "OVRFLW", "overflow"),
        ("MISSED", math.nan, "MISSED", "missed"),
        ("Invalid", math.nan, "Invalid", "invalid"),
        ("nan", math.nan, "nan", "not_numeric"),
        ("inf", math.nan, "inf", "not_numeric"),
        ("n.d.", math.nan, "n.d.", "not_numeric"),
        (True, math.nan, "TRUE", "not_numeric"),
        (float("inf"), math.nan, "inf", "not_numeric"),
    ],
)
def test_parse_value(cell, value, raw, flag):
    v, r, f = parse_value(cell)
    assert (math.isnan(v) and math.isnan(value)) or v == value
    assert (r, f) == (raw, flag)


def test_parse_value_decimal_comma_and_helpers():
    assert parse_value("0,25", decimal_comma=True)[0] == 0.25
    assert parse_value("0,25")[2] == "not_numeric"
    assert cell_text(3.0) == "3" and cell_text(None) == "" and cell_text(0.5) == "0.5"
    assert slug("Abs600_Copy1") == "abs600_copy1" and slug("  ") == "value"


# ------------------------------------------------------------- happy paths


def test_stacked_grids_csv():
    text = grid_text("abs_450") + "\n\n" + grid_text("", fill=lambda i, j: "OVRFLW" if (i, j) == (0, 0) else "1")
    df = read_plate(src(text))
    assert df.attrs["format"] == "generic"
    assert len(df) == 192 and set(df["read"]) == {"abs_450", "value"}
    assert (df["plate"] == "1").all() and (df["metric"] == "raw").all()
    row = df.set_index(["read", "well"])
    assert row.loc[("abs_450", "A1"), "value"] == 0.0
    assert row.loc[("abs_450", "H12"), "value"] == pytest.approx(0.095)
    assert row.loc[("abs_450", "B3"), "raw"] == "0.014"
    assert math.isnan(row.loc[("value", "A1"), "value"]) and row.loc[("value", "A1"), "flag"] == "overflow"
    assert row.loc[("value", "A2"), "value"] == 1.0


def test_text_cell_is_flagged_not_error_and_empty_cell_kept():
    text = grid_text(fill=lambda i, j: "high" if (i, j) == (2, 3) else ("" if (i, j) == (7, 11) else "0.2"))
    df = read_plate(src(text)).set_index("well")
    assert len(df) == 96
    assert df.loc["C4", "flag"] == "not_numeric" and df.loc["C4", "raw"] == "high"
    assert math.isnan(df.loc["C4", "value"])
    assert df.loc["H12", "flag"] == "empty" and math.isnan(df.loc["H12", "value"])


def test_all_text_grid_warns_like_a_layout():
    with pytest.warns(AssaykitWarning, match="every cell of grid 'value' is text"):
        df = read_plate(src(grid_text("", fill=lambda i, j: f"S{j}")))
    assert len(df) == 96 and (df["flag"] == "not_numeric").all() and df["value"].isna().all()


def test_tsv_semicolon_trailing_separator_and_crlf():
    tsv = grid_text(sep="\t").replace("\n", "\r\n")
    assert len(read_plate(src(tsv, "g.tsv"))) == 96
    semi = grid_text(sep=";", fill=lambda i, j: "0,5")
    df = read_plate(src(semi, "g.csv"))
    assert (df["value"] == 0.5).all()
    trailing = "\n".join(line + "," for line in grid_text().splitlines())
    assert len(read_plate(src(trailing))) == 96


def test_384_and_1536_grids():
    rows384 = "ABCDEFGHIJKLMNOP"
    df = read_plate(src(grid_text("lum", rows384, 24)))
    assert len(df) == 384 and df.iloc[-1]["well"] == "P24"
    rows1536 = [chr(65 + i) for i in range(26)] + ["AA", "AB", "AC", "AD", "AE", "AF"]
    df = read_plate(src(grid_text("lum", rows1536, 48)))
    assert len(df) == 1536 and df.iloc[-1]["well"] == "AF48" and df.iloc[-1]["well0"] == "AF48"


def test_bare_grids():
    bare = "\n".join(",".join(f"{i}.{j}" for j in range(12)) for i in range(8))
    df = read_plate(src(bare))
    assert len(df) == 96 and (df["read"] == "value").all()
    assert df.set_index("well").loc["B3", "value"] == pytest.approx(1.2)
    bare384 = "\n".join("\t".join("5" for _ in range(24)) for _ in range(16))
    assert len(read_plate(src(bare384, "b.tsv"))) == 384


def test_xlsx_one_sheet_is_plate_1_and_sheets_are_plates():
    one = read_plate(Source(xlsx({"Data": grid_rows() + [[]] + grid_rows("abs_630", 0.1)}), "one.xlsx"))
    assert one.attrs["format"] == "generic" and set(one["plate"]) == {"1"} and len(one) == 192
    assert one.set_index(["read", "well"]).loc[("abs_630", "H12"), "value"] == 0.1
    two = read_plate(Source(xlsx({"P1": grid_rows(), "notes": [["hello"]], "P2": grid_rows(value=2)}), "two.xlsx"))
    assert sorted(two["plate"].unique()) == ["P1", "P2"] and len(two) == 192
    assert two.set_index(["plate", "well"]).loc[("P2", "C5"), "value"] == 2.0


def test_content_decides_not_the_name(tmp_path):
    # a csv named .xlsx and an xlsx named .csv are both read by content
    p = tmp_path / "really_text.xlsx"
    p.write_text(grid_text())
    assert len(read_plate(p)) == 96
    q = tmp_path / "really_workbook.csv"
    q.write_bytes(xlsx({"S": grid_rows()}))
    assert len(read_plate(q)) == 96


def test_round_trip_simulator(tmp_path):
    sim = pytest.importorskip("assaykit.simulate")
    truth = sim.random_plate_truth(96, reads=("abs_450", "abs_630"), seed=3, p_overflow=0.05, p_missed=0.05)
    path = sim.write_plate(truth, tmp_path / "sim.csv", "generic")
    df = read_plate(path)
    assert df.attrs["format"] == "generic"
    merged = truth.merge(df, on=["plate", "well", "read"], suffixes=("_true", ""))
    assert len(merged) == len(truth) == len(df)
    np.testing.assert_allclose(merged["value"], merged["value_true"], atol=5e-5, equal_nan=True)
    assert (merged["flag"] == merged["flag_true"]).all()


# ------------------------------------------------------------------ errors


def _err(text, name="bad.csv", **kw) -> ReaderError:
    data = text if isinstance(text, bytes) else text.encode()
    with pytest.raises(ReaderError) as info:
        read_plate(Source(data, name), **kw)
    assert name in str(info.value)
    return info.value


def test_error_missing_column():
    e = _err(grid_text(ncol=11))
    assert "standard plate" in str(e) and "11 columns" in str(e) and e.location["line"] == 1


def test_error_columns_not_numbered():
    head = "abs," + ",".join(["1", "2", "4"] + [str(c) for c in range(5, 14)])
    text = head + "\n" + "\n".join(r + ",1" * 12 for r in "ABCDEFGH")
    e = _err(text)
    assert "numbered" in str(e) and "expected column 3" in str(e)


def test_error_missing_rows():
    e = _err(grid_text(rows="ABCDEFG"))
    assert "missing" in str(e) and "H" in e.found
    e = _err(grid_text(rows="ABDCEFGH"))
    assert "out of order" in str(e)


def test_error_duplicate_row_letter():
    e = _err(grid_text(rows="ABCCDEFGH"))
    assert "duplicate plate row" in str(e) and e.location["line"] == 5


def test_error_row_outside_plate():
    e = _err(grid_text(rows="ABCDEFGHI"))
    assert "row outside the plate" in str(e) and "row I" in str(e)


def test_error_ragged_rows():
    lines = grid_text().splitlines()
    lines[3] = lines[3].rsplit(",", 1)[0]
    e = _err("\n".join(lines))
    assert "missing cells" in str(e) and e.location["line"] == 4
    lines = grid_text().splitlines()
    lines[2] += ",9.9"
    e = _err("\n".join(lines))
    assert "more cells than the header" in str(e) and e.location["line"] == 3


def test_error_unexpected_content():
    e = _err(grid_text() + "\n\nsome note here")
    assert "outside a grid block" in str(e) and e.location["line"] == 11
    e = _err(grid_text() + "\nTotal,1,2")
    assert "unexpected row after a grid" in str(e)


def test_error_duplicate_read():
    e = _err(grid_text() + "\n\n" + grid_text())
    assert "two grid blocks" in str(e) and "abs_450" in str(e)


def test_error_bare_grid_shapes():
    row = ",".join(["1"] * 12)
    e = _err("\n".join([row] * 7))
    assert "bare grid has missing rows" in str(e)
    e = _err("\n".join([row] * 9))
    assert "too many rows" in str(e)
    e = _err("\n".join([row] * 3 + [",".join(["1"] * 11)] + [row] * 4))
    assert "missing cells" in str(e) and e.location["line"] == 4
    e = _err("\n".join([row] * 3 + [row + ",2"] + [row] * 4))
    assert "more cells than the first row" in str(e)


def test_error_grid_header_without_rows_and_not_a_header():
    s = src("x")
    with pytest.raises(ReaderError, match="grid header without rows"):
        read_grid([["abs", *range(1, 13)], ["note"]], 0, source=s)
    with pytest.raises(ReaderError, match="not a grid header row"):
        read_grid([["abs", "x"]], 0, source=s, sheet="S1")


def test_error_xlsx_without_grids_forced():
    e = _err(xlsx({"S": [["just", "text"]]}), "nogrid.xlsx", format="generic")
    assert "no sheet holds plate grids" in str(e)


def test_error_xlsx_sheet_named_in_message():
    rows = grid_rows()
    rows[3] = ["C", "C", *([0.1] * 11)]
    rows.insert(4, ["C", *([0.1] * 12)])
    e = _err(xlsx({"Data": rows}), "dup.xlsx")
    assert e.location["sheet"] == "Data" and "duplicate plate row" in str(e)


def test_empty_binary_and_truncated_files():
    with pytest.raises(AssaykitError) as info:
        read_plate(Source(b"", "empty.csv"))
    assert "empty.csv" in str(info.value)
    with pytest.raises(ReaderError, match="empty"):
        read_plate(Source(b"  \n", "blank.csv"), format="generic")
    data = xlsx({"S": grid_rows()})
    with pytest.raises(ReaderError) as info:
        read_plate(Source(data[: len(data) // 2], "cut.xlsx"))
    assert "cut.xlsx" in str(info.value)
    with pytest.raises(FormatDetectionError):
        read_plate(Source(b"hello\nworld\n", "notes.txt"))


# -------------------------------------------------------------------- fuzz

_GRID = (grid_text() + "\n\n" + grid_text("abs_630")).encode()
_XLSX = xlsx({"S": grid_rows() + [[]] + grid_rows("abs_630")})


@FUZZ_SETTINGS
@given(mutated(_GRID))
def test_fuzz_generic_text(data):
    df = check_reader_contract(data, "fuzz.csv", format="generic")
    if df is not None:
        assert len(df) % 96 == 0


@FUZZ_SETTINGS
@given(mutated(_XLSX))
def test_fuzz_generic_xlsx(data):
    check_reader_contract(data, "fuzz.xlsx")
