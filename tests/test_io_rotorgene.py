"""Qiagen Rotor-Gene Q analysed-data CSV reader (assaykit.io.qpcr.rotorgene)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given

from assaykit import read_qpcr
from assaykit.errors import ReaderError
from assaykit.io import Source
from assaykit.io.qpcr.rotorgene import rotor_position_to_well

SINGLE = ("qpcr", "qiagen_rotorgene_excel_analysed_export_semicolon__qpcr_28S_irregular.csv")
MULTI = ("qpcr", "qiagen_rotorgene_multi_assay_semicolon__qpcr_irregular_multi_assay.csv")

TABLE_HEADER = (
    "No.;Color;Name;Type;Ct;Ct Comment;Given Conc (Copies);Calc Conc (Copies);% Var;Rep. Ct;"
    "Rep. Ct Std. Dev.;Rep. Ct (95% CI);Rep. Calc. Conc.;Rep. Calc. Conc. (95% CI)"
)


def _src(text: str, name: str = "rg.csv") -> Source:
    return Source(data=text.encode(), name=name)


def _block(assay: str, rows: list[str]) -> str:
    return f"Quantitative analysis of Cycling A.Green ({assay});;;;;;;;;;;;;\n;;;;;;;;;;;;;\n{TABLE_HEADER}\n" + "\n".join(rows) + "\n"


def _pos(df, position, target):
    sel = df[(df["instrument_position"] == position) & (df["target"] == target)]
    assert len(sel) == 1
    return sel.iloc[0]


@pytest.mark.parametrize(
    "position, well", [(1, "A1"), (12, "A12"), (13, "B1"), (25, "C1"), (48, "D12"), (72, "F12"), (100, "I4")]
)
def test_position_mapping(position, well):
    assert rotor_position_to_well(position) == well


# (format, rows, whole columns and spot values of each file: test_io_formats_table.py)
def test_single_assay_corpus(corpus):
    df = read_qpcr(corpus(*SINGLE))
    assert list(df["instrument_position"]) == list(range(25, 49))
    assert df["quantity"].isna().all() and df["instrument_calc_conc"].isna().all()


def test_multi_assay_corpus(corpus):
    df = read_qpcr(corpus(*MULTI))
    assert df["instrument_threshold"].isna().all()  # this copy has no threshold block
    # same rotor positions in each block, distinct by target
    assert df.groupby("target")["well"].apply(list).map(tuple).nunique() == 1


def test_standards_ntc_decimal_comma_and_empty_ct():
    text = (
        "Excel Analysed Data Export;;;;;;;;;;;;;\n"
        + _block("IL21", [
            "1;255;Std A;Standard;15,25;;1000000;990000;1;15,3;0,07;;;",
            "2;255;Std A;Standard;15,35;;1000000;1010000;1;;;;;",
            "3;255;water;NTC;;NEG (NTC);;;;;;;;",
            "4;255;neg;Negative Control;;;;;;;;;;",
        ])  # fmt: skip
    )
    df = read_qpcr(_src(text))
    a1 = _pos(df, 1, "IL21")
    assert (a1["task"], a1["cq"], a1["quantity"], a1["instrument_calc_conc"]) == ("standard", 15.25, 1e6, 9.9e5)
    assert a1["instrument_rep_ct_sd"] == 0.07
    ntc = _pos(df, 3, "IL21")
    assert (ntc["task"], ntc["cq_flag"], ntc["instrument_ct_comment"]) == ("ntc", "undetermined", "NEG (NTC)")
    assert math.isnan(ntc["cq"])
    assert _pos(df, 4, "IL21")["task"] == "negative_control"


# ------------------------------------------------------------------ bad input
def test_text_in_ct_keeps_the_row_flagged_not_numeric():
    df = read_qpcr(_src(_block("X", ["25;1;NK1;Unknown;seven;;;;;;;;;"])))
    row = df.iloc[0]
    assert math.isnan(row["cq"]) and row["cq_flag"] == "not_numeric" and row["cq_raw"] == "seven"


def test_text_in_another_numeric_column_names_line_and_well():
    text = _block("X", ["25;1;NK1;Unknown;7.5;;;;;;;;;"])
    text = text.replace("25;1;NK1;Unknown;7.5;;;", "25;1;NK1;Unknown;7.5;;many;")
    with pytest.raises(ReaderError, match=r"rg.csv, line 4, well C1: column '.*' is not a number .*'many'"):
        read_qpcr(_src(text))


def test_duplicated_position():
    text = _block("X", ["25;1;NK1;Unknown;7.5;;;;;;;;;", "25;1;NK1;Unknown;7.6;;;;;;;;;"])
    with pytest.raises(ReaderError, match=r"line 5, well C1, target X: rotor position listed twice .*first on line 4"):
        read_qpcr(_src(text))


def test_duplicated_assay_block():
    text = _block("X", ["25;1;NK1;Unknown;7.5;;;;;;;;;"]) + ";;;;;;;;;;;;;\n" + _block("X", ["25;1;NK1;Unknown;7.5;;;;;;;;;"])
    with pytest.raises(ReaderError, match="rotor position listed twice"):
        read_qpcr(_src(text))


def test_truncated_line():
    text = _block("X", ["25;1;NK1;Unknown;7.5;;;;;;;;;", "26;1;NK1;Unk"])
    with pytest.raises(ReaderError, match=r"line 5: line has the wrong number of fields .*expected 14 fields"):
        read_qpcr(_src(text))


def test_bad_position():
    with pytest.raises(ReaderError, match=r"line 4: invalid rotor position .*'101'"):
        read_qpcr(_src(_block("X", ["101;1;NK1;Unknown;7.5;;;;;;;;;"])))
    with pytest.raises(ReaderError, match=r"invalid rotor position .*'A1'"):
        read_qpcr(_src(_block("X", ["A1;1;NK1;Unknown;7.5;;;;;;;;;"])))


def test_block_without_table_and_missing_column():
    with pytest.raises(ReaderError, match=r"line 3, target X: assay block without a result table"):
        read_qpcr(_src("Quantitative analysis of Cycling A.Green (X);;\n;;\nsomething else;;\nNo.;Name;Ct\n"))
    with pytest.raises(ReaderError, match=r"result table lacks a column .*'Ct'"):
        read_qpcr(_src("Quantitative analysis of Cycling A.Green (X)\nNo.;Name;Cq\n1;a;20\n"))


def test_no_table_no_block_no_rows():
    with pytest.raises(ReaderError, match="no Rotor-Gene result table found"):
        read_qpcr(_src("Quantitative analysis of X\nfoo\n"), format="rotorgene")
    with pytest.raises(ReaderError, match="no assay block found"):
        read_qpcr(_src("No.;Name;Ct\n1;a;20\n"), format="rotorgene")
    with pytest.raises(ReaderError, match="assay blocks hold no rows"):
        read_qpcr(_src(_block("X", [])))


def test_wrong_separator_in_rows():
    text = _block("X", ["25,1,NK1,Unknown,7.5,,,,,,,,,"])
    with pytest.raises(ReaderError, match=r"line 4: line has the wrong number of fields .*found 1 fields"):
        read_qpcr(_src(text), format="rotorgene")


def test_tab_separated_is_read():
    text = _block("X", ["25;1;NK1;Unknown;7.5;;;;;;;;;"]).replace(";", "\t")
    df = read_qpcr(_src(text), format="rotorgene")
    assert (df.loc[0, "well"], df.loc[0, "cq"]) == ("C1", 7.5)


@pytest.mark.parametrize("parts", [SINGLE, MULTI])
def test_fuzz_rotorgene(parts, corpus):
    data = corpus(*parts).read_bytes()

    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(mut):
        df = check_reader_contract(mut, parts[-1], kind="qpcr", format="rotorgene")
        if df is not None:
            assert (np.isnan(df["cq"]) == (df["cq_flag"] == "undetermined")).all()

    run()


def test_column_dtypes(corpus):
    df = read_qpcr(corpus(*SINGLE))
    assert df["instrument_position"].dtype == np.int64
    for name in ("instrument_calc_conc", "instrument_rep_ct", "instrument_rep_ct_sd", "instrument_threshold"):
        assert df[name].dtype == np.float64, name
