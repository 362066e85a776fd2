"""ΔΔCq analysis: closed-form cases, simulated truth, QC rules, conventions, bad input."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from fuzzing import FUZZ_SETTINGS
from hypothesis import given
from hypothesis import strategies as st

from assaykit.errors import AnalysisError
from assaykit.qpcr import calibrate_runs, ddct, qc_wells, standard_curve, summarise_replicates
from assaykit.schema import qpcr_table, row_letter

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
