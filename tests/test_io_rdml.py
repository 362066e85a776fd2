"""RDML 1.0-1.4 reader (assaykit.io.qpcr.rdml)."""

from __future__ import annotations

import io
import math
import zipfile

import numpy as np
import pytest
from fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated
from hypothesis import given
from hypothesis import strategies as st

from assaykit import read_qpcr
from assaykit.errors import ReaderError
from assaykit.io import Source
from assaykit.io.qpcr.rdml import react_id_to_well

V10 = ("qpcr", "rdml_v1_0_stepone_std__PCRuniversum_RDML.rdml")
V11 = ("qpcr", "rdml_v1_1_biorad_melt__PCRuniversum_RDML.rdml")
V14_GENORM = ("qpcr", "rdml_v1_4_genorm__rdml-tools.rdml")
V14_REL = ("qpcr", "rdml_v1_4_relative__rdml-tools.rdml")


def _zip(xml: str | bytes, member: str = "rdml_data.xml") -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr(member, xml)
    return buf.getvalue()


def _src(data: str | bytes, name: str = "run.rdml") -> Source:
    return Source(data=data.encode() if isinstance(data, str) else data, name=name)


def _rdml(body: str, version: str = "1.3", ns: str = 'xmlns="http://www.rdml.org"', fmt: str | None = None) -> str:
    fmt = fmt if fmt is not None else "<pcrFormat><rows>8</rows><columns>12</columns><rowLabel>ABC</rowLabel><columnLabel>123</columnLabel></pcrFormat>"
    return (
        f'<?xml version="1.0" encoding="UTF-8"?><rdml {ns} version="{version}">'
        '<sample id="S1"><type>unkn</type></sample>'
        '<sample id="STD"><type>std</type><quantity><value>1000</value><unit>cop</unit></quantity></sample>'
        '<sample id="MIX"><type>unkn</type><type targetId="T2">ntc</type>'
        '<quantity targetId="T2"><value>5</value><unit>cop</unit></quantity></sample>'
        '<target id="T1"><type>toi</type><dyeId id="FAM"/></target>'
        '<target id="T2"><type>ref</type><dyeId id="VIC"/></target>'
        f'<experiment id="E"><run id="R1">{fmt}{body}</run></experiment></rdml>'
    )


def _row(df, well, target, plate=None):
    sel = df[(df["well"] == well) & (df["target"] == target)]
    if plate is not None:
        sel = sel[sel["plate"] == plate]
    assert len(sel) == 1
    return sel.iloc[0]


@pytest.mark.parametrize(
    "rid, rows, cols, well",
    [("1", 8, 12, "A1"), ("12", 8, 12, "A12"), ("13", 8, 12, "B1"), ("96", 8, 12, "H12"),
     ("25", 16, 24, "B1"), ("384", 16, 24, "P24"), ("B3", None, None, "B3"), ("13", None, None, "B1"),
     ("200", None, None, "I8")],
)  # fmt: skip
def test_react_id_to_well(rid, rows, cols, well):
    assert react_id_to_well(rid, rows, cols) == well


@pytest.mark.parametrize(
    "rid, rows, cols",
    [("97", 8, 12), ("0", 8, 12), ("x?", 8, 12), ("2000", None, None), ("703", 1000, 1), ("1000", 1, 1000)],
)
def test_react_id_errors(rid, rows, cols):
    with pytest.raises(ValueError):
        react_id_to_well(rid, rows, cols)


# (format, rows, whole columns and spot values of each file: test_io_formats_table.py)
def test_v11_biorad_two_runs(corpus):
    df = read_qpcr(corpus(*V11))
    assert int((df["cq_flag"] == "undetermined").sum()) == 34


def test_v14_genorm_without_cq(corpus):
    df = read_qpcr(corpus(*V14_GENORM))
    assert df["target"].nunique() == 9 and df["sample"].nunique() == 10


def test_v14_relative(corpus):
    df = read_qpcr(corpus(*V14_REL))
    assert df.groupby("instrument_target_type")["target"].nunique().to_dict() == {"ref": 2, "toi": 3}
    no_amp = df[df["cq_flag"] != ""]
    assert len(no_amp) == 1  # react 315 (well N3, the spot in the table)
    assert no_amp.iloc[0]["instrument_note"].startswith("no amplification")


