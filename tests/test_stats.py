"""assaykit.stats: group comparisons against closed forms, scipy and R values."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from assaykit.errors import AnalysisError
from assaykit.stats import RESULT_COLUMNS, compare_groups, hodges_lehmann, p_adjust


def test_p_adjust_closed_form():
    p = [0.01, 0.02, 0.03, 0.04, 0.05]
    np.testing.assert_allclose(p_adjust(p, "holm"), [0.05, 0.08, 0.09, 0.09, 0.09])
    np.testing.assert_allclose(p_adjust(p, "bh"), [0.05] * 5)
    # R: p.adjust(c(0.04, 0.001, NA, 0.3), "BH") -> 0.06 0.003 NA 0.3
    out = p_adjust([0.04, 0.001, np.nan, 0.3], "bh")
    np.testing.assert_allclose(out, [0.06, 0.003, np.nan, 0.3])
    np.testing.assert_allclose(p_adjust([0.04, 0.001, np.nan, 0.3], "holm"), [0.08, 0.003, np.nan, 0.3])
    assert p_adjust([], "holm").size == 0
    np.testing.assert_allclose(p_adjust([0.2, 0.7], "none"), [0.2, 0.7])
    with pytest.raises(AnalysisError, match="unknown p-value adjustment"):
        p_adjust([0.1], "bonferroni")


def _data(seed=0):
    rng = np.random.default_rng(seed)
    rows = []
    for target in ("A", "B"):
        for g, mu, sd, n in (("ctrl", 0.0, 1.0, 6), ("x", 1.5, 0.5, 5), ("y", 0.3, 2.0, 7)):
            rows += [{"target": target, "g": g, "v": v} for v in rng.normal(mu, sd, n)]
    return pd.DataFrame(rows)


@pytest.mark.parametrize("test", ["welch", "student"])
def test_t_tests_match_scipy(test):
    d = _data()
    res = compare_groups(d, "v", "g", control="ctrl", test=test, by="target", p_adjust_method="bh")
    assert list(res.columns) == ["target", *RESULT_COLUMNS]
    assert len(res) == 4
    for _, r in res.iterrows():
        x = d.loc[(d["target"] == r["target"]) & (d["g"] == r["group"]), "v"]
        y = d.loc[(d["target"] == r["target"]) & (d["g"] == "ctrl"), "v"]
        ref = stats.ttest_ind(x, y, equal_var=(test == "student"))
        ci = ref.confidence_interval(0.95)
        assert r["statistic"] == pytest.approx(ref.statistic, rel=1e-10)
        assert r["p_value"] == pytest.approx(ref.pvalue, rel=1e-10)
        assert r["df"] == pytest.approx(ref.df, rel=1e-10)
        assert (r["ci_low"], r["ci_high"]) == pytest.approx((ci.low, ci.high), rel=1e-10)
        assert r["estimate"] == pytest.approx(x.mean() - y.mean())
    for t in ("A", "B"):
        sub = res.loc[res["target"] == t]
        np.testing.assert_allclose(sub["p_adjusted"], p_adjust(sub["p_value"], "bh"))


def test_all_pairs_without_control():
    res = compare_groups(_data(), "v", "g", test="welch", by="target")
    assert len(res) == 6 and set(zip(res["group"], res["versus"], strict=True)) == {("x", "ctrl"), ("y", "ctrl"), ("y", "x")}


def test_anova_tukey_dunnett_match_scipy():
    d = _data(3)
    a = d.loc[d["target"] == "A"]
    groups = [a.loc[a["g"] == g, "v"].to_numpy() for g in ("ctrl", "x", "y")]
    an = compare_groups(a, "v", "g", test="anova").iloc[0]
    ref = stats.f_oneway(*groups)
    assert an["statistic"] == pytest.approx(ref.statistic) and an["p_value"] == pytest.approx(ref.pvalue)
    assert an["df"] == len(a) - 3
    tk = compare_groups(a, "v", "g", test="tukey").set_index(["group", "versus"])
    ref = stats.tukey_hsd(*groups)
    assert tk.loc[("x", "ctrl"), "p_value"] == pytest.approx(ref.pvalue[1, 0])
    assert tk.loc[("y", "x"), "ci_low"] == pytest.approx(ref.confidence_interval().low[2, 1])
    dn = compare_groups(a, "v", "g", test="dunnett", control="ctrl", seed=1).set_index("group")
    ref = stats.dunnett(groups[1], groups[2], control=groups[0], rng=np.random.default_rng(1))
    assert dn.loc["x", "p_value"] == pytest.approx(ref.pvalue[0], rel=1e-6)
    assert dn.loc["y", "statistic"] == pytest.approx(ref.statistic[1])
    assert (dn["p_adjust_method"] == "dunnett").all()


def test_hodges_lehmann_brute_force_and_ties():
    x, y = np.array([1.1, 2.3, 3.7, 4.2]), np.array([0.5, 1.0, 2.9])
    est, lo, hi = hodges_lehmann(x, y)
    assert est == pytest.approx(np.median(np.subtract.outer(x, y)))
    diffs = np.sort(np.subtract.outer(x, y).ravel())
    # exact: P(U <= 0) = 1/35 < 0.025, so qu = 1 -> the extreme differences
    assert (lo, hi) == (diffs[0], diffs[-1])
    # ties -> normal approximation path, still ordered
    est2, lo2, hi2 = hodges_lehmann([1, 1, 2, 2, 3, 3] * 10, [0, 1, 1, 2, 2, 2] * 10)
    assert lo2 <= est2 <= hi2
    assert np.isnan(hodges_lehmann([], [1.0])[0])
    mw = compare_groups(pd.DataFrame({"g": ["a"] * 4 + ["b"] * 3, "v": [*x, *y]}), "v", "g", control="b", test="mann_whitney")
    assert mw["p_value"].iloc[0] == pytest.approx(stats.mannwhitneyu(x, y, method="exact").pvalue)


def test_not_tested_rows_keep_a_reason():
    d = pd.DataFrame({"g": ["c", "c", "x", "z", "z"], "v": [1.0, 1.0, 2.0, 3.0, 3.0]})
    res = compare_groups(d, "v", "g", control="c", test="welch").set_index("group")
    assert res.loc["x", "status"] == "not_tested" and res.loc["x", "reason"] == "fewer than 2 values in a group"
    assert res.loc["z", "reason"] == "zero variance in both groups"
    assert np.isnan(res.loc["z", "p_value"]) and res.loc["z", "estimate"] == 2.0
    tk = compare_groups(d, "v", "g", test="tukey")
    assert (tk["reason"] == "Tukey HSD needs 2 or more values in every group").all()
    dn = compare_groups(d, "v", "g", test="dunnett", control="c")
    assert (dn["reason"] == "Dunnett's test needs 2 or more values in the control and every group").all()
    an = compare_groups(d.loc[d["g"] != "z"], "v", "g", test="anova")
    assert an["reason"].iloc[0] == "fewer than 2 groups with 2 or more values"
    an0 = compare_groups(d.loc[d["g"] != "x"], "v", "g", test="anova")
    assert an0["reason"].iloc[0] == "zero variance within groups"
    mw = compare_groups(pd.DataFrame({"g": ["c", "c", "x"], "v": [1.0, 2.0, np.nan]}), "v", "g", control="c", test="mann_whitney")
    assert mw["reason"].iloc[0] == "a group has no values"
    d2 = pd.DataFrame({"g": ["c", "c", "x", "x", "y"], "v": [1.0, 2.0, 3.0, 4.0, np.nan]})
    dn2 = compare_groups(d2, "v", "g", test="dunnett", control="c").set_index("group")
    assert dn2.loc["y", "reason"] == "group has no values" and dn2.loc["x", "status"] == "ok"


def test_bad_arguments():
    d = _data()
    with pytest.raises(AnalysisError, match="unknown statistical test"):
        compare_groups(d, "v", "g", test="chi2")
    with pytest.raises(AnalysisError, match="column missing for group comparison"):
        compare_groups(d, "value", "g")
    with pytest.raises(AnalysisError, match="Dunnett's test needs a control group"):
        compare_groups(d, "v", "g", test="dunnett")
    with pytest.raises(AnalysisError, match="control group not found"):
        compare_groups(d, "v", "g", control="vehicle")
    with pytest.raises(AnalysisError, match="unknown p-value adjustment"):
        compare_groups(d, "v", "g", p_adjust_method="fdr")


def test_empty_comparison_keeps_declared_dtypes():
    from assaykit.stats import RESULT_DTYPES, empty_result

    df = pd.DataFrame({"g": ["a", "a", "b", "b"], "y": [1.0, 2.0, 2.0, 4.0], "t": ["x"] * 4})
    full = compare_groups(df, "y", "g", control="a", test="welch", by="t")
    empty = compare_groups(df.iloc[:0], "y", "g", test="welch", by="t")
    assert empty.empty and dict(empty.dtypes) == dict(full.dtypes)
    assert dict(empty_result().dtypes) == RESULT_DTYPES
    assert list(empty_result(["t"], [("fold_change", "float64")]).columns) == ["t", *RESULT_COLUMNS, "fold_change"]
