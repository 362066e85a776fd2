"""QuantStudio / ViiA 7 / StepOnePlus / Design & Analysis readers (assaykit.io.qpcr.quantstudio)."""

from __future__ import annotations

import io as _io

import numpy as np
import pandas as pd
import pytest
from hypothesis import given

from assaykit.errors import ReaderError
from assaykit.io import Source, read_qpcr
from assaykit.io.qpcr._thermo import (
    INSTRUMENT_COLUMNS,
    map_task,
    normalize_header,
    parse_number,
    parse_numbers,
)
from assaykit.schema import QPCR_COLUMNS
from tests.fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated

QS = "qpcr"
TXT_FILES = [
    "thermo_qs7flex_ddct_ntc_undetermined__allotropy_example05.txt",
    "thermo_qs7flex_ddct_with_footer__allotropy_example06.txt",
    "thermo_qs7flex_standard_curve__allotropy_example04.txt",
    "thermo_viia7_384_ddct_sybr_melt__allotropy_example01.txt",
]
DA = "thermo_da_qs3_relative_quantification__allotropy_example02.xlsx"
QS_XLSX = "thermo_qs7flex_ddct_crt__allotropy_example08.xlsx"
SOP = "thermo_steponeplus_ddct_sybr_melt__MikeAxtell_MJA_March15_2021_data.xls"


def one(df: pd.DataFrame, well: str, target: str | None = None) -> pd.Series:
    sel = df["well"] == well
    if target is not None:
        sel &= df["target"] == target
    rows = df.loc[sel]
    assert len(rows) == 1, f"{len(rows)} rows for {well} {target}"
    return rows.iloc[0]


# ----------------------------------------------------------------- synthetic exports
HEADER = (
    "Well\tWell Position\tOmit\tSample Name\tTarget Name\tTask\tReporter\tQuencher\t"
    "Quantity\tCT\tCt Mean\tTm1"
)


def qs_text(
    rows: list[str], *, header: str = HEADER, extra: str = "", top: str | None = None
) -> bytes:
    top = (
        "* Block Type = 96-Well Block (0.2mL)\n* Experiment Barcode = NA\n\n"
        if top is None
        else top
    )
    body = "\n".join(rows)
    return (top + "[Results]\n" + header + "\n" + body + "\n" + extra).encode()


GOOD_ROWS = [
    "1\tA1\tfalse\tveh 1\tTBX21\tUNKNOWN\tFAM\tNFQ-MGB\t\t25.123\t25.2\t80.1",
    "1\tA1\tfalse\tveh 1\tGAPDH\tUNKNOWN\tVIC\tNFQ-MGB\t\t18.5\t18.4\t",
    "2\tA2\ttrue\tstd 1\tTBX21\tSTANDARD\tFAM\tNFQ-MGB\t1,000.000\t22.0\t22.0\t",
    "3\tA3\tfalse\t\tTBX21\tNTC\tFAM\tNFQ-MGB\t\tUndetermined\t\t",
]


def read_bytes(data: bytes, fmt: str | None = None, name: str = "run.txt") -> pd.DataFrame:
    return read_qpcr(Source(data=data, name=name), format=fmt)


# ----------------------------------------------------------------- corpus: text
# (format, rows, whole columns and spot values of each file: test_io_formats_table.py)
@pytest.mark.shared
def test_qs7flex_ntc_undetermined(corpus):
    df = read_qpcr(corpus(QS, TXT_FILES[0]))
    assert list(df.columns[: len(QPCR_COLUMNS)]) == list(QPCR_COLUMNS)
    assert (df["task"] == "ntc").sum() == 6
    assert df.attrs["metadata"]["Experiment Type"].startswith(
        "Comparative C\u0442 (\u0394\u0394C\u0442)"
    )
    inst = [c for c in df.columns if c.startswith("instrument_")]
    assert inst == [c for c in INSTRUMENT_COLUMNS if c in inst]  # fixed order
    assert inst == [
        "instrument_quantity",
        "instrument_quantity_mean",
        "instrument_quantity_sd",
        "instrument_cq_mean",
        "instrument_cq_sd",
        "instrument_delta_cq",
        "instrument_delta_cq_mean",
        "instrument_delta_cq_se",
        "instrument_delta_delta_cq",
        "instrument_rq",
        "instrument_rq_min",
        "instrument_rq_max",
        "instrument_threshold",
        "instrument_baseline_start",
        "instrument_baseline_end",
        "instrument_amp_score",
        "instrument_cq_conf",
    ]
    assert all(df[c].dtype == float for c in inst)


