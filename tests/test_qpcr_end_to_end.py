"""End to end: real exports and the bundled simulated run through ``assaykit qpcr``.

Real exports come from ../shared/corpus/qpcr (tests skip when it is absent); numbers are
compared with the vendor's own results or with the arithmetic of Livak & Schmittgen
(2001) written out here, independently of assaykit.qpcr.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

import assaykit
from assaykit.cli import main
from assaykit.cli.demo import available_parts, run_demo
from assaykit.datasets import path

ROOT = Path(__file__).resolve().parent.parent


def invoke(*args) -> object:
    return CliRunner().invoke(main, [str(a) for a in args])


def test_design_analysis_rq_through_the_cli(corpus, reference, tmp_path):
    """D&A workbook → `assaykit qpcr` with the vendor's settings → Rq, Rq Min, Rq Max to 4 decimals.

    Vendor settings (reference/qpcr/README.md, thermo_da_qs3_reproduce.py): efficiencies from
    each target's standard curve, EqCq = Cq·log2(1+E), IPC endogenous control in the same
    wells, reference sample Unk_400, 95 % t interval on the sample's own SE.
    """
    xlsx = corpus("qpcr", "thermo_da_qs3_relative_quantification__allotropy_example02.xlsx")
    r = invoke("qpcr", xlsx, "--reference", "IPC", "--control", "Unk_400", "--group-col", "sample",
               "--method", "thermo_ecq", "--efficiency", "auto", "--error", "ci95", "--test", "none",
               "-o", tmp_path)  # fmt: skip
    assert r.exit_code == 0, r.output
    g = pd.read_csv(tmp_path / "groups.csv").set_index("sample")
    exp = pd.read_csv(reference("qpcr", "thermo_da_qs3_rq_expected_vendor.csv")).dropna(subset=["Rq"]).set_index("Sample")
    assert set(g.index) == set(exp.index) == {"Unk_400", "Unk_800", "Unk_1600", "Unk_3200"}
    for s in exp.index:
        for ours, theirs in (("fold_change", "Rq"), ("fold_change_ci95_low", "Rq Min"), ("fold_change_ci95_high", "Rq Max")):
            assert round(g.loc[s, ours], 4) == round(exp.loc[s, theirs], 4), (s, ours)
            assert g.loc[s, ours] == pytest.approx(exp.loc[s, theirs], abs=1e-8)
    curves = pd.read_csv(tmp_path / "standard_curves.csv").set_index("target")
    assert round(100 * curves.loc["RNaseP", "efficiency"], 2) == 96.43
    assert round(100 * curves.loc["IPC", "efficiency"], 2) == 82.72
    # multiplexed wells: one QC map per target; every well kept
    assert (tmp_path / "plate_qc_1_RNaseP.png").exists() and (tmp_path / "plate_qc_1_IPC.png").exists()
    wells = pd.read_csv(tmp_path / "wells.csv")
    assert len(wells) == len(assaykit.read_qpcr(xlsx)) == 156
    assert set(wells.loc[wells["task"] != "unknown", "status"]) == {"not_analysed"}
    assert "Unk_800: fold change 1.95 (ci95 1.84-2.06)" in r.stdout


# Per-well CT of the trimmed QuantStudio 7 Flex demo (thermo_qs7flex_ddct_with_footer__...example06.txt),
# typed from the file.
QS7 = {
    ("Lung", "TGF-B"): [30.155, 30.200, 30.093],
    ("Lung", "GAPDH"): [32.884, 32.937],
    ("Liver", "TGF-B"): [29.799, 29.773],
    ("Liver", "GAPDH"): [32.546, 33.074],
}


def test_quantstudio_7_flex_txt_through_the_cli(corpus, tmp_path):
    """Livak, separate wells: ΔCt of means, s = √(s_t² + s_ref²) (ABI User Bulletin #2), by hand."""
    txt = corpus("qpcr", "thermo_qs7flex_ddct_with_footer__allotropy_example06.txt")
    r = invoke("qpcr", txt, "--reference", "GAPDH", "--control", "Liver", "--group-col", "sample", "-o", tmp_path)
    assert r.exit_code == 0, r.output
    m = {k: np.mean(v) for k, v in QS7.items()}
    s = {k: np.std(v, ddof=1) for k, v in QS7.items()}
    dct = {x: m[(x, "TGF-B")] - m[(x, "GAPDH")] for x in ("Lung", "Liver")}
    sd = {x: np.hypot(s[(x, "TGF-B")], s[(x, "GAPDH")]) for x in ("Lung", "Liver")}
    ddct_lung = dct["Lung"] - dct["Liver"]
    g = pd.read_csv(tmp_path / "groups.csv").set_index("sample")
    assert g.loc["Lung", "ddcq"] == pytest.approx(ddct_lung, abs=1e-12)
    assert g.loc["Lung", "fold_change"] == pytest.approx(2**-ddct_lung, rel=1e-12)
    assert round(g.loc["Lung", "fold_change"], 4) == 0.8334  # ΔΔCt 0.26283
    assert g.loc["Lung", "fold_change_sd_low"] == pytest.approx(2 ** -(ddct_lung + sd["Lung"]), rel=1e-12)
    assert g.loc["Lung", "fold_change_sd_high"] == pytest.approx(2 ** -(ddct_lung - sd["Lung"]), rel=1e-12)
    assert g.loc["Liver", "fold_change"] == 1.0
    # the instrument's own RQ is kept for comparison, never used: this trimmed copy lacks
    # wells the vendor averaged (its GAPDH Ct Mean for Lung is 32.762, the two wells left
    # average 32.911), so the vendor's 0.8 is not expected here
    wells = pd.read_csv(tmp_path / "wells.csv")
    assert wells.loc[(wells["sample"] == "Lung") & (wells["target"] == "TGF-B"), "instrument_rq"].eq(0.8).all()
    assert len(wells) == 9 and (wells["status"] == "used").all()


def test_quantstudio_7_flex_without_sample_reference_wells(corpus, tmp_path):
    """In this trimmed demo GAPDH is only in NTC wells: the reference is missing → one-line error."""
    txt = corpus("qpcr", "thermo_qs7flex_ddct_ntc_undetermined__allotropy_example05.txt")
    r = invoke("qpcr", txt, "--reference", "GAPDH", "--control", "Liver", "--group-col", "sample", "-o", tmp_path)
    assert r.exit_code == 1
    assert r.stderr == (
        "error: target GAPDH: reference gene not found (expected one of the targets ['TGF-B']; found 'GAPDH')\n"
    )


def test_cfx_maestro_csv_through_the_cli(corpus, tmp_path):
    """CFX Maestro CSV, FAM target and VIC reference multiplexed in each well, groups from the
    export's Biological Set Name: ΔCq per well, mean per sample, mean per group, by hand."""
    f = corpus("qpcr", "biorad_cfxmaestro_cq_results__allotropy_example01.csv")
    r = invoke("qpcr", f, "--reference", "VIC", "--control", "PBS Baseline", "--group-col",
               "instrument_biological_set", "-o", tmp_path)  # fmt: skip
    assert r.exit_code == 0, r.output
    raw = pd.read_csv(f)
    raw = raw.loc[:, ~raw.columns.str.startswith("Unnamed")]
    wide = raw.pivot_table(index=["Well", "Sample", "Biological Set Name"], columns="Fluor", values="Cq").reset_index()
    wide["dcq"] = wide["FAM"] - wide["VIC"]
    per_sample = wide.groupby(["Biological Set Name", "Sample"])["dcq"].mean().reset_index()
    per_group = per_sample.groupby("Biological Set Name")["dcq"].agg(["mean", "std", "count"])
    ctrl = per_group.loc["PBS Baseline", "mean"]
    g = pd.read_csv(tmp_path / "groups.csv").set_index("instrument_biological_set")
    assert set(g.index) == set(per_group.index)
    for grp, row in per_group.iterrows():
        ddcq = row["mean"] - ctrl
        assert g.loc[grp, "n_samples"] == row["count"]
        assert g.loc[grp, "fold_change"] == pytest.approx(2**-ddcq, rel=1e-10)
        if row["count"] > 1:
            assert g.loc[grp, "error_source"] == "biological"
            assert g.loc[grp, "fold_change_sd_low"] == pytest.approx(2 ** -(ddcq + row["std"]), rel=1e-10)
    samples = pd.read_csv(tmp_path / "samples.csv")
    assert set(samples.loc[samples["target"] == "FAM", "pairing"]) == {"same_well"}
    stats = pd.read_csv(tmp_path / "stats.csv").set_index("group")
    assert stats.loc["Ref Low", "test"] == "welch" and stats.loc["Ref Low", "p_value"] > 0.05
    assert stats.loc["PBS 3903", "status"] == "not_tested"  # one sample: no test, with a reason
    assert isinstance(stats.loc["PBS 3903", "reason"], str) and stats.loc["PBS 3903", "reason"]
    assert (tmp_path / "plate_qc_1_FAM.png").exists() and (tmp_path / "plate_qc_1_VIC.png").exists()


# ------------------------------------------------------------------ bundled Th-panel run
def _generator():
    spec = importlib.util.spec_from_file_location("make_datasets", ROOT / "sample_data" / "make_datasets.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_th_panel_files_are_up_to_date(tmp_path):
    written = _generator().main_th_panel(tmp_path)
    assert [p.name for p in written] == ["qpcr_th_panel_quantstudio.txt", "qpcr_th_panel_layout.toml",
                                         "qpcr_th_panel_truth.csv"]  # fmt: skip
    for p in written:
        assert p.read_bytes() == path(p.name).read_bytes(), f"{p.name} is stale: run sample_data/make_datasets.py"


def test_th_panel_reads_back_to_its_truth():
    run = assaykit.read_qpcr(path("qpcr_th_panel_quantstudio.txt"))
    truth = pd.read_csv(path("qpcr_th_panel_truth.csv"), dtype={"plate": str}, keep_default_na=False,
                        na_values={"cq": [""], "quantity": [""], "true_cq": [""], "fold_change": [""]})  # fmt: skip
    assert len(run) == len(truth) == 288
    m = run.merge(truth, on=["well", "target"], suffixes=("", "_truth"), validate="one_to_one")
    assert (m["sample"] == m["sample_truth"]).all() and (m["task"] == m["task_truth"]).all()
    np.testing.assert_allclose(m["cq"], m["cq_truth"], atol=5e-4)  # 3 decimals in the export
    assert (m["cq_flag"] == m["cq_flag_truth"]).all()
    np.testing.assert_allclose(m["quantity"], m["quantity_truth"])
    assert m.groupby("task").size().to_dict() == {"ntc": 12, "standard": 60, "unknown": 216}
    lay = assaykit.annotate(run, assaykit.read_layout(path("qpcr_th_panel_layout.toml")), how="left")
    unk = lay["task"] == "unknown"
    assert lay.loc[unk, "condition"].notna().all() and lay.loc[~unk, "condition"].isna().all()
    mm = lay.loc[unk].merge(truth, on=["well", "target"], suffixes=("", "_truth"))
    assert (mm["condition"] == mm["condition_truth"]).all() and (mm["donor"] == mm["donor_truth"]).all()


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    return run_demo(out, ["qpcr"])["qpcr"], out / "qpcr"


def test_demo_part_is_registered_and_writes_its_files(demo_out):
    assert "qpcr" in available_parts()
    paths, folder = demo_out
    names = [p.name for p in paths]
    assert names[-1] == "truth_comparison.csv" and "results.xlsx" in names and "fold_change.png" in names
    assert all(p.exists() and p.parent == folder for p in paths)
    import openpyxl

    wb = openpyxl.load_workbook(folder / "results.xlsx", read_only=True)
    assert wb.sheetnames[-1] == "truth_comparison"
    wb.close()


def test_demo_recovers_the_simulated_fold_changes(demo_out):
    """Efficiency-corrected fold changes from the run's own standard curves vs the simulator's truth.

    Tolerance: within a factor 2^0.5 (|log2(estimate/truth)| ≤ 0.5) for each of the 12
    dose × target fold changes — the biological SD is 0.15 cycles per sample and gene, so
    with 3 donors per group the SD of a ΔΔCq is about 0.17 cycles and 0.5 is ~3 SD — and the
    truth inside the Welch 95 % CI every time (all 12 here; deterministic data).
    """
    _, folder = demo_out
    c = pd.read_csv(folder / "truth_comparison.csv")
    assert len(c) == 12 and (c["status"] == "ok").all()
    assert (c["log2_ratio"].abs() <= 0.5).all(), c
    assert c["true_in_ci95"].all()
    # the direction of every effect is recovered
    assert (np.sign(np.log2(c["fold_change"])) == np.sign(np.log2(c["true_fold_change"]))).all()
    # efficiencies from the standard series are close to the simulated ones
    gen = _generator()
    curves = pd.read_csv(folder / "standard_curves.csv").set_index("target")
    for t, e in gen.TH_EFFICIENCY.items():
        assert curves.loc[t, "efficiency"] == pytest.approx(e, abs=0.03)


def test_efficiency_correction_matters_for_rorc(demo_out):
    """RORC amplifies at 88 %: Livak (assumes 100 %) is further from the truth at 10 µM than Pfaffl."""
    _, folder = demo_out
    pf = pd.read_csv(folder / "truth_comparison.csv").set_index(["condition", "target"])
    data = assaykit.annotate(assaykit.read_qpcr(path("qpcr_th_panel_quantstudio.txt")),
                             assaykit.read_layout(path("qpcr_th_panel_layout.toml")), how="left")  # fmt: skip
    from assaykit.qpcr import ddct

    lv = ddct(data, ["GAPDH", "ACTB"], "vehicle", group_col="condition", outlier="median", test=None)
    lv_fc = lv.groups.set_index(["condition", "target"]).loc[("iguratimod_10uM", "RORC"), "fold_change"]
    key = ("iguratimod_10uM", "RORC")
    assert abs(np.log2(lv_fc / 0.3)) > 3 * abs(pf.loc[key, "log2_ratio"])
    assert abs(pf.loc[key, "log2_ratio"]) < 0.05
