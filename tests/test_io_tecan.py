"""Tests of the Tecan readers (Magellan list export, i-control / Spark workbooks)."""

from __future__ import annotations

import io
import math

import numpy as np
import openpyxl
import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given
from hypothesis import strategies as st

from assaykit.errors import AssaykitError, ReaderError
from assaykit.io import Source, read_plate
from assaykit.schema import validate_plate_table

MAGELLAN = ("plate_reader", "tecan_magellan", "SLA01P01_ELISA.xlsx")
ICONTROL = ("plate_reader", "tecan_icontrol", "infinite200pro_sample_ODs.xlsx")


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


def read(rows_or_sheets, name="t.xlsx", **kw):
    sheets = rows_or_sheets if isinstance(rows_or_sheets, dict) else {"Sheet0": rows_or_sheets}
    return read_plate(Source(xlsx(sheets), name), **kw)


def magellan_rows(labels=("Label1", "Label2"), wells=("A1", "A2", "B1"), footer=None, times=None):
    rows = [["Well positions", *labels], ["", *(times or ["0s"] * len(labels))], ["", *(["25 °C"] * len(labels))]]
    rows += [[w, *[0.1 * (i + 1) + j for j in range(len(labels))]] for i, w in enumerate(wells)]
    rows += [["Date of measurement: 2021-07-08"]]
    rows += footer if footer is not None else [
        ["Measurement 1:"], ["Measurement mode: Absorbance"], ["Measurement wavelength: 450 nm"],
        ["Reference wavelength: 620 nm"],
        ["Measurement 2:"], ["Measurement mode: Fluorescence"], ["Excitation wavelength: 485 nm"],
        ["Emission wavelength: 535 nm"],
    ]
    return rows


def icontrol_rows(blocks):
    rows = [["Application: Tecan i-control", "", "", "", "Tecan i-control , 2.0.10.0"], ["Device: infinite 200Pro"], []]
    for b in blocks:
        rows += b
    return rows


def label_block(name="Abs450", mode="Absorbance", setting=("Measurement Wavelength", 450), cell=None):
    rows = [[f"Label: {name}"], ["Mode", "", "", "", mode], [setting[0], "", "", "", setting[1], "nm"]]
    rows += [["Start Time:", "01.01.2024 10:00:00"], [], ["", "Temperature: 25.5 °C"], ["<>", *range(1, 13)]]
    rows += [[r, *[(cell if (cell is not None and (r, c) == ("B", 2)) else 0.01 * c) for c in range(1, 13)]]
             for r in "ABCDEFGH"]
    return rows + [[], ["End Time:", "01.01.2024 10:01:00"], []]


def kinetic_block(name="Kin", cycles=(1, 2, 3), wells=("A1", "B1"), times=None):
    rows = [[f"Label: {name}"], ["Kinetic Measurement"], ["Measurement Wavelength", "", "", "", 600, "nm"], []]
    rows += [["Cycle Nr.", *cycles]]
    rows += [["Time [s]", *(times if times is not None else [60.0 * i for i in range(len(cycles))])]]
    rows += [["Temp. [°C]", *([37.0] * len(cycles))]]
    rows += [[w, *[0.1 * i + k for i in range(len(cycles))]] for k, w in enumerate(wells)]
    return rows + [["End Time:"]]


# ---------------------------------------------------------------- corpus


# (format, rows, whole columns and spot values of the file: test_io_formats_table.py)
def test_magellan_corpus(corpus):
    df = read_plate(corpus("plate_reader", "tecan_magellan", "SLA01P01_ELISA.xlsx"))
    assert df["row"].max() == "P" and df["col"].max() == 24
    assert df["cycle"].isna().all()


def test_icontrol_corpus_endpoint_and_kinetic(corpus):
    df = read_plate(corpus("plate_reader", "tecan_icontrol", "infinite200pro_sample_ODs.xlsx"))
    assert df.attrs["format"] == "tecan_icontrol"
    end = df[df["cycle"].isna()]
    assert len(end) == 96 and set(end["read"]) == {"abs_600"} and set(end["label"]) == {"Abs600_Copy1"}
    e = end.set_index("well")
    assert e.loc["A1", "value"] == pytest.approx(0.25619998574256897, rel=0, abs=0)
    assert e.loc["D10", "value"] == pytest.approx(0.12359999865293503, rel=0, abs=0)
    assert e.loc["H12", "value"] == pytest.approx(0.0860000029206276, rel=0, abs=0)
    assert e.loc["A1", "temperature_c"] == 36.9
    kin = df[df["cycle"].notna()]
    # 633 cycles are announced, the last one was never measured (no time, no values)
    assert kin["cycle"].max() == 632 and kin["cycle"].nunique() == 632 and len(kin) == 632 * 96
    assert set(kin["label"]) == {"Abs600"} and (kin["flag"] == "").all()
    k = kin.set_index(["cycle", "well"])
    assert k.loc[(1, "A1"), "read"] == "abs_600@cycle1" and k.loc[(1, "A1"), "time_s"] == 0.0
    assert k.loc[(1, "A1"), "value"] == pytest.approx(0.25699999928474426, rel=0, abs=0)
    assert k.loc[(1, "A1"), "temperature_c"] == 37.3 and k.loc[(2, "A1"), "time_s"] == 95.3
    assert k.loc[(632, "H12"), "value"] == pytest.approx(0.9556000232696533, rel=0, abs=0)
    assert k.loc[(632, "H12"), "time_s"] == 60143.3
    # every well has a complete, increasing time series
    assert kin.groupby("well").size().eq(632).all() and len(kin["well"].unique()) == 96
    t = k.xs("A1", level="well")["time_s"].to_numpy()
    assert np.all(np.diff(t) > 0)
    assert str(df["cycle"].dtype) == "Int64" and df["time_s"].dtype == float


