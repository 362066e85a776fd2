"""ddct / stats: complete stats rows, achieved Hodges–Lehmann level,
p-value families, cut-off imputation in groups, sample-name variants, instrument flags,
efficiency errors naming the standard curve."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sst

from assaykit.errors import AnalysisError
from assaykit.qpcr import ddct, standard_curve
from assaykit.schema import qpcr_table, row_letter
from assaykit.stats import compare_groups, hodges_lehmann, hodges_lehmann_ci, p_adjust


def run(cq: dict[tuple[str, str], list[float]], groups: dict[str, str], *, plate: str = "1", flags: dict | None = None) -> pd.DataFrame:
    """Canonical table from {(sample, target): [Cq per replicate]} (NaN = undetermined).

    ``flags`` maps (sample, target, replicate index) to an instrument cq_flag.
    """
    rows = {"plate": [], "well": [], "sample": [], "target": [], "cq": [], "cq_flag": [], "task": [], "tm": []}
    k = 0
    for (sample, target), values in cq.items():
        for r, v in enumerate(values):
            rows["plate"].append(plate)
            rows["well"].append(f"{row_letter(k // 24)}{k % 24 + 1}")
            rows["sample"].append(sample)
            rows["target"].append(target)
            rows["cq"].append(v)
            flag = (flags or {}).get((sample, target, r), "")
            rows["cq_flag"].append("undetermined" if np.isnan(v) else flag)
            rows["task"].append("unknown")
            rows["tm"].append(np.nan)
            k += 1
    df = qpcr_table(rows)
    df["group"] = df["sample"].map(lambda s: groups[s])
    return df


def three_groups(control_rorc_undetermined: bool = True) -> pd.DataFrame:
    """veh / lo / hi, 4 samples each, targets IL17 and RORC; the control's RORC undetermined."""
    rng = np.random.default_rng(3)
    cq, groups = {}, {}
    for g, shift in (("veh", 0.0), ("lo", -1.0), ("hi", -2.5)):
        for s in range(4):
            name = f"{g}{s}"
            groups[name] = g
            cq[(name, "GAPDH")] = [20.0 + rng.normal(0, 0.1)]
            cq[(name, "IL17")] = [26.0 + shift + rng.normal(0, 0.3)]
            undet = control_rorc_undetermined and g == "veh"
            cq[(name, "RORC")] = [np.nan if undet else 28.0 + shift + rng.normal(0, 0.3)]
    return run(cq, groups)


EXPECTED_PAIRS = {
    "welch": [("lo", "veh"), ("hi", "veh")],
    "student": [("lo", "veh"), ("hi", "veh")],
    "mann_whitney": [("lo", "veh"), ("hi", "veh")],
    "dunnett": [("lo", "veh"), ("hi", "veh")],
    "tukey": None,  # all unordered pairs
    "anova": [("(all)", "")],
}


# ---------------------------------------------------------------- 1. complete row set


