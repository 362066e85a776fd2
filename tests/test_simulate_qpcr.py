"""qPCR simulator and export writers (assaykit.simulate.qpcr)."""

from __future__ import annotations

import importlib.util
import math

import numpy as np
import pandas as pd
import pytest

from assaykit import read_qpcr
from assaykit.errors import AnalysisError
from assaykit.simulate.qpcr import simulate_qpcr_run, write_cfx_csv, write_quantstudio_txt

TARGETS = ["TBX21", "RORC"]
REFS = ["GAPDH"]
HAS_QUANTSTUDIO = importlib.util.find_spec("assaykit.io.qpcr.quantstudio") is not None


def _sim(**kw):
    args = dict(targets=TARGETS, references=REFS, fold_changes={"drug": {"TBX21": 4.0, "RORC": 0.5}})
    args.update(kw)
    return simulate_qpcr_run(**args)


# ------------------------------------------------------------------ model, closed form
def test_noise_free_cq_is_closed_form():
    w = _sim(sd_tech=0, efficiencies={"TBX21": 1.0, "RORC": 0.9, "GAPDH": 0.95}, cq0={"TBX21": 26.0})
    assert list(w.columns) == [
        "plate", "well", "sample", "condition", "bio_rep", "tech_rep", "target", "is_reference", "task",
        "reporter", "efficiency", "fold_change", "true_cq", "cq", "cq_flag",
    ]  # fmt: skip
    means = w.groupby(["condition", "target"])["cq"].agg(["mean", "std"])
    assert (means["std"] == 0).all()
    assert means.loc[("vehicle", "TBX21"), "mean"] == pytest.approx(26.0, abs=1e-12)
    assert means.loc[("drug", "TBX21"), "mean"] == pytest.approx(26.0 - 2.0, abs=1e-12)  # log2(4) = 2
    assert means.loc[("vehicle", "RORC"), "mean"] == pytest.approx(25.0, abs=1e-12)
    # E = 0.9: Cq shift = -log(0.5) / log(1.9)
    assert means.loc[("drug", "RORC"), "mean"] == pytest.approx(25.0 + math.log(2) / math.log(1.9), abs=1e-12)
    assert means.loc[("drug", "GAPDH"), "mean"] == pytest.approx(20.0, abs=1e-12)
    assert (w["cq"] == w["true_cq"]).all()


def test_layout_and_counts():
    w = _sim()
    assert len(w) == 3 * 6 * 3  # genes × (2 conditions × 3 bio) × 3 tech
    assert w["well"].is_unique
    assert list(w["well"][:3]) == ["A1", "A2", "A3"] and w["well"].iloc[-1] == "E6"
    assert w.attrs["plate_size"] == 96
    assert w.groupby("sample").size().eq(9).all()
    assert sorted(w["sample"].unique())[:2] == ["drug_1", "drug_2"]
    assert w["is_reference"].sum() == 18
    big = _sim(n_bio=8)
    assert big.attrs["plate_size"] == 384 and len(big) == 3 * 16 * 3


def test_livak_and_pfaffl_recover_the_truth():
    eff = {"TBX21": 0.85, "RORC": 1.0, "GAPDH": 0.95}
    w = _sim(n_bio=6, n_tech=3, sd_tech=0.15, efficiencies=eff, seed=3)
    m = w.groupby(["condition", "target"])["cq"].mean()
    for target, fold in (("TBX21", 4.0), ("RORC", 0.5)):
        d_t = m[("vehicle", target)] - m[("drug", target)]  # control − treated
        d_r = m[("vehicle", "GAPDH")] - m[("drug", "GAPDH")]
        pfaffl = (1 + eff[target]) ** d_t / (1 + eff["GAPDH"]) ** d_r
        # 18 wells per mean, sd 0.15: SE(d) ≈ 0.05 cycles → |log2 error| < 0.25 is > 4 SE
        assert abs(math.log2(pfaffl / fold)) < 0.25
    # with E = 1 everywhere, Livak's 2^-ΔΔCq estimates the fold
    w1 = _sim(n_bio=6, sd_tech=0.15, seed=4)
    m1 = w1.groupby(["condition", "target"])["cq"].mean()
    ddcq = (m1[("drug", "TBX21")] - m1[("drug", "GAPDH")]) - (m1[("vehicle", "TBX21")] - m1[("vehicle", "GAPDH")])
    assert 2 ** (-ddcq) == pytest.approx(4.0, rel=0.15)


