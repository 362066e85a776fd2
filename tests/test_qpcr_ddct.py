"""ΔΔCq analysis: closed-form cases, simulated truth, QC rules, conventions, bad input."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from fuzzing import FUZZ_SETTINGS
from hypothesis import given
from hypothesis import strategies as st
from scipy import stats as sst

from assaykit.errors import AnalysisError
from assaykit.qpcr import calibrate_runs, ddct, qc_wells, standard_curve, summarise_replicates
from assaykit.schema import qpcr_table, row_letter
from assaykit.stats import compare_groups, hodges_lehmann, hodges_lehmann_ci, p_adjust

ROWS = "ABCDEFGHIJKLMNOP"


def make_run(
    cq: dict[tuple[str, str], list[float]],
    groups: dict[str, str],
    *,
    plate: str = "1",
    multiplex: bool = False,
    extra: list[dict] | None = None,
) -> pd.DataFrame:
    """Canonical table from {(sample, target): [Cq of each replicate]} (NaN = undetermined)."""
    rows = {"plate": [], "well": [], "sample": [], "target": [], "cq": [], "cq_flag": [], "task": [], "tm": []}
    i = 0
    well_of: dict[tuple[str, int], int] = {}
    for (sample, target), values in cq.items():
        for r, v in enumerate(values):
            if multiplex:
                if (sample, r) not in well_of:
                    well_of[(sample, r)] = len(well_of)
                k = well_of[(sample, r)]
            else:
                k = i
                i += 1
            rows["plate"].append(plate)
            rows["well"].append(f"{row_letter(k // 24)}{k % 24 + 1}")
            rows["sample"].append(sample)
            rows["target"].append(target)
            rows["cq"].append(v)
            rows["cq_flag"].append("undetermined" if np.isnan(v) else "")
            rows["task"].append("unknown")
            rows["tm"].append(np.nan)
    for e in extra or []:
        for k2 in rows:
            rows[k2].append(e.get(k2, {"cq_flag": "", "task": "unknown", "tm": np.nan, "plate": plate}.get(k2)))
    df = qpcr_table(rows)
    df["group"] = df["sample"].map(groups).fillna("")
    return df


def simple(fold_t1=4.0, e_t=1.0, ref=20.0, base=25.0, reps=3, samples=2):
    """Noise-free design: ctrl and drug groups, exact fold change of T1 vs GAPDH."""
    cq, groups = {}, {}
    for g in ("ctrl", "drug"):
        for s in range(samples):
            name = f"{g}{s}"
            groups[name] = g
            shift = math.log2(fold_t1) / math.log2(1 + e_t) if g == "drug" else 0.0
            cq[(name, "GAPDH")] = [ref] * reps
            cq[(name, "T1")] = [base - shift] * reps
    return make_run(cq, groups)


# ---------------------------------------------------------------- closed form


def test_closed_form_livak_fold_change():
    res = ddct(simple(fold_t1=8.0), "GAPDH", "ctrl", test=None)
    g = res.groups.set_index("group")
    assert g.loc["drug", "ddcq"] == pytest.approx(-3.0, abs=1e-12)
    assert g.loc["drug", "fold_change"] == pytest.approx(8.0, rel=1e-12)
    assert g.loc["ctrl", "fold_change"] == 1.0
    assert g.loc["drug", "error_source"] == "biological"
    assert g.loc["drug", "dcq_sd"] == pytest.approx(0.0, abs=1e-12)
    s = res.samples.set_index(["sample", "target"])
    assert s.loc[("drug0", "T1"), "rq"] == pytest.approx(8.0)
    assert s.loc[("drug0", "GAPDH"), "status"] == "reference"
    assert len(res.wells) == 24 and (res.wells["status"] == "used").all()


def test_closed_form_pfaffl_recovers_truth_with_efficiency():
    # target efficiency 0.9: the drug shift in cycles is log2(5)/log2(1.9)
    df = simple(fold_t1=5.0, e_t=0.9)
    res = ddct(df, "GAPDH", "ctrl", method="pfaffl", efficiency={"T1": 0.9, "GAPDH": 1.0}, test=None)
    assert res.groups.set_index("group").loc["drug", "fold_change"] == pytest.approx(5.0, rel=1e-12)
    livak = ddct(df, "GAPDH", "ctrl", test=None).groups.set_index("group").loc["drug", "fold_change"]
    assert livak == pytest.approx(2 ** (math.log2(5.0) / math.log2(1.9)), rel=1e-12)
    thermo = ddct(df, "GAPDH", "ctrl", method="thermo_ecq", efficiency={"T1": 0.9, "GAPDH": 1.0}, test=None)
    assert thermo.groups["fold_change"].tolist() == res.groups["fold_change"].tolist()


def test_two_reference_genes_geometric_mean():
    cq, groups = {}, {}
    # references move in opposite directions in drug: geometric mean of their RQ is constant
    for g, (a, b, t) in {"ctrl": (20.0, 22.0, 26.0), "drug": (21.0, 21.0, 24.0)}.items():
        for s in range(2):
            groups[f"{g}{s}"] = g
            cq[(f"{g}{s}", "GAPDH")] = [a, a]
            cq[(f"{g}{s}", "ACTB")] = [b, b]
            cq[(f"{g}{s}", "T1")] = [t, t]
    res = ddct(make_run(cq, groups), ["GAPDH", "ACTB"], "ctrl", test=None)
    g = res.groups.set_index("group")
    assert g.loc["drug", "fold_change"] == pytest.approx(4.0)
    assert g.loc["ctrl", "dcq_mean"] == pytest.approx(26.0 - 21.0)
    assert set(res.groups["target"]) == {"T1"}


def test_separate_vs_same_well_technical_error_closed_form():
    # one sample per group: error from technical replicates
    cq = {("c", "R"): [20.0, 20.2, 20.4], ("c", "T"): [25.0, 25.4, 25.8], ("d", "R"): [20.0, 20.2, 20.4], ("d", "T"): [23.0, 23.4, 23.8]}
    groups = {"c": "ctrl", "d": "drug"}
    sep = ddct(make_run(cq, groups), "R", "ctrl", test=None).groups.set_index("group")
    assert sep.loc["drug", "error_source"] == "technical"
    assert sep.loc["drug", "dcq_sd"] == pytest.approx(math.sqrt(0.2**2 + 0.4**2))
    assert sep.loc["drug", "dcq_se"] == pytest.approx(math.sqrt(0.2**2 / 3 + 0.4**2 / 3))
    same = ddct(make_run(cq, groups, multiplex=True), "R", "ctrl", test=None).groups.set_index("group")
    # per-well ΔCq = 5.0, 5.2, 5.4 -> SD 0.2, SE 0.2/√3, df 2
    assert same.loc["ctrl", "dcq_sd"] == pytest.approx(0.2)
    assert same.loc["ctrl", "ddcq_ci95_halfwidth"] == pytest.approx(4.302652729749464 * 0.2 / math.sqrt(3))
    assert same.loc["drug", "fold_change_sem_low"] == pytest.approx(2 ** -(-2.0 + 0.2 / math.sqrt(3)))
    forced = ddct(make_run(cq, groups, multiplex=True), "R", "ctrl", pairing="separate", test=None)
    assert forced.groups.set_index("group").loc["drug", "dcq_sd"] == pytest.approx(math.sqrt(0.2**2 + 0.4**2))


def test_propagate_control_variance():
    cq, groups = {}, {}
    vals = {"ctrl": [5.0, 5.2, 5.4], "drug": [3.0, 3.4, 3.8]}
    for g, dcqs in vals.items():
        for i, d in enumerate(dcqs):
            groups[f"{g}{i}"] = g
            cq[(f"{g}{i}", "R")] = [20.0]
            cq[(f"{g}{i}", "T")] = [20.0 + d]
    df = make_run(cq, groups)
    plain = ddct(df, "R", "ctrl", error="sem", test=None).groups.set_index("group")
    prop = ddct(df, "R", "ctrl", error="sem", propagate_control=True, test=None).groups.set_index("group")
    se_d, se_c = 0.4 / math.sqrt(3), 0.2 / math.sqrt(3)
    assert plain.loc["drug", "ddcq_se"] == pytest.approx(se_d)
    assert prop.loc["drug", "ddcq_se"] == pytest.approx(math.hypot(se_d, se_c))
    assert prop.loc["drug", "ddcq_sd"] == pytest.approx(math.hypot(0.4, 0.2))
    df_ws = (se_d**2 + se_c**2) ** 2 / (se_d**4 / 2 + se_c**4 / 2)
    from scipy import stats

    assert prop.loc["drug", "ddcq_ci95_halfwidth"] == pytest.approx(stats.t.ppf(0.975, df_ws) * math.hypot(se_d, se_c))
    assert prop.loc["ctrl", "ddcq_se"] == pytest.approx(se_c)  # the control is not propagated onto itself
    assert (prop["error_convention"] == "sem").all() and prop["control_error_propagated"].all()


def test_simulated_truth_recovered_with_noise():
    rng = np.random.default_rng(7)
    truth = {"TBX21": 3.0, "RORC": 0.25, "FOXP3": 1.0}
    cq, groups = {}, {}
    for g in ("vehicle", "drug"):
        for s in range(40):
            name = f"{g}{s}"
            groups[name] = g
            load = rng.normal(0, 0.5)  # input amount differs per sample; references absorb it
            for ref, base in (("GAPDH", 18.0), ("ACTB", 19.0)):
                cq[(name, ref)] = list(base + load + rng.normal(0, 0.1, 3))
            for t, fc in truth.items():
                shift = -math.log2(fc) if g == "drug" else 0.0
                cq[(name, t)] = list(27.0 + load + shift + rng.normal(0, 0.1, 3))
    res = ddct(make_run(cq, groups), ["GAPDH", "ACTB"], "vehicle", test="welch")
    g = res.groups.loc[res.groups["group"] == "drug"].set_index("target")
    stt = res.stats.set_index("target")
    for t, fc in truth.items():
        assert g.loc[t, "fold_change"] == pytest.approx(fc, rel=0.05)
        assert stt.loc[t, "fold_change"] == pytest.approx(g.loc[t, "fold_change"], rel=1e-12)
    assert stt.loc["TBX21", "p_adjusted"] < 1e-6 and stt.loc["RORC", "p_adjusted"] < 1e-6
    assert (stt["p_adjust_method"] == "holm").all()


def test_welch_fold_change_ci_coverage():
    """Over 120 simulated experiments the 95 % Welch CI of the fold change covers the
    truth in 88-100 % of them (binomial 95 % ± 3 SD)."""
    rng = np.random.default_rng(11)
    covered = 0
    n_sim = 120
    for _ in range(n_sim):
        cq, groups = {}, {}
        for g, shift in (("v", 0.0), ("d", -1.5)):
            for s in range(5):
                name = f"{g}{s}"
                groups[name] = g
                cq[(name, "R")] = [20.0 + rng.normal(0, 0.3)]
                cq[(name, "T")] = [26.0 + shift + rng.normal(0, 0.3) + rng.normal(0, 0.4, 1)[0]]
        st_ = ddct(make_run(cq, groups), "R", "v").stats.iloc[0]
        covered += st_["fold_change_ci_low"] < 2**1.5 < st_["fold_change_ci_high"]
    assert 0.88 * n_sim <= covered <= n_sim


# ---------------------------------------------------------------- replicate QC


def test_undetermined_exclude_and_cutoff():
    cq = {("c", "R"): [20.0, 20.0], ("c", "T"): [30.0, 30.0], ("d", "R"): [20.0, 20.0], ("d", "T"): [np.nan, 38.0]}
    df = make_run(cq, {"c": "ctrl", "d": "drug"})
    ex = ddct(df, "R", "ctrl", test=None)
    w = ex.wells
    bad = w.loc[w["cq"].isna()].iloc[0]
    assert bad["status"] == "excluded" and "undetermined" in bad["reason"]
    assert ex.samples.set_index(["sample", "target"]).loc[("d", "T"), "n_used"] == 1
    cut = ddct(df, "R", "ctrl", undetermined=35.0, test=None)
    w = cut.wells
    assert w.loc[w["cq"].isna(), "qc_flag"].iloc[0] == "undetermined_set_to_cutoff"
    assert w.loc[w["cq"] == 38.0, "qc_flag"].iloc[0] == "above_cutoff_set_to_cutoff"
    s = cut.samples.set_index(["sample", "target"])
    assert s.loc[("d", "T"), "cq_mean"] == 35.0
    assert "undetermined_set_to_cutoff" in s.loc[("d", "T"), "qc_flag"]


def test_all_replicates_undetermined_gives_status_not_nan_silently():
    cq = {("c", "R"): [20.0], ("c", "T"): [30.0], ("d", "R"): [20.0], ("d", "T"): [np.nan, np.nan]}
    res = ddct(make_run(cq, {"c": "ctrl", "d": "drug"}), "R", "ctrl", test=None)
    s = res.samples.set_index(["sample", "target"]).loc[("d", "T")]
    assert s["status"] == "no_valid_wells" and "excluded" in s["reason"]
    g = res.groups.set_index("group").loc["drug"]
    assert g["status"] == "no_valid_samples" and np.isnan(g["fold_change"]) and g["reason"]


def test_missing_reference_and_missing_target_and_control():
    cq = {
        ("c", "R"): [20.0], ("c", "T"): [30.0],
        ("d", "R"): [np.nan], ("d", "T"): [28.0],
        ("e", "R"): [20.0],
    }  # fmt: skip
    res = ddct(make_run(cq, {"c": "ctrl", "d": "drug", "e": "drug"}), "R", "ctrl", test=None)
    s = res.samples.set_index(["sample", "target"])
    assert s.loc[("d", "T"), "status"] == "no_reference"
    assert "R" in s.loc[("d", "T"), "reason"]
    assert s.loc[("d", "R"), "status"] == "reference_no_valid_wells"
    assert s.loc[("e", "T"), "status"] == "no_wells"
    assert s.loc[("e", "T"), "reason"] == "target not measured in this sample (sample on plate(s) 1; target on plate(s) 1)"
    # control without valid wells for a target
    cq2 = {("c", "R"): [20.0], ("c", "T"): [np.nan], ("d", "R"): [20.0], ("d", "T"): [28.0]}
    res2 = ddct(make_run(cq2, {"c": "ctrl", "d": "drug"}), "R", "ctrl", test=None)
    g = res2.groups.set_index("group").loc["drug"]
    assert g["status"] == "no_control" and "'ctrl'" in g["reason"] and np.isnan(g["fold_change"])
    assert res2.samples.set_index(["sample", "target"]).loc[("d", "T"), "status"] == "no_control"


def test_outlier_rules():
    cq = {("s", "T"): [25.0, 25.1, 26.5], ("s", "R"): [20.0, 20.05, 20.1], ("u", "T"): [25.0, 26.2]}
    df = make_run(cq, {"s": "g", "u": "g"})
    for rule in ("median", "sd"):
        w = qc_wells(df, outlier=rule)
        out = w.loc[w["status"] == "excluded"]
        assert out["cq"].tolist() == [26.5], rule
        assert out["reason"].iloc[0].startswith("outlier")
        pair = w.loc[w["sample"] == "u"]
        assert (pair["status"] == "used").all() and (pair["qc_flag"] == "replicates_disagree").all()
    # Grubbs: with 3 values the maximum G is (n-1)/√n = 1.1547 and the 5 % critical value is 1.1543
    w = qc_wells(make_run({("s", "T"): [25.0, 25.01, 26.5]}, {"s": "g"}), outlier="grubbs")
    assert w.loc[w["status"] == "excluded", "cq"].tolist() == [26.5]
    assert "Grubbs" in w.loc[w["status"] == "excluded", "reason"].iloc[0]
    w = qc_wells(make_run({("s", "T"): [25.0, 25.3, 25.5, 25.6]}, {"s": "g"}), outlier="grubbs")
    assert (w["status"] == "used").all()
    summ = summarise_replicates(qc_wells(df, outlier="median"))
    row = summ.loc[(summ["sample"] == "s") & (summ["target"] == "T")].iloc[0]
    assert (row["n_wells"], row["n_used"]) == (3, 2) and row["cq_mean"] == pytest.approx(25.05)


def test_ntc_nrt_and_tm_flags():
    cq = {("s", "T"): [30.0, 30.2], ("s", "R"): [20.0, 20.0]}
    extra = [
        {"well": "P1", "sample": "NTC", "target": "T", "cq": 33.0, "task": "ntc"},
        {"well": "P2", "sample": "s", "target": "R", "cq": 38.0, "task": "nrt"},
    ]
    df = make_run(cq, {"s": "g", "NTC": ""}, extra=extra)
    df.loc[df["target"] == "T", "tm"] = [80.0, 82.5, 80.1]
    w = qc_wells(df, ntc_margin=5.0)
    assert w.loc[w["well"] == "P1", "qc_flag"].iloc[0] == "ntc_amplified"
    assert w.loc[w["well"] == "P1", "status"].iloc[0] == "not_analysed"
    assert w.loc[w["well"] == "P2", "qc_flag"].iloc[0] == "nrt_amplified"
    t = w.loc[(w["sample"] == "s") & (w["target"] == "T")]
    assert t["qc_flag"].tolist() == ["ntc_within_margin", "ntc_within_margin;tm_off_mode"]
    r = w.loc[(w["sample"] == "s") & (w["target"] == "R") & (w["task"] == "unknown")]
    assert (r["qc_flag"] == "").all()  # 38 - 20 >= 5
    assert (qc_wells(df, ntc_margin=2.0).loc[lambda x: x["target"] == "T", "qc_flag"].str.contains("ntc_within").sum()) == 0


def test_omitted_and_non_numeric_wells_keep_reason():
    df = make_run({("s", "T"): [30.0, 31.0, 32.0]}, {"s": "g"})
    df.loc[0, "cq_flag"] = "omitted"
    df.loc[1, ["cq", "cq_flag", "cq_raw"]] = [np.nan, "not_numeric", "abc"]
    w = qc_wells(df)
    assert w.loc[0, "reason"] == "omitted in the instrument software"
    assert w.loc[1, "reason"] == "no numeric Cq (cq_flag 'not_numeric', cq_raw 'abc')"
    assert w["status"].tolist() == ["excluded", "excluded", "used"]


# ---------------------------------------------------------------- stats, calibration, curves


def test_stats_tests_against_control_and_tukey():
    rng = np.random.default_rng(1)
    cq, groups = {}, {}
    for g, shift in (("veh", 0.0), ("lo", -1.0), ("hi", -2.0)):
        for s in range(5):
            name = f"{g}{s}"
            groups[name] = g
            cq[(name, "R")] = [20.0]
            cq[(name, "T")] = [25.0 + shift + rng.normal(0, 0.2)]
    df = make_run(cq, groups)
    for test in ("welch", "student", "mann_whitney", "dunnett"):
        res = ddct(df, "R", "veh", test=test)
        assert set(res.stats["group"]) == {"lo", "hi"} and set(res.stats["versus"]) == {"veh"}, test
        assert (res.stats["status"] == "ok").all(), test
    tk = ddct(df, "R", "veh", test="tukey").stats
    assert len(tk) == 3 and (tk["p_adjust_method"] == "tukey_hsd").all()
    an = ddct(df, "R", "veh", test="anova").stats
    assert an["group"].tolist() == ["(all)"] and an["p_value"].iloc[0] < 1e-6
    none = ddct(df, "R", "veh", test=None).stats
    assert none.empty and "fold_change_ci_low" in none.columns


def test_stats_not_tested_with_single_samples():
    res = ddct(simple(samples=1), "GAPDH", "ctrl")
    row = res.stats.iloc[0]
    # the reason names the short group(s) and their n (was "fewer than 2 values in a group")
    assert row["status"] == "not_tested"
    assert row["reason"] == "control 'ctrl' has 1 biological sample (needs 2); group 'drug' has 1 biological sample (needs 2)"


def test_inter_run_calibration():
    cq1 = {("IRC", "T"): [25.0, 25.0], ("a", "T"): [27.0]}
    cq2 = {("IRC", "T"): [26.0, 26.0], ("b", "T"): [28.5]}
    df = pd.concat([make_run(cq1, {}, plate="p1"), make_run(cq2, {}, plate="p2")], ignore_index=True)
    cal = calibrate_runs(df, "IRC")
    off = cal.offsets.set_index("plate")["run_offset"]
    assert off.to_dict() == {"p1": -0.5, "p2": 0.5}
    d = cal.data.set_index("sample")
    assert d.loc["a", "cq"] == 27.5 and d.loc["b", "cq"] == 28.0
    assert d.loc["b", "cq_uncalibrated"] == 28.5
    with pytest.raises(AnalysisError, match="calibrator sample not found"):
        calibrate_runs(df, "nope")
    with pytest.raises(AnalysisError, match="no valid calibrator Cq on this plate") as e:
        calibrate_runs(pd.concat([df, make_run({("x", "U"): [30.0]}, {}, plate="p2").assign(well="P24")]), "IRC")
    assert "plate p2" in str(e.value) and "target U" in str(e.value)
    with pytest.raises(AnalysisError, match="column missing for inter-run calibration"):
        calibrate_runs(df.drop(columns="plate"), "IRC")


def test_standard_curve_efficiency_ci_and_not_fitted():
    q = [1e5, 1e4, 1e3, 1e2] * 2
    slope = -3.32192809489
    cq = [10.0 + slope * math.log10(x) + 40 for x in q]
    df = qpcr_table(
        {
            "well": [f"A{i + 1}" for i in range(8)] + ["B1", "B2"],
            "target": ["T"] * 8 + ["U", "U"],
            "cq": cq + [20.0, 21.0],
            "quantity": q + [10.0, 10.0],
            "task": "standard",
        }
    )
    c = standard_curve(df).curves.set_index("target")
    assert c.loc["T", "efficiency"] == pytest.approx(1.0, abs=1e-9)
    assert c.loc["T", "r_squared"] == pytest.approx(1.0)
    assert c.loc["U", "status"] == "not_fitted" and "need ≥ 3 points" in c.loc["U", "reason"]
    assert standard_curve(df).efficiencies() == pytest.approx({"T": 1.0})
    with pytest.raises(AnalysisError, match="no standard wells found"):
        standard_curve(df.assign(task="unknown"))
    with pytest.raises(AnalysisError, match="column missing for standard curve"):
        standard_curve(df.drop(columns="quantity"))
    with pytest.raises(AnalysisError, match="column missing for standard curve"):
        standard_curve(df, task_col="layout_task")
    with pytest.raises(AnalysisError, match="95 % intervals only"):
        standard_curve(df, ci_level=0.9)
    flat = qpcr_table({"well": ["A1", "A2", "A3"], "target": "F", "cq": [20.0, 20.5, 21.0], "quantity": [1.0, 10.0, 100.0], "task": "standard"})
    assert "not negative" in standard_curve(flat).curves["reason"].iloc[0]


# ---------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"method": "delta"}, "unknown quantification method"),
        ({"error": "range"}, "unknown error convention"),
        ({"pairing": "x"}, "unknown pairing"),
        ({"reference": []}, "no reference gene given"),
        ({"group_col": "condition"}, "group column missing"),
        ({"reference": "ACTB"}, "reference gene not found"),
        ({"control": "placebo"}, "control group not found"),
        ({"efficiency": {"T1": 0.9}}, "method='livak' assumes 100 %"),
        ({"method": "pfaffl"}, "method='pfaffl' needs amplification efficiencies"),
        ({"method": "pfaffl", "efficiency": [0.9]}, "efficiency has an unsupported type"),
        ({"method": "pfaffl", "efficiency": {"T1": 0.9}}, "no efficiency for a target"),
        ({"method": "pfaffl", "efficiency": {"T1": 1.95, "GAPDH": 1.0}}, "efficiency out of range"),
        ({"method": "pfaffl", "efficiency": {"T1": "high", "GAPDH": 1.0}}, "efficiency is not a number"),
        ({"outlier": "dixon"}, "unknown outlier rule"),
        ({"undetermined": "drop"}, "invalid undetermined option"),
        ({"undetermined": [40]}, "invalid undetermined option"),
        ({"test": "chi2"}, "unknown statistical test"),
        ({"p_adjust": "bonferroni"}, "unknown p-value adjustment"),
    ],
)
def test_bad_options_raise_analysis_error(kwargs, message):
    args = {"reference": "GAPDH", "control": "ctrl"}
    args.update(kwargs)
    with pytest.raises(AnalysisError, match=message.replace("(", r"\(")):
        ddct(simple(), args.pop("reference"), args.pop("control"), **args)


def test_sample_in_two_groups_names_it():
    df = simple()
    df.loc[df.index[0], "group"] = "drug"
    with pytest.raises(AnalysisError, match="sample belongs to several groups") as e:
        ddct(df, "GAPDH", "ctrl")
    assert "sample ctrl0" in str(e.value)


def test_missing_column_in_qc():
    with pytest.raises(AnalysisError, match="column missing from qPCR table"):
        qc_wells(simple().drop(columns="tm"))


@given(st.lists(st.floats(10, 40), min_size=2, max_size=6), st.floats(0.1, 8.0))
@FUZZ_SETTINGS
def test_fold_change_invariant_to_common_shift(values, shift):
    """Adding a constant to every Cq of a sample (input amount) never changes its fold change."""
    cq = {("c", "R"): [20.0], ("c", "T"): [25.0]}
    groups = {"c": "ctrl"}
    for i, v in enumerate(values):
        groups[f"d{i}"] = "drug"
        cq[(f"d{i}", "R")] = [20.0 + shift * i]
        cq[(f"d{i}", "T")] = [v + shift * i]
    res = ddct(make_run(cq, groups), "R", "ctrl", test=None)
    fc = res.groups.set_index("group").loc["drug", "fold_change"]
    assert fc == pytest.approx(2 ** -(np.mean(values) - 25.0), rel=1e-9)
    assert res.wells.shape[0] == 2 + 2 * len(values)


def test_duplicate_wells_and_text_cq_and_missing_group():
    df = simple()
    dup = pd.concat([df, df.iloc[[3]]], ignore_index=True)
    with pytest.raises(AnalysisError, match="duplicate well × target") as e:
        ddct(dup, "GAPDH", "ctrl")
    assert f"well {df.loc[3, 'well']}" in str(e.value) and "target " in str(e.value)
    with pytest.raises(AnalysisError, match="column 'cq' must hold numbers"):
        qc_wells(df.assign(cq=df["cq"].astype(str)))
    nogroup = df.copy()
    nogroup.loc[nogroup["sample"] == "drug1", "group"] = np.nan
    res = ddct(nogroup, "GAPDH", "ctrl", test=None)
    w = res.wells.loc[res.wells["sample"] == "drug1"]
    assert (w["status"] == "not_analysed").all()
    assert (w["reason"] == "no group assigned (column 'group' is empty)").all()
    assert "drug1" not in set(res.samples["sample"]) and len(res.wells) == len(df)
    assert res.groups.set_index("group").loc["drug", "n_samples"] == 1


def test_livak_validation_failures():
    from assaykit.qpcr import livak_validation

    q = [1.0, 0.1, 0.01]
    # target efficiency 80 %: ΔCq grows with dilution by log2(10)·(1/log2(1.8) − 1)
    cq = {}
    for i, x in enumerate(q):
        cq[(f"d{i}", "R")] = [20.0 - 3.3219 * np.log10(x)]
        cq[(f"d{i}", "T")] = [25.0 - np.log2(10) / np.log2(1.8) * np.log10(x)]
    df = make_run(cq, {})
    df["quantity"] = [q[int(s[1])] for s in df["sample"]]
    res = livak_validation(df, "R").iloc[0]
    assert not res["passes"] and "use method='pfaffl'" in res["reason"]
    short = livak_validation(df.loc[df["sample"] != "d2"], "R").iloc[0]
    assert short["reason"] == "need ≥ 3 samples at ≥ 2 quantities with both genes"
    with pytest.raises(AnalysisError, match="column missing for the efficiency check"):
        livak_validation(df.drop(columns="quantity"), "R")
    with pytest.raises(AnalysisError, match="reference gene not found"):
        livak_validation(df, "GAPDH")


@pytest.mark.parametrize("test", ["welch", "student"])
def test_vectorised_t_tests_equal_compare_groups(test):
    from assaykit.stats import compare_groups

    rng = np.random.default_rng(5)
    cq, groups = {}, {}
    for g, shift in (("veh", 0.0), ("a", -1.0), ("b", 0.5)):
        for s in range(4 if g != "b" else 1):
            name = f"{g}{s}"
            groups[name] = g
            cq[(name, "R")] = [20.0 + rng.normal(0, 0.2)]
            for t in ("T1", "T2"):
                cq[(name, t)] = [25.0 + shift + rng.normal(0, 0.3)]
    res = ddct(make_run(cq, groups), "R", "veh", test=test, p_adjust="bh")
    ok = res.samples.loc[(res.samples["status"] == "ok")]
    ref = compare_groups(ok, "dcq", "group", control="veh", test=test, by="target", p_adjust_method="bh")
    ours = res.stats.sort_values(["target", "group"]).reset_index(drop=True)
    ref = ref.sort_values(["target", "group"]).reset_index(drop=True)
    # ddct's not_tested reasons name the short group (compare_groups keeps its generic reason)
    cols = ref.columns.drop("reason")
    pd.testing.assert_frame_equal(ours[cols], ref[cols], check_dtype=False)
    assert set(ours.loc[ours["group"] == "b", "status"]) == {"not_tested"}
    assert set(ours.loc[ours["group"] == "b", "reason"]) == {"group 'b' has 1 biological sample (needs 2)"}
    assert set(ours.loc[ours["group"] != "b", "reason"]) == {""} == set(ref.loc[ref["group"] != "b", "reason"])


def test_target_only_on_some_plates_and_mismatched_names():
    p1 = make_run({("c1", "R"): [20.0], ("c1", "T"): [25.0], ("d1", "R"): [20.0], ("d1", "T"): [23.0]}, {"c1": "ctrl", "d1": "drug"}, plate="run1")
    # plate 2: a new target U only here, and sample 'D1' spelled differently from 'd1'
    p2 = make_run({("c1", "U"): [30.0], ("D1", "U"): [29.0], ("D1", "R"): [20.0]}, {"c1": "ctrl", "D1": "drug"}, plate="run2")
    res = ddct(pd.concat([p1, p2], ignore_index=True), "R", "ctrl", test=None)
    s = res.samples.set_index(["sample", "target"])
    assert s.loc[("d1", "U"), "status"] == "no_wells"
    assert s.loc[("d1", "U"), "reason"].endswith("(sample on plate(s) run1; target on plate(s) run2)")
    assert s.loc[("D1", "T"), "status"] == "no_wells"
    g = res.groups.set_index(["group", "target"])
    assert g.loc[("drug", "U"), "fold_change"] == pytest.approx(2.0)  # c1 is on both plates
    assert g.loc[("drug", "T"), "n_samples"] == 1


@st.composite
def messy_runs(draw):
    """Small designs with undetermined wells, missing targets/references and empty groups."""
    n_samples = draw(st.integers(1, 5))
    cq, groups = {}, {}
    for i in range(n_samples):
        name = f"s{i}"
        groups[name] = draw(st.sampled_from(["ctrl", "drug", "other"]))
        for t in ("R", "T", "U"):
            if draw(st.booleans()) or (t == "R" and i == 0):
                n = draw(st.integers(1, 3))
                cq[(name, t)] = [draw(st.one_of(st.just(float("nan")), st.floats(15, 38))) for _ in range(n)]
    groups["s0"] = "ctrl"
    return make_run(cq, groups)


@given(messy_runs(), st.sampled_from([None, "median", "sd", "grubbs"]), st.sampled_from(["exclude", 38.0]), st.sampled_from(["welch", "mann_whitney", "dunnett", "tukey"]))
@FUZZ_SETTINGS
def test_no_dropped_well_and_no_silent_nan(df, outlier, undetermined, test):
    res = ddct(df, "R", "ctrl", outlier=outlier, undetermined=undetermined, test=test)
    assert len(res.wells) == len(df)
    w = res.wells
    assert ((w["status"] == "used") == w["cq_used"].notna()).all()
    assert (w.loc[w["status"] != "used", "reason"] != "").all()
    s = res.samples
    bad = s.loc[~s["is_reference"] & s["dcq"].isna()]
    assert (bad["status"] != "ok").all() and (bad["reason"] != "").all()
    g = res.groups
    nan_fc = g.loc[g["fold_change"].isna()]
    assert (nan_fc["reason"] != "").all()
    no_err = g.loc[g["fold_change"].notna() & g["fold_change_sd_low"].isna()]
    assert (no_err["reason"] != "").all()
    st_ = res.stats
    assert (st_.loc[st_["p_value"].isna(), "reason"] != "").all()


def test_relative_standard_curve_statuses_and_errors():
    from assaykit.qpcr import relative_standard_curve

    std = qpcr_table(
        {
            "well": [f"P{i + 1}" for i in range(8)],
            "target": ["R"] * 4 + ["T"] * 4,
            "cq": [20.0, 23.3219, 26.6439, 29.9658] * 2,
            "quantity": [1000.0, 100.0, 10.0, 1.0] * 2,
            "task": "standard",
        }
    )
    curves = standard_curve(std)
    cq = {("c", "R"): [20.0, 20.0], ("c", "T"): [23.0, 23.0], ("d", "R"): [20.0, 20.0], ("d", "T"): [21.0, 21.0], ("e", "T"): [22.0], ("f", "R"): [20.0]}
    df = pd.concat([make_run(cq, {"c": "ctrl", "d": "drug", "e": "solo", "f": "refonly"}), std.assign(group="")], ignore_index=True)
    res = relative_standard_curve(df, curves, "R", "ctrl").set_index("group")
    assert res.loc["drug", "calibrated"] == pytest.approx(4.0, rel=1e-4)
    assert res.loc["solo", "status"] == "no_reference"
    assert res.loc["refonly", "status"] == "no_valid_wells" and res.loc["refonly", "reason"]
    no_ctrl = relative_standard_curve(df.loc[~((df["sample"] == "c") & (df["target"] == "T"))], curves, "R", "ctrl").set_index("group")
    assert no_ctrl.loc["drug", "status"] == "no_control" and "'ctrl'" in no_ctrl.loc["drug", "reason"]
    with pytest.raises(AnalysisError, match="unknown pairing"):
        relative_standard_curve(df, curves, "R", "ctrl", pairing="x")
    with pytest.raises(AnalysisError, match="column missing for the standard-curve method"):
        relative_standard_curve(df.drop(columns="group"), curves, "R", "ctrl")
    with pytest.raises(AnalysisError, match="reference gene not found"):
        relative_standard_curve(df, curves, "ACTB", "ctrl")
    with pytest.raises(AnalysisError, match="control group not found"):
        relative_standard_curve(df, curves, "R", "vehicle")
    with pytest.raises(AnalysisError, match="no fitted standard curve for this target"):
        relative_standard_curve(df.assign(target=df["target"].replace("T", "U")), curves, "R", "ctrl")


def test_stats_without_test_is_empty_with_the_dtypes_of_a_tested_run():
    welch = ddct(simple(), "GAPDH", "ctrl", test="welch").stats
    none = ddct(simple(), "GAPDH", "ctrl", test=None).stats
    assert none.empty and not welch.empty
    assert list(none.columns) == list(welch.columns)
    assert dict(none.dtypes) == dict(welch.dtypes)
    assert none["n"].dtype == "int64" and none["p_value"].dtype == "float64" and none["target"].dtype == object


# ==================================================================================================
# Formerly test_qpcr_ddct_gaps.py:
#
# ddct / stats: complete stats rows, achieved Hodges–Lehmann level,
# p-value families, cut-off imputation in groups, sample-name variants, instrument flags,
# efficiency errors naming the standard curve.
# ==================================================================================================


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
