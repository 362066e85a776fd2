"""Bio-Rad CFX Maestro / Manager Cq results reader (assaykit.io.qpcr.cfx)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given

from assaykit import read_qpcr
from assaykit.errors import ReaderError
from assaykit.io import Source
from assaykit.io.qpcr.cfx import cfx_task

MAESTRO = ("qpcr", "biorad_cfxmaestro_cq_results__allotropy_example01.csv")
MANAGER = ("qpcr", "biorad_cfx_manager_cq_results__HTqPCR_CFX_sample.txt")

HEADER = (
    ",Well,Fluor,Target,Content,Sample,Biological Set Name,Cq,Cq Mean,Cq Std. Dev,"
    "Starting Quantity (SQ),Log Starting Quantity,SQ Mean,SQ Std. Dev,Set Point,Well Note"
)


def _src(text: str, name: str = "cfx.csv") -> Source:
    return Source(data=text.encode(), name=name)


def _row(df, well, target):
    sel = df[(df["well"] == well) & (df["target"] == target)]
    assert len(sel) == 1
    return sel.iloc[0]


# (format, rows, whole columns and spot values of each file: test_io_formats_table.py)
def test_manager_corpus(corpus):
    df = read_qpcr(corpus(*MANAGER))
    assert df.loc[df["task"] == "standard", "quantity"].notna().all()
    assert int((df["cq_flag"] == "undetermined").sum()) == 10
    assert df["instrument_cq_mean"].min() > 0


@pytest.mark.parametrize(
    "content, task",
    [
        ("Unkn", "unknown"),
        ("Unkn-01", "unknown"),
        ("Std-101", "standard"),
        ("NTC", "ntc"),
        ("NTC-02", "ntc"),
        ("NRT", "nrt"),
        ("Neg Ctrl", "negative_control"),
        ("Pos Ctrl", "positive_control"),
        ("Blank", "blank"),
        ("", "unknown"),
        ("miR-101", "unknown"),
    ],
)
def test_content_to_task(content, task):
    assert cfx_task(content) == task


def test_semicolon_decimal_comma_and_melt():
    text = (
        ";Well;Fluor;Target;Content;Sample;Cq;Cq Mean;Cq Std. Dev;Starting Quantity (SQ);Melt Temperature\n"
        ";A01;SYBR;IL17A;Std-01;S1;21,50;21,40;0,14;1000;82,5\n"
        ";A02;SYBR;IL17A;NTC;;NaN;0;0;NaN;0\n"
    )
    df = read_qpcr(_src(text))
    assert df.attrs["format"] == "cfx"
    a1 = _row(df, "A1", "IL17A")
    assert (a1["cq"], a1["instrument_cq_mean"], a1["quantity"], a1["tm"]) == (21.5, 21.4, 1000.0, 82.5)
    a2 = _row(df, "A2", "IL17A")
    assert a2["task"] == "ntc" and a2["cq_flag"] == "undetermined" and math.isnan(a2["tm"])


def test_empty_cq_is_flagged_empty():
    df = read_qpcr(_src(HEADER + "\n,A01,FAM,X,Unkn,s,,,,,NaN,NaN,NaN,0,60,\n"))
    assert df.loc[0, "cq_flag"] == "empty" and np.isnan(df.loc[0, "cq"])


# ------------------------------------------------------------------ bad input
def test_text_in_cq_keeps_the_row_flagged_not_numeric():
    # one unreadable Cq cell does not reject the plate: the row stays, NaN, with its text
    text = HEADER + "\n,A01,FAM,X,Unkn,s,,21.0,21.0,0,NaN,NaN,NaN,0,60,\n,A02,FAM,X,Unkn,s,,abc,21.0,0,NaN,NaN,NaN,0,60,\n"
    df = read_qpcr(_src(text))
    a2 = df[df["well"] == "A2"].iloc[0]
    assert np.isnan(a2["cq"]) and a2["cq_flag"] == "not_numeric" and a2["cq_raw"] == "abc"
    assert df[df["well"] == "A1"].iloc[0]["cq"] == 21.0 and df[df["well"] == "A1"].iloc[0]["cq_flag"] == ""


def test_text_in_other_numeric_column():
    text = HEADER + "\n,A01,FAM,X,Unkn,s,,21.0,mean?,0,NaN,NaN,NaN,0,60,\n"
    with pytest.raises(ReaderError, match=r"line 2, well A1: column 'Cq Mean' is not a number"):
        read_qpcr(_src(text))


def test_duplicated_well():
    text = HEADER + "\n,A01,FAM,X,Unkn,s,,21.0,21.0,0,NaN,NaN,NaN,0,60,\n,A01,FAM,X,Unkn,s,,22.0,21.0,0,NaN,NaN,NaN,0,60,\n"
    with pytest.raises(ReaderError, match=r"line 3, well A1, target X: duplicated well × target .*first on line 2"):
        read_qpcr(_src(text))


def test_truncated_line():
    text = HEADER + "\n,A01,FAM,X,Unkn,s,,21.0,21.0,0,NaN,NaN,NaN,0,60,\n,A02,FAM,X,Unkn,s,,21"
    with pytest.raises(ReaderError, match=r"line 3: line has the wrong number of fields .*expected 16 fields"):
        read_qpcr(_src(text))


def test_wrong_separator_in_data_lines():
    text = HEADER + "\n;A01;FAM;X;Unkn;s;;21.0;21.0;0;NaN;NaN;NaN;0;60;\n"
    with pytest.raises(ReaderError, match="wrong number of fields"):
        read_qpcr(_src(text), format="cfx")


def test_invalid_well():
    text = HEADER + "\n,A-1,FAM,X,Unkn,s,,21.0,21.0,0,NaN,NaN,NaN,0,60,\n"
    with pytest.raises(ReaderError, match=r"line 2: invalid well name .*'A-1'"):
        read_qpcr(_src(text))


def test_no_header_and_no_rows():
    with pytest.raises(ReaderError, match=r"no CFX Cq results header found"):
        read_qpcr(_src("Well;Something\n1;2\n"), format="cfx")
    with pytest.raises(ReaderError, match=r"no wells after the header"):
        read_qpcr(_src(HEADER + "\n\n"))


# ------------------------------------------------------------------ fuzz
@pytest.mark.parametrize("parts", [MAESTRO, MANAGER])
def test_fuzz_cfx(parts, corpus):
    data = corpus(*parts).read_bytes()

    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(mut):
        df = check_reader_contract(mut, parts[-1], kind="qpcr", format="cfx")
        if df is not None:
            assert (np.isnan(df["cq"]) == (df["cq_flag"] != "")).all()

    run()


def test_unbalanced_quote_keeps_line_numbers():
    text = HEADER + '\n,A01,FAM,X,Unkn,"s,,21.0,21.0,0,NaN,NaN,NaN,0,60,\n,A02,FAM,X,Unkn,s,,21.0,21.0,0,NaN,NaN,NaN,0,60,\n'
    with pytest.raises(ReaderError, match=r"line 2: line has the wrong number of fields"):
        read_qpcr(_src(text))


def test_metadata_lines_before_header_and_no_leading_column():
    meta = "".join(f"Key {i},value {i}\n" for i in range(15))
    text = meta + "Well,Fluor,Target,Content,Sample,Cq\nA01,HEX,RNase P,Pos Ctrl,PC-001,22.14\nA02,FAM,CoV,NTC,,N/A\n"
    df = read_qpcr(_src(text))
    assert df.attrs["format"] == "cfx"
    a1 = _row(df, "A1", "RNase P")
    assert (a1["task"], a1["reporter"], a1["cq"]) == ("positive_control", "HEX", 22.14)
    assert math.isnan(a1["instrument_cq_mean"]) and math.isnan(a1["instrument_starting_quantity"])
    assert _row(df, "A2", "CoV")["cq_flag"] == "undetermined"


def test_column_dtypes():
    df = read_qpcr(_src(HEADER + "\n,A01,FAM,X,Unkn,s,,NaN,0,0,NaN,NaN,NaN,0,60,\n"))
    for name in ("instrument_cq_mean", "instrument_cq_sd", "instrument_starting_quantity", "instrument_sq_mean", "instrument_sq_sd"):
        assert df[name].dtype == np.float64, name
