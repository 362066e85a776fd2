"""geNorm / NormFinder: closed-form behaviour, input handling and errors
(numbers against NormqPCR are in test_qpcr_validation.py)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from assaykit.errors import AnalysisError
from assaykit.qpcr import genorm, normfinder


def _tidy(seed=0, n=12, noise=(0.05, 0.1, 0.4, 0.8)):
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(n):
        load = rng.normal(0, 1)
        for g, sd in zip(("G1", "G2", "G3", "G4"), noise, strict=True):
            rows.append({"sample": f"s{s}", "group": "a" if s < n // 2 else "b", "target": g, "cq": 20 + load + rng.normal(0, sd)})
    return pd.DataFrame(rows)


def test_genorm_ranks_noisy_genes_last_and_cq_scale_equals_quantity_scale():
    d = _tidy()
    res = genorm(d)
    assert list(res.ranking["target"]) [-2:] == ["G3", "G4"]
    assert set(res.ranking.loc[res.ranking["rank"] == 1, "target"]) == {"G1", "G2"}
    q = d.assign(q=2.0 ** -d["cq"])
    res_q = genorm(q, value_col="q", scale="quantity")
    np.testing.assert_allclose(res.mean_m["mean_m"], res_q.mean_m["mean_m"])
    res_l = genorm(q.assign(l=np.log2(q["q"])), value_col="l", scale="log2_quantity")
    np.testing.assert_allclose(res.pairwise_v["v"], res_l.pairwise_v["v"])
    # M of two genes = SD of their log ratio
    two = genorm(d, targets=["G1", "G2"])
    w = d.pivot(index="sample", columns="target", values="cq")
    assert two.m_values["m"].iloc[0] == pytest.approx(np.std(w["G1"] - w["G2"], ddof=1))
    # efficiency scales the log quantities
    e = genorm(d, targets=["G1", "G2"], efficiency={"G1": 0.9, "G2": 0.9})
    assert e.m_values["m"].iloc[0] == pytest.approx(two.m_values["m"].iloc[0] * np.log2(1.9))


def test_incomplete_samples_listed_and_status_filter():
    d = _tidy()
    d = d.loc[~((d["sample"] == "s3") & (d["target"] == "G2"))]
    d = pd.concat([d, pd.DataFrame([{"sample": "s0", "target": "G1", "cq": 99.0, "status": "excluded"}])])
    d["status"] = d["status"].fillna("used")
    res = genorm(d)
    assert res.excluded_samples.to_dict("records") == [{"sample": "s3", "reason": "no value for G2"}]
    assert res.m_values["m"].max() < 5  # the excluded 99.0 was not used


def test_normfinder_single_group_and_groups():
    d = _tidy(n=16)
    one = normfinder(d, group_col=None)
    assert one.gamma_sq == 0.0 and one.stability["target"].iloc[-1] == "G4"
    two = normfinder(d, group_col="group")
    assert list(two.stability["rank"]) == [1, 2, 3, 4]
    assert set(two.per_group["group"]) == {"a", "b"} and (two.per_group["n"] == 8).all()
    # the intragroup variances are unbiased for the simulated ones (large sample)
    big = normfinder(_tidy(seed=1, n=4000), group_col=None)
    var = big.per_group.set_index("target")["intragroup_var"]
    np.testing.assert_allclose(var.loc[["G1", "G2", "G3", "G4"]], [0.05**2, 0.1**2, 0.4**2, 0.8**2], rtol=0.05, atol=5e-3)


def test_stability_errors():
    d = _tidy()
    with pytest.raises(AnalysisError, match="unknown value scale"):
        genorm(d, scale="ct")
    with pytest.raises(AnalysisError, match="column missing for stability analysis"):
        genorm(d, value_col="quantity")
    with pytest.raises(AnalysisError, match="candidate gene not in the data") as e:
        genorm(d, targets=["G1", "HPRT"])
    assert "target HPRT" in str(e.value)
    with pytest.raises(AnalysisError, match="at least 2 candidate genes"):
        genorm(d, targets=["G1"])
    with pytest.raises(AnalysisError, match="geNorm needs at least 2 samples"):
        genorm(d.loc[d["sample"] == "s0"])
    with pytest.raises(AnalysisError, match="NormFinder needs at least 3 candidate genes"):
        normfinder(d, targets=["G1", "G2"])
    with pytest.raises(AnalysisError, match="NormFinder needs at least 2 samples per group") as e:
        normfinder(d.assign(group=np.where(d["sample"] == "s0", "lonely", "rest")))
    assert "sample lonely" in str(e.value)


# ---------------------------------------------------------------- NormFinder best pair


def _two_group_pair_case(seed=3, n=30):
    """G1/G2 shift by +0.6/−0.6 between groups (opposite signs: their average is stable),
    G3, G4, G5 do not shift but are noisier."""
    rng = np.random.default_rng(seed)
    rows = []
    for s in range(2 * n):
        grp = "a" if s < n else "b"
        load = rng.normal(0, 1)
        for g, shift, sd in (("G1", 0.6, 0.2), ("G2", -0.6, 0.2), ("G3", 0.0, 0.4), ("G4", 0.0, 0.45), ("G5", 0.0, 0.5)):
            rows.append({"sample": f"s{s}", "group": grp, "target": g, "cq": 20 + load + (shift if grp == "b" else 0.0) + rng.normal(0, sd)})
    return pd.DataFrame(rows)


def test_normfinder_pair_formula_from_per_group_quantities():
    """ρ_ij from the published formula (Andersen 2004 suppl., corrected R code 05/01-2015),
    recomputed here from the per-group d̃, σ², n and γ² (validated against NormqPCR)."""
    res = normfinder(_two_group_pair_case())
    pg = res.per_group.set_index(["target", "group"])
    genes = list(res.stability["target"])
    k, gam = len(genes), res.gamma_sq
    assert gam > 0 and (res.per_group["intragroup_var"] > 0).all()
    expected = {}
    for a in range(k):
        for b in range(a + 1, k):
            i, j = sorted((genes[a], genes[b]), key=lambda t: list(pg.index.get_level_values(0).unique()).index(t))
            terms = []
            for grp in ("a", "b"):
                di, dj = pg.loc[(i, grp), "shrunk_diff"], pg.loc[(j, grp), "shrunk_diff"]
                n = pg.loc[(i, grp), "n"]
                si, sj = pg.loc[(i, grp), "intragroup_var"] / n, pg.loc[(j, grp), "intragroup_var"] / n
                vi, vj = si * gam / (gam + si), sj * gam / (gam + sj)
                terms.append(abs(di + dj) / 2 * np.sqrt(k / (k - 2)) + np.sqrt(si + vi + sj + vj) / 2)
            expected[(i, j)] = float(np.mean(terms))
    got = {(r.target_1, r.target_2): r.rho for r in res.pairs.itertuples()}
    assert set(got) == set(expected) and len(got) == k * (k - 1) // 2
    for key, v in expected.items():
        assert got[key] == pytest.approx(v, rel=1e-12)
    # opposite intergroup shifts cancel: G1+G2 is the best pair and beats every single gene
    assert {res.pairs.loc[0, "target_1"], res.pairs.loc[0, "target_2"]} == {"G1", "G2"}
    assert res.pairs.loc[0, "rho"] < res.stability["rho"].min()
    assert list(res.pairs["rank"]) == list(range(1, len(res.pairs) + 1))
    assert res.pairs["rho"].is_monotonic_increasing


def test_normfinder_pair_one_group_is_the_averaged_gene_sigma():
    """One group: the pair's average replaces the two genes; its ρ is that new gene's σ."""
    d = _tidy(seed=5, n=16, noise=(0.1, 0.15, 0.3, 0.5))
    d = pd.concat([d, d.loc[d["target"] == "G4"].assign(target="G5", cq=lambda x: x["cq"] + 0.2)])
    res = normfinder(d, group_col=None)
    w = d.pivot(index="sample", columns="target", values="cq")
    for r in res.pairs.itertuples():
        others = [g for g in w.columns if g not in (r.target_1, r.target_2)]
        merged = w[others].assign(PAIR=(w[r.target_1] + w[r.target_2]) / 2)
        long = merged.reset_index().melt(id_vars="sample", var_name="target", value_name="cq")
        single = normfinder(long, group_col=None).stability.set_index("target")["rho"]
        assert r.rho == pytest.approx(single["PAIR"], rel=1e-12)
    # three candidates, one group: undefined → empty table with the declared dtypes
    three = normfinder(_tidy().loc[lambda x: x["target"] != "G4"], group_col=None)
    assert three.pairs.empty
    assert dict(three.pairs.dtypes) == {"rank": "int64", "target_1": object, "target_2": object, "rho": "float64"}


def test_empty_stability_tables_keep_their_dtypes():
    d = _tidy()
    full = genorm(d)
    assert full.excluded_samples.empty
    assert dict(full.excluded_samples.dtypes) == {"sample": object, "reason": object}
    with_gap = genorm(pd.concat([d, pd.DataFrame([{"sample": "x", "group": "a", "target": "G1", "cq": 20.0}])]))
    assert dict(with_gap.excluded_samples.dtypes) == dict(full.excluded_samples.dtypes)
    two = genorm(d, targets=["G1", "G2"])  # no pairwise variation with 2 genes
    assert two.pairwise_v.empty
    assert dict(two.pairwise_v.dtypes) == dict(full.pairwise_v.dtypes) == {"pair": object, "n_genes": "int64", "v": "float64"}
    assert normfinder(d).excluded_samples["reason"].dtype == object
