"""Tests of assaykit.report.excel: read the workbook back with openpyxl and check it."""

from __future__ import annotations

import datetime as dt
import hashlib
import os

import numpy as np
import openpyxl
import pandas as pd
import pytest
from fuzzing import FUZZ_SETTINGS
from hypothesis import given, settings
from hypothesis import strategies as st

import assaykit
from assaykit.errors import ReportError
from assaykit.report import file_sha256, info_table, sheet_names, write_workbook
from assaykit.report.excel import INFO_COLUMNS


def sample_tables() -> dict[str, pd.DataFrame]:
    wells = pd.DataFrame(
        {
            "well": ["A1", "A2", "A3"],
            "od_450": [0.123456789, np.nan, 2.5],
            "n": np.array([1, 2, 3], dtype=np.int64),
            "ok": [True, False, True],
            "flag": ["", "overflow", ""],
        },
        index=[10, 11, 12],
    )
    curves = pd.DataFrame({"read": ["abs_450"], "c": [161.9], "converged": [True]})
    return {"wells": wells, "curves": curves}


def test_workbook_round_trip(tmp_path):
    inp = tmp_path / "export.txt"
    inp.write_bytes(b"some export\r\n")
    out = write_workbook(sample_tables(), tmp_path / "r.xlsx", info={"model": "4pl", "cv_max": 20}, inputs=[inp])
    assert out == tmp_path / "r.xlsx"
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["info", "wells", "curves"]

    ws = wb["wells"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == ("well", "od_450", "n", "ok", "flag")  # index not written
    assert len(rows) == 4
    assert rows[1] == ("A1", 0.123456789, 1, True, None)  # full precision; '' → empty cell
    assert rows[2][1] is None  # NaN → empty cell
    assert ws["B2"].data_type == "n" and ws["C2"].data_type == "n" and ws["D2"].data_type == "b"
    assert isinstance(ws["C2"].value, int)
    assert ws.freeze_panes == "A2"
    assert ws.auto_filter.ref == "A1:E4"
    assert ws["A1"].font.b
    assert 8 <= ws.column_dimensions["B"].width <= 60
    assert wb["curves"].auto_filter.ref == "A1:C2"


def test_info_sheet_contents(tmp_path):
    inp = tmp_path / "export.txt"
    inp.write_bytes(b"abc")
    out = write_workbook(sample_tables(), tmp_path / "r.xlsx", info={"model": "4pl", "levels": [1, 2], "none": None}, inputs=[inp])
    ws = openpyxl.load_workbook(out)["info"]
    rows = list(ws.iter_rows(values_only=True))
    assert rows[0] == INFO_COLUMNS
    table = {(r[0], r[1]): (r[2], r[3]) for r in rows[1:]}
    assert table[("assaykit", "version")] == (assaykit.__version__, None)
    for lib in ("python", "pandas", "numpy", "lmfit", "openpyxl"):
        assert table[("environment", lib)][0]
    assert table[("environment", "pandas")][0] == pd.__version__
    created = table[("run", "created_utc")][0]
    assert dt.datetime.strptime(created, "%Y-%m-%dT%H:%M:%SZ")
    value, digest = table[("input", "export.txt")]
    assert value == os.path.abspath(inp)
    assert digest == hashlib.sha256(b"abc").hexdigest()
    assert digest == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    assert table[("parameter", "model")] == ("4pl", None)
    assert table[("parameter", "levels")] == ("[1, 2]", None)
    assert table[("parameter", "none")] == (None, None)
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref.startswith("A1:D")


def test_info_table_and_numbers_stay_numbers():
    t = info_table({"k": np.int64(3), "x": 2.5, "flag": True}, timestamp=dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.UTC))
    assert list(t.columns) == list(INFO_COLUMNS)
    params = t[t["section"] == "parameter"].set_index("name")["value"]
    assert params["k"] == 3 and isinstance(params["k"], int)
    assert params["x"] == 2.5 and params["flag"] is True
    assert t.set_index("name").loc["created_utc", "value"] == "2024-01-02T03:04:05Z"


