"""qPCR analysis pinned to independent implementations and published values.

References live in ../shared/reference/qpcr (see its README): R pcr 1.2.2,
Thermo QuantStudio Design & Analysis (vendor-computed RQ), NormqPCR 1.33.0
(geNorm, NormFinder, deltaDeltaCq), the REST 2008 manual's Pfaffl example, the
ABI User Bulletin #2 / Livak 2001 and Yuan 2006 tables.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import assaykit
from assaykit.datasets import path as dataset_path
from assaykit.errors import AnalysisError
from assaykit.qpcr import ddct, ddct_lm, genorm, normfinder, pfaffl_ratio, standard_curve
from assaykit.qpcr.models import LM_COLUMNS
from assaykit.schema import qpcr_table

# Tolerances: outputs of the R packages were written with 15 significant digits,
# so results computed the same way agree to ~1e-9; 1e-7 relative is used.
RTOL = 1e-7


def _pcr_long(path, same_tube: bool, sample_is_group: bool = True) -> pd.DataFrame:
    """pcr's wide ct1/ct2 tables → canonical table (one plate, one well per tube)."""
    d = pd.read_csv(path)
    rows = {"well": [], "sample": [], "target": [], "cq": [], "group": []}
    for i, r in d.reset_index(drop=True).iterrows():
        for j, t in enumerate(("c_myc", "GAPDH")):
            rows["well"].append(f"A{i + 1}" if same_tube else f"{'AB'[j]}{i + 1}")
            rows["sample"].append(r["group"] if sample_is_group else f"s{i + 1}")
            rows["group"].append(r["group"])
            rows["target"].append(t)
            rows["cq"].append(float(r[t]))
    df = qpcr_table({k: v for k, v in rows.items() if k != "group"})
    df["group"] = rows["group"]
    return df


@pytest.mark.parametrize(
    ("data", "same_tube", "expected"),
    [
        ("pcr_ct1_brain_kidney_separate_tubes.csv", False, "ct1_ddct_separate_tube.csv"),
        ("pcr_ct1_brain_kidney_separate_tubes.csv", True, "ct1_ddct_same_tube.csv"),
        ("pcr_ct2_brain_kidney_same_tube.csv", True, "ct2_ddct_same_tube.csv"),
        ("pcr_ct2_brain_kidney_same_tube.csv", False, "ct2_ddct_separate_tube.csv"),
    ],
)
def test_livak_matches_r_pcr(reference, data, same_tube, expected):
    df = _pcr_long(reference("qpcr", data), same_tube)
    res = ddct(df, "GAPDH", "brain", test=None)
    exp = pd.read_csv(reference("qpcr", "pcr_expected", expected)).set_index("group")
    g = res.groups.set_index("group")
    for grp in ("brain", "kidney"):
        assert g.loc[grp, "dcq_mean"] == pytest.approx(exp.loc[grp, "normalized"], rel=RTOL)
        assert g.loc[grp, "ddcq"] == pytest.approx(exp.loc[grp, "calibrated"], abs=1e-9)
        assert g.loc[grp, "fold_change"] == pytest.approx(exp.loc[grp, "relative_expression"], rel=RTOL)
        assert g.loc[grp, "ddcq_sd"] == pytest.approx(exp.loc[grp, "error"], rel=RTOL)
        assert g.loc[grp, "fold_change_sd_low"] == pytest.approx(exp.loc[grp, "lower"], rel=RTOL)
        assert g.loc[grp, "fold_change_sd_high"] == pytest.approx(exp.loc[grp, "upper"], rel=RTOL)
    assert set(res.samples.loc[~res.samples["is_reference"], "pairing"]) == {"same_well" if same_tube else "separate"}


def test_livak_matches_published_bulletin_table(reference):
    """ABI User Bulletin #2 / Livak 2001 as printed (2-3 significant digits)."""
    pub = pd.read_csv(reference("qpcr", "published_expected_values.csv"))
    pub = pub.loc[pub["case"] == "ct1_separate_tubes"].set_index(["group", "quantity"])
    res = ddct(_pcr_long(reference("qpcr", "pcr_ct1_brain_kidney_separate_tubes.csv"), False), "GAPDH", "brain")
    g = res.groups.set_index("group")
    s = res.samples.set_index(["sample", "target"])
    for grp in ("brain", "kidney"):
        # printed to 2 decimals (27.025 is printed 27.03): half a unit in the last place
        half = 0.0051
        assert s.loc[(grp, "c_myc"), "cq_mean"] == pytest.approx(pub.loc[(grp, "cmyc_ct_mean"), "value"], abs=half)
        assert s.loc[(grp, "c_myc"), "cq_sd"] == pytest.approx(float(pub.loc[(grp, "cmyc_ct_mean"), "sd_or_range"]), abs=half)
        assert g.loc[grp, "dcq_mean"] == pytest.approx(pub.loc[(grp, "dct"), "value"], abs=half)
        assert g.loc[grp, "dcq_sd"] == pytest.approx(float(pub.loc[(grp, "dct"), "sd_or_range"]), abs=half)
    lo, hi = (float(x) for x in pub.loc[("kidney", "fold_change"), "sd_or_range"].split("-"))
    assert round(g.loc["kidney", "fold_change"], 1) == 5.6
    assert round(g.loc["kidney", "fold_change_sd_low"], 1) == lo
    assert round(g.loc["kidney", "fold_change_sd_high"], 1) == hi


def test_standard_curve_matches_r_pcr(reference):
    d = pd.read_csv(reference("qpcr", "pcr_ct3_dilution_series.csv"))
    long = d.melt(id_vars="amount", var_name="target", value_name="cq")
    df = qpcr_table(
        {
            "well": [f"{'AB'[i // 24]}{i % 24 + 1}" for i in range(len(long))],
            "target": long["target"],
            "cq": long["cq"],
            "quantity": long["amount"],
            "task": "standard",
        }
    )
    sc = standard_curve(df).curves.set_index("target")
    exp = pd.read_csv(reference("qpcr", "pcr_expected", "ct3_standard_curve.csv")).set_index("gene")
    for gene in ("c_myc", "GAPDH"):
        assert sc.loc[gene, "slope"] == pytest.approx(exp.loc[gene, "slope"], rel=RTOL)
        assert sc.loc[gene, "intercept"] == pytest.approx(exp.loc[gene, "intercept"], rel=RTOL)
        assert sc.loc[gene, "r_squared"] == pytest.approx(exp.loc[gene, "r_squared"], rel=RTOL)
        assert sc.loc[gene, "efficiency"] == pytest.approx(10 ** (-1 / exp.loc[gene, "slope"]) - 1, rel=RTOL)


def _two_genes(target: str, target_cq, ref: str, ref_cq, prefix: str = "s", **per_sample) -> pd.DataFrame:
    """A qPCR table of one target and one reference measured once per sample (row i of
    each array is sample i: wells A<i+1> and B<i+1>); ``per_sample`` columns repeat."""
    n = len(target_cq)
    rows = {
        "well": [f"A{i + 1}" for i in range(n)] + [f"B{i + 1}" for i in range(n)],
        "sample": [f"{prefix}{i}" for i in range(n)] * 2,
        "target": [target] * n + [ref] * n,
        "cq": np.concatenate([np.asarray(target_cq, dtype=float), np.asarray(ref_cq, dtype=float)]),
    }
    if "quantity" in per_sample:
        rows["quantity"] = np.concatenate([np.asarray(per_sample.pop("quantity"), dtype=float)] * 2)
    df = qpcr_table(rows)
    for name, values in per_sample.items():
        df[name] = list(values) * 2
    return df


def _ct4(reference) -> pd.DataFrame:
    d = pd.read_csv(reference("qpcr", "pcr_ct4_yuan2006_arabidopsis.csv"))
    return _two_genes("target", d["target"], "ref", d["ref"], group=d["group"])


@pytest.mark.parametrize(
    ("test", "expected", "p_rtol"),
    [("welch", "ct4_test_t.test.csv", 1e-6), ("student", "ct4_test_lm.csv", 1e-6), ("mann_whitney", "ct4_test_wilcox.test.csv", 1e-6)],
)
def test_group_tests_match_r_pcr_on_yuan2006(reference, test, expected, p_rtol):
    res = ddct(_ct4(reference), "ref", "control", test=test)
    st = res.stats.iloc[0]
    exp = pd.read_csv(reference("qpcr", "pcr_expected", expected)).iloc[0]
    assert st["group"] == "treatment" and st["versus"] == "control"
    assert st["estimate"] == pytest.approx(exp["estimate"], rel=RTOL)
    assert st["ci_low"] == pytest.approx(exp["lower"], rel=RTOL)
    assert st["ci_high"] == pytest.approx(exp["upper"], rel=RTOL)
    assert st["p_value"] == pytest.approx(exp["p_value"], rel=p_rtol)
    assert st["fold_change"] == pytest.approx(2 ** -exp["estimate"], rel=RTOL)
    assert st["fold_change_ci_low"] == pytest.approx(2 ** -exp["upper"], rel=RTOL)


