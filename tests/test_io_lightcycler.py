"""Roche LightCycler 480 text export reader (assaykit.io.qpcr.lightcycler)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given

from assaykit import read_qpcr
from assaykit.errors import ReaderError
from assaykit.io import Source

LC480 = ("qpcr", "roche_lc480_absquant_2ndderivmax__HTqPCR_LightCycler_sample.txt")
HEAD = "Experiment: test run  Selected Filter: FAM (465-510)\nInclude\tColor\tPos\tName\tCp\tConcentration\tStandard\tStatus\n"


def _src(text: str, name: str = "lc.txt") -> Source:
    return Source(data=text.encode(), name=name)


def _well(df, well):
    sel = df[df["well"] == well]
    assert len(sel) == 1
    return sel.iloc[0]


# (format, rows, whole columns and spot values of each file: test_io_formats_table.py)
def test_corpus_file(corpus):
    df = read_qpcr(corpus(*LC480))  # CR-only line ends
    assert df["well"].is_unique
    std = df[df["task"] == "standard"]
    assert sorted(std["quantity"].unique()) == [1, 10, 100, 1000, 1e4, 1e5, 1e6]
    assert df.loc[df["task"] != "standard", "quantity"].isna().all()


def test_include_false_and_status():
    text = HEAD + "False\t255\tA1\tS1\t20.5\t1.0E+03\t0\t\nTrue\t255\tA2\tS1\t21.0\t9.0E+02\t0\tLate Cp call\n"
    df = read_qpcr(_src(text))
    assert df.attrs["format"] == "lightcycler"
    assert _well(df, "A1")["cq_flag"] == "omitted" and _well(df, "A1")["cq"] == 20.5
    a2 = _well(df, "A2")
    assert a2["cq_flag"] == "late_cp_call" and a2["instrument_status"] == "Late Cp call"
    assert set(df["reporter"]) == {"FAM (465-510)"}


def test_without_experiment_line_and_with_tm():
    text = "Include\tColor\tPos\tName\tCp\tConcentration\tStandard\tStatus\tTm1\nTrue\t255\tB3\tS1\t20.5\t\t0\t\t84.2\n"
    df = read_qpcr(_src(text))
    assert df.attrs["format"] == "lightcycler"
    b3 = _well(df, "B3")
    assert (b3["cq"], b3["tm"], b3["reporter"], b3["instrument_experiment"]) == (20.5, 84.2, "", "")


# ------------------------------------------------------------------ bad input
def test_text_in_cp_keeps_the_row_flagged_not_numeric():
    df = read_qpcr(_src(HEAD + "True\t255\tA1\tS1\tn.d.\t\t0\n"))
    a1 = _well(df, "A1")
    assert math.isnan(a1["cq"]) and a1["cq_flag"] == "not_numeric" and a1["cq_raw"] == "n.d."


def test_text_in_concentration_names_line_and_well():
    with pytest.raises(ReaderError, match=r"lc.txt, line 3, well A1: column 'Concentration' is not a number .*'lots'"):
        read_qpcr(_src(HEAD + "True\t255\tA1\tS1\t20\tlots\t0\n"))


def test_bad_include():
    with pytest.raises(ReaderError, match=r"line 3, well A1: column 'Include' is not True/False"):
        read_qpcr(_src(HEAD + "Yes\t255\tA1\tS1\t20\t\t0\n"))


def test_duplicated_well():
    text = HEAD + "True\t255\tA1\tS1\t20\t\t0\nTrue\t255\tA01\tS2\t21\t\t0\n"
    with pytest.raises(ReaderError, match=r"line 4, well A1: duplicated well .*first on line 3"):
        read_qpcr(_src(text))


def test_truncated_line():
    with pytest.raises(ReaderError, match=r"line 4: line has too few fields .*at least 7"):
        read_qpcr(_src(HEAD + "True\t255\tA1\tS1\t20\t\t0\nTrue\t255\tA2\tS"))


def test_second_experiment_block():
    text = HEAD + "True\t255\tA1\tS1\t20\t\t0\n" + HEAD
    with pytest.raises(ReaderError, match=r"line 4: a second Experiment block \(another filter\) is not supported"):
        read_qpcr(_src(text))


def test_wrong_separator():
    text = HEAD.replace("\t", ",")
    with pytest.raises(ReaderError, match=r"no LightCycler header line found"):
        read_qpcr(_src(text + "True,255,A1,S1,20,,0\n"), format="lightcycler")


def test_invalid_position_and_no_rows():
    with pytest.raises(ReaderError, match=r"line 3: invalid well position .*'Q'"):
        read_qpcr(_src(HEAD + "True\t255\tQ\tS1\t20\t\t0\n"))
    with pytest.raises(ReaderError, match=r"no wells after the header"):
        read_qpcr(_src(HEAD))


def test_fuzz_lightcycler(corpus):
    data = corpus(*LC480).read_bytes()

    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(mut):
        df = check_reader_contract(mut, LC480[-1], kind="qpcr", format="lightcycler")
        if df is not None:
            # a NaN Cq always says why: no Cp (undetermined) or text in the Cp cell (not_numeric)
            assert (np.isnan(df["cq"]) == df["cq_flag"].str.contains("undetermined|not_numeric")).all()

    run()


def test_column_dtypes():
    df = read_qpcr(_src(HEAD + "True\t255\tA1\tS1\t\t\t0\n"))
    assert df["instrument_concentration"].dtype == np.float64