def test_plain_xml_types_per_target_excl_melt_namespaces():
    body = (
        '<react id="1"><sample id="S1"/><data><tar id="T1"/><cq>21.5</cq><meltTemp>82.4</meltTemp></data>'
        '<data><tar id="T2"/><cq>18.25</cq><excl>pipetting error</excl></data></react>'
        '<react id="14"><sample id="STD"/><data><tar id="T1"/><cq>NaN</cq></data></react>'
        '<react id="15"><sample id="MIX"/><data><tar id="T1"/><cq>30</cq></data><data><tar id="T2"/><cq>-1</cq></data></react>'
    )
    for ns in ('xmlns="http://www.rdml.org"', 'xmlns="http://www.rdml.org/1.4"', ""):
        xml = _rdml(body, ns=ns)
        for data in (xml.encode(), _zip(xml)):
            df = read_qpcr(_src(data))
            assert df.attrs["format"] == "rdml"
            a1 = _row(df, "A1", "T1")
            assert (a1["cq"], a1["tm"], a1["cq_flag"], a1["reporter"], a1["task"]) == (21.5, 82.4, "", "FAM", "unknown")
            a1r = _row(df, "A1", "T2")
            assert (a1r["cq"], a1r["cq_flag"], a1r["instrument_excl"]) == (18.25, "omitted", "pipetting error")
            b2 = _row(df, "B2", "T1")
            assert (b2["task"], b2["quantity"], b2["cq_flag"]) == ("standard", 1000.0, "undetermined")
            # RDML >= 1.3: the target-specific sample type and quantity win
            b3 = _row(df, "B3", "T1")
            assert (b3["task"], b3["cq"]) == ("unknown", 30.0) and math.isnan(b3["quantity"])
            b3r = _row(df, "B3", "T2")
            assert (b3r["task"], b3r["quantity"], b3r["cq_flag"], b3r["cq_raw"]) == ("ntc", 5.0, "undetermined", "-1")
            assert (b2["instrument_quantity_unit"], b3r["instrument_quantity_unit"]) == ("cop", "cop")


def test_reaction_without_data_is_kept():
    xml = _rdml('<react id="1"><sample id="S1"/><data><tar id="T1"/><cq>20</cq></data></react><react id="2"><sample id="S1"/></react>')
    df = read_qpcr(_src(xml))
    assert len(df) == 2
    a2 = _row(df, "A2", "")
    assert (a2["sample"], a2["cq_flag"], a2["reporter"], a2["task"]) == ("S1", "empty", "", "unknown")
    assert math.isnan(a2["cq"])


def test_two_experiments_same_run_id():
    xml = _rdml('<react id="1"><sample id="S1"/><data><tar id="T1"/><cq>20</cq></data></react>')
    xml = xml.replace(
        "</experiment>",
        '</experiment><experiment id="F"><run id="R1"><react id="1"><sample id="S1"/><data><tar id="T1"/><cq>22</cq></data></react></run></experiment>',
    )
    df = read_qpcr(_src(xml))
    assert sorted(df["plate"]) == ["E/R1", "F/R1"]
    assert _row(df, "A1", "T1", "F/R1")["cq"] == 22.0


# ------------------------------------------------------------------ bad input
def test_text_in_cq():
    xml = _rdml('<react id="5"><sample id="S1"/><data><tar id="T1"/><cq>twenty</cq></data></react>')
    with pytest.raises(ReaderError, match=r"run.rdml, plate R1, well A5, target T1: Cq is not a number .*'twenty'"):
        read_qpcr(_src(xml))


@pytest.mark.parametrize(
    "body, message",
    [
        ('<react id="1"><sample id="S1"/><data><tar id="T1"/><cq>20</cq></data><data><tar id="T1"/><cq>21</cq></data></react>',
         r"plate R1, well A1, target T1: target listed twice for one reaction"),
        ('<react id="1"><sample id="S1"/><data><tar id="T1"/><cq>20</cq></data></react>'
         '<react id="1"><sample id="S1"/><data><tar id="T1"/><cq>20</cq></data></react>',
         r"well A1, target T1: target listed twice"),
        ('<react id="97"><sample id="S1"/><data><tar id="T1"/><cq>20</cq></data></react>',
         r"plate R1: react id is not a well of the run .*position 97 outside a 8 x 12 format"),
        ('<react><sample id="S1"/></react>', r"react without id"),
        ('<react id="2"><data><tar id="T1"/></data></react>', r"well A2: react without sample"),
        ('<react id="2"><sample id="S1"/><data><cq>20</cq></data></react>', r"well A2: data without target"),
        ('<react id="2"><sample id="S1"/><data><tar id="T1"/><N0>lots</N0></data></react>', r"<N0> is not a number"),
        ('<react id="2"><sample id="S1"/><data><tar id="T1"/><meltTemp>hot</meltTemp></data></react>', r"<meltTemp> is not a number"),
        ('<react id="2"><sample id="S1"/><data><tar id="T1"/><quantity><value>x</value></quantity></data></react>',
         r"reaction quantity is not a number"),
        ("", r"RDML file holds no reaction data"),
    ],
)  # fmt: skip
def test_bad_reactions(body, message):
    with pytest.raises(ReaderError, match=message):
        read_qpcr(_src(_rdml(body)))