def test_yuan2006_published_ddct(reference):
    res = ddct(_ct4(reference), "ref", "control", test="student")
    g = res.groups.set_index("group")
    assert round(g.loc["treatment", "ddcq"], 4) == -0.6848
    exp = pd.read_csv(reference("qpcr", "pcr_expected", "ct4_ddct_separate_tube.csv")).set_index("group")
    assert g.loc["treatment", "fold_change"] == pytest.approx(exp.loc["treatment", "relative_expression"], rel=RTOL)
    # pcr's "error" of 3.78 cycles mixes the 4 input dilutions; per-sample ΔCq does not
    assert g.loc["treatment", "dcq_sd"] < 0.4 < exp.loc["treatment", "error"]
    hl = ddct(_ct4(reference), "ref", "control", test="mann_whitney").stats.iloc[0]
    assert (round(hl["estimate"], 4), round(hl["ci_low"], 4), round(hl["ci_high"], 4)) == (-0.6354, -0.8805, -0.4227)


def _thermo(reference) -> pd.DataFrame:
    w = pd.read_csv(reference("qpcr", "thermo_da_qs3_rq_input_wells.csv"))
    undet = w["Cq"].astype(str).str.upper() == "UNDETERMINED"
    df = qpcr_table(
        {
            "well": w["Well Position"],
            "sample": w["Sample"].fillna("").astype(str),
            "target": w["Target"],
            "task": w["Task"].str.lower(),
            "reporter": w["Reporter"],
            "cq": pd.to_numeric(w["Cq"], errors="coerce"),
            "cq_raw": w["Cq"].astype(str),
            "cq_flag": np.where(undet, "undetermined", ""),
            "quantity": pd.to_numeric(w["Sample"], errors="coerce").where(w["Task"] == "STANDARD"),
        }
    )
    return df


def test_thermo_design_analysis_rq_to_4_decimals(reference):
    df = _thermo(reference)
    sc = standard_curve(df)
    c = sc.curves.set_index("target")
    assert round(c.loc["RNaseP", "slope"], 4) == -3.4106
    assert round(c.loc["RNaseP", "r_squared"], 4) == 0.9981
    assert round(100 * c.loc["RNaseP", "efficiency"], 2) == 96.43
    assert round(c.loc["IPC", "slope"], 4) == -3.8198
    assert round(100 * c.loc["IPC", "efficiency"], 2) == 82.72
    res = ddct(df, "IPC", "Unk_400", group_col="sample", method="thermo_ecq", efficiency=sc, error="ci95", test=None)
    g = res.groups.set_index("sample")
    exp = pd.read_csv(reference("qpcr", "thermo_da_qs3_rq_expected_vendor.csv")).dropna(subset=["Rq"]).set_index("Sample")
    assert set(exp.index) == set(g.index)
    for s in exp.index:
        assert g.loc[s, "dcq_mean"] == pytest.approx(exp.loc[s, "Delta EqCq Mean"], abs=5e-9)
        assert g.loc[s, "dcq_sd"] == pytest.approx(exp.loc[s, "Delta EqCq SD"], abs=5e-9)
        assert g.loc[s, "dcq_se"] == pytest.approx(exp.loc[s, "Delta EqCq SE"], abs=5e-9)
        assert g.loc[s, "ddcq"] == pytest.approx(exp.loc[s, "Delta Delta EqCq"], abs=5e-9)
        for ours, theirs in (("fold_change", "Rq"), ("fold_change_ci95_low", "Rq Min"), ("fold_change_ci95_high", "Rq Max")):
            assert round(g.loc[s, ours], 4) == round(exp.loc[s, theirs], 4)
            assert g.loc[s, ours] == pytest.approx(exp.loc[s, theirs], abs=5e-9)
    assert (g["error_convention"] == "ci95").all()
    # standards and the NTC are kept in wells, not analysed
    w = res.wells
    assert len(w) == len(df)
    assert set(w.loc[w["task"] != "unknown", "status"]) == {"not_analysed"}
    # vendor replicate-group Cq means (unknowns)
    rep = pd.read_csv(reference("qpcr", "thermo_da_qs3_replicate_group_vendor.csv"))
    rep = rep.loc[rep["Sample"].astype(str).str.startswith("Unk")].set_index(["Sample", "Target"])
    s = res.samples.set_index(["sample", "target"])
    for key in rep.index:
        assert s.loc[key, "cq_mean"] == pytest.approx(rep.loc[key, "Cq Mean"], abs=1e-9)
        assert s.loc[key, "cq_sd"] == pytest.approx(rep.loc[key, "Cq SD"], abs=1e-9)


def test_rest2008_pfaffl_ratio(reference):
    d = pd.read_csv(reference("qpcr", "rest2008_manual_pfaffl_example.csv"))
    worked = pd.read_csv(reference("qpcr", "rest2008_pfaffl_worked.csv")).set_index("quantity")["value"]
    # one biological sample per group, the reactions are its replicates, in separate wells
    df = qpcr_table(
        {
            "well": [f"{'ABCDEFGH'[i // 12]}{i % 12 + 1}" for i in range(len(d))],
            "sample": d["condition"],
            "target": d["role"],
            "cq": d["Cq"],
        }
    )
    df["group"] = d["condition"].to_numpy()
    eff = {"target": 2.01 - 1, "reference": 1.97 - 1}
    res = ddct(df, "reference", "control", method="pfaffl", efficiency=eff, test=None)
    fc = res.groups.set_index("group").loc["treatment", "fold_change"]
    assert round(fc, 4) == float(worked["Pfaffl_ratio"]) == 5.9266
    s = res.samples.set_index(["sample", "target"])
    assert round(s.loc[("control", "target"), "cq_mean"], 4) == float(worked.filter(like="(gc)").iloc[0])
    assert round(s.loc[("treatment", "reference"), "cq_mean"], 4) == float(worked.filter(like="(rs)").iloc[0])
    livak = ddct(df, "reference", "control", test=None).groups.set_index("group").loc["treatment", "fold_change"]
    assert round(livak, 4) == float(worked["Livak_2^-ddCt_assuming_E=2"])
    assert round(pfaffl_ratio(27.5025, 24.6550, 26.9525, 26.6450, 1.01, 0.97), 4) == 5.9266


def _genorm_input(reference, tissue):
    v = pd.read_csv(reference("qpcr", "vandesompele2002_genorm_relative_quantities.csv"))
    v = v.loc[v["tissue"] == tissue].drop(columns="tissue")
    return v.melt(id_vars="sample", var_name="target", value_name="q")


@pytest.mark.parametrize("tissue", ["BM", "FIB", "LEU", "NB", "POOL"])
def test_genorm_matches_normqpcr(reference, tissue):
    res = genorm(_genorm_input(reference, tissue), value_col="q", scale="quantity")
    mm = pd.read_csv(reference("qpcr", "normqpcr_expected", "genorm_meanM_by_tissue.csv")).set_index("n_remaining")[tissue]
    ours = res.mean_m.set_index("n_genes")["mean_m"]
    np.testing.assert_allclose(ours.loc[mm.index].to_numpy(), mm.to_numpy(), rtol=RTOL)
    vv = pd.read_csv(reference("qpcr", "normqpcr_expected", "genorm_pairwise_variation_by_tissue.csv"))
    vv["pair"] = "V" + vv["pair"].str.split("/").map(lambda p: f"{p[0]}/{p[1]}")
    v_ours = res.pairwise_v.set_index("pair")["v"]
    np.testing.assert_allclose(v_ours.loc[vv["pair"]].to_numpy(), vv[tissue].to_numpy(), rtol=RTOL)
    rk = pd.read_csv(reference("qpcr", "normqpcr_expected", "genorm_ranking_by_tissue.csv"))
    assert set(res.ranking.loc[res.ranking["rank"] == 1, "target"]) == set(rk.loc[rk["rank"] == 1, tissue])
    assert list(res.ranking.loc[res.ranking["rank"] > 1, "target"]) == list(rk.loc[rk["rank"] > 1, tissue])