@pytest.mark.shared
def test_qs7flex_footer_crlf(corpus):
    path = corpus(QS, TXT_FILES[1])
    assert b"\r\n" in path.read_bytes()
    df = read_qpcr(path)
    meta = df.attrs["metadata"]
    assert meta["Endogenous Control"] == "GAPDH"
    assert meta["Reference Sample"] == "Liver"
    assert meta["RQ Min/Max Confidence Level"] == "95.0"
    assert meta["Analysis Type"] == "Singleplex"


@pytest.mark.shared
def test_qs7flex_standard_curve_thousands_separators(corpus):
    df = read_qpcr(corpus(QS, TXT_FILES[2]))
    # 95 result rows; well H11 is set up (10K, RNase P) but has no result row: kept, flagged
    h11 = df.iloc[-1]
    assert (h11["well"], h11["sample"], h11["target"], h11["task"]) == (
        "H11",
        "10K",
        "RNase P",
        "unknown",
    )
    assert h11["reporter"] == "FAM" and np.isnan(h11["cq"]) and h11["cq_raw"] == ""
    assert h11["cq_flag"] == "no_result" and np.isnan(h11["instrument_slope"])
    assert (df["cq_flag"] == "no_result").sum() == 1
    ntc = df.loc[df["task"] == "ntc"]
    assert list(ntc["well"]) == ["D1", "D2", "D3", "D4"]
    assert (ntc["cq_flag"] == "undetermined").all() and ntc["cq"].isna().all()
    assert sorted(df.loc[df["task"] == "standard", "quantity"].unique()) == [
        1250,
        2500,
        5000,
        10000,
        20000,
    ]


@pytest.mark.shared
def test_viia7_384_well_melt(corpus):
    df = read_qpcr(corpus(QS, TXT_FILES[3]))
    assert {"A13", "A14"}.isdisjoint(df["well"])  # empty wells have no result row
    assert df.attrs["metadata"]["Instrument Type"] == "ViiA 7"


# ----------------------------------------------------------------- corpus: workbooks
@pytest.mark.shared
def test_design_analysis_matches_reference_wells(corpus, reference):
    df = read_qpcr(corpus(QS, DA))
    assert df.attrs["format"] == "design_analysis"
    ref = pd.read_csv(reference("qpcr", "thermo_da_qs3_rq_input_wells.csv"), keep_default_na=False)
    assert len(df) == len(ref) == 156
    assert df["well"].tolist() == ref["Well Position"].tolist()
    assert df["target"].tolist() == ref["Target"].tolist()
    assert df["sample"].tolist() == ref["Sample"].astype(str).tolist()
    assert df["task"].tolist() == ref["Task"].str.lower().tolist()
    assert df["reporter"].tolist() == ref["Reporter"].tolist()
    ref_cq = pd.to_numeric(ref["Cq"], errors="coerce").to_numpy()
    np.testing.assert_array_equal(np.isnan(ref_cq), df["cq"].isna().to_numpy())
    np.testing.assert_allclose(df["cq"].to_numpy(), ref_cq, rtol=0, atol=1e-12)
    assert (df.loc[df["cq"].isna(), "cq_raw"] == "UNDETERMINED").all()
    # standards and NTCs are singleplex; unknowns are multiplexed (RNaseP + IPC in one well)
    assert df.groupby("well").size().value_counts().to_dict() == {2: 60, 1: 36}


@pytest.mark.shared
def test_design_analysis_values(corpus):
    # (spot values, task and flag counts: test_io_formats_table.py)
    df = read_qpcr(corpus(QS, DA))
    assert df.attrs["metadata"]["Quantification Cycle Method"] == "CT"


@pytest.mark.shared
def test_quantstudio_xlsx_crt_multiplex(corpus):
    # (format, rows, spot values: test_io_formats_table.py)
    df = read_qpcr(corpus(QS, QS_XLSX))
    assert df.groupby("well").size().eq(2).all()
    meta = df.attrs["metadata"]
    assert meta["Quantification Cycle Method"] == "Crt"
    assert meta["Reference Sample"] == "13Jul2022-Hs-1" and meta["Endogenous Control"] == "18S"


@pytest.mark.shared
def test_steponeplus_xls(corpus):
    # (format, rows, spot values and flag counts: test_io_formats_table.py)
    df = read_qpcr(corpus(QS, SOP))
    assert df["cq_flag"].str.contains("undetermined").sum() == 22
    assert df.attrs["metadata"]["Endogenous Control"] == "IIM8"