def test_sheet_names_sanitised_and_unique():
    names = sheet_names(["a/b", "x" * 40, "x" * 35, "info", "A/B", "[qc]:*?", "'quoted'", "", "History"])
    assert names[0] == "a_b"
    assert names[1] == "x" * 31
    assert names[2] == "x" * 29 + "_2"
    assert names[3] == "info_2"
    assert names[4] == "A_B_2"  # Excel compares names case-insensitively
    assert names[5] == "_qc____"
    assert names[6] == "quoted"
    assert names[7] == "sheet"
    assert names[8] == "History_2"
    assert all(len(n) <= 31 for n in names)
    assert len({n.lower() for n in names}) == len(names)


def test_workbook_sheet_order_follows_tables(tmp_path):
    tables = {"z/last": pd.DataFrame({"a": [1]}), "info": pd.DataFrame({"b": [2]}), "m" * 40: pd.DataFrame({"c": [3]})}
    wb = openpyxl.load_workbook(write_workbook(tables, tmp_path / "o.xlsx"))
    assert wb.sheetnames == ["info", "z_last", "info_2", "m" * 31]
    assert wb["info_2"]["A2"].value == 2


def test_special_values(tmp_path):
    df = pd.DataFrame(
        {
            "text": ["=SUM(A1:A2)", "bell\x07char", "ok"],
            "inf": [np.inf, -np.inf, 1.0],
            "when": pd.to_datetime(["2024-01-02 03:04:05", None, "2024-01-03 00:00:00"]),
            "tz": pd.to_datetime(["2024-01-02 03:04:05"] * 3).tz_localize("UTC"),
            "span": pd.to_timedelta([1, 2, 3], unit="s"),
            "nullable": pd.array([1, None, 3], dtype="Int64"),
            "cat": pd.Categorical(["a", "b", "a"]),
        }
    )
    ws = openpyxl.load_workbook(write_workbook({"t": df}, tmp_path / "s.xlsx"))["t"]
    assert ws["A2"].value == "=SUM(A1:A2)" and ws["A2"].data_type == "s"  # never a formula
    assert ws["A3"].value == "bellchar"  # control characters removed
    assert ws["B2"].value == "inf" and ws["B3"].value == "-inf" and ws["B4"].value == 1.0
    assert ws["C2"].value == dt.datetime(2024, 1, 2, 3, 4, 5) and ws["C3"].value is None
    assert ws["D2"].value == "2024-01-02T03:04:05+00:00"
    assert ws["E2"].value == "0 days 00:00:01"
    assert ws["F2"].value == 1 and ws["F3"].value is None
    assert ws["G3"].value == "b"


def test_empty_table_still_has_header_and_filter(tmp_path):
    ws = openpyxl.load_workbook(write_workbook({"e": pd.DataFrame({"a": [], "b": []})}, tmp_path / "e.xlsx"))["e"]
    assert [c.value for c in ws[1]] == ["a", "b"]
    assert ws.auto_filter.ref == "A1:B1" and ws.freeze_panes == "A2"


def test_no_leftover_temporary_file(tmp_path):
    write_workbook(sample_tables(), tmp_path / "r.xlsx")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.xlsx"]