def test_undetermined_and_reproducibility():
    w = _sim(p_undetermined=0.25, n_bio=8, seed=11)
    und = w["cq_flag"] == "undetermined"
    assert (w["cq"].isna() == und).all()
    assert w["true_cq"].notna().all()
    assert 0.15 < und.mean() < 0.35
    pd.testing.assert_frame_equal(w, _sim(p_undetermined=0.25, n_bio=8, seed=11))
    assert not np.allclose(w["cq"].fillna(0), _sim(p_undetermined=0.25, n_bio=8, seed=12)["cq"].fillna(0))


def test_design_and_biological_sd():
    design = pd.DataFrame({"sample": ["m1", "m2", "d1"], "condition": ["vehicle", "vehicle", "drug"]})
    w = _sim(design=design, n_tech=2, sd_tech=0, sd_bio=0.5, seed=2)
    assert len(w) == 3 * 3 * 2
    assert list(w.loc[w["target"] == "GAPDH", "bio_rep"]) == [1, 1, 2, 2, 1, 1]
    per_sample = w.groupby(["sample", "target"])["true_cq"].nunique()
    assert (per_sample == 1).all()
    assert w.groupby("target")["true_cq"].nunique().gt(1).all()


@pytest.mark.parametrize(
    "kw, message",
    [
        (dict(targets=[], references=[]), "no genes to simulate"),
        (dict(targets=["A"], references=["A"]), "a gene is listed twice"),
        (dict(efficiencies={"TBX21": 0}), "efficiency out of range"),
        (dict(p_undetermined=1.5), "p_undetermined must be a probability"),
        (dict(n_tech=0), "n_tech must be at least 1"),
        (dict(sd_tech=-1), "standard deviations must be >= 0"),
        (dict(fold_changes={"drug": 2.0}), "fold_changes must map each condition"),
        (dict(fold_changes={"drug": {"TBX21": 0}}), "fold change must be > 0"),
        (dict(n_bio=0), "n_bio must be at least 1"),
        (dict(design=pd.DataFrame({"sample": ["a"]})), "design lacks columns"),
        (dict(design=pd.DataFrame({"sample": ["a", "a"], "condition": ["x", "y"]})), "design lists a sample twice"),
        (dict(n_bio=30), "design does not fit one plate"),
    ],
)
def test_simulator_errors(kw, message):
    with pytest.raises(AnalysisError, match=message):
        _sim(**kw)


# ------------------------------------------------------------------ writers, round trips
def test_cfx_round_trip(tmp_path):
    w = _sim(p_undetermined=0.2, seed=5)
    # make one sample × target entirely undetermined → CFX writes Cq Mean = 0
    sel = (w["sample"] == "drug_2") & (w["target"] == "RORC")
    w.loc[sel, "cq"] = np.nan
    w.loc[sel, "cq_flag"] = "undetermined"
    path = tmp_path / "run -  Quantification Cq Results_0.csv"
    assert write_cfx_csv(w, path) == path
    lines = path.read_text().splitlines()
    assert lines[0].startswith(",Well,Fluor,Target,Content,Sample,Biological Set Name,Cq,Cq Mean")
    assert lines[1].startswith(",A01,SYBR,GAPDH,Unkn,vehicle_1,vehicle,")
    df = read_qpcr(path)
    assert df.attrs["format"] == "cfx"
    m = w.merge(df, on=["well", "target"], suffixes=("", "_read"), validate="one_to_one")
    assert len(m) == len(w)
    written = np.array([float(format(x, ".15g")) if np.isfinite(x) else np.nan for x in w["cq"]])
    np.testing.assert_array_equal(m["cq_read"].to_numpy(), written)
    assert (m["cq_flag"] == m["cq_flag_read"]).all()
    assert (m["sample"] == m["sample_read"]).all() and (m["task_read"] == "unknown").all()
    assert (m["instrument_biological_set"] == m["condition"]).all()
    gone = m[(m["sample"] == "drug_2") & (m["target"] == "RORC")]
    assert gone["instrument_cq_mean"].isna().all()  # written as the CFX "0", read back as NaN
    assert "0,0,NaN,NaN,NaN,0,60," in path.read_text()
    ok = m[m["cq"].notna()].groupby(["sample", "target"])
    means = ok["cq"].mean()
    read_means = ok["instrument_cq_mean"].first()
    np.testing.assert_allclose(read_means.to_numpy(), means.to_numpy(), rtol=1e-12)