def test_genorm_single_pass_m_and_published_nb_values(reference):
    res = genorm(_genorm_input(reference, "NB"), value_col="q", scale="quantity")
    first = res.m_values.loc[res.m_values["step"] == 1].set_index("target")["m"]
    exp = pd.read_csv(reference("qpcr", "normqpcr_expected", "genorm_M_allgenes_NB_singlepass.csv")).set_index("gene")["M"]
    np.testing.assert_allclose(first.loc[exp.index].to_numpy(), exp.to_numpy(), rtol=RTOL)
    # README numbers: NB mean M 1.0716923 (10 genes) -> 0.6383183 (2 genes)
    assert round(res.mean_m["mean_m"].iloc[0], 7) == 1.0716923
    assert round(res.mean_m["mean_m"].iloc[-1], 7) == 0.6383183


def test_genorm_stepwise_rdmltools_demo(reference):
    nc = pd.read_csv(reference("qpcr", "genorm_rdmltools_ncopy.csv"), index_col=0)
    long = nc.rename_axis("sample").reset_index().melt(id_vars="sample", var_name="target", value_name="q")
    res = genorm(long, value_col="q", scale="quantity")
    exp_m = pd.read_csv(reference("qpcr", "genorm_rdmltools_expected_stepwise_meanM.csv")).set_index("n_remaining")
    ours = res.mean_m.set_index("n_genes")
    np.testing.assert_allclose(ours.loc[exp_m.index, "mean_m"].to_numpy(), exp_m["meanM"].to_numpy(), rtol=RTOL)
    assert list(ours.loc[exp_m.index[:-1], "excluded_next"]) == list(exp_m["excluded_next"].iloc[:-1])
    exp_v = pd.read_csv(reference("qpcr", "genorm_rdmltools_expected_stepwise_V.csv")).set_index("pair")["V_stepwise_geNorm"]
    np.testing.assert_allclose(res.pairwise_v.set_index("pair").loc[exp_v.index, "v"].to_numpy(), exp_v.to_numpy(), rtol=RTOL)


def test_normfinder_matches_normqpcr_bladder(reference):
    b = pd.read_csv(reference("qpcr", "andersen2004_bladder_log2.csv")).drop(columns="Sample.no.")
    long = b.melt(id_vars=["sample", "Grade"], var_name="target", value_name="q")
    res = normfinder(long, group_col="Grade", value_col="q", scale="quantity")
    exp = pd.read_csv(reference("qpcr", "normqpcr_expected", "normfinder_bladder_grade_rho.csv")).set_index("gene")["rho"]
    ours = res.stability.set_index("target")["rho"]
    np.testing.assert_allclose(ours.loc[exp.index].to_numpy(), exp.to_numpy(), rtol=RTOL)
    assert res.stability["target"].iloc[0] == "HSPCB"  # Andersen 2004 / NormqPCR vignette: most stable
    assert list(res.stability["target"]) == list(exp.sort_values().index)


def _normqpcr_matrix(reference):
    m = pd.read_csv(reference("qpcr", "normqpcr_expected", "readqpcr_example_parsed_Cq_matrix.csv"))
    contrast = pd.read_csv(reference("qpcr", "normqpcr_expected", "readqpcr_example_contrast.csv"))
    grp = dict(zip(contrast["sample"], np.where(contrast["interestingPhenotype"] == 1, "case", "control"), strict=True))
    long = m.melt(id_vars="detector", var_name="sample", value_name="cq")
    samples = list(m.columns[1:])
    wells = {d: i for i, d in enumerate(m["detector"])}
    df = qpcr_table(
        {
            "plate": long["sample"],  # one 'plate' per sample: wells are unique per plate
            "well": [f"{'ABCDEFGH'[wells[d] // 12]}{wells[d] % 12 + 1}" for d in long["detector"]],
            "sample": long["sample"],
            "target": long["detector"].str.replace(".", "-", n=1, regex=False),
            "cq": long["cq"].astype(float),
            "cq_flag": np.where(long["cq"].isna(), "undetermined", ""),
        }
    )
    df["group"] = df["sample"].map(grp)
    assert len(samples) == 8
    return df


def _normqpcr_expected(reference, name):
    exp = pd.read_csv(reference("qpcr", "normqpcr_expected", name), dtype=str)
    exp["target"] = exp["ID"].str.replace(".", "-", n=1, regex=False)
    return exp.set_index("target")


def test_normqpcr_ddcq_three_reference_genes(reference):
    """NormqPCR deltaDeltaCq(hkgs=3, hkgCalc='arith', statCalc='arith') = our default
    (mean Cq of the references, mean ΔCq per group). Detectors with a missing Cq
    are compared on status only: NormqPCR's NA handling (maxNA) differs from ours."""
    df = _normqpcr_matrix(reference)
    complete = df.groupby("target")["cq"].apply(lambda x: x.notna().all())
    ctrl_all_na = df.loc[df["group"] == "control"].groupby("target")["cq"].apply(lambda x: x.isna().all())
    hk3 = ["Actb-Rn00667869_m1", "B2m-Rn00560865_m1", "Gapdh-Rn99999916_s1"]
    res = ddct(df, hk3, "control", test=None)
    g = res.groups.set_index(["group", "target"])
    exp = _normqpcr_expected(reference, "ddcq_3hkg_paired_arith.csv")
    n = 0
    for target, row in exp.iterrows():
        if target in hk3:
            continue
        ours = g.loc[("case", target)]
        val = row["2^-ddCt"].strip()
        if complete[target]:
            assert ours["fold_change"] == pytest.approx(float(val), rel=1e-9)
            n += 1
        elif ctrl_all_na[target]:
            assert val in ("+", "NA")
            assert ours["status"] in ("no_control", "no_valid_samples") and np.isnan(ours["fold_change"])
            assert ours["reason"]
    assert n == 69  # detectors without any missing Cq


def test_normqpcr_ddcq_linear_average_convention(reference):
    """NormqPCR deltaDeltaCq(hkg='Actb', statCalc='geom') averages 2^−ΔCq on the linear
    scale; the same ratio follows from our per-sample ``rq``-scale values (samples.dcq)."""
    df = _normqpcr_matrix(reference)
    complete = df.groupby("target")["cq"].apply(lambda x: x.notna().all())
    res = ddct(df, "Actb-Rn00667869_m1", "control", test=None)
    s = res.samples.loc[res.samples["status"] == "ok"].copy()
    s["lin"] = 2.0 ** -s["dcq"]
    lin = s.groupby(["target", "group"])["lin"].mean().unstack()
    exp = _normqpcr_expected(reference, "ddcq_actb_paired_geom.csv")
    n = 0
    for target, row in exp.iterrows():
        if target == "Actb-Rn00667869_m1" or not complete[target]:
            continue
        assert lin.loc[target, "case"] / lin.loc[target, "control"] == pytest.approx(float(row["2^-ddCt"]), rel=1e-9)
        assert lin.loc[target, "case"] == pytest.approx(float(row["2^-dCt.interestingPhenotype"]), rel=5e-4)
        n += 1
    assert n >= 70


def test_livak_validation_matches_r_pcr_efficiency(reference):
    """pcr_assess(method='efficiency') on ct3: ΔCq vs log10(amount), one sample per row."""
    from assaykit.qpcr import livak_validation

    d = pd.read_csv(reference("qpcr", "pcr_ct3_dilution_series.csv"))
    df = _two_genes("c_myc", d["c_myc"], "GAPDH", d["GAPDH"], prefix="r", quantity=d["amount"])
    res = livak_validation(df, "GAPDH").set_index("target")
    exp = pd.read_csv(reference("qpcr", "pcr_expected", "ct3_efficiency.csv")).set_index("gene")
    assert res.loc["c_myc", "slope"] == pytest.approx(exp.loc["c_myc", "slope"], rel=RTOL)
    assert res.loc["c_myc", "intercept"] == pytest.approx(exp.loc["c_myc", "intercept"], rel=RTOL)
    assert res.loc["c_myc", "r_squared"] == pytest.approx(exp.loc["c_myc", "r_squared"], rel=RTOL)
    assert bool(res.loc["c_myc", "passes"])


