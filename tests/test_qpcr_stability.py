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
