"""Error propagation (qpcR ratiocalc "Prop") and REST randomisation ("Perm") of the Pfaffl ratio."""

from __future__ import annotations

from itertools import combinations
from math import comb

import numpy as np
import pandas as pd
import pytest
from scipy import stats as st

from assaykit.errors import AnalysisError
from assaykit.qpcr import PROPAGATION_COLUMNS, REST_COLUMNS, ratio_propagation, rest_randomisation

EFF = {"target": 1.01, "reference": 0.97}  # REST 2008 manual: amplification factors 2.01 / 1.97


def _rest2008(reference) -> pd.DataFrame:
    """The REST 2008 manual example as reactions; the i-th reference and target values of a
    group belong to the same sample (pair-wise fixed, as qpcR ratiocalc ties them)."""
    d = pd.read_csv(reference("qpcr", "rest2008_manual_pfaffl_example.csv"))
    sample = d["condition"].str[0] + d.groupby("group").cumcount().astype(str)
    return pd.DataFrame({"sample": sample, "target": d["role"], "group": d["condition"], "cq": d["Cq"]})


def _expected(reference) -> pd.DataFrame:
    return pd.read_csv(reference("qpcr", "rest2008_qpcR_ratiocalc_expected.csv")).set_index("stat")


# ------------------------------------------------------------------ error propagation


def test_propagation_reproduces_qpcr_ratiocalc_prop(reference):
    exp = _expected(reference)["Prop"]
    res = ratio_propagation(_rest2008(reference), "reference", "control", efficiency=EFF, cq_spread="sd")
    assert list(res.columns) == list(PROPAGATION_COLUMNS)
    r = res.iloc[0]
    assert (r["target"], r["group"], r["versus"], r["status"]) == ("target", "treatment", "control", "ok")
    assert (r["n_target"], r["n_target_versus"], r["n_reference"], r["n_reference_versus"]) == (10, 8, 10, 8)
    assert round(r["ratio"], 4) == 5.9266  # first-order mean = Pfaffl ratio of mean Cq
    # qpcR 1.4-1 propagate(second.order=TRUE): ≤ 1e-4 relative (observed ≤ 4e-6, see below)
    for ours, stat in (
        ("ratio_mean_second_order", "Mean"),
        ("ratio_sd_second_order", "Std.dev."),
        ("ci_low_second_order", "Conf.lower"),
        ("ci_high_second_order", "Conf.upper"),
    ):
        assert r[ours] == pytest.approx(exp[stat], rel=1e-4), stat
    assert r["ratio_sd_second_order"] == pytest.approx(exp["Std.dev."], rel=5e-6)


def test_qpcr_prop_residual_is_its_nearpd_floor_on_zero_efficiency_variances(reference):
    """The 3e-6 residual: qpcR passes the covariance matrix through Matrix::nearPD, which
    raises the zero variances of its 4 efficiency columns (eff.gc, eff.gs, eff.rc, eff.rs) to
    1e-8 × the largest eigenvalue. Re-doing the 8-variable second-order Taylor with that floor
    reproduces qpcR to 1e-12 — so the remaining difference is not in assaykit's formula."""
    d = pd.read_csv(reference("qpcr", "rest2008_manual_pfaffl_example.csv"))
    g = {k: v["Cq"].to_numpy() for k, v in d.groupby("group")}
    names, sign = ["gc", "gs", "rc", "rs"], np.array([1.0, -1.0, -1.0, 1.0])
    A = np.array([2.01, 2.01, 1.97, 1.97])
    cp = np.array([g[k].mean() for k in names])
    var = np.array([g[k].var(ddof=1) for k in names])
    f = np.exp(np.sum(sign * np.log(A) * cp))
    dh = np.concatenate([sign * np.log(A), sign * cp / A])
    d2h = np.zeros((8, 8))
    for i in range(4):
        d2h[4 + i, 4 + i] = -sign[i] * cp[i] / A[i] ** 2
        d2h[i, 4 + i] = d2h[4 + i, i] = sign[i] / A[i]
    grad, H = f * dh, f * (np.outer(dh, dh) + d2h)
    S = np.diag(np.concatenate([var, [1e-8 * var.max()] * 4]))
    mean = f + 0.5 * np.trace(H @ S)
    sd = np.sqrt(grad @ S @ grad + 0.5 * np.trace(H @ S @ H @ S))
    exp = _expected(reference)["Prop"]
    assert mean == pytest.approx(exp["Mean"], rel=1e-12)
    assert sd == pytest.approx(exp["Std.dev."], rel=1e-12)
    ours = ratio_propagation(_rest2008(reference), "reference", "control", efficiency=EFF, cq_spread="sd").iloc[0]
    assert abs(ours["ratio_sd_second_order"] / sd - 1) < 5e-6