def test_end_to_end_from_design_analysis_export(corpus, reference):
    """The D&A workbook read by assaykit.read_qpcr gives the vendor's Rq to 4 decimals."""
    import assaykit

    data = assaykit.read_qpcr(corpus("qpcr", "thermo_da_qs3_relative_quantification__allotropy_example02.xlsx"))
    res = ddct(data, "IPC", "Unk_400", group_col="sample", method="thermo_ecq", efficiency=standard_curve(data), test=None)
    g = res.groups.set_index("sample")
    exp = pd.read_csv(reference("qpcr", "thermo_da_qs3_rq_expected_vendor.csv")).dropna(subset=["Rq"]).set_index("Sample")
    for s in exp.index:
        for ours, theirs in (("fold_change", "Rq"), ("fold_change_ci95_low", "Rq Min"), ("fold_change_ci95_high", "Rq Max")):
            assert round(g.loc[s, ours], 4) == round(exp.loc[s, theirs], 4)
    assert len(res.wells) == len(data)


@pytest.mark.parametrize("fmt", ["quantstudio", "cfx"])
def test_simulated_export_round_trip_recovers_truth(tmp_path, fmt):
    """Simulator truth → instrument export → read_qpcr → ddct recovers the fold changes."""
    import assaykit
    from assaykit.simulate import simulate_qpcr_run, write_cfx_csv, write_quantstudio_txt

    truth = {"drug": {"TBX21": 4.0, "RORC": 0.5}}
    eff = {"GAPDH": 1.0, "ACTB": 0.95, "TBX21": 0.9, "RORC": 0.98}
    wells = simulate_qpcr_run(
        targets=["TBX21", "RORC"], references=["GAPDH", "ACTB"], fold_changes=truth, efficiencies=eff,
        n_bio=3, n_tech=3, sd_tech=0.0, seed=3,
    )  # fmt: skip
    path = tmp_path / ("run.txt" if fmt == "quantstudio" else "run.csv")
    (write_quantstudio_txt if fmt == "quantstudio" else write_cfx_csv)(wells, path)
    data = assaykit.read_qpcr(path)
    data["group"] = data["sample"].str.rsplit("_", n=1).str[0]
    res = ddct(data, ["GAPDH", "ACTB"], "vehicle", method="pfaffl", efficiency=eff)
    g = res.groups.set_index(["group", "target"])
    # Cq are written with 2-3 decimals: ±0.005 cycles -> < 1 % on the ratio
    assert g.loc[("drug", "TBX21"), "fold_change"] == pytest.approx(4.0, rel=0.01)
    assert g.loc[("drug", "RORC"), "fold_change"] == pytest.approx(0.5, rel=0.01)
    assert len(res.wells) == len(data) == len(wells)


@pytest.mark.parametrize(
    ("data", "same_tube", "expected"),
    [
        ("pcr_ct1_brain_kidney_separate_tubes.csv", False, "ct1_relative_curve_separate_tube.csv"),
        ("pcr_ct2_brain_kidney_same_tube.csv", True, "ct2_relative_curve_same_tube.csv"),
    ],
)
def test_relative_standard_curve_matches_r_pcr(reference, data, same_tube, expected):
    """pcr_curve with the ct3 standard curves: normalized amounts, their error, calibrated."""
    from assaykit.qpcr import relative_standard_curve

    d3 = pd.read_csv(reference("qpcr", "pcr_ct3_dilution_series.csv"))
    long = d3.melt(id_vars="amount", var_name="target", value_name="cq")
    std = qpcr_table(
        {
            "well": [f"{'AB'[i // 24]}{i % 24 + 1}" for i in range(len(long))],
            "target": long["target"],
            "cq": long["cq"],
            "quantity": long["amount"],
            "task": "standard",
        }
    )
    curves = standard_curve(std)
    df = _pcr_long(reference("qpcr", data), same_tube)
    res = relative_standard_curve(df, curves, "GAPDH", "brain").set_index("group")
    exp = pd.read_csv(reference("qpcr", "pcr_expected", expected)).set_index("group")
    for g in ("brain", "kidney"):
        assert res.loc[g, "pairing"] == ("same_well" if same_tube else "separate")
        assert res.loc[g, "normalized"] == pytest.approx(exp.loc[g, "normalized"], rel=RTOL)
        assert res.loc[g, "normalized_sd"] == pytest.approx(exp.loc[g, "error"], rel=RTOL)
        assert res.loc[g, "calibrated"] == pytest.approx(exp.loc[g, "calibrated"], rel=RTOL)
    if not same_tube:
        # ABI bulletin #2 Table 2 (standard-curve method, separate tubes): kidney 5.5 ± 0.35
        assert round(res.loc["kidney", "calibrated"], 1) == 5.5
        assert round(res.loc["kidney", "calibrated_sd"], 2) == 0.35


def test_normfinder_best_pair_on_andersen2004_bladder(reference):
    """No independent value of the pair measure is available (NormqPCR has no pair step);
    the pair formula itself is checked in test_qpcr_stability.py. Here: the best pair is the
    two genes NormqPCR's stepwise NormFinder ranks first (HSPCB, RPS13), and combining them is
    more stable than any single gene. The ρ value is a regression value of this implementation."""
    b = pd.read_csv(reference("qpcr", "andersen2004_bladder_log2.csv")).drop(columns="Sample.no.")
    long = b.melt(id_vars=["sample", "Grade"], var_name="target", value_name="q")
    res = normfinder(long, group_col="Grade", value_col="q", scale="quantity")
    ranking = pd.read_csv(reference("qpcr", "normqpcr_expected", "normfinder_bladder_grade_ranking.csv"))
    best = res.pairs.iloc[0]
    assert {best["target_1"], best["target_2"]} == set(ranking["gene"].iloc[:2]) == {"HSPCB", "RPS13"}
    assert best["rho"] < res.stability["rho"].min()
    assert len(res.pairs) == 14 * 13 // 2
    assert best["rho"] == pytest.approx(0.115455, abs=1e-6)  # regression value


# ==================================================================================================
# Formerly test_qpcr_validation_more.py:
#
# More qPCR validation references (../shared/reference/qpcr, see its README) and the
# task selection of the reference-gene stability analyses.
#
# Complements test_qpcr_validation.py: R pcr 1.2.2 ``delta_ct`` outputs, NormqPCR 1.33.0
# ``deltaDeltaCq(paired=FALSE, statCalc='geom')``, rdmlpython 3.0.1 single-pass geNorm,
# the published ABI bulletin #2 same-tube table (ct2) and the Livak 2001 input-amount
# validation value (ct3).
# ==================================================================================================


GENES = ("c_myc", "GAPDH")


# --------------------------------------------------------------------------- pcr delta_ct


def _dct_table(reference, gene: str, same_tube: bool) -> pd.DataFrame:
    """pcr ct1 as a canonical table for ``method='delta_ct'`` (no reference gene).

    assaykit always normalises to a reference gene, so pcr's un-normalised ΔCt is
    reproduced with a constant reference: ``separate`` — a reference of Cq 0 in its
    own well (ΔCq = Cq, SD √(SD² + 0)); ``same_tube`` — pcr subtracts, row by row,
    the Ct of the calibrator (brain) replicate with the same row number, so the
    reference put in tube i is brain's Ct of row i (brain ΔCq is then exactly 0).
    """
    d = pd.read_csv(reference("qpcr", "pcr_ct1_brain_kidney_separate_tubes.csv"))
    brain = d.loc[d["group"] == "brain", gene].to_numpy()
    rows = {"well": [], "sample": [], "target": [], "cq": []}
    for i, r in d.reset_index(drop=True).iterrows():
        ref = float(brain[i % len(brain)]) if same_tube else 0.0
        for target, cq, well in ((gene, float(r[gene]), f"A{i + 1}"), ("calibrator", ref, f"A{i + 1}" if same_tube else f"B{i + 1}")):
            rows["well"].append(well)
            rows["sample"].append(r["group"])
            rows["target"].append(target)
            rows["cq"].append(cq)
    df = qpcr_table(rows)
    df["group"] = df["sample"].to_numpy()
    return df


