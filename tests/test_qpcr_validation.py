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

from assaykit.qpcr import ddct, genorm, normfinder, pfaffl_ratio, standard_curve
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