# ------------------------------------------------------------- synthetic


def test_magellan_settings_map_to_reads():
    df = read(magellan_rows())
    assert df.attrs["format"] == "tecan_magellan"
    assert sorted(df["read"].unique()) == ["abs_450-620", "fluo_485_535"] and len(df) == 6
    t = df.set_index(["read", "well"])
    assert t.loc[("fluo_485_535", "B1"), "value"] == pytest.approx(1.3)
    assert t.loc[("abs_450-620", "A1"), "temperature_c"] == 25.0


def test_magellan_without_footer_and_kinetic_labels():
    df = read(magellan_rows(labels=("OD", "OD", "OD"), footer=[], times=["0s", "60s", "120s"]))
    assert sorted(df["read"].unique()) == ["od@cycle1", "od@cycle2", "od@cycle3"]
    t = df.set_index(["read", "well"])
    assert t.loc[("od@cycle3", "A1"), "time_s"] == 120.0 and t.loc[("od@cycle3", "A1"), "cycle"] == 3
    rows = magellan_rows(wells=("A1", "A2"))
    rows[3][1] = "OVER"
    t = read(rows).set_index(["read", "well"])
    assert t.loc[("abs_450-620", "A1"), "flag"] == "overflow"


def test_icontrol_fluorescence_flags_and_duplicate_reads():
    blocks = [
        label_block("FI", "Fluorescence Top Reading", ("Excitation Wavelength", 485), cell="OVER"),
        label_block("A", "Absorbance", ("Measurement Wavelength", 450)),
        label_block("A_copy", "Absorbance", ("Measurement Wavelength", 450), cell=""),
    ]
    # the fluorescence label has no emission wavelength: read falls back to the label's slug
    df = read(icontrol_rows(blocks))
    assert sorted(df["read"].unique()) == ["abs_450", "abs_450#2", "fi"]
    t = df.set_index(["read", "well"])
    assert t.loc[("fi", "B2"), "flag"] == "overflow" and math.isnan(t.loc[("fi", "B2"), "value"])
    assert t.loc[("abs_450#2", "B2"), "flag"] == "empty" and t.loc[("abs_450#2", "B2"), "label"] == "A_copy"
    assert t.loc[("abs_450", "C3"), "value"] == 0.03 and t.loc[("abs_450", "C3"), "temperature_c"] == 25.5
    fl = label_block("FI", "Fluorescence Top Reading", ("Excitation Wavelength", 485))
    fl.insert(3, ["Emission Wavelength", "", "", "", 535, "nm"])
    assert set(read(icontrol_rows([fl]))["read"]) == {"fluo_485_535"}


def test_icontrol_transposed_kinetic_and_two_sheets():
    trans = [["Label: K"], ["Measurement Wavelength", "", "", "", 600, "nm"],
             ["Cycle Nr.", "Time [s]", "Temp. [°C]", "A1", "A2"],
             [1, 0, 37.0, 0.1, 0.2], [2, 60, 37.1, 0.3, 0.4], ["End Time:"]]
    df = read(icontrol_rows([trans]))
    t = df.set_index(["read", "well"])
    assert len(df) == 4 and t.loc[("abs_600@cycle2", "A2"), "value"] == 0.4
    assert t.loc[("abs_600@cycle2", "A2"), "time_s"] == 60.0
    two = read({"Plate A": icontrol_rows([label_block()]), "Plate B": icontrol_rows([label_block()])})
    assert sorted(two["plate"].unique()) == ["Plate A", "Plate B"] and len(two) == 192


# ---------------------------------------------------------------- errors


def _err(rows_or_sheets, name="bad.xlsx", **kw) -> ReaderError:
    with pytest.raises(ReaderError) as info:
        read(rows_or_sheets, name, **kw)
    assert name in str(info.value)
    return info.value


def test_magellan_errors():
    e = _err({"Data": [["x", 1, 2]]}, format="tecan_magellan")
    assert "no Magellan list sheet" in str(e)
    e = _err([["Well positions"], ["A1"]])
    assert "missing label column header" in str(e) and e.location["line"] == 1
    rows = magellan_rows()
    rows[4][0] = "Z-9"
    e = _err(rows)
    assert "expected a well row" in str(e) and e.location["line"] == 5 and e.location["sheet"] == "Sheet0"
    e = _err(magellan_rows(wells=("A1", "B1", "A01")))
    assert "well listed twice" in str(e) and e.location["well"] == "A1"
    e = _err([["Well positions", "Label1"], ["", "0s"]])
    assert "no well rows" in str(e)