@pytest.mark.parametrize(
    ("expected", "same_tube", "names"),
    [
        ("ct1_dct_separate_tube.csv", False, {"c_myc": "c_myc", "GAPDH": "GAPDH"}),
        ("ct1_dct_same_tube.csv", True, {"c_myc": "c_myc", "GAPDH": "GAPDH"}),
        # pcr run on two copies of the GAPDH column (GAPDH1, GAPDH2): both equal GAPDH
        ("ct1_gapdh_dct_separate_tube.csv", False, {"GAPDH1": "GAPDH", "GAPDH2": "GAPDH"}),
    ],
)
def test_delta_ct_without_reference_matches_r_pcr(reference, expected, same_tube, names):
    """pcr_analyze(method='delta_ct'): calibrated = mean Ct(group) − mean Ct(brain),
    error = SD of Ct (separate) or of the row-paired differences (same_tube), range
    2^−(calibrated ± error)."""
    exp = pd.read_csv(reference("qpcr", "pcr_expected", expected)).set_index(["group", "gene"])
    for pcr_name, gene in names.items():
        res = ddct(
            _dct_table(reference, gene, same_tube), "calibrator", "brain", pairing="same_well" if same_tube else "separate", test=None
        )
        g = res.groups.set_index("group")
        for grp in ("brain", "kidney"):
            e = exp.loc[(grp, pcr_name)]
            assert g.loc[grp, "ddcq"] == pytest.approx(e["calibrated"], abs=1e-9)
            assert g.loc[grp, "fold_change"] == pytest.approx(e["fold_change"], rel=RTOL)
            assert g.loc[grp, "ddcq_sd"] == pytest.approx(e["error"], rel=RTOL, abs=1e-12)
            assert g.loc[grp, "fold_change_sd_low"] == pytest.approx(e["lower"], rel=RTOL)
            assert g.loc[grp, "fold_change_sd_high"] == pytest.approx(e["upper"], rel=RTOL)


# --------------------------------------------------------------------------- published tables


def _published(reference, case: str) -> pd.DataFrame:
    pub = pd.read_csv(reference("qpcr", "published_expected_values.csv"))
    return pub.loc[pub["case"] == case].set_index(["group", "quantity"])


def _range(text: str) -> tuple[float, float]:
    lo, hi = (float(x) for x in str(text).split("-"))
    return lo, hi


def test_same_tube_matches_published_bulletin_table_ct2(reference):
    """ABI User Bulletin #2 multiplex table (pcr vignette Table 3): ΔCt per well first,
    SD of the per-well ΔCt, ΔΔCt error = the group's ΔCt SD, range 2^−(ΔΔCt ± s).
    Printed with 2 decimals, sometimes rounded and sometimes truncated (pcr and we get
    brain ΔCt 6.9967, printed 6.99; kidney 4.4667, printed 4.47; fold 5.7757, printed
    5.77): agreement within one unit in the last place (0.01)."""
    d = pd.read_csv(reference("qpcr", "pcr_ct2_brain_kidney_same_tube.csv"))
    rows = {"well": [], "sample": [], "target": [], "cq": []}
    for i, r in d.iterrows():
        for gene in GENES:
            rows["well"].append(f"A{i + 1}")  # both genes multiplexed in one tube
            rows["sample"].append(r["group"])
            rows["target"].append(gene)
            rows["cq"].append(float(r[gene]))
    df = qpcr_table(rows)
    df["group"] = df["sample"].to_numpy()
    res = ddct(df, "GAPDH", "brain", test=None)
    assert set(res.samples.loc[~res.samples["is_reference"], "pairing"]) == {"same_well"}
    g = res.groups.set_index("group")
    pub = _published(reference, "ct2_same_tube")
    half = 0.01
    for grp in ("brain", "kidney"):
        assert g.loc[grp, "dcq_mean"] == pytest.approx(pub.loc[(grp, "dct"), "value"], abs=half)
        assert g.loc[grp, "dcq_sd"] == pytest.approx(float(pub.loc[(grp, "dct"), "sd_or_range"]), abs=half)
        lo, hi = _range(pub.loc[(grp, "fold_change"), "sd_or_range"])
        assert g.loc[grp, "fold_change"] == pytest.approx(pub.loc[(grp, "fold_change"), "value"], abs=half)
        assert g.loc[grp, "fold_change_sd_low"] == pytest.approx(lo, abs=half)
        assert g.loc[grp, "fold_change_sd_high"] == pytest.approx(hi, abs=half)
    assert g.loc["kidney", "ddcq"] == pytest.approx(pub.loc[("kidney", "ddct"), "value"], abs=half)
    assert g.loc["kidney", "ddcq_sd"] == pytest.approx(float(pub.loc[("kidney", "ddct"), "sd_or_range"]), abs=half)


def test_input_amount_validation_delta_ct_at_1ng_ct3(reference):
    """Livak & Schmittgen 2001 validation table: ΔCt (c-myc − GAPDH) at 1 ng = 2.95 ± 0.05
    (mean ± SD of 3 reactions). pcr's ct3 data are *regenerated* draws (rnorm, seed 1234)
    from the published means/SDs, so the drawn mean can only be expected within the 95 %
    interval of a mean of 3 reactions, t(0.975, 2) · 0.05/√3 = 0.124 cycles (the draws
    give 2.900; the exact pcr outputs on them are pinned in test_qpcr_validation.py)."""
    d = pd.read_csv(reference("qpcr", "pcr_ct3_dilution_series.csv"))
    df = _two_genes("c_myc", d["c_myc"], "GAPDH", d["GAPDH"], prefix="r", group=d["amount"].map(lambda a: f"{a:g} ng"))
    res = ddct(df, "GAPDH", "1 ng", test=None)
    g = res.groups.set_index("group")
    pub = _published(reference, "ct3_validation").loc[("all", "dct_at_1ng")]
    half_width = stats.t.ppf(0.975, 2) * float(pub["sd_or_range"]) / np.sqrt(3)
    assert abs(g.loc["1 ng", "dcq_mean"] - pub["value"]) <= half_width
    # the regenerated draws: 25.5391 − 22.6391
    assert g.loc["1 ng", "dcq_mean"] == pytest.approx(2.9000, abs=5e-5)


# --------------------------------------------------------------------------- NormqPCR unpaired


def _normqpcr_matrix_dotted(reference) -> pd.DataFrame:
    m = pd.read_csv(reference("qpcr", "normqpcr_expected", "readqpcr_example_parsed_Cq_matrix.csv"))
    contrast = pd.read_csv(reference("qpcr", "normqpcr_expected", "readqpcr_example_contrast.csv"))
    grp = dict(zip(contrast["sample"], np.where(contrast["interestingPhenotype"] == 1, "case", "control"), strict=True))
    long = m.melt(id_vars="detector", var_name="sample", value_name="cq")
    pos = {d: i for i, d in enumerate(m["detector"])}
    df = qpcr_table(
        {
            "plate": long["sample"],  # one 'plate' per sample: wells unique per plate
            "well": [f"{'ABCDEFGH'[pos[d] // 12]}{pos[d] % 12 + 1}" for d in long["detector"]],
            "sample": long["sample"],
            "target": long["detector"],
            "cq": long["cq"].astype(float),
            "cq_flag": np.where(long["cq"].isna(), "undetermined", ""),
        }
    )
    df["group"] = df["sample"].map(grp)
    return df


def test_normqpcr_ddcq_unpaired_geometric_convention(reference):
    """NormqPCR ``deltaDeltaCq(hkg='Actb', paired=FALSE, statCalc='geom', maxNA=1)``.

    With statCalc='geom' NormqPCR averages 2^−ΔCq per sample on the linear scale
    (mean and SD, ddof 1, of 2^−ΔCq over a group's samples with a Cq) and reports
    the ratio of those means; ``paired`` only changes the arithmetic-scale SD, so
    the unpaired file equals the paired one. Reproduced from our per-sample ΔCq
    (``samples.dcq``). Means/SDs are printed with 4 significant digits (rel 5e-4);
    the ratio with 15 (rel 1e-9). Detectors with more than maxNA=1 missing Cq in a
    group are '+'/'-'/NA in NormqPCR; they are checked when every Cq of a group is
    missing (we then report no fold change, with a reason)."""
    df = _normqpcr_matrix_dotted(reference)
    hkg = "Actb.Rn00667869_m1"
    res = ddct(df, hkg, "control", test=None)
    s = res.samples.loc[res.samples["status"] == "ok"].copy()
    s["lin"] = 2.0 ** -s["dcq"]
    agg = s.groupby(["target", "group"])["lin"].agg(["mean", "std", "count"]).unstack()
    n_na = df.assign(na=df["cq"].isna()).groupby(["target", "group"])["na"].sum().unstack()
    exp = pd.read_csv(reference("qpcr", "normqpcr_expected", "ddcq_actb_unpaired_geom.csv"), dtype=str).set_index("ID")
    paired = pd.read_csv(reference("qpcr", "normqpcr_expected", "ddcq_actb_paired_geom.csv"), dtype=str).set_index("ID")
    pd.testing.assert_frame_equal(exp, paired)
    g = res.groups.set_index(["group", "target"])
    n_ratio = n_all_na = 0
    for target, row in exp.iterrows():
        if target == hkg:
            continue
        ratio = row["2^-ddCt"].strip()
        if (n_na.loc[target] <= 1).all():
            for ours, theirs, sd in (("case", "2^-dCt.interestingPhenotype", "interestingPhenotype.sd"), ("control", "2^-dCt.wildTypePhenotype", "wildTypePhenotype.sd")):
                assert agg.loc[target, ("mean", ours)] == pytest.approx(float(row[theirs]), rel=5e-4)
                assert agg.loc[target, ("std", ours)] == pytest.approx(float(row[sd]), rel=5e-4)
            assert agg.loc[target, ("mean", "case")] / agg.loc[target, ("mean", "control")] == pytest.approx(float(ratio), rel=1e-9)
            n_ratio += 1
        elif (n_na.loc[target] == 4).any():
            assert ratio in ("+", "-", "NA")
            assert np.isnan(g.loc[("case", target), "fold_change"])
            assert g.loc[("case", target), "reason"]
            n_all_na += 1
    assert n_ratio >= 75 and n_all_na >= 5