def test_propagation_closed_form_first_order_and_se_spread():
    # var(log R) = ln(A)² Σ var(mean Cq) when efficiencies are exact: R·ln2·√Σ
    rng = np.random.default_rng(1)
    rows = []
    for grp, shift in (("c", 0.0), ("t", -2.0)):
        for gene, base in (("T", 25.0), ("R", 20.0)):
            for v in base + (shift if gene == "T" else 0.0) + rng.normal(0, 0.2, 5):
                rows.append({"target": gene, "group": grp, "cq": v})
    df = pd.DataFrame(rows)
    r = ratio_propagation(df, "R", "c").iloc[0]
    m = df.groupby(["target", "group"])["cq"].agg(["mean", "var", "count"])
    ratio = 2.0 ** ((m.loc[("T", "c"), "mean"] - m.loc[("T", "t"), "mean"]) - (m.loc[("R", "c"), "mean"] - m.loc[("R", "t"), "mean"]))
    s2 = float((m["var"] / m["count"]).sum())
    assert r["ratio"] == pytest.approx(ratio, rel=1e-12)
    assert r["ratio_sd_first_order"] == pytest.approx(ratio * np.log(2) * np.sqrt(s2), rel=1e-12)
    # second order for R = exp(u), u ~ N(μ, s²): mean R(1 + s²/2), var R² (s² + s⁴/2)
    u2 = np.log(2) ** 2 * s2
    assert r["ratio_mean_second_order"] == pytest.approx(ratio * (1 + u2 / 2), rel=1e-12)
    assert r["ratio_sd_second_order"] == pytest.approx(ratio * np.sqrt(u2 + u2**2 / 2), rel=1e-12)
    z = st.norm.ppf(0.975)
    assert r["ci_low_first_order"] == pytest.approx(ratio - z * r["ratio_sd_first_order"])
    # 'sd' spread uses s², not s²/n: larger by √n here (equal n = 5)
    r_sd = ratio_propagation(df, "R", "c", cq_spread="sd").iloc[0]
    assert r_sd["ratio_sd_first_order"] == pytest.approx(r["ratio_sd_first_order"] * np.sqrt(5), rel=1e-12)


def test_propagation_efficiency_se_enters_through_delta_cq():
    # only the efficiency is uncertain: ∂R/∂A_t = R·ΔCq_t/A_t → sd = R·ΔCq_t·SE/A_t
    df = pd.DataFrame({"target": ["T"] * 4 + ["R"] * 4, "group": ["c", "c", "t", "t"] * 2, "cq": [25.0, 25.0, 22.0, 22.0] + [20.0] * 4})
    r = ratio_propagation(df, "R", "c", efficiency={"T": 0.9, "R": 0.95}, efficiency_se={"T": 0.02}).iloc[0]
    ratio = 1.9**3
    assert r["ratio"] == pytest.approx(ratio)
    assert r["ratio_sd_first_order"] == pytest.approx(ratio * 3 * 0.02 / 1.9, rel=1e-12)
    # two references: geometric mean of their ratios (exponent −1/2 each)
    df2 = pd.concat([df, df.loc[df["target"] == "R"].assign(target="R2", cq=[20.0, 20.0, 21.0, 21.0])])
    r2 = ratio_propagation(df2, ["R", "R2"], "c").iloc[0]
    assert r2["ratio"] == pytest.approx(2.0**3 / np.sqrt(2.0**-1.0))