@pytest.mark.parametrize("test", list(EXPECTED_PAIRS))
def test_every_comparison_has_a_row_when_the_control_has_no_dcq(test):
    res = ddct(three_groups(), "GAPDH", "veh", test=test)
    st = res.stats
    got = {(t, g, v) for t, g, v in zip(st["target"], st["group"], st["versus"], strict=True)}
    if test == "tukey":
        pairs = {frozenset(p) for p in itertools.combinations(["veh", "lo", "hi"], 2)}
        assert {(t, frozenset((g, v))) for t, g, v in got} == {(t, p) for t in ("IL17", "RORC") for p in pairs}
        assert len(st) == 6
    else:
        assert got == {(t, g, v) for t in ("IL17", "RORC") for g, v in EXPECTED_PAIRS[test]}
        assert len(st) == 2 * len(EXPECTED_PAIRS[test])
    assert st["target"].tolist() == sorted(st["target"].tolist())  # rows grouped by target, IL17 first
    il17 = st.loc[st["target"] == "IL17"]
    assert (il17["status"] == "ok").all()
    rorc = st.loc[st["target"] == "RORC"]
    with_ctrl = rorc.loc[(rorc["versus"] == "veh") | (rorc["group"] == "veh")]
    if test == "anova":
        # the omnibus test needs no control: lo and hi are still compared
        assert rorc["status"].tolist() == ["ok"] and rorc["n"].tolist() == [8]
        assert rorc["reason"].tolist() == ["omnibus test: no pairwise estimate"]
    else:
        assert (with_ctrl["status"] == "not_tested").all()
        assert set(with_ctrl["reason"]) == {"control 'veh' has no valid ΔCq for RORC"}
        assert with_ctrl["p_value"].isna().all() and (with_ctrl["p_adjust_method"] == "").all()
    if test == "tukey":
        lohi = rorc.loc[(rorc["group"] != "veh") & (rorc["versus"] != "veh")]
        assert lohi["status"].tolist() == ["ok"] and lohi["p_value"].iloc[0] < 0.01
    assert (st.loc[st["status"] != "ok", "reason"] != "").all()
    # no ΔCq for RORC anywhere (control undetermined, others lack the reference): rows still there
    df = three_groups()
    gone = df.loc[~((df["target"] == "GAPDH") & (df["group"] != "veh"))]
    gone = gone.loc[~((gone["target"] == "IL17") & (gone["group"] != "veh"))]
    st2 = ddct(gone, "GAPDH", "veh", test=test).stats
    assert len(st2) == len(st)
    assert (st2["status"] == "not_tested").all() and (st2["reason"] != "").all()
    if test == "anova":
        assert set(st2["reason"]) == {"no group has a valid ΔCq for RORC", "fewer than 2 groups with 2 or more values"}


def test_complete_rows_name_an_empty_group_and_the_empty_control_first():
    # group 'x' has no reference wells: no ΔCq for any target; the control has none for RORC
    df = three_groups()
    df = df.loc[~((df["sample"].str.startswith("hi")) & (df["target"] == "GAPDH"))].reset_index(drop=True)
    for test in ("mann_whitney", "dunnett", "welch"):
        st = ddct(df, "GAPDH", "veh", test=test).stats.set_index(["target", "group"])
        assert st.loc[("IL17", "hi"), "reason"] == "group 'hi' has no valid ΔCq for IL17", test
        assert st.loc[("RORC", "hi"), "reason"] == (
            "control 'veh' has no valid ΔCq for RORC; group 'hi' has no valid ΔCq for RORC"
        ), test
        assert st.loc[("IL17", "lo"), "status"] == "ok", test


def test_student_reason_names_the_short_group_and_its_n():
    df = three_groups(control_rorc_undetermined=False)
    df = df.loc[~df["sample"].isin(["hi1", "hi2", "hi3"])].reset_index(drop=True)
    for test in ("welch", "student"):
        st = ddct(df, "GAPDH", "veh", test=test).stats.set_index(["target", "group"])
        assert st.loc[("IL17", "hi"), "status"] == "not_tested"
        assert st.loc[("IL17", "hi"), "reason"] == "group 'hi' has 1 biological sample (needs 2)"
        assert st.loc[("IL17", "lo"), "reason"] == ""


def test_tukey_and_dunnett_reasons_name_the_single_sample_group():
    df = three_groups(control_rorc_undetermined=False)
    df = df.loc[~df["sample"].isin(["hi1", "hi2", "hi3"])].reset_index(drop=True)
    dn = ddct(df, "GAPDH", "veh", test="dunnett").stats.set_index(["target", "group"])
    assert dn.loc[("IL17", "hi"), "reason"] == "group 'hi' has 1 biological sample (needs 2)"
    assert dn.loc[("IL17", "lo"), "reason"] == "Dunnett's test needs 2 or more values in the control and every group"
    tk = ddct(df, "GAPDH", "veh", test="tukey").stats
    tk = tk.loc[tk["target"] == "IL17"]
    assert (tk["status"] == "not_tested").all()
    by_pair = {frozenset((g, v)): r for g, v, r in zip(tk["group"], tk["versus"], tk["reason"], strict=True)}
    assert by_pair[frozenset(("veh", "hi"))] == "group 'hi' has 1 biological sample (needs 2)"
    assert by_pair[frozenset(("veh", "lo"))] == "Tukey HSD needs 2 or more values in every group"


