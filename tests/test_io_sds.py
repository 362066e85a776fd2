"""ABI SDS 2.x results reader (assaykit.io.qpcr.sds)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given

from assaykit.errors import ReaderError
from assaykit.io import Source, read_qpcr
from tests.fuzzing import FUZZ_SETTINGS, check_reader_contract, mutated

SDS23 = ("corpus", "qpcr", "abi_7900ht_sds23_rq_results__HTqPCR_SDS_sample.txt")
SDS21 = ("reference", "qpcr", "readqpcr_example_sds21_taqman.txt")


def _path(corpus, reference, parts):
    kind, *rest = parts
    return corpus(*rest) if kind == "corpus" else reference(*rest)


def one(df: pd.DataFrame, well: str, plate: str | None = None) -> pd.Series:
    sel = df["well"] == well
    if plate is not None:
        sel &= df["plate"] == plate
    rows = df.loc[sel]
    assert len(rows) == 1
    return rows.iloc[0]


@pytest.mark.shared
def test_sds23_rq_results(corpus, reference):
    path = _path(corpus, reference, SDS23)
    assert b"\r" in path.read_bytes() and b"\n" not in path.read_bytes()  # CR-only line ends
    df = read_qpcr(path)
    # (format, rows, whole columns, flag counts and spot values: test_io_formats_table.py)
    assert df["well"].iloc[-1] == "P24"
    a2 = one(df, "A2")
    # the columns are mapped right: RQ Min/Max = 2^-(0 ± t(0.995, 4) · SE) for this calibrator row
    t = 4.604094871
    assert 2 ** -(t * a2["instrument_delta_cq_se"]) == pytest.approx(
        a2["instrument_rq_min"], rel=1e-5
    )
    assert 2 ** (t * a2["instrument_delta_cq_se"]) == pytest.approx(
        a2["instrument_rq_max"], rel=1e-5
    )
    assert df["cq_raw"].eq("Undetermined").sum() == 31
    assert df.attrs["metadata"]["Assay Type"] == "RQ Study"
    assert df.columns[15:].tolist() == [
        "instrument_delta_cq",
        "instrument_delta_cq_mean",
        "instrument_delta_cq_se",
        "instrument_delta_delta_cq_sd",
        "instrument_rq",
        "instrument_rq_min",
        "instrument_rq_max",
        "instrument_task",
    ]


def _make_names(text: str) -> str:
    """R's make.names, as ReadqPCR applied it to sample and detector names."""
    out = re.sub(r"[^A-Za-z0-9._]", ".", text)
    return "X" + out if out[0].isdigit() else out


@pytest.mark.shared
def test_sds21_taqman_card_matches_readqpcr(corpus, reference):
    df = read_qpcr(_path(corpus, reference, SDS21))
    assert df.attrs["format"] == "sds"
    assert len(df) == 768
    assert df["plate"].value_counts().to_dict() == {
        "john dawes card 1": 384,
        "john dawes card 2": 384,
    }
    # well numbers 1..384 of a TaqMan array card → 16 × 24 positions
    il12 = df.loc[df["target"] == "Il12a-Rn00584538_m1"].set_index("sample")
    assert il12.loc["fp1 day3 v", "well"] == "A1" and il12.loc["fp2 day3 v", "well"] == "E1"
    assert il12.loc["fp6 day3 mia", "well"] == "M1"  # well 289
    first = il12.loc["fp1 day3 v"]
    assert first["cq"] == 1.0 and first["cq_raw"] == "1"  # as exported (Ct Avg says 31.55474)
    assert first["instrument_cq_mean"] == pytest.approx(31.55474, abs=1e-12)
    assert first["instrument_endo_cq_mean"] == pytest.approx(20.956345, abs=1e-12)
    assert first["instrument_delta_rn"] == pytest.approx(10.384224, abs=1e-12)
    assert first["instrument_threshold"] == pytest.approx(1.0175787, abs=1e-12)
    assert first["instrument_delta_cq_mean"] == pytest.approx(10.598396, abs=1e-12)
    assert (df["instrument_task"] == "Endogenous Control").sum() == 24
    assert df["cq_flag"].value_counts().to_dict() == {"": 669, "undetermined": 99}
    meta = df.attrs["metadata"]
    assert meta["Endogenous Control"] == "18S-Hs99999901_s1" and meta["Calibrator"] == "fp1 day3 v"
    # every Cq equals ReadqPCR read.taqman's matrix (NA = Undetermined)
    ref = pd.read_csv(
        reference("qpcr", "normqpcr_expected", "readqpcr_example_parsed_Cq_matrix.csv")
    )
    ref = ref.melt(id_vars="detector", var_name="sample_key", value_name="ref_cq")
    ours = df.assign(
        sample_key=df["sample"].map(_make_names), detector=df["target"].map(_make_names)
    )[["sample_key", "detector", "cq"]]
    joined = ours.merge(ref, on=["sample_key", "detector"], how="outer", validate="one_to_one")
    assert len(joined) == 768 and joined["cq"].notna().sum() == 669
    np.testing.assert_array_equal(joined["cq"].isna(), joined["ref_cq"].isna())
    np.testing.assert_allclose(
        joined["cq"], joined["ref_cq"], rtol=0, atol=1e-6
    )  # CSV has 8 digits