def test_propagation_not_computed_rows_keep_dtypes():
    df = pd.DataFrame({"target": ["T", "T", "T", "R", "R", "R"], "group": ["c", "c", "t", "c", "c", "t"], "cq": [25.0, 25.1, 23.0, 20.0, 20.1, 20.0]})
    r = ratio_propagation(df, "R", "c")
    assert r.loc[0, "status"] == "not_computed"
    assert "fewer than 2 Cq values: T in 't' (1), R in 't' (1)" == r.loc[0, "reason"]
    assert np.isnan(r.loc[0, "ratio_sd_second_order"])
    absent = ratio_propagation(df.loc[~((df["target"] == "T") & (df["group"] == "t"))], "R", "c")
    assert absent.loc[0, "reason"] == "fewer than 2 Cq values: T in 't' (0), R in 't' (1)"
    assert absent.loc[0, "n_target"] == 0
    empty = ratio_propagation(df.loc[df["target"] == "R"], "R", "c")  # no target of interest
    assert empty.empty and dict(empty.dtypes) == dict(r.dtypes)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"cq_spread": "var"}, "unknown Cq spread"),
        ({"ci_level": 1.5}, "confidence level"),
        ({"efficiency": {"T": 1.9, "R": 0.9}}, "outside (0, 1.5]"),
        ({"efficiency": {"T": "x", "R": 0.9}}, "efficiency is not a number"),
        ({"efficiency_se": {"T": -0.1}}, "standard error must be finite"),
    ],
)
def test_propagation_bad_options(kwargs, message):
    df = pd.DataFrame({"target": ["T", "R"] * 2, "group": ["c", "c", "t", "t"], "cq": [25.0, 20.0, 23.0, 20.0]})
    with pytest.raises(AnalysisError, match=message.replace("(", r"\(").replace(")", r"\)").replace("[", r"\[").replace("]", r"\]")):
        ratio_propagation(df, "R", "c", **kwargs)


def test_ratio_functions_bad_input():
    df = pd.DataFrame({"target": ["T", "R"] * 2, "group": ["c", "c", "t", "t"], "cq": [25.0, 20.0, 23.0, 20.0]})
    with pytest.raises(AnalysisError, match="column missing for the ratio analysis"):
        ratio_propagation(df.drop(columns="group"), "R", "c")
    with pytest.raises(AnalysisError, match="reference gene not in the data"):
        ratio_propagation(df, "GAPDH", "c")
    with pytest.raises(AnalysisError, match="control group not in the data"):
        ratio_propagation(df, "R", "vehicle")
    with pytest.raises(AnalysisError, match="no reference gene given"):
        ratio_propagation(df, [], "c")
    with pytest.raises(AnalysisError, match="column name appears more than once"):
        ratio_propagation(pd.concat([df, df[["group"]]], axis=1), "R", "c")
    with pytest.raises(AnalysisError, match="too few random reallocations"):
        rest_randomisation(df.assign(sample=["a", "a", "b", "b"]), "R", "c", n_permutations=10)
    with pytest.raises(AnalysisError, match="confidence level"):
        rest_randomisation(df.assign(sample=["a", "a", "b", "b"]), "R", "c", ci_level=0)


# ------------------------------------------------------------------ REST randomisation


def test_rest_ci_reproduces_qpcr_perm_and_rest2008_manual(reference):
    """qpcR's "Perm" interval is the type-7 quantile of the distinct single-sample ratios it drew
    (2000 draws of one control and one treated sample; all 80 pairs are drawn with probability
    1 − 80·(79/80)^1600 > 1 − 1e-7), so enumerating the 80 pairs reproduces it exactly."""
    exp = _expected(reference)["Perm"]
    res = rest_randomisation(_rest2008(reference), "reference", "control", efficiency=EFF)
    assert list(res.columns) == list(REST_COLUMNS)
    r = res.iloc[0]
    assert (r["n_samples"], r["n_samples_versus"], r["n_samples_incomplete"]) == (10, 8, 0)
    assert r["pair_ci_low"] == pytest.approx(exp["Conf.lower"], rel=1e-9)
    assert r["pair_ci_high"] == pytest.approx(exp["Conf.upper"], rel=1e-9)
    assert (round(r["pair_ci_low"], 3), round(r["pair_ci_high"], 3)) == (2.983, 9.996)  # REST 2008 manual
    # qpcR's mean/SD/median are Monte-Carlo estimates over its ≈ 1,600 complete draws
    # (rows 9–10 of the control are NA): SE of the mean = SD/√1600 ≈ 0.052; allow 4 SE.
    mc_se = r["pair_ratio_sd"] / np.sqrt(1600)
    assert abs(r["pair_ratio_mean"] - exp["Mean"]) < 4 * mc_se
    assert r["pair_ratio_sd"] == pytest.approx(exp["Std.dev."], rel=0.05)
    assert abs(r["pair_ratio_median"] - exp["Median"]) < 4 * mc_se * 1.25  # SE(median) ≈ 1.25·SE(mean)
    # qpcR's p-value rows swap the two tie levels at random: 'perm == init' is a fair coin
    # (expected 0.5; its 0.486 is 1.1 binomial SE away), not a test of the ratio
    assert abs(exp["perm == init"] - 0.5) < 4 * np.sqrt(0.25 / 1600)
    assert exp["perm > init"] + exp["perm == init"] + exp["perm < init"] == pytest.approx(1.0)