# --------------------------------------------------------------------------- rdmlpython geNorm


def test_genorm_single_pass_matches_rdmlpython(reference):
    """rdmlpython 3.0.1 ``genorm()`` ranks genes by one pass of M over all candidates
    (no stepwise exclusion) and computes V_n/n+1 along that order: ``ranking='single_pass'``.
    The stepwise default differs for V2/3…V4/5 (0.1145 vs 0.1344 for V2/3)."""
    nc = pd.read_csv(reference("qpcr", "genorm_rdmltools_ncopy.csv"), index_col=0)
    long = nc.rename_axis("sample").reset_index().melt(id_vars="sample", var_name="target", value_name="q")
    res = genorm(long, value_col="q", scale="quantity", ranking="single_pass")
    exp_m = pd.read_csv(reference("qpcr", "genorm_rdmltools_expected_rdmlpython_M.csv"))
    ours = res.m_values.set_index("target")["m"]
    np.testing.assert_allclose(ours.loc[exp_m["gene"]].to_numpy(), exp_m["M_singlepass_rdmlpython301"].to_numpy(), rtol=1e-9)
    # rdmlpython lists the genes from least to most stable
    assert list(res.ranking["target"]) == list(exp_m["gene"].iloc[::-1])
    assert list(res.ranking["rank"]) == list(range(1, len(exp_m) + 1))
    exp_v = pd.read_csv(reference("qpcr", "genorm_rdmltools_expected_rdmlpython_V.csv"))
    exp_v["pair"] = exp_v["pair"].str.upper()
    v = res.pairwise_v.set_index("pair")["v"]
    np.testing.assert_allclose(v.loc[exp_v["pair"]].to_numpy(), exp_v["V_rdmlpython301_singlepass_order"].to_numpy(), rtol=1e-9)
    # the stepwise default gives the same step-1 M but another V2/3
    step = genorm(long, value_col="q", scale="quantity")
    np.testing.assert_allclose(step.m_values.loc[step.m_values["step"] == 1].set_index("target")["m"].loc[ours.index], ours, rtol=1e-12)
    assert step.pairwise_v["v"].iloc[0] == pytest.approx(0.11451051369798289, rel=1e-9)
    assert res.mean_m["n_samples"].iloc[0] == step.mean_m["n_samples"].iloc[0] == len(nc)


# --------------------------------------------------------------------------- stability input selection


REFS = ["GAPDH", "ACTB", "BCL6"]


def test_stability_on_raw_th_panel_scores_unknowns_only():
    """A raw read_qpcr table holds STD1–5 and the NTC; they are not samples to normalise."""
    data = assaykit.read_qpcr(dataset_path("qpcr_th_panel_quantstudio.txt"))
    res = genorm(data, targets=REFS)
    unknown = data.loc[data["task"] == "unknown"]
    same = genorm(unknown, targets=REFS)
    pd.testing.assert_frame_equal(res.mean_m, same.mean_m)
    n_unknown = unknown["sample"].nunique()
    assert (res.mean_m["n_samples"] == n_unknown).all() and n_unknown == 12
    assert res.mean_m["mean_m"].iloc[0] == pytest.approx(0.476194, abs=1e-6)  # 1.0256 with the standards
    everything = genorm(data, targets=REFS, tasks=None)
    assert everything.mean_m["mean_m"].iloc[0] == pytest.approx(1.025561, abs=1e-6)
    ex = res.excluded_samples.set_index("sample")["reason"]
    assert set(ex.index) == {"STD1", "STD2", "STD3", "STD4", "STD5", "NTC"}
    assert ex["STD1"] == "task 'standard' is not analysed (tasks=('unknown',))"
    assert ex["NTC"] == "task 'ntc' is not analysed (tasks=('unknown',))"
    nf = normfinder(data, group_col=None, targets=REFS)
    assert (nf.stability["n_samples"] == 12).all()
    assert list(nf.stability["target"]) == list(normfinder(unknown, group_col=None, targets=REFS).stability["target"])
    # the standards alone, on request
    std = genorm(data, targets=REFS, tasks=("standard",))
    assert std.mean_m["n_samples"].iloc[0] == 5


def _synthetic(n=8, seed=4):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n):
        load = rng.normal(0, 1)
        for g, sd in (("R1", 0.05), ("R2", 0.1), ("R3", 0.6)):
            for rep in range(2):
                rows.append({"well": f"{'ABCDEFGH'[s]}{3 * ['R1', 'R2', 'R3'].index(g) + rep + 1}", "sample": f"s{s}", "target": g, "cq": 22 + load + rng.normal(0, sd)})
    for lvl in range(4):  # a standard series: very different Cq pattern
        for g, slope in (("R1", -3.3), ("R2", -3.6), ("R3", -3.1)):
            rows.append({"well": f"{'ABCDEFGH'[lvl]}{10 + ['R1', 'R2', 'R3'].index(g)}", "sample": f"STD{lvl}", "target": g, "cq": 15 - slope * lvl, "task": "standard"})
    rows.append({"well": "H12", "sample": "NTC", "target": "R1", "cq": np.nan, "task": "ntc"})
    df = pd.DataFrame(rows)
    df["task"] = df["task"].fillna("unknown")
    return df


def test_stability_synthetic_tasks_and_omitted_wells():
    df = _synthetic()
    t = qpcr_table(df.assign(cq_flag=""))
    base = genorm(t)
    unknown_only = genorm(t.loc[t["task"] == "unknown"])
    pd.testing.assert_frame_equal(base.m_values, unknown_only.m_values)
    assert base.mean_m["n_samples"].iloc[0] == 8
    assert list(base.excluded_samples["sample"]) == ["STD0", "STD1", "STD2", "STD3", "NTC"]
    # tasks given as a single string or in upper case in the table
    upper = t.assign(task=t["task"].str.upper())
    pd.testing.assert_frame_equal(genorm(upper, tasks="unknown").m_values, base.m_values)
    # an omitted well is dropped: its replicate alone gives the sample's value
    flagged = t.copy()
    i = flagged.index[(flagged["sample"] == "s0") & (flagged["target"] == "R3")][0]
    flagged.loc[i, "cq"] = 40.0
    flagged.loc[i, "cq_flag"] = "omitted"
    manual = t.drop(index=i)
    np.testing.assert_allclose(genorm(flagged).m_values["m"], genorm(manual).m_values["m"], rtol=1e-12)
    # both replicates omitted: the sample is left out, and the reason says why
    both = flagged.copy()
    both.loc[(both["sample"] == "s1") & (both["target"] == "R2"), "cq_flag"] = "omitted"
    res = genorm(both)
    ex = res.excluded_samples.set_index("sample")["reason"]
    assert ex["s1"] == "no value for R2 (wells omitted in the instrument software)"
    assert res.mean_m["n_samples"].iloc[0] == 7
    # every well of a sample omitted
    gone = t.copy()
    gone.loc[gone["sample"] == "s2", "cq_flag"] = "omitted"
    assert genorm(gone).excluded_samples.set_index("sample").loc["s2", "reason"] == "every well omitted in the instrument software"
    # NormFinder applies the same selection
    nf = normfinder(t.assign(group=np.where(t["sample"].isin(["s0", "s1", "s2", "s3"]), "a", "b")))
    assert (nf.stability["n_samples"] == 8).all()
    assert nf.stability["target"].iloc[-1] == "R3"
    # a table without a task column counts as unknowns
    assert genorm(df.loc[df["task"] == "unknown"].drop(columns="task")).mean_m["n_samples"].iloc[0] == 8