def test_errors(tmp_path):
    with pytest.raises(ReportError, match="workbook name must end in .xlsx") as info:
        write_workbook({}, tmp_path / "r.csv")
    assert info.value.found == "'.csv'"
    with pytest.raises(ReportError, match="folder of the workbook does not exist"):
        write_workbook({}, tmp_path / "nope" / "r.xlsx")
    with pytest.raises(ReportError, match="table 'x' is not a DataFrame") as info:
        write_workbook({"x": [1, 2]}, tmp_path / "r.xlsx")
    assert info.value.found == "list"
    multi = pd.DataFrame([[1, 2]], columns=pd.MultiIndex.from_tuples([("a", "x"), ("a", "y")]))
    with pytest.raises(ReportError, match="table has MultiIndex columns") as info:
        write_workbook({"m": multi}, tmp_path / "r.xlsx")
    assert info.value.location["sheet"] == "m"
    long = pd.DataFrame({"t": ["ok", "y" * 40_000]})
    with pytest.raises(ReportError, match="text too long for an Excel cell") as info:
        write_workbook({"long": long}, tmp_path / "r.xlsx")
    assert info.value.location == {"sheet": "long", "line": 3, "column": "t"}
    with pytest.raises(ReportError, match="cannot hash input file") as info:
        write_workbook({}, tmp_path / "r.xlsx", inputs=[tmp_path / "missing.txt"])
    assert info.value.found == "No such file or directory"
    assert not (tmp_path / "r.xlsx").exists()


def test_too_large_table(monkeypatch, tmp_path):
    import assaykit.report.excel as excel

    monkeypatch.setattr(excel, "_MAX_ROWS", 20)
    with pytest.raises(ReportError, match=r"table 'big' is too large for one Excel sheet \(write it as CSV instead\)"):
        write_workbook({"big": pd.DataFrame({"a": range(25)})}, tmp_path / "r.xlsx")


def test_write_failure_is_report_error(tmp_path, monkeypatch):
    from openpyxl import Workbook

    def fail(self, filename):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(Workbook, "save", fail)
    with pytest.raises(ReportError, match="cannot write workbook") as info:
        write_workbook(sample_tables(), tmp_path / "r.xlsx")
    assert info.value.found == "Permission denied"


def test_file_sha256(tmp_path):
    p = tmp_path / "f.bin"
    p.write_bytes(b"\x00" * 3_000_000)
    assert file_sha256(p) == hashlib.sha256(b"\x00" * 3_000_000).hexdigest()


# ------------------------------------------------------------- property-based round trip

_cells = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=False, width=64),
    st.integers(-(2**53), 2**53),
    st.text(max_size=30),
    st.booleans(),
)


@settings(FUZZ_SETTINGS, max_examples=10)
@given(
    st.lists(st.lists(_cells, min_size=3, max_size=3), min_size=0, max_size=12),
    st.lists(st.text(min_size=0, max_size=40), min_size=1, max_size=3, unique=True),
)
def test_any_table_round_trips(tmp_path_factory, rows, names):
    import math
    import re

    df = pd.DataFrame(rows, columns=["a", "b", "c"], dtype=object)
    tables = {name: df for name in names}
    out = write_workbook(tables, tmp_path_factory.mktemp("wb") / "p.xlsx")
    wb = openpyxl.load_workbook(out)
    assert wb.sheetnames == ["info", *sheet_names(names)]
    ws = wb[wb.sheetnames[1]]
    assert ws.auto_filter.ref == f"A1:C{len(rows) + 1}"
    # (a row of empty cells is not stored in xlsx: read exactly as many rows as written)
    got = list(ws.iter_rows(min_row=2, max_row=len(rows) + 1, max_col=3, values_only=True)) if rows else []
    assert len(got) == len(rows)
    illegal = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f]")
    for want_row, got_row in zip(rows, got, strict=True):
        for want, have in zip(want_row, got_row, strict=True):
            if want is None or (isinstance(want, float) and math.isnan(want)):
                assert have is None
            elif isinstance(want, str):
                cleaned = illegal.sub("", want)
                assert have == (cleaned if cleaned else None) or (have is None and cleaned == "")
            elif isinstance(want, bool):
                assert have is want
            elif isinstance(want, int):
                assert have == want and isinstance(have, int) and not isinstance(have, bool)
            else:  # xlsx has one number type (2.0 may come back as 2); openpyxl writes 16 digits
                assert not isinstance(have, str | bool)
                assert have == pytest.approx(want, rel=1e-15, abs=0)