# ----------------------------------------------------------------- synthetic: behaviour
def test_synthetic_text_flags_quantity_tasks():
    df = read_bytes(qs_text(GOOD_ROWS))
    assert df.attrs["format"] == "quantstudio_txt"
    assert len(df) == 4
    tbx = one(df, "A1", "TBX21")
    assert tbx["cq"] == 25.123 and tbx["tm"] == 80.1 and tbx["instrument_cq_mean"] == 25.2
    assert np.isnan(one(df, "A1", "GAPDH")["tm"])
    std = one(df, "A2")
    assert std["task"] == "standard" and std["quantity"] == 1000.0 and std["cq_flag"] == "omitted"
    ntc = one(df, "A3")
    assert ntc["task"] == "ntc" and ntc["cq_flag"] == "undetermined" and ntc["sample"] == ""


def test_non_numeric_and_empty_cq():
    rows = [
        "1\tA1\tfalse\t s1 \tT\tUNKNOWN\tFAM\t\t\tabc\t\t",
        "2\tA2\tfalse\ts1\tT\tUNKNOWN\tFAM\t\t\t\t\t",
        "3\tA3\tfalse\ts1\tT\tNRT\tFAM\t\t\tUNDETERMINED\t\t",
    ]
    df = read_bytes(qs_text(rows))
    a1 = one(df, "A1")
    assert np.isnan(a1["cq"]) and a1["cq_raw"] == "abc" and a1["cq_flag"] == "not_numeric"
    assert a1["sample"] == "s1"  # surrounding white space stripped
    assert one(df, "A2")["cq_flag"] == "empty"
    a3 = one(df, "A3")
    assert a3["cq_flag"] == "undetermined" and a3["task"] == "nrt"


def test_instrument_flag_columns_and_cyrillic_ct():
    header = "Well\tWell Position\tSample Name\tTarget Name\tTask\tC\u0442\tHIGHSD\tNOAMP\tEXPFAIL\tOUTLIERRG"
    rows = [
        "1\tA1\ts\tT\tUNKNOWN\t30.5\tY\tN\tN\tY",
        "2\tA2\ts\tT\tUNKNOWN\tUndetermined\tN\tY\tY\tN",
        "3\tA3\ts\tT\tUNKNOWN\t31\tN\tN\tN\tN",
    ]
    df = read_bytes(qs_text(rows, header=header))
    assert one(df, "A1")["cq_flag"] == "highsd;outlierrg"
    assert one(df, "A2")["cq_flag"] == "undetermined;noamp;expfail"
    assert one(df, "A3")["cq_flag"] == "" and one(df, "A3")["cq"] == 31.0


def test_melt_curve_result_section_fills_tm():
    header = "Well\tWell Position\tSample Name\tTarget Name\tTask\tCT"
    melt = "\n[Melt Curve Result]\nWell\tWell Position\tSample Name\tTarget Name\tTm1\tTm2\n1\tA1\ts\tT\t81.25\t\n"
    df = read_bytes(
        qs_text(["1\tA1\ts\tT\tUNKNOWN\t20", "2\tA2\ts\tT\tUNKNOWN\t21"], header=header, extra=melt)
    )
    assert one(df, "A1")["tm"] == 81.25
    assert np.isnan(one(df, "A2")["tm"])


def test_sample_setup_well_without_result_is_kept():
    setup = (
        "[Sample Setup]\nWell\tWell Position\tSample Name\tTarget Name\tTask\tReporter\tQuantity\n"
        "1\tA1\tveh 1\tTBX21\tUNKNOWN\tFAM\t\n"
        "5\tA5\tstd\tTBX21\tSTANDARD\tFAM\t100\n"
        "6\tA6\t\t\t\t\t\n"
    )
    top = "* Block Type = 96-Well Block (0.2mL)\n\n" + setup
    df = read_bytes(qs_text(GOOD_ROWS[:1], top=top))
    assert df["well"].tolist() == ["A1", "A5"]  # A6 has no target: an empty well
    a5 = one(df, "A5")
    assert a5["cq_flag"] == "no_result" and a5["task"] == "standard" and a5["quantity"] == 100.0
    assert np.isnan(a5["cq"]) and np.isnan(a5["instrument_cq_mean"]) and np.isnan(a5["tm"])
    bad = top.replace("5\tA5", "5\tA 5 x")
    err = _err(qs_text(GOOD_ROWS[:1], top=bad))
    assert "not a well position in the sample setup" in str(err) and "line 6" in str(err)


def test_well_number_only_uses_block_type():
    header = "Well\tSample Name\tTarget Name\tTask\tCT"
    top = "* Block Type = 384-Well Block\n\n"
    df = read_bytes(
        qs_text(["25\ts\tT\tUNKNOWN\t20", "384\ts\tT\tUNKNOWN\t21"], header=header, top=top)
    )
    assert df["well"].tolist() == ["B1", "P24"]