def test_stability_selection_errors():
    t = qpcr_table(_synthetic().assign(cq_flag=""))
    with pytest.raises(AnalysisError, match="no well left for the stability analysis") as e:
        genorm(t, tasks=("nrt",))
    assert "first left out: sample 's0', task 'unknown' is not analysed" in str(e.value)
    with pytest.raises(AnalysisError, match="no well left") as e:
        genorm(t.assign(cq_flag="omitted"))
    assert "every well omitted" in str(e.value)
    with pytest.raises(AnalysisError, match="no well left") as e:
        genorm(t.iloc[:0])
    assert "an empty table" in str(e.value)
    with pytest.raises(AnalysisError, match="unknown geNorm ranking") as e:
        genorm(t, ranking="iterative")
    assert "'single_pass'" in str(e.value)
    one = t.loc[t["sample"].isin(["s0", "STD1", "STD2"])]
    with pytest.raises(AnalysisError, match="geNorm needs at least 2 samples") as e:
        genorm(one)
    assert "1 (left out: 2; first: 'STD1': task 'standard'" in str(e.value)


# --------------------------------------------------------------------------- linear models (ddct_lm)


def _ct4_dilution(reference) -> pd.DataFrame:
    """The ct4 table of test_qpcr_validation, with the dilution of each sample as a factor."""
    df = _ct4(reference)
    d = pd.read_csv(reference("qpcr", "pcr_ct4_yuan2006_arabidopsis.csv"))
    df["dilution"] = [f"{x:g}" for x in d["dilution"]] * 2
    return df


def test_ddct_lm_matches_r_pcr_lm_on_yuan2006(reference):
    """pcr_test(test='lm'): lm(ΔCt ~ group), control as baseline; the group row."""
    res = ddct_lm(_ct4_dilution(reference), "ref", "control")
    assert list(res.columns) == list(LM_COLUMNS)
    assert list(res["term"]) == ["intercept", "group[treatment]"]
    row = res.set_index("term").loc["group[treatment]"]
    exp = pd.read_csv(reference("qpcr", "pcr_expected", "ct4_test_lm.csv")).iloc[0]
    assert row["estimate"] == pytest.approx(exp["estimate"], rel=1e-9)
    assert row["p_value"] == pytest.approx(exp["p_value"], rel=1e-6)
    assert row["ci_low"] == pytest.approx(exp["lower"], rel=1e-9)
    assert row["ci_high"] == pytest.approx(exp["upper"], rel=1e-9)
    assert row["df"] == 22 and row["n_samples"] == 24 and row["group"] == "treatment" and row["status"] == "ok"
    assert row["fold_change"] == pytest.approx(2 ** -exp["estimate"], rel=1e-12)
    assert row["fold_change_ci_low"] == pytest.approx(2 ** -exp["upper"], rel=1e-9)
    assert row["fold_change_ci_high"] == pytest.approx(2 ** -exp["lower"], rel=1e-9)
    assert row["t"] == pytest.approx(row["estimate"] / row["se"], rel=1e-12)


def test_ddct_lm_dose_interaction_design_matches_r_pcr(reference):
    """pcr vignette Table 17: model.matrix(~g2:dose) with dose 100/80/60/40 for the
    dilutions 10/2/0.4/0.08, lm(ΔCt ~ mm + 0); pcr reports every coefficient but the
    first (the intercept)."""
    df = _ct4_dilution(reference)
    first = df.drop_duplicates("sample")
    dose = first["dilution"].map({"10": 100.0, "2": 80.0, "0.4": 60.0, "0.08": 40.0}).to_numpy()
    is_ctrl = (first["group"] == "control").to_numpy()
    mm = pd.DataFrame(
        {"(Intercept)": 1.0, "control:dose": np.where(is_ctrl, dose, 0.0), "treatment:dose": np.where(is_ctrl, 0.0, dose)},
        index=first["sample"].to_numpy(),
    )
    res = ddct_lm(df, "ref", "control", design=mm).set_index("term")
    exp = pd.read_csv(reference("qpcr", "pcr_expected", "ct4_test_lm_dose_interaction.csv"))
    exp["term"] = exp["term"].str.replace("model_matrixg2", "", regex=False)
    for _, e in exp.iterrows():
        r = res.loc[e["term"]]
        assert r["estimate"] == pytest.approx(e["estimate"], rel=1e-9)
        assert r["p_value"] == pytest.approx(e["p_value"], rel=1e-6)
        assert r["ci_low"] == pytest.approx(e["lower"], rel=1e-9)
        assert r["ci_high"] == pytest.approx(e["upper"], rel=1e-9)
        assert r["df"] == 21 and r["group"] == ""


def test_ddct_lm_yuan2006_regression_interval(reference):
    """Yuan 2006 multiple regression / ANCOVA: Ct of both genes modelled with
    gene × treatment × dilution (saturated, dilution as a class variable), ΔΔCt = the
    gene × treatment contrast averaged over dilutions: −0.6848, 95 % CI −0.9262 … −0.4435
    (printed to 4 decimals; ±0.00005). The ΔCt model with the same terms has its own,
    narrower df and interval."""
    df = _ct4_dilution(reference)
    res = ddct_lm(df, "ref", "control", covariates=["dilution"], interactions=["dilution"], response="cq")
    row = res.set_index("term").loc["group[treatment]"]
    pub = _published(reference, "ct4_yuan2006")
    lo, hi = (float(x) for x in str(pub.loc[("treatment_vs_control", "ddct_multiple_regression"), "sd_or_range"]).split(".."))
    assert round(row["estimate"], 4) == pub.loc[("treatment_vs_control", "ddct_multiple_regression"), "value"] == -0.6848
    assert row["ci_low"] == pytest.approx(hi, abs=5e-5)  # published as −0.4435..−0.9262
    assert row["ci_high"] == pytest.approx(lo, abs=5e-5)
    assert row["df"] == 48 - 16 and row["response"] == "cq"
    assert row["p_value"] < 1e-4  # "p < 0.0001"
    # terms: intercept, group, 3 sum-coded dilution columns, 3 group × dilution
    assert len(res) == 8 and res["term"].str.startswith("group[treatment]:dilution[").sum() == 3
    # additive dilution on ΔCq: same ΔΔCq (balanced design), 19 df
    add = ddct_lm(df, "ref", "control", covariates="dilution").set_index("term").loc["group[treatment]"]
    assert add["estimate"] == pytest.approx(-0.684825, abs=1e-9) and add["df"] == 19


def _lm_data(seed=2, n=10, refs=("R1", "R2")):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n):
        grp = ("veh", "lo", "hi")[s % 3]
        load = rng.normal(0, 0.5)
        age = 30.0 + 3 * s
        for t, base in (("T", 25.0), *((r, 20.0 + i) for i, r in enumerate(refs))):
            eff = {"veh": 0.0, "lo": -0.8, "hi": -2.0}[grp] if t == "T" else 0.0
            cq = base + load + eff + (0.02 * age if t == "T" else 0.0) + rng.normal(0, 0.2)
            rows.append({"well": f"{'ABCDEFGHIJ'[s]}{len(rows) % 3 + 1}", "sample": f"s{s}", "target": t, "cq": cq, "group": grp, "age": age, "site": "ab"[s % 2]})
    df = pd.DataFrame(rows)
    t = qpcr_table(df[["well", "sample", "target", "cq"]])
    for c in ("group", "age", "site"):
        t[c] = df[c].to_numpy()
    return t