def test_rest_p_value_exact_and_monte_carlo(reference):
    df = _rest2008(reference)
    exact = rest_randomisation(df, "reference", "control", efficiency=EFF, n_permutations=comb(18, 8)).iloc[0]
    assert exact["p_value_method"] == "exact" and exact["n_reallocations"] == comb(18, 8) == 43758
    # the observed allocation is the only one as extreme (groups do not overlap)
    assert exact["p_value"] == pytest.approx(1 / 43758)
    assert round(exact["ratio"], 4) == 5.9266
    mc = rest_randomisation(df, "reference", "control", efficiency=EFF, n_permutations=2000, seed=3).iloc[0]
    assert mc["p_value_method"] == "monte_carlo" and mc["n_reallocations"] == 2000
    assert mc["p_value"] <= 3 / 2001  # (b + 1)/(N + 1) with b ≤ 2 expected (E[b] = 0.05)


def test_rest_monte_carlo_p_within_its_error_of_exact():
    """Overlapping groups: the seeded Monte-Carlo p (N = 10,000) lies within 4 MC standard
    errors √(p(1−p)/N) (+ 1/N for the +1 correction) of the exact enumeration."""
    rng = np.random.default_rng(7)
    rows = []
    for grp, n, shift in (("c", 8, 0.0), ("t", 9, -0.6)):
        for i in range(n):
            load = rng.normal(0, 0.3)
            rows.append({"sample": f"{grp}{i}", "group": grp, "target": "T", "cq": 25 + shift + load + rng.normal(0, 0.4)})
            rows.append({"sample": f"{grp}{i}", "group": grp, "target": "R", "cq": 20 + load + rng.normal(0, 0.2)})
    df = pd.DataFrame(rows)
    exact = rest_randomisation(df, "R", "c", n_permutations=comb(17, 8)).iloc[0]
    assert exact["p_value_method"] == "exact" and 0.005 < exact["p_value"] < 0.5
    # exact p equals a brute-force count over every reallocation, written out here
    ys = df.pivot(index="sample", columns="target", values="cq")
    y = (ys["T"] - ys["R"]).to_numpy()
    grp = np.array([s[0] for s in ys.index])
    obs = y[grp == "c"].mean() - y[grp == "t"].mean()
    cnt = sum(abs(y[list(c)].mean() - np.delete(y, list(c)).mean()) >= abs(obs) - 1e-12 for c in combinations(range(17), 8))
    assert exact["p_value"] == pytest.approx(cnt / comb(17, 8))
    mc = rest_randomisation(df, "R", "c", n_permutations=10000, seed=11).iloc[0]
    p = exact["p_value"]
    assert abs(mc["p_value"] - p) < 4 * np.sqrt(p * (1 - p) / 10000) + 1 / 10000
    assert mc["p_value_mc_se"] == pytest.approx(np.sqrt(mc["p_value"] * (1 - mc["p_value"]) / 10000))
    # same seed, same answer
    assert rest_randomisation(df, "R", "c", n_permutations=10000, seed=11).iloc[0]["p_value"] == mc["p_value"]


def test_rest_incomplete_samples_counted_and_too_few_samples_not_computed():
    df = pd.DataFrame(
        {
            "sample": ["a", "a", "b", "b", "c", "d", "d"],
            "group": ["c", "c", "c", "c", "c", "t", "t"],
            "target": ["T", "R", "T", "R", "T", "T", "R"],
            "cq": [25.0, 20.0, 25.2, 20.1, 25.1, 23.0, 20.0],
        }
    )
    r = rest_randomisation(df, "R", "c").iloc[0]
    assert r["status"] == "not_computed" and r["n_samples_incomplete"] == 1
    assert r["reason"] == "fewer than 2 complete samples (target and every reference): 'c' 2, 't' 1"
    ok = rest_randomisation(df.loc[df["target"] == "R"], "R", "c")
    assert ok.empty and dict(ok.dtypes) == dict(rest_randomisation(df, "R", "c").dtypes)
    assert rest_randomisation(df, "R", "c")["n_samples"].dtype == "int64"