def test_icontrol_errors():
    e = _err({"Data": [["x", 1, 2]]}, format="tecan_icontrol")
    assert "no i-control measurement sheet" in str(e)
    e = _err(icontrol_rows([[["<>", *range(1, 13)], ["A", *([1] * 12)], ["Label: late"]]]))
    assert "before any 'Label:'" in str(e) and e.location["line"] == 4
    e = _err(icontrol_rows([[["Label: nothing"], ["Mode", "", "", "", "Absorbance"]]]))
    assert "no data grid found" in str(e)
    e = _err(icontrol_rows([kinetic_block(cycles=(1, "two", 3))]))
    assert "cycle number is not a number" in str(e) and "'two'" in str(e)
    e = _err(icontrol_rows([kinetic_block(wells=())]))
    assert "kinetic block without wells" in str(e)
    e = _err(icontrol_rows([kinetic_block(wells=("A1", "A1"))]))
    assert "well listed twice in kinetic block" in str(e) and e.location["well"] == "A1"
    e = _err(icontrol_rows([kinetic_block(cycles=(1, 2, 2))]))
    assert "cycle number repeated" in str(e) and "cycle 2" in str(e)
    e = _err(icontrol_rows([[["Label: K"], ["Cycle Nr.", "Time [s]", "Temp. [°C]", "x"], [1, 0, 37, 0.1]]]))
    assert "kinetic header without wells" in str(e)
    e = _err(icontrol_rows([label_block("Same"), label_block("Same")]))
    assert "a second endpoint block for the same label" in str(e) and "'Same'" in str(e)
    blk = label_block()
    blk[8][0] = "A"  # row B labelled A again
    e = _err(icontrol_rows([blk]))
    assert "duplicate plate row" in str(e) and e.location["sheet"] == "Sheet0"


def test_truncated_and_flipped_workbooks(corpus):
    data = corpus("plate_reader", "tecan_magellan", "SLA01P01_ELISA.xlsx").read_bytes()
    for cut in (10, len(data) // 3, len(data) - 100):
        with pytest.raises(ReaderError) as info:
            read_plate(Source(data[:cut], "cut.xlsx"))
        assert "cut.xlsx" in str(info.value)


# ------------------------------------------------------------------ fuzz


def test_fuzz_magellan_xlsx(corpus):
    @FUZZ_SETTINGS
    @given(mutated(corpus(*MAGELLAN).read_bytes()))
    def run(data):
        check_reader_contract(data, "magellan.xlsx")

    run()


_SMALL_ICONTROL = xlsx({"Sheet0": icontrol_rows([label_block(), kinetic_block()])})


@FUZZ_SETTINGS
@given(mutated(_SMALL_ICONTROL))
def test_fuzz_icontrol_xlsx(data):
    check_reader_contract(data, "icontrol.xlsx")


# Cell-level fuzz: zip-level mutations almost never leave a readable workbook, so
# also mutate the decoded cells (Source caches sheets in ``_sheets``).
_CELLS = ["", None, "OVER", "A1", "<>", "Label: x", "Cycle Nr.", "Time [s]", "A", "H13", 1.0, -3.5,
          "Well positions", "Measurement 1:", "Temperature: abc", True, "x"]


@st.composite
def _cell_edits(draw):
    return draw(st.lists(st.tuples(st.sampled_from(["set", "delete", "dup", "cut"]), st.integers(0, 10_000),
                                   st.integers(0, 10_000), st.sampled_from(_CELLS)), min_size=1, max_size=4))


def _apply(rows, edits):
    rows = [list(r) for r in rows]
    for op, i, j, val in edits:
        if not rows:
            break
        i %= len(rows)
        if op == "set" and rows[i]:
            rows[i][j % len(rows[i])] = val
        elif op == "delete":
            del rows[i]
        elif op == "dup":
            rows.insert(i, list(rows[i]))
        else:
            rows[i] = rows[i][: j % (len(rows[i]) + 1)]
    return rows


def _cell_fuzz(data: bytes, name: str, edits) -> None:
    base = Source(data, name)
    src = Source(data, name)
    for sheet in base.sheet_names:
        src._sheets[sheet] = _apply(base.sheet(sheet), edits)
    try:
        df = read_plate(src)
    except AssaykitError as exc:
        assert str(exc)
        return
    validate_plate_table(df)


def test_fuzz_magellan_cells(corpus):
    data = corpus(*MAGELLAN).read_bytes()

    @FUZZ_SETTINGS
    @given(_cell_edits())
    def run(edits):
        _cell_fuzz(data, "magellan.xlsx", edits)

    run()


@FUZZ_SETTINGS
@given(_cell_edits())
def test_fuzz_icontrol_cells(edits):
    _cell_fuzz(_SMALL_ICONTROL, "icontrol.xlsx", edits)