def test_bad_pcr_format_and_sample_quantity():
    with pytest.raises(ReaderError, match=r"plate R1: invalid pcrFormat"):
        read_qpcr(_src(_rdml("", fmt="<pcrFormat><rows>eight</rows><columns>12</columns></pcrFormat>")))
    xml = _rdml('<react id="1"><sample id="S1"/><data><tar id="T1"/></data></react>').replace(
        "<value>1000</value>", "<value>many</value>"
    )
    with pytest.raises(ReaderError, match=r"sample STD: sample quantity is not a number"):
        read_qpcr(_src(xml))


def test_malformed_xml_names_line():
    xml = _rdml('<react id="1"><sample id="S1"/><data><tar id="T1"/><cq>20</cq></data></react>').replace("><", ">\n<")
    broken = xml.replace("</data>", "</dta>", 1)
    with pytest.raises(ReaderError, match=r"run.rdml, line \d+: malformed RDML XML"):
        read_qpcr(_src(broken), format="rdml")
    with pytest.raises(ReaderError, match=r"malformed RDML XML"):
        read_qpcr(_src(_zip(broken)), format="rdml")


def test_not_rdml_root_and_empty_zip():
    with pytest.raises(ReaderError, match=r"not an RDML document .*<other>"):
        read_qpcr(_src('<?xml version="1.0"?><other/>'), format="rdml")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr("readme.txt", "hello")
    with pytest.raises(ReaderError, match="RDML archive holds no XML document"):
        read_qpcr(_src(buf.getvalue()), format="rdml")


def test_truncated_zip(corpus):
    data = corpus(*V14_GENORM).read_bytes()
    for cut in (10, len(data) // 2, len(data) - 10):
        with pytest.raises(ReaderError, match="corrupt RDML archive|malformed RDML XML"):
            read_qpcr(_src(data[:cut]), format="rdml")


def test_xlsx_is_not_sniffed_as_rdml(corpus):
    from assaykit.io.qpcr.rdml import _sniff

    xlsx = corpus("qpcr", "thermo_qs7flex_ddct_crt__allotropy_example08.xlsx").read_bytes()
    assert not _sniff(_src(xlsx, "x.xlsx"))
    assert _sniff(_src(corpus(*V10).read_bytes()))


# ------------------------------------------------------------------ fuzz
@pytest.mark.parametrize("parts", [V10, V11, V14_GENORM, V14_REL])
def test_fuzz_rdml_zip_bytes(parts, corpus):
    data = corpus(*parts).read_bytes()

    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(mut):
        check_reader_contract(mut, parts[-1], kind="qpcr", format="rdml")

    run()


@pytest.mark.parametrize("parts", [V10, V11, V14_GENORM, V14_REL])
def test_fuzz_rdml_xml_mutations(parts, corpus):
    with zipfile.ZipFile(corpus(*parts)) as zf:
        xml = zf.read(zf.namelist()[0])

    @FUZZ_SETTINGS
    @given(mutated(xml), st.booleans())
    def run(mut, zipped):
        df = check_reader_contract(_zip(mut) if zipped else mut, parts[-1], kind="qpcr", format="rdml")
        if df is not None:
            assert (np.isnan(df["cq"]) | (df["cq_flag"] == "") | (df["cq_flag"] == "omitted")).all()

    run()


def test_unknown_encoding_and_too_large(monkeypatch):
    with pytest.raises(ReaderError, match=r"cannot decode RDML XML .*unknown encoding"):
        read_qpcr(_src('<?xml version="1.0" encoding="foo"?><rdml/>'), format="rdml")
    import assaykit.io.qpcr.rdml as rdml_mod

    monkeypatch.setattr(rdml_mod, "_MAX_XML_BYTES", 100)
    with pytest.raises(ReaderError, match=r"RDML document too large .*at most 100 bytes"):
        read_qpcr(_src(_zip(_rdml(""))), format="rdml")


def test_column_dtypes(corpus):
    df = read_qpcr(corpus(*V14_GENORM))
    for name in ("cq", "quantity", "tm", "instrument_n0", "instrument_ncopy", "instrument_amp_eff", "instrument_quantity"):
        assert df[name].dtype == np.float64, name