def test_anova_row_says_why_its_estimate_is_nan():
    st = ddct(three_groups(False), "GAPDH", "veh", test="anova").stats
    assert (st["status"] == "ok").all() and st["estimate"].isna().all() and st["fold_change"].isna().all()
    assert set(st["reason"]) == {"omnibus test: no pairwise estimate"}
    d = pd.DataFrame({"g": list("aaabbb"), "v": [1.0, 2.0, 3.0, 2.0, 3.5, 4.0]})
    assert compare_groups(d, "v", "g", test="anova")["reason"].iloc[0] == "omnibus test: no pairwise estimate"


# ---------------------------------------------------------------- 2. Hodges–Lehmann level


def _exact_u_cdf(m: int, n: int) -> np.ndarray:
    """P(U <= u) by enumerating every assignment of ranks (independent of _wilcox_counts)."""
    us = []
    for xs in itertools.combinations(range(m + n), m):
        rank_sum = sum(r + 1 for r in xs)
        us.append(rank_sum - m * (m + 1) // 2)
    counts = np.bincount(us, minlength=m * n + 1)
    return np.cumsum(counts) / math.comb(m + n, m)


@pytest.mark.parametrize(
    ("x", "y", "level", "q"),
    [
        # 3 v 3: P(U <= 0) = 1/20 > 0.025 -> q = 1, full range, level 1 - 2/20
        ([1.0, 2.0, 3.0], [0.5, 1.5, 2.5], 0.90, 1),
        # 1 v 3: P(U <= 0) = 1/4 -> full range, level 1 - 2/4
        ([1.0], [0.0, 0.3, 0.5], 0.50, 1),
        # 5 v 5: P(U <= 2) = 4/252 <= 0.025 < P(U <= 3) = 7/252 -> q = 3, level 1 - 8/252
        ([0.0, 1.0, 2.0, 3.0, 4.0], [0.5, 1.5, 2.5, 3.5, 4.6], 1 - 8 / 252, 3),
    ],
)
def test_hodges_lehmann_achieved_level(x, y, level, q):
    r = hodges_lehmann_ci(x, y)
    diffs = np.sort(np.subtract.outer(np.asarray(x), np.asarray(y)).ravel())
    assert r.ci_level == pytest.approx(level, abs=1e-12)
    cdf = _exact_u_cdf(len(x), len(y))
    assert r.ci_level == pytest.approx(1 - 2 * cdf[q - 1], abs=1e-12)
    assert (r.ci_low, r.ci_high) == (diffs[q - 1], diffs[len(diffs) - q])
    assert r.estimate == pytest.approx(np.median(diffs))
    assert hodges_lehmann(x, y) == (r.estimate, r.ci_low, r.ci_high)


def test_hodges_lehmann_normal_approximation_levels():
    # ties -> normal approximation; 3 v 3 cannot reach 95 %: q = 1, continuity-corrected level
    r = hodges_lehmann_ci([1.0, 2.0, 2.0], [0.0, 1.0, 3.0])
    sigma = math.sqrt(9 * 7 / 12)
    assert r.ci_level == pytest.approx(1 - 2 * sst.norm.cdf((0.5 - 4.5) / sigma), abs=1e-12)
    assert (r.ci_low, r.ci_high) == (-2.0, 2.0)
    # large samples: the requested level is kept
    rng = np.random.default_rng(0)
    big = hodges_lehmann_ci(rng.normal(size=60), rng.normal(size=60), ci_level=0.9)
    assert big.ci_level == 0.9 and big.ci_low < big.estimate < big.ci_high
    assert all(np.isnan(v) for v in hodges_lehmann_ci([], [1.0]))


def test_mann_whitney_rows_report_the_achieved_level():
    d = pd.DataFrame({"g": ["a"] * 3 + ["b"] * 3 + ["c"] * 5 + ["e"] * 5, "v": [1.0, 2.0, 3.0, 0.5, 1.5, 2.5, *range(5), 0.5, 1.5, 2.5, 3.5, 4.6]})
    r = compare_groups(d.loc[d["g"].isin(["a", "b"])], "v", "g", control="b", test="mann_whitney").iloc[0]
    assert r["status"] == "ok" and r["ci_level"] == pytest.approx(0.9)
    assert r["reason"] == (
        "confidence level 0.95 not reachable with 3 vs 3 values: achieved level 0.9000 "
        "(interval [-1.5, 2.5] = the full range of the pairwise differences)"
    )
    five = compare_groups(d.loc[d["g"].isin(["c", "e"])], "v", "g", control="e", test="mann_whitney").iloc[0]
    assert five["ci_level"] == pytest.approx(1 - 8 / 252) and five["reason"] == ""
    # through ddct: 3 vs 3 biological samples
    cq, groups = {}, {}
    for g, base in (("veh", 25.0), ("dex", 23.0)):
        for s in range(3):
            groups[f"{g}{s}"] = g
            cq[(f"{g}{s}", "R")] = [20.0]
            cq[(f"{g}{s}", "T")] = [base + 0.1 * s]
    st = ddct(run(cq, groups), "R", "veh", test="mann_whitney").stats.iloc[0]
    assert st["ci_level"] == pytest.approx(0.9) and st["reason"].startswith("confidence level 0.95 not reachable with 3 vs 3")
    assert (st["ci_low"], st["ci_high"]) == pytest.approx((-2.2, -1.8))


# ---------------------------------------------------------------- 4. p-value family


def test_p_adjust_family_all_is_one_family_over_the_call():
    df = three_groups(False)
    for test in ("welch", "mann_whitney", "student"):
        for method in ("holm", "bh"):
            per_target = ddct(df, "GAPDH", "veh", test=test, p_adjust=method).stats
            allf = ddct(df, "GAPDH", "veh", test=test, p_adjust=method, p_adjust_family="all").stats
            np.testing.assert_array_equal(allf["p_value"], per_target["p_value"])
            expected = p_adjust(allf["p_value"].to_numpy(), method)
            np.testing.assert_allclose(allf["p_adjusted"], expected, rtol=1e-12)
            assert set(allf["p_adjust_family"]) == {"all"} and set(per_target["p_adjust_family"]) == {"target"}
            for t in ("IL17", "RORC"):
                m = (per_target["target"] == t).to_numpy()
                np.testing.assert_allclose(per_target.loc[m, "p_adjusted"], p_adjust(per_target.loc[m, "p_value"].to_numpy(), method))
            # 4 tests in one family: Holm multiplies the smallest p by 4 (per target: by 2)
            if method == "holm" and test == "welch":
                i = int(np.argmin(allf["p_value"]))
                assert allf["p_adjusted"].iloc[i] == pytest.approx(min(1.0, 4 * allf["p_value"].iloc[i]))
    an = ddct(df, "GAPDH", "veh", test="anova", p_adjust="holm", p_adjust_family="all").stats
    np.testing.assert_allclose(an["p_adjusted"], p_adjust(an["p_value"].to_numpy(), "holm"))
    assert set(an["p_adjust_method"]) == {"holm"} and set(an["p_adjust_family"]) == {"all"}
    an_t = ddct(df, "GAPDH", "veh", test="anova").stats
    assert set(an_t["p_adjust_method"]) == {"none"} and set(an_t["p_adjust_family"]) == {"target"}
    # not-tested rows stay out of the family and have no family named
    nt = ddct(three_groups(True), "GAPDH", "veh", test="welch", p_adjust_family="all").stats
    ok = (nt["status"] == "ok").to_numpy()
    np.testing.assert_allclose(nt.loc[ok, "p_adjusted"], p_adjust(nt.loc[ok, "p_value"].to_numpy(), "holm"))
    assert set(nt.loc[~ok, "p_adjust_family"]) == {""} and nt.loc[~ok, "p_adjusted"].isna().all()
    none = ddct(df, "GAPDH", "veh", test=None).stats
    assert "p_adjust_family" in none.columns and none.empty and none["p_adjust_family"].dtype == object


def test_p_adjust_family_errors():
    df = three_groups(False)
    with pytest.raises(AnalysisError, match="unknown p_adjust_family") as e:
        ddct(df, "GAPDH", "veh", p_adjust_family="experiment")
    assert "'experiment'" in str(e.value) and "('target', 'all')" in str(e.value)
    for test in ("tukey", "dunnett"):
        with pytest.raises(AnalysisError, match=f"p_adjust_family='all' is not available with test='{test}'"):
            ddct(df, "GAPDH", "veh", test=test, p_adjust_family="all")


# ---------------------------------------------------------------- 5. cut-off imputation in groups


def test_groups_count_samples_using_the_cutoff():
    cq, groups = {}, {}
    for g, t in (("ctrl", 30.0), ("drug", 33.0)):
        for s in range(3):
            name = f"{g}{s}"
            groups[name] = g
            cq[(name, "R")] = [20.0, 20.0]
            cq[(name, "T")] = [t, t]
    cq[("drug0", "T")] = [np.nan, np.nan]  # target undetermined -> cut-off 40
    cq[("drug1", "T")] = [33.0, 41.0]  # above the cut-off -> 40
    cq[("ctrl2", "R")] = [np.nan, 20.0]  # a reference well undetermined
    df = run(cq, groups)
    res = ddct(df, "R", "ctrl", undetermined=40.0, test=None)
    g = res.groups.set_index("group")
    assert g.loc["drug", "n_imputed"] == 2 and g.loc["ctrl", "n_imputed"] == 1
    assert g.loc["drug", "qc_flag"] == "undetermined_set_to_cutoff;above_cutoff_set_to_cutoff"
    assert g.loc["ctrl", "qc_flag"] == "undetermined_set_to_cutoff"
    assert g.loc["drug", "reason"] == "2 of 3 sample(s) use the undetermined cut-off Cq (40) for this target or a reference gene"
    assert g.loc["ctrl", "reason"] == "1 of 3 sample(s) use the undetermined cut-off Cq (40) for this target or a reference gene"
    # the ΔCq uses the cut-off: drug0 T = 40, drug1 T = mean(33, 40)
    s = res.samples.set_index(["sample", "target"])
    assert s.loc[("drug0", "T"), "dcq"] == pytest.approx(20.0)
    assert s.loc[("drug1", "T"), "dcq"] == pytest.approx(16.5)
    assert s.loc[("ctrl2", "R"), "qc_flag"] == "undetermined_set_to_cutoff"
    assert res.groups["n_imputed"].dtype == np.int64
    # excluded instead: nothing imputed, columns still there
    ex = ddct(df, "R", "ctrl", test=None).groups.set_index("group")
    assert ex["n_imputed"].tolist() == [0, 0] and ex["qc_flag"].tolist() == ["", ""]
    assert ex.loc["drug", "n_samples"] == 2 and ex.loc["drug", "reason"] == ""


def test_imputed_well_excluded_as_outlier_is_not_counted():
    cq = {("c0", "R"): [20.0] * 3, ("c0", "T"): [25.0] * 3, ("d0", "R"): [20.0] * 3, ("d0", "T"): [30.0, 30.1, np.nan]}
    res = ddct(run(cq, {"c0": "ctrl", "d0": "drug"}), "R", "ctrl", undetermined=40.0, outlier="median", test=None)
    w = res.wells
    assert w.loc[w["qc_flag"] == "undetermined_set_to_cutoff", "status"].tolist() == ["excluded"]
    g = res.groups.set_index("group")
    assert g.loc["drug", "n_imputed"] == 0
    assert g.loc["drug", "qc_flag"] == "undetermined_set_to_cutoff"  # the flag is still shown


# ---------------------------------------------------------------- 6. sample-name variants


def test_sample_names_differing_by_case_or_space_are_flagged():
    p1 = run({("Mouse1", "R"): [20.0], ("Mouse1", "T"): [25.0], ("c1", "R"): [20.0], ("c1", "T"): [26.0]}, {"Mouse1": "dex", "c1": "veh"}, plate="p1")
    p2 = run({("mouse1 ", "R"): [20.0], ("mouse1 ", "T"): [25.5], ("c2", "R"): [20.0], ("c2", "T"): [26.0]}, {"mouse1 ": "dex", "c2": "veh"}, plate="p2")
    res = ddct(pd.concat([p1, p2], ignore_index=True), "R", "veh", test=None)
    s = res.samples.set_index(["sample", "target"])
    assert s.loc[("Mouse1", "T"), "qc_flag"] == "sample_name_variant"
    assert s.loc[("mouse1 ", "R"), "qc_flag"] == "sample_name_variant"
    assert s.loc[("c1", "T"), "qc_flag"] == ""
    assert s.loc[("Mouse1", "T"), "status"] == "ok"
    assert s.loc[("Mouse1", "T"), "reason"] == (
        "sample name 'Mouse1' on plate(s) p1 differs only by case or white space from 'mouse1 ' on plate(s) p2: "
        "counted as separate biological samples (expected one spelling per sample)"
    )
    assert s.loc[("mouse1 ", "R"), "reason"].startswith("sample name 'mouse1 ' on plate(s) p2 differs only by case or white space from 'Mouse1' on plate(s) p1")
    assert s.loc[("mouse1 ", "R"), "reason"].endswith("; reference gene (used for normalisation)")
    g = res.groups.set_index("group")
    assert g.loc["dex", "qc_flag"] == "sample_name_variant" and g.loc["veh", "qc_flag"] == ""
    assert g.loc["dex", "reason"] == "sample names differing only by case or white space are counted as separate samples (see samples.reason)"
    assert g.loc["dex", "n_samples"] == 2  # kept separate (documented), but visible


# ---------------------------------------------------------------- 7. instrument flags

def _flagged_run() -> pd.DataFrame:
    cq = {("c0", "R"): [20.0, 20.0], ("c0", "T"): [25.0, 25.0], ("d0", "R"): [20.0, 20.0], ("d0", "T"): [23.0, 27.0]}
    return run(cq, {"c0": "ctrl", "d0": "drug"}, flags={("d0", "T", 1): "HIGHSD"})


def test_instrument_flags_option_is_checked():
    with pytest.raises(AnalysisError, match="unknown instrument_flags option") as e:
        ddct(_flagged_run(), "R", "ctrl", instrument_flags="drop", test=None)
    assert "('flag', 'exclude')" in str(e.value) and "'drop'" in str(e.value)
    res = ddct(_flagged_run(), "R", "ctrl", test=None)
    assert res.settings["instrument_flags"] == "flag" and res.settings["p_adjust_family"] == "target"


def test_instrument_flags_reach_samples():
    flag = ddct(_flagged_run(), "R", "ctrl", instrument_flags="flag", test=None)
    s = flag.samples.set_index(["sample", "target"])
    assert "instrument_flag" in s.loc[("d0", "T"), "qc_flag"].split(";")
    assert s.loc[("d0", "T"), "n_used"] == 2 and s.loc[("d0", "T"), "dcq"] == pytest.approx(5.0)
    assert "instrument_flag" in flag.groups.set_index("group").loc["drug", "qc_flag"].split(";")
    ex = ddct(_flagged_run(), "R", "ctrl", instrument_flags="exclude", test=None)
    s2 = ex.samples.set_index(["sample", "target"])
    assert s2.loc[("d0", "T"), "n_used"] == 1 and s2.loc[("d0", "T"), "n_excluded"] == 1
    assert s2.loc[("d0", "T"), "dcq"] == pytest.approx(3.0)
    w = ex.wells.loc[(ex.wells["sample"] == "d0") & (ex.wells["cq"] == 27.0)].iloc[0]
    assert w["status"] == "excluded" and "highsd" in w["reason"].lower()


# ---------------------------------------------------------------- 8. efficiency from a curve not fitted


def test_missing_efficiency_names_the_curve_status():
    q = [1e5, 1e4, 1e3, 1e2]
    std = qpcr_table(
        {
            "well": [f"P{i + 1}" for i in range(6)],
            "target": ["R"] * 4 + ["T"] * 2,
            "cq": [10.0 - 3.3219 * math.log10(x) + 30 for x in q] + [20.0, 21.0],
            "quantity": q + [10.0, 10.0],
            "task": "standard",
        }
    )
    curves = standard_curve(std)
    cq = {("c", "R"): [20.0], ("c", "T"): [25.0], ("d", "R"): [20.0], ("d", "T"): [24.0]}
    df = run(cq, {"c": "ctrl", "d": "drug"})
    with pytest.raises(AnalysisError) as e:
        ddct(df, "R", "ctrl", method="pfaffl", efficiency=curves)
    msg = str(e.value)
    assert msg.startswith("target T: no efficiency for a target: its standard curve was not fitted")
    assert "(status 'not_fitted': 2 points at 1 quantities; need ≥ 3 points at ≥ 2 quantities)" in msg
    only_r = standard_curve(std.loc[std["target"] == "R"])
    with pytest.raises(AnalysisError, match="no efficiency for a target: the standard_curve\\(\\) result has no curve for it"):
        ddct(df, "R", "ctrl", method="pfaffl", efficiency=only_r)
