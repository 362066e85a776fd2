"""assaykit.blot.normalize: ratios and folds against the corpus truth and closed forms; statuses; errors."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats as sps

from assaykit.blot.normalize import NormalizeSettings, linear_range, normalize
from assaykit.errors import AnalysisError, SettingsError
from assaykit.simulate.blot import dilution_series_spec, expected_ratios, simulate_blot

A = "synth_blot_A_IkBa_timecourse"
B = "synth_blot_B_p65_fractions"


def _corpus_bands(
    corpus, name: str, volume: str
) -> tuple[pd.DataFrame, pd.DataFrame, pd.DataFrame]:
    t = pd.read_csv(corpus("blot", f"{name}_ground_truth.csv"))
    exp = pd.read_csv(corpus("blot", f"{name}_expected_ratios.csv"))
    b = t.assign(lane=t["lane_index"] + 1, sample=t["lane_label"], volume=t[volume])
    b["role"] = np.where(b["lane_label"] == "ladder", "ladder", "")
    if name == B:  # C_ / N_ prefixes: fraction and condition
        b["fraction"] = b["lane_label"].str[0].map({"C": "cytoplasmic", "N": "nuclear"})
        b["condition"] = b["lane_label"].str[2:]
    return t, exp, b


@pytest.mark.parametrize("name", [A, B])
def test_true_volumes_give_the_corpus_ratios_and_folds(corpus, name):
    # the corpus' expected ratios are of the true (total) volumes, printed with 6 decimals
    _, exp, bands = _corpus_bands(corpus, name, "true_volume")
    for loading in exp["control"].unique():
        res = normalize(bands, loading=loading, control="veh")
        m = exp.loc[exp["control"] == loading].merge(
            res.normalized,
            left_on=["lane_label", "target"],
            right_on=["sample", "target"],
            validate="one_to_one",
        )
        assert len(m) == (exp["control"] == loading).sum()
        assert np.allclose(m["ratio"], m["true_ratio"], rtol=1e-6, atol=6e-7)
        has = m["fold_vs_control_lane"].notna()
        assert np.allclose(
            m.loc[has, "fold"], m.loc[has, "fold_vs_control_lane"], rtol=1e-6, atol=6e-7
        )


@pytest.mark.parametrize("name", [A, B])
def test_in_box_volumes_give_the_in_box_truth_exactly(corpus, name):
    truth, exp, bands = _corpus_bands(corpus, name, "true_volume_in_box")
    t = truth.assign(fraction=bands.get("fraction", ""))
    control = {"cytoplasmic": "C_veh", "nuclear": "N_veh"} if name == B else "veh"
    for loading in exp["control"].unique():
        want = expected_ratios(
            t,
            [(x, loading) for x in exp.loc[exp["control"] == loading, "target"].unique()],
            control,
        )
        res = normalize(bands, loading=loading, control="veh")
        m = want.merge(
            res.normalized, left_on=["lane_label", "target"], right_on=["sample", "target"]
        )
        assert len(m) == len(want)
        assert np.allclose(m["ratio"], m["true_ratio_in_box"], rtol=1e-12)
        assert np.allclose(m["fold"], m["fold_in_box"], rtol=1e-12, equal_nan=True)


def test_statuses_of_saturated_bands_follow_the_truth(corpus):
    truth, _, bands = _corpus_bands(corpus, A, "true_volume")
    res = normalize(bands, loading="GAPDH", control="veh").normalized
    sat = truth.set_index(["lane_label", "target"])["saturated"]
    for _, r in res.iterrows():
        assert ("target_saturated" in r["status"]) == bool(sat[(r["sample"], r["target"])])
        assert ("loading_saturated" in r["status"]) == bool(sat[(r["sample"], "GAPDH")])
        assert math.isfinite(
            r["ratio"]
        )  # a saturated loading control is flagged, and the ratio still shown


def test_fraction_purity_closed_form(corpus):
    truth, _, bands = _corpus_bands(corpus, B, "true_volume")
    pur = normalize(bands, loading="GAPDH", control="veh").purity.set_index(["sample", "marker"])
    v = truth.set_index(["lane_label", "target"])["true_volume"]
    # lamin B1 in the cytoplasmic lane as % of lamin B1 in the nuclear lane of the same condition
    assert pur.loc[("C_veh", "laminB1"), "contamination_pct"] == pytest.approx(
        100 * v[("C_veh", "laminB1")] / v[("N_veh", "laminB1")], rel=1e-12
    )
    assert pur.loc[("N_TNF30", "GAPDH"), "contamination_pct"] == pytest.approx(
        100 * v[("N_TNF30", "GAPDH")] / v[("C_TNF30", "GAPDH")], rel=1e-12
    )
    assert pur.loc[("N_TNF30", "GAPDH"), "purity_pct"] == pytest.approx(
        100 - pur.loc[("N_TNF30", "GAPDH"), "contamination_pct"]
    )
    assert len(pur) == 8


def test_nuclear_lanes_use_their_own_loading_control(corpus):
    _, exp, bands = _corpus_bands(corpus, B, "true_volume")
    res = normalize(bands, loading="GAPDH", nuclear_loading="laminB1", control="veh").normalized
    got = res.loc[res["target"] == "p65"].set_index("sample")
    e = exp.set_index(["lane_label", "control"])
    assert got.loc["N_TNF30", "loading"] == "laminB1" and got.loc["C_TNF30", "loading"] == "GAPDH"
    assert got.loc["N_TNF30", "fold"] == pytest.approx(
        e.loc[("N_TNF30", "laminB1"), "fold_vs_control_lane"], rel=1e-6
    )
    assert got.loc["C_TNF30", "fold"] == pytest.approx(
        e.loc[("C_TNF30", "GAPDH"), "fold_vs_control_lane"], rel=1e-6
    )


def _bands(rows):
    return pd.DataFrame(rows, columns=["image", "lane", "sample", "target", "volume", "saturated"])


def test_bad_loading_values_get_a_status_never_a_silent_division():
    b = _bands([
        ("x", 1, "veh", "T", 50.0, False), ("x", 1, "veh", "L", 100.0, False),
        ("x", 2, "a", "T", 40.0, False), ("x", 2, "a", "L", 0.0, False),
        ("x", 3, "b", "T", 40.0, False), ("x", 3, "b", "L", 100.0, True),
        ("x", 4, "c", "T", 40.0, False),
        ("x", 5, "d", "T", np.nan, False), ("x", 5, "d", "L", 100.0, False),
        ("x", 6, "e", "T", -5.0, False), ("x", 6, "e", "L", 100.0, False),
    ])  # fmt: skip
    n = normalize(b, loading="L", control="veh").normalized.set_index("sample")
    assert n.loc["a", "status"] == "loading_not_positive" and math.isnan(n.loc["a", "ratio"])
    assert n.loc["b", "status"] == "loading_saturated" and n.loc["b", "fold"] == pytest.approx(0.8)
    assert n.loc["c", "status"] == "loading_missing" and math.isnan(n.loc["c", "fold"])
    assert n.loc["d", "status"] == "target_not_found"
    assert n.loc["e", "status"] == "target_not_positive"
    assert n.loc["veh", "status"] == "ok" and n.loc["veh", "fold"] == 1.0


def test_control_problems_are_statuses():
    b = _bands([("x", 1, "veh", "T", 5.0, False), ("x", 1, "veh", "L", 0.0, False),
                ("x", 2, "a", "T", 4.0, False), ("x", 2, "a", "L", 10.0, False),
                ("y", 1, "a", "T", 4.0, False), ("y", 1, "a", "L", 10.0, False)])  # fmt: skip
    n = normalize(b, loading="L", control="veh").normalized.set_index(["image", "sample"])
    assert "control_unusable" in n.loc[("x", "a"), "status"] and math.isnan(
        n.loc[("x", "a"), "fold"]
    )
    assert n.loc[("y", "a"), "status"] == "no_control_lane"
    n2 = normalize(b, loading="L").normalized
    assert (n2["status"].str.contains("no_control")).all() and n2["fold"].isna().all()


def test_errors_name_the_problem():
    b = _bands([("x", 1, "veh", "T", 5.0, False), ("x", 1, "veh", "T", 6.0, False)])
    with pytest.raises(
        AnalysisError, match="target T, lane 1: a target is measured more than once"
    ):
        normalize(b, loading="L", control="veh")
    with pytest.raises(AnalysisError, match="control group not found.*expected one of: veh"):
        normalize(b.iloc[:1], loading="L", control="vehicle")
    with pytest.raises(AnalysisError, match="bands table lacks columns"):
        normalize(b.drop(columns="volume"))
    with pytest.raises(SettingsError, match="key lodaing: not a setting of \\[blot\\]"):
        normalize(b.iloc[:1], lodaing="L")


def test_replicate_blots_combined_with_statistics():
    # three blots; fold of 'tnf' per blot is 0.5, 0.4, 0.6 (log2 tested against the control's 0)
    rows = []
    for img, f in (("b1", 0.5), ("b2", 0.4), ("b3", 0.6)):
        rows += [(img, 1, "veh", "T", 100.0, False), (img, 1, "veh", "L", 50.0, False),
                 (img, 2, "tnf", "T", 100.0 * f, False), (img, 2, "tnf", "L", 50.0, False)]  # fmt: skip
    res = normalize(_bands(rows), loading="L", control="veh")
    r = res.replicates.set_index("group").loc["tnf"]
    assert r["n"] == 3 and r["n_images"] == 3
    assert r["mean_fold"] == pytest.approx(0.5) and r["sd_fold"] == pytest.approx(0.1)
    assert r["sem_fold"] == pytest.approx(0.1 / math.sqrt(3))
    s = res.stats.set_index("group").loc["tnf"]
    # Welch against a zero-variance control = one-sample t test of log2 folds against 0
    want = sps.ttest_1samp(np.log2([0.5, 0.4, 0.6]), 0.0)
    assert s["p_value"] == pytest.approx(want.pvalue, rel=1e-9)
    assert s["estimate"] == pytest.approx(np.log2([0.5, 0.4, 0.6]).mean(), rel=1e-12)


def test_total_protein_normalisation_factor():
    b = _bands([("x", 1, "veh", "T", 60.0, False), ("x", 1, "veh", "total protein", 1000.0, False),
                ("x", 2, "a", "T", 30.0, False), ("x", 2, "a", "total protein", 3000.0, False)])  # fmt: skip
    n = normalize(b, loading="total protein", control="veh").normalized.set_index("sample")
    # factor = lane stain / mean stain (2000): 0.5 and 1.5
    assert n.loc["veh", "normalization_factor"] == pytest.approx(0.5)
    assert n.loc["a", "normalized_volume"] == pytest.approx(30.0 / 1.5)
    assert n.loc["a", "fold"] == pytest.approx((30 / 3000) / (60 / 1000))


def test_linear_range_closed_form():
    amount = np.array([1.25, 2.5, 5.0, 10.0, 20.0, 40.0])
    volume = np.array([1250.0, 2500.0, 5000.0, 10000.0, 17000.0, 22000.0])  # saturating above 10 ug
    r = linear_range(amount, volume, 0.10)
    assert r["status"] == "ok" and r["n_linear"] == 4 and r["amount_max"] == 10.0
    assert r["slope"] == pytest.approx(1000.0) and r["intercept"] == pytest.approx(0.0, abs=1e-6)
    assert r["r_squared"] == pytest.approx(1.0)
    assert linear_range(amount[:2], volume[:2])["status"] == "too_few_points"
    assert linear_range([1, 2, 3], [5.0, 1.0, 9.0])["status"] == "not_linear"


def test_dilution_series_on_the_blot_flags_loading_outside_the_linear_range():
    blot = simulate_blot(dilution_series_spec(), seed=2)
    t = blot.truth.copy()
    t["volume"] = t[
        "noise_free_clipped_volume"
    ]  # what a perfect measurement of the clipped image gives
    t["role"] = np.where(t["condition"] == "standard", "standard", "")
    res = normalize(t, loading="GAPDH", control="veh")
    lin = res.linearity.set_index("target").loc["GAPDH"]
    assert lin["status"] == "ok" and lin["amount_max"] < 40.0 and lin["n_saturated_points"] >= 1
    # samples loaded 10 ug sit inside the linear range
    assert not res.normalized["status"].str.contains("linear_range").any()
    # a sample with 4x the loading is above it
    t2 = t.copy()
    t2.loc[(t2["sample"] == "drug") & (t2["target"] == "GAPDH"), "volume"] *= 8
    n2 = normalize(t2, loading="GAPDH", control="veh").normalized.set_index("sample")
    assert "loading_above_linear_range" in n2.loc["drug", "status"]


def test_settings_layer_and_keywords_win():
    s = NormalizeSettings(loading="L", control="veh")
    b = _bands([("x", 1, "veh", "T", 5.0, False), ("x", 1, "veh", "L", 10.0, False),
                ("x", 1, "veh", "M", 20.0, False)])  # fmt: skip
    n0 = normalize(b, settings=s).normalized
    assert set(n0["target"]) == {"T", "M"} and (n0["loading"] == "L").all()
    n = normalize(b, loading="M", settings=s).normalized
    assert set(n["target"]) == {"T", "L"} and (n["loading"] == "M").all()
    assert NormalizeSettings.from_mapping({"loading": "b-actin"}).loading == "b-actin"


def test_test_names_agree_with_assaykit_stats():
    import importlib

    from assaykit import stats

    assert importlib.import_module("assaykit.blot.normalize").TESTS == stats.TESTS


@settings(max_examples=40, deadline=None, derandomize=True)
@given(
    vols=st.lists(st.floats(1.0, 1e7), min_size=6, max_size=6),
    exposure=st.floats(0.01, 100.0),
    load=st.floats(0.2, 5.0),
)
def test_folds_do_not_depend_on_exposure_or_lane_loading(vols, exposure, load):
    # a longer exposure scales every band of a blot; loading more protein in a lane scales
    # its target and its loading control alike: neither may change a fold
    rows = [("x", i + 1, s, t, vols[2 * i + k], False)
            for i, s in enumerate(("veh", "a", "b")) for k, t in enumerate(("T", "L"))]  # fmt: skip
    base = normalize(_bands(rows), loading="L", control="veh").normalized["fold"].to_numpy()
    b2 = _bands(rows)
    b2["volume"] *= exposure
    b2.loc[b2["lane"] == 2, "volume"] *= load
    moved = normalize(b2, loading="L", control="veh").normalized["fold"].to_numpy()
    assert np.allclose(base, moved, rtol=1e-9)


def test_lanes_without_a_condition_are_grouped_by_sample():
    b = _bands([("x", 1, "veh", "T", 5.0, False), ("x", 1, "veh", "L", 10.0, False),
                ("x", 2, "tnf_a", "T", 2.0, False), ("x", 2, "tnf_a", "L", 10.0, False),
                ("x", 3, "tnf_b", "T", 3.0, False), ("x", 3, "tnf_b", "L", 10.0, False)])  # fmt: skip
    b["condition"] = b["lane"].map({1: None, 2: "tnf", 3: "tnf"})
    n = normalize(b, loading="L", control="veh").normalized
    assert n["group"].tolist() == ["veh", "tnf", "tnf"] and n["fold"].tolist() == pytest.approx(
        [1.0, 0.4, 0.6]
    )