def test_plate_name_from_barcode():
    top = "* Block Type = 96-Well Block (0.2mL)\n* Experiment Barcode = PL0042\n\n"
    df = read_bytes(qs_text(GOOD_ROWS, top=top))
    assert df["plate"].unique().tolist() == ["PL0042"]


def test_helpers():
    assert normalize_header(" \u0394\u0394C\u0442 ") == "delta delta ct"
    assert parse_number("36,431.130") == 36431.13
    assert (
        parse_number("1,2") is None and parse_number("nan") is None and parse_number(True) is None
    )
    assert parse_number(float("inf")) is None and parse_number("1e999") is None
    np.testing.assert_array_equal(
        parse_numbers(["1", "", "1e999", "2.5"]), [1.0, np.nan, np.nan, 2.5]
    )
    np.testing.assert_array_equal(
        parse_numbers(["1,000.5", "x", 3.0, True]), [1000.5, np.nan, 3.0, np.nan]
    )
    assert (
        map_task("UNKNOWN") == "unknown"
        and map_task("NAC") == "nrt"
        and map_task("Standard") == "standard"
    )
    assert (
        map_task("Endogenous Control") == "unknown"
        and map_task("Negative Control") == "negative_control"
    )


# ----------------------------------------------------------------- errors
def _err(data: bytes, fmt: str = "quantstudio_txt", name: str = "run.txt") -> ReaderError:
    with pytest.raises(ReaderError) as info:
        read_bytes(data, fmt, name)
    return info.value


def test_error_no_results_section():
    err = _err(b"* Block Type = 96-Well Block\n\n[Sample Setup]\nWell\tWell Position\n1\tA1\n")
    assert (
        "no [Results] section" in str(err) and "Sample Setup" in str(err) and "run.txt" in str(err)
    )


def test_error_results_without_header():
    err = _err(b"* Block Type = 96-Well Block\n\n[Results]\n\n")
    assert "[Results] section has no header" in str(err) and "line 3" in str(err)


def test_error_results_without_rows():
    err = _err(qs_text([]).replace(b"\n\n\n", b"\n"))
    assert "[Results] section has no rows" in str(err) and "line 5" in str(err)


def test_error_missing_columns():
    err = _err(qs_text(["1\tA1\ts\tT"], header="Well\tWell Position\tSample Name\tTarget Name"))
    assert "no Cq column" in str(err) and "CT, Cq, C\u0442 or CRT" in str(err)
    err = _err(qs_text(["1\tA1\ts\t20"], header="Well\tWell Position\tSample Name\tCT"))
    assert "no target column" in str(err)
    err = _err(qs_text(["s\tT\t20"], header="Sample Name\tTarget Name\tCT"))
    assert "no well column" in str(err)


def test_error_extra_cells():
    err = _err(qs_text(["1\tA1\tfalse\ts\tT\tUNKNOWN\tFAM\t\t\t20\t\t\tsurprise"]))
    assert "row has more cells than the header" in str(err) and "line 6" in str(err)


def test_error_bad_well_position():
    err = _err(qs_text(["1\twell 7\tfalse\ts\tT\tUNKNOWN\tFAM\t\t\t20\t\t"]))
    assert "not a well position" in str(err) and "'well 7'" in str(err) and "line 6" in str(err)


def test_error_duplicate_well_target():
    rows = [GOOD_ROWS[0], GOOD_ROWS[1], GOOD_ROWS[0]]
    err = _err(qs_text(rows))
    text = str(err)
    assert "well × target appears twice" in text and "well A1" in text and "target TBX21" in text
    assert "line 8" in text and "first at line 6" in text


def test_error_well_number_outside_plate():
    header = "Well\tSample Name\tTarget Name\tTask\tCT"
    err = _err(qs_text(["97\ts\tT\tUNKNOWN\t20"], header=header))
    assert "well number outside the plate" in str(err) and "1..96" in str(err)


def test_error_not_a_well():
    header = "Well\tSample Name\tTarget Name\tTask\tCT"
    err = _err(qs_text(["B2\ts\tT\tUNKNOWN\t20", "9x\ts\tT\tUNKNOWN\t20"], header=header))
    assert "not a well (" in str(err) and "'9x'" in str(err) and "line 7" in str(err)