@pytest.mark.skipif(not HAS_QUANTSTUDIO, reason="assaykit/io/qpcr/quantstudio.py (quantstudio_txt reader) not present")
def test_quantstudio_round_trip(tmp_path):
    w = _sim(p_undetermined=0.2, seed=6)
    path = tmp_path / "run.txt"
    assert write_quantstudio_txt(w, path, endogenous_control="GAPDH", reference_sample="vehicle_1") == path
    text = path.read_text(encoding="utf-8")
    assert text.startswith("* Block Type = 96-Well Block (0.2mL)\n")
    assert "\n[Sample Setup]\nWell\tWell Position\tSample Name" in text
    assert "\n[Results]\nWell\tWell Position\tOmit\tSample Name\tTarget Name\tTask" in text
    assert text.rstrip().endswith("Reference Sample = vehicle_1")
    df = read_qpcr(path)
    assert df.attrs["format"] == "quantstudio_txt"
    m = w.merge(df, on=["well", "target"], suffixes=("", "_read"), validate="one_to_one")
    assert len(m) == len(w)
    np.testing.assert_array_equal(m["cq_read"].to_numpy(), np.round(w["cq"].to_numpy(), 3))
    assert (m["cq_flag"] == m["cq_flag_read"]).all()
    assert (m.loc[m["cq"].isna(), "cq_raw"] == "Undetermined").all()
    assert (m["sample"] == m["sample_read"]).all()


def test_quantstudio_writer_384_and_standards(tmp_path):
    w = _sim(n_bio=8, sd_tech=0)
    w["task"] = "unknown"
    w.loc[0, "task"] = "standard"
    w["quantity"] = np.nan
    w.loc[0, "quantity"] = 1000.0
    path = tmp_path / "big.txt"
    write_quantstudio_txt(w, path)
    text = path.read_text(encoding="utf-8")
    assert text.startswith("* Block Type = 384-Well Block\n")
    assert "\n1\tA1\tfalse\tvehicle_1\tGAPDH\tSTANDARD\tSYBR\tNone\t1000.000\t" in text
    assert "Endogenous Control" not in text
    if HAS_QUANTSTUDIO:
        df = read_qpcr(path)
        assert len(df) == len(w)


@pytest.mark.parametrize("writer", [write_cfx_csv, write_quantstudio_txt])
def test_writer_errors(writer, tmp_path):
    w = _sim()
    with pytest.raises(AnalysisError, match="wells table lacks columns"):
        writer(w.drop(columns=["cq"]), tmp_path / "x")
    with pytest.raises(AnalysisError, match="well × target listed twice"):
        writer(pd.concat([w, w.iloc[:1]]), tmp_path / "x")


def test_writer_rejects_separators_in_text(tmp_path):
    w = _sim()
    w.loc[0, "sample"] = "a,b"
    with pytest.raises(AnalysisError, match="text with a comma or quote cannot be written"):
        write_cfx_csv(w, tmp_path / "x.csv")
    w.loc[0, "sample"] = "a\tb"
    with pytest.raises(AnalysisError, match="text with a tab or line break cannot be written"):
        write_quantstudio_txt(w, tmp_path / "x.txt")


def test_quantstudio_writer_plate_size_from_wells(tmp_path):
    w = _sim(sd_tech=0)
    w.attrs.clear()
    text = write_quantstudio_txt(w, tmp_path / "a.txt").read_text(encoding="utf-8")
    assert text.startswith("* Block Type = 96-Well Block (0.2mL)")
    w.loc[0, "well"] = "P24"
    text = write_quantstudio_txt(w, tmp_path / "b.txt").read_text(encoding="utf-8")
    assert text.startswith("* Block Type = 384-Well Block") and "\n384\tP24\tfalse\t" in text
    w.loc[0, "well"] = "Q1"
    with pytest.raises(AnalysisError, match="wells do not fit a 384-well plate"):
        write_quantstudio_txt(w, tmp_path / "c.txt")
