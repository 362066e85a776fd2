"""Technical-replicate QC (qc_wells): Tm mode from analysed wells, instrument flags,
the median rule's keep-all guard, the max_dcq rule, NTC-like negative controls."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fuzzing import FUZZ_SETTINGS
from hypothesis import given
from hypothesis import strategies as st

from assaykit.errors import AnalysisError
from assaykit.io import read_qpcr
from assaykit.qpcr import OUTLIER_RULES, ddct, qc_wells
from assaykit.schema import qpcr_table, row_letter

AXTELL = "thermo_steponeplus_ddct_sybr_melt__MikeAxtell_MJA_March15_2021_data.xls"
SDS = "abi_7900ht_sds23_rq_results__HTqPCR_SDS_sample.txt"


def run(rows: list[dict]) -> pd.DataFrame:
    """Canonical table from one dict per well (well names A1, A2, ... in order)."""
    cols = {k: [] for k in ("plate", "well", "sample", "target", "cq", "cq_flag", "task", "tm")}
    for i, r in enumerate(rows):
        cq = r.get("cq", np.nan)
        cols["plate"].append(r.get("plate", "1"))
        cols["well"].append(r.get("well", f"{row_letter(i // 24)}{i % 24 + 1}"))
        cols["sample"].append(r.get("sample", "s"))
        cols["target"].append(r.get("target", "T"))
        cols["cq"].append(cq)
        cols["cq_flag"].append(r.get("cq_flag", "undetermined" if np.isnan(cq) else ""))
        cols["task"].append(r.get("task", "unknown"))
        cols["tm"].append(r.get("tm", np.nan))
    df = qpcr_table(cols)
    df["group"] = "g"
    return df


def reps(values: list[float], sample: str = "s", target: str = "T") -> list[dict]:
    return [{"sample": sample, "target": target, "cq": v} for v in values]


def has(w: pd.DataFrame, flag: str) -> pd.Series:
    return w["qc_flag"].str.split(";").apply(lambda f: flag in f)


# ---------------------------------------------------------------- 1. Tm mode


def test_tm_mode_from_analysed_wells_on_stepone_melt_corpus(corpus):
    w = qc_wells(read_qpcr(corpus("qpcr", AXTELL))).set_index("well")
    off = has(w, "tm_off_mode")
    for target, sample_wells in {"miR173": ["C10", "C11", "D2", "D3"], "IIM8": ["F9", "F10", "G3", "G4"]}.items():
        t = w.loc[w["target"] == target]
        # real products (~79-81 °C) are no longer measured against the primer-dimer NTC mode (61.5 °C)
        assert (t.loc[sample_wells, "cq"].notna()).all() and (t.loc[sample_wells, "tm"] > 79).all()
        assert not off[sample_wells].any(), target
        # primer-dimer NTCs (Tm ~61.5 °C) are now the ones flagged
        dimer_ntc = t.loc[(t["task"] == "ntc") & (t["tm"] < 62)].index
        assert len(dimer_ntc) >= 4 and off[dimer_ntc].all()
    # modes: miR173 81.0 (80.81, 80.94, 80.96, 80.81 all round to 81.0); IIM8 79.5 (79.32 x2, 79.61 x2)
    assert off["D5"] and w.loc["D5", "tm"] == pytest.approx(82.5985, abs=1e-3)  # 1.6 °C above 81.0
    assert off["G6"]  # 83.64 vs 79.5
    assert not off["G10"] and w.loc["G10", "tm"] == pytest.approx(78.573, abs=1e-3)  # 0.93 below 79.5
    assert not off["G7"]  # 79.91 vs 79.5
    # sample wells of these two targets with a Cq: 0 of 8 flagged (the audit found 8 of 8 before the fix)
    s = w.loc[w["target"].isin(["miR173", "IIM8"]) & (w["task"] == "unknown") & w["cq"].notna()]
    assert len(s) == 8 and not off[s.index].any()


def test_tm_mode_synthetic_closed_case():
    rows = [
        # analysed wells of T: bins 80.0 (80.0, 80.2), 80.5 (80.4) -> mode 80.0
        {"cq": 25.0, "tm": 80.0},
        {"cq": 25.1, "tm": 80.2},
        {"cq": 25.2, "tm": 80.4},
        # not counted in the mode: omitted, undetermined (even with a cut-off), NTC, standard
        {"cq": 25.3, "tm": 61.5, "cq_flag": "omitted"},
        {"cq": np.nan, "tm": 61.5},
        {"cq": np.nan, "tm": 61.5},
        *[{"sample": "NTC", "cq": 35.0, "tm": 61.5, "task": "ntc"} for _ in range(5)],
        {"sample": "NTC", "cq": 36.0, "tm": 80.9, "task": "ntc"},
        {"sample": "std", "cq": 20.0, "tm": 82.0, "task": "standard"},
        # target U: only controls have a Tm -> no mode, nothing flagged
        {"target": "U", "cq": 25.0},
        {"target": "U", "sample": "NTC", "cq": 35.0, "tm": 61.5, "task": "ntc"},
    ]
    w = qc_wells(run(rows), undetermined=40.0)
    off = has(w, "tm_off_mode").tolist()
    assert off == [False, False, False, True, True, True, *[True] * 5, False, True, False, False]
    # ties -> lower bin; rounding of 2·Tm halves to even (80.25 -> 80.0, 80.75 -> 81.0)
    tie = run([{"cq": 25.0, "tm": 80.0}, {"cq": 25.0, "tm": 81.0}, {"cq": 25.0, "tm": 81.6}])
    assert has(qc_wells(tie), "tm_off_mode").tolist() == [False, False, True]
    half = run([{"cq": 25.0, "tm": 80.25}, {"cq": 25.0, "tm": 80.75}, {"cq": 25.0, "tm": 80.75}, {"cq": 25.0, "tm": 79.9}])
    # bins 80.0, 81.0, 81.0, 80.0 -> tie -> 80.0; 81.1 would be off, 80.75 is within 1 °C
    assert has(qc_wells(half, tm_tolerance=0.5), "tm_off_mode").tolist() == [False, True, True, False]


# ---------------------------------------------------------------- 2. instrument flags


def _flagged_run() -> pd.DataFrame:
    return run(
        [
            {"cq": 25.0, "cq_flag": "highsd"},
            {"cq": 25.2, "cq_flag": "highsd;outlierrg"},
            {"cq": 25.1},
            {"cq": 25.3, "cq_flag": "omitted;highsd"},
            {"cq": np.nan, "cq_flag": "undetermined;noamp"},
            {"cq": 24.0, "cq_flag": "flagged"},  # SDS 'Flag' column (an assaykit name, but an instrument call)
            {"cq": 24.1, "cq_flag": "no_amp"},
            {"sample": "NTC", "cq": 34.0, "cq_flag": "ampnc", "task": "ntc"},
        ]
    )


def test_instrument_flags_flag_keeps_cq_and_names_the_flag():
    w = qc_wells(_flagged_run())
    assert w["status"].tolist() == ["used", "used", "used", "excluded", "excluded", "used", "used", "not_analysed"]
    assert has(w, "instrument_flag").tolist() == [True, True, False, False, False, True, True, False]
    assert w.loc[0, "reason"] == "instrument flag: highsd (Cq kept)"
    assert w.loc[1, "reason"] == "instrument flag: highsd, outlierrg (Cq kept)"
    assert w.loc[5, "reason"] == "instrument flag: flagged (Cq kept)"
    assert w.loc[6, "reason"] == "instrument flag: no_amp (Cq kept)"
    assert w.loc[3, "reason"] == "omitted in the instrument software"
    assert w.loc[4, "reason"] == "undetermined (no Cq) and undetermined='exclude'"
    assert w.loc[2, "reason"] == ""
    assert w["cq_used"].tolist()[:3] == [25.0, 25.2, 25.1]
    # an undetermined well set to the cut-off is not an instrument-flagged Cq
    w40 = qc_wells(_flagged_run(), undetermined=40.0)
    assert w40.loc[4, "cq_used"] == 40.0 and w40.loc[4, "reason"] == ""
    assert w40.loc[4, "qc_flag"] == "undetermined_set_to_cutoff;ntc_within_margin"  # the NTC's 34 is < 5 cycles below 40


def test_instrument_flags_exclude():
    w = qc_wells(_flagged_run(), instrument_flags="exclude")
    assert w["status"].tolist() == ["excluded", "excluded", "used", "excluded", "excluded", "excluded", "excluded", "not_analysed"]
    assert w.loc[0, "reason"] == "instrument flag: highsd"
    assert w.loc[1, "reason"] == "instrument flag: highsd, outlierrg"
    assert w.loc[3, "reason"] == "omitted in the instrument software"
    assert not has(w, "instrument_flag").any()
    assert np.isnan(w.loc[0, "cq_used"]) and w.loc[2, "cq_used"] == 25.1
    # excluded wells take no part in the outlier rule: 25.1 alone is left in s × T
    w2 = qc_wells(_flagged_run(), instrument_flags="exclude", outlier="median")
    assert w2["status"].tolist() == w["status"].tolist()
    # ddct takes the same keyword (plumbed by ddct.py)
    df = run(
        [*reps([20.0, 20.0], "a", "R"), *reps([25.0, 25.0], "a", "T"), *reps([20.0, 20.0], "b", "R"), *reps([24.0, 24.0], "b", "T")]
    )
    df["group"] = df["sample"].map({"a": "ctrl", "b": "drug"})
    df.loc[7, "cq_flag"] = "expfail"
    res = ddct(df, "R", "ctrl", test=None, instrument_flags="exclude")
    assert res.wells.loc[7, "status"] == "excluded" and res.wells.loc[7, "reason"] == "instrument flag: expfail"


def test_instrument_flag_reason_follows_an_outlier_reason():
    df = run(reps([25.0, 25.1, 25.2, 27.0]))
    df.loc[3, "cq_flag"] = "highsd"
    w = qc_wells(df, outlier="median")
    assert w.loc[3, "status"] == "excluded"
    assert w.loc[3, "reason"] == "outlier: |Cq − replicate median| = 1.850 > 0.5 cycles; instrument flag: highsd (Cq kept)"
    assert w.loc[3, "qc_flag"] == "instrument_flag"


@pytest.mark.parametrize("bad", ["keep", "", "EXCLUDE", None, 1])
def test_instrument_flags_invalid_value(bad):
    with pytest.raises(AnalysisError) as e:
        qc_wells(_flagged_run(), instrument_flags=bad)
    msg = str(e.value)
    assert "invalid instrument_flags option" in msg and "['flag', 'exclude']" in msg and repr(bad) in msg


def test_instrument_flags_on_sds23_corpus(corpus):
    d = read_qpcr(corpus("qpcr", SDS))
    flagged = d["cq"].notna() & (d["cq_flag"] != "")
    # 34 wells with a Ct carry SDS' summary 'Flagged'; 27 more carry only the NAW column
    # (any cq_flag entry that is not assaykit's own counts as an instrument flag)
    assert int((flagged & d["cq_flag"].str.contains("flagged")).sum()) == 34
    assert int((flagged & (d["cq_flag"] == "naw")).sum()) == 27
    w = qc_wells(d)
    inst = has(w, "instrument_flag")
    assert int(inst.sum()) == 61 and (inst == flagged).all()
    assert (w.loc[inst, "status"] == "used").all() and (w.loc[inst, "cq_used"] == w.loc[inst, "cq"]).all()
    assert w.loc[inst, "reason"].str.startswith("instrument flag: ").all()
    assert int((w["reason"] == "instrument flag: flagged, naw (Cq kept)").sum()) == 9
    x = qc_wells(d, instrument_flags="exclude")
    assert int((x["status"] == "excluded").sum()) == 61 + 31  # + the 31 Undetermined wells
    assert (x.loc[inst, "status"] == "excluded").all() and x.loc[inst, "cq_used"].isna().all()
    assert (x.loc[~inst & d["cq"].notna(), "status"] == "used").all()


# ---------------------------------------------------------------- 3. median rule guard


@pytest.mark.parametrize("values", [[25.0, 25.0, 26.2, 26.2], [25.0, 25.7, 26.4]])
def test_median_rule_never_removes_half_or_more(values):
    w = qc_wells(run(reps(values)), outlier="median")
    assert (w["status"] == "used").all()
    assert (w["qc_flag"] == "replicates_disagree").all()
    assert w["cq_used"].tolist() == values


def test_median_rule_still_removes_a_minority():
    w = qc_wells(run(reps([25.0, 25.1, 25.2, 25.3, 27.0, 27.5])), outlier="median")
    assert w["status"].tolist() == ["used"] * 4 + ["excluded"] * 2
    assert (w["qc_flag"] == "").all()
    # two outliers of five (median 25.2): excluded; of four: half -> kept
    assert (qc_wells(run(reps([25.0, 25.1, 25.2, 27.0, 27.5])), outlier="median")["status"] == "excluded").sum() == 2
    assert (qc_wells(run(reps([25.0, 25.1, 27.0, 27.5])), outlier="median")["status"] == "used").all()


# ---------------------------------------------------------------- 4. max_dcq rule


def _mx(values, thr=None):
    return qc_wells(run(reps(values)), outlier="max_dcq", outlier_threshold=thr)


def test_max_dcq_closed_forms():
    assert OUTLIER_RULES["max_dcq"] == 0.5
    w = _mx([25.0, 25.2, 25.3])  # range 0.3 <= 0.5
    assert (w["status"] == "used").all() and (w["qc_flag"] == "").all()
    w = _mx([25.0, 25.2, 25.7])  # range 0.7 > 0.5, median 25.2, 25.7 farthest; [25.0, 25.2] range 0.2
    assert w["status"].tolist() == ["used", "used", "excluded"]
    assert w.loc[2, "reason"] == "outlier: replicate range (max ΔCq) 0.700 > 0.5 cycles; farthest from the median 25.200"
    w = _mx([25.0, 25.5])  # range exactly 0.5: not exceeded
    assert (w["status"] == "used").all() and (w["qc_flag"] == "").all()
    w = _mx([25.0, 25.8])  # a pair: removing one leaves 1 of 2
    assert (w["status"] == "used").all() and (w["qc_flag"] == "replicates_disagree").all()
    w = _mx([25.0, 25.5, 26.0])  # 25.0 and 26.0 both 0.5 from the median: cannot tell
    assert (w["status"] == "used").all() and (w["qc_flag"] == "replicates_disagree").all()
    # five wells: 22.5 then 21.0 removed (3 of 5 remain), range 0.2
    w = _mx([20.0, 20.1, 20.2, 21.0, 22.5])
    assert w["status"].tolist() == ["used", "used", "used", "excluded", "excluded"]
    assert w.loc[4, "reason"].startswith("outlier: replicate range (max ΔCq) 2.500 > 0.5")
    assert w.loc[3, "reason"] == "outlier: replicate range (max ΔCq) 1.000 > 0.5 cycles; farthest from the median 20.150"
    # four wells: after 22.5, removing 21.0 would leave 2 of 4 -> nothing removed, all flagged
    w = _mx([20.0, 20.1, 21.0, 22.5])
    assert (w["status"] == "used").all() and (w["qc_flag"] == "replicates_disagree").all()
    # threshold given
    assert (_mx([25.0, 25.2, 25.7], thr=1.0)["status"] == "used").all()
    assert _mx([25.0, 25.1, 25.3], thr=0.25)["status"].tolist() == ["used", "used", "excluded"]


def test_max_dcq_groups_are_independent_and_order_free():
    rows = [*reps([25.0, 25.2, 25.7], "a"), *reps([30.0, 30.1], "b"), *reps([20.0, 21.0], "a", "R"), *reps([22.0, 22.1, 22.2], "c")]
    df = run(rows)
    perm = np.random.default_rng(3).permutation(len(df))
    w = qc_wells(df.iloc[perm].reset_index(drop=True), outlier="max_dcq").set_index("well").loc[df["well"]]
    assert w["status"].tolist() == ["used", "used", "excluded", *["used"] * 7]
    assert w["qc_flag"].tolist() == ["", "", "", "", "", "replicates_disagree", "replicates_disagree", "", "", ""]
    # the same replicate values on two plates: each plate is its own group
    two = pd.concat([run(reps([25.0, 25.2, 25.7])), run(reps([25.0, 25.2, 25.7])).assign(plate="2")], ignore_index=True)
    assert (qc_wells(two, outlier="max_dcq")["status"] == "excluded").sum() == 2


def test_unknown_outlier_rule_lists_max_dcq():
    with pytest.raises(AnalysisError, match="unknown outlier rule") as e:
        qc_wells(run(reps([25.0])), outlier="range")
    assert "max_dcq" in str(e.value) and "'range'" in str(e.value)


# ---------------------------------------------------------------- 5. negative_control, blank


@pytest.mark.parametrize("task", ["ntc", "negative_control", "blank"])
def test_ntc_like_tasks_are_checked(task):
    rows = [*reps([30.0, 30.2]), {"sample": "neg", "cq": 33.0, "task": task}, *reps([20.0, 20.0], "s", "R")]
    w = qc_wells(run(rows), ntc_margin=5.0)
    assert w.loc[2, "qc_flag"] == "ntc_amplified" and w.loc[2, "status"] == "not_analysed"
    assert w["qc_flag"].tolist()[:2] == ["ntc_within_margin"] * 2
    assert (w.loc[3:, "qc_flag"] == "").all()  # other target


@pytest.mark.parametrize("task", ["negative_control", "blank"])
def test_ntc_like_without_cq_flags_nothing(task):
    w = qc_wells(run([*reps([30.0, 30.2]), {"sample": "neg", "cq": np.nan, "task": task}]))
    assert (w["qc_flag"] == "").all()


# ---------------------------------------------------------------- properties of the outlier rules


@FUZZ_SETTINGS
@given(
    groups=st.lists(
        st.lists(st.floats(20.0, 23.0, allow_nan=False).map(lambda v: round(v, 2)), min_size=1, max_size=6),
        min_size=1,
        max_size=5,
    ),
    rule=st.sampled_from(sorted(OUTLIER_RULES)),
)
def test_outlier_rules_never_remove_half_and_keep_every_well(groups, rule):
    rows = [r for i, g in enumerate(groups) for r in reps(g, f"s{i}")]
    w = qc_wells(run(rows), outlier=rule)
    assert len(w) == len(rows) and (w["status"] == "used").sum() + (w["status"] == "excluded").sum() == len(rows)
    assert w.loc[w["status"] == "used", "cq_used"].notna().all()
    assert w.loc[w["status"] == "excluded", "cq_used"].isna().all()
    assert w.loc[w["status"] == "excluded", "reason"].str.startswith("outlier").all()
    for _, g in w.groupby("sample"):
        n, used = len(g), g.loc[g["status"] == "used", "cq"]
        assert 2 * (n - len(used)) < n or n - len(used) == 0
        if rule == "max_dcq":
            flagged = (g["qc_flag"] == "replicates_disagree").all()
            assert flagged or used.max() - used.min() <= 0.5
            assert not flagged or len(used) == n