# ----------------------------------------------------------------- workbook errors
def _xlsx(sheets: dict[str, list[list]]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    wb.remove(wb.active)
    for name, rows in sheets.items():
        ws = wb.create_sheet(name)
        for r in rows:
            ws.append(r)
    buf = _io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


XLSX_HEADER = [
    "Well",
    "Well Position",
    "Omit",
    "Sample Name",
    "Target Name",
    "Task",
    "Reporter",
    "CT",
]


def test_xlsx_synthetic_reads_and_detects():
    data = _xlsx(
        {
            "Results": [
                ["Block Type", "96-Well Block"],
                [],
                XLSX_HEADER,
                [1, "A1", False, "s1", "T", "UNKNOWN", "FAM", 20.5],
                [2, "A2", True, 7, "T", "NTC", "FAM", "Undetermined"],
                [],
                ["Endogenous Control", "T"],
            ]
        }
    )
    df = read_bytes(data, name="run.xlsx")
    assert df.attrs["format"] == "quantstudio_xlsx"
    assert one(df, "A1")["cq"] == 20.5
    a2 = one(df, "A2")
    assert a2["sample"] == "7" and a2["cq_flag"] == "undetermined;omitted"
    assert df.attrs["metadata"]["Endogenous Control"] == "T"


def test_steponeplus_detected_from_instrument_type():
    rows = [
        ["Instrument Type", "steponeplus"],
        [],
        XLSX_HEADER,
        [1, "A1", False, "s", "T", "UNKNOWN", "FAM", 20],
    ]
    df = read_bytes(_xlsx({"Results": rows}), name="run.xlsx")
    assert df.attrs["format"] == "steponeplus" and df["cq"].tolist() == [20.0]


def test_xlsx_errors():
    err = _err(_xlsx({"Data": [["x"]]}), "quantstudio_xlsx", "run.xlsx")
    assert "no 'Results' sheet" in str(err) and "Data" in str(err)
    err = _err(
        _xlsx({"Results": [["Block Type", "x"], ["Sample", "Target"]]}),
        "quantstudio_xlsx",
        "r.xlsx",
    )
    assert "no results header row" in str(err) and "sheet 'Results'" in str(err)
    err = _err(_xlsx({"Results": [XLSX_HEADER]}), "design_analysis", "r.xlsx")
    assert "results table has no rows" in str(err) and "line 1" in str(err)
    err = _err(b"just text", "steponeplus", "r.txt")
    assert "expected a workbook" in str(err)
    dup = [
        XLSX_HEADER,
        [1, "A1", False, "s", "T", "UNKNOWN", "FAM", 20],
        [1, "A1", False, "s", "T", "UNKNOWN", "FAM", 21],
    ]
    err = _err(_xlsx({"Results": dup}), "quantstudio_xlsx", "r.xlsx")
    assert (
        "well × target appears twice" in str(err)
        and "sheet 'Results'" in str(err)
        and "line 3" in str(err)
    )
    assert "first at row 2" in str(err)


# ----------------------------------------------------------------- fuzzing
@pytest.mark.shared
@pytest.mark.parametrize("name", TXT_FILES)
def test_fuzz_text(corpus, name):
    data = corpus(QS, name).read_bytes()

    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(blob):
        check_reader_contract(blob, name, kind="qpcr", format="quantstudio_txt")

    run()


@pytest.mark.shared
@pytest.mark.parametrize(
    ("name", "fmt"), [(DA, "design_analysis"), (QS_XLSX, "quantstudio_xlsx"), (SOP, "steponeplus")]
)
def test_workbook_truncation_and_flips(corpus, name, fmt):
    data = corpus(QS, name).read_bytes()
    n = len(data)
    for cut in (0, 8, 512, n // 3, n // 2, n - 200):
        with pytest.raises(ReaderError):
            read_qpcr(Source(data=data[:cut], name=name), format=fmt)
        with pytest.raises(ReaderError):  # detection also fails cleanly
            read_qpcr(Source(data=data[:cut], name=name))
    rng = np.random.default_rng(7)
    for pos in rng.integers(0, n, 12):
        blob = data[:pos] + bytes([data[pos] ^ 0xFF]) + data[pos + 1 :]
        check_reader_contract(blob, name, kind="qpcr", format=fmt)


def test_sheet_read_failure_becomes_reader_error(monkeypatch):
    data = _xlsx({"Results": [XLSX_HEADER, [1, "A1", False, "s", "T", "UNKNOWN", "FAM", 20]]})

    class Panic(BaseException):  # calamine's Rust panics derive from BaseException
        pass

    def boom(self, name=0):
        raise Panic("index out of bounds")

    monkeypatch.setattr(Source, "sheet", boom)
    err = _err(data, "quantstudio_xlsx", "r.xlsx")
    assert "cannot read sheet" in str(err) and "index out of bounds" in str(err)