def test_ddct_lm_closed_forms():
    t = _lm_data()
    # group only on ΔCq = Student's t-test between two groups (pooled variance over all 3 groups)
    res = ddct_lm(t, ["R1", "R2"], "veh").set_index("term")
    s = ddct(t, ["R1", "R2"], "veh", test=None).samples
    s = s.loc[s["status"] == "ok"]
    y = {g: s.loc[s["group"] == g, "dcq"].to_numpy() for g in ("veh", "lo", "hi")}
    assert res.loc["group[lo]", "estimate"] == pytest.approx(y["lo"].mean() - y["veh"].mean(), rel=1e-12)
    pooled = sum(((v - v.mean()) ** 2).sum() for v in y.values()) / (10 - 3)
    se = np.sqrt(pooled * (1 / len(y["lo"]) + 1 / len(y["veh"])))
    assert res.loc["group[lo]", "se"] == pytest.approx(se, rel=1e-12)
    assert res.loc["group[lo]", "p_value"] == pytest.approx(2 * stats.t.sf(abs(res.loc["group[lo]", "t"]), 7), rel=1e-12)
    # two groups only: equals scipy's pooled t-test
    two = t.loc[t["group"] != "hi"]
    r2 = ddct_lm(two, ["R1", "R2"], "veh").set_index("term").loc["group[lo]"]
    s2 = s.loc[s["group"] != "hi"]
    tt = stats.ttest_ind(s2.loc[s2["group"] == "lo", "dcq"], s2.loc[s2["group"] == "veh", "dcq"])
    assert r2["t"] == pytest.approx(tt.statistic, rel=1e-10) and r2["p_value"] == pytest.approx(tt.pvalue, rel=1e-10)
    # numeric covariate: equals numpy least squares on [1, lo, hi, age]
    rc = ddct_lm(t, ["R1", "R2"], "veh", covariates=["age"], conf_level=0.9).set_index("term")
    first = s.set_index("sample")
    X = np.column_stack([np.ones(len(first)), first["group"] == "lo", first["group"] == "hi", t.drop_duplicates("sample").set_index("sample").loc[first.index, "age"]]).astype(float)
    b, *_ = np.linalg.lstsq(X, first["dcq"].to_numpy(), rcond=None)
    np.testing.assert_allclose(rc["estimate"].to_numpy(), b, rtol=1e-9)
    half = rc.loc["age", "se"] * stats.t.ppf(0.95, 10 - 4)
    assert rc.loc["age", "ci_high"] - rc.loc["age", "estimate"] == pytest.approx(half, rel=1e-12)
    # response='cq' with two references equals one block-diagonal least-squares fit
    rq = ddct_lm(t, ["R1", "R2"], "veh", response="cq").set_index("term")
    Z = np.column_stack([np.ones(10), first["group"] == "lo", first["group"] == "hi"]).astype(float)
    cq = s.set_index("sample")["ecq_mean"]
    allsamp = ddct(t, ["R1", "R2"], "veh", test=None).samples
    ref = {r: allsamp.loc[allsamp["target"] == r].set_index("sample").loc[first.index, "ecq_mean"].to_numpy() for r in ("R1", "R2")}
    big = np.kron(np.eye(3), Z)
    yy = np.concatenate([cq.loc[first.index].to_numpy(), ref["R1"], ref["R2"]])
    bb, rss, *_ = np.linalg.lstsq(big, yy, rcond=None)
    c = np.zeros(9)
    c[1], c[4], c[7] = 1.0, -0.5, -0.5  # target − mean of the references, 'lo' coefficient
    s2_ = float(rss[0]) / (30 - 9)
    se_c = np.sqrt(s2_ * c @ np.linalg.inv(big.T @ big) @ c)
    assert rq.loc["group[lo]", "estimate"] == pytest.approx(c @ bb, rel=1e-9)
    assert rq.loc["group[lo]", "se"] == pytest.approx(se_c, rel=1e-9)
    assert rq.loc["group[lo]", "df"] == 21


def test_ddct_lm_not_estimable_rows_and_errors():
    t = _lm_data()
    # too few samples, collinear covariates, an exact fit: rows kept, status 'not_estimable'
    few = t.loc[t["sample"].isin(["s0", "s1", "s2"])]
    r = ddct_lm(few, ["R1", "R2"], "veh")
    assert (r["status"] == "not_estimable").all() and r["estimate"].isna().all()
    assert r["reason"].iloc[0] == "3 samples for 3 model terms (need more samples than terms)"
    dup = t.assign(age2=t["age"] * 2)
    rd = ddct_lm(dup, ["R1", "R2"], "veh", covariates=["age", "age2"])
    assert rd["reason"].iloc[0] == "design matrix is rank deficient for the samples with a ΔCq"
    rq = ddct_lm(dup, ["R1", "R2"], "veh", covariates=["age", "age2"], response="cq")
    assert rq["reason"].iloc[0] == "design matrix is rank deficient (or too few samples) for one of the genes"
    exact = t.copy()
    sel = exact["target"] == "T"
    exact.loc[sel, "cq"] = 25.0 + exact.loc[sel, "group"].map({"veh": 0.0, "lo": 1.0, "hi": 2.0})
    for r_ in ("R1", "R2"):
        exact.loc[exact["target"] == r_, "cq"] = 20.0
    re_ = ddct_lm(exact, ["R1", "R2"], "veh").set_index("term")
    assert re_.loc["group[hi]", "estimate"] == pytest.approx(2.0) and np.isnan(re_.loc["group[hi]", "p_value"])
    assert re_.loc["group[hi]", "reason"] == "zero residual variance (exact fit): no standard error, test or interval"
    # factor covariate, sum coded: 'site[a]' column is +1 / −1
    rs = ddct_lm(t, ["R1", "R2"], "veh", covariates="site")
    assert list(rs["term"]) == ["intercept", "group[lo]", "group[hi]", "site[a]"]

    def err(match, **kw):
        with pytest.raises(AnalysisError, match=match) as e:
            ddct_lm(kw.pop("data", t), ["R1", "R2"], "veh", **kw)
        return str(e.value)

    assert "one of ('dcq', 'cq')" in err("unknown model response", response="ct")
    assert "0 < conf_level < 1" in err("confidence level out of range", conf_level=95)
    assert "either design=" in err("design given together with covariates", covariates=["age"], design=pd.DataFrame())
    assert "a column 'weight'" in err("covariate column missing", covariates=["weight"])
    bad = t.copy()
    bad.loc[bad.index[0], "age"] = 99.0
    assert "one value per biological sample" in err("covariate differs between wells of one sample", data=bad, covariates=["age"])
    nan = t.copy()
    nan.loc[nan["sample"] == "s4", "age"] = np.nan
    assert "a finite number" in err("covariate value missing", data=nan, covariates=["age"])
    assert "covariates=['age']" in err("interaction with a covariate that is not in the model", covariates=["age"], interactions=["site"])
    assert "DataFrame indexed by sample" in err("design must be a DataFrame", design=np.ones((10, 2)))
    samples = [f"s{i}" for i in range(10)]
    assert "one design row per sample" in err("sample missing from the design matrix", design=pd.DataFrame({"a": 1.0}, index=samples[:-1]))
    assert "indicator columns" in err("design column is not numeric", design=pd.DataFrame({"a": "x"}, index=samples))
    dupd = pd.DataFrame({"a": 1.0}, index=[*samples, "s0"])
    assert "duplicate index" in err("design matrix has a sample twice", design=dupd)


def test_ddct_lm_uses_the_same_well_qc_as_ddct():
    """Options of the replicate QC reach the model: a tighter outlier threshold removes wells,
    and the samples entering the model are those ddct keeps."""
    import assaykit
    from assaykit.datasets import path
    from assaykit.qpcr import ddct
    from assaykit.qpcr.models import ddct_lm

    data = assaykit.annotate(assaykit.read_qpcr(path("qpcr_th_panel_quantstudio.txt")),
                             assaykit.read_layout(path("qpcr_th_panel_layout.toml")))  # fmt: skip
    kw = dict(group_col="condition", outlier="max_dcq", outlier_threshold=0.3, instrument_flags="exclude")
    loose = ddct_lm(data, ["GAPDH", "ACTB"], "vehicle", group_col="condition")
    tight = ddct_lm(data, ["GAPDH", "ACTB"], "vehicle", **kw)
    ref = ddct(data, ["GAPDH", "ACTB"], "vehicle", test=None, **kw)
    assert (ref.wells["reason"].str.contains(r"max ΔCq")).sum() > 0
    assert not np.allclose(tight["estimate"].to_numpy(), loose["estimate"].to_numpy(), equal_nan=True)
    # the sample / target columns may have any name
    renamed = data.rename(columns={"sample": "mouse", "target": "gene"})
    again = ddct_lm(renamed, ["GAPDH", "ACTB"], "vehicle", sample_col="mouse", target_col="gene", **kw)
    np.testing.assert_allclose(again["estimate"].to_numpy(), tight["estimate"].to_numpy(), rtol=1e-12)
    assert again["target"].tolist() == tight["target"].tolist()