# ----------------------------------------------------------------- synthetic + errors
HEAD = "SDS 2.3 RQ Results\t1.2\nFilename\tx.sdm\n\n"
COLS = "#\tPlate\tPos\tFlag\tSample\tDetector\tTask\tCt\tOmit\tNAW\tHSD"


def sds(rows: list[str], header: str = COLS, top: str = HEAD) -> bytes:
    return (top + header + "\n" + "\n".join(rows) + "\n\nPlateID\tNAP\tLPL\n").encode()


def test_synthetic_sds_flags_and_plates():
    rows = [
        "1\tP1\tA1\tPassed\tS1\tGAPDH\tEndogenous Control\t18.2\tFALSE\t\t",
        "2\tP1\tA2\tFlagged\tS1\tIL17A\tTarget\tUndetermined\tTRUE\tTRUE\t",
        "1\tP2\tA1\tFlagged\tS1\tGAPDH\tTarget\t18.9\tFALSE\t\tTRUE",
    ]
    df = read_qpcr(Source(data=sds(rows), name="run.txt"))
    assert df.attrs["format"] == "sds"
    assert df["plate"].tolist() == ["P1", "P1", "P2"]
    assert one(df, "A2")["cq_flag"] == "undetermined;omitted;flagged;naw"
    assert one(df, "A1", "P2")["cq_flag"] == "flagged;hsd"
    assert df.attrs["metadata"] == {"SDS 2.3 RQ Results": "1.2", "Filename": "x.sdm"}


def _err(data: bytes) -> str:
    with pytest.raises(ReaderError) as info:
        read_qpcr(Source(data=data, name="run.txt"), format="sds")
    return str(info.value)


def test_sds_errors():
    text = _err(b"SDS 2.3 RQ Results\t1.2\nFilename\tx\n\nWell\tSample\tCt\n1\ts\t20\n")
    assert "no SDS results header" in text and "'Detector' and 'Ct'" in text and "run.txt" in text
    text = _err(sds([]).replace(b"\n\n\nPlateID", b"\n\nPlateID"))
    assert "SDS results table has no rows" in text and "line 4" in text
    rows = [
        "1\tP1\tA1\tPassed\tS1\tGAPDH\tTarget\t18.2",
        "5\tP1\tA1\tPassed\tS2\tGAPDH\tTarget\t18.3",
    ]
    text = _err(sds(rows))
    assert "well × target appears twice" in text and "well A1" in text and "target GAPDH" in text
    assert "line 6" in text and "first at line 5" in text
    text = _err(sds(["1\tP1\tQ\tPassed\tS1\tGAPDH\tTarget\t18.2"]))
    assert "not a well position" in text and "'Q'" in text


def test_sds_sniffer_and_table_without_preamble():
    from assaykit.io.qpcr.sds import _sniff

    bare = b"Well\tSample\tDetector\tCt\n1\ts\td\t20\n"
    assert not _sniff(Source(data=bare, name="x.txt"))
    assert _sniff(Source(data=sds(["1\tP1\tA1\tPassed\tS1\tG\tTarget\t18.2"]), name="x.txt"))
    df = read_qpcr(
        Source(data=bare, name="x.txt"), format="sds"
    )  # forced: the table alone is enough
    assert df["well"].tolist() == ["A1"] and df["cq"].tolist() == [20.0]


@pytest.mark.shared
@pytest.mark.parametrize("parts", [SDS23, SDS21], ids=["sds23", "sds21"])
def test_fuzz_sds(corpus, reference, parts):
    data = _path(corpus, reference, parts).read_bytes()

    @FUZZ_SETTINGS
    @given(mutated(data))
    def run(blob):
        check_reader_contract(blob, parts[-1], kind="qpcr", format="sds")

    run()
